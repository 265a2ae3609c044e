"""Read a container's logs, bounded in lines, bytes and time.

How the bounds work (constants below):

* the engine itself tails (``GET /containers/{id}/logs?tail=N``), so it never sends more
  than ``N`` log entries; it never follows;
* every line keeps its first ``MAX_LINE_BYTES`` bytes; the rest is counted, never held;
* the lines kept hold at most ``MAX_LOG_BYTES`` (timestamps included), the newest kept;
* the stream is closed once ``MAX_READ_BYTES`` came through it or the call's deadline is
  near, and what was read so far is returned with the reason.

So memory stays bounded for a container that wrote gigabytes or one enormous line.
"""

from __future__ import annotations

import asyncio
import re
import time
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime

from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.capture import LineCollector
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.fields import flag, obj
from operator_core.docker._engine.state import Snapshot, from_json
from operator_core.docker._engine.window import window
from operator_core.errors import InvalidInput, OperationTimeout
from operator_core.limits import DEFAULT_TAIL, MAX_TAIL
from operator_core.results import LogLine, LogsResult
from operator_core.validate import validate_reference
from operator_core.words import STREAMS

__all__ = [
    "ENGINE_ENTRY_BYTES",
    "LOG_MARGIN_S",
    "MAX_LINE_BYTES",
    "MAX_LOG_BYTES",
    "MAX_READ_BYTES",
    "STAMP_WIDTH",
    "LogActions",
    "check_stream",
    "check_tail",
    "split_stamp",
]

#: The most bytes of log lines one call returns (timestamps included); the newest are kept.
MAX_LOG_BYTES = 2 * 1024 * 1024
#: The most bytes kept of one line; a longer line is cut and flagged.
MAX_LINE_BYTES = 8 * 1024
#: The most bytes read from the engine's stream before it is closed.
MAX_READ_BYTES = 64 * 1024 * 1024
#: Time kept back from the call's deadline to return what was read.
LOG_MARGIN_S = 2.0

#: The engine splits a line longer than this into several log entries (its copier's buffer).
ENGINE_ENTRY_BYTES = 16 * 1024
#: ``2026-11-29T10:00:00.123456789Z `` before each entry: RFC 3339 with nine digits, a space.
STAMP_WIDTH = 31
_STAMP = re.compile(rb"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)")


@dataclass(frozen=True)
class _Plan:
    """A validated logs request."""

    tail_requested: int
    tail_limit: int
    engine_tail: int
    stream: str
    window: dict[str, str]
    timestamps: bool


def check_tail(value: object) -> int:
    """Return ``tail`` if it is a whole number of lines, at least 1, else raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"tail must be a whole number of lines, got {type(value).__name__}")
    if value < 1:
        raise InvalidInput(f"tail must be at least 1 line, got {value}")
    return value


def check_stream(value: object) -> str:
    """Return ``stdout``, ``stderr`` or ``both``, else raise InvalidInput."""
    name = value.strip().lower() if isinstance(value, str) else None
    if name not in STREAMS:
        raise InvalidInput(f"stream must be one of {', '.join(STREAMS)}; got {value!r}")
    return name


def _window(since: object, until: object) -> dict[str, str]:
    """Return the ``since``/``until`` query (UNIX seconds), checking since is before until."""
    checked = window(since, until, datetime.now(UTC))
    found: dict[str, str] = {}
    for key, moment in (("since", checked.since), ("until", checked.until)):
        if moment is not None:
            found[key] = _unix(moment)
    return found


def _unix(moment: datetime) -> str:
    """Return ``moment`` as the API's ``seconds.nanoseconds`` UNIX time."""
    whole = int(moment.replace(microsecond=0).timestamp())
    return f"{whole}.{moment.microsecond:06d}000"


