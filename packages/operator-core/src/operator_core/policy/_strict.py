"""The one base of the policy's models: strict, frozen, and faults raised as PolicyError.

``Strict`` refuses unknown keys and wrong types and is frozen once built; building one in
code (``Policy(...)``, ``SwarmRules(...)``) raises ``PolicyError`` naming every fault, as
loading a file does (``explain``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic._internal._model_construction import ModelMetaclass

from operator_core.audit.redact import redact_value
from operator_core.errors import PolicyError

__all__ = ["Strict", "explain"]


class _PolicyMeta(ModelMetaclass):
    """Makes ``Policy(...)`` built in code raise PolicyError, as loading a file does.

    Only direct construction passes here; nested models validated from a dict do not,
    so their faults are reported once, at their full location.
    """

    def __call__(cls, *args: Any, **kwargs: Any) -> Any:  # noqa: N805 (a metaclass method)
        try:
            return super().__call__(*args, **kwargs)
        except ValidationError as exc:
            raise PolicyError(explain(exc, f"{cls.__name__}(...)")) from None


class Strict(BaseModel, metaclass=_PolicyMeta):
    """Base of policy models: unknown keys and wrong types are errors; frozen once built."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def explain(exc: ValidationError, source: str) -> str:
    """Return one line per fault: where, what is wrong, what was given."""
    lines = [f"{source}: invalid policy ({exc.error_count()} problem(s)):"]
    for error in exc.errors(include_url=False):
        where = _location(error["loc"])
        message = str(error["msg"]).removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            message = "unknown key (check its spelling and section)"
        shown = (
            error["type"] not in ("missing", "extra_forbidden")
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
