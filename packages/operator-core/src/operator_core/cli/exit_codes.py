"""The ``operator`` command's exit codes, and how a tool envelope maps onto them.

Every tool call returns an envelope (``{"ok": true, "result": ...}`` or ``{"ok": false,
"error": {"type": ..., ...}}``); the error ``type`` (``denied``, ``container_not_found``...) is
derived by the runner from an ``operator_core.errors`` class, so the mapping follows the
error tree: each type gets the code of the class it comes from.
"""

from __future__ import annotations

from enum import IntEnum

from operator_core import errors
from operator_core.runner.envelope import ERROR_TYPES
from operator_core.words import JSONObject

__all__ = [
    "EXIT_CODES_HELP",
    "ExitCode",
    "exit_code_for",
    "exit_code_for_error",
    "exit_code_for_exception",
]


class ExitCode(IntEnum):
    """What ``operator`` returns to the shell."""

    OK = 0
    FAILED = 1
    INVALID_INPUT = 2
    DENIED = 3
    NOT_FOUND = 4
    TIMEOUT = 5
    UNREACHABLE = 6


#: The exit codes as ``operator --help`` shows them.
EXIT_CODES_HELP = (
    "Exit codes: 0 ok; 1 failed (the engine refused or the action failed, "
    "an exec'd command exited non-zero); 2 invalid input (bad option, argument, "
    "policy or inventory file, a swarm call to an engine that is no manager; nothing ran); "
    "3 denied by the policy (observe mode, protected container, rate limit, no approval); "
    "4 container, network, service or node not found; "
    "5 timed out (a deadline passed, or `wait` gave up before its condition held); "
    "6 no Docker engine answered (or the docker CLI is missing); 130 interrupted (Ctrl-C)."
)

# Most specific first: the first class the error is a subclass of decides.
_BY_CLASS: tuple[tuple[type[BaseException], ExitCode], ...] = (
    (errors.PolicyDenied, ExitCode.DENIED),
    (errors.InvalidInput, ExitCode.INVALID_INPUT),
    (errors.PolicyError, ExitCode.INVALID_INPUT),
    (errors.InventoryError, ExitCode.INVALID_INPUT),
    (errors.NotSwarmManager, ExitCode.INVALID_INPUT),
    (errors.ContainerNotFound, ExitCode.NOT_FOUND),
    (errors.NetworkNotFound, ExitCode.NOT_FOUND),
    (errors.ServiceNotFound, ExitCode.NOT_FOUND),
    (errors.NodeNotFound, ExitCode.NOT_FOUND),
    (errors.EngineUnreachable, ExitCode.UNREACHABLE),
    (errors.OperationTimeout, ExitCode.TIMEOUT),
)


def exit_code_for_exception(exc: BaseException | type[BaseException]) -> ExitCode:
    """Return the exit code of an operator-core error (FAILED for anything else)."""
    cls = exc if isinstance(exc, type) else type(exc)
    for parent, code in _BY_CLASS:
        if issubclass(cls, parent):
            return code
    return ExitCode.FAILED


# The envelope's error types, each mapped through the class the runner derives it from.
_BY_TYPE: dict[str, ExitCode] = {}
for _cls, _type in ERROR_TYPES.items():
    _BY_TYPE.setdefault(_type, exit_code_for_exception(_cls))


def exit_code_for_error(error_type: str | None) -> ExitCode:
    """Return the exit code of an envelope error ``type`` (FAILED when unknown)."""
    return _BY_TYPE.get(error_type or "", ExitCode.FAILED)


def exit_code_for(tool: str, envelope: JSONObject) -> ExitCode:
    """Return the exit code of a tool call's envelope.

    A successful call is 0, except where the result itself says the goal was missed:
    a wait whose condition was not met is TIMEOUT, a dry run is 0 (it did what was
    asked: nothing), and a command run in a container that exited non-zero or timed
    out is FAILED or TIMEOUT.
    """
    if not envelope.get("ok"):
        error = envelope.get("error") or {}
        kind = error.get("type") if isinstance(error, dict) else None
        return exit_code_for_error(kind if isinstance(kind, str) else None)
    result = envelope.get("result")
    if not isinstance(result, dict) or result.get("dry_run"):
        return ExitCode.OK
    if tool == "docker_wait_for_container" and result.get("met") is False:
        return ExitCode.TIMEOUT
    if tool == "docker_execute_command":
        if result.get("timed_out"):
            return ExitCode.TIMEOUT
        if result.get("exit_code") not in (0, None):
            return ExitCode.FAILED
    return ExitCode.OK
