"""Read the engine's JSON answers field by field, without ``Any``.

The API's documents are ``dict[str, object]``; these helpers read one field as the type
it should be and give a neutral value (an empty object, None) where the engine left it
out or sent null, as the engine does for empty maps (``Labels: null``).
"""

from __future__ import annotations

import re
from datetime import datetime

__all__ = ["engine_time", "flag", "number", "obj", "objects", "strings", "text"]

_FRACTION = re.compile(r"\.(\d+)")


def obj(value: object) -> dict[str, object]:
    """Return ``value`` if it is a JSON object, else an empty one."""
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def objects(value: object) -> list[dict[str, object]]:
    """Return the objects of a JSON array (other items skipped); empty if not an array."""
    if not isinstance(value, list):
        return []
    return [obj(item) for item in value if isinstance(item, dict)]


def text(value: object) -> str | None:
    """Return ``value`` as a string, None when null or absent (a number is written out)."""
    if value is None or isinstance(value, dict | list):
        return None
    return str(value)


def strings(value: object) -> dict[str, str]:
    """Return a JSON object of strings (labels, options); empty when null."""
    return {key: str(item) for key, item in obj(value).items() if item is not None}


def flag(value: object) -> bool:
    """Return a JSON boolean (absent or null: false)."""
    return value is True


def number(value: object) -> int | None:
    """Return a JSON integer, None when absent or not a number."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def engine_time(value: object) -> datetime | None:
    """Return an engine timestamp (RFC 3339, nanoseconds) as an aware datetime, or None.

    Fractions are cut to microseconds; an unreadable or absent time is None. The
    engine's "never" (year 1) is returned as it is: ``state.iso`` reads it as None.
    """
    raw = text(value)
    if not raw:
        return None
    raw = _FRACTION.sub(lambda m: "." + m.group(1)[:6].ljust(6, "0"), raw, count=1)
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        return None
