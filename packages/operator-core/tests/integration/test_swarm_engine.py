"""The swarm actions on a real swarm of three engines (``scripts/lab.sh up 3 --swarm``)."""

from __future__ import annotations

import asyncio
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_on_whales import DockerClient
from swarm_helpers import ServiceFactory, SwarmLab

from operator_core.docker import DockerActionExecutor
from operator_core.errors import NodeNotFound, NotSwarmManager, ServiceNotFound
from operator_core.policy import Policy
from operator_core.runner import ToolRunner


@pytest.fixture
def manager(swarm_lab: SwarmLab) -> DockerActionExecutor:
    """An executor on the swarm's manager."""
    return DockerActionExecutor(DockerClient(host=swarm_lab.manager_socket))


@pytest.fixture
def services(swarm_lab: SwarmLab) -> Iterator[ServiceFactory]:
    """Services made for the test, removed with all their containers after it."""
    factory = ServiceFactory(swarm_lab)
    try:
        yield factory
    finally:
        factory.cleanup()


async def running_nodes(executor: DockerActionExecutor, service: str) -> list[str]:
    """Return the hostname of every node that runs a task of ``service``."""
    listing = await executor.list_service_tasks(service, desired_state="running")
    return [t["node"] for t in listing["tasks"] if t["state"] == "running"]


async def test_scale_2_to_6_converges_with_tasks_on_all_three_nodes(swarm_lab, manager, services):
    """Scaling 2 to 6 waits until six tasks run, and they run on every node of the swarm."""
    name = services.create(2)
    settled = await manager.scale_service(name, 2, timeout=60)
    assert (settled["converged"], settled["changed"]) == (True, False)
    result = await manager.scale_service(name, 6, timeout=90)
    assert (result["replicas_before"], result["replicas_after"]) == (2, 6)
    assert (result["running"], result["converged"], result["changed"]) == (6, True, True)
    nodes = await running_nodes(manager, name)
    assert len(nodes) == 6
    assert set(nodes) == set(swarm_lab.hostnames.values())
    assert swarm_lab.running_containers(name) == 6
    listing = await manager.list_services(name=name)
    (entry,) = listing["services"]
    assert (entry["replicas_desired"], entry["replicas_running"]) == (6, 6)


async def test_rolling_restart_replaces_all_four_tasks_keeping_three_running(
    swarm_lab, manager, services
):
    """Parallelism 1, stop-first: every task is replaced and at least 3 run at every sample."""
    name = services.create(4, "--update-parallelism", "1", "--update-monitor", "1s")
    assert (await manager.scale_service(name, 4, timeout=60))["converged"] is True
    before = {t["task_id"] for t in (await manager.list_service_tasks(name, "running"))["tasks"]}
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(swarm_lab.running_containers(name))

    sampler = threading.Thread(target=sample)
    sampler.start()
    try:
        result = await manager.restart_service(name, timeout=180)
    finally:
        done.set()
        sampler.join(30)
    assert result["tasks_replaced"] == 4
    assert (result["update_state"], result["converged"], result["rolled_back"]) == (
        "completed",
        True,
        False,
    )
    assert result["failed_tasks"] == []
    after = {t["task_id"] for t in (await manager.list_service_tasks(name, "running"))["tasks"]}
    assert after.isdisjoint(before)
    assert len(after) == 4
    assert len(samples) >= 5, f"only {len(samples)} samples taken during the restart"
    assert min(samples) >= 3, f"running containers sampled during the restart: {samples}"


async def test_an_update_failing_its_health_check_is_rolled_back_and_says_why(
    swarm_lab, manager, services, tmp_path: Path
):
    """New tasks that fail their health check make the swarm roll back; the result says so.

    While the marker file exists, the first task to start in each slot marks itself
    unhealthy (it claims the slot with mkdir); a later task in that slot, as the rollback
    starts, is healthy. PID 1 is ``sleep``, which ignores SIGTERM: a task killed as
    unhealthy fails (137) instead of exiting 0, which the swarm would count as complete.
    """
    command = (
        "sh",
        "-c",
        'if [ -f /shared/bad ] && mkdir "/shared/slot-$SLOT" 2>/dev/null; then touch /tmp/bad; '
        "fi; exec sleep 100000",
    )
    name = services.create(
        2,
        "--mount", f"type=bind,src={tmp_path},dst=/shared",
        "--env", "SLOT={{.Task.Slot}}",
        "--health-cmd", "test ! -f /tmp/bad",
        "--health-interval", "1s", "--health-timeout", "1s", "--health-retries", "1",
        "--update-parallelism", "1", "--update-monitor", "10s",
        "--update-failure-action", "rollback", "--update-max-failure-ratio", "0",
        "--rollback-monitor", "2s",
        command=command,
    )  # fmt: skip
    assert (await manager.scale_service(name, 2, timeout=90))["converged"] is True
    (tmp_path / "bad").write_text("a bad deploy")
    result = await manager.restart_service(name, timeout=180)
    assert (result["rolled_back"], result["update_state"]) == (True, "rollback_completed")
    assert result["converged"] is True
    assert result["failed_tasks"], result
    assert all("unhealthy" in (t["error"] or "") for t in result["failed_tasks"])
    assert all(t["node"] in swarm_lab.hostnames.values() for t in result["failed_tasks"])


