"""The base of every policy model, and how a policy's faults are explained.

``Strict`` models refuse unknown keys and wrong types and are frozen once built; building
one in code (``SwarmRules(min_replicas=-1)``) raises ``PolicyError`` naming each fault, as
loading a file does (``policy_from_dict``). This module imports no other policy module, so
``model`` and ``swarm_rules`` both build on it without importing each other.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, ValidationError

from operator_core.audit.redact import redact_value
from operator_core.errors import PolicyError

__all__ = ["Strict", "check_labels", "explain", "parse_label"]


def parse_label(text: str) -> tuple[str, str | None]:
    """Return ``(key, value)`` of ``key=value`` or ``(key, None)`` of ``key``."""
    key, sep, value = text.partition("=")
    if not key.strip() or key != key.strip():
        raise ValueError(f"label {text!r} needs a key: write 'key' or 'key=value'")
    return key, (value if sep else None)


def check_labels(values: list[str]) -> list[str]:
    """Refuse labels that are not ``key`` or ``key=value``."""
    for text in values:
        parse_label(text)
    return values


class Strict(BaseModel):
    """Base of policy models: unknown keys and wrong types are errors; frozen once built.

    Built in code, a model raises PolicyError (not pydantic's ValidationError). Nested
    models validated from a dict do not pass through ``__init__`` (it is marked as the
    base one, so pydantic validates them in place), so their faults are reported once,
    at their full location, by the outermost model.
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    def __init__(self, /, **data: object) -> None:
        try:
            super().__init__(**data)
        except ValidationError as exc:
            hide = bool(self.model_config.get("hide_input_in_errors"))  # a sink's secrets
            raise PolicyError(explain(exc, f"{type(self).__name__}(...)", hide)) from None

    # pydantic calls a model's own __init__ for nested values unless it is marked as one
    # that only validates (as BaseModel.__init__ is): ours only translates the error.
    __init__.__pydantic_base_init__ = True  # type: ignore[attr-defined]


def explain(exc: ValidationError, source: str, hide_inputs: bool = False) -> str:
    """Return one line per fault: where, what is wrong, what was given (unless hidden)."""
    lines = [f"{source}: invalid policy ({exc.error_count()} problem(s)):"]
    for error in exc.errors(include_url=False):
        where = _location(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and section)"
        shown = (
            not hide_inputs
            and error["type"] not in ("missing", "extra_forbidden")
            and _scalar(error["input"])
            and error["loc"][:1] != ("alerts",)  # a sink's url and token are secrets
        )
        given = f" (got {redact_value(error['input'])!r})" if shown else ""
        lines.append(f"  - {where}: {_redacted(message, error['input'])}{given}")
    return "\n".join(lines)


def _redacted(message: str, given: object) -> str:
    """Return ``message`` with each value of ``given`` quoted in it replaced by its redaction.

    Only the values are redacted, never the help text around them, so the message stays
    readable ("write 'key' or 'key=value'" is ours, not a secret). PolicyError messages
    are therefore stored and shown as they are.
    """
    for value in given if isinstance(given, list) else [given]:
        if isinstance(value, str) and (clean := redact_value(value)) != value:
            message = message.replace(repr(value), repr(clean))
    return message


def _scalar(value: object) -> bool:
    """Whether ``value`` is short enough to quote in an error."""
    return isinstance(value, str | int | float | bool) or (
        isinstance(value, list) and len(repr(value)) <= 80
    )


def _location(loc: tuple[int | str, ...]) -> str:
    """Return ``("approval", "risks", 0)`` as ``approval.risks[0]``."""
    text = ""
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "(top level)"
