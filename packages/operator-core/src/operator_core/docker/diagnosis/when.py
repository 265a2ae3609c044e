"""A window bound as the Engine API takes it: unix seconds with nanoseconds.

The docker CLI turns ``--since 10m`` or an RFC 3339 time into a unix time before asking
the engine (``since``/``until`` of ``/events`` and the logs are parsed as
``seconds[.nanoseconds]``); ``api_time`` does the same with the moment
``_engine.window.moment`` already named, keeping the nanoseconds an ISO time gave.
"""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime

__all__ = ["api_time"]

_ISO_NANOS = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{9})Z", re.ASCII)


def api_time(text: str, at: datetime) -> str:
    """Return ``at`` as ``seconds.nanoseconds`` since the epoch.

    ``text`` is the bound as ``moment`` wrote it: when it is an ISO time with nine
    fraction digits, those digits are kept (a ``datetime`` holds only microseconds).
    """
    seconds = calendar.timegm(at.astimezone(UTC).utctimetuple())
    found = _ISO_NANOS.fullmatch(text)
    nanos = int(found.group(1)) if found else at.microsecond * 1000
    return f"{seconds}.{nanos:09d}"
