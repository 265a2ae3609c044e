"""The event history store's promises, field by field (issue 20: watch/history.py, history_sql.py).

test_history.py tells the store's stories; these pin what each answer holds: an event read
back whole, each engine's status line, the cursor a recording with no event gives, the
spans cut and merged, the filters of a read, and what ``prune_now`` (the CLI's) returns.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from operator_core.audit.retention import Bound
from operator_core.errors import HistoryError
from operator_core.results import Event
from operator_core.watch.history import (
    ALIVE_MARGIN_S,
    Cursor,
    HistoryRead,
    HistoryStore,
    iso_ns,
    ns_of,
)

CID = "c" * 64
OTHER = "d" * 64
#: 2026-11-29T10:00:00Z.
T0 = 1_795_946_400.0
NS = 1_000_000_000


def at(second: float) -> str:
    """Return the RFC 3339 nanosecond time ``second`` past T0."""
    return iso_ns(round((T0 + second) * NS))


class Clock:
    """A wall clock the test moves."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


def event(
    action: str,
    second: float,
    *,
    actor: str = CID,
    name: str = "web",
    kind: str = "container",
    detail: str | None = None,
    code: int | None = None,
    labels: dict[str, str] | None = None,
) -> Event:
    """Return an event ``second`` after T0."""
    return Event(
        time=at(second),
        type=kind,
        action=action,
        detail=detail,
        actor_id=actor,
        actor_name=name,
        exit_code=code,
        attributes={"name": name, **(labels or {})},
    )


@pytest.fixture
def clock() -> Clock:
    """A wall clock at T0."""
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock) -> AsyncIterator[HistoryStore]:
    """A history store in a private file, on the test's clock."""
    opened = HistoryStore(tmp_path / "history.sqlite3", clock=clock)
    yield opened
    await opened.close()


async def read(store: HistoryStore, engine: str = "E1", **filters: Any) -> HistoryRead:
    """Read the hour either side of T0."""
    return await store.read(engine, at(-3600), at(3600), limit=100, **filters)


def test_event_times_keep_their_nanoseconds_whatever_their_precision() -> None:
    """No fraction, a short one, nine digits, more than nine (cut): one nanosecond count."""
    base = 1_795_946_400 * NS
    assert ns_of("2026-11-29T10:00:00Z") == base
    assert ns_of("2026-11-29T10:00:00.5Z") == base + 500_000_000
    assert ns_of("2026-11-29T10:00:00.000000007Z") == base + 7
    assert ns_of("2026-11-29T10:00:00.1234567891Z") == base + 123_456_789
    assert iso_ns(base + 7) == "2026-11-29T10:00:00.000000007Z"


async def test_an_event_reads_back_whole(store: HistoryStore) -> None:
    """Every field of a stored event comes back as it was (attributes redacted only)."""
    die = event("die", 1.25, detail="x", code=137, labels={"tier": "web"})
    await store.record("eng1", "E1", [die], None)
    assert (await read(store))["events"] == [die]


async def test_events_differing_in_type_actor_action_or_detail_are_all_kept(
    store: HistoryStore,
) -> None:
    """At one time, events that differ in any of the four are distinct; a replay is not."""
    same_time = [
        event("die", 0),
        event("die", 0, kind="service"),
        event("die", 0, actor=OTHER),
        event("stop", 0),
        event("die", 0, detail="d"),
    ]
    await store.record("eng1", "E1", same_time, None)
    await store.record("eng1", "E1", same_time, None)
    assert (await read(store))["seen"] == 5


async def test_a_read_keeps_the_newest_events_oldest_first(store: HistoryStore) -> None:
    """``limit`` keeps the newest, listed oldest first; ``seen`` counts every match."""
    await store.record(None, "E1", [event("start", s) for s in range(5)], None)
    got = await store.read("E1", at(1), at(4), limit=2)
    assert [e["time"] for e in got["events"]] == [at(3), at(4)]
    assert got["seen"] == 4


async def test_reads_filter_by_container_name_id_or_prefix_service_type_action(
    store: HistoryStore,
) -> None:
    """A container by name, id or a 6+ character prefix (5 is too short); a service by label."""
    svc = {"com.docker.swarm.service.name": "api"}
    await store.record(
        None,
        "E1",
        [
            event("die", 1),
            event("start", 2, actor=OTHER, name="db", labels=svc),
            event("update", 3, actor="s" * 25, name="api", kind="service"),
        ],
        None,
    )

    async def times(**filters: Any) -> list[str]:
        return [e["time"] for e in (await read(store, **filters))["events"]]

    assert await times(container="web") == [at(1)]
    assert await times(container=CID) == [at(1)]
    assert await times(container="cccccc") == [at(1)]
    assert await times(container="ccccc") == []
    assert await times(service="api") == [at(2)]
    assert await times(types=["service"]) == [at(3)]
    assert await times(actions=["start", "update"]) == [at(2), at(3)]
    assert await times(types=["container"], actions=["die"]) == [at(1)]
    assert await times(container="", service="", types=[], actions=[]) == [at(1), at(2), at(3)]


