"""Start, stop, restart and inspect with the client mocked: whole results and what is read.

Each action reads the container by the caller's reference once, then acts on and reads
it again by its full id (never by a name that could now mean another container); its
errors name the reference and the action. Results are pinned whole.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from unittest.mock import MagicMock, call

import pytest
from python_on_whales.exceptions import NoSuchContainer

from operator_core.docker import DockerActionExecutor
from operator_core.docker._engine import cli as _engine
from operator_core.errors import ContainerNotFound, OperationTimeout
from operator_core.testing import inspect_result

CID = "0123456789ab" * 5 + "cdef"


class StepClock:
    """A monotonic clock that moves only when the fake ``docker stop`` says so."""

    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> StepClock:
    """A clock the tests move by hand."""
    return StepClock()


@pytest.fixture
def executor(client: MagicMock, clock: StepClock) -> DockerActionExecutor:
    """An executor over the mocked client and the step clock."""
    return DockerActionExecutor(clock=clock)


def stop_lasts(client: MagicMock, clock: StepClock, seconds: float) -> None:
    """Make the mocked ``docker stop`` last ``seconds`` on the step clock."""

    def fake_stop(_args: list[str]) -> str:
        clock.now += seconds
        return ""

    client.cli.side_effect = fake_stop


async def test_start_reads_by_reference_then_acts_and_reads_by_id(client, executor):
    """A start reads 'web', starts the full id and reads the full id again."""
    client.container.inspect.side_effect = [
        inspect_result(status="exited"),
        inspect_result(status="running"),
    ]
    await executor.start_container("web")
    assert client.container.inspect.call_args_list == [call("web"), call(CID)]
    client.container.start.assert_called_once_with(CID)


@pytest.mark.parametrize("action", ["stop_container", "restart_container"])
async def test_a_stop_reads_by_reference_then_by_id(client, clock, executor, action):
    """A stop (or restart) reads 'web' once, then only ever the full id it resolved."""
    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=0),
        inspect_result(status="running"),
    ]
    stop_lasts(client, clock, 0.1)
    await getattr(executor, action)("web", timeout=5)
    reads = client.container.inspect.call_args_list
    assert reads[0] == call("web")
    assert reads[1:] == [call(CID)] * (len(reads) - 1)
    assert len(reads) >= 2


async def test_stop_reports_its_duration_to_the_millisecond(client, clock, executor):
    """stop_duration_s is the stop's own duration, rounded to milliseconds."""
    client.container.inspect.side_effect = [
        inspect_result(status="running"),
        inspect_result(status="exited", exit_code=0),
    ]
    stop_lasts(client, clock, 1.23456)
    result = await executor.stop_container("web", timeout=10)
    assert result["stop_duration_s"] == 1.235


async def test_stop_of_a_stopped_container_says_nothing_was_stopped(client, executor):
    """A stop of an exited container is unchanged, with a reason, and runs no docker stop."""
    client.container.inspect.return_value = inspect_result(
        status="exited", exit_code=143, oom_killed=True
    )
    result = await executor.stop_container("web")
    assert result == {
        "container_id": CID,
        "name": "web",
        "state": "exited",
        "exit_code": 143,
        "graceful_shutdown": False,
        "killed": False,
        "oom_killed": True,
        "reason": "the container was exited, not running; nothing was stopped",
        "changed": False,
        "stop_duration_s": 0.0,
    }
    client.cli.assert_not_called()


async def test_stop_of_a_crash_loop_keeps_the_engines_oom_flag(client, clock, executor):
    """Stopping a restarting container reports OOMKilled as the engine shows it."""
    started = "2026-11-29T10:00:00Z"
    client.container.inspect.side_effect = [
        inspect_result(status="restarting", exit_code=137, started_at=started, oom_killed=True),
        inspect_result(status="exited", exit_code=137, started_at=started, oom_killed=True),
    ]
    stop_lasts(client, clock, 0.01)
    result = await executor.stop_container("web")
    assert (result["oom_killed"], result["killed"], result["graceful_shutdown"]) == (
        True,
        False,
        False,
    )


async def test_restart_reports_how_the_old_process_ended(client, clock, executor):
    """A restart's result: the new start, the previous one and the stop's whole verdict."""
    client.container.inspect.side_effect = [
        inspect_result(status="running", started_at="2026-11-29T10:00:00Z"),
        inspect_result(status="exited", exit_code=143, started_at="2026-11-29T10:00:00Z"),
        inspect_result(status="running", started_at="2026-11-29T10:05:00Z"),
    ]
    stop_lasts(client, clock, 0.5)
    result = await executor.restart_container("web", timeout=10)
    assert result["stop"] == {
        "exit_code": 143,
        "graceful_shutdown": True,
        "killed": False,
        "oom_killed": False,
        "reason": None,
        "changed": True,
        "stop_duration_s": 0.5,
    }
    assert (result["running"], result["changed"]) == (True, True)
    assert result["previous_started_at"] != result["started_at"]


@pytest.mark.parametrize(
    "action", ["start_container", "stop_container", "restart_container", "inspect_container"]
)
async def test_a_missing_container_is_named_by_the_reference_given(client, executor, action):
    """Every lifecycle action turns the engine's 'no such container' into ContainerNotFound."""
    client.container.inspect.side_effect = NoSuchContainer(
        ["docker", "inspect", "ghost"], 1, b"", b"Error: No such container: ghost"
    )
    with pytest.raises(ContainerNotFound) as caught:
        await getattr(executor, action)("ghost")
    assert caught.value.reference == "ghost"


@pytest.mark.parametrize(
    ("action", "what"),
    [
        ("start_container", "start web"),
        ("stop_container", "stop web"),
        ("restart_container", "restart web"),
        ("inspect_container", "inspect web"),
    ],
)
async def test_a_timed_out_action_names_itself_and_its_container(
    client, executor, monkeypatch, action, what
):
    """An action that never got a worker thread says which action, on what, gave up.

    Every worker is held busy, so the call gives up after QUEUE_WAIT_S (0.05 s here).
    """
    monkeypatch.setattr(_engine, "QUEUE_WAIT_S", 0.05)
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(max_workers=1)
    loop.set_default_executor(pool)
    release = threading.Event()
    blocker = loop.run_in_executor(None, release.wait, 60)
    try:
        with pytest.raises(OperationTimeout) as caught:
            await asyncio.wait_for(getattr(executor, action)("web"), 60)
    finally:
        release.set()
        await blocker
    pool.shutdown(wait=True)
    assert str(caught.value).startswith(f"{what}: no worker thread was free within 0.05s")
