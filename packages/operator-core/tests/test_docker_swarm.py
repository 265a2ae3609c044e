"""Unit tests of the swarm actions (services, tasks, nodes) against a fake manager.

The fake answers behind a real ``EngineClient`` (``engine_fakes``): requests are recorded,
bounded and their failures mapped exactly as against an engine.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from unittest.mock import patch

import pytest

from engine_fakes import fake_client
from operator_core.deadline import Deadline, within
from operator_core.docker import DockerActionExecutor
from operator_core.errors import (
    EngineError,
    InvalidInput,
    NodeNotFound,
    NotSwarmManager,
    ServiceNotFound,
)
from operator_core.testing import record_requests
from swarm_fakes import UNHEALTHY, FakeSwarm, stamp

WORKER = (
    "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster "
    "state. Please run this command on a manager node or promote the current node to a "
    "manager."
)
NO_SWARM = (
    'This node is not a swarm manager. Use "docker swarm init" or "docker swarm join" to '
    "connect this node to swarm and try again."
)


class Clock:
    """A monotonic clock that moves only when the polling loop sleeps or a read says so."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    """The executor's clock."""
    return Clock()


@pytest.fixture
def swarm(clock: Clock) -> Iterator[FakeSwarm]:
    """A fake manager behind the API; the polling loop's sleeps move ``clock``."""
    fake = FakeSwarm()

    async def sleep(seconds: float) -> None:
        clock.now += seconds

    with patch("operator_core.docker.swarm._wait.asyncio.sleep", sleep):
        yield fake


@pytest.fixture
def executor(swarm: FakeSwarm, clock: Clock) -> DockerActionExecutor:
    """An executor whose engine is the fake manager, on the clock."""
    api, _ = fake_client(swarm)
    return DockerActionExecutor(api=api, clock=clock)


def verbs(swarm: FakeSwarm) -> list[str]:
    """Return ``METHOD /path`` of every request the fake received."""
    return swarm.paths()


def updates(swarm: FakeSwarm) -> list[tuple[str, dict[str, str], dict]]:
    """Return the path, parameters and spec of every update sent."""
    return [
        (path, params, body) for method, path, params, body in swarm.commands if method == "POST"
    ]


# --- arguments ---------------------------------------------------------------------------

BAD_CALLS = [
    ("inspect_service", {"service": "-rm"}),
    ("inspect_service", {"service": ""}),
    ("inspect_service", {"service": "web;ls"}),
    ("list_services", {"name": "a b"}),
    ("list_services", {"label": "=x"}),
    ("list_service_tasks", {"service": "web", "desired_state": "gone"}),
    ("get_service_logs", {"service": "web", "tail": 0}),
    ("get_service_logs", {"service": "web", "since": "5m", "until": "10m"}),
    ("get_service_logs", {"service": "web", "stream": "stdin"}),
    ("scale_service", {"service": "web", "replicas": -1}),
    ("scale_service", {"service": "web", "replicas": True}),
    ("scale_service", {"service": "web", "replicas": 2.5}),
    ("scale_service", {"service": "web", "replicas": 10_001}),
    ("scale_service", {"service": "web", "replicas": 3, "timeout": math.nan}),
    ("scale_service", {"service": "web", "replicas": 3, "timeout": -1}),
    ("scale_service", {"service": "web", "replicas": 3, "timeout": 3601}),
    ("restart_service", {"service": "web", "timeout": True}),
    ("rollback_service", {"service": "--force"}),
    ("set_node_availability", {"node": "n2", "availability": "down"}),
    ("set_node_availability", {"node": "-n2", "availability": "drain"}),
    ("set_node_availability", {"node": "n2", "availability": "drain", "timeout": math.inf}),
]


@pytest.mark.parametrize(("method", "kwargs"), BAD_CALLS)
async def test_bad_arguments_are_refused_before_any_request(executor, swarm, method, kwargs):
    """Every malformed argument is InvalidInput and no request is made."""
    with record_requests() as requests, pytest.raises(InvalidInput):
        await getattr(executor, method)(**kwargs)
    assert requests == []
    assert swarm.commands == []


