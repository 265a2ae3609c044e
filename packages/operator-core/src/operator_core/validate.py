"""Checks on arguments, run before any docker process starts: public, one definition each.

The patterns and checks here are the one definition of what a Docker reference, a
signal, a grace period, an exec user, workdir or environment may hold. The executor, the
tool layer (``operator_core.tools.inputs``) and the command line all call them, so the
layers cannot drift apart. Each raises ``InvalidInput`` with a message for the caller
(never an ``env`` value).
"""

from __future__ import annotations

import re
import signal as _signal
from collections.abc import Mapping, Sequence

from operator_core.errors import InvalidInput
from operator_core.limits import (
    MAX_GRACE_S,
    MAX_LABEL_FILTER_LENGTH,
    MAX_LABEL_FILTERS,
    MAX_REPLICAS,
)
from operator_core.words import AVAILABILITIES, DESIRED_STATES

__all__ = [
    "CONTROL_CHARACTERS",
    "MARKER_KEY",
    "NAME_PART_PATTERN",
    "REFERENCE_PATTERN",
    "SIGRTMAX",
    "SIGRTMIN",
    "validate_availability",
    "validate_command",
    "validate_desired_state",
    "validate_env",
    "validate_env_key",
    "validate_grace",
    "validate_label_filters",
    "validate_node",
    "validate_reference",
    "validate_replicas",
    "validate_seconds",
    "validate_service",
    "validate_signal",
    "validate_user",
    "validate_workdir",
]

#: The characters of a Docker name; ids are hex, so they fit too. All are ASCII.
_NAME_CHARACTERS = "A-Za-z0-9_.-"
#: What a Docker name or id looks like: the engine's names match [a-zA-Z0-9][a-zA-Z0-9_.-]*.
#: There is no length limit in the engine, so none here. The first character can never be
#: "-", which is what keeps a reference from reaching the docker CLI as a flag. Anchored,
#: so it serves as a JSON Schema ``pattern`` as it is.
REFERENCE_PATTERN = rf"^[A-Za-z0-9][{_NAME_CHARACTERS}]*$"
#: Part of a name (a listing's name filter), which may begin with any name character.
NAME_PART_PATTERN = rf"^[{_NAME_CHARACTERS}]+$"
_REFERENCE = re.compile(REFERENCE_PATTERN, re.ASCII)

#: A control character (C0 or DEL): refused in paths and one-line texts.
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f]")

#: The variable that marks an exec'd command's processes, so a timed-out one can be found.
MARKER_KEY = "OPERATOR_CORE_EXEC_ID"
_MAX_ENV_LINE = 60_000
_MAX_ARG_BYTES = 128 * 1024
_MAX_COMMAND_BYTES = 256 * 1024
_ENV_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*", re.ASCII)
_USER = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.$-]*(?::[A-Za-z0-9_][A-Za-z0-9_.$-]*)?", re.ASCII)


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


def validate_seconds(
    value: object, what: str, *, maximum: float, integral: bool = False, positive: bool = False
) -> float:
    """Return ``value`` as seconds if it is a number in [0, maximum], else raise InvalidInput.

    ``positive`` refuses zero too: a deadline of 0 s would fail every call before it began.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"{what} must be a number of seconds, got {type(value).__name__}")
    if value != value or value < 0:  # NaN compares unequal to itself
        raise InvalidInput(f"{what} must be zero or more seconds, got {value!r}")
    if positive and value == 0:
        raise InvalidInput(f"{what} must be more than zero seconds, got {value!r}")
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


#: The real-time signals of a Linux engine (glibc keeps 32 and 33 for itself, and the
#: engine refuses them).
SIGRTMIN = int(getattr(_signal, "SIGRTMIN", 34))
SIGRTMAX = int(getattr(_signal, "SIGRTMAX", 64))
#: The engine's spellings reach RTMIN+15 and RTMAX-14; together they cover the range.
_RT_ABOVE_MIN = 15

# Every name the signal module knows, aliases (SIGIOT, SIGCLD, SIGPOLL) included.
_SIGNAL_NAMES = {
    name: number for name, number in _signal.Signals.__members__.items() if name.startswith("SIG")
}
_RT_NAME = re.compile(r"SIGRT(MIN|MAX)(?:([+-])(\d{1,2}))?", re.ASCII)
#: A signal number as text: ASCII digits only (str.isdigit also takes '²' and '٢').
_DIGITS = re.compile(r"\d+", re.ASCII)
#: More digits than this is no signal (and int() refuses past 4300 digits).
_MAX_DIGITS = 9


def _rt_name(number: int) -> str:
    """Return the engine's name for real-time signal ``number`` (``SIGRTMIN+3``)."""
    if number == SIGRTMIN:
        return "SIGRTMIN"
    if number == SIGRTMAX:
        return "SIGRTMAX"
    above = number - SIGRTMIN
    return f"SIGRTMIN+{above}" if above <= _RT_ABOVE_MIN else f"SIGRTMAX-{SIGRTMAX - number}"