async def test_draining_a_worker_moves_its_tasks_and_activating_brings_it_back(
    swarm_lab, manager, services
):
    """A drained worker's tasks are replaced on the other nodes, each move reported."""
    worker = swarm_lab.hostnames[swarm_lab.workers[0]]
    name = services.create(6)
    assert (await manager.scale_service(name, 6, timeout=90))["converged"] is True
    on_worker = [
        t
        for t in (await manager.list_service_tasks(name, "running"))["tasks"]
        if t["node"] == worker
    ]
    assert on_worker, "the spread left no task on the worker"
    try:
        drained = await manager.set_node_availability(worker, "drain", timeout=90)
        assert (drained["before"], drained["after"], drained["changed"]) == (
            "active",
            "drain",
            True,
        )
        assert drained["converged"] is True
        mine = [m for m in drained["tasks_moved"] if m["service"] == name]
        assert {m["task_id"] for m in mine} == {t["task_id"] for t in on_worker}
        assert all(m["to_node"] not in (None, worker) for m in mine)
        assert worker not in await running_nodes(manager, name)
        assert swarm_lab.running_containers(name) == 6
        again = await manager.set_node_availability(worker, "drain")
        assert (again["changed"], again["tasks_moved"]) == (False, [])
    finally:
        back = await manager.set_node_availability(worker, "active")
    assert (back["before"], back["after"], back["changed"]) == ("drain", "active", True)
    nodes = {n["hostname"]: n for n in (await manager.list_nodes())["nodes"]}
    assert nodes[worker]["availability"] == "active"


async def test_service_logs_name_the_task_and_node_of_each_line(swarm_lab, manager, services):
    """Each line of a service's logs says which task and which node wrote it."""
    command = (
        "sh",
        "-c",
        'trap "exit 0" TERM; while true; do echo "up on $(hostname)"; sleep 0.2; done',
    )
    name = services.create(3, command=command)
    assert (await manager.scale_service(name, 3, timeout=60))["converged"] is True
    tasks = {t["task_id"]: t for t in (await manager.list_service_tasks(name, "running"))["tasks"]}
    for _ in range(50):
        logs = await manager.get_service_logs(name, tail=30)
        if {line["task_id"] for line in logs["lines"]} >= set(tasks):
            break
        await asyncio.sleep(0.2)
    assert {line["task_id"] for line in logs["lines"]} >= set(tasks)
    for line in logs["lines"]:
        assert line["node"] == tasks[line["task_id"]]["node"]
        assert line["text"].startswith("up on ")
    stamps = [line["timestamp"] for line in logs["lines"]]
    assert stamps == sorted(stamps)


def _host_swarm_state() -> str:
    """Return the swarm state of the host's own engine (``inactive`` when in none)."""
    return subprocess.run(
        ["docker", "info", "--format", "{{.Swarm.LocalNodeState}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.strip()


async def test_missing_services_and_nodes_and_non_managers_give_typed_errors(swarm_lab, manager):
    """A missing service or node, a worker and an engine outside any swarm: typed errors."""
    with pytest.raises(ServiceNotFound):
        await manager.inspect_service("opc-svc-does-not-exist")
    with pytest.raises(ServiceNotFound):
        await manager.scale_service("opc-svc-does-not-exist", 2, timeout=5)
    with pytest.raises(NodeNotFound):
        await manager.set_node_availability("opc-no-such-node", "drain")
    worker = DockerActionExecutor(DockerClient(host=swarm_lab.sockets[swarm_lab.workers[0]]))
    with pytest.raises(NotSwarmManager) as on_worker:
        await worker.list_services()
    assert on_worker.value.worker is True
    host_state = await asyncio.to_thread(_host_swarm_state)
    assert host_state == "inactive", "the host's own engine should be in no swarm"
    with pytest.raises(NotSwarmManager) as outside:
        await DockerActionExecutor().list_nodes()
    assert outside.value.worker is False


async def test_the_policy_bounds_scaling_and_keeps_managers_from_draining(
    swarm_lab, manager, services
):
    """Through the tool layer: a scale past max_replicas and a manager drain are denied."""
    name = services.create(2)
    policy = Policy(mode="execute", approval={"risks": []}, swarm={"max_replicas": 4})
    run = ToolRunner(manager, policy=policy, own_container_id=None)
    denied = await run.execute_tool("docker_scale_service", {"service": name, "replicas": 6})
    assert denied["error"]["rule"] == "swarm.max_replicas"
    assert (await manager.inspect_service(name))["replicas_desired"] == 2
    done = await run.execute_tool(
        "docker_scale_service", {"service": name, "replicas": 4, "timeout": 90}
    )
    assert (done["ok"], done["result"]["converged"]) == (True, True)
    record = next(r for r in run.audit.query() if r.outcome == "ok")
    assert (record.before["replicas_desired"], record.after["replicas_desired"]) == (2, 4)
    assert record.after["task_states"] == {"running": 4}
    host = swarm_lab.hostnames[swarm_lab.manager]
    refused = await run.execute_tool(
        "docker_set_node_availability", {"node": host, "availability": "drain"}
    )
    assert refused["error"]["rule"] == "swarm.protect_managers"
    nodes = {n["hostname"]: n for n in (await manager.list_nodes())["nodes"]}
    assert nodes[host]["availability"] == "active"
