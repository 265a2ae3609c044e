"""``HistoryStore``: the events the watch received, kept after the engine forgets them.

An engine keeps only its newest 256 events. The watch records what it follows (container
create/start/restart/die/oom/kill/stop/destroy/health/pause/update, service and node
events: ``RECORDED_TYPES`` x ``RECORDED_ACTIONS``) into the SQLite file
``Settings.history_db``, with:

* the engine each came from, keyed by the engine's own ID (``engine_identity``), never by
  how it was reached; each event is stored once (a replay, or two watches, add nothing);
* the intervals during which the watch was recording (start, last sign of life, end): a
  reader knows which spans the history covers and where it has gaps. A watch that dies
  leaves its interval ending at its last heartbeat, ``ALIVE_MARGIN_S`` back (the time an
  event may take to reach it);
* the resume cursor per engine: the newest stored event (``cursor``), from which a
  restarted watch follows again instead of from "now";
* attributes redacted like every stored string (labels that look secret included:
  ``redact_label_map``), each distinct set stored once.

Retention (``operator_core.audit.retention``): events past the age or row bound go, and the
intervals are cut to what is left. All I/O runs on the store's own worker thread.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict, TypeVar, Unpack

from operator_core.audit.labels import redact_label_map
from operator_core.audit.retention import CUTOFF_SQL, PRUNE_CHUNK, Bound, PruneResult, cutoffs
from operator_core.errors import HistoryError
from operator_core.results import Event
from operator_core.watch import history_sql as sql
from operator_core.watch.history_sql import EventFilters

__all__ = [
    "ALIVE_MARGIN_S",
    "RECORDED_ACTIONS",
    "RECORDED_TYPES",
    "Cursor",
    "EngineStatus",
    "HistoryRead",
    "HistoryStore",
    "Span",
    "iso_ns",
    "ns_of",
]

T = TypeVar("T")

#: The kinds of object whose events the watch records.
RECORDED_TYPES = ("container", "service", "node")
#: The actions recorded (of those types): what says how a container or service fared.
RECORDED_ACTIONS = (
    "create",
    "start",
    "restart",
    "die",
    "oom",
    "kill",
    "stop",
    "destroy",
    "health_status",
    "pause",
    "unpause",
    "update",
    "remove",
)
#: A dead watch's interval ends this long before its last heartbeat.
ALIVE_MARGIN_S = 2.0
#: An interval left open by a watch silent for this long is a dead watch's.
_STALE_S = 600.0
_NS = 1_000_000_000


class Span(TypedDict):
    """A stretch of time (RFC 3339 UTC, nanoseconds)."""

    since: str
    until: str


class Cursor(TypedDict):
    """Where a restarted watch follows an engine again from."""

    #: The newest stored event's time as ``docker events --since`` takes it.
    since: str
    time: str
    #: The stream's dedupe keys of the events at that time (time, actor, action, detail).
    keys: list[tuple[str, str, str, str]]


class EngineStatus(TypedDict):
    """What the store holds of one engine (``operator history status``); times ISO 8601."""

    engine_id: str
    host: str | None
    events: int
    oldest: str | None
    newest: str | None
    #: When the first recording still kept began, and the last one was known alive.
    recording_since: str | None
    alive: str | None


class HistoryRead(TypedDict):
    """What the store holds of one engine in a window."""

    events: list[Event]
    #: How many matched (``events`` keeps the newest ``limit``).
    seen: int
    #: The recording intervals, cut to the window and merged.
    spans: list[Span]


def ns_of(moment: str) -> int:
    """Return an event time (RFC 3339, up to nanoseconds, UTC) as nanoseconds."""
    whole, _, fraction = moment.rstrip("Z").partition(".")
    seconds = int(datetime.fromisoformat(whole).replace(tzinfo=UTC).timestamp())
    return seconds * _NS + int((fraction or "0")[:9].ljust(9, "0"))


def iso_ns(nanos: int) -> str:
    """Return nanoseconds since the epoch as RFC 3339 UTC with nine digits."""
    seconds, rest = divmod(nanos, _NS)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{rest:09d}Z"


def _dedupe(event: Event) -> int:
    """Return the 64-bit key telling an event from others of its engine at its time."""
    text = "\0".join((event["type"], event["actor_id"], event["action"], event["detail"] or ""))
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class HistoryStore:
    """The event history in the SQLite file at ``path`` (created, with its directory)."""

    def __init__(self, path: str | Path, *, clock: Callable[[], float] = time.time) -> None:
        self.path = Path(path)
        self._clock = clock
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="history-sqlite")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(sql.SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            self._worker.shutdown(wait=False)
            raise HistoryError(f"cannot open the history store {self.path}: {exc}") from exc

    # --- recording (the watch) ----------------------------------------------------------

    async def open_interval(self, host: str | None, engine_id: str, start: float) -> int:
        """Start a recording interval of ``engine_id`` at ``start`` (unix s); return its id."""
        start_ns = int(start * _NS)
        alive_ns = max(start_ns, int(self._clock() * _NS))
        return await self._off(lambda: self._open(host, engine_id, start_ns, alive_ns))

    async def record(
        self, host: str | None, engine_id: str, events: Sequence[Event], interval: int | None
    ) -> None:
        """Store ``events`` (redacted; each once) and mark ``interval`` alive, in one commit."""
        rows = [_row(event) for event in events]
        alive = self._alive_ns()
        await self._off(lambda: self._write(host, engine_id, rows, interval, alive))

    async def heartbeat(self, intervals: Sequence[int]) -> None:
        """Mark the open ``intervals`` alive now."""
        alive = self._alive_ns()
        marks = [(alive, interval) for interval in intervals]
        await self._off(lambda: self._db.executemany(sql.ALIVE, marks))

    async def close_interval(self, interval: int) -> None:
        """End ``interval`` now: the stream ended, so everything before now was received."""
        end = int(self._clock() * _NS)
        await self._off(lambda: self._db.execute(sql.CLOSE, (end, end, interval)))

    async def cursor(self, engine_id: str) -> Cursor | None:
        """Return where to follow ``engine_id`` again from (None: it was never recorded)."""
        return await self._off(lambda: self._cursor(engine_id))

    # --- reading ------------------------------------------------------------------------

    async def read(
        self, engine_id: str, since: str, until: str, *, limit: int, **filters: Unpack[EventFilters]
    ) -> HistoryRead:
        """Return the stored events of ``engine_id`` in [since, until] and the spans covered.

        ``filters``: ``container`` (name, id or a 6+ character id prefix), ``service``,
        ``types``, ``actions``, as ``get_events`` takes them.
        """
        window = (ns_of(since), ns_of(until))
        return await self._off(lambda: self._read(engine_id, window, limit, filters))

    def status(self) -> list[EngineStatus]:
        """Return each engine's engine_id, host, events, oldest, newest and last interval."""
        rows = self._guarded(lambda: self._db.execute(sql.STATUS).fetchall())
        return [
            EngineStatus(
                engine_id=str(engine_id),
                host=host,
                events=int(events),
                oldest=_iso_or_none(oldest),
                newest=_iso_or_none(newest),
                recording_since=_iso_or_none(since),
                alive=_iso_or_none(alive),
            )
            for engine_id, host, events, oldest, newest, since, alive in rows
        ]

    # --- retention ----------------------------------------------------------------------

    async def prune(self, bound: Bound, *, now: float | None = None) -> PruneResult:
        """Remove the events past ``bound`` (see ``operator_core.audit.retention``), off the loop.

        One chunk per turn of the worker thread, so the watch's writes go between chunks.
        """
        at = self._clock() if now is None else now
        removed, finished = 0, False
        while not finished:
            removed_now, kept, finished = await self._off(lambda: self._prune(bound, at, chunks=1))
            removed += removed_now
        return self._pruned(bound, (removed, kept))

    def prune_now(self, bound: Bound, now: float | None = None) -> PruneResult:
        """Remove the events past ``bound`` at ``now``; cut the intervals to what is left."""
        at = self._clock() if now is None else now
        removed, kept, _ = self._guarded(lambda: self._prune(bound, at))
        return self._pruned(bound, (removed, kept))

    def _pruned(self, bound: Bound, counts: tuple[int, int]) -> PruneResult:
        return PruneResult(
            store="history",
            path=str(self.path),
            bound=bound.describe(),
            removed=counts[0],
            kept=counts[1],
            exported=None,
        )

    async def close(self) -> None:
        """Close the database and stop the worker thread (after pending writes)."""
        await asyncio.to_thread(self.close_now)

    def close_now(self) -> None:
        """Close without an event loop; pending writes finish first."""
        self._worker.shutdown(wait=True)
        self._guarded(self._db.close)

    # --- on the worker thread -----------------------------------------------------------

    def _alive_ns(self) -> int:
        return int((self._clock() - ALIVE_MARGIN_S) * _NS)

    def _engine(self, engine_id: str, host: str | None) -> int:
        self._db.execute(sql.ADD_ENGINE, (engine_id, host))
        if host is not None:
            self._db.execute(sql.ENGINE_HOST, (host, engine_id))
        return int(self._db.execute(sql.ENGINE_KEY, (engine_id,)).fetchone()[0])

    def _open(self, host: str | None, engine_id: str, start_ns: int, alive_ns: int) -> int:
        with self._transaction():
            engine = self._engine(engine_id, host)
            cursor = self._db.execute(sql.OPEN, (engine, host, start_ns, alive_ns))
            return int(cursor.lastrowid or 0)

    def _write(
        self,
        host: str | None,
        engine_id: str,
        rows: list[_Row],
        interval: int | None,
        alive: int,
    ) -> None:
        with self._transaction():
            engine = self._engine(engine_id, host)
            attrs: dict[bytes, int] = {}
            for *event, digest, attributes in rows:
                if digest not in attrs:
                    self._db.execute(sql.ADD_ATTRS, (digest, attributes))
                    attrs[digest] = int(self._db.execute(sql.ATTRS_KEY, (digest,)).fetchone()[0])
                self._db.execute(sql.ADD_EVENT, (engine, *event, attrs[digest]))
            if interval is not None:
                self._db.execute(sql.ALIVE, (alive, interval))

    def _cursor(self, engine_id: str) -> Cursor | None:
        """The newest stored event; with none, the last moment a recording vouches for.

        A watch that recorded for a while and saw no event still knows that nothing
        happened until then: its successor follows from there, not from "now".
        """
        newest = self._db.execute(sql.NEWEST, (engine_id,)).fetchone()
        if newest is None or newest[0] is None:
            alive = self._db.execute(sql.NEWEST_ALIVE, (engine_id,)).fetchone()
            if alive is None or alive[0] is None:
                return None
            at = int(alive[0])
            return Cursor(since=f"{at // _NS}.{at % _NS:09d}", time=iso_ns(at), keys=[])
        at = int(newest[0])
        moment = iso_ns(at)
        keys = [
            (moment, actor, action, detail)
            for actor, action, detail in self._db.execute(sql.AT_TIME, (engine_id, at))
        ]
        return Cursor(since=f"{at // _NS}.{at % _NS:09d}", time=moment, keys=keys)

    def _read(
        self, engine_id: str, window: tuple[int, int], limit: int, filters: EventFilters
    ) -> HistoryRead:
        where, params = sql.event_filter(engine_id, window, filters)
        seen = int(self._db.execute(sql.COUNT + where, params).fetchone()[0])
        rows = self._db.execute(sql.SELECT + where + sql.NEWEST_FIRST, [*params, limit])
        events = [_event(row) for row in rows]
        events.reverse()
        spans = self._db.execute(sql.SPANS, (engine_id, window[1], window[0])).fetchall()
        return HistoryRead(events=events, seen=seen, spans=_merged(spans, window))

    def _prune(self, bound: Bound, now: float, chunks: int | None = None) -> tuple[int, int, bool]:
        nth = None
        if bound.max_rows is not None:
            row = self._db.execute(sql.NTH_NEWEST, (bound.max_rows,)).fetchone()
            nth = None if row is None else int(row[0])  # ns: a float would round it
        params = cutoffs(now, bound, nth).params(_NS)
        where = CUTOFF_SQL.format(t="time_ns")
        removed, done, finished = 0, 0, False
        while chunks is None or done < chunks:
            with self._transaction():
                count = self._db.execute(
                    sql.PRUNE.format(where=where), (*params, PRUNE_CHUNK)
                ).rowcount
            removed, done = removed + count, done + 1
            if count < PRUNE_CHUNK:
                finished = True
                break
        with self._transaction():
            if removed:
                boundary = int(max(params[0], params[1] + 1))
                self._db.execute(sql.DROP_SPANS, (boundary, int((now - _STALE_S) * _NS)))
                self._db.execute(sql.CUT_SPANS, (boundary, boundary, boundary))
            if finished:  # a label set no event uses any more goes too
                self._db.execute(sql.DROP_ATTRS)
            kept = int(self._db.execute("SELECT count(*) FROM history_events").fetchone()[0])
        return removed, kept, finished

    def _transaction(self) -> sql.Transaction:
        return sql.Transaction(self._db)

    async def _off(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the worker thread, under the lock, errors as HistoryError."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._guarded, work)

    def _guarded(self, work: Callable[[], T]) -> T:
        """Run ``work`` under the lock; the file's faults become HistoryError, our bugs stay."""
        with self._lock:
            try:
                return work()
            except sqlite3.ProgrammingError:
                raise
            except sqlite3.Error as exc:
                raise HistoryError(f"history store {self.path}: {exc}") from exc


#: An event's columns for ``ADD_EVENT`` (time, key, type, action, detail, actor id and
#: name, exit code), then its attributes' digest and JSON.
_Row = tuple[int, int, str, str, str | None, str, str | None, int | None, bytes, str]


def _row(event: Event) -> _Row:
    """Return an event's columns for ``ADD_EVENT``, then its attributes' digest and JSON."""
    attributes = json.dumps(redact_label_map(event["attributes"]), sort_keys=True)
    digest = hashlib.blake2b(attributes.encode(), digest_size=16).digest()
    return (
        ns_of(event["time"]),
        _dedupe(event),
        event["type"],
        event["action"],
        event["detail"],
        event["actor_id"],
        event["actor_name"],
        event["exit_code"],
        digest,
        attributes,
    )


def _iso_or_none(nanos: int | None) -> str | None:
    """Return a stored time (ns) as ISO 8601, None when there is none."""
    return None if nanos is None else iso_ns(int(nanos))


def _event(row: Sequence[Any]) -> Event:
    """Return the event a ``SELECT`` row holds."""
    when, kind, action, detail, actor, name, code, attributes = row
    return Event(
        time=iso_ns(int(when)),
        type=kind,
        action=action,
        detail=detail,
        actor_id=actor,
        actor_name=name,
        exit_code=code,
        attributes=json.loads(attributes),
    )


def _merged(spans: list[tuple[int, int]], window: tuple[int, int]) -> list[Span]:
    """Return ``spans`` (ns) cut to ``window`` and merged where they touch, oldest first."""
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        start, end = max(start, window[0]), min(end, window[1])
        if start > end:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return [Span(since=iso_ns(a), until=iso_ns(b)) for a, b in merged]