async def test_status_says_each_engine_s_events_and_recording(
    store: HistoryStore, clock: Clock
) -> None:
    """Per engine (by host, no host first): host, count, oldest, newest, recording since, alive."""
    interval = await store.open_interval("eng1", "E1", T0 - 100)
    clock.now = T0 + 10
    await store.record("eng1", "E1", [event("die", -50), event("start", -40)], interval)
    await store.open_interval(None, "E0", T0 - 10)
    assert store.status() == [
        {
            "engine_id": "E0",
            "host": None,
            "events": 0,
            "oldest": None,
            "newest": None,
            "recording_since": at(-10),
            "alive": at(10),
        },
        {
            "engine_id": "E1",
            "host": "eng1",
            "events": 2,
            "oldest": at(-50),
            "newest": at(-40),
            "recording_since": at(-100),
            "alive": at(10 - ALIVE_MARGIN_S),
        },
    ]


async def test_an_engine_keeps_its_host_and_takes_a_new_one(store: HistoryStore) -> None:
    """A recording without a host keeps the engine's; another host name replaces it."""
    await store.open_interval("eng1", "E1", T0)
    await store.open_interval(None, "E1", T0)
    assert [s["host"] for s in store.status()] == ["eng1"]
    await store.record("eng9", "E1", [event("die", 0)], None)
    assert [s["host"] for s in store.status()] == ["eng9"]


async def test_a_recording_with_no_event_gives_a_cursor_at_its_last_moment(
    store: HistoryStore, clock: Clock
) -> None:
    """No event: the cursor is where the recording last vouched for (its end), no keys."""
    interval = await store.open_interval(None, "E1", T0 - 10)
    clock.now = T0 + 1.5
    await store.close_interval(interval)
    assert await store.cursor("E1") == Cursor(since="1795946401.500000000", time=at(1.5), keys=[])
    assert await store.cursor("E-unknown") is None


async def test_an_interval_opened_in_the_past_is_alive_from_now(
    store: HistoryStore, clock: Clock
) -> None:
    """An interval starting before now is alive until now; one ending before it began is empty."""
    interval = await store.open_interval(None, "E1", T0 - 30)
    assert (await read(store))["spans"] == [{"since": at(-30), "until": at(0)}]
    clock.now = T0 - 60
    await store.close_interval(interval)
    assert (await read(store))["spans"] == [{"since": at(-30), "until": at(-30)}]


async def test_spans_apart_stay_apart_and_spans_outside_the_window_are_left_out(
    store: HistoryStore, clock: Clock
) -> None:
    """Separate intervals are separate spans (oldest first); touching ones merge."""
    for start, end in [(50, 60), (10, 20), (20, 30), (-5000, -4000)]:
        clock.now = T0 + end
        interval = await store.open_interval(None, "E1", T0 + start)
        await store.close_interval(interval)
    got = await store.read("E1", at(-100), at(100), limit=1)
    assert got["spans"] == [
        {"since": at(10), "until": at(30)},
        {"since": at(50), "until": at(60)},
    ]
    got = await store.read("E1", at(25), at(55), limit=1)
    assert got["spans"] == [
        {"since": at(25), "until": at(30)},
        {"since": at(50), "until": at(55)},
    ]


async def test_prune_now_says_what_it_removed_and_kept(
    store: HistoryStore, clock: Clock, tmp_path: Path
) -> None:
    """The CLI's pruning: past the bound at the store's clock (or ``now``) go; a full answer."""
    interval = await store.open_interval(None, "E1", T0 - 7200)
    await store.record(None, "E1", [event("die", -7000), event("die", -10)], interval)
    bound = Bound.of(3600, None)
    assert store.prune_now(bound) == {
        "store": "history",
        "path": str(tmp_path / "history.sqlite3"),
        "bound": bound.describe(),
        "removed": 1,
        "kept": 1,
        "exported": None,
    }
    got = await read(store)
    assert got["spans"][0]["since"] == at(-3600)
    assert store.prune_now(bound, now=T0 + 3600)["removed"] == 1
    assert (await read(store))["events"] == []


async def test_pruning_drops_intervals_wholly_before_what_is_left(
    store: HistoryStore, clock: Clock
) -> None:
    """Closed intervals before the boundary go; an open one goes only once it is stale."""
    old = await store.open_interval(None, "E1", T0 - 9000)
    clock.now = T0 - 8000
    await store.close_interval(old)
    fresh_open = await store.open_interval(None, "E1", T0 - 7500)
    await store.record(None, "E1", [event("die", -7600)], None)
    clock.now = T0
    await store.heartbeat([fresh_open])
    clock.now = T0 - 7400
    await store.open_interval(None, "E2", T0 - 7450)  # open, last alive long ago: stale
    clock.now = T0
    store.prune_now(Bound.of(3600, None))
    spans = {s["engine_id"]: s["recording_since"] for s in store.status()}
    assert spans == {"E1": at(-3600), "E2": None}


