"""Read the engine's events in a window: what died, with which code, was OOM-killed, ...

``GET /events`` follows forever unless it has an ``until`` in the past, so a read here
always has one: the caller's, or now when none is given (a later ``until`` is cut to now,
and the result says so). One request per call (two for a filtered one: see
``EventActions.get_events`` for how it knows the engine may have forgotten events). The
engine sends the events oldest first; at most ``limit`` of the newest are kept
(``truncated`` says when more came), each JSON line is cut off at ``MAX_EVENT_LINE_BYTES``
and the stream is closed once ``MAX_EVENT_READ_BYTES`` came or the call's deadline is near.
``follow_events`` is one streamed ``GET /events`` per followed engine: no process.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime

from operator_core.docker._engine.api import EngineClient, Params
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.fields import number, obj
from operator_core.docker._engine.window import moment, window
from operator_core.docker.diagnosis.reading import as_stdout, close_stream, pump
from operator_core.docker.diagnosis.when import api_time
from operator_core.errors import EngineError, InvalidInput
from operator_core.limits import DEFAULT_EVENT_LIMIT, MAX_EVENT_LIMIT
from operator_core.redaction import redact_text
from operator_core.results import Event, EventsResult
from operator_core.validate import validate_reference
from operator_core.words import EVENT_TYPES

__all__ = [
    "EventActions",
    "EventStreamEnded",
    "FollowActions",
    "parse_event",
]

#: The most bytes read from ``GET /events`` before the stream is closed.
MAX_EVENT_READ_BYTES = 32 * 1024 * 1024
#: An event line longer than this (labels can be long) is dropped and counted.
MAX_EVENT_LINE_BYTES = 64 * 1024
#: The most actions one call may filter on.
MAX_ACTIONS = 32
#: Time kept back from the call's deadline to return what was read.
EVENT_MARGIN_S = 2.0
#: The events a Docker engine keeps in memory for a window read: its newest 256 of any
#: kind. A read that got as many may have lost older events of its window.
ENGINE_EVENT_BUFFER = 256
#: Events that may reach the engine's memory between the moment a read names as its end
#: (now) and the moment the engine answers: they push old events out, yet the read does
#: not return them. A read that got ENGINE_EVENT_BUFFER minus this many may have lost some.
ENGINE_BUFFER_MARGIN = 32

_ACTION = re.compile(r"[a-z_]{1,40}", re.ASCII)


class EventStreamEnded(EngineError):
    """A followed event stream ended: the engine closed it or sent what is not an event."""


class _Events:
    """A sink that splits ``GET /events``' JSON lines and keeps the newest ones."""

    def __init__(self, limit: int) -> None:
        self.kept: deque[bytes] = deque(maxlen=limit)
        #: The first whole line: the oldest event the engine still held in the window.
        self.first: bytes | None = None
        self.seen = 0
        self.too_long = 0
        self._partial = bytearray()
        self._skipping = False

    def feed(self, data: bytes) -> None:
        """Take the next piece of the stream."""
        start = 0
        while (end := data.find(b"\n", start)) >= 0:
            self._extend(data[start:end])
            self._end_line()
            start = end + 1
        self._extend(data[start:])

    def close(self) -> None:
        """Take the end of the stream."""
        self._end_line()

    def _extend(self, piece: bytes) -> None:
        """Add to the line under way, or drop it once it is too long."""
        if self._skipping:
            return
        self._partial += piece
        if len(self._partial) > MAX_EVENT_LINE_BYTES:
            self.too_long += 1
            self._skipping = True
            self._partial.clear()

    def _end_line(self) -> None:
        """Keep the finished line (unless it was dropped for its length)."""
        if not self._skipping and self._partial.strip():
            self.seen += 1
            if self.first is None:
                self.first = bytes(self._partial)
            self.kept.append(bytes(self._partial))
        self._partial.clear()
        self._skipping = False


def _iso_nano(nanos: int) -> str:
    """Return RFC 3339 UTC with nine digits for nanoseconds since the epoch."""
    seconds, rest = divmod(nanos, 1_000_000_000)
    return f"{datetime.fromtimestamp(seconds, UTC):%Y-%m-%dT%H:%M:%S}.{rest:09d}Z"


def _exit_code(attributes: dict[str, str]) -> int | None:
    """Return the ``exitCode`` attribute as a number, None when absent or not one."""
    value = attributes.get("exitCode")
    return int(value) if value is not None and value.lstrip("-").isdigit() else None


