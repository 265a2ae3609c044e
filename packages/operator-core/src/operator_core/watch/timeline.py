"""``get_events`` over the engine and the watch's history: what happened, and how sure.

The tool, the CLI command and the MCP server read events through ``HistoryEvents``: the
engine's window (``DockerActionExecutor.get_events``, unchanged) merged with what the
watch recorded of that engine (``HistoryStore``, by the engine's own ID), each event once.
Every answer says where its events came from and whether part of the window may lack some:

* ``sources``: the engine, with the span it vouches for (the whole window, or from the
  oldest event it still held when its 256-event memory had rotated past the window's
  start, or up to the last event read when the read was cut short), and the history with
  its recording spans in the window;
* ``gaps``: the parts of the window no source vouches for, and ``may_be_missing`` (true
  when there are any). The history vouches only for what it records
  (``RECORDED_TYPES`` x ``RECORDED_ACTIONS``): a query for other kinds, or for every kind
  (no ``types`` and ``actions``), still gets the history's events, but its gaps are the
  engine's alone;
* ``engine_buffer`` stays in ``truncation`` only while a gap remains.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypedDict, cast

from operator_core.limits import DEFAULT_EVENT_LIMIT
from operator_core.results import EngineIdentity, Event, EventsResult
from operator_core.watch.history import (
    RECORDED_ACTIONS,
    RECORDED_TYPES,
    HistoryRead,
    HistoryStore,
    Span,
    iso_ns,
    ns_of,
)

if TYPE_CHECKING:  # the protocol only: the watch does not load the runner
    from operator_core.runner.executor import ContainerExecutor

__all__ = [
    "EventSource",
    "FleetHistoryEvents",
    "HistoryEvents",
    "TimelineResult",
    "merge",
    "open_history",
    "with_history",
]


class EventSource(TypedDict):
    """Where some of an answer's events came from, and the spans that source vouches for."""

    source: Literal["engine", "history"]
    spans: list[Span]
    #: Events of this source in the window (before duplicates were dropped).
    count: int


class TimelineResult(EventsResult):
    """``get_events``' answer: the engine's fields, plus where events came from."""

    sources: list[EventSource]
    gaps: list[Span]
    may_be_missing: bool


def open_history(path: Path) -> HistoryStore | None:
    """Return the history store at ``path`` when a watch has made one, else None."""
    return HistoryStore(path) if path.is_file() else None


class _Identified(Protocol):
    """An executor's ``engine_identity`` as a fleet's takes it too (``host=``)."""

    async def engine_identity(self, **host: str) -> EngineIdentity:
        """Return the identity of the engine (at ``host``, in a fleet)."""
        ...


class HistoryEvents:
    """An executor whose ``get_events`` merges the engine's window with the history.

    ``history`` is a store, or the path of one: then it is opened at the first
    ``get_events`` (when a watch has made the file), so no other call touches it, and
    ``close_history`` closes it.
    """

    def __init__(self, inner: ContainerExecutor, history: HistoryStore | Path | None) -> None:
        self._inner = inner
        self._path = history if isinstance(history, Path) else None
        self._store = history if isinstance(history, HistoryStore) else None
        self._opened: HistoryStore | None = None

    async def close_history(self) -> None:
        """Close the store this wrapper opened from its path, if it did."""
        if self._opened is not None:
            opened, self._opened = self._opened, None
            await opened.close()

    def _history(self) -> HistoryStore | None:
        """Return the store, opening it from the path the first time (None: no file)."""
        if self._store is None and self._path is not None:
            self._store = self._opened = open_history(self._path)
            self._path = None
        return self._store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def get_events(
        self,
        since: str | datetime,
        until: str | datetime | None = None,
        container: str | None = None,
        service: str | None = None,
        types: list[str] | None = None,
        actions: list[str] | None = None,
        limit: int = DEFAULT_EVENT_LIMIT,
        **host: str,
    ) -> TimelineResult:
        """Return the engine's events of the window merged with the history's (see module)."""
        engine = await self._inner.get_events(
            since, until, container, service, types, actions, limit, **host
        )
        read: HistoryRead | None = None
        store = self._history()
        if store is not None:
            identity = await cast("_Identified", self._inner).engine_identity(**host)
            read = await store.read(
                identity["engine_id"],
                engine["since"],
                engine["until"],
                limit=limit,
                container=container,
                service=service,
                types=types,
                actions=actions,
            )
        return merge(engine, read, limit, recorded=_recorded(types, actions))


