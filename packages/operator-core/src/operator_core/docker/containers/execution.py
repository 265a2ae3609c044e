"""Run a command inside a running container, bounded in time and output.

The command is a list of arguments sent to the Engine API as they are (no shell), in the
container found by one inspect (so a stopped or paused container is refused clearly):
``POST /containers/{id}/exec`` creates the exec, ``POST /exec/{id}/start`` streams its
output, demultiplexed into stdout and stderr, and ``GET /exec/{id}/json`` gives its exit
code. No process is started on the host, so the command's words and ``env`` values are on
no host command line; ``env`` values travel in the request's body and appear in no result,
log, error message or recorded request.

A command that outlives ``timeout``: its stream is closed (that alone would leave the
command running in the container), then one more exec runs a small ``sh`` script, as the
same user, that finds every process carrying this call's marker variable
``OPERATOR_CORE_EXEC_ID`` (set for the command, inherited by its children) in
``/proc/<pid>/environ``, stops and SIGKILLs them, repeats until none is left, and says how
many it killed and how many remain. The result's ``cleanup`` reports that; it needs
``sh``, ``tr`` and ``grep`` in the container (a busybox, Debian or Alpine image has them)
and misses a process that dropped the variable or changed user.

A call that is cancelled (an MCP cancel, Ctrl-C) while its command runs is dealt with the
same way: the stream is closed at once and the clean-up runs; the call then raises
CancelledError (its result, with ``cancelled`` true and ``cleanup``, is logged as a
warning, since no caller is left to receive it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
import uuid
from dataclasses import dataclass

from operator_core.docker._engine.api import EngineClient, as_object
from operator_core.docker._engine.capture import HeadTail
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.fields import flag, number, text
from operator_core.docker._engine.state import Snapshot, fetch
from operator_core.errors import (
    ContainerStateError,
    InvalidInput,
    OperationTimeout,
    OperatorError,
)
from operator_core.limits import DEFAULT_EXEC_TIMEOUT_S, EXEC_OUTPUT_CAP, MAX_EXEC_TIMEOUT_S
from operator_core.results import CleanupReport, ExecOutput, ExecResult
from operator_core.validate import (
    MARKER_KEY,
    validate_command,
    validate_env,
    validate_reference,
    validate_seconds,
    validate_user,
    validate_workdir,
)

__all__ = ["CLEANUP_DEADLINE_S", "ENGINE_PROBE_S", "ExecActions", "exec_deadline"]

log = logging.getLogger(__name__)

#: How long the clean-up after a timeout may take.
CLEANUP_DEADLINE_S = 10.0
#: How long the engine has to answer one inspect after a command's timeout before the
#: timeout is put down to the engine, not the command.
ENGINE_PROBE_S = 5.0


def exec_deadline(limit: float, call_deadline: float) -> float:
    """Return the bound of an exec call whose command may run ``limit`` seconds.

    The command's time, the clean-up's and the engine probe's after a timeout, and a call
    deadline for the inspects around them.
    """
    return limit + CLEANUP_DEADLINE_S + ENGINE_PROBE_S + call_deadline


async def _engine_answers(api: EngineClient, container_id: str) -> bool:
    """Whether the engine answers one inspect of ``container_id`` within ``ENGINE_PROBE_S``."""
    try:
        async with asyncio.timeout(ENGINE_PROBE_S):
            await api.get_object(f"/containers/{container_id}/json")
    except (OperatorError, TimeoutError):
        return False
    return True


def _engine_silent(ref: str, limit: float) -> OperationTimeout:
    """Return the error of an exec whose timeout was the engine's silence, not the command."""
    return OperationTimeout(
        f"exec in {ref}: the Docker engine did not answer: the command got no reply within "
        f"its timeout of {limit:g}s, its clean-up none within {CLEANUP_DEADLINE_S:g}s and an "
        f"inspect none within {ENGINE_PROBE_S:g}s, so whether the command ran, or still "
        "runs, is unknown",
        reason="engine_not_answering",
    )


_CLEANUP_REPORT = re.compile(r"killed=(\d+) remaining=(\d+)")

# $1 is the marker; prints "killed=N remaining=M". Rounds catch children forked meanwhile.
_CLEANUP_SCRIPT = r"""
m="OPERATOR_CORE_EXEC_ID=$1"; all=" "; killed=0
found() {
  for d in /proc/[0-9]*; do
    { tr '\0' '\n' < "$d/environ" | grep -qxF -- "$m"; } 2>/dev/null && echo "${d#/proc/}"
  done
}
for round in 1 2 3 4 5; do
  pids=$(found); [ -n "$pids" ] || break
  kill -STOP $pids 2>/dev/null; kill -KILL $pids 2>/dev/null
  for p in $pids; do
    case "$all" in *" $p "*) ;; *) all="$all$p "; killed=$((killed + 1)) ;; esac
  done
done
left=0; for p in $(found); do left=$((left + 1)); done
echo "killed=$killed remaining=$left"
"""