def _signal_number(number: int, given: object) -> str:
    """Return the engine's name for signal ``number``, else raise InvalidInput."""
    if SIGRTMIN <= number <= SIGRTMAX:
        return _rt_name(number)
    try:
        return _signal.Signals(number).name
    except ValueError:
        raise InvalidInput(
            f"unknown signal number {given!r}; use 1 to 31 or a real-time signal "
            f"{SIGRTMIN} to {SIGRTMAX}"
        ) from None


def validate_signal(value: object) -> str:
    """Return a signal as the engine's name for it (``SIGTERM``), else raise InvalidInput.

    Accepts a name with or without the ``SIG`` prefix in any case (aliases such as
    ``SIGIOT`` included), a number (1 to 31, or a real-time one from ``SIGRTMIN`` to
    ``SIGRTMAX``: 34 to 64 on Linux), or a real-time name: ``SIGRTMIN``, ``SIGRTMAX``,
    ``SIGRTMIN+n``, ``SIGRTMAX-n``. A real-time signal comes back in the engine's own
    spelling (``40`` and ``SIGRTMAX-24`` both give ``SIGRTMIN+6``). Digits and names are
    ASCII only.
    """
    if isinstance(value, bool):
        raise InvalidInput("signal must be a name such as 'SIGTERM' or a number, got a bool")
    if isinstance(value, str) and _DIGITS.fullmatch(value.strip()):
        if len(value.strip()) > _MAX_DIGITS:
            raise InvalidInput(f"unknown signal number {value!r}")
        value = int(value.strip())
    if isinstance(value, int):
        return _signal_number(value, value)
    if not isinstance(value, str):
        raise InvalidInput(f"signal must be a name or a number, got {type(value).__name__}")
    if not value.isascii():
        # str.upper maps some non-ASCII letters (long s, dotless i) to ASCII ones.
        raise InvalidInput(f"unknown signal {value!r}; use a name such as SIGTERM or SIGHUP")
    name = value.strip().upper()
    name = name if name.startswith("SIG") else f"SIG{name}"
    realtime = _RT_NAME.fullmatch(name)
    if realtime is not None:
        base, sign, offset = realtime.groups()
        number = SIGRTMIN if base == "MIN" else SIGRTMAX
        if offset is not None:
            number = number + int(offset) if sign == "+" else number - int(offset)
        if not SIGRTMIN <= number <= SIGRTMAX:
            raise InvalidInput(
                f"real-time signal {value!r} is outside SIGRTMIN ({SIGRTMIN}) to "
                f"SIGRTMAX ({SIGRTMAX})"
            )
        return _rt_name(number)
    if name not in _SIGNAL_NAMES:
        raise InvalidInput(f"unknown signal {value!r}; use a name such as SIGTERM or SIGHUP")
    return _signal_number(int(_SIGNAL_NAMES[name]), value)


def validate_command(value: object) -> list[str]:
    """Return ``command`` as a list of arguments, else raise InvalidInput."""
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise InvalidInput(
            "command must be a list of arguments such as ['sh', '-c', 'echo hi'], "
            f"not a {type(value).__name__}"
        )
    words = list(value)
    if not words:
        raise InvalidInput("command is empty; give at least the program to run")
    for index, word in enumerate(words):
        if not isinstance(word, str):
            raise InvalidInput(f"command[{index}] must be a string, got {type(word).__name__}")
        if "\x00" in word or len(word.encode("utf-8", "surrogatepass")) > _MAX_ARG_BYTES:
            raise InvalidInput(f"command[{index}] has a NUL byte or is over 128 KiB")
    if not words[0].strip():
        raise InvalidInput("command[0] (the program) is blank")
    if sum(len(w.encode("utf-8", "surrogatepass")) for w in words) > _MAX_COMMAND_BYTES:
        raise InvalidInput("command is over 256 KiB in all")
    return words


def validate_user(value: object) -> str | None:
    """Return ``user`` (``name``, ``uid``, ``name:group``, ``uid:gid``) or None."""
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 256 or not _USER.fullmatch(value):
        raise InvalidInput(
            f"user must look like 'name', 'uid', 'name:group' or 'uid:gid', got {value!r}"
        )
    return value