# --- errors ------------------------------------------------------------------------------


async def test_a_missing_service_is_service_not_found(executor, swarm):
    """A reference no service has gives ServiceNotFound naming it, for reads and changes."""
    for call in (
        executor.inspect_service("ghost"),
        executor.list_service_tasks("ghost"),
        executor.scale_service("ghost", 3),
        executor.restart_service("ghost"),
    ):
        with pytest.raises(ServiceNotFound) as caught:
            await call
        assert caught.value.reference == "ghost"
        assert "ghost" in str(caught.value)


async def test_a_missing_node_is_node_not_found(executor, swarm):
    """A node reference no node has gives NodeNotFound, and nothing is updated."""
    with pytest.raises(NodeNotFound) as caught:
        await executor.set_node_availability("ghost", "drain")
    assert caught.value.reference == "ghost"
    assert updates(swarm) == []


@pytest.mark.parametrize(("stderr", "worker"), [(WORKER, True), (NO_SWARM, False)])
async def test_an_engine_that_is_not_a_manager_says_so(executor, swarm, stderr, worker):
    """A worker and an engine in no swarm both give NotSwarmManager, saying which it is."""
    swarm.refuse = stderr
    for call in (executor.list_services(), executor.list_nodes(), executor.inspect_service("w")):
        with pytest.raises(NotSwarmManager) as caught:
            await call
        assert caught.value.worker is worker
    assert ("worker" in str(caught.value)) is worker


# --- reads -------------------------------------------------------------------------------


async def test_list_services_counts_running_tasks_and_passes_filters(executor, swarm):
    """A listing reads replicas from the spec and running from tasks, in two requests."""
    swarm.add_service("web", 3, labels={"tier": "front"})
    sid = swarm.add_service("api", 2)
    swarm.live(sid)[0]["Status"]["State"] = "starting"
    result = await executor.list_services()
    by_name = {s["name"]: s for s in result["services"]}
    assert result["count"] == 2
    assert (by_name["web"]["replicas_desired"], by_name["web"]["replicas_running"]) == (3, 3)
    assert (by_name["api"]["replicas_desired"], by_name["api"]["replicas_running"]) == (2, 1)
    assert by_name["web"]["labels"] == {"tier": "front"}
    assert verbs(swarm) == ["GET /services", "GET /tasks"]
    swarm.commands.clear()
    only = await executor.list_services(name="we", label="tier=front")
    assert [s["name"] for s in only["services"]] == ["web"]
    assert json.loads(swarm.commands[0][2]["filters"]) == {"label": ["tier=front"], "name": ["we"]}


async def test_a_global_service_wants_one_task_per_node(executor, swarm):
    """A global service's desired replicas are the tasks the swarm wants running."""
    swarm.add_service("agent", None)
    (entry,) = (await executor.list_services())["services"]
    assert (entry["mode"], entry["replicas_desired"], entry["replicas_running"]) == (
        "global",
        3,
        3,
    )


async def test_inspect_service_shows_configs_in_seconds(executor, swarm):
    """Update config durations come in seconds, with whether a rollback is possible."""
    swarm.add_service(
        "web",
        2,
        previous=False,
        RollbackConfig={"Parallelism": 2, "Monitor": 1_500_000_000},
    )
    swarm.services["svcweb"]["Spec"]["TaskTemplate"]["ContainerSpec"]["Healthcheck"] = {
        "Test": ["CMD-SHELL", "true"],
        "Interval": 1_000_000_000,
        "Retries": 1,
    }
    result = await executor.inspect_service("web")
    assert result["update_config"]["failure_action"] == "rollback"
    assert result["update_config"]["monitor_s"] == 5.0
    assert result["rollback_config"]["monitor_s"] == 1.5
    assert result["health_check"]["interval_s"] == 1.0
    assert result["can_roll_back"] is False


