"""Unit tests of the incident rules: classified deaths, folded OOM storms and loops, resolves.

Events carry engine times on 2026-11-29 from 10:00:00; the detector's clock is a fake the
tests move, so holds and quiet periods are driven by the test, never by waiting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from operator_core.audit import AuditRecord, MemoryAuditSink
from operator_core.errors import InvalidInput
from operator_core.results import ContainerSummary, Event
from operator_core.watch import IncidentDetector
from operator_core.watch.intents import AuditIntents

CID = "c" * 64
T0 = datetime(2026, 11, 29, 10, 0, tzinfo=UTC).timestamp()


def ev(
    action: str,
    second: float,
    *,
    code: int | None = None,
    detail: str | None = None,
    cid: str = CID,
    **attributes: str,
) -> Event:
    """Return a container event of ``web`` at ``second`` past 10:00:00."""
    moment = datetime.fromtimestamp(T0 + second, UTC)
    return Event(
        time=moment.strftime("%Y-%m-%dT%H:%M:%S.%f000Z"),
        type="container",
        action=action,
        detail=detail,
        actor_id=cid,
        actor_name="web",
        exit_code=code,
        attributes={"name": "web", "autoheal": "true", **attributes},
    )


class Clock:
    """A unix clock the test moves."""

    def __init__(self, second: float = 0.0) -> None:
        self.now = T0 + second

    def __call__(self) -> float:
        return self.now

    def at(self, second: float) -> None:
        self.now = T0 + second


def run(detector: IncidentDetector, clock: Clock, *steps: Event | float) -> list[dict[str, Any]]:
    """Feed events (the clock follows each one) or move the clock (a number); return all."""
    found: list[dict[str, Any]] = []
    for step in steps:
        if isinstance(step, int | float):
            clock.at(step)
            found += [dict(i) for i in detector.due()]
            continue
        clock.now = max(clock.now, datetime.fromisoformat(step["time"][:26] + "+00:00").timestamp())
        found += [dict(i) for i in detector.feed(step, "eng1", "ENGINE-1")]
        found += [dict(i) for i in detector.due()]
    return found


def brief(found: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """Return (kind, status) of each incident."""
    return [(i["kind"], i["status"]) for i in found]


@pytest.fixture
def clock() -> Clock:
    """A fake clock at 10:00:00."""
    return Clock()


@pytest.fixture
def rules(clock: Clock) -> IncidentDetector:
    """A detector on the fake clock: more than 3 deaths in 60 s is a loop."""
    return IncidentDetector(loop_restarts=3, loop_window_s=60, clock=clock)


# --- deaths nobody asked for --------------------------------------------------------------


def test_a_non_zero_die_is_died_at_once_and_a_clean_exit_says_nothing(rules, clock):
    """A die with no kill before it is 'died' as it comes (no hold); exit 0 says nothing.

    The line names host and container, the labels come with it (secret ones redacted).
    """
    (incident,) = run(rules, clock, ev("die", 0, code=3, api_token="S3cret"))  # noqa: S106
    assert (incident["kind"], incident["status"], incident["exit_code"]) == ("died", "firing", 3)
    assert incident["message"] == "eng1: web died with exit code 3"
    assert (incident["host"], incident["engine_id"], incident["container_id"]) == (
        "eng1",
        "ENGINE-1",
        CID,
    )
    assert incident["labels"] == {"autoheal": "true", "api_token": "[REDACTED]"}
    assert run(rules, clock, ev("die", 100, code=0)) == []


# --- deaths somebody asked for -------------------------------------------------------------


@pytest.mark.parametrize(
    ("after", "kind", "says"),
    [
        (["stop"], "stopped", "was stopped"),
        ([], "stopped", "was killed on request (signal 9)"),
        (["destroy"], "removed", "was removed"),
        (["stop", "destroy"], "stopped", "was stopped"),
        (["stop", "start", "restart"], "restarted", "was restarted"),
    ],
)
def test_a_die_after_a_kill_is_classified_by_what_follows(rules, clock, after, kind, says):
    """Docker stop / kill / rm -f / restart: the die is info of its kind, never 'died'.

    The engine sends kill before the die, then stop, destroy or start+restart; a kill
    alone (docker kill) is known once the 2 s hold is over. docker stop then docker rm
    (stop, destroy) was a stop; only rm -f (destroy at once) is a removal.
    """
    events = [ev("kill", 0, signal="9"), ev("die", 0.5, code=137)]
    events += [ev(action, 0.8 + n * 0.1) for n, action in enumerate(after)]
    found = run(rules, clock, *events, 1.0, 2.4, 10.0)
    assert brief(found) == [(kind, "info")]
    assert found[0]["message"] == f"eng1: web {says} (exit code 137)"


def test_a_stop_extends_the_hold_so_a_restarts_late_start_is_seen(rules, clock):
    """Docker restart's start comes ~2 s after its die (after 'stop'): still 'restarted'."""
    found = run(rules, clock, ev("kill", 0, signal="15"), ev("die", 1, code=137), ev("stop", 2.5))
    assert found == []
    assert brief(run(rules, clock, 3.2, ev("start", 3.4))) == [("restarted", "info")]