def validate_workdir(value: object) -> str | None:
    """Return ``workdir`` if it is an absolute path without control characters, or None."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.startswith("/"):
        raise InvalidInput(f"workdir must be an absolute path such as '/app', got {value!r}")
    if CONTROL_CHARACTERS.search(value) or len(value) > 4096:
        raise InvalidInput("workdir has a control character or is over 4096 characters")
    return value


def validate_env_key(key: object) -> str:
    """Return ``key`` if it can name an ``env`` variable, else raise InvalidInput."""
    if not isinstance(key, str) or not _ENV_KEY.fullmatch(key):
        raise InvalidInput(
            f"env name {key!r} is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)"
        )
    if key == MARKER_KEY:
        raise InvalidInput(f"env name {MARKER_KEY} is reserved by operator-core")
    return key


def validate_env(value: object) -> dict[str, str]:
    """Return ``env`` as a dict; messages name a bad key, never a value."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput(f"env must be a mapping of names to values, got {type(value).__name__}")
    checked: dict[str, str] = {}
    for key, item in value.items():
        validate_env_key(key)
        if not isinstance(item, str):
            raise InvalidInput(f"env value of {key} must be a string, got {type(item).__name__}")
        if "\x00" in item or "\n" in item or "\r" in item:
            raise InvalidInput(f"env value of {key} has a NUL, newline or carriage return")
        try:
            size = len(key) + 1 + len(item.encode())
        except UnicodeEncodeError:
            raise InvalidInput(f"env value of {key} is not valid UTF-8 text") from None
        if size > _MAX_ENV_LINE:
            raise InvalidInput(f"env value of {key} is over {_MAX_ENV_LINE} bytes")
        checked[key] = item
    return checked


def validate_service(value: object) -> str:
    """Return ``value`` if it can name a swarm service (a name or an id), else InvalidInput."""
    return validate_reference(value, "service")


def validate_node(value: object) -> str:
    """Return ``value`` if it can name a swarm node (an id, id prefix or hostname)."""
    return validate_reference(value, "node")


def validate_replicas(value: object) -> int:
    """Return a replica count (a whole number, 0 to ``MAX_REPLICAS``), else raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"replicas must be a whole number, got {type(value).__name__}")
    if not 0 <= value <= MAX_REPLICAS:
        raise InvalidInput(f"replicas must be 0 to {MAX_REPLICAS}, got {value}")
    return value


def validate_availability(value: object) -> str:
    """Return a node availability (``active``, ``pause`` or ``drain``), else InvalidInput."""
    if not isinstance(value, str) or value not in AVAILABILITIES:
        allowed = ", ".join(AVAILABILITIES)
        raise InvalidInput(f"availability must be one of {allowed}; got {value!r}")
    return value


def validate_desired_state(value: object) -> str | None:
    """Return a task desired-state filter (or None), else raise InvalidInput."""
    if value is None:
        return None
    if not isinstance(value, str) or value not in DESIRED_STATES:
        allowed = ", ".join(DESIRED_STATES)
        raise InvalidInput(f"desired_state must be one of {allowed}; got {value!r}")
    return value


def _label_filter(value: object) -> str:
    """Return one label filter, ``key`` or ``key=value``, else raise InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput(f"label filter must be a string, got {type(value).__name__}")
    if value == "" or len(value) > MAX_LABEL_FILTER_LENGTH or CONTROL_CHARACTERS.search(value):
        raise InvalidInput(
            f"label filter must be 1 to {MAX_LABEL_FILTER_LENGTH} characters "
            "without control characters"
        )
    key = value.split("=", 1)[0]
    if key == "" or key != key.strip() or " " in key:
        raise InvalidInput(
            f"label filter {value!r} needs a key without spaces: 'key' or 'key=value'"
        )
    return value


def validate_label_filters(value: object) -> list[str]:
    """Return the label filters given as a list (or one string), all of which must match.

    The rule of every listing and search that filters by label (containers, services,
    the log search): at most ``MAX_LABEL_FILTERS`` filters, each ``key`` or ``key=value``
    with a key free of spaces. None is no filter.
    """
    if value is None:
        return []
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or len(items) > MAX_LABEL_FILTERS:
        raise InvalidInput(
            f"label must be a list of at most {MAX_LABEL_FILTERS} filters (key or key=value)"
        )
    return [_label_filter(item) for item in items]
