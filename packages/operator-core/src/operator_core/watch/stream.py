"""``watch``: follow every host's events and yield incidents as they happen.

One streamed ``GET /events`` per host on its API connection (``follow_events``; no
process, and leaving the watch closes each stream). When a host's stream ends (the
engine restarted or went away) the watch says so (a ``disconnected`` notice; deaths it was
holding are ``engine_stopped``), waits with exponential backoff, checks the engine answers,
reads its containers' current state (a container already unhealthy or looping is an incident
then), says ``reconnected`` and follows again from the last event it saw (``since``), so
the incidents of the outage window are replayed, not lost; events it already had are
skipped. While following, each engine is probed (``watch.probe``): a hung daemon is said
``unresponsive``, then ``responsive``. A host that is down never delays the others.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections import deque
from collections.abc import AsyncGenerator, Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Literal, TypedDict, cast

from operator_core._time import DURATION_UNITS_S, duration_parts, now_iso, utc_moment
from operator_core.errors import InvalidInput, OperatorError
from operator_core.results import ContainerSummary, Event
from operator_core.watch.incidents import WATCHED_ACTIONS, Incident, IncidentDetector
from operator_core.watch.probe import (
    PROBE_EVERY_S,
    UNRESPONSIVE_AFTER_S,
    EngineProbe,
    ProbeVerdict,
)
from operator_core.watch.sources import Followed, WatchSource, followed_hosts

if TYPE_CHECKING:
    from operator_core.watch.recorder import EventRecorder

__all__ = [
    "DEFAULT_BACKOFF_MAX_S",
    "DEFAULT_BACKOFF_S",
    "Notice",
    "NoticeKind",
    "WatchOptions",
    "watch",
]

NoticeKind = Literal["connected", "disconnected", "reconnected", "unresponsive", "responsive"]
#: The first wait before following a host again.
DEFAULT_BACKOFF_S = 1.0
#: The longest wait between two attempts.
DEFAULT_BACKOFF_MAX_S = 30.0
#: Events remembered to skip what a replay sends again.
_REMEMBERED = 2000
#: How often held deaths and quiet loops are looked at, in seconds.
TICK_S = 0.25


class WatchOptions(TypedDict, total=False):
    """``watch``'s keyword options, for a caller that passes them on (``heal_watch``)."""

    since: str | None
    detector: IncidentDetector | None
    backoff_s: float
    backoff_max_s: float
    notices: bool
    sleep: Callable[[float], Awaitable[None]]
    recorder: EventRecorder | None
    probe_every_s: float
    unresponsive_s: float
    clock: Callable[[], float]
    tick_s: float


class Notice(TypedDict):
    """What happened to a host's event stream."""

    kind: NoticeKind
    host: str | None
    #: The engine's own ID (``engine_identity``), once it answered.
    engine_id: str | None
    time: str
    message: str
    #: Seconds until the next attempt (disconnected only).
    retry_in_s: float | None


class _Ended(TypedDict):
    """A host's stream ended (internal: the detector releases the deaths it held)."""

    ended: bool


class _State(TypedDict):
    """A host's containers as read at (re)connect (internal: for ``detector.current``)."""

    engine_id: str | None
    containers: list[ContainerSummary]


_Item = Event | Notice | _Ended | _State


def _unix(moment: str) -> str:
    """Return an event time (RFC 3339, nanoseconds) as ``seconds.nanoseconds`` for --since."""
    whole, _, fraction = moment.rstrip("Z").partition(".")
    seconds = int(utc_moment(whole + "+00:00").timestamp())
    return f"{seconds}.{(fraction or '0')[:9].ljust(9, '0')}"


