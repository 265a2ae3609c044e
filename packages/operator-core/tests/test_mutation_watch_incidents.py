"""The incident rules to the letter (issue 20's mutation goal for watch/incidents.py).

test_incidents.py tells the rules' stories; these tests pin what each report says (every
field a consumer reads: the healer, the alert sinks, the CLI) and where each rule's edge
lies (a window's last instant is still in it). Times are engine times on 2026-11-29 from
10:00:00; the detector's clock is a fake the tests move.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

import pytest

from operator_core.audit import AuditRecord, MemoryAuditSink
from operator_core.errors import InvalidInput
from operator_core.results import ContainerSummary, Event
from operator_core.watch import IncidentDetector
from operator_core.watch._incident_types import (
    Held,
    Seen,
    Timer,
    held_verdict,
    iso_of,
    looping,
    unix_of,
)
from operator_core.watch.intents import AuditIntents
from test_incidents import CID, T0, Clock, ev

OTHER = "e" * 64


def run(detector: IncidentDetector, clock: Clock, *steps: Event | float) -> list[dict[str, Any]]:
    """Feed events (the clock follows each one) or move the clock (a number); return all."""
    found: list[dict[str, Any]] = []
    for step in steps:
        if isinstance(step, int | float):
            clock.at(step)
            found += [dict(i) for i in detector.due()]
            continue
        clock.now = max(clock.now, unix_of(step["time"]))
        found += [dict(i) for i in detector.feed(step, "eng1", "ENGINE-1")]
        found += [dict(i) for i in detector.due()]
    return found


def brief(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Return (kind, status) of each incident."""
    return [(i["kind"], i["status"]) for i in found]


def listed(
    health: str | None, status: str = "running", restarts: int = 0, cid: str = CID
) -> ContainerSummary:
    """Return a listing entry of ``web`` as list_containers gives it (started 30 s before)."""
    values: dict[str, Any] = {
        "id": cid,
        "container_id": cid,
        "name": "web",
        "status": status,
        "health": health,
        "restart_count": restarts,
        "exit_code": None,
        "finished_at": None,
        "started_at": datetime.fromtimestamp(T0 - 30, UTC).isoformat(),
        "labels": {"autoheal": "true"},
    }
    return cast(ContainerSummary, values)


def at(second: float) -> str:
    """Return the ISO time (as incidents say it) ``second`` past 10:00:00."""
    return datetime.fromtimestamp(T0 + second, UTC).isoformat().replace("+00:00", "Z")


def without_id(incident: dict[str, Any]) -> dict[str, Any]:
    """Return the incident without its (opaque) id."""
    return {k: v for k, v in incident.items() if k != "incident_id"}


def report(
    kind: str, status: str, time: str, since: str, message: str, **more: Any
) -> dict[str, Any]:
    """Return an incident of ``web`` (CID) on eng1 / ENGINE-1 with these fields."""
    return {
        "kind": kind,
        "status": status,
        "host": "eng1",
        "engine_id": "ENGINE-1",
        "container_id": CID,
        "name": "web",
        "time": time,
        "since": since,
        "exit_code": more.get("exit_code"),
        "count": more.get("count"),
        "message": f"eng1: web {message}",
        "labels": {"autoheal": "true"},
    }


@pytest.fixture
def clock() -> Clock:
    """A fake clock at 10:00:00."""
    return Clock()


@pytest.fixture
def rules(clock: Clock) -> IncidentDetector:
    """More than 3 deaths in 60 s is a loop."""
    return IncidentDetector(loop_restarts=3, loop_window_s=60, clock=clock)


# --- what each report says -------------------------------------------------------------------


def test_a_died_report_says_when_which_container_and_its_exit_code(
    rules: IncidentDetector, clock: Clock
) -> None:
    """A died report: the die's own time, since then, its exit code, no count."""
    (died,) = run(rules, clock, ev("die", 1.5, code=3))
    assert without_id(died) == report(
        "died", "firing", ev("die", 1.5)["time"], at(1.5), "died with exit code 3", exit_code=3
    )


def test_a_lone_engines_report_names_the_container_without_a_host(clock: Clock) -> None:
    """No host, no engine id, no name: the message starts with the short container id."""
    rules = IncidentDetector(clock=clock)
    event = ev("die", 0, code=2)
    event["actor_name"] = ""
    (died,) = rules.feed(event)
    assert (died["host"], died["engine_id"], died["name"]) == (None, None, None)
    assert died["message"] == f"{CID[:12]} died with exit code 2"


