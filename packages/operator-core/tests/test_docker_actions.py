"""Unit tests of the lifecycle actions with the python-on-whales client mocked."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any
from unittest.mock import MagicMock

import pytest
from python_on_whales import DockerClient
from python_on_whales.components.container.models import ContainerInspectResult
from python_on_whales.exceptions import DockerException, NoSuchContainer

from operator_core.docker import DockerActionExecutor
from operator_core.docker._engine import cli as _engine
from operator_core.docker._engine.state import snapshot
from operator_core.errors import (
    ContainerNotFound,
    ContainerStateError,
    EngineError,
    EngineUnreachable,
    InvalidInput,
    OperationTimeout,
)
from operator_core.testing import count_docker_processes, inspect_result

CID = "0123456789ab" * 5 + "cdef"


class FakeClock:
    """A monotonic clock that advances only when the fake stop says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    """A clock the tests move by hand."""
    return FakeClock()


@pytest.fixture
def executor(client: MagicMock, clock: FakeClock) -> DockerActionExecutor:
    """An executor over the mocked client and the fake clock."""
    return DockerActionExecutor(clock=clock)


def stop_takes(client: MagicMock, clock: FakeClock, seconds: float) -> None:
    """Make the mocked ``docker stop`` last ``seconds`` on the fake clock."""

    def fake_stop(_args: list[str]) -> str:
        clock.now += seconds
        return ""

    client.cli.side_effect = fake_stop


def missing(ref: str) -> NoSuchContainer:
    """Return the error python-on-whales raises for a missing container."""
    return NoSuchContainer(
        ["docker", "container", "inspect", ref], 1, b"", f"Error: No such container: {ref}".encode()
    )


async def test_start_container_success(client: MagicMock, executor: DockerActionExecutor) -> None:
    """Starting an exited container starts it by full id and reports the new state as changed."""
    client.container.inspect.side_effect = [
        inspect_result(status="exited", exit_code=0),
        inspect_result(status="running"),
    ]
    result = await executor.start_container("web")
    client.container.start.assert_called_once_with(CID)
    assert result == {
        "container_id": CID,
        "name": "web",
        "state": "running",
        "running": True,
        "changed": True,
    }


async def test_start_container_already_running(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """Starting a running container succeeds without calling start, and says nothing changed."""
    client.container.inspect.return_value = inspect_result(status="running")
    result = await executor.start_container("web")
    client.container.start.assert_not_called()
    assert result["changed"] is False
    assert result["running"] is True


async def test_start_container_paused_is_a_state_error(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """Starting a paused container is refused with advice to unpause, and nothing is started."""
    client.container.inspect.return_value = inspect_result(status="paused")
    with pytest.raises(ContainerStateError, match="unpause"):
        await executor.start_container("web")
    client.container.start.assert_not_called()


async def test_start_container_not_found(client: MagicMock, executor: DockerActionExecutor) -> None:
    """A missing container raises ContainerNotFound, a NoSuchContainer naming the reference."""
    client.container.inspect.side_effect = missing("ghost")
    with pytest.raises(NoSuchContainer) as caught:
        await executor.start_container("ghost")
    assert isinstance(caught.value, ContainerNotFound)
    assert caught.value.reference == "ghost"
    assert "ghost" in str(caught.value)
    assert isinstance(caught.value.__cause__, NoSuchContainer)


async def test_stop_container_success(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """A container exiting 0 within the grace period is a graceful, changed stop."""
    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=0),
    ]
    stop_takes(client, clock, 0.2)
    result = await executor.stop_container("web", timeout=10)
    assert result == {
        "container_id": CID,
        "name": "web",
        "state": "exited",
        "exit_code": 0,
        "graceful_shutdown": True,
        "killed": False,
        "oom_killed": False,
        "reason": None,
        "changed": True,
        "stop_duration_s": 0.2,
    }


async def test_stop_passes_the_grace_period_to_the_cli(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """The grace period reaches docker as ``--time N`` (python-on-whales 0.81 drops an int)."""
    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=0),
    ]
    stop_takes(client, clock, 0.1)
    await executor.stop_container("web", timeout=3)
    (args,), _ = client.cli.call_args
    assert args == ["docker", "container", "stop", "--time", "3", CID]
    client.container.stop.assert_not_called()