def parse_event(raw: Mapping[str, object]) -> Event:
    """Return the event the engine sent as ``raw`` (one JSON object of ``GET /events``).

    The ``detail`` after an action's colon is redacted as the audit trail redacts text:
    an ``exec_start``'s is the command run (``mysql -pS3cret``). A time that is not a
    number counts as none (the epoch).
    """
    actor = obj(raw.get("Actor"))
    attributes = {str(k): str(v) for k, v in obj(actor.get("Attributes")).items()}
    action, _, detail = str(raw.get("Action") or raw.get("status") or "").partition(":")
    nanos = number(raw.get("timeNano")) or (number(raw.get("time")) or 0) * 1_000_000_000
    return Event(
        time=_iso_nano(nanos),
        type=str(raw.get("Type") or ""),
        action=action.strip(),
        detail=redact_text(detail.strip()) or None,
        actor_id=str(actor.get("ID") or raw.get("id") or ""),
        actor_name=attributes.get("name"),
        exit_code=_exit_code(attributes),
        attributes=attributes,
    )


def _limit(value: object) -> int:
    """Return ``limit`` if it is a whole number in [1, MAX_EVENT_LIMIT], else raise."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput(f"limit must be a whole number of events, got {type(value).__name__}")
    if not 1 <= value <= MAX_EVENT_LIMIT:
        raise InvalidInput(f"limit must be from 1 to {MAX_EVENT_LIMIT}, got {value}")
    return value


def _choices(value: object, what: str, allowed: Sequence[str] | None) -> list[str]:
    """Return a list of distinct filter words, each allowed (or shaped like an action)."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidInput(f"{what} must be a list of strings, got {type(value).__name__}")
    if len(value) > MAX_ACTIONS:
        raise InvalidInput(f"{what} takes at most {MAX_ACTIONS} entries, got {len(value)}")
    words: list[str] = []
    for item in value:
        word = item.strip().lower() if isinstance(item, str) else None
        ok = word is not None and (word in allowed if allowed else _ACTION.fullmatch(word))
        if not ok or word is None:
            hint = f"one of {', '.join(allowed)}" if allowed else "a word such as die or oom"
            raise InvalidInput(f"{what} entry {item!r} is not {hint}")
        if word not in words:
            words.append(word)
    return words


def _filters(
    container: str | None, service: str | None, types: list[str], actions: list[str]
) -> dict[str, list[str]]:
    """Return the ``filters`` of a read (a key's values: any of them; keys: all)."""
    found: dict[str, list[str]] = {}
    if container:
        found["container"] = [container]
    if service:
        found["label"] = [f"com.docker.swarm.service.name={service}"]
    if types:
        found["type"] = list(types)
    if actions:
        found["event"] = list(actions)
    return found


def _service_filter(service: str | None) -> str | None:
    """Return the swarm service name to filter on, validated like a container name."""
    return None if service is None else validate_reference(service, "service")


class EventActions(ExecutorCore):
    """Read the engine's events in a window; never follows."""

    async def get_events(
        self,
        since: str | datetime,
        until: str | datetime | None = None,
        container: str | None = None,
        service: str | None = None,
        types: list[str] | None = None,
        actions: list[str] | None = None,
        limit: int = DEFAULT_EVENT_LIMIT,
    ) -> EventsResult:
        """Return the engine's events from ``since`` to ``until`` (default: now), oldest first.

        ``since``/``until`` take an ISO 8601 time or a duration before now (``1h``,
        ``30m``, ``2d``); an ``until`` after now is cut to now (``until_clamped``), since
        events never follow. ``container`` keeps the events of one container (name or
        id), ``service`` those of a swarm service's containers, ``types`` (container,
        network, ...) and ``actions`` (die, oom, kill, health_status, restart, start,
        stop, ...) the kinds asked for. At most ``limit`` of the newest events are
        returned; ``seen`` counts all that came and ``truncated`` says when some were
        dropped (``truncation``: ``limit``, ``long_line``, ``read_cap``, ``deadline``).

        The engine answers from the newest ``ENGINE_EVENT_BUFFER`` (256) events it keeps,
        of every kind, up to now. The rule, the same for every query: when the engine
        holds that many events from ``since`` to now (less ``ENGINE_BUFFER_MARGIN``, 32:
        events that came while the read started took places in its memory, but end after
        the read's end), it may have forgotten older ones of the window
        (``engine_buffer``), and ``engine_oldest`` is the oldest it still held.
        A filtered query, or one that ends before now, cannot tell from its own answer (a
        filter shows fewer events though many were lost; the buffer also holds the events
        after ``until``), so it makes a second, unfiltered read from ``since`` to now that
        keeps only the first event and counts the rest. ``exit_code`` is set where the
        engine gives one. One request; two for a filtered query or one with an ``until``.
        """
        now = datetime.now(UTC)
        if since is None:
            raise InvalidInput("since is required: events are read from a moment, e.g. 1h")
        ref = None if container is None else validate_reference(container)
        named = _service_filter(service)
        kinds = _choices(types, "types", EVENT_TYPES)
        wanted = _choices(actions, "actions", None)
        keep = _limit(limit)
        until_text, until_at = moment(until, "until", now) if until is not None else ("", now)
        clamped = until_at > now
        now_text = moment(now, "until", now)[0]
        if clamped or until is None:
            until_text, until_at = now_text, now
        span = window(since, until_text, now)
        begin = api_time(span.args[1], span.since) if span.since is not None else ""
        end = api_time(until_text, until_at)
        filters = _filters(ref, named, kinds, wanted)
        params: Params = {"since": begin, "until": end}
        if filters:
            params = {**params, "filters": filters}
        probe: Params | None = None
        if filters or until_text != now_text:
            probe = {"since": begin, "until": api_time(now_text, now)}
        limit_s = self._call_deadline

        async def work() -> EventsResult:
            loop = asyncio.get_running_loop()
            until_mono = loop.time() + limit_s - min(EVENT_MARGIN_S, limit_s / 4)
            reasons: set[str] = set()
            sink = await _read(self._api, params, keep, until_mono, reasons)
            buffer = sink
            if probe is not None:
                buffer = await _read(self._api, probe, 1, until_mono, reasons)
            if sink.seen > keep:
                reasons.add("limit")
            if sink.too_long:
                reasons.add("long_line")
            if buffer.seen >= ENGINE_EVENT_BUFFER - ENGINE_BUFFER_MARGIN:
                reasons.add("engine_buffer")
            events = [parse_event(json.loads(line)) for line in sink.kept]
            return EventsResult(
                since=_iso(span.since),
                until=_iso(until_at),
                until_clamped=clamped,
                events=events,
                count=len(events),
                seen=sink.seen,
                truncated=bool(reasons),
                truncation=sorted(reasons),
                engine_oldest=_oldest(buffer.first),
            )

        return await self._call("events", work)


