"""get_events over the engine and the history, to the letter (issue 20: watch/timeline.py).

test_timeline.py tells the merge's stories; these pin the whole answer (every field), the
span the engine vouches for in each way its read can be cut, how gaps are cut from the
window, and the wrapper's life cycle (the history file opened once, closed by its opener).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from operator_core.results import Event, EventsResult
from operator_core.watch.history import (
    RECORDED_ACTIONS,
    RECORDED_TYPES,
    HistoryRead,
    HistoryStore,
    Span,
    iso_ns,
)
from operator_core.watch.timeline import (
    FleetHistoryEvents,
    HistoryEvents,
    _recorded,
    merge,
    open_history,
    with_history,
)

CID = "c" * 64
#: 2026-11-29T10:00:00Z.
T0 = 1_795_946_400
NS = 1_000_000_000


def at(second: int) -> str:
    """Return the time ``second`` seconds after T0."""
    return iso_ns((T0 + second) * NS)


S, U = at(-600), at(0)
WHOLE: list[Span] = [{"since": S, "until": U}]


def ev(action: str, second: int, *, kind: str = "container", detail: str | None = None) -> Event:
    """Return an event of ``web`` ``second`` seconds after T0."""
    return Event(
        time=at(second),
        type=kind,
        action=action,
        detail=detail,
        actor_id=CID,
        actor_name="web",
        exit_code=None,
        attributes={"name": "web"},
    )


def answer(
    events: list[Event] | None = None,
    *,
    truncation: list[str] | None = None,
    oldest: str | None = None,
    seen: int | None = None,
) -> EventsResult:
    """The engine's answer for [S, U]."""
    found = list(events or [])
    result = EventsResult(
        since=S,
        until=U,
        until_clamped=True,
        events=found,
        count=len(found),
        seen=len(found) if seen is None else seen,
        truncated=bool(truncation),
        truncation=list(truncation or []),
    )
    result["engine_oldest"] = oldest
    return result


def read(events: list[Event] | None = None, spans: list[Span] | None = None) -> HistoryRead:
    """Return what the history read of the window."""
    found = list(events or [])
    return HistoryRead(events=found, seen=len(found), spans=list(spans or []))


def gaps_of(engine: EventsResult, history: HistoryRead | None = None) -> list[Span]:
    """Return the gaps of a merge that counts the history's spans."""
    return merge(engine, history, 100, recorded=True)["gaps"]


def test_the_whole_answer_of_a_merge() -> None:
    """Every field: the engine's, the sources with their spans and counts, gaps, may_be_missing.

    The engine vouches from its oldest event (-60 s), the history from -500 s to -100 s:
    the rest of the window is a gap; the history's new events are added, its copy of one
    of the engine's is not.
    """
    engine = answer([ev("start", -30)], truncation=["engine_buffer"], oldest=at(-60), seen=4)
    history = read(
        [ev("die", -300), ev("oom", -200), ev("start", -30)],
        [{"since": at(-500), "until": at(-100)}],
    )
    assert merge(engine, history, 100, recorded=True) == {
        "since": S,
        "until": U,
        "until_clamped": True,
        "events": [ev("die", -300), ev("oom", -200), ev("start", -30)],
        "count": 3,
        "seen": 6,
        "truncated": True,
        "truncation": ["engine_buffer"],
        "engine_oldest": at(-60),
        "sources": [
            {"source": "engine", "spans": [{"since": at(-60), "until": U}], "count": 1},
            {"source": "history", "spans": [{"since": at(-500), "until": at(-100)}], "count": 3},
        ],
        "gaps": [{"since": S, "until": at(-500)}, {"since": at(-100), "until": at(-60)}],
        "may_be_missing": True,
    }


def test_exactly_limit_events_are_not_truncated() -> None:
    """As many events as the limit: all kept, no 'limit' in the truncation."""
    result = merge(answer([ev("die", -2)]), read([ev("die", -3)], WHOLE), 2, recorded=True)
    assert (result["count"], result["truncation"], result["truncated"]) == (2, [], False)


