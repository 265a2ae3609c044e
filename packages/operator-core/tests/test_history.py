"""Unit tests of the event history store: each event once, redacted, cursor, spans, retention."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from operator_core.audit.redact import REDACTED
from operator_core.audit.retention import Bound
from operator_core.errors import HistoryError
from operator_core.results import Event
from operator_core.watch.history import ALIVE_MARGIN_S, HistoryStore, iso_ns, ns_of

CID = "c" * 64
OTHER = "d" * 64
#: 2026-11-29T10:00:00Z, the moment the tests' events happen around.
T0 = 1_795_946_400.0


class Clock:
    """A wall clock the test moves."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def ev(
    action: str,
    second: float,
    *,
    actor: str = CID,
    name: str = "web",
    kind: str = "container",
    detail: str | None = None,
    **labels: str,
) -> Event:
    """Return an event ``second`` seconds after T0."""
    nanos = round((T0 + second) * 1e9)
    return Event(
        time=iso_ns(nanos),
        type=kind,
        action=action,
        detail=detail,
        actor_id=actor,
        actor_name=name,
        exit_code=3 if action == "die" else None,
        attributes={"name": name, "image": "busybox", **labels},
    )


@pytest.fixture
def clock() -> Clock:
    """A wall clock at T0."""
    return Clock()


@pytest.fixture
async def store(tmp_path: Path, clock: Clock):
    """A history store in a private file, on the test's clock."""
    opened = HistoryStore(tmp_path / "history.sqlite3", clock=clock)
    yield opened
    await opened.close()


async def read_all(store: HistoryStore, engine: str = "E1", **filters) -> dict:
    """Read the hour around T0 of ``engine``."""
    return await store.read(
        engine,
        iso_ns(int((T0 - 3600) * 1e9)),
        iso_ns(int((T0 + 3600) * 1e9)),
        limit=100,
        **filters,
    )


def test_event_times_round_trip_to_the_nanosecond():
    """ns_of and iso_ns are inverses to the nanosecond; a time without a fraction reads."""
    assert iso_ns(ns_of("2026-11-29T10:00:01.000000007Z")) == "2026-11-29T10:00:01.000000007Z"
    assert ns_of("2026-11-29T10:00:00Z") == int(T0) * 10**9


async def test_an_event_received_twice_is_stored_once(store):
    """A replay (or a second watch on the same store) adds nothing: one row per event."""
    interval = await store.open_interval(None, "E1", T0)
    await store.record(None, "E1", [ev("die", 1), ev("die", 1)], interval)
    await store.record("other-name", "E1", [ev("die", 1), ev("oom", 1)], None)
    read = await read_all(store)
    assert [e["action"] for e in read["events"]] == ["die", "oom"]
    assert read["seen"] == 2


async def test_engines_are_kept_apart_by_their_id_not_their_host_name(store):
    """The same host name on two engines keeps two histories; one engine under two names one."""
    await store.record("h", "E1", [ev("die", 1)], None)
    await store.record("h", "E2", [ev("oom", 2)], None)
    await store.record("renamed", "E1", [ev("start", 3)], None)
    assert [e["action"] for e in (await read_all(store, "E1"))["events"]] == ["die", "start"]
    assert [e["action"] for e in (await read_all(store, "E2"))["events"]] == ["oom"]


async def test_stored_attributes_are_redacted_like_everything_else(store, tmp_path):
    """A secret-looking label never reaches the file; its key stays, and names stay."""
    labels = {"db_password": "hunter2", "traefik.basicauth.users": "a:$apr1$xyz$Q"}
    secret = ev("start", 1, **labels)
    await store.record(None, "E1", [secret], None)
    (stored,) = (await read_all(store))["events"]
    assert stored["attributes"]["db_password"] == REDACTED
    assert stored["attributes"]["traefik.basicauth.users"] == "[REDACTED]"
    assert stored["attributes"]["name"] == "web"
    await store.close()
    raw = (tmp_path / "history.sqlite3").read_bytes()
    wal = tmp_path / "history.sqlite3-wal"
    raw += wal.read_bytes() if wal.exists() else b""
    assert b"hunter2" not in raw
    assert b"$apr1$" not in raw


async def test_the_cursor_is_the_newest_event_with_its_keys(store):
    """A restarted watch follows from the newest stored event and knows which it already has."""
    assert await store.cursor("E1") is None
    await store.record(None, "E1", [ev("die", 1), ev("oom", 5), ev("die", 5)], None)
    cursor = await store.cursor("E1")
    assert cursor is not None
    assert cursor["since"] == f"{int(T0) + 5}.000000000"
    assert sorted(cursor["keys"]) == [
        (cursor["time"], CID, "die", ""),
        (cursor["time"], CID, "oom", ""),
    ]


async def test_a_recording_with_no_event_still_gives_a_cursor(store, clock):
    """A watch that recorded and saw nothing is resumed from its last alive moment, not now.

    Its successor must still follow the time it was down; "now" would lose those events.
    """
    interval = await store.open_interval(None, "E1", T0)
    clock.now = T0 + 30
    await store.heartbeat([interval])
    cursor = await store.cursor("E1")
    assert cursor is not None
    assert cursor["keys"] == []
    assert T0 < float(cursor["since"]) <= T0 + 30
    await store.close_interval(interval)
    assert await store.cursor("E2") is None


