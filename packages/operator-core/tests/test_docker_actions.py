"""Unit tests of the lifecycle actions with the python-on-whales client mocked."""

from __future__ import annotations

import asyncio
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


async def test_start_container_not_found(client: MagicMock, executor: DockerActionExecutor) -> None:
    """A missing container raises ContainerNotFound, a NoSuchContainer naming the reference."""
    client.container.inspect.side_effect = missing("ghost")
    with pytest.raises(NoSuchContainer) as caught:
        await executor.start_container("ghost")
    assert isinstance(caught.value, ContainerNotFound)
    assert caught.value.reference == "ghost"
    assert "ghost" in str(caught.value)
    assert isinstance(caught.value.__cause__, NoSuchContainer)


def with_stop_signal(
    model: ContainerInspectResult, stop_signal: str | int
) -> ContainerInspectResult:
    """Return ``model`` with ``Config.StopSignal`` set, as ``docker run --stop-signal`` sets it."""
    raw = model.model_dump(by_alias=True, exclude_none=True)
    raw["Config"]["StopSignal"] = stop_signal
    return ContainerInspectResult.model_validate(raw)


CRASH_STARTED = "2026-11-29T10:00:00Z"


def test_snapshot_reads_the_stop_signal_in_the_engines_spelling() -> None:
    """Config.StopSignal is read into the snapshot as the engine names it, None when unset."""
    running = inspect_result(status="running")
    assert snapshot(with_stop_signal(running, "9")).stop_signal == "SIGKILL"
    assert snapshot(with_stop_signal(running, "quit")).stop_signal == "SIGQUIT"
    assert snapshot(with_stop_signal(running, "")).stop_signal is None
    assert snapshot(running).stop_signal is None


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