def test_the_hold_ends_after_two_seconds(rules, clock):
    """A held death is released when the clock passes 2 s, not before."""
    assert run(rules, clock, ev("kill", 0, signal="9"), ev("die", 0.5, code=137), 2.4) == []
    assert brief(run(rules, clock, 2.6)) == [("stopped", "info")]


def test_the_healers_restart_is_restarted_by_operator_from_its_audit_record(clock):
    """The healer's pending restart record explains the die at once: restarted_by_operator."""
    audit = MemoryAuditSink()
    record = AuditRecord(
        time="",
        ts=T0 - 1,
        actor="operator:watch-heal",
        tool="docker_restart_container",
        container=CID,
        container_id=CID,
        host="eng1",
        decision="allowed",
        outcome="pending",
    )
    audit._records[record.id] = record
    rules = IncidentDetector(clock=clock, intents=AuditIntents(audit))
    found = run(rules, clock, ev("kill", 0, signal="15"), ev("die", 1, code=137))
    assert brief(found) == [("restarted_by_operator", "info")]
    assert "restarted by operator:watch-heal" in found[0]["message"]
    # Another container's death, or one long after the call ended, is not explained by it.
    record.outcome, record.duration_ms = "ok", 3000.0
    found = run(rules, clock, ev("kill", 30, signal="9"), ev("die", 30.5, code=137), 40)
    assert brief(found) == [("stopped", "info")]


def test_deaths_held_when_the_stream_ends_are_the_engine_stopping(rules, clock):
    """Daemon shutdown: kill, die, stop, then the stream ends: engine_stopped, not died."""
    assert run(rules, clock, ev("kill", 0, signal="15"), ev("die", 10, code=137)) == []
    found = [dict(i) for i in rules.ended("eng1")]
    assert brief(found) == [("engine_stopped", "info")]
    assert rules.ended("eng1") == []


# --- OOM storms ----------------------------------------------------------------------------


def test_an_oom_storm_is_one_incident_with_a_count(rules, clock):
    """Hundreds of oom events of one container within 60 s: one oom_killed, with its count.

    Its firing is held 2 s to count the burst; the rest fold in silently; an update comes
    at most every 5 minutes while it keeps going; a die the oom explains says nothing.
    """
    storm = [ev("oom", n * 0.004) for n in range(400)]
    found = run(rules, clock, *storm, ev("die", 1.7, code=137), 2.5)
    assert brief(found) == [("oom_killed", "firing")]
    assert found[0]["count"] == 400
    assert "400 OOM kills" in found[0]["message"]
    more = run(rules, clock, *(ev("oom", 3 + n * 50) for n in range(8)))
    assert brief(more) == [("oom_killed", "update")]
    assert more[0]["incident_id"] == found[0]["incident_id"]
    assert more[0]["count"] == 407


def test_an_oom_a_minute_after_the_last_is_a_new_incident(rules, clock):
    """Ooms more than 60 s apart are separate incidents (each fires once)."""
    found = run(rules, clock, ev("oom", 0), 3, ev("oom", 61), 65)
    assert brief(found) == [("oom_killed", "firing"), ("oom_killed", "firing")]
    assert found[0]["incident_id"] != found[1]["incident_id"]


# --- restart loops ---------------------------------------------------------------------------


