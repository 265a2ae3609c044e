"""Unit tests of the watch's history hook: records what it receives, resumes from its cursor."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import time_machine

from operator_core.errors import HistoryError
from operator_core.results import Event
from operator_core.watch import watch
from operator_core.watch.history import HistoryStore
from operator_core.watch.recorder import HistoryRecorder
from test_watch import ScriptedEngine, ev

NOW = datetime(2026, 11, 29, 10, 5, tzinfo=UTC)


class Identified(ScriptedEngine):
    """A scripted engine that says who it is, and what its follows asked for."""

    def __init__(self, batches: list[list[Event]], probes: list[bool]) -> None:
        super().__init__(batches, probes)
        self.filters: list[dict[str, Any]] = []

    async def engine_identity(self, *, refresh: bool = False) -> dict[str, Any]:
        return {
            "engine_id": "ENGINE-1",
            "engine_name": "e",
            "cluster_id": None,
            "node_id": None,
            "manager": False,
        }

    def follow_events(self, since: str | None = None, **filters: Any):
        self.filters.append(filters)
        return super().follow_events(since, **filters)


class Tape:
    """A recorder that keeps every call, with a cursor to hand out."""

    types: Sequence[str] = ("container", "service")
    actions: Sequence[str] = ("die", "start")

    def __init__(self, cursor: dict[str, Any] | None = None) -> None:
        self.cursor = cursor
        self.calls: list[tuple[Any, ...]] = []

    async def resume(self, engine_id: str) -> dict[str, Any] | None:
        self.calls.append(("resume", engine_id))
        return self.cursor

    async def started(self, host: str | None, engine_id: str, start: float) -> None:
        self.calls.append(("started", engine_id, start))

    async def record(self, host: str | None, engine_id: str, events: Sequence[Event]) -> None:
        self.calls.append(("record", engine_id, [e["action"] for e in events]))

    async def stopped(self, engine_id: str) -> None:
        self.calls.append(("stopped", engine_id))


async def run(engine: Any, recorder: Any, count: int, **options: Any) -> list[dict[str, Any]]:
    """Return the first ``count`` items of a watch of ``engine`` through ``recorder``."""
    items: list[dict[str, Any]] = []

    async def sleep(_: float) -> None:
        return None

    with time_machine.travel(NOW, tick=False):
        stream = watch(engine, recorder=recorder, sleep=sleep, **options)
        async with contextlib.aclosing(stream):
            async for item in stream:
                items.append(dict(item))
                if len(items) == count:
                    break
    return items


async def test_every_event_received_is_recorded_before_it_is_reported():
    """Each event goes to the recorder under the engine's own ID; the stream's spans are said."""
    engine = Identified([[ev("die", 1, code=3), ev("start", 2)]], probes=[True, True])
    tape = Tape()
    items = await run(engine, tape, 3)
    assert [i["kind"] for i in items] == ["connected", "died", "disconnected"]
    assert tape.calls[0] == ("resume", "ENGINE-1")
    assert tape.calls[1] == ("started", "ENGINE-1", NOW.timestamp())
    assert ("record", "ENGINE-1", ["die"]) in tape.calls
    assert ("record", "ENGINE-1", ["start"]) in tape.calls
    assert ("stopped", "ENGINE-1") in tape.calls


async def test_the_follow_asks_for_what_the_recorder_records_too():
    """Types and actions of the recorder widen the follow's filters (the watch's stay)."""
    engine = Identified([[]], probes=[True])
    await run(engine, Tape(), 1)
    assert engine.filters[0]["types"] == ["container", "service"]
    assert set(engine.filters[0]["actions"]) >= {"die", "oom", "health_status", "start"}


async def test_a_restarted_watch_follows_from_its_cursor_and_skips_what_it_has():
    """No --since: the follow starts at the history's newest event, which is not reported again.

    The engine still holds everything since then (no gap), so the recording interval starts
    at the cursor: the history covers the time the watch was down.
    """
    had = ev("die", 1, code=3)
    cursor = {
        "since": "1795946401.000000000",
        "time": had["time"],
        "keys": [(had["time"], had["actor_id"], "die", "")],
    }
    engine = Identified([[had, ev("die", 2, code=5)]], probes=[True])
    tape = Tape(cursor)
    items = await run(engine, tape, 2)
    assert engine.since[0] == "1795946401.000000000"
    assert [(i["kind"], i.get("exit_code")) for i in items] == [("connected", None), ("died", 5)]
    assert ("started", "ENGINE-1", 1795946401.0) in tape.calls
    assert [c for c in tape.calls if c[0] == "record"] == [("record", "ENGINE-1", ["die"])]


async def test_a_given_since_wins_over_the_cursor():
    """--since is the person's choice: the cursor is not asked for and not used."""
    engine = Identified([[]], probes=[True])
    tape = Tape({"since": "1.000000000", "time": "x", "keys": []})
    await run(engine, tape, 1, since="1795946000")
    assert engine.since[0] == "1795946000"
    assert ("resume", "ENGINE-1") not in tape.calls