def test_an_engine_id_or_name_once_known_is_kept_when_an_event_lacks_it(clock: Clock) -> None:
    """A later event without the engine's id or the container's name keeps what was known."""
    rules = IncidentDetector(clock=clock)
    rules.feed(ev("start", 0), "eng1", "ENGINE-1")
    nameless = ev("die", 1, code=4)
    nameless["actor_name"] = ""
    (died,) = rules.feed(nameless, "eng1", None)
    assert (died["engine_id"], died["name"], died["message"]) == (
        "ENGINE-1",
        "web",
        "eng1: web died with exit code 4",
    )


def test_events_of_other_objects_are_ignored(rules: IncidentDetector, clock: Clock) -> None:
    """Only container events with an actor count; an image's or actorless event says nothing."""
    image = ev("die", 0, code=1)
    image["type"] = "image"
    actorless = ev("die", 1, code=1)
    actorless["actor_id"] = ""
    assert rules.feed(image, "eng1") == []
    assert rules.feed(actorless, "eng1") == []
    assert rules._seen == {}


def test_incident_ids_are_one_per_incident(clock: Clock) -> None:
    """Same container and start: one id; another container, host or start: another id."""
    ids = set()
    for host, cid, second in [("eng1", CID, 0), ("eng2", CID, 0), ("eng1", OTHER, 0)]:
        rules = IncidentDetector(clock=clock)
        ids.add(rules.feed(ev("die", second, code=1, cid=cid), host)[0]["incident_id"])
    rules = IncidentDetector(clock=clock)
    ids.add(rules.feed(ev("die", 1, code=1), "eng1")[0]["incident_id"])
    assert len(ids) == 4
    assert all(len(i) == 20 for i in ids)


def test_a_restart_loop_reports_say_its_count_its_start_and_its_end(
    rules: IncidentDetector, clock: Clock
) -> None:
    """Firing: since the first death in the window; updates and resolve keep that start."""
    deaths = [ev("die", s, code=1) for s in (0, 10, 20, 30)]
    loop = run(rules, clock, *deaths)[-1]
    assert without_id(loop) == report(
        "restart_loop",
        "firing",
        deaths[-1]["time"],
        at(0),
        "died 4 times within 60s: a restart loop",
        exit_code=1,
        count=4,
    )
    # The next summary comes 300 s after the firing, at the first death from then on.
    assert run(rules, clock, ev("die", 329, code=1)) == []
    (update,) = run(rules, clock, ev("die", 330, code=2))
    assert without_id(update) == report(
        "restart_loop",
        "update",
        ev("die", 330)["time"],
        at(0),
        "is still restarting in a loop: 6 deaths since it began",
        exit_code=2,
        count=6,
    )
    (resolved,) = run(rules, clock, 930)
    assert without_id(resolved) == report(
        "restart_loop",
        "resolved",
        at(930),
        at(0),
        "has not died for 600s: the restart loop is over",
        count=6,
    )
    assert resolved["incident_id"] == loop["incident_id"] == update["incident_id"]
    # Over: the next deaths are died lines again, and a new loop needs 4 more.
    assert brief(run(rules, clock, ev("die", 940, code=1))) == [("died", "firing")]


def test_a_loop_window_s_last_instant_is_in_the_window(
    rules: IncidentDetector, clock: Clock
) -> None:
    """Four deaths exactly 60 s from first to last are a loop; 60.5 s are not."""
    found = run(rules, clock, *(ev("die", s, code=1) for s in (0, 20, 40, 60)))
    assert brief(found)[-1] == ("restart_loop", "firing")
    other = IncidentDetector(loop_restarts=3, loop_window_s=60, clock=clock)
    found = run(other, clock, *(ev("die", s, code=1) for s in (100, 120, 140, 160.5)))
    assert brief(found) == [("died", "firing")] * 4


def test_a_removed_loop_resolves_saying_so(rules: IncidentDetector, clock: Clock) -> None:
    """A looping container removed: resolved at the destroy's time, 'was removed'."""
    found = run(rules, clock, *(ev("die", s, code=1) for s in range(4)), ev("destroy", 5))
    assert without_id(found[-1]) == report(
        "restart_loop", "resolved", ev("destroy", 5)["time"], at(0), "was removed", count=4
    )