def test_a_restart_loop_is_one_incident_that_folds_and_resolves(rules, clock):
    """4 deaths in 60 s fire one loop; later deaths fold (no died lines); 10 min quiet resolves.

    The first 3 deaths are died lines; the loop's count grows; a summary after 5 min; the
    loop resolves 600 s after its last death, with the same incident id.
    """
    deaths = [ev("die", s, code=1) for s in range(0, 40, 10)]
    found = run(rules, clock, *deaths)
    assert brief(found) == [("died", "firing")] * 3 + [("restart_loop", "firing")]
    loop = found[-1]
    assert loop["count"] == 4
    folded = run(rules, clock, *(ev("die", s, code=1) for s in range(40, 400, 10)))
    assert brief(folded) == [("restart_loop", "update")]
    assert folded[0]["count"] == 34  # the 5-minute summary, at the death 300 s after the firing
    assert run(rules, clock, 390 + 599) == []
    (resolved,) = run(rules, clock, 390 + 600)
    assert (resolved["status"], resolved["incident_id"]) == ("resolved", loop["incident_id"])
    assert resolved["count"] == 40


def test_a_loop_of_a_removed_container_resolves(rules, clock):
    """A looping container removed: its loop resolves at once ('was removed')."""
    found = run(rules, clock, *(ev("die", s, code=1) for s in range(4)), ev("destroy", 5))
    assert brief(found)[-2:] == [("restart_loop", "firing"), ("restart_loop", "resolved")]


# --- unhealthy ---------------------------------------------------------------------------------


def test_unhealthy_fires_once_and_resolves_when_healthy(rules, clock):
    """Unhealthy fires; a repeat says nothing; healthy resolves it with the same id."""
    found = run(
        rules,
        clock,
        ev("health_status", 0, detail="unhealthy"),
        ev("health_status", 1, detail="unhealthy"),
        ev("health_status", 2, detail="starting"),
        ev("health_status", 3, detail="healthy"),
    )
    assert brief(found) == [("unhealthy", "firing"), ("unhealthy", "resolved")]
    assert found[0]["incident_id"] == found[1]["incident_id"]


def test_unhealthy_resolves_when_the_container_is_removed(rules, clock):
    """An unhealthy container removed: resolved ('was removed')."""
    found = run(rules, clock, ev("health_status", 0, detail="unhealthy"), ev("destroy", 5))
    assert brief(found) == [("unhealthy", "firing"), ("unhealthy", "resolved")]
    assert found[1]["message"] == "eng1: web was removed"


# --- the current state at (re)connect -----------------------------------------------------------


def listed(
    health: str | None, status: str = "running", restarts: int = 0, cid: str = CID
) -> ContainerSummary:
    """Return a listing entry of ``web`` as list_containers gives it."""
    return ContainerSummary(  # type: ignore[typeddict-item]
        id=cid,
        container_id=cid,
        name="web",
        status=status,
        health=health,
        restart_count=restarts,
        exit_code=None,
        finished_at=None,
        started_at=datetime.fromtimestamp(T0 - 30, UTC).isoformat(),
        labels={"autoheal": "true"},
    )


def test_a_container_already_unhealthy_or_looping_at_start_is_an_incident(rules, clock):
    """The listing read at start: unhealthy, restarting or often-restarted-lately fire, once.

    One container is unhealthy and restarted 7 times within the loop window; another is
    waiting to be restarted by its policy (restarting).
    """
    other = "e" * 64
    entries = [listed("unhealthy", "running", 7), listed(None, "restarting", 2, cid=other)]
    found = rules.current("eng1", "ENGINE-1", entries)
    assert [(i["kind"], i["container_id"]) for i in found] == [
        ("unhealthy", CID),
        ("restart_loop", CID),
        ("restart_loop", other),
    ]
    assert found[1]["count"] == 7
    assert rules.current("eng1", "ENGINE-1", entries) == []


def test_an_unhealthy_container_that_recovered_or_left_meanwhile_is_resolved(rules, clock):
    """After a reconnect, an unhealthy one now healthy (or gone) resolves."""
    rules.current("eng1", "ENGINE-1", [listed("unhealthy")])
    assert brief(rules.current("eng1", "ENGINE-1", [listed("healthy")])) == [
        ("unhealthy", "resolved")
    ]
    rules.current("eng1", "ENGINE-1", [listed("unhealthy")])
    assert brief(rules.current("eng1", "ENGINE-1", [])) == [("unhealthy", "resolved")]


