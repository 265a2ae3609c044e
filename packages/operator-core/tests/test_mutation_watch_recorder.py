"""Unit tests of ``HistoryRecorder``'s promises (issue 20's mutation goal for watch/recorder.py).

Each engine's stream is one open recording interval in the store: opened where the stream
starts (closing the one before), marked alive by a heartbeat, closed when the stream ends.
A store that fails is logged (engine and cause named) and never stops the watch. The
store here is a fake that keeps every call; the heartbeat runs with a zero period and the
tests wait on the calls it makes, never on the clock.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import pytest

from operator_core.errors import HistoryError
from operator_core.results import Event
from operator_core.watch.history import Cursor
from operator_core.watch.recorder import HistoryRecorder

#: 2026-11-29T10:00:00Z.
T0 = 1795946400.0


def event(action: str, second: int) -> Event:
    """Return a container event of ``web`` at ``second`` past 10:00:00 (UTC)."""
    return Event(
        time=f"2026-11-29T10:00:{second:02d}.000000000Z",
        type="container",
        action=action,
        detail=None,
        actor_id="c" * 64,
        actor_name="web",
        exit_code=None,
        attributes={"name": "web"},
    )


class Store:
    """A history store that keeps every call; each method fails while named in ``broken``."""

    def __init__(self) -> None:
        self.broken: set[str] = set()
        self.calls: list[tuple[object, ...]] = []
        self.beats: list[list[int]] = []
        self.beaten = asyncio.Event()
        self.next_interval = 0

    def _fail(self, method: str) -> None:
        if method in self.broken:
            raise HistoryError(f"{method}: disk I/O error")

    async def cursor(self, engine_id: str) -> Cursor | None:
        self._fail("cursor")
        self.calls.append(("cursor", engine_id))
        return Cursor(since="1.000000000", time="t", keys=[])

    async def open_interval(self, host: str | None, engine_id: str, start: float) -> int:
        self._fail("open_interval")
        self.next_interval += 1
        self.calls.append(("open", host, engine_id, start, self.next_interval))
        return self.next_interval

    async def record(
        self, host: str | None, engine_id: str, events: Sequence[Event], interval: int | None
    ) -> None:
        self._fail("record")
        self.calls.append(("record", host, engine_id, [e["action"] for e in events], interval))

    async def close_interval(self, interval: int) -> None:
        self._fail("close_interval")
        self.calls.append(("close", interval))

    async def heartbeat(self, intervals: Sequence[int]) -> None:
        self.beats.append(list(intervals))
        self.beaten.set()
        self._fail("heartbeat")


def recorder_of(store: Store) -> HistoryRecorder:
    """Return a recorder over ``store`` whose heartbeat beats at every turn of the loop."""
    return HistoryRecorder(store, heartbeat_s=0)  # type: ignore[arg-type]


async def beat(store: Store) -> list[int]:
    """Wait for the next heartbeat (bounded, so a broken heartbeat fails, not hangs)."""
    store.beaten.clear()
    await asyncio.wait_for(store.beaten.wait(), 10)
    return store.beats[-1]


async def test_resume_is_the_stores_cursor_and_a_failing_store_is_logged_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The resume cursor is the store's cursor; a store that fails answers None and says why."""
    store = Store()
    recorder = recorder_of(store)
    assert await recorder.resume("ENGINE-1") == Cursor(since="1.000000000", time="t", keys=[])
    assert store.calls == [("cursor", "ENGINE-1")]
    store.broken.add("cursor")
    with caplog.at_level(logging.WARNING, logger="operator_core.watch.recorder"):
        assert await recorder.resume("ENGINE-1") is None
    assert caplog.messages == [
        "history: no resume cursor for engine ENGINE-1: cursor: disk I/O error"
    ]


