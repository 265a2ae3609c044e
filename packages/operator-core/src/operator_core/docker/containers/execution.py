"""Run a command inside a running container, bounded in time and output.

The command is a list of arguments handed to ``docker exec`` as they are (no shell), in
the container found by one inspect (so a stopped or paused container is refused clearly).
Its words are on the docker command line, visible in the host's process table like any
``docker exec``: a secret belongs in ``env``.

``env`` values reach the container through ``--env-file /dev/fd/N``, an in-memory file
(``_capture.env_file``): they appear on no command line, in no host process's environment
(where ``DOCKER_HOST`` or ``LD_PRELOAD`` would change what the docker CLI itself does), in
no result, log or error message. The file format allows no newline in a value.

A command that outlives ``timeout``: the ``docker exec`` process is killed (that alone
would leave the command running in the container), then one more exec runs a small
``sh`` script, as the same user, that finds every process carrying this call's marker
variable ``OPERATOR_CORE_EXEC_ID`` (set for the command, inherited by its children) in
``/proc/<pid>/environ``, stops and SIGKILLs them, repeats until none is left, and says how
many it killed and how many remain. The result's ``cleanup`` reports that; it needs
``sh``, ``tr`` and ``grep`` in the container (a busybox, Debian or Alpine image has them)
and misses a process that dropped the variable or changed user.

A call that is cancelled (an MCP cancel, Ctrl-C) while its command runs is dealt with the
same way: ``docker exec`` is killed within ``_capture.POLL_S`` and the clean-up runs; the
call then raises CancelledError (its result, with ``cancelled`` true and ``cleanup``, is
logged as a warning, since no caller is left to receive it).
"""

from __future__ import annotations

import logging
import re
import threading
import time
import uuid
from typing import Any

from operator_core.docker._engine import cli as _engine
from operator_core.docker._engine.capture import (
    HeadTail,
    Outcome,
    capture,
    cli_failure,
    daemon_error,
    docker_command,
    env_file,
)
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.state import Snapshot, read
from operator_core.errors import ContainerStateError, InvalidInput, OperationTimeout
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


def _engine_answers(client: Any, container_id: str) -> bool:
    """Whether the engine answers one inspect of ``container_id`` within ``ENGINE_PROBE_S``."""
    out, err = HeadTail(4096), HeadTail(4096)
    outcome = capture(
        docker_command(client, ["container", "inspect", "--format", "{{.Id}}", container_id]),
        stdout=out,
        stderr=err,
        deadline_at=time.monotonic() + ENGINE_PROBE_S,
    )
    return outcome.stopped is None and _engine.unreachable_line(err.text()) is None


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


def _running(client: Any, ref: str) -> Snapshot:
    """Return the container's snapshot if it can run a command, else raise ContainerStateError."""
    snap = read(client, ref)
    refused = _not_runnable(snap)
    if refused is not None:
        raise refused
    return snap


def _unreachable(outcome: Outcome) -> str | None:
    """Return the last stderr line if it is the docker CLI saying it reached no engine."""
    if outcome.returncode in (None, 0):
        return None
    lines = outcome.error_tail.decode("utf-8", errors="replace").strip().splitlines()
    return _engine.unreachable_line(lines[-1]) if lines else None


def _check_refusal(client: Any, snap: Snapshot, outcome: Outcome, ref: str) -> None:
    """Raise the engine's refusal of an exec; return if the command itself ran.

    ``docker exec`` shares its stderr with the command, so a last line starting ``Error
    response from daemon:``, or one where the CLI says it reached no engine (``Cannot
    connect to the Docker daemon ...``, ``error during connect ...``), may be the
    command's own (a docker CLI run inside the container writes the same). Only then is
    the container read again (one more docker process): the engine not answering raises
    EngineUnreachable; gone, ContainerNotFound; no longer able to run a command
    (stopped, paused, restarting), ContainerStateError with the CLI's error as the cause;
    still running, the output was the command's, and its result stands.
    """
    unreachable = _unreachable(outcome)
    if daemon_error(outcome) is None and unreachable is None:
        return
    refusal = cli_failure(outcome, "exec", container=ref)
    # An engine that does not answer raises EngineUnreachable here, a removed container
    # ContainerNotFound(ref) (run_bounded translates).
    now = read(client, snap.id)
    stopped = _not_runnable(now)
    if stopped is not None:
        raise stopped from refusal