async def test_reads_filter_like_the_engine(store):
    """Container (name, id, 6+ prefix), service, types, actions; the newest `limit` kept."""
    service = {"com.docker.swarm.service.name": "api"}
    await store.record(
        None,
        "E1",
        [
            ev("die", 1),
            ev("die", 2, actor=OTHER, name="db", **service),
            ev("update", 3, actor="s" * 25, name="api", kind="service"),
        ],
        None,
    )
    names = lambda read: [e["actor_name"] for e in read["events"]]  # noqa: E731
    assert names(await read_all(store, container="web")) == ["web"]
    assert names(await read_all(store, container=OTHER[:6])) == ["db"]
    assert names(await read_all(store, container=OTHER[:5])) == []
    assert names(await read_all(store, service="api")) == ["db"]
    assert names(await read_all(store, types=["service"])) == ["api"]
    assert names(await read_all(store, actions=["die"])) == ["web", "db"]
    window = (iso_ns(int(T0 * 1e9)), iso_ns(int((T0 + 10) * 1e9)))
    newest = await store.read("E1", *window, limit=1)
    assert (names(newest), newest["seen"]) == (["api"], 3)


async def test_spans_say_when_the_watch_was_recording(store, clock):
    """An interval runs from its start to its end; an open one to its last heartbeat."""
    closed = await store.open_interval(None, "E1", T0 - 100)
    clock.now = T0 - 50
    await store.close_interval(closed)
    live = await store.open_interval(None, "E1", T0 - 10)
    clock.now = T0 + 30
    await store.heartbeat([live])
    spans = (await read_all(store))["spans"]
    assert spans == [
        {"since": iso_ns(int((T0 - 100) * 1e9)), "until": iso_ns(int((T0 - 50) * 1e9))},
        {
            "since": iso_ns(int((T0 - 10) * 1e9)),
            "until": iso_ns(int((T0 + 30 - ALIVE_MARGIN_S) * 1e9)),
        },
    ]


async def test_a_span_is_cut_to_the_window_and_touching_spans_merge(store, clock):
    """Two watches' overlapping intervals read as one span, cut at the window's edges."""
    first = await store.open_interval(None, "E1", T0 - 100)
    second = await store.open_interval(None, "E1", T0 - 60)
    clock.now = T0 + 100
    await store.close_interval(first)
    await store.close_interval(second)
    window = (iso_ns(int((T0 - 80) * 1e9)), iso_ns(int((T0 + 20) * 1e9)))
    spans = (await store.read("E1", *window, limit=10))["spans"]
    assert spans == [{"since": window[0], "until": window[1]}]


async def test_pruning_by_age_removes_old_events_and_cuts_the_spans(store, clock):
    """Events past the age bound go; a span reaching back before them now starts after them."""
    interval = await store.open_interval(None, "E1", T0 - 7200)
    await store.record(None, "E1", [ev("die", -7000), ev("die", -10)], interval)
    clock.now = T0
    result = await store.prune(Bound.of(3600, None))
    assert (result["removed"], result["kept"], result["store"]) == (1, 1, "history")
    read = await store.read("E1", iso_ns(int((T0 - 9000) * 1e9)), iso_ns(int(T0 * 1e9)), limit=10)
    assert [e["time"] for e in read["events"]] == [ev("die", -10)["time"]]
    assert read["spans"][0]["since"] == iso_ns(int((T0 - 3600) * 1e9))


async def test_pruning_by_rows_keeps_the_newest(store):
    """With max_rows, only the newest that many stay, whatever their age."""
    await store.record(None, "E1", [ev("start", s) for s in range(10)], None)
    result = await store.prune(Bound.of(None, 4))
    assert (result["removed"], result["kept"]) == (6, 4)
    read = await read_all(store)
    assert [e["time"] for e in read["events"]] == [ev("start", s)["time"] for s in range(6, 10)]


async def test_pruning_forgets_attributes_no_event_uses(store, tmp_path):
    """A label set whose events all went is removed too (else the file grows forever)."""
    await store.record(None, "E1", [ev("die", -7000, tier="a"), ev("die", -1, tier="b")], None)
    await store.prune(Bound.of(3600, None))
    await store.close()
    with sqlite3.connect(tmp_path / "history.sqlite3") as db:
        kept = [row[0] for row in db.execute("SELECT json FROM history_attrs")]
    assert len(kept) == 1
    assert '"b"' in kept[0]


def test_an_unusable_path_is_a_history_error(tmp_path):
    """A store that cannot be opened says so as HistoryError, naming the file."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(HistoryError, match="history store"):
        HistoryStore(blocker / "history.sqlite3")


async def test_status_says_per_engine_what_is_held_as_an_engine_status(store):
    """One ``EngineStatus`` per engine: its events counted, oldest and newest as ISO times.

    An engine never recorded in an interval has no recording times (None, not 0).
    """
    interval = await store.open_interval("h1", "E1", T0)
    await store.record("h1", "E1", [ev("die", 1), ev("oom", 2)], interval)
    await store.record("h2", "E2", [ev("die", 3)], None)
    first, second = store.status()
    assert first == {
        "engine_id": "E1",
        "host": "h1",
        "events": 2,
        "oldest": ev("die", 1)["time"],
        "newest": ev("oom", 2)["time"],
        "recording_since": iso_ns(int(T0 * 1e9)),
        "alive": first["alive"],
    }
    assert isinstance(first["alive"], str)
    assert (second["engine_id"], second["events"], second["recording_since"]) == ("E2", 1, None)