async def _read(
    api: EngineClient, params: Params, keep: int, until_mono: float, reasons: set[str]
) -> _Events:
    """Make one bounded ``GET /events`` read; add why it stopped early to ``reasons``."""
    sink = _Events(keep)
    chunks = as_stdout(api.stream("GET", "/events", params))
    outcome = await pump(
        chunks, {"stdout": sink}, deadline_at=until_mono, max_read=MAX_EVENT_READ_BYTES
    )
    if outcome.stopped:
        reasons.add(outcome.stopped)
    return sink


def _oldest(line: bytes | None) -> str | None:
    """Return the time of an event line, or None."""
    if line is None:
        return None
    return parse_event(json.loads(line.strip()))["time"]


def _iso(value: datetime | None) -> str:
    """Return ``value`` as RFC 3339 UTC."""
    return "" if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


#: The longest event line a follow reads; a longer one ends the stream (it is restarted).
_FOLLOW_LINE_LIMIT = 1024 * 1024


class FollowActions(ExecutorCore):
    """Follow the engine's events as they happen: the one unbounded read, for watching."""

    async def follow_events(
        self,
        since: str | None = None,
        *,
        types: list[str] | None = None,
        actions: list[str] | None = None,
    ) -> AsyncGenerator[Event, None]:
        """Yield the engine's events as they happen, from ``since`` (a docker time) on.

        Unlike every other read this one has no deadline: it lasts until the caller stops
        iterating (the stream is then closed: its connection, no process) or the engine
        ends the stream, which raises EventStreamEnded (EngineUnreachable when the engine
        cannot be reached). ``since`` is a unix time such as ``1764410400.123456789``,
        passed as is, or a window bound (``10m``, an ISO time), validated.
        """
        kinds = _choices(types, "types", EVENT_TYPES)
        wanted = _choices(actions, "actions", None)
        params: Params = {}
        if since is not None:
            params = {"since": _since_arg(since)}
        filters = _filters(None, None, kinds, wanted)
        if filters:
            params = {**params, "filters": filters}
        chunks = self._api.stream("GET", "/events", params, deadline=_NO_DEADLINE)
        try:
            async for event in _read_follow(chunks):
                yield event
        finally:
            await close_stream(chunks)


#: A followed stream's bound: none (the client's own default would end it).
_NO_DEADLINE = float("inf")


def _since_arg(since: str) -> str:
    """Return ``since`` as the engine takes it: a unix time as is, else a checked bound."""
    if re.fullmatch(r"\d{1,12}(?:\.\d{1,9})?", since, re.ASCII):
        return since
    now = datetime.now(UTC)
    text, at = moment(since, "since", now)
    return api_time(text, at)


async def _read_follow(chunks: AsyncIterator[bytes]) -> AsyncIterator[Event]:
    """Yield each event of the stream's JSON lines; raise EventStreamEnded at its end."""
    partial = bytearray()
    async for chunk in chunks:
        partial += chunk
        while (end := partial.find(b"\n")) >= 0:
            line = bytes(partial[:end])
            del partial[: end + 1]
            if line.strip():
                yield parse_event(json.loads(line))
        if len(partial) > _FOLLOW_LINE_LIMIT:
            raise EventStreamEnded(f"an event line was over {_FOLLOW_LINE_LIMIT} bytes")
    if partial.strip():
        yield parse_event(json.loads(bytes(partial)))
    raise EventStreamEnded("the event stream ended: the engine closed it")