async def test_tasks_carry_node_hostnames_and_errors(executor, swarm):
    """Each task names its node by id and hostname; an ended one has its error and exit code."""
    sid = swarm.add_service("web", 2)
    task = swarm.live(sid)[0]
    task["DesiredState"] = "shutdown"
    task["Status"].update(State="failed", Err="task: non-zero exit (1)")
    task["Status"]["ContainerStatus"]["ExitCode"] = 1
    result = await executor.list_service_tasks("web")
    failed = next(t for t in result["tasks"] if t["task_id"] == task["ID"])
    assert (failed["node_id"], failed["node"]) == ("n2", "lab-eng2")
    assert (failed["error"], failed["exit_code"]) == ("task: non-zero exit (1)", 1)
    running = [t for t in result["tasks"] if t["state"] == "running"]
    assert all(t["exit_code"] is None for t in running)
    only = await executor.list_service_tasks("web", desired_state="running")
    assert task["ID"] not in [t["task_id"] for t in only["tasks"]]


async def test_list_nodes_counts_running_tasks_per_node(executor, swarm):
    """Each node has its role, availability, manager status and running task count."""
    swarm.add_service("web", 4)
    nodes = {n["hostname"]: n for n in (await executor.list_nodes())["nodes"]}
    assert nodes["lab-eng1"]["manager_status"] == {"leader": True, "reachability": "reachable"}
    assert nodes["lab-eng2"]["manager_status"] is None
    counts = {host: n["tasks_running"] for host, n in nodes.items()}
    assert counts == {"lab-eng1": 1, "lab-eng2": 2, "lab-eng3": 1}


# --- scale -------------------------------------------------------------------------------


async def test_scale_waits_until_every_new_task_runs(executor, swarm):
    """Scaling 2 to 6 sends one scale and reports 6 running once the fake has converged."""
    swarm.add_service("web", 2)
    result = await executor.scale_service("web", 6, timeout=60)
    ((path, params, spec),) = updates(swarm)
    assert (path, params) == ("/services/svcweb/update", {"version": "10"})
    assert spec["Mode"] == {"Replicated": {"Replicas": 6}}
    assert (result["replicas_before"], result["replicas_after"], result["running"]) == (2, 6, 6)
    assert (result["converged"], result["changed"], result["reason"]) == (True, True, None)
    assert len(swarm.live("svcweb")) == 6


async def test_scale_to_the_same_count_changes_nothing(executor, swarm):
    """A service already at the count is not scaled again: changed false, still converged."""
    swarm.add_service("web", 3)
    result = await executor.scale_service("web", 3)
    assert updates(swarm) == []
    assert (result["changed"], result["converged"], result["running"]) == (False, True, 3)


async def test_scale_down_waits_for_the_extra_tasks_to_stop(executor, swarm):
    """Scaling 4 to 1 is converged only once three tasks are shut down."""
    swarm.add_service("web", 4)
    result = await executor.scale_service("web", 1)
    assert (result["running"], result["converged"]) == (1, True)
    assert len(swarm.live("svcweb")) == 1


async def test_a_scale_down_is_converged_only_once_the_extra_tasks_stopped(executor, swarm):
    """Tasks the swarm wants shut down but that still run keep the scale from converging."""
    swarm.add_service("web", 4)
    swarm.slow = True
    result = await executor.scale_service("web", 2)
    assert (result["converged"], result["running"]) == (True, 2)
    still = [
        t
        for t in swarm.tasks
        if t["DesiredState"] == "shutdown" and t["Status"]["State"] == "running"
    ]
    assert still == []


async def test_a_drain_waits_until_each_replacement_runs(executor, swarm):
    """A moved task whose replacement is still starting is not yet moved: the drain waits."""
    swarm.add_service("web", 4)
    swarm.slow = True
    result = await executor.set_node_availability("n2", "drain")
    assert result["converged"] is True
    assert all(m["replacement_task_id"] for m in result["tasks_moved"])
    starting = [t for t in swarm.tasks if t["Status"]["State"] == "starting"]
    assert starting == []