def _timeout(value: object) -> float:
    """Return ``timeout`` in seconds, more than 0 and at most ``MAX_EXEC_TIMEOUT_S``."""
    seconds = validate_seconds(value, "timeout", maximum=MAX_EXEC_TIMEOUT_S)
    if seconds <= 0:
        raise InvalidInput("timeout must be more than 0 seconds")
    return seconds


def _not_runnable(snap: Snapshot) -> ContainerStateError | None:
    """Return why a command cannot run in the container ``snap`` describes, or None if it can."""
    if snap.paused:
        return ContainerStateError(f"container {snap.name!r} is paused; unpause it first")
    if not snap.running or snap.restarting:
        return ContainerStateError(
            f"container {snap.name!r} is not running (state: {snap.status}); "
            "a command can only be executed in a running container"
        )
    return None


async def _running(api: EngineClient, ref: str) -> Snapshot:
    """Return the container's snapshot if it can run a command, else raise ContainerStateError."""
    snap = await fetch(api, ref)
    refused = _not_runnable(snap)
    if refused is not None:
        raise refused
    return snap


@dataclass(frozen=True)
class _Ran:
    """How one exec's stream ended: ``stopped`` None (it ended), timeout or cancelled."""

    exec_id: str | None
    stopped: str | None
    elapsed_s: float


async def _create(
    api: EngineClient,
    container: str,
    words: list[str],
    env: dict[str, str],
    user: str | None,
    workdir: str | None,
) -> str:
    """Create an exec of ``words`` in ``container``; return its id."""
    body: dict[str, object] = {
        "AttachStdout": True,
        "AttachStderr": True,
        "Tty": False,
        "Cmd": words,
        "Env": [f"{key}={value}" for key, value in env.items()],
    }
    if user:
        body["User"] = user
    if workdir:
        body["WorkingDir"] = workdir
    created = as_object(await api.post(f"/containers/{container}/exec", body=body), "exec")
    exec_id = text(created.get("Id"))
    if not exec_id:
        raise OperatorError(f"the engine created an exec in {container} without an id")
    return exec_id


async def _pump(api: EngineClient, exec_id: str, out: HeadTail, err: HeadTail) -> None:
    """Start the exec and feed its demultiplexed output to ``out`` and ``err`` until it ends."""
    body = {"Detach": False, "Tty": False}
    frames = api.frames("POST", f"/exec/{exec_id}/start", body=body)
    async with contextlib.aclosing(frames):
        async for stream, data in frames:
            (out if stream == "stdout" else err).feed(data)


async def _run_exec(
    api: EngineClient,
    container: str,
    words: list[str],
    options: tuple[dict[str, str], str | None, str | None],
    sinks: tuple[HeadTail, HeadTail],
    limit: float,
) -> _Ran:
    """Run one exec within ``limit`` s; a timeout or a cancel closes its stream and is noted."""
    env, user, workdir = options
    began = time.monotonic()
    stopped: str | None = None
    exec_id: str | None = None
    try:
        # The create counts against the timeout too: an engine that never answers it is
        # told apart by the clean-up and the probe, as a command that never ends is not.
        async with asyncio.timeout(limit):
            exec_id = await _create(api, container, words, env, user, workdir)
            await _pump(api, exec_id, *sinks)
    except TimeoutError as exc:
        if isinstance(exc, OperationTimeout):
            raise
        stopped = "deadline"
    except asyncio.CancelledError:
        stopped = "cancelled"
    return _Ran(exec_id, stopped, time.monotonic() - began)


#: How often, and how many times, an exec whose stream ended is asked for its exit code
#: while the engine still reports it running (the stream can end a moment before).
_EXIT_POLL_S = 0.05
_EXIT_POLLS = 40


async def _exit_code(api: EngineClient, exec_id: str) -> int | None:
    """Return the exit code the exec's inspect reports, once it reports it stopped."""
    for _ in range(_EXIT_POLLS):
        found = await api.get_object(f"/exec/{exec_id}/json")
        if not flag(found.get("Running")):
            return number(found.get("ExitCode"))
        await asyncio.sleep(_EXIT_POLL_S)
    return None


