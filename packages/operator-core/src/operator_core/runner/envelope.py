"""The JSON-able answers ``execute_tool`` gives, and how errors map onto them.

Success: ``{"ok": true, "result": {...}, "audit_id": "..."}``.
Failure: ``{"ok": false, "error": {"type", "message", "details"[, "rule"]}, "audit_id"}``,
``rule`` only for a policy denial. ``type`` is one of ``ERROR_TYPES``' values or
``internal`` (a bug in operator-core, reported rather than raised).
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from operator_core.audit.labels import redact_labels
from operator_core.audit.redact import redact_text, redact_value
from operator_core.errors import (
    AuditError,
    ContainerNotFound,
    ContainerStateError,
    EngineError,
    EngineUnreachable,
    InvalidArguments,
    InvalidInput,
    InventoryError,
    NetworkNotFound,
    NodeNotFound,
    NotSwarmManager,
    OperationTimeout,
    OperatorError,
    PolicyDenied,
    PolicyError,
    ServiceNotFound,
    UnknownTool,
)

__all__ = [
    "AGENT_HINTS",
    "ERROR_TYPES",
    "Envelope",
    "ErrorBody",
    "error_envelope",
    "error_type",
    "internal_envelope",
    "ok_envelope",
    "result_excerpt",
]


class ErrorBody(TypedDict):
    """What went wrong with a call: its type, a message for the agent, the rule, details."""

    type: str
    message: str
    rule: NotRequired[str]
    details: NotRequired[dict[str, object]]


class Envelope(TypedDict):
    """What a tool call returns: ``ok`` and its result, or its error; the audit record's id."""

    ok: bool
    result: NotRequired[object]
    error: NotRequired[ErrorBody]
    #: The id of the call's audit record, and why it could not be written (if it could not).
    audit_id: NotRequired[str]
    audit_error: NotRequired[str]


#: The envelope ``type`` of each error class (the nearest class in the MRO wins).
ERROR_TYPES: dict[type[OperatorError], str] = {
    UnknownTool: "unknown_tool",
    InvalidArguments: "invalid_arguments",
    InvalidInput: "invalid_arguments",
    PolicyError: "invalid_policy",
    InventoryError: "invalid_inventory",
    PolicyDenied: "denied",
    AuditError: "audit_unavailable",
    ContainerNotFound: "container_not_found",
    NetworkNotFound: "network_not_found",
    ServiceNotFound: "service_not_found",
    NodeNotFound: "node_not_found",
    NotSwarmManager: "not_swarm_manager",
    ContainerStateError: "container_state",
    EngineUnreachable: "engine_unreachable",
    EngineError: "engine_error",
    OperationTimeout: "timeout",
    OperatorError: "error",
}

#: What to tell the agent to do next, by error type (the end of the envelope's message).
AGENT_HINTS: dict[str, str] = {
    "container_not_found": "Call docker_list_containers with all=true to find the right "
    "name or id.",
    "network_not_found": "Check the network's name; docker_inspect_container shows the "
    "networks a container is on.",
    "container_state": "Call docker_inspect_container to see the container's state first.",
    "engine_unreachable": "The Docker engine is not answering; retrying will not help until "
    "a person fixes it.",
    "timeout": "The engine may still finish the action; call docker_inspect_container "
    "before retrying.",
    "service_not_found": "Call docker_list_services to find the right name or id.",
    "node_not_found": "Call docker_list_nodes to find the node's hostname or id.",
    "not_swarm_manager": "Swarm tools need a swarm manager; in a fleet, name the manager as host.",
    "audit_unavailable": "The audit trail cannot record, so no action is run; tell a person.",
}

#: Attributes of errors that are copied into ``details``.
_DETAIL_ATTRIBUTES = ("problems", "suggestions", "reference", "reason")

_EXCERPT_SKIP = frozenset({"stdout", "stderr", "lines", "containers", "results"})
_EXCERPT_TEXT_MAX = 200


def error_type(exc: OperatorError) -> str:
    """Return the envelope type of ``exc``."""
    for klass in type(exc).__mro__:
        if klass in ERROR_TYPES:
            return ERROR_TYPES[klass]
    return "error"


def ok_envelope(result: object) -> Envelope:
    """Return the envelope of a call that worked."""
    return {"ok": True, "result": result}


def error_envelope(exc: OperatorError) -> Envelope:
    """Return the envelope of a call that failed or was refused with ``exc``."""
    kind = error_type(exc)
    hint = AGENT_HINTS.get(kind)
    # A policy's faults quote its values already redacted (see policy.model); redacting
    # the whole message again would hide our own help text ("write 'key=value'").
    message = str(exc) if isinstance(exc, PolicyError) else redact_text(str(exc))
    error: ErrorBody = {"type": kind, "message": _join(message, hint)}
    details: dict[str, object] = {}
    if isinstance(exc, PolicyDenied):
        error["rule"] = exc.rule
        details.update(exc.details)
    for attribute in _DETAIL_ATTRIBUTES:
        if getattr(exc, attribute, None) is not None:
            details[attribute] = getattr(exc, attribute)
    # Details quote values too (a refused argument in ``problems``): redacted as text is.
    error["details"] = redact_value(details)
    return {"ok": False, "error": error}


def _join(message: str, hint: str | None) -> str:
    """Return ``message`` followed by ``hint`` as a second sentence."""
    if not hint:
        return message
    return f"{message if message.endswith(('.', '!', '?')) else message + '.'} {hint}"


def internal_envelope(exc: BaseException) -> Envelope:
    """Return the envelope of a bug: the call failed in operator-core itself."""
    return {
        "ok": False,
        "error": {
            "type": "internal",
            "message": f"internal error in operator-core ({type(exc).__name__}); the call "
            "may not have completed. Check with docker_inspect_container and tell a person.",
            "details": {},
        },
    }


def result_excerpt(result: object) -> dict[str, object] | None:
    """Return the small, redacted part of a result kept in the audit trail.

    Scalars and small mappings of scalars (``exit_code``, ``changed``, ``stop``...) stay;
    output (stdout, stderr, log lines) and listings do not.
    """
    if not isinstance(result, dict):
        return None
    excerpt: dict[str, object] = {}
    for key, value in result.items():
        if key in _EXCERPT_SKIP:
            continue
        if isinstance(value, dict) and all(_is_scalar(v) for v in value.values()):
            excerpt[key] = {k: _short(v) for k, v in value.items()}
        elif _is_scalar(value):
            excerpt[key] = _short(value)
    return redact_value(redact_labels(excerpt))


def _is_scalar(value: object) -> bool:
    """Whether ``value`` is a JSON scalar."""
    return value is None or isinstance(value, str | int | float | bool)


def _short(value: object) -> object:
    """Return ``value``, cut to a few hundred characters if it is a string."""
    return value[:_EXCERPT_TEXT_MAX] if isinstance(value, str) else value
