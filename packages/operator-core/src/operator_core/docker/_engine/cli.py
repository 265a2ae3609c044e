"""The one place operator-core meets python-on-whales and the docker CLI.

Three jobs live here and nowhere else:

* bounding: ``run_bounded`` runs a blocking function in the loop's default executor and
  gives up with ``OperationTimeout`` once it has run past its deadline (cancelled, it
  waits for the work to end before it lets the cancel through); ``bounded_client``
  makes every docker process of that call die shortly after, so a hung engine leaves
  neither a process nor a busy worker thread behind;
* translating: what the engine side raises (``ENGINE_SIDE``: python-on-whales' Docker
  errors, a missing docker CLI, the OS refusing to run it, a process timeout) becomes an
  ``operator_core.errors`` one. Nothing else is translated: an AttributeError or KeyError
  is our bug and propagates as it is, so the tool layer reports and logs it as one;
* working around python-on-whales where it is wrong (see ``stop``).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import re
import shutil
import subprocess
import threading
from collections.abc import Callable
from typing import TypeVar, cast

from python_on_whales import Container, DockerClient
from python_on_whales.client_config import ClientNotFoundError
from python_on_whales.components.container.models import ContainerInspectResult
from python_on_whales.exceptions import DockerException, NoSuchContainer, NoSuchNetwork
from python_on_whales.utils import run

from operator_core.errors import (
    ContainerNotFound,
    ContainerStateError,
    EngineError,
    EngineUnreachable,
    NetworkNotFound,
    NodeNotFound,
    NotSwarmManager,
    OperationTimeout,
    OperatorError,
    ServiceNotFound,
)

__all__ = [
    "ENGINE_SIDE",
    "QUEUE_WAIT_S",
    "REAPER_MARGIN_S",
    "bounded_client",
    "helper_reason",
    "inspect_model",
    "run_bounded",
    "run_cli",
    "stop",
    "translate",
    "unreachable_line",
]

T = TypeVar("T")

#: What the engine side raises, and all ``translate`` maps: python-on-whales' Docker errors,
#: its missing-CLI error, OS errors of starting or talking to the docker process (a missing
#: binary is a FileNotFoundError) and the timeouts of processes we bound.
ENGINE_SIDE = (
    DockerException,
    ClientNotFoundError,
    OSError,
    subprocess.TimeoutExpired,
)
EngineSideError = DockerException | ClientNotFoundError | OSError | subprocess.TimeoutExpired

#: How long a call may wait for a free worker thread before it is dropped, never having run.
QUEUE_WAIT_S = 60.0
#: Seconds a docker process may outlive its call's deadline before coreutils timeout kills it.
#: Short, so a process exiting at its end (the CLI's asyncio.run) waits for no worker thread
#: much past the deadline; a reaped process is read as the timeout it is (``translate``).
REAPER_MARGIN_S = 0.5
#: The exit codes of a command coreutils ``timeout`` stopped (TERM; KILL after --kill-after).
_REAPED_CODES = (124, 137)

#: How the docker CLI starts a line of its own when it reached no engine. Only such lines
#: count: a "connection refused" the daemon relays (a registry or a plugin it could not
#: reach, after "Error response from daemon:") says the engine answered.
_UNREACHABLE_PREFIXES = (
    "cannot connect to the docker daemon",
    "error during connect",
    "got permission denied while trying to connect to the docker daemon",
    "failed to initialize: unable to resolve docker endpoint",
    "unable to resolve docker endpoint",
)
#: How the docker CLI reports a connection helper (ssh) that failed: ssh's words follow.
_HELPER_FAILED = re.compile(
    r"command \[(?P<helper>\S+)[^\]]*\] has exited with exit status (?P<code>\d+)"
    r".*?stderr=(?P<said>.*)",
    re.S,
)
_HELPER_SAID_MAX = 600
#: What the docker CLI says when the helper had gone before the request was written.
_HELPER_CLOSED = ("write |1: broken pipe", "read |0: file already closed")
_STATE_MARKERS = ("is not running", "is paused", "is restarting", "cannot start a paused")
#: What the engine and the CLI say of a service or a node that does not exist.
_NO_SERVICE = re.compile(r"no such (?:task or )?service|service \S+ not found")
_NO_NODE = re.compile(r"no such node|node \S+ not found")
_NOT_MANAGER = "this node is not a swarm manager"


def _first_line(text: str | None) -> str:
    """Return the first non-empty line of ``text`` (docker puts the reason there)."""
    for line in (text or "").splitlines():
        if line.strip():
            return line.strip()
    return ""


def helper_reason(text: str | None) -> str | None:
    """Return what a failed connection helper (ssh) said, in its own words, or None.

    The docker CLI reports it in one long sentence ending in ``stderr=`` and whatever ssh
    wrote, on as many lines as ssh wrote (a host-key warning, then the refusal): every
    line is kept, joined with ``; ``.
    """
    found = _HELPER_FAILED.search(text or "")
    if found is None:
        return None
    lines = [line.strip() for line in found.group("said").splitlines() if line.strip()]
    said = "; ".join(lines)[:_HELPER_SAID_MAX] or "nothing"
    return f"the connection helper ({found.group('helper')}) exited {found.group('code')}: {said}"


def _unreachable(stderr: str | None, line: str) -> EngineUnreachable:
    """Return the error of a call that reached no engine, with the transport's own reason."""
    helper = helper_reason(stderr)
    if helper is not None:
        return EngineUnreachable(f"could not reach the Docker engine: {helper}")
    if any(closed in line for closed in _HELPER_CLOSED):
        line += (
            " (the connection helper - ssh, for an ssh:// host - ended before docker could "
            "write to it, and docker did not keep its reason: `ssh -T HOST` shows it)"
        )
    return EngineUnreachable(f"could not reach the Docker engine: {line}")