async def _cleanup(
    api: EngineClient, container: str, user: str | None, marker: str
) -> CleanupReport:
    """Kill every process of the container that carries ``marker``; report what happened."""
    words = ["sh", "-c", _CLEANUP_SCRIPT, "operator-core-cleanup", marker]
    out, err = HeadTail(4096), HeadTail(4096)
    try:
        sinks = (out, err)
        ran = await _run_exec(api, container, words, ({}, user, None), sinks, CLEANUP_DEADLINE_S)
        code = None if ran.stopped or not ran.exec_id else await _exit_code(api, ran.exec_id)
    except OperatorError as exc:
        return {"killed": 0, "remaining": None, "error": str(exc)}
    report = _CLEANUP_REPORT.search(out.text())
    if ran.stopped is None and code == 0 and report:
        return {"killed": int(report[1]), "remaining": int(report[2]), "error": None}
    if ran.stopped:
        why = f"the clean-up did not finish within {CLEANUP_DEADLINE_S:g}s"
    else:
        said = (err.text() or out.text()).strip().splitlines()
        why = f"the clean-up exited {code}: {said[-1] if said else 'no message'}"
    return {"killed": 0, "remaining": None, "error": why}


def _outputs(out: HeadTail, err: HeadTail) -> ExecOutput:
    """Return the stdout and stderr fields of a result."""
    return {
        "stdout": out.text(),
        "stderr": err.text(),
        "stdout_truncated": out.truncated,
        "stderr_truncated": err.truncated,
        "truncated": out.truncated or err.truncated,
        "stdout_bytes": out.total,
        "stderr_bytes": err.total,
    }


class ExecActions(ExecutorCore):
    """Run a command inside a running container, bounded in time and output."""

    async def execute_command(
        self,
        container_id: str,
        command: list[str],
        user: str | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = DEFAULT_EXEC_TIMEOUT_S,
    ) -> ExecResult:
        """Run ``command`` (a list of arguments, no shell) in a running container.

        Returns ``exit_code``, ``success`` (exit code 0), ``stdout`` and ``stderr`` (each the
        first and last ``EXEC_OUTPUT_CAP / 2`` bytes, a marker between, with
        ``stdout_truncated``/``stderr_truncated``, ``truncated`` for either, and the full
        ``stdout_bytes``/``stderr_bytes`` counts),
        ``duration_s``, ``timed_out`` and ``cleanup``. A program that cannot be started
        (not found, unknown user, missing workdir) comes back as docker reports it: exit
        code 126 and docker's reason in ``stdout`` or ``stderr``. A missing container raises
        ContainerNotFound; a stopped or paused one ContainerStateError. A command whose
        own last line of stderr reads like the engine's refusal (``Error response from
        daemon: ...``) is the command's: the engine's refusals come as API errors.

        After ``timeout`` seconds the command is stopped and killed in the container (see
        the module's docstring): ``timed_out`` true, ``exit_code`` None and ``cleanup``
        ``{"killed", "remaining", "error"}`` (None when there was no timeout). A cancelled
        call is dealt with the same way, then raises CancelledError (the result it would
        have had, ``cancelled`` true, is logged). Requests: an inspect, the exec's create,
        start and inspect, plus the clean-up exec's after a timeout or a cancel.
        """
        ref = validate_reference(container_id)
        words, who, where = (
            validate_command(command),
            validate_user(user),
            validate_workdir(workdir),
        )
        values, limit = validate_env(env), _timeout(timeout)

        async def work() -> ExecResult:
            snap = await _running(self._api, ref)
            marker = uuid.uuid4().hex
            out, err = HeadTail(EXEC_OUTPUT_CAP), HeadTail(EXEC_OUTPUT_CAP)
            options = ({**values, MARKER_KEY: marker}, who, where)
            ran = await _run_exec(self._api, snap.id, words, options, (out, err), limit)
            cancelled = ran.stopped == "cancelled"
            timed_out = ran.stopped == "deadline"
            done = ran.exec_id if not ran.stopped else None
            code = await _exit_code(self._api, done) if done else None
            cleanup = await _cleanup(self._api, snap.id, who, marker) if ran.stopped else None
            # No clean-up report either: was it the engine, rather than the command, that
            # did not answer? One inspect says.
            unreported = timed_out and cleanup is not None and cleanup["remaining"] is None
            if unreported and not await _engine_answers(self._api, snap.id):
                raise _engine_silent(ref, limit)
            result: ExecResult = {
                **snap.names(),
                "exit_code": code,
                "success": code == 0,
                **_outputs(out, err),
                "duration_s": round(ran.elapsed_s, 3),
                "timed_out": timed_out,
                "cancelled": cancelled,
                "timeout_s": limit,
                "cleanup": cleanup,
            }
            if cancelled:
                log.warning("exec in %s was cancelled: stream closed; clean-up %s", ref, cleanup)
                raise asyncio.CancelledError
            return result

        deadline = exec_deadline(limit, self._call_deadline)
        return await self._call(f"exec in {ref}", work, deadline=deadline, container=ref)
