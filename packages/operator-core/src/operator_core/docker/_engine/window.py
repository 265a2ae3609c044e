"""The ``since``/``until`` window of a read (logs, events), checked once for every reader.

A bound is a ``datetime``, an ISO 8601 time (UTC when it has no offset) or a duration
before now (``10m``, ``1h30m``, ``45s``, ``2d``). ``window`` turns both bounds into the
docker CLI's ``--since``/``--until`` arguments and the moments they name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from operator_core._time import DURATION_UNITS_S, GO_UNITS, duration_parts, utc_moment
from operator_core.errors import InvalidInput

__all__ = ["Window", "moment", "window"]

_MAX_AGO = timedelta(days=36500)
_FRACTION = re.compile(r"[T ]\d\d:\d\d:\d\d\.(\d+)")


@dataclass(frozen=True)
class Window:
    """A checked window: the docker arguments and the moments named (None: unbounded)."""

    args: list[str]
    since: datetime | None
    until: datetime | None


def moment(value: object, what: str, now: datetime) -> tuple[str, datetime]:
    """Return the docker argument for a ``since``/``until`` value and the moment it names.

    A duration in Go's units goes to the engine as written, so it counts back on the
    engine's clock; one with days or weeks goes as seconds.
    """
    text = value.strip() if isinstance(value, str) else ""
    parts = duration_parts(text)
    if parts is not None:
        ago = sum(amount * DURATION_UNITS_S[unit] for amount, unit in parts)
        if ago > _MAX_AGO.total_seconds():
            raise InvalidInput(f"{what} {value!r} is more than a century ago")
        go_text = text if {unit for _, unit in parts} <= GO_UNITS else f"{ago:.0f}s"
        return go_text, now - timedelta(seconds=ago)
    if not isinstance(value, str | datetime):
        raise InvalidInput(f"{what} must be a string or a datetime, got {type(value).__name__}")
    try:
        named = utc_moment(value)
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{what} {value!r} is neither an ISO 8601 time (2026-11-29T10:00:00Z) "
            "nor a relative duration (10m, 1h30m, 45s, 2d)"
        ) from None
    found = _FRACTION.search(text)
    digits = found.group(1)[:9] if found else f"{named.microsecond:06d}"
    return f"{named:%Y-%m-%dT%H:%M:%S}.{digits.ljust(9, '0')}Z", named


def window(since: object, until: object, now: datetime) -> Window:
    """Return the checked window; ``since`` must be before ``until`` when both are given."""
    args: list[str] = []
    bounds: dict[str, datetime] = {}
    for what, value in (("since", since), ("until", until)):
        if value is not None:
            text, bounds[what] = moment(value, what, now)
            args += [f"--{what}", text]
    if len(bounds) == 2 and bounds["since"] >= bounds["until"]:
        raise InvalidInput(f"since ({since!r}) must be before until ({until!r})")
    return Window(args, bounds.get("since"), bounds.get("until"))