def unreachable_line(text: str | None) -> str | None:
    """Return the docker CLI's own line saying it reached no engine, if ``text`` has one."""
    for line in (text or "").splitlines():
        stripped = line.strip()
        if stripped.lower().startswith(_UNREACHABLE_PREFIXES):
            return stripped
    return None


def translate(
    exc: EngineSideError | OperatorError,
    *,
    container: str | None = None,
    network: str | None = None,
    service: str | None = None,
    node: str | None = None,
) -> OperatorError:
    """Return the operator-core error for a failure on the engine side (``ENGINE_SIDE``).

    Messages carry docker's own reason, never the command line, which may hold secrets.
    EngineUnreachable only comes from a line the CLI writes itself when it reached no
    engine (``_UNREACHABLE_PREFIXES``), never from words the daemon relays. Anything
    else is refused with TypeError: callers catch ``ENGINE_SIDE`` only, and let the rest
    (our bugs) propagate.
    """
    if isinstance(exc, OperatorError):
        return exc
    if isinstance(exc, ClientNotFoundError):
        return EngineUnreachable("the docker CLI was not found on PATH")
    if isinstance(exc, FileNotFoundError):
        return EngineUnreachable(f"the docker CLI could not be run: {exc.strerror or exc}")
    if isinstance(exc, OSError):
        return EngineError(f"the docker CLI could not be run: {exc.strerror or exc}")
    if isinstance(exc, subprocess.TimeoutExpired):
        return OperationTimeout(f"docker did not finish within {exc.timeout:g}s")
    if not isinstance(exc, DockerException):
        raise TypeError(f"not an engine-side error: {type(exc).__name__}") from exc
    reason = _first_line(exc.stderr)
    lowered = (exc.stderr or "").lower()
    unreachable = unreachable_line(exc.stderr)
    if unreachable is not None:
        return _unreachable(exc.stderr, unreachable)
    if _NOT_MANAGER in lowered:
        return NotSwarmManager("worker nodes" in lowered, exc)
    if service is not None and _NO_SERVICE.search(lowered):
        return ServiceNotFound(service, exc)
    if node is not None and _NO_NODE.search(lowered):
        return NodeNotFound(node)
    if isinstance(exc, NoSuchContainer) and container is not None:
        return ContainerNotFound(container, exc)
    if isinstance(exc, NoSuchNetwork) and network is not None:
        return NetworkNotFound(network, exc)
    if any(marker in lowered for marker in _STATE_MARKERS):
        return ContainerStateError(reason)
    if exc.return_code in _REAPED_CODES and not reason:
        return OperationTimeout(
            "the engine did not answer by the call's deadline (its docker process was stopped)"
        )
    return EngineError(f"docker exited with code {exc.return_code}: {reason or 'no message'}")