async def test_each_stream_start_closes_the_engines_last_interval_and_opens_one(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A start opens an interval for (host, engine, start); a restart closes the last first.

    Closing is per engine: another engine's interval stays open; stopped closes it once.
    """
    store = Store()
    recorder = recorder_of(store)
    await recorder.started("eng1", "ENGINE-1", 100.0)
    await recorder.started("eng2", "ENGINE-2", 101.0)
    await recorder.started("eng1", "ENGINE-1", 105.0)
    await recorder.stopped("ENGINE-1")
    await recorder.stopped("ENGINE-1")
    assert store.calls == [
        ("open", "eng1", "ENGINE-1", 100.0, 1),
        ("open", "eng2", "ENGINE-2", 101.0, 2),
        ("close", 1),
        ("open", "eng1", "ENGINE-1", 105.0, 3),
        ("close", 3),
    ]
    await recorder.aclose()
    assert store.calls[-1] == ("close", 2)
    assert caplog.messages == []


async def test_records_go_to_the_engines_open_interval_with_their_host() -> None:
    """A record stores the events under host and engine, marking the engine's open interval.

    With no interval open, it opens one at the first event's time; nothing to record
    touches nothing.
    """
    store = Store()
    recorder = recorder_of(store)
    await recorder.record("eng1", "ENGINE-1", [])
    assert store.calls == []
    await recorder.record("eng1", "ENGINE-1", [event("die", 7), event("start", 9)])
    await recorder.started("eng2", "ENGINE-2", 50.0)
    await recorder.record("eng2", "ENGINE-2", [event("oom", 8)])
    await recorder.record("eng1", "ENGINE-1", [event("stop", 11)])
    assert store.calls == [
        ("open", "eng1", "ENGINE-1", T0 + 7, 1),
        ("record", "eng1", "ENGINE-1", ["die", "start"], 1),
        ("open", "eng2", "ENGINE-2", 50.0, 2),
        ("record", "eng2", "ENGINE-2", ["oom"], 2),
        ("record", "eng1", "ENGINE-1", ["stop"], 1),
    ]
    await recorder.aclose()


async def test_a_failed_write_is_logged_and_the_next_write_opens_a_new_interval(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A write that fails names its count, engine and cause; the interval is given up.

    Even when opening the interval failed too, the failure is only logged.
    """
    store = Store()
    recorder = recorder_of(store)
    store.broken = {"open_interval", "record"}
    with caplog.at_level(logging.WARNING, logger="operator_core.watch.recorder"):
        await recorder.record("eng1", "ENGINE-1", [event("die", 1), event("start", 2)])
    assert caplog.messages == [
        "history: not recording engine ENGINE-1: open_interval: disk I/O error",
        "history: 2 event(s) of engine ENGINE-1 not recorded: record: disk I/O error",
    ]
    store.broken = set()
    await recorder.record("eng1", "ENGINE-1", [event("oom", 3)])
    assert store.calls == [
        ("open", "eng1", "ENGINE-1", T0 + 3, 1),
        ("record", "eng1", "ENGINE-1", ["oom"], 1),
    ]
    await recorder.aclose()


async def test_an_interval_that_cannot_be_closed_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A close that fails says which engine's interval was left open, and why."""
    store = Store()
    recorder = recorder_of(store)
    await recorder.started(None, "ENGINE-1", 1.0)
    store.broken.add("close_interval")
    with caplog.at_level(logging.WARNING, logger="operator_core.watch.recorder"):
        await recorder.stopped("ENGINE-1")
    assert caplog.messages == [
        "history: interval of engine ENGINE-1 left open: close_interval: disk I/O error"
    ]
    await recorder.aclose()


async def test_the_heartbeat_marks_every_open_interval_alive_and_survives_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The heartbeat marks the open intervals alive; a failing one is logged and it goes on.

    After aclose no interval is left open and the heartbeat has stopped.
    """
    store = Store()
    recorder = recorder_of(store)
    tasks_before = len(asyncio.all_tasks())
    await recorder.started("eng1", "ENGINE-1", 1.0)
    await recorder.started("eng2", "ENGINE-2", 2.0)
    assert sorted(await beat(store)) == [1, 2]
    store.broken.add("heartbeat")
    with caplog.at_level(logging.WARNING, logger="operator_core.watch.recorder"):
        await beat(store)
        store.broken = set()
        assert sorted(await beat(store)) == [1, 2]
    assert "history: heartbeat not recorded: heartbeat: disk I/O error" in caplog.messages
    await recorder.aclose()
    assert len(asyncio.all_tasks()) == tasks_before  # the heartbeat's task is gone
    assert sorted(store.calls[-2:]) == [("close", 1), ("close", 2)]
    store.beaten.clear()
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert not store.beaten.is_set()


async def test_a_beat_with_nothing_open_waits_for_the_next_interval() -> None:
    """With no interval open nothing is marked; the next opened one is marked again."""
    store = Store()
    recorder = recorder_of(store)
    store.broken.add("open_interval")
    await recorder.started("eng1", "ENGINE-1", 1.0)
    for _ in range(5):
        await asyncio.sleep(0)
    assert store.beats == []
    store.broken = set()
    await recorder.started("eng1", "ENGINE-1", 2.0)
    assert await beat(store) == [1]
    await recorder.aclose()