async def test_a_scale_that_cannot_converge_is_a_result(executor, swarm, clock):
    """Tasks stuck pending until the timeout give converged false with what was seen."""
    swarm.add_service("web", 2)
    swarm.stuck = "no suitable node (insufficient resources on 3 nodes)"
    began = clock.now
    result = await executor.scale_service("web", 4, timeout=10)
    assert (result["converged"], result["running"], result["replicas_after"]) == (False, 2, 4)
    assert "2 of 4 replicas running" in result["reason"]
    assert "pending" in result["reason"]
    assert "insufficient resources" in result["reason"]
    assert 10 <= clock.now - began < 13
    assert result["waited_s"] >= 10


async def test_a_global_service_cannot_be_scaled(executor, swarm):
    """Scaling a global service is refused by name, and no scale is sent."""
    swarm.add_service("agent", None)
    with pytest.raises(EngineError, match="global"):
        await executor.scale_service("agent", 2)
    assert updates(swarm) == []


# --- restart and rollback ----------------------------------------------------------------


async def test_restart_replaces_every_task_as_the_update_config_says(executor, swarm):
    """A forced update (image not re-resolved) replaces all 4 tasks and ends completed."""
    swarm.add_service("web", 4)
    result = await executor.restart_service("web", timeout=60)
    ((path, params, spec),) = updates(swarm)
    assert (path, params) == ("/services/svcweb/update", {"version": "10"})
    assert spec["TaskTemplate"]["ForceUpdate"] == 1  # the force counter moved on: new tasks
    assert result["tasks_replaced"] == 4
    assert (result["update_state"], result["converged"], result["rolled_back"]) == (
        "completed",
        True,
        False,
    )
    assert (result["failed_tasks"], result["changed"], result["replicas_running"]) == ([], True, 4)


async def test_an_update_the_swarm_rolled_back_is_reported_with_its_failures(executor, swarm):
    """New tasks failing their health check: rolled_back true, their errors listed.

    A task that failed before the restart began is history, not one of its failures.
    """
    sid = swarm.add_service("web", 3)
    swarm._task(sid, 9, "n3", "failed", "an old failure")
    swarm.tasks[-1]["DesiredState"] = "shutdown"
    swarm.tasks[-1]["CreatedAt"] = stamp(5)
    swarm.update_outcome = "rollback"
    result = await executor.restart_service("web")
    assert (result["rolled_back"], result["update_state"]) == (True, "rollback_completed")
    assert result["tasks_replaced"] == 1  # the first batch; the rollback kept the others
    assert [t["error"] for t in result["failed_tasks"]] == [UNHEALTHY]
    assert result["failed_tasks"][0]["node"] is not None
    assert result["converged"] is True


async def test_an_update_still_running_at_the_timeout_is_not_converged(executor, swarm, clock):
    """An update that has not ended when the timeout passes says so, converged false."""
    swarm.add_service("web", 40)
    result = await executor.restart_service("web", timeout=3)
    assert (result["converged"], result["update_state"]) == (False, "updating")
    assert "not settled within 3s" in result["reason"]


async def test_rollback_puts_the_previous_spec_back(executor, swarm):
    """A rollback is sent detached and reported rolled_back once it completed."""
    swarm.add_service("web", 2)
    result = await executor.rollback_service("web")
    ((_path, params, spec),) = updates(swarm)
    assert params == {"version": "10", "rollback": "previous"}
    assert spec == swarm.services["svcweb"]["Spec"]  # the current spec, as the CLI sends it
    assert (result["rolled_back"], result["update_state"], result["changed"]) == (
        True,
        "rollback_completed",
        True,
    )


async def test_rollback_without_a_previous_spec_changes_nothing(executor, swarm):
    """A service never updated has nothing to roll back to: changed false, reason given."""
    swarm.add_service("web", 2, previous=False)
    result = await executor.rollback_service("web")
    assert updates(swarm) == []
    assert (result["changed"], result["rolled_back"]) == (False, False)
    assert "no previous spec" in result["reason"]


# --- nodes -------------------------------------------------------------------------------