def test_events_of_one_moment_come_in_a_stable_order() -> None:
    """Same time, actor and action: an event without detail comes before one with."""
    engine = answer([ev("update", -5, detail="A"), ev("update", -5)])
    assert [e["detail"] for e in merge(engine, None, 100, recorded=True)["events"]] == [None, "A"]


def test_a_whole_engine_window_needs_no_history() -> None:
    """An engine read in full vouches for the window: no gap, not truncated, one source."""
    result = merge(answer([ev("die", -5)]), None, 100, recorded=True)
    assert (result["gaps"], result["may_be_missing"], result["truncated"]) == ([], False, False)
    assert result["sources"] == [{"source": "engine", "spans": WHOLE, "count": 1}]


def test_an_empty_history_read_is_no_source() -> None:
    """No span and no event from the history: it is not listed; events alone list it."""
    assert len(merge(answer(), read(), 100, recorded=True)["sources"]) == 1
    sources = merge(answer(), read([ev("die", -5)]), 100, recorded=True)["sources"]
    assert sources[1] == {"source": "history", "spans": [], "count": 1}


def test_an_engine_that_forgot_everything_vouches_for_nothing() -> None:
    """Buffer rotated and no oldest event known: the whole window is a gap."""
    assert gaps_of(answer(truncation=["engine_buffer"])) == WHOLE


def test_an_oldest_event_before_the_window_leaves_the_window_whole() -> None:
    """The engine's oldest event before the window's start: it vouches from the start."""
    assert gaps_of(answer(truncation=["engine_buffer"], oldest=at(-700))) == []


@pytest.mark.parametrize("reason", ["deadline", "read_cap"])
def test_a_cut_read_vouches_up_to_its_last_event_or_for_nothing(reason: str) -> None:
    """Cut short (deadline, read cap): up to the last event read; with none, nothing."""
    assert gaps_of(answer([ev("die", -500)], truncation=[reason])) == [
        {"since": at(-500), "until": U}
    ]
    assert gaps_of(answer([], truncation=[reason])) == WHOLE


def test_gaps_are_what_no_span_covers_in_the_window() -> None:
    """Spans in any order, overlapping or beyond the window: only the uncovered parts are gaps."""
    spans: list[Span] = [
        {"since": at(-100), "until": at(50)},
        {"since": at(-450), "until": at(-300)},
        {"since": at(-350), "until": at(-250)},
        {"since": at(-250), "until": at(-200)},
    ]
    engine = answer(truncation=["engine_buffer"])
    assert gaps_of(engine, read([], spans)) == [
        {"since": S, "until": at(-450)},
        {"since": at(-200), "until": at(-100)},
    ]


def test_a_span_past_the_window_ends_the_gaps_there() -> None:
    """A span from inside the window to past its end: no gap after it."""
    spans: list[Span] = [{"since": at(-10), "until": at(900)}]
    assert gaps_of(answer(truncation=["engine_buffer"]), read([], spans)) == [
        {"since": S, "until": at(-10)}
    ]


def test_engine_buffer_stays_only_while_a_gap_remains_and_limit_is_said() -> None:
    """Covered by the history: engine_buffer goes; over the limit: 'limit', oldest dropped."""
    engine = answer([ev("die", -2), ev("die", -1)], truncation=["engine_buffer"], oldest=at(-60))
    result = merge(engine, read([ev("oom", -300)], WHOLE), 2, recorded=True)
    assert (result["truncation"], result["truncated"]) == (["limit"], True)
    assert [e["time"] for e in result["events"]] == [at(-2), at(-1)]
    assert (result["count"], result["seen"]) == (2, 3)


def test_events_differing_only_in_type_or_detail_are_both_kept() -> None:
    """The merge keys on time, type, actor, action and detail."""
    engine = answer([ev("update", -5), ev("update", -4, detail="a")])
    history = read([ev("update", -5, kind="service"), ev("update", -4, detail="b")])
    result = merge(engine, history, 100, recorded=True)
    assert result["count"] == 4