def _start(since: object, now: datetime) -> str | None:
    """Return ``since`` as a unix time for ``--since``; InvalidInput when it names no moment.

    A duration (``10m``) is counted back from ``now`` once, so a reconnect before any
    event replays from the same moment, not from ten minutes before the reconnect.
    """
    if since is None:
        return None
    text = since.strip() if isinstance(since, str) else ""
    if re.fullmatch(r"\d{1,12}(?:\.\d{1,9})?", text, re.ASCII):
        return text
    parts = duration_parts(text)
    moment: datetime | None
    try:
        if parts is not None:
            ago = sum(amount * DURATION_UNITS_S[unit] for amount, unit in parts)
            moment = now - timedelta(seconds=ago)
        else:
            moment = utc_moment(text)
    except (ValueError, OverflowError):
        moment = None
    if moment is None or not text:
        raise InvalidInput(
            f"since {since!r} is neither an ISO 8601 time (2026-11-29T10:00:00Z), a "
            "duration before now (10m, 1h30m, 2d) nor a unix time"
        )
    return f"{max(moment.timestamp(), 0.0):.9f}"  # the engine knows nothing before 1970


#: Said when the engine no longer remembers the events from where a follow starts.
_GAP_LOST = (
    "the engine keeps only its newest 256 events, so incidents from before them are "
    "not replayed and may be missing"
)


def _iso(unix: float) -> str:
    """Return a unix time as RFC 3339 UTC with microseconds."""
    return f"{datetime.fromtimestamp(unix, UTC):%Y-%m-%dT%H:%M:%S.%f}Z"


class _Timing(TypedDict):
    """How a follower backs off and probes (injectable for tests)."""

    backoff: tuple[float, float]
    sleep: Callable[[float], Awaitable[None]]
    probe_every_s: float
    unresponsive_s: float
    clock: Callable[[], float]


