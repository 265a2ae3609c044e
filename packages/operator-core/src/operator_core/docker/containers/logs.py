"""Read a container's logs, bounded in lines, bytes and time.

How the bounds work (constants below):

* the engine itself tails (``docker logs --tail N``), so it never sends more than ``N`` log
  entries; it never follows;
* every line keeps its first ``MAX_LINE_BYTES`` bytes; the rest is counted, never held;
* the lines kept hold at most ``MAX_LOG_BYTES`` (timestamps included), the newest kept;
* the docker process is killed once ``MAX_READ_BYTES`` came through its pipes or the call's
  deadline is near, and what was read so far is returned with the reason.

So memory stays bounded for a container that wrote gigabytes or one enormous line.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from operator_core.docker._engine import cli as _engine
from operator_core.docker._engine.capture import (
    LineCollector,
    capture,
    cli_failure,
    docker_command,
)
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.state import Snapshot, snapshot
from operator_core.docker._engine.window import window
from operator_core.errors import InvalidInput
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
#: The most bytes read from the docker process before it is killed.
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
    window: list[str]
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


def _window(since: object, until: object) -> list[str]:
    """Return the ``--since``/``--until`` arguments, checking that since is before until."""
    return window(since, until, datetime.now(UTC)).args


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


def _read_logs(
    client: Any,
    ref: str,
    snap: Snapshot,
    plan: _Plan,
    until_at: float,
    cancel: threading.Event | None = None,
) -> tuple[list[_Line], set[str], int]:
    """Run ``docker logs`` for ``snap``; return the kept lines, what was cut, bytes read."""
    args = ["container", "logs", "--timestamps", "--tail", str(plan.engine_tail)]
    out = _collector(plan.stream in ("stdout", "both"), plan)
    err = _collector(plan.stream in ("stderr", "both"), plan)
    outcome = capture(
        docker_command(client, [*args, *plan.window, snap.id]),
        stdout=out,
        stderr=err,
        deadline_at=until_at,
        max_read=MAX_READ_BYTES,
        cancel=cancel,
    )
    if outcome.stopped is None and outcome.returncode != 0:
        raise cli_failure(outcome, "logs", container=ref)
    merged = _merge(out, err)
    reasons = _reasons(out, err, plan, len(merged))
    if outcome.stopped:
        reasons.add(outcome.stopped)
    kept = _select(merged, plan.tail_limit, reasons)
    if any(line[4] for line in kept):
        reasons.add("long_line")
    return kept, reasons, outcome.bytes_read


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
        the size of the returned text, ``bytes_read`` what the engine sent. Two docker
        processes: an inspect and the logs. Cancelled, the call kills ``docker logs`` at
        once and raises CancelledError.
        """
        ref = validate_reference(container_id)
        plan = _plan(tail, since, until, stream, timestamps)
        limit = self._call_deadline
        stop = threading.Event()

        def work(client: Any) -> LogsResult:
            began = time.monotonic()
            model = _engine.inspect_model(client, ref)
            config = getattr(model, "config", None)
            tty = bool(getattr(config, "tty", False))
            until_at = began + limit - min(LOG_MARGIN_S, limit / 4)
            snap = snapshot(model)
            read = _read_logs(client, ref, snap, plan, until_at, stop)
            return _result(snap, tty, plan, read)

        return await self._run(f"logs of {ref}", work, container=ref, on_cancel=stop.set)
