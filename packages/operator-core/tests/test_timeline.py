"""Unit tests of get_events over the engine and the watch's history: merge, sources, gaps."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from operator_core.policy import Policy
from operator_core.results import EventsResult
from operator_core.runner import ToolRunner
from operator_core.watch.history import HistoryStore, iso_ns
from operator_core.watch.timeline import FleetHistoryEvents, merge, with_history
from test_history import CID, T0, Clock, ev
from tool_fakes import FakeExecutor

S, U = iso_ns(int((T0 - 600) * 1e9)), iso_ns(int(T0 * 1e9))
DIE_ONLY = {"types": ["container"], "actions": ["die", "oom"]}


def at(second: float) -> str:
    """Return the time ``second`` seconds after T0."""
    return iso_ns(int((T0 + second) * 1e9))


def answer(
    events=(), *, forgot_before: float | None = None, seen: int | None = None
) -> EventsResult:
    """The engine's answer for [S, U]; ``forgot_before``: its buffer rotated past S."""
    found = list(events)
    result = EventsResult(
        since=S,
        until=U,
        until_clamped=False,
        events=found,
        count=len(found),
        seen=len(found) if seen is None else seen,
        truncated=forgot_before is not None,
        truncation=["engine_buffer"] if forgot_before is not None else [],
    )
    result["engine_oldest"] = None if forgot_before is None else at(forgot_before)
    return result


def read(events=(), spans=()) -> dict[str, Any]:
    """Return what the history read of the window."""
    return {"events": list(events), "seen": len(events), "spans": list(spans)}


def test_an_event_the_engine_forgot_is_answered_from_the_history():
    """The engine's memory starts at -60 s; the death at -300 s comes from the history.

    The history recorded the whole window, for the kinds asked: nothing may be missing,
    and engine_buffer leaves the truncation.
    """
    died = ev("die", -300)
    result = merge(
        answer([ev("start", -30)], forgot_before=-60),
        read([died], [{"since": S, "until": U}]),
        100,
        recorded=True,
    )
    assert [e["action"] for e in result["events"]] == ["die", "start"]
    assert [s["source"] for s in result["sources"]] == ["engine", "history"]
    assert result["sources"][0]["spans"] == [{"since": at(-60), "until": U}]
    assert (result["may_be_missing"], result["gaps"]) == (False, [])
    assert result["truncation"] == []
    assert result["truncated"] is False


def test_without_a_history_a_forgotten_window_is_a_gap():
    """Engine alone, buffer rotated: the part before its oldest event is a gap, said."""
    result = merge(answer([], forgot_before=-60), None, 100, recorded=True)
    assert result["may_be_missing"] is True
    assert result["gaps"] == [{"since": S, "until": at(-60)}]
    assert result["truncation"] == ["engine_buffer"]
    assert [s["source"] for s in result["sources"]] == ["engine"]


def test_a_gap_between_recording_intervals_is_said():
    """The watch was down from -400 to -200 s and the engine forgot: that span is the gap."""
    spans = [{"since": S, "until": at(-400)}, {"since": at(-200), "until": U}]
    result = merge(answer([], forgot_before=-60), read([], spans), 100, recorded=True)
    assert result["gaps"] == [{"since": at(-400), "until": at(-200)}]
    assert result["may_be_missing"] is True


def test_the_history_does_not_vouch_for_kinds_it_does_not_record():
    """An unfiltered query gets the history's events but its gaps are the engine's alone.

    The history records deaths, OOMs, health... never execs: it cannot say no exec
    happened in the part of the window the engine forgot.
    """
    result = merge(
        answer([], forgot_before=-60),
        read([ev("oom", -300)], [{"since": S, "until": U}]),
        100,
        recorded=False,
    )
    assert [e["action"] for e in result["events"]] == ["oom"]
    assert result["may_be_missing"] is True
    assert result["gaps"] == [{"since": S, "until": at(-60)}]


def test_an_event_from_both_sources_is_answered_once_and_the_newest_are_kept():
    """Duplicates (same time, actor, action, detail) merge; over the limit the oldest go."""
    both = ev("die", -30)
    result = merge(
        answer([both, ev("start", -20)]),
        read([ev("die", -300), both], [{"since": S, "until": U}]),
        2,
        recorded=True,
    )
    assert [(e["action"], e["time"]) for e in result["events"]] == [
        ("die", both["time"]),
        ("start", at(-20)),
    ]
    assert result["truncation"] == ["limit"]
    assert result["seen"] == 3


def test_a_read_cut_by_its_deadline_vouches_only_up_to_its_last_event():
    """The engine sends oldest first: a read cut short covers up to its last event only."""
    engine = answer([ev("start", -500)])
    engine["truncation"], engine["truncated"] = ["deadline"], True
    result = merge(engine, None, 100, recorded=True)
    assert result["gaps"] == [{"since": at(-500), "until": U}]


class Engine(FakeExecutor):
    """A fake engine whose get_events answers a scripted window."""

    def __init__(self, result: EventsResult) -> None:
        super().__init__()
        self.result = result

    async def get_events(
        self, since, until=None, container=None, service=None, types=None, actions=None, limit=500
    ) -> EventsResult:
        self.calls.append(("get_events", {"container": container}))
        return self.result


