"""Times as people and agents write them: ISO 8601 moments and durations before now."""

from __future__ import annotations

import re
from datetime import UTC, datetime

__all__ = ["DURATION_UNITS_S", "GO_UNITS", "duration_parts", "now_iso", "utc_moment"]

#: Seconds per unit of a duration such as ``1h30m`` or ``2d``.
DURATION_UNITS_S = {
    "ns": 1e-9,
    "us": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 7 * 86400.0,
}
#: The units Go's ``time.ParseDuration`` (and so the docker CLI) understands.
GO_UNITS = frozenset({"ns", "us", "ms", "s", "m", "h"})

_UNIT = "|".join(sorted(DURATION_UNITS_S, key=len, reverse=True))
_DURATION = re.compile(rf"(?:\d+(?:\.\d+)?(?:{_UNIT}))+", re.ASCII)
_PART = re.compile(rf"(\d+(?:\.\d+)?)({_UNIT})", re.ASCII)


def duration_parts(text: str) -> list[tuple[float, str]] | None:
    """Return the (amount, unit) parts of a duration like ``1h30m``, or None if it is not one."""
    if not _DURATION.fullmatch(text):
        return None
    return [(float(amount), unit) for amount, unit in _PART.findall(text)]


def utc_moment(value: str | datetime) -> datetime:
    """Return an ISO 8601 time (UTC when it has no offset) as an aware UTC datetime.

    Raises ValueError (or OverflowError) when ``value`` is not such a time.
    """
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value.strip())
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def now_iso() -> str:
    """Return the wall clock as RFC 3339 UTC (``...Z``)."""
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")