async def test_a_pruning_in_chunks_removes_everything_past_the_bound(store: HistoryStore) -> None:
    """More events than one chunk: the async prune goes on until none past the bound is left.

    The bound is applied at ``now`` when given (an hour after the store's clock here).
    """
    events = [event("start", -7200 + n / 1000) for n in range(5001)]
    await store.record(None, "E1", [*events, event("die", -1), event("die", 1)], None)
    result = await store.prune(Bound.of(3600, None), now=T0 + 3600)
    assert (result["removed"], result["kept"]) == (5002, 1)


async def test_the_watch_s_writes_go_between_the_chunks_of_a_prune(store: HistoryStore) -> None:
    """A long prune takes one chunk per turn of the worker: a write queued meanwhile goes first."""
    await store.record(None, "E1", [event("start", -7200 + n / 1000) for n in range(6000)], None)
    pruning = asyncio.ensure_future(store.prune(Bound.of(3600, None)))
    await asyncio.sleep(0)
    await store.record(None, "E1", [event("die", -1)], None)
    assert not pruning.done()
    assert (await pruning)["removed"] == 6000


async def test_a_row_bound_not_reached_removes_nothing(store: HistoryStore) -> None:
    """Fewer events than max_rows: none goes."""
    await store.record(None, "E1", [event("start", s) for s in range(3)], None)
    assert (store.prune_now(Bound.of(None, 100))["removed"], len(store.status())) == (0, 1)


async def test_pruning_by_rows_cuts_the_spans_just_after_the_newest_event_removed(
    store: HistoryStore, clock: Clock
) -> None:
    """The spans keep only what is left: from a nanosecond after the newest removed event.

    A closed interval ending at that event goes; one reaching past it is cut; an open one
    before it whose watch beat within the last 10 minutes stays (cut), it is not stale.
    """
    clock.now = T0 - 50
    ended_there = await store.open_interval(None, "E1", T0 - 100)
    await store.close_interval(ended_there)
    clock.now = T0 - 30
    reaching_past = await store.open_interval(None, "E1", T0 - 60)
    await store.close_interval(reaching_past)
    clock.now = T0 - 300
    await store.open_interval(None, "E2", T0 - 400)
    await store.record(None, "E1", [event("die", -50), event("die", -10)], None)
    clock.now = T0
    assert store.prune_now(Bound.of(None, 1))["removed"] == 1
    boundary = iso_ns(int(T0 - 50) * NS + 1)  # a nanosecond after the event removed
    assert (await read(store))["spans"] == [{"since": boundary, "until": at(-30)}]
    assert {s["engine_id"]: s["recording_since"] for s in store.status()} == {
        "E1": boundary,
        "E2": boundary,
    }


async def test_the_store_writes_ahead_so_readers_do_not_block_the_watch(
    store: HistoryStore, tmp_path: Path
) -> None:
    """The file is in WAL mode: another connection reads while the store writes."""
    with sqlite3.connect(tmp_path / "history.sqlite3") as other:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_a_failed_write_leaves_nothing_half_done(store: HistoryStore) -> None:
    """A write that fails midway is rolled back as a whole, and the store writes on after it."""
    good = event("die", 1)
    bad = event("die", 2)
    bad["exit_code"] = object()  # type: ignore[typeddict-item]
    with pytest.raises(sqlite3.ProgrammingError):
        await store.record(None, "E1", [good, bad], None)
    assert (await read(store))["events"] == []
    await store.record(None, "E1", [good], None)
    assert (await read(store))["seen"] == 1


async def test_a_closed_store_is_a_bug_not_a_disk_fault(store: HistoryStore) -> None:
    """Using a closed store raises sqlite3.ProgrammingError (ours), not HistoryError."""
    store.close_now()
    with pytest.raises(sqlite3.ProgrammingError):
        store.status()


async def test_a_file_that_is_not_a_database_is_a_history_error(tmp_path: Path) -> None:
    """Garbage in the history file: HistoryError naming the file."""
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"not a database" * 100)
    with pytest.raises(HistoryError, match=f"cannot open the history store {path}"):
        HistoryStore(path)


async def test_a_row_bound_keeps_the_newest_rows_to_the_nanosecond(store: HistoryStore) -> None:
    """max_rows 1 of two events 50 ns apart keeps the newer (a time is no float: 1.8e18 ns)."""
    older = (int(T0) * NS // 256) * 256 - 256_000 + 200  # a float would round it up 56 ns
    pair = [event("die", 0), event("start", 0)]
    pair[0]["time"], pair[1]["time"] = iso_ns(older), iso_ns(older + 50)
    await store.record(None, "E1", pair, None)
    assert store.prune_now(Bound.of(None, 1))["removed"] == 1
    assert [e["action"] for e in (await read(store))["events"]] == ["start"]


async def test_the_store_makes_its_directory(tmp_path: Path) -> None:
    """A path in directories that do not exist yet: they are made, the store opens."""
    store = HistoryStore(tmp_path / "a" / "b" / "history.sqlite3")
    assert store.status() == []
    await store.close()
