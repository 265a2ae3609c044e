"""Unit tests of the healer: grace, restart, confirm, backoff, escalation, policy denials."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from heal_fakes import CID, Clock, FakeRunner, settle, unhealthy
from operator_core.audit import AuditQuery
from operator_core.errors import AuditError, PolicyError
from operator_core.policy import HealRules, policy_from_dict
from operator_core.watch import Healer, Incident

RULES = HealRules(
    restart_unhealthy=True, grace_s=30, backoff_s=10, backoff_max_s=15, max_attempts=3
)


async def run_heal(runner: FakeRunner, incident: Incident, rules: HealRules = RULES):
    """Let the healer handle ``incident`` to its end; return its reports and sleeps."""
    clock = Clock()
    healer = Healer(runner, rules, sleep=clock.sleep, clock=clock)
    healer.consider(incident)
    reports = await settle(healer)
    return reports, clock.slept


async def test_an_unhealthy_container_is_restarted_after_the_grace_and_confirmed_healthy():
    """Grace first, then inspect (still unhealthy), restart, wait for healthy: healed."""
    runner = FakeRunner(health=["unhealthy"], waits=[True])
    reports, sleeps = await run_heal(runner, unhealthy())
    assert sleeps == [30]
    assert runner.tools() == [
        "docker_inspect_container",
        "docker_restart_container",
        "docker_wait_for_container",
    ]
    assert runner.calls[2][1] == {"container_id": CID, "condition": "healthy", "timeout": 60.0}
    assert {actor for _, _, actor in runner.calls} == {"operator:watch-heal"}
    assert [r["kind"] for r in reports] == ["heal_started", "healed"]


async def test_a_container_that_recovered_during_the_grace_is_left_alone():
    """Healthy again after the grace: no restart, a skip report says why."""
    runner = FakeRunner(health=["healthy"], waits=[])
    reports, _ = await run_heal(runner, unhealthy())
    assert runner.tools() == ["docker_inspect_container"]
    assert [(r["kind"], r["message"]) for r in reports] == [
        ("heal_skipped", "web: recovered by itself (healthy)")
    ]


async def test_a_container_that_did_not_opt_in_is_never_touched():
    """Without the required label nothing runs, and the report names the missing label."""
    runner = FakeRunner(health=[], waits=[])
    reports, _ = await run_heal(runner, unhealthy(labels={}))
    assert runner.calls == []
    assert reports[0]["message"] == "web: not opted in (needs org.operator-core.autoheal=true)"


async def test_failed_heals_back_off_doubling_then_escalate_with_an_audit_record():
    """Three failed heals: backoff 10 then 15 (capped), then escalation recorded and reported."""
    runner = FakeRunner(health=["unhealthy"] * 3, waits=[False, False, False])
    reports, sleeps = await run_heal(runner, unhealthy(host="edge-1"))
    assert sleeps == [30, 10, 15]
    assert runner.tools().count("docker_restart_container") == 3
    assert runner.calls[1][1]["host"] == "edge-1"
    assert [r["kind"] for r in reports][-1] == "escalated"
    (record,) = runner.audit.query(AuditQuery(tool="heal"))
    assert (record.rule, record.decision, record.container_id, record.host) == (
        "heal.escalated",
        "denied",
        CID,
        "edge-1",
    )
    assert reports[-1]["audit_id"] == record.id


async def test_an_escalation_the_audit_trail_refuses_is_still_reported():
    """The trail failing to take the escalation record does not hide the escalation."""
    runner = FakeRunner(health=["unhealthy"], waits=[False])

    async def refuse(record: Any) -> None:
        raise AuditError("cannot append to the audit log /x: disk full")

    runner.audit.write = refuse  # type: ignore[method-assign]
    rules = RULES.model_copy(update={"max_attempts": 1})
    reports, _ = await run_heal(runner, unhealthy(), rules)
    assert (reports[-1]["kind"], reports[-1]["audit_id"]) == ("escalated", None)
    assert "disk full" in reports[-1]["message"]


async def test_an_escalated_container_is_not_acted_on_again():
    """After escalation a new unhealthy incident for it is only reported, never acted on."""
    runner = FakeRunner(health=["unhealthy"], waits=[False])
    rules = RULES.model_copy(update={"max_attempts": 1})
    clock = Clock()
    healer = Healer(runner, rules, sleep=clock.sleep, clock=clock)
    healer.consider(unhealthy())
    await settle(healer)
    calls = len(runner.calls)
    healer.consider(unhealthy())
    reports = await settle(healer)
    assert len(runner.calls) == calls
    assert reports[-1]["kind"] == "heal_skipped"
    assert reports[-1]["message"].startswith("web: escalated since ")
    assert reports[-1]["message"].endswith("not acted on until `operator heal clear web`")


async def test_a_policy_denial_ends_the_heal_without_retrying():
    """A restart the policy refuses is reported with its rule and not tried again."""
    runner = FakeRunner(health=["unhealthy"], waits=[], restart_ok=False)
    reports, sleeps = await run_heal(runner, unhealthy())
    assert runner.tools() == ["docker_inspect_container", "docker_restart_container"]
    assert sleeps == [30]
    assert reports[-1]["kind"] == "heal_denied"
    assert "mode.observe" in reports[-1]["message"]


async def test_a_health_read_the_policy_refuses_is_a_denial_not_a_recovery():
    """An inspect refused (out of scope) is heal_denied, not 'recovered by itself (gone)'."""
    refused = {"type": "denied", "rule": "scope.labels", "message": "out of scope"}
    runner = FakeRunner(health=[refused], waits=[])
    reports, sleeps = await run_heal(runner, unhealthy())
    assert runner.tools() == ["docker_inspect_container"]
    assert sleeps == [30]
    assert [(r["kind"], r["message"]) for r in reports] == [
        ("heal_denied", "web: the policy refused reading its health (scope.labels)")
    ]


async def test_an_unreadable_health_is_a_failed_heal_retried_then_escalated():
    """With the engine unreachable the healer backs off and escalates; it never says recovered."""
    down = {"type": "engine_unreachable", "message": "could not reach the Docker engine"}
    runner = FakeRunner(health=[down, down, down], waits=[])
    reports, sleeps = await run_heal(runner, unhealthy())
    assert sleeps == [30, 10, 15]
    assert "docker_restart_container" not in runner.tools()
    assert [r["kind"] for r in reports] == ["heal_failed"] * 3 + ["escalated"]
    assert reports[0]["message"] == (
        "web: could not read its health: could not reach the Docker engine"
    )


async def test_a_container_gone_before_the_heal_is_left_alone():
    """An inspect that finds no container ends the heal quietly: nothing to restart."""
    runner = FakeRunner(health=[{"type": "container_not_found", "message": "no such"}], waits=[])
    reports, _ = await run_heal(runner, unhealthy())
    assert [(r["kind"], r["message"]) for r in reports] == [
        ("heal_skipped", "web: recovered by itself (gone)")
    ]


async def test_a_second_incident_during_a_heal_is_ignored():
    """While a heal of a container runs, another unhealthy incident for it starts nothing."""
    gate = asyncio.Event()
    runner = FakeRunner(health=["unhealthy"], waits=[True])

    async def sleep(seconds: float) -> None:
        await gate.wait()

    healer = Healer(runner, RULES, sleep=sleep)
    healer.consider(unhealthy())
    healer.consider(unhealthy())
    assert len(healer._busy) == 1
    gate.set()
    await asyncio.gather(*healer._busy.values())
    assert runner.tools().count("docker_restart_container") == 1


def test_the_heal_section_loads_from_a_policy_and_refuses_nonsense():
    """[heal] is read with its defaults; a negative grace or NaN is a PolicyError."""
    policy = policy_from_dict({"mode": "execute", "heal": {"restart_unhealthy": True}})
    assert policy.heal.require_labels == ["org.operator-core.autoheal=true"]
    assert policy.heal.preapproved is False
    assert (policy.heal.grace_s, policy.heal.max_attempts) == (30.0, 3)
    for bad in ({"grace_s": -1}, {"backoff_s": float("nan")}, {"restart": True}):
        with pytest.raises(PolicyError):
            policy_from_dict({"heal": bad})
