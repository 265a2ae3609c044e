"""The watch's following, to the letter (issue 20's mutation goal for watch/stream.py).

test_watch.py tells the following's stories; these pin what the notices say (every field),
how ``since`` is read, the backoff's cap and reset, and the bounds of the watch's timing.
The engine is scripted; backoff sleeps are recorded, never slept; the wall clock is frozen.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from operator_core.docker.diagnosis.events import EventStreamEnded
from operator_core.errors import EngineUnreachable, InvalidInput
from operator_core.results import Event
from operator_core.watch import IncidentDetector, watch
from operator_core.watch.stream import _iso, _start, _unix

CID = "c" * 64
NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)
#: NOW as unix seconds.
T0 = 1795946400


def ev(action: str, second: float, *, code: int | None = None) -> Event:
    """Return a container event of ``web`` at ``second`` past 10:00:00."""
    whole, frac = divmod(round(second * 1e9), 10**9)
    return Event(
        time=f"2026-11-29T10:{whole // 60:02d}:{whole % 60:02d}.{frac:09d}Z",
        type="container",
        action=action,
        detail=None,
        actor_id=CID,
        actor_name="web",
        exit_code=code,
        attributes={"name": "web"},
    )


class Engine:
    """An executor whose streams are scripted: each follow yields a batch, then ends."""

    def __init__(self, batches: list[list[Event]], probes: list[bool]) -> None:
        self.batches, self.probes = batches, probes
        self.since: list[str | None] = []
        self.probed: list[str] = []
        self.follows: list[dict[str, Any]] = []
        self.listing_fails = False
        #: Whether a stream stays open after its batch.
        self.open_after = False
        #: Whether the engine's memory no longer reaches back to the probe's start.
        self.overrun = False
        #: Whether a stream ends quietly (no error) after its batch.
        self.clean_end = False
        self.refreshes: list[bool] = []
        self.listed_all: list[bool] = []
        self.limits: list[int] = []
        self.containers: list[dict[str, Any]] = []

    def engine_identity(self, *, refresh: bool = False) -> Awaitable[dict[str, Any]]:
        self.refreshes.append(refresh)
        return self._identity()

    async def _identity(self) -> dict[str, Any]:
        return {"engine_id": "ENGINE-1", "engine_name": "e1"}

    async def list_containers(self, all: bool = False) -> dict[str, Any]:
        self.listed_all.append(all)
        if self.listing_fails:
            raise EngineUnreachable("listing timed out")
        return {"containers": self.containers, "count": len(self.containers)}

    async def get_events(self, since: str, limit: int = 500) -> dict[str, Any]:
        self.probed.append(since)
        self.limits.append(limit)
        if self.probes and not self.probes.pop(0):
            raise EngineUnreachable("could not reach the Docker engine")
        return {"events": [], "truncation": ["engine_buffer"] if self.overrun else []}

    async def follow_events(self, since: str | None = None, **filters: Any) -> AsyncIterator[Event]:
        self.since.append(since)
        self.follows.append(filters)
        if not self.batches:
            await asyncio.Event().wait()  # the last stream stays open
        for event in self.batches.pop(0):
            yield event
        if self.open_after:
            await asyncio.Event().wait()
        if self.clean_end:
            return
        raise EventStreamEnded("the event stream ended: unexpected EOF")


async def collect(source: Any, count: int, sleeps: list[float], **options: Any) -> list[Any]:
    """Return the first ``count`` items the watch yields (frozen at NOW); record its sleeps."""

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    items: list[Any] = []

    async def take() -> None:
        options.setdefault("backoff_s", 1)
        options.setdefault("backoff_max_s", 4)
        async with contextlib.aclosing(watch(source, sleep=sleep, **options)) as stream:
            async for item in stream:
                items.append(dict(item))
                if len(items) == count:
                    return

    with time_machine.travel(NOW, tick=False), contextlib.suppress(TimeoutError):
        await asyncio.wait_for(take(), 30)  # a bound on a hang; the asserts say what came
    return items


# --- since ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "start"),
    [
        (None, None),
        ("1795946400", "1795946400"),
        (" 1795946400.123456789 ", "1795946400.123456789"),
        ("10m", f"{T0 - 600}.000000000"),
        ("1h30m", f"{T0 - 5400}.000000000"),
        ("2026-11-29T09:00:00Z", f"{T0 - 3600}.000000000"),
        ("1960-01-01T00:00:00Z", "0.000000000"),
    ],
)
def test_since_is_a_unix_time_a_duration_before_now_or_an_iso_time(
    since: str | None, start: str | None
) -> None:
    """Each form of ``since`` becomes the unix time the follow starts at (not before 1970)."""
    assert _start(since, NOW) == start


@pytest.mark.parametrize(
    "since",
    [
        "soon",
        "",
        "   ",
        "1234567890123",
        "1795946400.1234567891",
        "99999999999d",
        5,
        "\u0661\u0667\u0669\u0665",  # digits, but not ASCII ones
    ],
)
def test_a_since_naming_no_moment_is_refused_saying_what_is_taken(since: object) -> None:
    """Not a unix time (12 digits, 9 decimals at most), duration or ISO time: InvalidInput."""
    with pytest.raises(InvalidInput) as refused:
        _start(since, NOW)
    assert str(refused.value) == (
        f"since {since!r} is neither an ISO 8601 time (2026-11-29T10:00:00Z), a "
        "duration before now (10m, 1h30m, 2d) nor a unix time"
    )


def test_event_times_become_since_values_to_the_nanosecond() -> None:
    """An event's time is resumed from as seconds.nanoseconds (nine digits, cut beyond)."""
    assert _unix("2026-11-29T10:00:01Z") == f"{T0 + 1}.000000000"
    assert _unix("2026-11-29T10:00:01.5Z") == f"{T0 + 1}.500000000"
    assert _unix("2026-11-29T10:00:01.1234567891Z") == f"{T0 + 1}.123456789"
    assert _iso(T0 + 0.25) == "2026-11-29T10:00:00.250000Z"