async def run_bounded(
    fn: Callable[[], T],
    *,
    deadline: float,
    what: str,
    container: str | None = None,
    network: str | None = None,
    service: str | None = None,
    node: str | None = None,
    on_cancel: Callable[[], None] | None = None,
) -> T:
    """Run blocking ``fn`` in the default executor, bounded by ``deadline`` seconds of running.

    Engine-side errors raised by ``fn`` (``ENGINE_SIDE``) leave as operator-core errors;
    any other exception is a bug and leaves unchanged. Time spent waiting for a worker
    thread does not count against ``deadline`` but is itself bounded by ``QUEUE_WAIT_S``,
    after which the call is dropped without having run.

    Cancelled (an MCP cancel, Ctrl-C, the loop shutting down): a call still queued is
    dropped and never runs. A call already running cannot be stopped halfway, so
    ``on_cancel`` (if given; called on the event loop) asks ``fn`` to stop early, and the
    call keeps waiting for ``fn`` to end, through further cancels but never past what is
    left of ``deadline``, before it re-raises CancelledError: a caller that then reads the
    container sees it after the work, not in the middle of it.
    """
    loop = asyncio.get_running_loop()
    started: asyncio.Future[None] = loop.create_future()
    turn = _Turn()

    def job() -> T | None:
        if not turn.take():
            return None  # dropped while queued
        loop.call_soon_threadsafe(_resolve, started)
        try:
            return fn()
        except OperatorError:
            raise
        except ENGINE_SIDE as exc:
            raise translate(
                exc, container=container, network=network, service=service, node=node
            ) from exc

    future = loop.run_in_executor(None, job)
    try:
        await asyncio.wait_for(asyncio.shield(started), QUEUE_WAIT_S)
    except TimeoutError:
        if turn.drop():
            future.cancel()
            raise OperationTimeout(
                f"{what}: no worker thread was free within {QUEUE_WAIT_S:g}s; nothing was run"
            ) from None
    except asyncio.CancelledError:
        if turn.drop():
            future.cancel()
            raise
        await _finish_cancelled(future, loop.time() + deadline, on_cancel)
        raise
    until = loop.time() + deadline
    try:
        done, _ = await asyncio.wait({future}, timeout=deadline)
    except asyncio.CancelledError:
        await _finish_cancelled(future, until, on_cancel)
        raise
    if not done:
        future.cancel()
        raise OperationTimeout(
            f"{what} did not finish within its deadline of {deadline:g}s; "
            "the engine may still complete it"
        )
    return cast(T, future.result())


class _Turn:
    """Decides, once and thread-safely, whether a queued job runs or was dropped."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state: str | None = None

    def _claim(self, state: str) -> bool:
        with self._lock:
            if self._state is None:
                self._state = state
            return self._state == state

    def take(self) -> bool:
        """Called by the worker: whether the job may run (it was not dropped first)."""
        return self._claim("running")

    def drop(self) -> bool:
        """Called by the waiter: whether the job was dropped before it began."""
        return self._claim("dropped")


async def _finish_cancelled(
    future: asyncio.Future[T], until: float, on_cancel: Callable[[], None] | None
) -> None:
    """After a cancel: ask the work to stop, then wait for it until loop time ``until``.

    Further cancels are absorbed (the caller re-raises CancelledError); the wait ends when
    the work does or ``until`` passes, whichever comes first.
    """
    if on_cancel is not None:
        on_cancel()
    loop = asyncio.get_running_loop()
    while not future.done() and (left := until - loop.time()) > 0:
        # Cancelled again: keep waiting; the wait is bounded by ``until``.
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.wait({future}, timeout=left)
    if not future.done():
        future.cancel()
    elif not future.cancelled():
        future.exception()  # retrieved: the caller is cancelled, nobody else will look


def _resolve(future: asyncio.Future[None]) -> None:
    """Mark ``future`` done unless someone stopped waiting for it."""
    if not future.done():
        future.set_result(None)


def bounded_client(client: DockerClient, seconds: float) -> DockerClient:
    """Return a client like ``client`` whose docker processes die after ``seconds`` plus a margin.

    The reaper is coreutils ``timeout``; a test double, or a machine without ``timeout``,
    gets ``client`` back unchanged and relies on ``run_bounded`` alone.
    """
    timeout_bin = shutil.which("timeout")
    if not isinstance(client, DockerClient) or timeout_bin is None:
        return client
    config = client.client_config
    limit = f"{seconds + REAPER_MARGIN_S:.1f}"
    call = [timeout_bin, "--kill-after=1", limit, *config.client_call]
    bounded = dataclasses.replace(config, client_call=call, _client_call_with_path=None)
    return DockerClient(client_config=bounded)


def run_cli(client: DockerClient, args: list[str]) -> str:
    """Run ``docker <args>`` with ``client``'s host, context and config; return its stdout."""
    return str(run(client.client_config.docker_cmd + args))


def inspect_model(client: DockerClient, reference: str) -> ContainerInspectResult | Container:
    """Return the engine's inspect result for one container, read once.

    python-on-whales re-runs ``docker inspect`` on every attribute read of a ``Container``
    older than 10 ms, so reading its fields one by one costs a process each and mixes
    moments; the result it fetched on construction is taken whole instead (the
    ``Container`` itself when a later python-on-whales keeps it elsewhere).
    """
    container = client.container.inspect(reference)
    held = getattr(container, "_inspect_result", None)
    return held if isinstance(held, ContainerInspectResult) else container


def stop(client: DockerClient, reference: str, grace_s: int) -> None:
    """Stop ``reference``, sending SIGKILL after ``grace_s`` seconds.

    python-on-whales 0.81 drops an int ``time`` from ``docker stop`` (the engine then
    waits its default 10 s) and renders a timedelta as ``1.0s``, which the CLI rejects;
    so the command is built here with ``--time`` as whole seconds.
    """
    run_cli(client, ["container", "stop", "--time", str(grace_s), reference])