async def test_stop_container_already_stopped(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """Stopping an exited container runs no stop and is neither graceful nor killed."""
    client.container.inspect.return_value = inspect_result(status="exited", exit_code=143)
    result = await executor.stop_container("web")
    client.cli.assert_not_called()
    assert result["changed"] is False
    assert result["graceful_shutdown"] is False
    assert result["killed"] is False
    assert result["exit_code"] == 143


async def test_stop_container_143_is_graceful(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """Exit code 143 (it died of SIGTERM) within the grace period is a graceful shutdown."""
    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=143),
    ]
    stop_takes(client, clock, 0.5)
    result = await executor.stop_container("web", timeout=10)
    assert (result["graceful_shutdown"], result["killed"]) == (True, False)


async def test_stop_container_137_after_deadline_is_killed(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """Exit code 137 once the grace period ran out means the engine had to SIGKILL it."""
    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=137),
    ]
    stop_takes(client, clock, 10.3)
    result = await executor.stop_container("web", timeout=10)
    assert (result["graceful_shutdown"], result["killed"], result["oom_killed"]) == (
        False,
        True,
        False,
    )


async def test_stop_container_137_before_deadline_is_not_killed(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """A process that chose exit code 137 before the deadline exited by itself: graceful."""
    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=137),
    ]
    stop_takes(client, clock, 0.4)
    result = await executor.stop_container("web", timeout=10)
    assert (result["graceful_shutdown"], result["killed"]) == (True, False)


async def test_stop_container_oom_killed_is_reported_from_state(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """OOMKilled comes from the engine's state; such a stop is neither graceful nor a stop-kill."""
    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=137, oom_killed=True),
    ]
    stop_takes(client, clock, 10.5)
    result = await executor.stop_container("web", timeout=10)
    assert (result["graceful_shutdown"], result["killed"], result["oom_killed"]) == (
        False,
        False,
        True,
    )


def with_stop_signal(
    model: ContainerInspectResult, stop_signal: str | int
) -> ContainerInspectResult:
    """Return ``model`` with ``Config.StopSignal`` set, as ``docker run --stop-signal`` sets it."""
    raw = model.model_dump(by_alias=True, exclude_none=True)
    raw["Config"]["StopSignal"] = stop_signal
    return ContainerInspectResult.model_validate(raw)


CRASH_STARTED = "2026-11-29T10:00:00Z"