async def test_when_the_engine_forgot_the_gap_the_interval_starts_now():
    """The engine's 256 no longer reach the cursor: the history does not claim the gap."""
    engine = Identified([[]], probes=[True])
    engine.overrun = [True]
    tape = Tape({"since": "1795946401.000000000", "time": "x", "keys": []})
    await run(engine, tape, 1)
    assert ("started", "ENGINE-1", NOW.timestamp()) in tape.calls


async def test_a_restart_on_a_real_store_records_each_event_once(tmp_path: Path):
    """Two runs over one store: the second replays from the cursor, and stores nothing twice."""
    first = [ev("die", 1, code=3)]
    store = HistoryStore(tmp_path / "h.sqlite3")
    try:
        recorder = HistoryRecorder(store)
        await run(Identified([first], probes=[True]), recorder, 2)
        await recorder.aclose()
        # A crash, reported at once (an oom is held a moment to count its burst).
        again = Identified([[*first, ev("die", 4, code=5)]], probes=[True])
        recorder = HistoryRecorder(store)
        items = await run(again, recorder, 2)
        await recorder.aclose()
        read = await store.read(
            "ENGINE-1", "2026-11-29T09:00:00Z", "2026-11-29T11:00:00Z", limit=10
        )
    finally:
        await store.close()
    assert again.since[0] == "1795946401.000000000"
    assert [(i["kind"], i.get("exit_code")) for i in items] == [("connected", None), ("died", 5)]
    assert [e["action"] for e in read["events"]] == ["die", "die"]


class Failing:
    """A store whose writes fail while ``broken`` (a full disk), recording what got through."""

    def __init__(self) -> None:
        self.broken = False
        self.opened: list[float] = []
        self.stored: list[str] = []

    async def open_interval(self, host: str | None, engine_id: str, start: float) -> int:
        self.opened.append(start)
        return len(self.opened)

    async def record(self, host, engine_id, events, interval) -> None:
        if self.broken:
            raise HistoryError("disk I/O error")
        self.stored += [e["action"] for e in events]

    async def close_interval(self, interval: int) -> None:
        return None

    async def heartbeat(self, intervals) -> None:
        return None


async def test_a_failing_store_never_stops_the_watch_and_claims_nothing_it_missed(caplog):
    """A write that fails is logged; the interval ends there and reopens at the next event.

    The history then does not vouch for the time its disk was failing: the new interval
    starts at the first event stored after it.
    """
    store = Failing()
    recorder = HistoryRecorder(store)  # type: ignore[arg-type]
    await recorder.started(None, "E", 100.0)
    store.broken = True
    await recorder.record(None, "E", [ev("die", 1, code=3)])
    store.broken = False
    await recorder.record(None, "E", [ev("oom", 7)])
    await recorder.aclose()
    assert store.stored == ["oom"]
    assert store.opened == [100.0, 1795946407.0]
    assert "disk I/O error" in caplog.text