def test_a_death_the_shutdown_kept_from_the_stream_is_said_from_the_listing(rules, clock):
    """A shutdown's death the stream never delivered is engine_stopped, from the listing.

    After the reconnect the listing says the container exited as the stream ended; a
    replayed die of it then says nothing. A container that died long before is not said.
    """
    old = "e" * 64
    rules.current("eng1", "ENGINE-1", [listed(None), listed(None, cid=old)])
    clock.at(100)
    rules.ended("eng1")
    clock.at(130)
    down = listed(None, "exited")
    down["finished_at"], down["exit_code"] = "2026-11-29T10:01:38Z", 137
    before = listed(None, "exited", cid=old)
    before["finished_at"], before["exit_code"] = "2026-11-29T09:50:00Z", 1
    found = [dict(i) for i in rules.current("eng1", "ENGINE-1", [down, before])]
    assert brief(found) == [("engine_stopped", "info")]
    assert found[0]["message"] == "eng1: web stopped: its engine shut down (exit code 137)"
    assert run(rules, clock, ev("die", 98, code=137)) == []


def test_a_stopped_container_whose_last_health_was_unhealthy_is_not_unhealthy(rules, clock):
    """An exited container keeps its last health; it is not an unhealthy incident at start."""
    assert rules.current("eng1", "ENGINE-1", [listed("unhealthy", "exited")]) == []


def test_a_container_that_restarted_often_long_ago_is_no_loop(rules, clock):
    """Many restarts, but running for longer than the loop window: no incident."""
    entry = listed(None, "running", 9)
    entry["started_at"] = datetime.fromtimestamp(T0 - 3600, UTC).isoformat()
    assert rules.current("eng1", "ENGINE-1", [entry]) == []


# --- memory and bad rules ------------------------------------------------------------------------


def test_the_detector_forgets_containers_out_of_every_window(rules, clock):
    """Thousands of short-lived containers: memory stays bounded, the rules unchanged."""
    deaths = (ev("die", n * 60, code=1, cid=f"{n:064x}") for n in range(5000))
    found = [i for e in deaths for i in rules.feed(e, "eng1")]
    assert len(found) == 5000
    assert len(rules._seen) < 1010
    looping = run(rules, clock, *(ev("die", 300_000 + n * 10, code=1) for n in range(4)))
    assert brief(looping)[-1] == ("restart_loop", "firing")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"loop_restarts": 0},
        {"loop_restarts": True},
        {"loop_window_s": 0},
        {"loop_window_s": "5"},
        {"hold_s": -1},
    ],
)
def test_bad_rules_are_refused(kwargs):
    """A loop rule that cannot work is InvalidInput."""
    with pytest.raises(InvalidInput):
        IncidentDetector(**kwargs)


def _record(**fields: Any) -> AuditRecord:
    """Return a restart record of ``web`` on eng1, allowed and under way, unless told."""
    values: dict[str, Any] = {
        "time": "",
        "ts": T0 - 1,
        "actor": "alice",
        "tool": "docker_restart_container",
        "container": CID,
        "container_id": CID,
        "host": "eng1",
        "decision": "allowed",
        "outcome": "pending",
        **fields,
    }
    return AuditRecord(**values)


@pytest.mark.parametrize(
    ("fields", "explains"),
    [
        ({}, "restarted_by_operator"),
        ({"tool": "docker_stop_container"}, "stopped"),
        ({"decision": "denied", "outcome": "denied"}, None),
        ({"host": "eng2"}, None),
        ({"container_id": "d" * 64, "container": "d" * 64}, None),
        ({"outcome": "ok", "duration_ms": 500.0}, None),
        ({"outcome": "ok", "duration_ms": 1500.0}, "restarted_by_operator"),
        ({"tool": "docker_inspect_container"}, None),
    ],
)
def test_an_audit_record_explains_a_death_only_if_it_acted_on_it_then(fields, explains):
    """Only an allowed restart/stop/kill of that container, on that host, under way at the death."""
    audit = MemoryAuditSink()
    record = _record(**fields)
    audit._records[record.id] = record
    found = AuditIntents(audit).intent("eng1", CID, T0 + 2)
    assert (found["kind"] if found else None) == explains