# --- notices ----------------------------------------------------------------------------------


async def test_notices_say_host_engine_time_why_and_when_the_next_attempt_is() -> None:
    """connected: following; disconnected: the stream's end and the backoff before retrying."""
    engine = Engine([[]], probes=[True])
    items = await collect(engine, 2, [])
    assert items == [
        {
            "kind": "connected",
            "host": None,
            "engine_id": "ENGINE-1",
            "time": "2026-11-29T10:00:00Z",
            "message": "following the engine's events",
            "retry_in_s": None,
        },
        {
            "kind": "disconnected",
            "host": None,
            "engine_id": "ENGINE-1",
            "time": "2026-11-29T10:00:00Z",
            "message": "the event stream ended: unexpected EOF",
            "retry_in_s": 1,
        },
    ]


async def test_the_backoff_doubles_up_to_its_cap_and_starts_over_after_a_connect() -> None:
    """1, 2, 4, 4 (the cap) while the engine is down; after a connect it starts at 1 again."""
    engine = Engine([[]], probes=[False, False, False, False, True])
    sleeps: list[float] = []
    items = await collect(engine, 7, sleeps)
    assert [i["kind"] for i in items] == ["disconnected"] * 4 + [
        "connected",
        "disconnected",
        "reconnected",
    ]
    assert [i["retry_in_s"] for i in items[:4]] == [1, 2, 4, 4]
    assert items[5]["retry_in_s"] == 1
    assert sleeps[:5] == [1, 2, 4, 4, 1]
    assert items[0]["message"] == "could not reach the Docker engine"


async def test_a_connect_whose_listing_fails_says_so_and_follows_anyway() -> None:
    """The containers could not be read: the connected notice says why; events still come."""
    engine = Engine([[ev("die", 1, code=3)]], probes=[True])
    engine.listing_fails = True
    items = await collect(engine, 2, [])
    assert items[0]["message"] == (
        "following the engine's events; its containers' current state could not be read: "
        "listing timed out"
    )
    assert items[1]["kind"] == "died"


async def test_the_first_probe_reads_from_a_second_before_now() -> None:
    """Without since, the probe reads from a second before now, the follow from now."""
    engine = Engine([[]], probes=[True])
    await collect(engine, 1, [])
    assert engine.probed[0] == "2026-11-29T09:59:59.000000Z"
    assert engine.since[0] == f"{T0}.000000000"


async def test_without_notices_only_incidents_come() -> None:
    """notices=False: the connected and disconnected notices are left out."""
    engine = Engine([[ev("die", 1, code=3), ev("die", 2, code=4)]], probes=[True])
    items = await collect(engine, 2, [], notices=False)
    assert [(i["kind"], i["exit_code"]) for i in items] == [("died", 3), ("died", 4)]


async def test_the_follow_asks_the_engine_for_the_watched_container_actions() -> None:
    """Without a recorder: container events of the rules' actions only."""
    engine = Engine([[]], probes=[True])
    await collect(engine, 1, [])
    assert engine.follows[0] == {
        "types": ["container"],
        "actions": ["die", "oom", "health_status", "kill", "stop", "destroy", "start", "restart"],
    }