async def test_drain_moves_the_nodes_tasks_and_says_where(executor, swarm):
    """Draining a worker stops its tasks, and each moved task names its replacement's node."""
    swarm.add_service("web", 4)
    result = await executor.set_node_availability("lab-eng2", "drain")
    ((path, params, spec),) = updates(swarm)
    assert (path, params, spec["Availability"]) == ("/nodes/n2/update", {"version": "5"}, "drain")
    assert spec["Role"] == "worker"  # the rest of the node's spec is sent back unchanged
    assert (result["before"], result["after"], result["changed"]) == ("active", "drain", True)
    assert result["converged"] is True
    assert len(result["tasks_moved"]) == 2
    assert {m["to_node"] for m in result["tasks_moved"]} <= {"lab-eng1", "lab-eng3"}
    assert all(m["replacement_task_id"] for m in result["tasks_moved"])
    assert result["tasks_left"] == 0


async def test_setting_the_same_availability_changes_nothing(executor, swarm):
    """An active node made active again is not updated: changed false, nothing moved."""
    result = await executor.set_node_availability("n3", "active")
    assert updates(swarm) == []
    assert (result["changed"], result["tasks_moved"], result["converged"]) == (False, [], True)


async def test_pause_moves_nothing_and_does_not_wait(executor, swarm):
    """Pausing a node schedules nothing new there; its tasks stay and nothing is awaited."""
    swarm.add_service("web", 3)
    result = await executor.set_node_availability("n2", "pause")
    assert (result["after"], result["tasks_moved"], result["converged"]) == ("pause", [], True)
    assert "GET /tasks" not in verbs(swarm)


async def test_a_stuck_drain_is_a_result(executor, swarm, clock):
    """Tasks with nowhere to go leave the drain not converged, with what is still there."""
    swarm.add_service("web", 2)
    swarm.availability.update(n1="drain", n3="drain")

    def nowhere(task, state, err=""):
        task["DesiredState"] = "shutdown"
        return task["ID"]

    swarm._replace = nowhere  # type: ignore[method-assign]
    swarm.tasks[0]["Status"]["State"] = "running"
    result = await executor.set_node_availability("n2", "drain", timeout=5)
    assert result["converged"] is False
    assert "not converged within 5s" in result["reason"]
    assert result["tasks_moved"][0]["replacement_task_id"] is None


def test_a_swarm_change_is_bounded_by_its_timeout_and_two_call_deadlines(executor):
    """call_bound: a scale's timeout plus two call deadlines; a read, the call deadline."""
    assert executor.call_bound("scale_service", {"timeout": 60}) == 60 + 2 * 30
    assert executor.call_bound("restart_service", {}) == 300 + 2 * 30
    assert executor.call_bound("set_node_availability", {"node": "n2"}) == 120 + 2 * 30
    assert executor.call_bound("list_services", {}) == 30


async def test_a_wait_cut_short_by_the_calls_shared_deadline_is_a_result(executor, swarm, clock):
    """Inside a tool call's deadline, a scale that cannot converge ends unsettled, no error."""
    swarm.add_service("web", 2)
    swarm.stuck = "no suitable node"
    with within(Deadline(12, clock=clock)):
        result = await executor.scale_service("web", 4, timeout=600)
    assert (result["converged"], result["running"]) == (False, 2)
    assert clock.now - 500 < 12


async def test_a_change_made_since_the_read_is_refused_not_overwritten(executor, swarm):
    """An update names the version it read: another client's change in between wins.

    The engine refuses the stale update (``update out of sequence``): EngineError, and
    the other client's spec stays as it made it.
    """
    swarm.add_service("web", 2)
    answer = swarm.__call__

    def racing(method, path, params, body):
        reply = answer(method, path, params, body)
        if (method, path) == ("GET", "/services/web"):  # someone scales to 5 meanwhile
            raw = swarm.services["svcweb"]
            raw["Spec"]["Mode"]["Replicated"]["Replicas"] = 5
            raw["Version"]["Index"] += 1
        return reply

    api, _ = fake_client(racing)
    racer = DockerActionExecutor(api=api, clock=executor._clock)
    with pytest.raises(EngineError, match="out of sequence"):
        await racer.scale_service("web", 3, timeout=5)
    assert swarm.services["svcweb"]["Spec"]["Mode"]["Replicated"]["Replicas"] == 5