async def test_the_tool_answers_from_the_history_of_the_engine_it_asks(tmp_path: Path):
    """docker_get_events through a runner: the history is found by the engine's own ID."""
    store = HistoryStore(tmp_path / "h.sqlite3", clock=Clock(T0))
    engine = Engine(answer([], forgot_before=-60))
    try:
        interval = await store.open_interval(None, engine.identity["engine_id"], T0 - 900)
        await store.record(None, engine.identity["engine_id"], [ev("oom", -300)], interval)
        await store.record(None, "ANOTHER-ENGINE", [ev("die", -200)], None)
        runner = ToolRunner(with_history(engine, store), policy=Policy())
        envelope = await runner.execute_tool(
            "docker_get_events", {"since": "10m", "container": "web", **DIE_ONLY}
        )
    finally:
        await store.close()
    result = envelope["result"]
    assert [e["action"] for e in result["events"]] == ["oom"]
    assert result["events"][0]["actor_id"] == CID
    assert result["may_be_missing"] is False


async def test_a_fleet_keeps_its_host_routing_through_the_history():
    """Around a FleetExecutor the wrapper still routes hosts, so tools take ``host``."""

    class Fleetish:
        routes_hosts = True
        names, default = ("a",), "a"

    wrapped = with_history(Fleetish(), None)
    assert isinstance(wrapped, FleetHistoryEvents)
    assert wrapped.names == ("a",)


@pytest.mark.parametrize(
    ("types", "actions", "vouches"),
    [
        (["container"], ["die"], True),
        (None, ["die"], False),
        (["container"], ["exec_start"], False),
    ],
)
def test_which_queries_the_history_vouches_for(types, actions, vouches):
    """Only a query for recorded types AND recorded actions counts the history's spans."""
    from operator_core.watch.timeline import _recorded

    assert _recorded(types, actions) is vouches


async def test_the_history_file_is_opened_only_by_get_events_and_only_if_a_watch_made_it(
    tmp_path: Path,
):
    """No file: get_events answers from the engine and creates none; a file: it is read.

    Any other call never opens it, so a history that cannot be opened (read-only, locked)
    concerns get_events alone.
    """
    path = tmp_path / "history.sqlite3"
    engine = Engine(answer([], forgot_before=-60))
    wrapped = with_history(engine, path)
    await wrapped.engine_identity()
    alone = await wrapped.get_events("10m", **DIE_ONLY)
    assert not path.exists()
    assert [s["source"] for s in alone["sources"]] == ["engine"]
    store = HistoryStore(path, clock=Clock(T0))
    interval = await store.open_interval(None, engine.identity["engine_id"], T0 - 900)
    await store.record(None, engine.identity["engine_id"], [ev("oom", -300)], interval)
    await store.close()
    wrapped = with_history(engine, path)
    try:
        merged = await wrapped.get_events("10m", **DIE_ONLY)
    finally:
        await wrapped.close_history()
    assert [e["action"] for e in merged["events"]] == ["oom"]


def _rendered(result: dict[str, Any]) -> str:
    """Return what `operator docker events` prints on stderr for ``result``."""
    from rich.console import Console

    from operator_core.cli.render.diagnosis import DIAGNOSIS_RENDERERS

    out, err = Console(record=True, width=200), Console(record=True, width=200)
    DIAGNOSIS_RENDERERS["docker_get_events"](out, err, result)
    return err.export_text()


def test_the_command_says_what_the_history_added_and_what_may_be_missing():
    """A person reads where events came from and which span may lack some, and why."""
    spans = [{"since": S, "until": at(-400)}, {"since": at(-200), "until": U}]
    result = merge(
        answer([], forgot_before=-60), read([ev("oom", -300)], spans), 100, recorded=True
    )
    text = " ".join(_rendered(dict(result)).split())
    assert "1 event(s) from the watch's history (recorded" in text
    assert "events may be missing" in text
    assert "256" in text
    whole = merge(
        answer([], forgot_before=-60), read([], [{"since": S, "until": U}]), 100, recorded=True
    )
    assert "may be missing" not in _rendered(dict(whole))


def test_a_gap_the_engine_did_not_cause_is_said_too():
    """A read cut by its deadline leaves a gap with the engine's memory intact: still said."""
    engine = answer([ev("start", -500)])
    engine["truncation"], engine["truncated"] = ["deadline"], True
    text = " ".join(_rendered(dict(merge(engine, None, 100, recorded=True))).split())
    assert "events may be missing" in text
    assert "no source covers it" in text


async def test_in_a_fleet_each_host_is_answered_from_its_own_engine_history(tmp_path: Path):
    """get_events(host=b) reads the history of b's engine ID, never a's, whatever the names."""

    class TwoEngines:
        routes_hosts = True

        def __init__(self) -> None:
            self.asked: list[str | None] = []

        async def get_events(self, *args: Any, host: str | None = None) -> EventsResult:
            self.asked.append(host)
            return answer([], forgot_before=-60)

        async def engine_identity(self, host: str | None = None) -> dict[str, Any]:
            return {"engine_id": f"ENGINE-{host}"}

    store = HistoryStore(tmp_path / "h.sqlite3", clock=Clock(T0))
    try:
        for name, action in (("a", "die"), ("b", "oom")):
            interval = await store.open_interval(name, f"ENGINE-{name}", T0 - 900)
            await store.record(name, f"ENGINE-{name}", [ev(action, -300)], interval)
        fleet = TwoEngines()
        result = await with_history(fleet, store).get_events("10m", **DIE_ONLY, host="b")
    finally:
        await store.close()
    assert fleet.asked == ["b"]
    assert [e["action"] for e in result["events"]] == ["oom"]