def test_an_oom_reports_say_how_many_kills_in_how_long(
    rules: IncidentDetector, clock: Clock
) -> None:
    """One OOM: 'was OOM-killed'; a burst: its count and span; the firing's time is the clock's."""
    (single,) = run(rules, clock, ev("oom", 0), 2.0)
    assert without_id(single) == report(
        "oom_killed", "firing", at(2), at(0), "was OOM-killed by the kernel", count=1
    )
    rules = IncidentDetector(clock=clock)
    clock.at(100)
    burst = run(rules, clock, ev("oom", 100), ev("oom", 101), ev("oom", 101.6), 102.0)
    assert without_id(burst[0]) == report(
        "oom_killed",
        "firing",
        at(102),
        at(100),
        "was OOM-killed by the kernel: 3 OOM kills in 2s",
        count=3,
    )
    # The next report is an update 300 s after the firing's oom, at the oom's own time.
    assert run(rules, clock, *(ev("oom", s) for s in (150, 200, 250, 300, 350, 399.9))) == []
    (update,) = run(rules, clock, ev("oom", 400))
    assert without_id(update) == report(
        "oom_killed",
        "update",
        at(400),
        at(100),
        "was OOM-killed by the kernel: 10 OOM kills in 300s",
        count=10,
    )
    assert update["incident_id"] == burst[0]["incident_id"]


def test_an_oom_burst_firing_waits_for_the_hold(rules: IncidentDetector, clock: Clock) -> None:
    """The firing comes when the clock reaches the hold's end, not a moment before."""
    assert run(rules, clock, ev("oom", 0.5), 2.49) == []
    assert brief(run(rules, clock, 2.5)) == [("oom_killed", "firing")]
    assert run(rules, clock, 10) == []


def test_ooms_exactly_a_minute_apart_are_two_incidents(
    rules: IncidentDetector, clock: Clock
) -> None:
    """The fold's window ends before 60 s: ooms 59.9 s apart fold, 60 s apart do not."""
    found = run(rules, clock, ev("oom", 0), 3, ev("oom", 59.9), 63, ev("oom", 119.9), 123)
    assert brief(found) == [("oom_killed", "firing"), ("oom_killed", "firing")]
    assert (found[0]["since"], found[1]["since"]) == (at(0), at(119.9))


def test_an_oom_explains_a_die_for_ten_seconds(rules: IncidentDetector, clock: Clock) -> None:
    """A die 9.9 s after an oom says nothing; 10 s after, it is a died line."""
    assert brief(run(rules, clock, ev("oom", 0), ev("die", 9.9, code=137), 12)) == [
        ("oom_killed", "firing")
    ]
    assert brief(run(rules, clock, ev("oom", 100), ev("die", 110, code=137), 112)) == [
        ("died", "firing"),
        ("oom_killed", "firing"),
    ]


def test_a_container_removed_during_an_oom_hold_still_gets_its_oom(
    rules: IncidentDetector, clock: Clock
) -> None:
    """A `rm -f` right after an oom: the held OOM still fires; a destroy later forgets it."""
    found = run(rules, clock, ev("oom", 0), ev("destroy", 0.5), 3)
    assert brief(found) == [("oom_killed", "firing")]
    assert run(rules, clock, ev("destroy", 5)) == []
    assert rules._seen == {}


def test_unhealthy_reports_say_when_it_turned_and_when_it_recovered(
    rules: IncidentDetector, clock: Clock
) -> None:
    """'turned unhealthy' at the event; 'starting' says nothing; 'is healthy again' resolves."""
    found = run(
        rules,
        clock,
        ev("health_status", 1, detail="unhealthy"),
        ev("health_status", 2, detail="starting"),
        ev("health_status", 3, detail="healthy"),
    )
    moment = ev("health_status", 1)["time"]
    assert [without_id(i) for i in found] == [
        report("unhealthy", "firing", moment, at(1), "turned unhealthy"),
        report("unhealthy", "resolved", ev("health_status", 3)["time"], at(1), "is healthy again"),
    ]


# --- deaths somebody asked for ---------------------------------------------------------------


def test_a_released_death_keeps_the_die_s_time_and_exit_code(
    rules: IncidentDetector, clock: Clock
) -> None:
    """A restart's die: 'was restarted' at the die's time, with its exit code."""
    die = ev("die", 0.5, code=137)
    (restarted,) = run(rules, clock, ev("kill", 0, signal="15"), die, ev("restart", 1))
    assert without_id(restarted) == report(
        "restarted", "info", die["time"], at(0.5), "was restarted (exit code 137)", exit_code=137
    )