def _options(user: str | None, workdir: str | None) -> list[str]:
    """Return the ``docker exec`` options for ``user`` and ``workdir``."""
    return [*(["--user", user] if user else []), *(["--workdir", workdir] if workdir else [])]


def _cleanup(client: Any, container: str, user: str | None, marker: str) -> CleanupReport:
    """Kill every process of the container that carries ``marker``; report what happened."""
    args = ["exec", *_options(user, None), container, "sh", "-c", _CLEANUP_SCRIPT]
    out, err = HeadTail(4096), HeadTail(4096)
    outcome = capture(
        docker_command(client, [*args, "operator-core-cleanup", marker]),
        stdout=out,
        stderr=err,
        deadline_at=time.monotonic() + CLEANUP_DEADLINE_S,
    )
    report = _CLEANUP_REPORT.search(out.text())
    if outcome.stopped is None and outcome.returncode == 0 and report:
        return {"killed": int(report[1]), "remaining": int(report[2]), "error": None}
    if outcome.stopped:
        why = f"the clean-up did not finish within {CLEANUP_DEADLINE_S:g}s"
    else:
        why = cli_failure(outcome, "exec").args[0]
    return {"killed": 0, "remaining": None, "error": str(why)}


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
        daemon: ...``) is told apart by reading the container again (see
        ``_check_refusal``).

        After ``timeout`` seconds the command is stopped and killed in the container (see
        the module's docstring): ``timed_out`` true, ``exit_code`` None and ``cleanup``
        ``{"killed", "remaining", "error"}`` (None when there was no timeout). A cancelled
        call is dealt with the same way, then raises CancelledError (the result it would
        have had, ``cancelled`` true, is logged). A last line of stderr where the docker
        CLI says it reached no engine raises EngineUnreachable once the re-read fails too.
        Docker processes: an inspect and the exec, plus the clean-up exec after a timeout
        or a cancel, or one more inspect after output that looks like the engine's refusal.
        """
        ref = validate_reference(container_id)
        words, who, where = (
            validate_command(command),
            validate_user(user),
            validate_workdir(workdir),
        )
        values, limit = validate_env(env), _timeout(timeout)
        stop = threading.Event()

        def work(client: Any) -> ExecResult:
            snap = _running(client, ref)
            marker = uuid.uuid4().hex
            out, err = HeadTail(EXEC_OUTPUT_CAP), HeadTail(EXEC_OUTPUT_CAP)
            with env_file({**values, MARKER_KEY: marker}) as fd:
                args = ["exec", "--env-file", f"/dev/fd/{fd}", *_options(who, where), snap.id]
                outcome = capture(
                    docker_command(client, [*args, *words]),
                    stdout=out,
                    stderr=err,
                    deadline_at=time.monotonic() + limit,
                    pass_fds=(fd,),
                    cancel=stop,
                )
            _check_refusal(client, snap, outcome, ref)
            cancelled = outcome.stopped == "cancelled"
            timed_out = outcome.stopped is not None and not cancelled
            cleanup = _cleanup(client, snap.id, who, marker) if outcome.stopped else None
            # No clean-up report either: was it the engine, rather than the command, that
            # did not answer? One inspect says.
            unreported = timed_out and cleanup is not None and cleanup["remaining"] is None
            if unreported and not _engine_answers(client, snap.id):
                raise _engine_silent(ref, limit)
            if cancelled:
                log.warning(
                    "exec in %s was cancelled: docker exec killed; clean-up %s", ref, cleanup
                )
            return {
                **snap.names(),
                "exit_code": outcome.returncode,
                "success": outcome.returncode == 0,
                **_outputs(out, err),
                "duration_s": round(outcome.elapsed_s, 3),
                "timed_out": timed_out,
                "cancelled": cancelled,
                "timeout_s": limit,
                "cleanup": cleanup,
            }

        deadline = exec_deadline(limit, self._call_deadline)
        return await self._run(
            f"exec in {ref}", work, deadline=deadline, container=ref, on_cancel=stop.set
        )