class _HostFollower:
    """Follows one host's events forever, reconnecting, into a shared queue."""

    def __init__(
        self,
        host: str | None,
        executor: Followed,
        queue: asyncio.Queue[tuple[str | None, _Item]],
        since: str | None,
        timing: _Timing,
        recorder: EventRecorder | None = None,
    ) -> None:
        self.host, self.executor, self.queue = host, executor, queue
        self.since = since
        self.timing = timing
        #: The history hook (see ``_resume``); the engine's own ID is learnt in ``_probe``.
        self.recorder = recorder
        self.resumed = since is not None
        self.keys: deque[tuple[str, ...]] = deque(maxlen=_REMEMBERED)
        self.known: set[tuple[str, ...]] = set()
        self.gap_lost = False
        self.engine_id: str | None = None

    async def run(self) -> None:
        """Follow, and after each end wait, probe and follow again from the last event.

        The first follow starts from ``since`` or, without one, from the moment before the
        probe, so nothing that happens between "connected" and the stream's start is lost.
        """
        attempt, connected_before = 0, False
        while True:
            if self.since is None:
                self.since = f"{time.time():.9f}"
            reason = await self._probe()
            if reason is None:
                kind: NoticeKind = "reconnected" if connected_before else "connected"
                message = "following the engine's events"
                if self.gap_lost:
                    message += f"; {_GAP_LOST}"
                message += await self._read_state()
                await self._notice(kind, message)
                connected_before, attempt = True, 0
                await self._recording(start=True)
                reason = await self._follow_probed()
                await self._recording(start=False)
                await self.queue.put((self.host, _Ended(ended=True)))
            backoff_s, backoff_max_s = self.timing["backoff"]
            delay = min(backoff_s * 2**attempt, backoff_max_s)
            await self._notice("disconnected", reason, retry_in_s=delay)
            await self.timing["sleep"](delay)
            attempt += 1

    async def _probe(self) -> str | None:
        """Return why the engine does not answer a short bounded read, or None if it does.

        The read starts where the follow will, so ``gap_lost`` says whether the engine's
        memory (its newest 256 events, of every kind) still reaches back that far. The
        engine's identity is read too: every notice and incident carries its ID.
        """
        try:
            self.engine_id = (await self.executor.engine_identity())["engine_id"]
            await self._resume()
            start = min(float(self.since or time.time()), time.time() - 1)
            read = await self.executor.get_events(_iso(start), limit=1)
        except OperatorError as exc:
            return str(exc)
        self.gap_lost = "engine_buffer" in (read.get("truncation") or [])
        return None

    async def _resume(self) -> None:
        """With a recorder, the first time: follow from the history's cursor of this engine.

        Without a ``since`` of the caller's, a restarted watch follows from the newest
        event the history holds of this engine (not from "now"), and skips that event.
        """
        if self.recorder is None or self.resumed or self.engine_id is None:
            return
        self.resumed = True
        cursor = await self.recorder.resume(self.engine_id)
        if cursor is not None:
            self.since = cursor["since"]
            for key in cursor["keys"]:
                self._remember(tuple(key))

    async def _recording(self, *, start: bool) -> None:
        """Tell the recorder the stream started (from ``since``, unless the engine forgot)."""
        if self.recorder is None or self.engine_id is None:
            return
        if not start:
            await self.recorder.stopped(self.engine_id)
            return
        whole = not self.gap_lost and self.since is not None
        begin = float(self.since) if whole and self.since else time.time()
        await self.recorder.started(self.host, self.engine_id, begin)

    async def _read_state(self) -> str:
        """Queue the host's containers as they are now; return a note if they could not be read."""
        try:
            listed = await self.executor.list_containers(all=True)
        except OperatorError as exc:
            return f"; its containers' current state could not be read: {exc}"
        state = _State(engine_id=self.engine_id, containers=listed["containers"])
        await self.queue.put((self.host, state))
        return ""

    async def _follow_probed(self) -> str:
        """Follow while probing the engine; return why the stream ended."""
        probe = EngineProbe(
            lambda: self.executor.engine_identity(refresh=True),
            self._probe_notice,
            every_s=self.timing["probe_every_s"],
            silent_s=self.timing["unresponsive_s"],
            clock=self.timing["clock"],
        )
        probing = asyncio.create_task(probe.run())
        following = asyncio.create_task(self._follow())
        try:
            await asyncio.wait({probing, following}, return_when=asyncio.FIRST_COMPLETED)
            if probing.done():
                probing.result()  # the probe only ends by raising (its own bug): raise it
            return following.result()
        finally:
            for task in (probing, following):
                task.cancel()
            await asyncio.gather(probing, following, return_exceptions=True)

    async def _probe_notice(self, kind: ProbeVerdict, message: str) -> None:
        await self._notice(kind, message)

    async def _follow(self) -> str:
        """Follow the events from ``self.since`` until the stream ends; return why it ended."""
        types, actions = ["container"], list(WATCHED_ACTIONS)
        if self.recorder is not None:
            types = sorted({*types, *self.recorder.types})
            actions = sorted({*actions, *self.recorder.actions})
        stream = self.executor.follow_events(self.since, types=types, actions=actions)
        try:
            async with contextlib.aclosing(stream):
                async for event in stream:
                    await self._take(event)
        except OperatorError as exc:
            return str(exc)
        return "the event stream ended"

    async def _take(self, event: Event) -> None:
        """Queue ``event`` unless a replay sent it again; remember where to resume."""
        key = (event["time"], event["actor_id"], event["action"], event["detail"] or "")
        if key in self.known:
            return
        self._remember(key)
        self.since = _unix(event["time"])
        if self.recorder is not None and self.engine_id is not None:
            await self.recorder.record(self.host, self.engine_id, [event])
        await self.queue.put((self.host, event))

    def _remember(self, key: tuple[str, ...]) -> None:
        if len(self.keys) == self.keys.maxlen:
            self.known.discard(self.keys[0])
        self.keys.append(key)
        self.known.add(key)

    async def _notice(
        self, kind: NoticeKind, message: str, retry_in_s: float | None = None
    ) -> None:
        notice = Notice(
            kind=kind,
            host=self.host,
            engine_id=self.engine_id,
            time=now_iso(),
            message=message,
            retry_in_s=retry_in_s,
        )
        await self.queue.put((self.host, notice))


