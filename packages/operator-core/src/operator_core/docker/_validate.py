"""Checks on arguments, run before any docker process starts."""

from __future__ import annotations

import re
import signal as _signal

from operator_core.errors import InvalidInput

__all__ = [
    "MAX_GRACE_S",
    "validate_grace",
    "validate_reference",
    "validate_seconds",
    "validate_signal",
]

# Docker names match [a-zA-Z0-9][a-zA-Z0-9_.-]* and ids are hex; both are ASCII. There is
# no length limit in the engine, so none here. The first character can never be "-",
# which is what keeps a reference from reaching the docker CLI as a flag.
_REFERENCE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*", re.ASCII)

#: A grace period longer than an hour is a mistake, not a plan.
MAX_GRACE_S = 3600


def validate_reference(value: object, what: str = "container") -> str:
    """Return ``value`` if it can name a Docker object, else raise InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} reference must be a string, got {type(value).__name__}")
    if value == "":
        raise InvalidInput(f"{what} reference is empty; give a name or an id")
    if value.startswith("-"):
        raise InvalidInput(f"{what} reference {value!r} starts with '-', which no name or id does")
    if _REFERENCE.fullmatch(value) is None:
        raise InvalidInput(
            f"{what} reference {value!r} has characters no Docker name or id contains; "
            "allowed: ASCII letters, digits, '_', '.', '-' (not first)"
        )
    return value


def validate_seconds(value: object, what: str, *, maximum: float, integral: bool = False) -> float:
    """Return ``value`` as seconds if it is a number in [0, maximum], else raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{what} must be a number of seconds, got {type(value).__name__}")
    if value != value or value < 0:  # NaN compares unequal to itself
        raise InvalidInput(f"{what} must be zero or more seconds, got {value!r}")
    if value > maximum:
        raise InvalidInput(f"{what} of {value!r}s is over the limit of {maximum:g}s")
    if integral and value != int(value):
        raise InvalidInput(f"{what} must be a whole number of seconds, got {value!r}")
    return float(value)


def validate_grace(value: object) -> int:
    """Return a stop grace period in whole seconds (0 to an hour), else raise InvalidInput."""
    return int(
        validate_seconds(value, "timeout (grace period)", maximum=MAX_GRACE_S, integral=True)
    )


_SIGNAL_NAMES = {s.name: s for s in _signal.Signals if not s.name.startswith("SIG_")}


def validate_signal(value: object) -> str:
    """Return a signal as the engine's name for it (``SIGTERM``), else raise InvalidInput.

    Accepts a name with or without the ``SIG`` prefix in any case, or a number.
    """
    if isinstance(value, bool):
        raise InvalidInput("signal must be a name such as 'SIGTERM' or a number, got a bool")
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int):
        try:
            return _signal.Signals(value).name
        except ValueError:
            raise InvalidInput(f"unknown signal number {value}") from None
    if not isinstance(value, str):
        raise InvalidInput(f"signal must be a name or a number, got {type(value).__name__}")
    name = value.strip().upper()
    name = name if name.startswith("SIG") else f"SIG{name}"
    if name not in _SIGNAL_NAMES:
        raise InvalidInput(f"unknown signal {value!r}; use a name such as SIGTERM or SIGHUP")
    return name