def _plan(tail: object, since: object, until: object, stream: object, stamps: object) -> _Plan:
    """Validate a logs request and decide how many entries to ask the engine for.

    ``both`` streams with ``tail`` up to the cap ask for exactly ``tail``. Otherwise the
    engine is asked for one entry more than the cap: it tails both streams together, so
    one stream's last lines may lie further back, and the extra entry tells whether
    anything older was left out.
    """
    want, which, window = check_tail(tail), check_stream(stream), _window(since, until)
    if not isinstance(stamps, bool):
        raise InvalidInput(f"timestamps must be true or false, got {type(stamps).__name__}")
    limit = min(want, MAX_TAIL)
    exact = which == "both" and want <= MAX_TAIL
    return _Plan(want, limit, limit if exact else MAX_TAIL + 1, which, window, stamps)


def _collector(keep: bool, plan: _Plan) -> LineCollector:
    """Return a collector for one stream (``keep`` false: count its lines, hold none)."""
    return LineCollector(
        max_lines=plan.tail_limit if keep else 0,
        max_bytes=MAX_LOG_BYTES,
        max_line=MAX_LINE_BYTES + STAMP_WIDTH,
        entry_size=ENGINE_ENTRY_BYTES,
        entry_overhead=STAMP_WIDTH,
    )


def split_stamp(raw: bytes) -> tuple[str | None, str]:
    """Return the engine's timestamp of a raw line (None if it has none) and its text."""
    stamp, space, rest = raw.partition(b" ")
    if not space or not _STAMP.fullmatch(stamp):
        stamp, rest = b"", raw
    text = rest.decode("utf-8", errors="replace").removesuffix("\r")
    return stamp.decode() or None, text


#: One kept line: (timestamp, stream, text, raw size, cut at MAX_LINE_BYTES).
_Line = tuple[str | None, str, str, int, bool]


def _merge(out: LineCollector, err: LineCollector) -> list[_Line]:
    """Return the kept lines of both streams in time order (stable for equal times)."""
    lines: list[_Line] = []
    for name, collector in (("stdout", out), ("stderr", err)):
        for raw, cut in collector.lines:
            stamp, text = split_stamp(raw)
            lines.append((stamp, name, text, len(raw), cut))
    lines.sort(key=lambda line: line[0] or "")
    return lines


def _select(lines: list[_Line], limit: int, reasons: set[str]) -> list[_Line]:
    """Return the newest ``limit`` lines within ``MAX_LOG_BYTES``, noting a byte cut."""
    lines = lines[-limit:]
    budget, first = MAX_LOG_BYTES, len(lines)
    while first > 0 and lines[first - 1][3] <= budget:
        first -= 1
        budget -= lines[first][3]
    if first > 0:
        reasons.add("byte_cap")
    return lines[first:]


def _reasons(out: LineCollector, err: LineCollector, plan: _Plan, found: int) -> set[str]:
    """Return why lines may be missing before the final selection.

    ``tail_cap``: the engine's window (one entry past the cap) was full and fewer lines
    than asked were found, so older ones exist that were not read.
    """
    reasons = {"byte_cap"} if out.dropped_for_bytes or err.dropped_for_bytes else set()
    window_full = out.entries + err.entries >= plan.engine_tail > plan.tail_limit
    if window_full and min(found, plan.tail_limit) < plan.tail_requested:
        reasons.add("tail_cap")
    return reasons


@dataclass
class _Tally:
    """The bytes read from a stream so far (kept when the read is cut short)."""

    bytes: int = 0


async def _pump(
    api: EngineClient,
    snap: Snapshot,
    plan: _Plan,
    tty: bool,
    sinks: tuple[dict[str, LineCollector], _Tally],
) -> str | None:
    """Feed the engine's log stream to the collectors; return why it was cut, or None."""
    params: dict[str, str | bool] = {
        "stdout": True,
        "stderr": True,
        "timestamps": True,
        "tail": str(plan.engine_tail),
        **plan.window,
    }
    collectors, tally = sinks
    frames = api.frames("GET", f"/containers/{snap.id}/logs", params, tty=tty)
    async with aclosing(frames):  # leaving early closes the stream at once
        async for name, data in frames:
            tally.bytes += len(data)
            collectors[name].feed(data)
            if tally.bytes > MAX_READ_BYTES:
                return "read_cap"
    return None