def test_a_kill_explains_a_die_for_sixty_seconds_after_it(
    rules: IncidentDetector, clock: Clock
) -> None:
    """A die 60 s after a kill is held as asked for; 60.5 s after, or before it, it is died."""
    held = run(rules, clock, ev("kill", 0, signal="9"), ev("die", 60, code=137), 63)
    assert brief(held) == [("stopped", "info")]
    late = run(rules, clock, ev("kill", 100, signal="9"), ev("die", 160.5, code=137))
    assert brief(late) == [("died", "firing")]
    early = run(rules, clock, ev("kill", 300, signal="9"), ev("die", 299, code=137))
    assert brief(early) == [("died", "firing")]


def test_a_second_death_releases_the_first_with_what_it_had(
    rules: IncidentDetector, clock: Clock
) -> None:
    """A held death followed by another: the first is the kill it was, then the second's turn."""
    found = run(
        rules,
        clock,
        ev("kill", 0, signal="9"),
        ev("die", 0.5, code=137),
        ev("die", 1, code=3),
    )
    assert [(i["kind"], i["message"]) for i in found] == [
        ("stopped", "eng1: web was killed on request (signal 9) (exit code 137)"),
        ("died", "eng1: web died with exit code 3"),
    ]


def test_a_held_death_is_released_exactly_when_the_hold_ends(clock: Clock) -> None:
    """The hold ends at the die's clock time plus hold_s: released then, not before."""
    rules = IncidentDetector(hold_s=1.5, clock=clock)
    assert run(rules, clock, ev("kill", 0, signal="9"), ev("die", 0.5, code=137), 1.99) == []
    assert brief(run(rules, clock, 2.0)) == [("stopped", "info")]


def test_a_stop_holds_a_death_a_full_hold_from_then(clock: Clock) -> None:
    """A stop extends the hold to hold_s after it (once); a start later still says restarted."""
    rules = IncidentDetector(hold_s=2, clock=clock)
    found = run(rules, clock, ev("kill", 0, signal="15"), ev("die", 0.1, code=0), ev("stop", 1.5))
    assert found == []
    assert run(rules, clock, 3.49) == []
    assert brief(run(rules, clock, ev("start", 3.49))) == [("restarted", "info")]
    found = run(
        rules, clock, ev("kill", 10, signal="15"), ev("die", 10.1, code=0), ev("stop", 11.5), 13.5
    )
    assert [(i["kind"], i["message"]) for i in found] == [
        ("stopped", "eng1: web was stopped (exit code 0)")
    ]


def test_a_stopped_container_removed_was_stopped(rules: IncidentDetector, clock: Clock) -> None:
    """A stop then rm: the held death was a stop, said at the destroy."""
    found = run(
        rules,
        clock,
        ev("kill", 0, signal="15"),
        ev("die", 0.5, code=137),
        ev("stop", 0.6),
        ev("destroy", 0.7),
    )
    assert [(i["kind"], i["message"]) for i in found] == [
        ("stopped", "eng1: web was stopped (exit code 137)")
    ]


def audit_of(**fields: Any) -> AuditIntents:
    """Return intents from a trail holding one allowed, pending call on ``web``."""
    values: dict[str, Any] = {
        "time": "",
        "ts": T0 - 1,
        "actor": "alice",
        "tool": "docker_stop_container",
        "container": CID,
        "container_id": CID,
        "host": "eng1",
        "decision": "allowed",
        "outcome": "pending",
        **fields,
    }
    audit = MemoryAuditSink()
    record = AuditRecord(**values)
    audit._records[record.id] = record
    return AuditIntents(audit)


@pytest.mark.parametrize(
    ("fields", "kind", "says"),
    [
        ({}, "stopped", "was stopped by alice (docker_stop_container)"),
        ({"actor": None}, "stopped", "was stopped by the operator (docker_stop_container)"),
        (
            {"tool": "docker_restart_container"},
            "restarted_by_operator",
            "was restarted by alice (docker_restart_container)",
        ),
    ],
)
def test_an_operator_call_says_who_asked_and_with_which_tool(
    clock: Clock, fields: dict[str, Any], kind: str, says: str
) -> None:
    """A death an audit record explains names its verb, actor (or 'the operator') and tool."""
    rules = IncidentDetector(clock=clock, intents=audit_of(**fields))
    (found,) = run(rules, clock, ev("kill", 0, signal="15"), ev("die", 1, code=0))
    assert (found["kind"], found["message"]) == (kind, f"eng1: web {says} (exit code 0)")