async def test_stop_of_a_crash_looping_container_signals_nothing(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """A restarting container (no process) is stopped, changed, but neither graceful nor killed.

    The stop only cancelled its restart; the exit code is its last crash's. When a new
    process started between the read and the stop (another StartedAt), that process was
    stopped and the usual rule applies.
    """
    client.container.inspect.side_effect = [
        inspect_result(status="restarting", exit_code=3, started_at=CRASH_STARTED),
        inspect_result(status="exited", exit_code=3, started_at=CRASH_STARTED),
    ]
    stop_takes(client, clock, 0.01)
    result = await executor.stop_container("web", timeout=10)
    assert (result["graceful_shutdown"], result["killed"], result["changed"]) == (
        False,
        False,
        True,
    )
    assert (result["state"], result["exit_code"]) == ("exited", 3)
    assert "restarting (crash loop)" in result["reason"]
    assert "no process received a signal" in result["reason"]

    client.container.inspect.side_effect = [
        inspect_result(status="restarting", exit_code=3, started_at=CRASH_STARTED),
        inspect_result(status="exited", exit_code=143, started_at="2026-11-29T10:00:05Z"),
    ]
    raced = await executor.stop_container("web", timeout=10)
    assert (raced["graceful_shutdown"], raced["killed"], raced["reason"]) == (True, False, None)


async def test_restart_of_a_crash_looping_container_reports_the_stop_truthfully(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """Restarting a restarting container: its ``stop`` block says nothing was signalled."""
    client.container.inspect.side_effect = [
        inspect_result(status="restarting", exit_code=3, started_at=CRASH_STARTED),
        inspect_result(status="exited", exit_code=3, started_at=CRASH_STARTED),
        inspect_result(status="running", started_at="2026-11-29T10:05:00Z"),
    ]
    stop_takes(client, clock, 0.01)
    result = await executor.restart_container("web", timeout=5)
    stop = result["stop"]
    assert (stop["graceful_shutdown"], stop["killed"], stop["changed"]) == (False, False, True)
    assert "crash loop" in stop["reason"]
    assert result["running"] is True


@pytest.mark.parametrize("stop_signal", ["SIGKILL", "KILL", "9", "sigkill", 9])
async def test_stop_with_sigkill_as_stop_signal_is_a_kill(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor, stop_signal: str | int
) -> None:
    """A container whose stop signal is SIGKILL (any spelling) is killed at once, not graceful."""
    client.container.inspect.side_effect = [
        with_stop_signal(inspect_result(status="running"), stop_signal),
        inspect_result(status="exited", exit_code=137),
    ]
    stop_takes(client, clock, 0.1)
    result = await executor.stop_container("web", timeout=10)
    assert (result["graceful_shutdown"], result["killed"], result["oom_killed"]) == (
        False,
        True,
        False,
    )
    assert "stop signal is SIGKILL" in result["reason"]


@pytest.mark.parametrize(
    ("stop_signal", "exit_code", "oom", "seconds"),
    [
        ("SIGKILL", 0, False, 0.1),  # it exited by itself before the stop reached it
        ("SIGKILL", 143, False, 0.1),
        ("SIGKILL", 137, True, 0.1),  # the kernel's OOM killer, not the stop
        ("SIGQUIT", 137, False, 0.1),  # another stop signal: a quick 137 is its own choice
        ("SIGINT", 137, False, 9.9),
    ],
)
async def test_only_a_sigkill_stop_signal_and_exit_137_make_a_quick_stop_a_kill(
    client: MagicMock,
    clock: FakeClock,
    executor: DockerActionExecutor,
    stop_signal: str,
    exit_code: int,
    oom: bool,
    seconds: float,
) -> None:
    """A stop shorter than its grace period is a kill only by the SIGKILL stop-signal rule.

    That rule needs both a SIGKILL stop signal and exit code 137 that no OOM kill explains;
    without either, the quick stop is not ``killed`` and gives no SIGKILL reason.
    """
    client.container.inspect.side_effect = [
        with_stop_signal(inspect_result(status="running"), stop_signal),
        inspect_result(status="exited", exit_code=exit_code, oom_killed=oom),
    ]
    stop_takes(client, clock, seconds)
    result = await executor.stop_container("web", timeout=10)
    assert (result["killed"], result["reason"]) == (False, None)
    assert (result["graceful_shutdown"], result["oom_killed"]) == (not oom, oom)


async def test_stop_lasting_exactly_its_grace_period_with_137_is_killed(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """The engine sends SIGKILL when the grace period ends: a 137 at exactly that time is a kill."""
    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=137),
    ]
    stop_takes(client, clock, 10.0)
    result = await executor.stop_container("web", timeout=10)
    assert (result["graceful_shutdown"], result["killed"]) == (False, True)


@pytest.mark.parametrize("action", ["stop_container", "restart_container"])
async def test_a_stop_outlasts_the_call_deadline_by_its_margin(
    client: MagicMock, clock: FakeClock, action: str
) -> None:
    """A stop's own deadline is its grace period plus STOP_MARGIN_S, not the call deadline.

    With a call deadline of 0.05 s and a grace period of 0, the engine's stop is held for
    0.5 s of real time: the call must still be waiting, then report the stop. (Real time
    has to pass to show a bound was not applied; on a slow machine the check can only
    pass more easily, never fail.)
    """
    entered, release = threading.Event(), threading.Event()

    def held_stop(_args: list[str]) -> str:
        entered.set()
        release.wait(30)
        return ""

    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=137),
        inspect_result(status="running"),
    ]
    client.cli.side_effect = held_stop
    executor = DockerActionExecutor(call_deadline=0.05, clock=clock)
    task = asyncio.create_task(getattr(executor, action)("web", timeout=0))
    try:
        await asyncio.to_thread(entered.wait, 30)
        await asyncio.sleep(0.5)
        assert not task.done(), "the stop gave up at the call deadline, not grace + margin"
    finally:
        release.set()
    result = await task
    assert result["changed"] is True


def test_snapshot_reads_the_stop_signal_in_the_engines_spelling() -> None:
    """Config.StopSignal is read into the snapshot as the engine names it, None when unset."""
    running = inspect_result(status="running")
    assert snapshot(with_stop_signal(running, "9")).stop_signal == "SIGKILL"
    assert snapshot(with_stop_signal(running, "quit")).stop_signal == "SIGQUIT"
    assert snapshot(with_stop_signal(running, "")).stop_signal is None
    assert snapshot(running).stop_signal is None