async def _read_logs(
    api: EngineClient, snap: Snapshot, plan: _Plan, tty: bool, seconds: float
) -> tuple[list[_Line], set[str], int]:
    """Read the logs of ``snap`` within ``seconds``; return the kept lines, what was cut, bytes."""
    out = _collector(plan.stream in ("stdout", "both"), plan)
    err = _collector(plan.stream in ("stderr", "both"), plan)
    tally = _Tally()
    try:
        async with asyncio.timeout(seconds):
            stopped = await _pump(api, snap, plan, tty, ({"stdout": out, "stderr": err}, tally))
    except OperationTimeout:
        raise
    except TimeoutError:
        stopped = "deadline"
    out.close()
    err.close()
    merged = _merge(out, err)
    reasons = _reasons(out, err, plan, len(merged))
    if stopped:
        reasons.add(stopped)
    kept = _select(merged, plan.tail_limit, reasons)
    if any(line[4] for line in kept):
        reasons.add("long_line")
    return kept, reasons, tally.bytes


def _result(
    snap: Snapshot, tty: bool, plan: _Plan, read: tuple[list[_Line], set[str], int]
) -> LogsResult:
    """Return the JSON-able result of a logs read."""
    kept, reasons, bytes_read = read
    lines: list[LogLine] = [
        {
            "timestamp": stamp if plan.timestamps else None,
            "stream": name,
            "text": text,
            "truncated": cut,
        }
        for stamp, name, text, _, cut in kept
    ]
    return {
        **snap.names(),
        "stream": plan.stream,
        "tty": tty,
        "lines": lines,
        "line_count": len(lines),
        "tail_limit": plan.tail_limit,
        "truncated": bool(reasons),
        "truncation": sorted(reasons),
        "bytes": sum(len(line[2].encode()) for line in kept),
        "bytes_read": bytes_read,
    }


class LogActions(ExecutorCore):
    """Read a container's logs, bounded in lines and bytes."""

    async def get_container_logs(
        self,
        container_id: str,
        tail: int = DEFAULT_TAIL,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        stream: str = "both",
        timestamps: bool = True,
    ) -> LogsResult:
        """Return the last ``tail`` lines a container wrote; never follows.

        ``tail`` is capped at ``MAX_TAIL``. ``since``/``until`` take an ISO 8601 time (UTC
        when it has no offset) or a duration before now (``10m``, ``1h30m``). ``stream`` is
        ``stdout``, ``stderr`` or ``both``; with ``both`` the two are interleaved in time
        order. Each line is ``{"timestamp", "stream", "text", "truncated"}``: ``timestamp``
        is the engine's RFC 3339 time (None when ``timestamps`` is false), ``stream`` the
        one it was written to, ``truncated`` true when it was cut at ``MAX_LINE_BYTES``.
        A container with a TTY has a single stream, reported as stdout (``tty`` true).

        The engine counts a line longer than 16 KiB as several entries, so the oldest line
        of a tail may begin inside such a line. ``truncated`` is true when anything was cut,
        with the reasons in ``truncation``: ``tail_cap`` (older lines beyond the cap),
        ``byte_cap`` (older lines beyond ``MAX_LOG_BYTES``), ``long_line``, ``read_cap`` or
        ``deadline`` (the read was stopped: the newest lines are missing). ``bytes`` is
        the size of the returned text, ``bytes_read`` what the engine sent. Two requests:
        an inspect and the logs. Cancelled, the call closes the logs stream at once and
        raises CancelledError.
        """
        ref = validate_reference(container_id)
        plan = _plan(tail, since, until, stream, timestamps)
        limit = self._limit(f"logs of {ref}", None)

        async def work() -> LogsResult:
            began = time.monotonic()
            data = await self._api.get_object(f"/containers/{ref}/json")
            tty = flag(obj(data.get("Config")).get("Tty"))
            left = began + limit - min(LOG_MARGIN_S, limit / 4) - time.monotonic()
            snap = from_json(data)
            read = await _read_logs(self._api, snap, plan, tty, left)
            return _result(snap, tty, plan, read)

        return await self._call(f"logs of {ref}", work, container=ref)