def test_a_held_verdict_without_a_hold_is_a_kill_of_unknown_signal() -> None:
    """Nothing held and no intent: 'was killed on request (signal ?)'."""
    seen = Seen("eng1", None, CID)
    assert held_verdict(seen, None) == ("stopped", "was killed on request (signal ?)")
    assert held_verdict(seen, ("removed", "x")) == ("removed", "x")


# --- the listing at (re)connect ---------------------------------------------------------------


def test_listing_reports_say_what_the_listing_showed(rules: IncidentDetector, clock: Clock) -> None:
    """At start: 'is unhealthy' and 'is restarting in a loop (N restarts so far)', at now."""
    clock.at(5)
    found = rules.current("eng1", "ENGINE-1", [listed("unhealthy", "running", 7)])
    assert [without_id(dict(i)) for i in found] == [
        report("unhealthy", "firing", at(5), at(5), "is unhealthy"),
        report(
            "restart_loop",
            "firing",
            at(5),
            at(5),
            "is restarting in a loop (7 restarts so far)",
            count=7,
        ),
    ]
    clock.at(9)
    (healthy,) = rules.current("eng1", "ENGINE-1", [listed("healthy", "running", 7)])
    assert without_id(dict(healthy)) == report(
        "unhealthy", "resolved", at(9), at(5), "is no longer unhealthy"
    )
    rules.current("eng1", "ENGINE-1", [listed("unhealthy")])
    (gone,) = rules.current("eng1", "ENGINE-1", [])
    assert gone["message"] == "eng1: web is gone"


def test_another_hosts_listing_leaves_this_hosts_containers_alone(
    rules: IncidentDetector, clock: Clock
) -> None:
    """A container missing from another host's listing is not 'gone'."""
    rules.current("eng1", "ENGINE-1", [listed("unhealthy")])
    assert rules.current("eng2", "ENGINE-2", []) == []


def test_a_listed_loop_is_more_restarts_than_the_rule_within_the_window() -> None:
    """Exactly ``restarts`` restarts is no loop, one more is; started window_s ago counts."""
    entry = listed(None, "running", 3)
    started = T0 - 30
    assert not looping(entry, started + 10, restarts=3, window_s=60)
    entry["restart_count"] = 4
    assert looping(entry, started + 60, restarts=3, window_s=60)
    assert not looping(entry, started + 60.5, restarts=3, window_s=60)
    entry["started_at"] = None
    assert not looping(entry, started, restarts=3, window_s=60)


def shutdown(rules: IncidentDetector, clock: Clock, cid: str = CID) -> None:
    """List ``cid`` running at 0, end its host's stream at 100 (clock), list again at 130."""
    rules.current("eng1", "ENGINE-1", [listed(None, cid=cid)])
    clock.at(100)
    rules.ended("eng1")
    clock.at(130)


def exited(finished: float, code: int | None = 137, status: str = "exited") -> Any:
    """Return a listing entry of ``web`` that finished ``finished`` s past 10:00:00."""
    entry = listed(None, status)
    entry["finished_at"], entry["exit_code"] = at(finished), code
    return entry


@pytest.mark.parametrize("finished", [40.0, 105.0])
def test_a_shutdown_death_is_said_up_to_the_windows_edges(
    rules: IncidentDetector, clock: Clock, finished: float
) -> None:
    """Finished from 60 s before the stream ended to 5 s after it: the shutdown's, said once."""
    shutdown(rules, clock)
    (found,) = rules.current("eng1", "ENGINE-1", [exited(finished)])
    assert without_id(dict(found)) == report(
        "engine_stopped",
        "info",
        at(finished),
        at(finished),
        "stopped: its engine shut down (exit code 137)",
        exit_code=137,
    )


@pytest.mark.parametrize("finished", [39.5, 105.5])
def test_a_death_outside_the_shutdown_window_is_not_said(
    rules: IncidentDetector, clock: Clock, finished: float
) -> None:
    """Finished more than 60 s before the end, or 5 s after it: not the shutdown's."""
    shutdown(rules, clock)
    assert rules.current("eng1", "ENGINE-1", [exited(finished)]) == []


def test_a_shutdown_death_without_an_exit_code_says_none(
    rules: IncidentDetector, clock: Clock
) -> None:
    """No exit code listed: the line has none and the report's exit_code is None."""
    shutdown(rules, clock)
    (found,) = rules.current("eng1", "ENGINE-1", [exited(98, code=None)])
    assert (found["message"], found["exit_code"]) == (
        "eng1: web stopped: its engine shut down",
        None,
    )