class FleetHistoryEvents(HistoryEvents):
    """``HistoryEvents`` around a ``FleetExecutor``: every call names its host."""

    routes_hosts = True


def with_history(executor: ContainerExecutor, history: HistoryStore | Path | None) -> HistoryEvents:
    """Return ``executor`` with ``get_events`` answered from the engine and ``history``."""
    if getattr(type(executor), "routes_hosts", False) is True:
        return FleetHistoryEvents(executor, history)
    return HistoryEvents(executor, history)


def _recorded(types: list[str] | None, actions: list[str] | None) -> bool:
    """Whether the history records every kind of event the query asks for."""
    return (
        bool(types and actions)
        and set(types or ()) <= set(RECORDED_TYPES)
        and set(actions or ()) <= set(RECORDED_ACTIONS)
    )


def _key(event: Event) -> tuple[str, str, str, str, str]:
    return (event["time"], event["type"], event["actor_id"], event["action"], event["detail"] or "")


def merge(
    engine: EventsResult, read: HistoryRead | None, limit: int, *, recorded: bool
) -> TimelineResult:
    """Return ``engine``'s answer with ``read``'s events added once, sources and gaps said.

    ``recorded``: the query asks only for kinds the history records, so its spans count
    against the gaps.
    """
    window = (ns_of(engine["since"]), ns_of(engine["until"]))
    engine_span = _engine_span(engine, window)
    sources = [EventSource(source="engine", spans=[_span(*engine_span)], count=engine["count"])]
    merged = {_key(event): event for event in engine["events"]}
    covered = [engine_span]
    if read is not None and (read["spans"] or read["events"]):
        sources.append(
            EventSource(source="history", spans=read["spans"], count=len(read["events"]))
        )
        for event in read["events"]:
            merged.setdefault(_key(event), event)
        if recorded:
            covered += [(ns_of(s["since"]), ns_of(s["until"])) for s in read["spans"]]
    events = sorted(merged.values(), key=_key)
    extra = len(events) - engine["count"]
    reasons = set(engine["truncation"])
    if len(events) > limit:
        events = events[-limit:]
        reasons.add("limit")
    gaps = _gaps(window, covered)
    if not gaps:
        reasons.discard("engine_buffer")
    return TimelineResult(
        since=engine["since"],
        until=engine["until"],
        until_clamped=engine["until_clamped"],
        events=events,
        count=len(events),
        seen=engine["seen"] + extra,
        truncated=bool(reasons),
        truncation=sorted(reasons),
        engine_oldest=engine.get("engine_oldest"),
        sources=sources,
        gaps=[_span(*gap) for gap in gaps],
        may_be_missing=bool(gaps),
    )


def _engine_span(engine: EventsResult, window: tuple[int, int]) -> tuple[int, int]:
    """Return the part of the window the engine's answer vouches for (ns)."""
    start, end = window
    reasons = engine["truncation"]
    oldest = engine.get("engine_oldest")
    if "engine_buffer" in reasons:
        start = max(start, ns_of(oldest)) if oldest else end
    if {"deadline", "read_cap"} & set(reasons):
        last = engine["events"][-1]["time"] if engine["events"] else None
        end = ns_of(last) if last else start
    return start, max(start, end)


def _gaps(window: tuple[int, int], covered: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return the parts of ``window`` that no span of ``covered`` covers (ns, oldest first)."""
    gaps, at = [], window[0]
    for start, end in sorted(covered):
        if start > at:
            gaps.append((at, min(start, window[1])))
        at = max(at, end)
        if at >= window[1]:
            break
    if at < window[1]:
        gaps.append((at, window[1]))
    return [(a, b) for a, b in gaps if b > a]


def _span(start: int, end: int) -> Span:
    return Span(since=iso_ns(start), until=iso_ns(end))
