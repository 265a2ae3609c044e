"""Unit tests of ``AuditIntents`` (issue 20's mutation goal for watch/intents.py).

A death is explained by the newest allowed restart/stop/kill of that container, on that
host, whose call was under way when it died (2 s of slack between the trail's clock and
the engine's); the trail is read in a bounded window: calls begun up to ``LOOKBACK_S``
before the death, and the 20 newest records of the container in it.
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from operator_core.audit import AuditQuery, AuditRecord, MemoryAuditSink
from operator_core.errors import AuditError
from operator_core.watch.intents import LOOKBACK_S, AuditIntents

CID = "c" * 64
OTHER = "d" * 64
#: The death's time (unix s, a whole number so sums are exact).
AT = 1795946400.0


def record(**fields: Any) -> AuditRecord:
    """Return an allowed restart of ``web`` on eng1 begun a second before the death."""
    values: dict[str, Any] = {
        "time": "",
        "ts": AT - 1,
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


def trail(*records: AuditRecord) -> MemoryAuditSink:
    """Return a memory trail holding ``records``."""
    audit = MemoryAuditSink()
    for one in records:
        audit._records[one.id] = one
    return audit


def kind_of(*records: AuditRecord, host: str | None = "eng1") -> str | None:
    """Return the kind of intent the trail gives for the death of ``CID`` at ``AT``."""
    found = AuditIntents(trail(*records)).intent(host, CID, AT)
    return None if found is None else found["kind"]


def test_the_intent_names_the_call_its_tool_actor_and_record() -> None:
    """The answer says what the death was, which tool and actor asked, and the record's id."""
    call = record(tool="docker_kill_container", actor="operator:watch-heal")
    assert AuditIntents(trail(call)).intent("eng1", CID, AT) == {
        "kind": "stopped",
        "tool": "docker_kill_container",
        "actor": "operator:watch-heal",
        "audit_id": call.id,
    }


@pytest.mark.parametrize(
    ("fields", "explains"),
    [
        # Still under way (pending) explains, whatever duration it carries.
        ({"outcome": "pending", "duration_ms": 10.0, "ts": AT - 100}, "restarted_by_operator"),
        # Ended, its end unknown: it may have been under way.
        ({"outcome": "ok", "duration_ms": None}, "restarted_by_operator"),
        # Ended exactly 2 s (the slack) before the death: still explains.
        ({"outcome": "ok", "ts": AT - 3, "duration_ms": 1000.0}, "restarted_by_operator"),
        # Ended a moment more than 2 s before it: does not.
        ({"outcome": "ok", "ts": AT - 3, "duration_ms": 999.0}, None),
        # Begun within the 2 s slack after the death (the clocks differ): explains.
        ({"ts": AT + 1.5}, "restarted_by_operator"),
        # Begun more than 2 s after the death: not this death's.
        ({"ts": AT + 2.5}, None),
        # Begun within the lookback (a long stop timeout) and still under way: explains.
        ({"ts": AT - LOOKBACK_S + 1}, "restarted_by_operator"),
        # Begun before the lookback: not looked at, even though it never ended.
        ({"ts": AT - LOOKBACK_S - 1}, None),
    ],
)
def test_a_call_explains_a_death_only_while_under_way_within_the_slack(
    fields: dict[str, Any], explains: str | None
) -> None:
    """A record explains the death if it was under way then: pending, or ended <= 2 s before."""
    assert kind_of(record(**fields)) == explains


def test_a_lone_engine_s_call_explains_a_lone_engine_s_death() -> None:
    """Without a fleet (host None), a call recorded without a host explains; a host's does not."""
    assert kind_of(record(host=None), host=None) == "restarted_by_operator"
    assert kind_of(record(host="eng1"), host=None) is None


def test_newer_records_that_do_not_explain_are_skipped_for_one_that_does() -> None:
    """A denied call, another host's call, another container's: skipped, the older one found."""
    found = record(ts=AT - 30, tool="docker_stop_container")
    newer = [
        record(ts=AT - 1, decision="denied", outcome="denied"),
        record(ts=AT - 2, host="eng2"),
        # The same name, another container (recreated under that name).
        record(ts=AT - 3, container=CID, container_id=OTHER),
    ]
    assert kind_of(*newer, found) == "stopped"


def test_another_containers_busy_trail_does_not_hide_this_ones_call() -> None:
    """Many newer calls on other containers: the read is of this container's records."""
    others = [record(ts=AT - 1 - n / 100, container=OTHER, container_id=OTHER) for n in range(30)]
    assert kind_of(*others, record(ts=AT - 5)) == "restarted_by_operator"


def test_the_read_is_bounded_to_the_20_newest_records_of_the_container() -> None:
    """Bounded work per death: a call behind 20 newer records of the container is not read."""
    denied = [record(ts=AT - 1 - n / 100, decision="denied") for n in range(20)]
    assert kind_of(*denied[:19], record(ts=AT - 5)) == "restarted_by_operator"
    assert kind_of(*denied, record(ts=AT - 5)) is None


class Broken(MemoryAuditSink):
    """A trail that cannot be read."""

    def query(self, query: AuditQuery | None = None) -> list[AuditRecord]:
        raise AuditError("audit.db is locked")


def test_a_trail_that_cannot_be_read_answers_none_and_says_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unreadable trail is logged with its cause; the death is judged by its events."""
    with caplog.at_level(logging.WARNING, logger="operator_core.watch.intents"):
        assert AuditIntents(Broken()).intent("eng1", CID, AT) is None
    assert caplog.messages == [
        "the audit trail could not be read to classify a death: audit.db is locked"
    ]