@pytest.mark.parametrize("status", ["running", "restarting"])
def test_a_container_running_again_after_the_shutdown_is_not_said_stopped(
    rules: IncidentDetector, clock: Clock, status: str
) -> None:
    """Its restart policy brought it back (running or restarting): no engine_stopped."""
    shutdown(rules, clock)
    found = rules.current("eng1", "ENGINE-1", [exited(98, status=status)])
    assert "engine_stopped" not in [i["kind"] for i in found]


def test_only_a_container_known_to_run_and_a_stream_that_ended_say_a_shutdown(
    rules: IncidentDetector, clock: Clock
) -> None:
    """Never seen running, or no stream end since the last listing: nothing is said."""
    shutdown(rules, clock, cid=OTHER)
    assert rules.current("eng1", "ENGINE-1", [exited(98)]) == []
    rules.current("eng1", "ENGINE-1", [listed(None)])
    clock.at(200)
    assert rules.current("eng1", "ENGINE-1", [exited(198)]) == []


def test_held_deaths_of_another_host_are_not_its_shutdown(
    rules: IncidentDetector, clock: Clock
) -> None:
    """A host's stream ending releases its own held deaths only, as engine_stopped."""
    rules.feed(ev("kill", 0, signal="15"), "eng1", "ENGINE-1")
    rules.feed(ev("die", 0.5, code=137), "eng1", "ENGINE-1")
    assert rules.ended("eng2") == []
    (found,) = rules.ended("eng1")
    assert without_id(dict(found)) == report(
        "engine_stopped",
        "info",
        ev("die", 0.5)["time"],
        at(0.5),
        "stopped: its engine shut down (exit code 137)",
        exit_code=137,
    )


# --- the rules' own bounds --------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"loop_restarts": 1},
        {"loop_restarts": 1000},
        {"loop_window_s": 1},
        {"loop_window_s": 86400},
        {"hold_s": 0},
        {"hold_s": 10},
    ],
)
def test_rules_at_their_bounds_are_taken(kwargs: dict[str, Any]) -> None:
    """Each bound itself is a valid rule."""
    rules = IncidentDetector(**kwargs)
    for key, value in kwargs.items():
        assert getattr(rules, key) == value


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({"loop_restarts": 1001}, "loop_restarts must be from 1 to 1000, got 1001"),
        ({"loop_restarts": 2.0}, "loop_restarts must be a whole number"),
        ({"loop_window_s": 0.5}, "loop_window_s must be from 1 to 86400 s, got 0.5"),
        ({"loop_window_s": 86401}, "loop_window_s must be from 1 to 86400 s, got 86401"),
        ({"hold_s": 10.5}, "hold_s must be from 0 to 10 s, got 10.5"),
        ({"hold_s": "1"}, "hold_s must be from 0 to 10 s, got '1'"),
    ],
)
def test_rules_past_their_bounds_are_refused_saying_which(
    kwargs: dict[str, Any], says: str
) -> None:
    """A rule out of bounds is InvalidInput naming the rule, its bounds and the value."""
    with pytest.raises(InvalidInput) as refused:
        IncidentDetector(**kwargs)
    assert str(refused.value) == says


def test_an_idle_container_is_one_no_rule_can_still_use() -> None:
    """Idle once every window (loop, OOM fold, kill) has passed; never while something is open."""
    seen = Seen("eng1", None, CID)
    seen.dies.append(T0)
    seen.last_oom, seen.last_kill = T0 + 10, T0 + 20
    assert not seen.idle(T0 + 60, loop_window_s=60, oom_fold_s=50, kill_s=40)
    assert seen.idle(T0 + 60.5, loop_window_s=60, oom_fold_s=50, kill_s=40)
    assert not seen.idle(T0 + 60.5, loop_window_s=61, oom_fold_s=50, kill_s=40)
    assert not seen.idle(T0 + 60.5, loop_window_s=60, oom_fold_s=51, kill_s=40)
    assert not seen.idle(T0 + 60.5, loop_window_s=60, oom_fold_s=50, kill_s=41)
    seen.held = Held(event=ev("die", 0), at=T0, until=T0, signal=None)
    assert not seen.idle(T0 + 1000, 1, 1, 1)
    seen.held = None
    seen.oom = Timer(since=T0, reported=T0, last=T0, held_until=T0 + 2)
    assert not seen.idle(T0 + 1000, 1, 1, 1)
    seen.oom.held_until = None
    assert seen.idle(T0 + 1000, 1, 1, 1)
    for timer in ("loop", "unhealthy"):
        setattr(seen, timer, Timer(since=T0, reported=T0, last=T0))
        assert not seen.idle(T0 + 1000, 1, 1, 1)
        setattr(seen, timer, None)
    assert Seen("eng1", None, CID).idle(T0, 1, 1, 1)