async def test_held_deaths_are_released_by_the_clock_while_the_stream_is_quiet() -> None:
    """A kill and a die, then nothing: the tick releases the held death after the hold."""
    engine = Engine([[ev("kill", 1), ev("die", 1.5, code=137)]], probes=[True])
    engine.open_after = True
    now = [float(T0)]
    rules = IncidentDetector(clock=lambda: now[0])

    def later() -> float:
        now[0] += 10
        return now[0]

    rules.clock = later
    items = await collect(engine, 2, [], detector=rules, tick_s=0.01)
    assert [(i["kind"], i.get("status")) for i in items] == [
        ("connected", None),
        ("stopped", "info"),
    ]


# --- the watch's own bounds ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"backoff_s": 1, "backoff_max_s": 1},
        {"backoff_s": 0.5, "backoff_max_s": 3600},
        {"probe_every_s": 5, "unresponsive_s": 5},
        {"probe_every_s": 5, "unresponsive_s": 3600},
        {"tick_s": 60},
    ],
)
async def test_timing_at_its_bounds_is_taken(options: dict[str, Any]) -> None:
    """Each bound itself is valid timing: the watch connects."""
    items = await collect(Engine([], probes=[True]), 1, [], **{"backoff_s": 1, **options})
    assert [i["kind"] for i in items] == ["connected"]


@pytest.mark.parametrize(
    ("options", "says"),
    [
        ({"backoff_s": 0}, "backoff must satisfy 0 < backoff_s <= backoff_max_s <= 3600"),
        ({"backoff_s": 5, "backoff_max_s": 4}, "backoff must satisfy"),
        ({"backoff_s": 1, "backoff_max_s": 3601}, "backoff must satisfy"),
        ({"probe_every_s": 0}, "probe timing must satisfy 0 < probe_every_s <= unresponsive_s"),
        ({"probe_every_s": 6, "unresponsive_s": 5}, "probe timing must satisfy"),
        ({"probe_every_s": 5, "unresponsive_s": 3601}, "probe timing must satisfy"),
        ({"tick_s": 0}, "probe timing must satisfy"),
        ({"tick_s": 61}, "probe timing must satisfy"),
    ],
)
async def test_timing_past_its_bounds_is_refused(options: dict[str, Any], says: str) -> None:
    """Timing that cannot work is InvalidInput before any host is followed."""
    engine = Engine([], probes=[])
    with pytest.raises(InvalidInput, match=says):
        await anext(watch(engine, **options))
    assert engine.since == []


async def test_a_fleet_source_is_followed_per_host_name() -> None:
    """A fleet: one follower per name, each notice naming its host and engine."""

    class Fleet:
        names = ("a", "b")

        def executor(self, name: str) -> Engine:
            return Engine([], probes=[True])

    items = await collect(Fleet(), 2, [])
    assert sorted((i["host"], i["kind"], i["engine_id"]) for i in items) == [
        ("a", "connected", "ENGINE-1"),
        ("b", "connected", "ENGINE-1"),
    ]


async def test_a_source_that_is_neither_is_refused_by_name() -> None:
    """Anything but an executor or a fleet: InvalidInput saying what watch takes."""
    with pytest.raises(InvalidInput, match="watch takes a DockerActionExecutor or a Fleet"):
        await anext(watch(object()))


async def test_an_unresponsive_notice_says_how_long_the_engine_was_silent() -> None:
    """The probe's verdict reaches the caller as a notice of the host, with its message."""
    ticks = iter(range(0, 10**6, 7))
    engine = Engine([], probes=[True])
    items = await collect(
        engine, 2, [], probe_every_s=1, unresponsive_s=5, clock=lambda: float(next(ticks))
    )
    assert items[1] == {
        "kind": "unresponsive",
        "host": None,
        "engine_id": "ENGINE-1",
        "time": "2026-11-29T10:00:00Z",
        "message": "the engine has not answered for 7s; its incidents may be delayed",
        "retry_in_s": None,
    }


async def test_a_connect_past_the_engines_memory_says_what_may_be_missing() -> None:
    """The engine no longer holds the start: the notice says its 256-event memory is short."""
    engine = Engine([], probes=[True])
    engine.overrun = True
    (item,) = await collect(engine, 1, [], since="1h")
    assert item["message"] == (
        "following the engine's events; the engine keeps only its newest 256 events, so "
        "incidents from before them are not replayed and may be missing"
    )
    assert True in engine.refreshes  # the probe asks afresh, not the cached identity