async def test_restart_container_success(
    client: MagicMock, clock: FakeClock, executor: DockerActionExecutor
) -> None:
    """Restart stops then starts, reporting the new and previous start times and the stop."""
    client.container.inspect.side_effect = [
        inspect_result(status="running", started_at="2026-11-29T10:00:00Z"),
        inspect_result(status="exited", exit_code=0),
        inspect_result(status="running", started_at="2026-11-29T10:05:00Z"),
    ]
    stop_takes(client, clock, 0.3)
    result = await executor.restart_container("web", timeout=5)
    client.container.start.assert_called_once_with(CID)
    assert result["running"] is True
    assert result["started_at"] == "2026-11-29T10:05:00+00:00"
    assert result["previous_started_at"] == "2026-11-29T10:00:00+00:00"
    assert result["stop"]["graceful_shutdown"] is True
    assert result["changed"] is True


async def test_restart_stopped_container_only_starts_it(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """Restarting an exited container runs no stop, only a start."""
    client.container.inspect.side_effect = [
        inspect_result(status="exited", exit_code=0),
        inspect_result(status="running", started_at="2026-11-29T10:05:00Z"),
    ]
    result = await executor.restart_container("web")
    client.cli.assert_not_called()
    client.container.start.assert_called_once_with(CID)
    assert result["stop"]["changed"] is False
    assert result["running"] is True


async def test_inspect_container_success(client: MagicMock, executor: DockerActionExecutor) -> None:
    """Inspect returns identity, state with health, networks and labels, all JSON-able."""
    client.container.inspect.return_value = inspect_result(
        health="healthy", networks=("front", "back"), labels={"app": "web"}, restart_count=2
    )
    result = await executor.inspect_container("web")
    assert result == {
        "container_id": CID,
        "name": "web",
        "id": CID,
        "image": "operator-core/busybox:test",
        "state": {
            "status": "running",
            "running": True,
            "paused": False,
            "restarting": False,
            "oom_killed": False,
            "exit_code": 0,
            "started_at": "2026-11-29T10:00:00+00:00",
            "finished_at": None,
            "health": "healthy",
        },
        "restart_count": 2,
        "restarts": {
            "count": 2,
            "policy": None,
            "restarting": False,
            "last_exit_code": None,
            "last_oom_killed": False,
            "last_started_at": "2026-11-29T10:00:00+00:00",
            "last_finished_at": None,
        },
        "networks": ["back", "front"],
        "labels": {"app": "web"},
    }
    assert json.loads(json.dumps(result)) == result


async def test_inspect_container_restart_history_keeps_the_last_exit_only_when_stopped(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """A stopped container's last exit code and OOM kill are its own; a running one has none."""
    client.container.inspect.return_value = inspect_result(
        status="exited", exit_code=137, oom_killed=True, restart_count=5
    )
    history = (await executor.inspect_container("web"))["restarts"]
    assert (history["count"], history["last_exit_code"], history["last_oom_killed"]) == (
        5,
        137,
        True,
    )
    client.container.inspect.return_value = inspect_result(status="restarting", exit_code=3)
    history = (await executor.inspect_container("web"))["restarts"]
    assert (history["restarting"], history["last_exit_code"]) == (True, 3)


async def test_inspect_container_without_health_or_start(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """A never-started container without a health check gives None, not a crash."""
    client.container.inspect.return_value = inspect_result(
        status="created", started_at="0001-01-01T00:00:00Z"
    )
    state = (await executor.inspect_container("web"))["state"]
    assert (state["started_at"], state["finished_at"], state["health"]) == (None, None, None)


async def test_inspect_container_never_started_has_no_last_exit(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """A created container that never ran has no last exit code; one whose start failed does."""
    client.container.inspect.return_value = inspect_result(
        status="created", started_at="0001-01-01T00:00:00Z"
    )
    history = (await executor.inspect_container("web"))["restarts"]
    assert (history["last_exit_code"], history["last_started_at"]) == (None, None)
    client.container.inspect.return_value = inspect_result(
        status="created", exit_code=127, started_at="0001-01-01T00:00:00Z"
    )
    assert (await executor.inspect_container("web"))["restarts"]["last_exit_code"] == 127


async def test_inspect_container_not_found(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """Inspecting a missing container raises ContainerNotFound naming it."""
    client.container.inspect.side_effect = missing("ghost")
    with pytest.raises(ContainerNotFound, match="ghost"):
        await executor.inspect_container("ghost")


BAD_REFERENCES = ["", " ", "a b", "a;rm", "a/b", "ñame", "a\x00b", "-rm", "--help", "a\n"]


@pytest.mark.parametrize("reference", BAD_REFERENCES)
@pytest.mark.parametrize("action", ["start", "stop", "restart", "inspect"])
async def test_bad_reference_is_refused_before_any_process(
    client: MagicMock, executor: DockerActionExecutor, reference: str, action: str
) -> None:
    """A malformed reference raises InvalidInput (a ValueError) and starts no docker process."""
    method = getattr(executor, f"{action}_container")
    with (
        count_docker_processes() as processes,
        pytest.raises(ValueError, match="reference") as caught,
    ):
        await method(reference)
    assert isinstance(caught.value, InvalidInput)
    assert processes.count == 0
    client.container.inspect.assert_not_called()


@pytest.mark.parametrize("reference", [None, 42, ["web"]])
async def test_non_string_reference_is_refused(
    client: MagicMock, executor: DockerActionExecutor, reference: Any
) -> None:
    """A reference that is not a string raises InvalidInput and calls nothing."""
    with pytest.raises(InvalidInput, match="string"):
        await executor.inspect_container(reference)
    client.container.inspect.assert_not_called()


async def test_long_names_are_not_refused(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """Docker accepts very long names, so validation invents no length limit."""
    client.container.inspect.return_value = inspect_result()
    await executor.inspect_container("a" * 300)
    client.container.inspect.assert_called_once_with("a" * 300)


@pytest.mark.parametrize("timeout", [-1, -0.5, 3601, 1.5, float("nan"), "10", None, True])
async def test_bad_grace_period_is_refused(
    client: MagicMock, executor: DockerActionExecutor, timeout: Any
) -> None:
    """A negative, fractional, absurd or non-numeric grace period raises InvalidInput."""
    with pytest.raises(InvalidInput, match="timeout"):
        await executor.stop_container("web", timeout=timeout)
    with pytest.raises(InvalidInput, match="timeout"):
        await executor.restart_container("web", timeout=timeout)
    client.container.inspect.assert_not_called()


def test_bad_call_deadline_is_refused() -> None:
    """The executor's own call deadline must be a non-negative number."""
    with pytest.raises(InvalidInput, match="call_deadline"):
        DockerActionExecutor(call_deadline=-1)


async def test_unreachable_engine_is_translated(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """'Cannot connect to the Docker daemon' becomes EngineUnreachable, not a missing container."""
    client.container.inspect.side_effect = DockerException(
        ["docker", "inspect", "web"],
        1,
        b"",
        b"Cannot connect to the Docker daemon at unix:///nope.sock. Is the docker daemon running?",
    )
    with pytest.raises(EngineUnreachable, match="could not reach the Docker engine"):
        await executor.inspect_container("web")


@pytest.mark.parametrize(
    "stderr",
    [
        'Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp '
        "10.0.0.1:443: connect: connection refused",
        'Error response from daemon: error while mounting volume: plugin "nfs" '
        "failed: dial unix /run/docker/plugins/nfs.sock: connect: connection refused",
        "Error response from daemon: error during connect to the registry: connection refused",
    ],
    ids=["registry", "plugin", "relayed-error-during-connect"],
)
async def test_connection_refused_relayed_by_the_daemon_is_not_unreachable(
    client: MagicMock, executor: DockerActionExecutor, stderr: str
) -> None:
    """A 'connection refused' the daemon relays (registry, plugin) means the engine answered."""
    client.container.inspect.side_effect = DockerException(
        ["docker", "inspect", "web"], 1, b"", stderr.encode()
    )
    with pytest.raises(EngineError) as caught:
        await executor.inspect_container("web")
    assert not isinstance(caught.value, EngineUnreachable)
    assert "connection refused" in str(caught.value)


def test_the_clis_own_connect_failures_are_unreachable() -> None:
    """Lines the CLI writes when it reached no engine become EngineUnreachable, with the line."""
    lines = [
        "Cannot connect to the Docker daemon at tcp://127.0.0.1:1. Is the docker daemon running?",
        'error during connect: Get "http://docker.example.com/v1.50/containers/json": '
        "ssh: connect to host 127.0.0.1 port 1: Connection refused",
        "Got permission denied while trying to connect to the Docker daemon socket at "
        "unix:///var/run/docker.sock: connect: permission denied",
        'Failed to initialize: unable to resolve docker endpoint: context "nope": '
        "context not found",
        "WARNING: a warning first\nCannot connect to the Docker daemon at unix:///x.sock.",
    ]
    for line in lines:
        error = _engine.translate(DockerException(["docker"], 1, b"", line.encode()))
        assert isinstance(error, EngineUnreachable), line
        assert str(error).startswith("could not reach the Docker engine: ")
        assert "WARNING" not in str(error)


async def test_engine_error_message_never_carries_the_command(
    client: MagicMock, executor: DockerActionExecutor
) -> None:
    """A failure's message has docker's reason but not the command line, which may hold secrets."""
    client.container.inspect.side_effect = DockerException(
        ["docker", "exec", "-e", "TOKEN=hunter2", "web"], 1, b"", b"Error: something odd\n"
    )
    with pytest.raises(EngineError) as caught:
        await executor.inspect_container("web")
    assert "something odd" in str(caught.value)
    assert "hunter2" not in str(caught.value)


async def test_hanging_call_times_out_with_its_own_error(client: MagicMock) -> None:
    """A docker call that never returns ends in OperationTimeout at the call deadline.

    The call blocks until the test ends, so only the deadline can end it: no stopwatch.
    """
    release = threading.Event()
    client.container.inspect.side_effect = lambda _ref: release.wait(60)
    executor = DockerActionExecutor(call_deadline=0.2)
    try:
        with pytest.raises(OperationTimeout, match=r"deadline of 0\.2s"):
            await executor.inspect_container("web")
    finally:
        release.set()


async def test_actions_do_not_block_the_event_loop(client: MagicMock) -> None:
    """While a slow docker call runs, other coroutines keep running on the loop.

    The docker call returns only once another coroutine has ticked ten times: a blocked
    loop never ticks, and the call gives up (a generous 30 s, for a loaded machine).
    """
    ticked = threading.Event()

    def slow_inspect(_ref: str) -> Any:
        assert ticked.wait(30), "the event loop did not run while docker was called"
        return inspect_result()

    client.container.inspect.side_effect = slow_inspect
    executor = DockerActionExecutor()
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1
            if ticks == 10:
                ticked.set()

    task = asyncio.create_task(ticker())
    try:
        await executor.inspect_container("web")
    finally:
        task.cancel()
    assert ticks >= 10


def test_bounded_client_wraps_docker_in_a_reaper() -> None:
    """A real client is wrapped so each docker process dies a margin after the deadline."""
    bounded = _engine.bounded_client(DockerClient(host="unix:///tmp/x.sock"), 12.0)
    command = [str(word) for word in bounded.client_config.docker_cmd]
    assert command[0].endswith("timeout")
    assert command[1:4] == ["--kill-after=1", "12.5", "docker"]
    assert "unix:///tmp/x.sock" in command


def test_bounded_client_leaves_test_doubles_alone() -> None:
    """A mock client is returned as it is."""
    double = MagicMock()
    assert _engine.bounded_client(double, 5.0) is double


# --- run_bounded under cancellation ----------------------------------------------------------


async def test_cancelled_call_waits_for_its_running_work_before_it_lets_go() -> None:
    """Cancelling a running call propagates only once the blocking work has ended.

    Pins that ``run_bounded`` keeps waiting for its worker thread after a cancel (so a
    caller never reads the container while the action is still under way), absorbs a
    second cancel meanwhile, and calls ``on_cancel`` on the loop before waiting.
    """
    loop = asyncio.get_running_loop()
    started, release = asyncio.Event(), threading.Event()
    finished: list[bool] = []
    told: list[bool] = []

    def work() -> str:
        loop.call_soon_threadsafe(started.set)
        assert release.wait(60)
        finished.append(True)
        return "done"

    task = asyncio.create_task(
        _engine.run_bounded(
            work, deadline=60.0, what="slow", on_cancel=lambda: told.append(bool(finished))
        )
    )
    try:
        await asyncio.wait_for(started.wait(), 30)
        task.cancel()
        for _ in range(10):  # let the cancel arrive; the work is still held
            await asyncio.sleep(0)
        assert not task.done(), "the cancel came through before the work had ended"
        task.cancel()  # a second Ctrl-C while it waits
        for _ in range(10):
            await asyncio.sleep(0)
        assert not task.done(), "a second cancel let go of work still under way"
    finally:
        release.set()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 30)
    assert finished == [True]
    assert told == [False], "on_cancel is called once, before the work ended"


async def test_cancelled_call_waits_no_longer_than_its_deadline() -> None:
    """A cancelled call whose work outlasts the deadline lets the cancel go at the deadline.

    Pins the bound on the wait after a cancel: what is left of ``deadline``, not the work.
    """
    loop = asyncio.get_running_loop()
    started, release = asyncio.Event(), threading.Event()
    began: list[float] = []

    def work() -> None:
        began.append(time.monotonic())
        loop.call_soon_threadsafe(started.set)
        release.wait(60)  # outlasts the deadline: only the bound ends the wait

    task = asyncio.create_task(_engine.run_bounded(work, deadline=1.0, what="slower"))
    try:
        await asyncio.wait_for(started.wait(), 30)
        task.cancel()
        # The 1 s deadline must end the wait; a generous 20 s for a loaded machine, where a
        # missing bound waits for the work (60 s).
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(task, 20)
        assert time.monotonic() - began[0] >= 1.0, "let go before the deadline"
    finally:
        release.set()


async def test_cancelled_call_still_queued_never_runs() -> None:
    """A call cancelled while it waits for a worker thread is dropped: its work never runs.

    Pins that cancelling during the queue wait does not leave the job to start later,
    behind the caller's back.
    """
    from concurrent.futures import ThreadPoolExecutor

    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(pool)
    ran: list[str] = []
    busy, release = threading.Event(), threading.Event()

    def block() -> None:
        busy.set()
        release.wait(60)

    try:
        blocker = loop.run_in_executor(None, block)
        assert busy.wait(30)  # the one worker is taken
        task = asyncio.create_task(
            _engine.run_bounded(lambda: ran.append("ran"), deadline=5.0, what="queued")
        )
        for _ in range(10):  # the call reaches the queue, behind the busy worker
            await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        release.set()
        await blocker
        await loop.run_in_executor(None, lambda: None)  # the queue has drained
        assert ran == []
    finally:
        release.set()
        pool.shutdown(wait=True)


async def test_a_call_that_never_gets_a_worker_thread_gives_up_after_its_queue_bound(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A call left waiting for a worker thread ends in OperationTimeout at QUEUE_WAIT_S.

    Pins the queue bound: with every worker busy, the call does not wait for one forever;
    it gives up once QUEUE_WAIT_S (0.2 s here) has passed, not before, and its work never
    runs, not even once a worker comes free. (The outer 60 s bound only keeps a broken
    queue bound from hanging the suite.)
    """
    from concurrent.futures import ThreadPoolExecutor

    monkeypatch.setattr(_engine, "QUEUE_WAIT_S", 0.2)
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(pool)
    release = threading.Event()
    ran: list[str] = []
    blocker = loop.run_in_executor(None, release.wait, 60)
    try:
        began = loop.time()
        call = _engine.run_bounded(lambda: ran.append("ran"), deadline=5.0, what="queued")
        with pytest.raises(OperationTimeout, match=r"no worker thread was free within 0\.2s"):
            await asyncio.wait_for(call, 60)
        assert loop.time() - began >= 0.2
    finally:
        release.set()
        await blocker
    await loop.run_in_executor(None, lambda: None)  # the queue has drained
    pool.shutdown(wait=True)
    assert ran == []


@pytest.mark.parametrize("code", [124, 137])
def test_a_docker_process_the_reaper_stopped_is_a_timeout(code: int) -> None:
    """Exit 124/137 with nothing said: coreutils timeout stopped it at the deadline.

    Pins issue 9 item 10: the reaper now fires half a second after the deadline, so the
    worker can come back with the reaped process before the deadline is noticed; that is
    the call's timeout, not an engine failure.
    """
    reaped = DockerException(["docker", "inspect", "web"], code, b"", b"")
    assert isinstance(_engine.translate(reaped), OperationTimeout)
    said = DockerException(["docker", "inspect", "web"], code, b"", b"Error: boom\n")
    assert not isinstance(_engine.translate(said), OperationTimeout)