def events_of(n: int) -> list[Event]:
    """Return ``n`` clean exits of distinct containers, one a minute."""
    return [ev("die", m * 60, code=0, cid=f"{m:064x}") for m in range(n)]


def test_the_sweep_forgets_idle_containers_every_thousand_events(clock: Clock) -> None:
    """At the 1000th event the containers out of every window are forgotten, not before."""
    rules = IncidentDetector(clock=clock)
    for event in events_of(999):
        rules.feed(event, "eng1")
    assert len(rules._seen) == 999
    rules.feed(ev("die", 999 * 60, code=0, cid="f" * 64), "eng1")
    assert 0 < len(rules._seen) < 10


# --- times and labels ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "unix"),
    [
        ("2026-11-29T10:00:00Z", T0),
        (" 2026-11-29T10:00:00.25Z ", T0 + 0.25),
        ("2026-11-29T10:00:00.000000001Z", T0 + 1e-9),
        ("2026-11-29T12:00:00+02:00", T0),
        ("2026-11-29T08:30:00-0130", T0),
        ("2026-11-29T10:00:00", T0),
    ],
)
def test_engine_times_of_every_form_read_as_unix_time(moment: str, unix: float) -> None:
    """RFC 3339 with or without a fraction, Z, an offset (with or without colon), or none."""
    assert unix_of(moment) == pytest.approx(unix, abs=1e-9)


def test_a_moment_that_is_no_time_is_refused_naming_it() -> None:
    """Not a time: ValueError saying which text."""
    with pytest.raises(ValueError, match="not a time: '  '"):
        unix_of("  ")


def test_incident_times_are_iso_utc_with_a_fraction_only_when_there_is_one() -> None:
    """Whole seconds: no fraction; otherwise microseconds; always Z."""
    assert iso_of(T0) == "2026-11-29T10:00:00Z"
    assert iso_of(T0 + 0.5) == "2026-11-29T10:00:00.500000Z"


def test_a_containers_labels_leave_out_the_event_attributes_and_hide_secrets() -> None:
    """name, image, exitCode, signal, execDuration are not labels; secret-looking values go."""
    seen = Seen("eng1", None, CID)
    seen.labels = {
        "name": "web",
        "image": "busybox",
        "exitCode": "1",
        "signal": "9",
        "execDuration": "3",
        "team": "blue",
        "db_password": "hunter2",
    }
    assert seen.safe_labels() == {"team": "blue", "db_password": "[REDACTED]"}


# --- what the events teach the detector -----------------------------------------------------------


def test_a_kill_explains_one_death_only(rules: IncidentDetector, clock: Clock) -> None:
    """A die after a kill is held once; the next die (no new kill) is unrequested."""
    found = run(rules, clock, ev("kill", 0, signal="9"), ev("die", 0.5, code=137), 3)
    assert brief(found) == [("stopped", "info")]
    assert brief(run(rules, clock, ev("die", 30, code=137))) == [("died", "firing")]


def test_a_die_without_an_exit_code_says_nothing(rules: IncidentDetector, clock: Clock) -> None:
    """No exit code, like exit 0, is no 'died' line."""
    assert run(rules, clock, ev("die", 0)) == []


def test_after_a_loop_is_over_its_deaths_no_longer_count(clock: Clock) -> None:
    """A resolved loop starts counting afresh: the next death is a died line, not a new loop."""
    rules = IncidentDetector(loop_restarts=3, loop_window_s=3600, clock=clock)
    run(rules, clock, *(ev("die", s, code=1) for s in (0, 10, 20, 30)))
    assert brief(run(rules, clock, 630)) == [("restart_loop", "resolved")]
    assert brief(run(rules, clock, ev("die", 640, code=1))) == [("died", "firing")]


def test_a_container_seen_starting_then_lost_in_a_shutdown_is_said(
    rules: IncidentDetector, clock: Clock
) -> None:
    """Running as its start event said, exited as the stream ended: engine_stopped."""
    run(rules, clock, ev("start", 0))
    clock.at(100)
    rules.ended("eng1")
    (found,) = rules.current("eng1", "ENGINE-1", [exited(98)])
    assert found["kind"] == "engine_stopped"


