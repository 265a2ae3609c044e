"""Read the engine's events in a window: what died, with which code, was OOM-killed, ...

``docker events`` follows forever unless it has an ``--until`` in the past, so a read here
always has one: the caller's, or now when none is given (a later ``until`` is cut to now,
and the result says so). One docker process per call (two for a filtered one: see
``EventActions.get_events`` for how it knows the engine may have forgotten events). The
engine sends the events oldest first; at most ``limit`` of the newest are kept
(``truncated`` says when more came), each JSON line is cut off at ``MAX_EVENT_LINE_BYTES``
and the process is killed once ``MAX_EVENT_READ_BYTES`` came or the call's deadline is near.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import threading
import time
from collections import deque
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from datetime import UTC, datetime
from typing import Any, cast

from operator_core.docker._engine import cli as _engine
from operator_core.docker._engine.capture import HeadTail, capture, cli_failure, docker_command
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.window import moment, window
from operator_core.errors import EngineError, EngineUnreachable, InvalidInput
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

#: The most bytes read from ``docker events`` before it is killed.
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
    """A followed ``docker events`` ended: the engine went away or the CLI failed."""


class _Events:
    """A sink that splits ``docker events`` output into lines and keeps the newest ones."""

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


def parse_event(raw: dict[str, Any]) -> Event:
    """Return the event ``docker events --format '{{json .}}'`` printed as ``raw``.

    The ``detail`` after an action's colon is redacted as the audit trail redacts text:
    an ``exec_start``'s is the command run (``mysql -pS3cret``).
    """
    actor = raw.get("Actor") or {}
    attributes = {str(k): str(v) for k, v in (actor.get("Attributes") or {}).items()}
    action, _, detail = str(raw.get("Action") or raw.get("status") or "").partition(":")
    nanos = raw.get("timeNano") or int(raw.get("time") or 0) * 1_000_000_000
    return Event(
        time=_iso_nano(int(nanos)),
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
) -> list[str]:
    """Return the ``--filter`` arguments for a read."""
    specs = [f"container={container}"] if container else []
    if service:
        specs.append(f"label=com.docker.swarm.service.name={service}")
    specs += [f"type={kind}" for kind in types] + [f"event={action}" for action in actions]
    return [word for spec in specs for word in ("--filter", spec)]


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
        prints only each event's time. ``exit_code`` is set where the engine gives one.
        One docker process; two for a filtered query or one with an ``until``.
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
        args = ["system", "events", "--format", "{{json .}}", *span.args]
        args += _filters(ref, named, kinds, wanted)
        probe = None
        if ref or named or kinds or wanted or until_text != now_text:
            probe = ["system", "events", "--format", "{{.TimeNano}}", *span.args[:2]]
            probe += ["--until", now_text]
        limit_s = self._call_deadline
        stop = threading.Event()

        def work(client: Any) -> EventsResult:
            until_mono = time.monotonic() + limit_s - min(EVENT_MARGIN_S, limit_s / 4)
            reasons: set[str] = set()
            sink = _read(client, args, keep, until_mono, stop, reasons)
            buffer = sink if probe is None else _read(client, probe, 1, until_mono, stop, reasons)
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

        return await self._run("events", work, on_cancel=stop.set)


def _read(
    client: Any,
    args: list[str],
    keep: int,
    until_mono: float,
    stop: threading.Event,
    reasons: set[str],
) -> _Events:
    """Run one bounded ``docker events`` read; add why it stopped early to ``reasons``."""
    sink, errors = _Events(keep), HeadTail(4096)
    outcome = capture(
        docker_command(client, args),
        stdout=sink,
        stderr=errors,
        deadline_at=until_mono,
        max_read=MAX_EVENT_READ_BYTES,
        cancel=stop,
    )
    if outcome.stopped is None and outcome.returncode != 0:
        raise cli_failure(outcome, "events")
    if outcome.stopped:
        reasons.add(outcome.stopped)
    return sink


def _oldest(line: bytes | None) -> str | None:
    """Return the time of an event line (its JSON, or only its TimeNano), or None."""
    if line is None:
        return None
    text = line.strip()
    if text.isdigit():
        return _iso_nano(int(text))
    return parse_event(json.loads(text))["time"]


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
        iterating (the docker process is then killed) or the stream ends, which raises
        EventStreamEnded (EngineUnreachable when the CLI said it reached no engine).
        ``since`` is passed to ``docker events --since`` as given (validated like a
        window bound when it is not a unix time such as ``1764410400.123456789``).
        """
        kinds = _choices(types, "types", EVENT_TYPES)
        wanted = _choices(actions, "actions", None)
        args = ["system", "events", "--format", "{{json .}}"]
        if since is not None:
            args += ["--since", _since_arg(since)]
        args += _filters(None, None, kinds, wanted)
        command = [str(word) for word in self._docker.client_config.docker_cmd] + args
        proc = await asyncio.create_subprocess_exec(
            *command,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            limit=_FOLLOW_LINE_LIMIT,
            start_new_session=True,
        )
        try:
            async for event in _read_follow(proc):
                yield event
        finally:
            await _end(proc)


def _since_arg(since: str) -> str:
    """Return ``since`` for ``docker events --since``: a unix time as is, else a window bound."""
    if re.fullmatch(r"\d{1,12}(?:\.\d{1,9})?", since, re.ASCII):
        return since
    return moment(since, "since", datetime.now(UTC))[0]


async def _read_follow(proc: asyncio.subprocess.Process) -> AsyncIterator[Event]:
    """Yield each event ``proc`` prints; raise EventStreamEnded when its output ends."""
    out, err = cast(asyncio.StreamReader, proc.stdout), cast(asyncio.StreamReader, proc.stderr)
    try:
        while line := await out.readline():
            if line.strip():
                yield parse_event(json.loads(line))
    except ValueError as exc:  # a line past the limit
        raise EventStreamEnded(f"an event line was over {_FOLLOW_LINE_LIMIT} bytes") from exc
    code = await proc.wait()
    tail = (await err.read(4096)).decode("utf-8", errors="replace").strip()
    reason = tail.splitlines()[-1] if tail else f"docker events exited with code {code}"
    if _engine.unreachable_line(tail) is not None:
        raise EngineUnreachable(f"the event stream ended: {reason}")
    raise EventStreamEnded(f"the event stream ended: {reason}")


async def _end(proc: asyncio.subprocess.Process) -> None:
    """Kill ``proc``'s process group if it still runs, and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(proc.wait(), 5)