# --- the wrapper --------------------------------------------------------------------------------


class Inner:
    """An executor with an engine answer, an identity, and something else to delegate."""

    routes_hosts = False

    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    async def get_events(self, *args: Any, **host: str) -> EventsResult:
        self.asked.append((*args, host))
        return answer([ev("start", -5)])

    async def engine_identity(self, **host: str) -> dict[str, Any]:
        return {"engine_id": f"E-{host.get('host', 'lone')}"}

    def other(self) -> str:
        return "delegated"


async def test_the_wrapper_passes_the_query_on_and_reads_the_engine_s_history(
    tmp_path: Path,
) -> None:
    """Every argument goes to the engine; the history is read for that engine's ID."""
    store = HistoryStore(tmp_path / "h.sqlite3")
    api = ev("die", -60)
    api["actor_id"], api["actor_name"] = "s" * 64, "api.1"
    api["attributes"] = {"com.docker.swarm.service.name": "api"}
    db = ev("die", -80)
    db["actor_id"], db["actor_name"] = "d" * 64, "db"
    await store.record(
        "a", "E-a", [ev("die", -100), ev("oom", -90), db, ev("die", -70, kind="service"), api], None
    )
    inner = Inner()
    wrapped = HistoryEvents(inner, store)  # type: ignore[arg-type]
    result = await wrapped.get_events(S, U, "web", None, ["container"], ["die"], 7, host="a")
    assert inner.asked == [(S, U, "web", None, ["container"], ["die"], 7, {"host": "a"})]
    assert [(e["action"], e["time"]) for e in result["events"]] == [
        ("die", at(-100)),
        ("start", at(-5)),
    ]
    result = await wrapped.get_events(S, U, service="api", host="a")
    assert [e["time"] for e in result["events"]] == [at(-60), at(-5)]
    assert wrapped.other() == "delegated"
    await wrapped.close_history()
    assert store.status()  # a store handed in is the caller's to close
    await store.close()


async def test_a_history_path_is_opened_once_and_closed_by_the_wrapper(tmp_path: Path) -> None:
    """A path: opened at the first get_events when the file exists, then closed by close_history."""
    path = tmp_path / "h.sqlite3"
    missing = HistoryEvents(Inner(), tmp_path / "none.sqlite3")  # type: ignore[arg-type]
    assert [s["source"] for s in (await missing.get_events(S))["sources"]] == ["engine"]
    assert [s["source"] for s in (await missing.get_events(S))["sources"]] == ["engine"]
    assert not (tmp_path / "none.sqlite3").exists()
    assert open_history(tmp_path / "none.sqlite3") is None
    HistoryStore(path).close_now()
    wrapped = HistoryEvents(Inner(), path)  # type: ignore[arg-type]
    await wrapped.get_events(S)
    first = wrapped._history()
    await wrapped.get_events(S)
    assert wrapped._history() is first is not None
    await wrapped.close_history()
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        first.status()
    await wrapped.close_history()


def test_a_fleet_is_wrapped_so_its_host_routing_stays() -> None:
    """An executor that routes hosts gets the fleet wrapper; any other the plain one."""

    class Routing(Inner):
        routes_hosts = True

    assert type(with_history(Routing(), None)) is FleetHistoryEvents  # type: ignore[arg-type]
    assert type(with_history(Inner(), None)) is HistoryEvents  # type: ignore[arg-type]
    assert FleetHistoryEvents.routes_hosts is True


@pytest.mark.parametrize(
    ("types", "actions", "vouches"),
    [
        (list(RECORDED_TYPES), list(RECORDED_ACTIONS), True),
        (["container"], ["die"], True),
        (["image"], ["die"], False),
        (["container"], ["exec_start"], False),
        (None, ["die"], False),
        (["container"], None, False),
    ],
)
def test_the_history_vouches_for_queries_of_recorded_kinds_only(
    types: list[str] | None, actions: list[str] | None, vouches: bool
) -> None:
    """Every type and action asked must be recorded (all of them at once included)."""
    assert _recorded(types, actions) is vouches