def test_a_container_whose_death_was_seen_is_not_said_again_by_the_listing(
    rules: IncidentDetector, clock: Clock
) -> None:
    """Its die event came before the stream ended: the listing says nothing more of it."""
    run(rules, clock, ev("start", 0), ev("die", 97, code=3))
    clock.at(100)
    rules.ended("eng1")
    assert rules.current("eng1", "ENGINE-1", [exited(97)]) == []


def test_a_replayed_death_is_silent_up_to_five_seconds_past_the_listed_one(
    rules: IncidentDetector, clock: Clock
) -> None:
    """The listing said it: a die up to 5 s after that time is its replay; later, a new death."""
    shutdown(rules, clock)
    rules.current("eng1", "ENGINE-1", [exited(95)])
    assert run(rules, clock, ev("die", 100, code=137)) == []
    assert brief(run(rules, clock, ev("die", 100.5, code=137))) == [("died", "firing")]


def test_labels_come_from_the_events_that_describe_the_container(
    rules: IncidentDetector, clock: Clock
) -> None:
    """A kill's, stop's or restart's attributes are not taken as the container's labels."""

    def with_team(event: Event, team: str) -> Event:
        event["attributes"] = {"name": "web", "team": team}
        return event

    found = run(
        rules,
        clock,
        with_team(ev("kill", 0, signal="9"), "red"),
        with_team(ev("die", 0.5, code=137), "green"),
        with_team(ev("stop", 0.6), "red"),
        3,
        with_team(ev("kill", 10, signal="9"), "red"),
        with_team(ev("die", 10.5, code=137), "blue"),
        with_team(ev("restart", 10.6), "red"),
    )
    assert [(i["kind"], i["labels"]) for i in found] == [
        ("stopped", {"team": "green"}),
        ("restarted", {"team": "blue"}),
    ]


def test_a_stream_end_releases_every_held_death_of_the_host(
    rules: IncidentDetector, clock: Clock
) -> None:
    """Two containers held when the stream ends: both are engine_stopped."""
    for cid in (CID, OTHER):
        rules.feed(ev("kill", 0, signal="15", cid=cid), "eng1", "ENGINE-1")
        rules.feed(ev("die", 0.5, code=137, cid=cid), "eng1", "ENGINE-1")
    found = rules.ended("eng1")
    assert sorted((i["kind"], i["container_id"]) for i in found) == [
        ("engine_stopped", CID),
        ("engine_stopped", OTHER),
    ]


def test_a_listing_says_every_change_of_every_container(
    rules: IncidentDetector, clock: Clock
) -> None:
    """One container turning unhealthy, one recovering, one gone: all three said at once."""
    gone = "f" * 64
    rules.current(
        "eng1", "ENGINE-1", [listed("unhealthy", cid=OTHER), listed("unhealthy", cid=gone)]
    )
    found = rules.current("eng1", "ENGINE-1", [listed("unhealthy"), listed("healthy", cid=OTHER)])
    assert [(i["status"], i["container_id"]) for i in found] == [
        ("firing", CID),
        ("resolved", OTHER),
        ("resolved", gone),
    ]


def test_a_loop_found_in_a_listing_folds_deaths_and_resolves_like_any(
    rules: IncidentDetector, clock: Clock
) -> None:
    """A listed loop: later deaths fold into it silently; 10 min quiet resolves it."""
    rules.current("eng1", "ENGINE-1", [listed(None, "running", 7)])
    assert run(rules, clock, ev("die", 10, code=1)) == []
    (resolved,) = run(rules, clock, 610)
    assert (resolved["kind"], resolved["status"], resolved["count"]) == (
        "restart_loop",
        "resolved",
        8,
    )


def test_two_ooms_in_the_hold_are_counted_in_the_firing(
    rules: IncidentDetector, clock: Clock
) -> None:
    """Two OOM kills within the hold: the firing says 2, and their span."""
    (found,) = run(rules, clock, ev("oom", 0), ev("oom", 1), 3)
    assert found["message"] == "eng1: web was OOM-killed by the kernel: 2 OOM kills in 1s"


def test_a_listed_loop_with_no_more_deaths_resolves_ten_minutes_after_the_listing(
    rules: IncidentDetector, clock: Clock
) -> None:
    """Quiet since the listing: resolved 600 s after it, not before."""
    rules.current("eng1", "ENGINE-1", [listed(None, "running", 7)])
    assert run(rules, clock, 599) == []
    assert brief(run(rules, clock, 600)) == [("restart_loop", "resolved")]