async def watch(
    source: WatchSource,
    *,
    since: str | None = None,
    detector: IncidentDetector | None = None,
    backoff_s: float = DEFAULT_BACKOFF_S,
    backoff_max_s: float = DEFAULT_BACKOFF_MAX_S,
    notices: bool = True,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    recorder: EventRecorder | None = None,
    probe_every_s: float = PROBE_EVERY_S,
    unresponsive_s: float = UNRESPONSIVE_AFTER_S,
    clock: Callable[[], float] = time.monotonic,
    tick_s: float = TICK_S,
) -> AsyncGenerator[Incident | Notice, None]:
    """Yield incidents (and, unless ``notices`` is false, host notices) as they happen.

    ``source`` is a ``DockerActionExecutor`` or a ``Fleet`` (every host followed at once;
    each incident and notice names its ``host``). ``since`` replays from that moment
    (``10m``, an ISO time or a unix time; a bad one is InvalidInput at the first
    iteration, before any host is followed) before following. ``detector`` holds the rules
    (default ``IncidentDetector()``); what its clock releases is looked at every
    ``tick_s``. Each followed engine is probed every ``probe_every_s`` and said
    ``unresponsive`` after ``unresponsive_s`` without an answer (``clock``: monotonic).
    ``recorder`` (a ``HistoryRecorder``) records every event received, per engine ID, and
    without ``since`` each host is followed from the recorder's cursor. Stops when the
    caller stops iterating.
    """
    if not 0 < backoff_s <= backoff_max_s <= 3600:
        raise InvalidInput("backoff must satisfy 0 < backoff_s <= backoff_max_s <= 3600")
    if not 0 < probe_every_s <= unresponsive_s <= 3600 or not 0 < tick_s <= 60:
        raise InvalidInput("probe timing must satisfy 0 < probe_every_s <= unresponsive_s")
    rules = detector or IncidentDetector()
    since = _start(since, datetime.now(UTC))
    queue: asyncio.Queue[tuple[str | None, _Item]] = asyncio.Queue(maxsize=1000)
    timing = _Timing(
        backoff=(backoff_s, backoff_max_s),
        sleep=sleep,
        probe_every_s=probe_every_s,
        unresponsive_s=unresponsive_s,
        clock=clock,
    )
    followers = [
        _HostFollower(host, executor, queue, since, timing, recorder)
        for host, executor in followed_hosts(source)
    ]
    engines = {follower.host: follower for follower in followers}
    tasks = [asyncio.create_task(follower.run()) for follower in followers]
    getter: asyncio.Future[tuple[str | None, _Item]] | None = None
    loop, last_due = asyncio.get_running_loop(), 0.0
    try:
        while True:
            if getter is None:
                getter = asyncio.ensure_future(queue.get())
            waiting: set[asyncio.Future[tuple[str | None, _Item]] | asyncio.Task[None]] = {
                getter,
                *tasks,
            }
            done, _ = await asyncio.wait(
                waiting, timeout=tick_s, return_when=asyncio.FIRST_COMPLETED
            )
            if (moment := loop.time()) - last_due >= tick_s:  # not once per event in a flood
                last_due = moment
                for incident in rules.due():
                    yield incident
            if not done:
                continue
            if getter not in done:
                # A follower only ends by raising (its own bug): raise it, never go quiet.
                next(task for task in tasks if task.done()).result()
            host, item = getter.result()
            getter = None
            for out in _judge(rules, host, engines[host].engine_id, item):
                if notices or "incident_id" in out:
                    yield out
    finally:
        for task in [*tasks, getter]:
            if task is not None:
                task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _judge(
    rules: IncidentDetector, host: str | None, engine_id: str | None, item: _Item
) -> list[Incident | Notice]:
    """Return what one queued item means: its incidents, or the notice itself."""
    if "actor_id" in item:
        return list(rules.feed(cast(Event, item), host, engine_id))
    if "ended" in item:
        return list(rules.ended(host))
    if "containers" in item:
        state = cast(_State, item)
        return list(rules.current(host, state["engine_id"], state["containers"]))
    return [item]