async def test_the_probe_reads_one_event_and_the_listing_holds_stopped_containers() -> None:
    """The probe is a short read (one event); the state read lists every container."""
    engine = Engine([], probes=[True])
    await collect(engine, 1, [])
    assert (engine.limits, engine.listed_all) == ([1], [True])


async def test_a_stream_that_ends_quietly_says_so() -> None:
    """No error from the stream: the disconnected notice says it ended."""
    engine = Engine([[]], probes=[True])
    engine.clean_end = True
    items = await collect(engine, 2, [])
    assert items[1]["message"] == "the event stream ended"


def unhealthy(cid: str = CID) -> dict[str, Any]:
    """Return a listing entry of an unhealthy running ``web``."""
    return {
        "id": cid,
        "container_id": cid,
        "name": "web",
        "status": "running",
        "health": "unhealthy",
        "restart_count": 0,
        "exit_code": None,
        "finished_at": None,
        "started_at": "2026-11-29T09:00:00Z",
        "labels": {},
    }


async def test_a_fleet_hosts_listing_and_stream_end_are_judged_as_that_hosts() -> None:
    """Incidents from a host's listing and from its stream's end carry its host and engine."""
    hosts = {"a": Engine([[ev("kill", 1), ev("die", 1.5, code=137)]], probes=[True])}
    hosts["a"].containers = [unhealthy()]

    class Fleet:
        names = ("a",)

        def executor(self, name: str) -> Engine:
            return hosts[name]

    items = await collect(Fleet(), 3, [])
    found = [(i["kind"], i["host"], i["engine_id"]) for i in items if "incident_id" in i]
    assert found == [("unhealthy", "a", "ENGINE-1"), ("engine_stopped", "a", "ENGINE-1")]


async def test_a_source_with_names_but_no_executor_is_one_executor() -> None:
    """Only a source with both ``names`` and ``executor`` is a fleet."""
    engine = Engine([], probes=[True])
    engine.names = ("x",)  # type: ignore[attr-defined]
    items = await collect(engine, 1, [])
    assert (items[0]["kind"], items[0]["host"]) == ("connected", None)


async def test_probe_times_are_utc_whatever_the_local_zone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The probe's read starts at a UTC time even where the machine's zone is not UTC."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    try:
        assert _iso(T0 + 0.25) == "2026-11-29T10:00:00.250000Z"
    finally:
        monkeypatch.undo()
        time.tzset()


class Tape:
    """A recorder that keeps each call with its host."""

    types: Sequence[str] = ("container",)
    actions: Sequence[str] = ("die",)

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def resume(self, engine_id: str) -> None:
        self.calls.append(("resume", engine_id))

    async def started(self, host: str | None, engine_id: str, start: float) -> None:
        self.calls.append(("started", host, engine_id))

    async def record(self, host: str | None, engine_id: str, events: Sequence[Event]) -> None:
        self.calls.append(("record", host, engine_id))

    async def stopped(self, engine_id: str) -> None:
        self.calls.append(("stopped", engine_id))


async def test_the_recorder_hears_the_host_and_is_asked_for_a_cursor_once() -> None:
    """A reconnect does not ask the history where to resume again; every call names the host."""
    tape = Tape()
    engine = Engine([[ev("die", 1, code=3)], []], probes=[True, True])

    class Fleet:
        names = ("a",)

        def executor(self, name: str) -> Engine:
            return engine

    items = await collect(Fleet(), 5, [], recorder=tape)
    assert [i["kind"] for i in items] == [
        "connected",
        "died",
        "disconnected",
        "reconnected",
        "disconnected",
    ]
    assert tape.calls[:5] == [
        ("resume", "ENGINE-1"),
        ("started", "a", "ENGINE-1"),
        ("record", "a", "ENGINE-1"),
        ("stopped", "ENGINE-1"),
        ("started", "a", "ENGINE-1"),
    ]


async def test_a_host_that_never_said_who_it_is_has_no_engine_id() -> None:
    """The identity read fails: the disconnected notice says why, with no engine ID."""

    class Nameless(Engine):
        def engine_identity(self, *, refresh: bool = False) -> Awaitable[dict[str, Any]]:
            raise EngineUnreachable("no identity")

    items = await collect(Nameless([], probes=[]), 1, [])
    assert (items[0]["kind"], items[0]["engine_id"], items[0]["message"]) == (
        "disconnected",
        None,
        "no identity",
    )
