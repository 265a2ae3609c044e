"""The healer's every step pinned exactly: calls, reports, sleeps, what the store keeps.

Tool calls with their arguments, actor and reason; reports with kind, message, attempt
and audit id.

A scripted runner answers each tool from its own list; the wall clock moves only by the
healer's own (fake) sleeps; the report time is pinned with time-machine.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pytest
import time_machine

from heal_fakes import CID, Clock, unhealthy
from operator_core.audit import AuditQuery, MemoryAuditSink
from operator_core.errors import EngineUnreachable
from operator_core.policy import HealRules
from operator_core.watch import Healer, HealReport, HealStore, Incident
from operator_core.watch.heal import healer as healer_module

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z
NOW = "2026-11-29T10:05:00Z"  # the wall clock the reports are stamped with
ACTOR = "operator:watch-heal"
KEY = ("ENGINE-A", CID)
RULES = HealRules(
    restart_unhealthy=True,
    grace_s=30,
    stop_grace_s=7,
    confirm_timeout_s=45,
    backoff_s=10,
    backoff_max_s=15,
    max_attempts=3,
    window_s=600,
    max_restarts=5,
    restart_window_s=900,
    flap_window_s=120,
    lease_s=60,
)
REASON = "watch --heal: web unhealthy for more than 30s"


def health(state: str) -> dict[str, Any]:
    """An inspect envelope that read ``state``."""
    return {"ok": True, "result": {"state": {"health": state}}, "audit_id": "i1"}


def failed(kind: str, message: str | None = None, rule: str | None = None) -> dict[str, Any]:
    """A failed envelope with an error of ``kind``."""
    error: dict[str, Any] = {"type": kind}
    if message is not None:
        error["message"] = message
    if rule is not None:
        error["rule"] = rule
    return {"ok": False, "error": error, "audit_id": "e1"}


RESTARTED = {"ok": True, "result": {"changed": True}, "audit_id": "r1"}


def met(yes: bool) -> dict[str, Any]:
    """A wait envelope: the container became healthy (or not) in time."""
    return {"ok": True, "result": {"met": yes}, "audit_id": "w1"}


class Executor:
    """Answers ``engine_identity``, recording how it was asked; or fails as told."""

    def __init__(self, fail: bool = False) -> None:
        self.fail, self.asked = fail, []

    async def engine_identity(self, **where: str) -> dict[str, Any]:
        self.asked.append(where)
        if self.fail:
            raise EngineUnreachable("no engine")
        return {"engine_id": "ENGINE-A", "cluster_id": None, "node_id": None}


class Runner:
    """Answers each tool from its script, recording (tool, arguments, actor, reason)."""

    def __init__(self, **scripts: list[dict[str, Any]]) -> None:
        self.scripts = scripts
        self.calls: list[tuple[str, dict[str, Any], str, str | None]] = []
        self.audit = MemoryAuditSink()
        self.executor = Executor()

    async def execute_tool(
        self, tool: str, arguments: dict[str, Any], *, actor: str, reason: str | None
    ) -> dict[str, Any]:
        self.calls.append((tool, dict(arguments), actor, reason))
        return self.scripts[tool.removeprefix("docker_").split("_")[0]].pop(0)

    def tools(self) -> list[str]:
        return [call[0] for call in self.calls]


def report(kind: str, message: str, attempt: int | None = None, audit_id: str | None = None,
           host: str | None = None, name: str | None = "web") -> HealReport:  # fmt: skip
    """The report expected of the healer (its time pinned to NOW)."""
    return HealReport(
        kind=kind,  # type: ignore[typeddict-item]
        host=host,
        container_id=CID,
        name=name,
        time=NOW,
        message=message,
        attempt=attempt,
        audit_id=audit_id,
    )


async def heal(
    runner: Runner, incident: Incident | None = None, store: HealStore | None = None, **rules: Any
) -> tuple[list[HealReport], list[float], HealStore]:
    """Heal one incident to its end; return the reports, the sleeps and the store."""
    clock = Clock(T0)
    store = store or HealStore(":memory:")
    healer = Healer(
        runner, RULES.model_copy(update=rules), store=store, watch="me", sleep=clock.sleep,
        clock=clock,
    )  # fmt: skip
    with time_machine.travel(NOW, tick=False):
        healer.consider(incident or unhealthy())
        await asyncio.gather(*healer._busy.values())
    reports = []
    while not healer.reports.empty():
        reports.append(healer.reports.get_nowait())
    return reports, clock.slept, store


def inspect(host: str | None = None) -> tuple[str, dict[str, Any], str, str]:
    """The health read's call."""
    where = {"host": host} if host else {}
    return (
        "docker_inspect_container",
        {"container_id": CID, **where},
        ACTOR,
        "watch --heal: check",
    )


async def test_a_heal_calls_exactly_these_tools_with_these_reasons_and_reports():
    """Inspect, restart (stop grace), wait for healthy (confirm timeout), with the host given."""
    runner = Runner(inspect=[health("unhealthy")], restart=[RESTARTED], wait=[met(True)])
    incident = unhealthy(host="edge-1")
    reports, sleeps, store = await heal(runner, incident, preapproved=True)
    reason = REASON + " (restart pre-approved by [heal] preapproved)"
    on = {"container_id": CID, "host": "edge-1"}
    assert runner.calls == [
        inspect("edge-1"),
        ("docker_restart_container", {**on, "timeout": 7}, ACTOR, reason),
        ("docker_wait_for_container", {**on, "condition": "healthy", "timeout": 45.0}, ACTOR,
         reason),
    ]  # fmt: skip
    assert reports == [
        report("heal_started", "web: restarting (attempt 1)", 1, host="edge-1"),
        report("healed", "web: is healthy again", 1, "w1", host="edge-1"),
    ]
    assert sleeps == [30]
    assert runner.executor.asked == [{"host": "edge-1"}]
    # the restart is marked at its moment, the heal too; no failure, no backoff, lease given back
    assert store.count(*KEY, "restart", T0 + 30) == 1
    assert store.count(*KEY, "restart", T0 + 30.001) == 0
    assert store.count(*KEY, "failure", 0) == 0
    assert store.healed_at(*KEY) == T0 + 30
    assert store.backoff_until(*KEY) is None
    assert store.take_lease(*KEY, "another", T0 + 31, 60) is None


async def test_without_preapproved_the_reason_says_only_the_grace():
    """The restart's reason names the container and the grace; no pre-approval is claimed."""
    runner = Runner(inspect=[health("unhealthy")], restart=[RESTARTED], wait=[met(True)])
    await heal(runner)
    assert [call[3] for call in runner.calls[1:]] == [REASON, REASON]
    assert runner.calls[1][1] == {"container_id": CID, "timeout": 7}
    assert runner.executor.asked == [{}]


async def test_a_restart_not_confirmed_backs_off_then_finds_it_healthy():
    """Not healthy in time: heal_failed, a backoff kept in the store, then it had recovered."""
    runner = Runner(
        inspect=[health("unhealthy"), health("healthy")], restart=[RESTARTED], wait=[met(False)]
    )
    reports, sleeps, store = await heal(runner)
    assert reports == [
        report("heal_started", "web: restarting (attempt 1)", 1),
        report("heal_failed", "web: was restarted but not healthy within 45s", 1, "w1"),
        report("heal_skipped", "web: is no longer unhealthy (healthy)", 1),
    ]
    assert sleeps == [30, 10]
    assert store.backoff_until(*KEY) == T0 + 40
    assert store.count(*KEY, "failure", T0 + 30) == 1
    assert store.healed_at(*KEY) is None


async def test_a_wait_that_failed_is_not_a_heal():
    """A wait envelope that is not ok (even one saying met) is a failed heal."""
    runner = Runner(
        inspect=[health("unhealthy"), health("healthy")],
        restart=[RESTARTED],
        wait=[{"ok": False, "result": {"met": True}, "error": {"type": "x"}, "audit_id": "w2"}],
    )
    reports, _, store = await heal(runner)
    assert reports[1] == report(
        "heal_failed", "web: was restarted but not healthy within 45s", 1, "w2"
    )
    assert store.healed_at(*KEY) is None


async def test_a_restart_that_failed_says_why_and_is_tried_again():
    """A restart error is heal_failed with its message (or its type), then a backoff."""
    runner = Runner(
        inspect=[health("unhealthy"), health("unhealthy"), failed("container_not_found")],
        restart=[failed("engine_error", "boom"), failed("engine_error")],
        wait=[],
    )
    reports, sleeps, store = await heal(runner)
    assert reports == [
        report("heal_started", "web: restarting (attempt 1)", 1),
        report("heal_failed", "web: restart failed: boom", 1, "e1"),
        report("heal_started", "web: restarting (attempt 2)", 2),
        report("heal_failed", "web: restart failed: engine_error", 2, "e1"),
        report("heal_skipped", "web: is no longer unhealthy (gone)", 2),
    ]
    assert sleeps == [30, 10, 15]
    assert store.count(*KEY, "restart", 0) == 0
    assert store.count(*KEY, "failure", 0) == 2


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (failed("denied", "no", rule="mode.observe"), "mode.observe"),
        (failed("invalid_arguments", "bad"), "invalid_arguments"),
    ],
)
async def test_a_refused_restart_is_a_denial_never_retried(error, said):
    """The policy refusing the restart ends the heal: its rule (or type) said, no backoff."""
    runner = Runner(inspect=[health("unhealthy")], restart=[error], wait=[])
    reports, sleeps, store = await heal(runner)
    assert reports[-1] == report(
        "heal_denied", f"web: the policy refused the restart ({said})", 1, "e1"
    )
    assert sleeps == [30]
    assert store.count(*KEY, "failure", 0) == 0


@pytest.mark.parametrize(
    ("error", "said"),
    [
        (failed("denied", "out of scope", rule="scope.labels"), "scope.labels"),
        (failed("invalid_arguments"), "invalid_arguments"),
    ],
)
async def test_a_refused_health_read_is_a_denial(error, said):
    """The first read refused: heal_denied naming the rule (or type), attempt None."""
    runner = Runner(inspect=[error], restart=[], wait=[])
    reports, sleeps, _ = await heal(runner)
    assert reports == [
        report("heal_denied", f"web: the policy refused reading its health ({said})", None, "e1")
    ]
    assert sleeps == [30]


async def test_a_health_read_failing_after_an_attempt_counts_that_attempt():
    """A read that fails after a restart says the attempt; its message, else its type."""
    runner = Runner(
        inspect=[
            health("unhealthy"),
            failed("engine_unreachable"),
            failed("engine_error", "socket closed"),
            health("unhealthy"),
            failed("denied"),
        ],
        restart=[RESTARTED, RESTARTED],
        wait=[met(False), met(False)],
    )
    reports, sleeps, _ = await heal(runner, max_attempts=9, backoff_max_s=100)
    assert [(r["kind"], r["message"], r["attempt"]) for r in reports] == [
        ("heal_started", "web: restarting (attempt 1)", 1),
        ("heal_failed", "web: was restarted but not healthy within 45s", 1),
        ("heal_failed", "web: could not read its health: engine_unreachable", 1),
        ("heal_failed", "web: could not read its health: socket closed", 1),
        ("heal_started", "web: restarting (attempt 2)", 2),
        ("heal_failed", "web: was restarted but not healthy within 45s", 2),
        ("heal_denied", "web: the policy refused reading its health (denied)", 2),
    ]
    assert sleeps == [30, 10, 20, 40, 80]  # the backoff doubles per failure


async def test_a_first_read_that_fails_has_no_attempt():
    """Before any restart a failed read reports attempt None (not 0)."""
    runner = Runner(
        inspect=[failed("engine_error", "down"), health("healthy")], restart=[], wait=[]
    )
    reports, _, _ = await heal(runner)
    assert reports == [
        report("heal_failed", "web: could not read its health: down", None, "e1"),
        report("heal_skipped", "web: recovered by itself (healthy)", 0),
    ]


async def test_no_health_check_is_not_unhealthy():
    """A container whose inspect says no health (or a result without a state) is left alone."""
    for envelope in (
        {"ok": True, "result": {"state": {}}, "audit_id": "i1"},
        {"ok": True, "result": {"state": "running"}, "audit_id": "i1"},
        {"ok": True, "result": None, "audit_id": "i1"},
        {"ok": True, "result": {"state": {"health": 3}}, "audit_id": "i1"},
    ):
        runner = Runner(inspect=[envelope], restart=[], wait=[])
        reports, _, _ = await heal(runner)
        assert reports == [report("heal_skipped", "web: recovered by itself (gone)", 0)]


async def test_a_backoff_in_the_store_is_waited_out_first():
    """A backoff left by an earlier watch is slept out before the grace; one that ended is not."""
    store = HealStore(":memory:")
    store.set_backoff(*KEY, T0 + 7)
    runner = Runner(inspect=[health("healthy")], restart=[], wait=[])
    _, sleeps, _ = await heal(runner, store=store)
    assert sleeps == [7, 30]
    store.set_backoff(*KEY, T0)
    runner = Runner(inspect=[health("healthy")], restart=[], wait=[])
    _, sleeps, _ = await heal(runner, store=store)
    assert sleeps == [30]


async def test_unhealthy_again_at_the_edge_of_the_flap_window_is_a_failed_heal():
    """Healed flap_window_s ago exactly: flapping, a failure said, the heal forgotten."""
    store = HealStore(":memory:")
    store.set_healed(*KEY, T0 - 120)
    runner = Runner(inspect=[health("healthy")], restart=[], wait=[])
    reports, sleeps, _ = await heal(runner, store=store)
    assert reports == [
        report(
            "heal_failed",
            "web: unhealthy again soon after its heal (flapping); next try in 10s",
            1,
        ),
        report("heal_skipped", "web: recovered by itself (healthy)", 0),
    ]
    assert sleeps == [10, 30]  # the backoff (ending now: not slept twice), then the grace
    assert store.healed_at(*KEY) is None
    assert store.backoff_until(*KEY) == T0 + 10


async def test_a_heal_longer_ago_than_the_flap_window_is_not_flapping():
    """Healed more than flap_window_s ago: a fresh spell, healed as usual."""
    store = HealStore(":memory:")
    store.set_healed(*KEY, T0 - 120.5)
    runner = Runner(inspect=[health("healthy")], restart=[], wait=[])
    reports, sleeps, _ = await heal(runner, store=store)
    assert reports == [report("heal_skipped", "web: recovered by itself (healthy)", 0)]
    assert sleeps == [30]


async def test_flapping_at_the_bound_escalates_saying_both_reasons():
    """The flap that reaches max_attempts escalates, its why naming the flap and the count."""
    store = HealStore(":memory:")
    store.mark(*KEY, "failure", T0 - 600)  # at the window's edge: counted
    store.set_healed(*KEY, T0 - 1)
    runner = Runner(inspect=[], restart=[], wait=[])
    reports, _, _ = await heal(runner, store=store, max_attempts=2)
    why = "unhealthy again soon after its heal (flapping); 2 failed heals within 600s"
    clear = "no watch acts on it again until a person runs `operator heal clear web`"
    (record,) = runner.audit.query(AuditQuery(tool="heal"))
    assert reports == [report("escalated", f"web: {why}; {clear}", 2, record.id)]
    assert runner.calls == []


@time_machine.travel("2026-11-29T10:07:00Z", tick=False)
async def test_an_escalation_is_stored_audited_and_reported_exactly():
    """max_attempts failed heals: the escalation kept (host, name, why, since), audited, said."""
    store = HealStore(":memory:")
    runner = Runner(
        inspect=[health("unhealthy")] * 2, restart=[RESTARTED] * 2, wait=[met(False)] * 2
    )
    clock = Clock(T0)
    healer = Healer(
        runner, RULES.model_copy(update={"max_attempts": 2}), store=store, sleep=clock.sleep,
        clock=clock,
    )  # fmt: skip
    healer.consider(unhealthy(host="edge-1"))
    await asyncio.gather(*healer._busy.values())
    reports = [healer.reports.get_nowait() for _ in range(healer.reports.qsize())]
    (record,) = runner.audit.query(AuditQuery(tool="heal"))
    clear = "no watch acts on it again until a person runs `operator heal clear edge-1/web`"
    assert reports[-1] == HealReport(
        kind="escalated",
        host="edge-1",
        container_id=CID,
        name="web",
        time="2026-11-29T10:07:00Z",
        message=f"web: 2 failed heals within 600s; {clear}",
        attempt=2,
        audit_id=record.id,
    )
    assert store.escalations() == [
        {
            "engine_id": "ENGINE-A",
            "container_id": CID,
            "host": "edge-1",
            "name": "web",
            "since": "2027-01-15T08:00:40Z",
            "why": "2 failed heals within 600s",
        }
    ]
    moment = datetime(2026, 11, 29, 10, 7, tzinfo=UTC)
    assert (record.time, record.ts) == (moment.isoformat(), moment.timestamp())
    assert (record.actor, record.reason, record.tool) == (
        ACTOR,
        "2 failed heals within 600s",
        "heal",
    )
    assert (record.container, record.container_id, record.container_name) == (CID, CID, "web")
    assert (record.host, record.decision, record.rule, record.outcome) == (
        "edge-1", "denied", "heal.escalated", "denied",
    )  # fmt: skip


async def test_an_escalated_container_is_skipped_naming_when_why_and_the_clear_command():
    """An escalation in the store: heal_skipped with its time, why and how to clear it."""
    store = HealStore(":memory:")
    store.escalate(
        {"engine_id": "ENGINE-A", "container_id": CID, "host": "edge-1", "name": "web",
         "since": "", "why": "too many"},
        T0 - 5,
    )  # fmt: skip
    runner = Runner(inspect=[], restart=[], wait=[])
    reports, sleeps, _ = await heal(runner, unhealthy(host="edge-1"), store=store)
    said = "escalated since 2027-01-15T07:59:55Z (too many); not acted on"
    assert reports == [
        report(
            "heal_skipped",
            f"web: {said} until `operator heal clear edge-1/web`",
            host="edge-1",
        )
    ]
    assert (runner.calls, sleeps) == ([], [])


async def test_a_container_without_a_name_is_named_by_its_short_id():
    """No name: reports and the clear command use the first 12 characters of its ID."""
    store = HealStore(":memory:")
    runner = Runner(inspect=[health("unhealthy")], restart=[RESTARTED], wait=[met(False)])
    nameless = {**unhealthy(), "name": None}
    reports, _, _ = await heal(runner, nameless, store=store, max_attempts=1)  # type: ignore[arg-type]
    short = CID[:12]
    assert runner.calls[1][3] == f"watch --heal: {short} unhealthy for more than 30s"
    assert reports[0]["message"] == f"{short}: restarting (attempt 1)"
    assert reports[-1]["message"] == (
        f"{short}: 1 failed heals within 600s; no watch acts on it again until a person "
        f"runs `operator heal clear {short}`"
    )
    assert store.escalations()[0]["name"] is None


async def test_spent_restarts_escalate_before_another_restart():
    """max_restarts within restart_window_s (the edge counted): escalated, not restarted."""
    store = HealStore(":memory:")
    store.mark(*KEY, "restart", T0 + 30 - 900)  # the window's edge, at the check
    store.mark(*KEY, "restart", T0)
    runner = Runner(inspect=[health("unhealthy")], restart=[], wait=[])
    reports, _, _ = await heal(runner, store=store, max_restarts=2)
    (record,) = runner.audit.query(AuditQuery(tool="heal"))
    why = "2 restarts within 900s (max_restarts) did not keep it healthy"
    clear = "no watch acts on it again until a person runs `operator heal clear web`"
    assert reports == [report("escalated", f"web: {why}; {clear}", 2, record.id)]
    assert runner.tools() == ["docker_inspect_container"]
    assert store.escalation(*KEY)["why"] == why  # type: ignore[index]


async def test_restarts_below_the_bound_or_out_of_the_window_do_not_stop_a_heal():
    """One restart fewer than max_restarts, plus one out of the window: restarted."""
    store = HealStore(":memory:")
    store.mark(*KEY, "restart", T0 + 30 - 900.5)
    store.mark(*KEY, "restart", T0)
    runner = Runner(inspect=[health("unhealthy")], restart=[RESTARTED], wait=[met(True)])
    reports, _, _ = await heal(runner, store=store, max_restarts=2)
    assert [r["kind"] for r in reports] == ["heal_started", "healed"]


async def test_failures_out_of_the_window_do_not_escalate():
    """A failure older than window_s is not counted toward max_attempts."""
    store = HealStore(":memory:")
    store.mark(*KEY, "failure", T0 + 30 - 600.5)
    runner = Runner(
        inspect=[health("unhealthy"), health("healthy")], restart=[RESTARTED], wait=[met(False)]
    )
    reports, sleeps, _ = await heal(runner, store=store, max_attempts=2)
    assert [r["kind"] for r in reports] == ["heal_started", "heal_failed", "heal_skipped"]
    assert sleeps == [30, 10]


async def test_an_engine_whose_id_cannot_be_read_is_not_healed():
    """No engine ID (the identity read failed): heal_failed at once, no tool call."""
    runner = Runner(inspect=[], restart=[], wait=[])
    runner.executor = Executor(fail=True)
    reports, sleeps, _ = await heal(runner)
    assert reports == [report("heal_failed", "web: not healed: could not read its engine's ID")]
    assert (runner.calls, sleeps) == ([], [])


async def test_the_incidents_engine_id_is_used_without_asking_the_engine():
    """An incident naming its engine ID keys the heal by it; an empty one is asked for."""
    runner = Runner(inspect=[health("healthy")], restart=[], wait=[])
    store = HealStore(":memory:")
    store.set_backoff("ENG-B", CID, T0 + 3)
    known = {**unhealthy(), "engine_id": "ENG-B"}
    _, sleeps, _ = await heal(runner, known, store=store)  # type: ignore[arg-type]
    assert (sleeps, runner.executor.asked) == ([3, 30], [])
    runner = Runner(inspect=[health("healthy")], restart=[], wait=[])
    empty = {**unhealthy(), "engine_id": ""}
    _, sleeps, _ = await heal(runner, empty, store=store)  # type: ignore[arg-type]
    assert (sleeps, runner.executor.asked) == ([30], [{}])


async def test_a_lease_held_by_another_watch_is_named_and_nothing_runs():
    """Another watch's lease: heal_skipped naming it and since when; its lease stays."""
    store = HealStore(":memory:")
    store.take_lease(*KEY, "other/1", T0 - 5, 60)
    runner = Runner(inspect=[], restart=[], wait=[])
    reports, _, _ = await heal(runner, store=store)
    said = "being healed by another watch (other/1) since 2027-01-15T07:59:55Z"
    assert reports == [report("heal_skipped", f"web: {said}")]
    assert runner.calls == []
    assert store.take_lease(*KEY, "third", T0, 60) is not None


async def test_the_lease_is_taken_for_lease_s_in_this_watchs_name():
    """While a heal runs the store shows this watch's lease, until lease_s after its start."""
    store = HealStore(":memory:")
    seen: list[Any] = []

    class Peek(Runner):
        async def execute_tool(self, tool: str, arguments: dict[str, Any], **kw: Any) -> Any:
            seen.append(store.take_lease(*KEY, "peer", T0 + 59, 60))
            seen.append(store.take_lease(*KEY, "peer", T0 + 60.5, 1))
            return await super().execute_tool(tool, arguments, **kw)

    runner = Peek(inspect=[health("healthy")], restart=[], wait=[])
    await heal(runner, store=store, grace_s=0)
    assert seen[0] == {
        "holder": "me",
        "since": "2027-01-15T08:00:00Z",
        "expires": "2027-01-15T08:01:00Z",
    }
    assert seen[1] is None  # expired at T0 + 60: the peer took it


class _Asyncio(SimpleNamespace):
    """The healer's ``asyncio`` whose ``sleep`` is recorded and returns when the test says."""

    def __init__(self) -> None:
        super().__init__(slept=[], called=asyncio.Event(), go=asyncio.Queue())

    def __getattr__(self, name: str) -> Any:
        return getattr(asyncio, name)

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.called.set()
        await self.go.get()

    async def next_sleep(self) -> None:
        """Wait until the renewer sleeps again."""
        await asyncio.wait_for(self.called.wait(), 30)
        self.called.clear()


async def test_the_lease_is_renewed_every_third_of_its_term_and_a_lost_one_stops_the_heal(
    monkeypatch,
):
    """The renewer sleeps lease_s / 3, renews; when another watch holds it, the heal stops.

    The report names who took the lease and since when; nothing is restarted.
    """
    fake = _Asyncio()
    monkeypatch.setattr(healer_module, "asyncio", fake)
    store, clock, gate = HealStore(":memory:"), Clock(T0), asyncio.Event()
    runner = Runner(inspect=[health("unhealthy")], restart=[], wait=[])

    async def stalled(seconds: float) -> None:
        await gate.wait()

    healer = Healer(runner, RULES, store=store, watch="me", sleep=stalled, clock=clock)
    with time_machine.travel(NOW, tick=False):
        healer.consider(unhealthy())
        await fake.next_sleep()
        assert fake.slept == [20.0]
        clock.now = T0 + 50
        fake.go.put_nowait(None)
        await fake.next_sleep()  # renewed at T0 + 50: held by "me" since T0, until T0 + 110
        assert store.take_lease(*KEY, "peer", T0 + 100, 1) == {
            "holder": "me",
            "since": "2027-01-15T08:00:00Z",
            "expires": "2027-01-15T08:01:50Z",
        }
        store.release_lease(*KEY, "me")
        assert store.take_lease(*KEY, "other-watch", T0 + 100, 60) is None
        fake.go.put_nowait(None)
        await asyncio.wait_for(asyncio.gather(*healer._busy.values()), 30)
    said = "web: stopped: another watch took the lease (other-watch since 2027-01-15T08:01:40Z)"
    assert healer.reports.get_nowait() == report("heal_skipped", said)
    assert healer.reports.empty()
    assert "docker_restart_container" not in runner.tools()


def test_a_healer_keeps_what_it_is_given_and_defaults_to_a_store_in_memory():
    """The store and watch name given are used; by default an in-memory store, a watch id."""
    store = HealStore(":memory:")
    runner = Runner()
    given = Healer(runner, RULES, store=store, watch="w-1")
    assert (given.store, given.watch, given.runner, given.rules) == (store, "w-1", runner, RULES)
    default = Healer(runner, RULES)
    assert default.store.where == ":memory:"
    assert default.store is not store
    assert default.watch.count("/") == 3
    assert default.reports.empty()


async def test_only_firing_unhealthy_opted_in_containers_start_a_heal():
    """Rules off, a resolve, another kind, or a missing label (said for unhealthy only)."""
    runner = Runner(inspect=[], restart=[], wait=[])
    off = Healer(runner, RULES.model_copy(update={"restart_unhealthy": False}))
    off.consider(unhealthy())
    assert (off._busy, off.reports.empty()) == ({}, True)
    rules = RULES.model_copy(update={"require_labels": ["a=1", "b"]})
    healer = Healer(runner, rules)
    healer.consider(unhealthy(kind="died", labels={}))
    healer.consider({**unhealthy(labels={"a": "1", "b": "x"}), "status": "resolved"})  # type: ignore[typeddict-unknown-key]
    assert healer.reports.empty()
    swarm_died = {"com.docker.swarm.task.id": "t1"}
    healer.consider(unhealthy(kind="died", labels=swarm_died))  # not opted in: no report
    assert healer.reports.empty()
    with time_machine.travel(NOW, tick=False):
        healer.consider(unhealthy(labels={"a": "2"}))
    assert healer.reports.get_nowait() == report("heal_skipped", "web: not opted in (needs a=1, b)")
    assert healer._busy == {}


async def test_a_swarm_tasks_failure_of_any_kind_goes_to_the_swarm_handling():
    """died, oom_killed, restart_loop of a task: considered (never restarted in place)."""
    runner = Runner(inspect=[], restart=[], wait=[], list=[])
    healer = Healer(runner, RULES)
    swarm = {"org.operator-core.autoheal": "true", "com.docker.swarm.service.id": "s1"}
    for n, kind in enumerate(("died", "oom_killed", "restart_loop", "unhealthy")):
        healer.consider(unhealthy(kind=kind, labels=swarm, cid=str(n) * 64))
    assert len(healer._busy) == 4
    await healer.close()


async def test_a_finished_heal_leaves_room_for_the_next_of_that_container():
    """Once a heal ended a new incident of the container starts one; ended ones are dropped."""
    runner = Runner(
        inspect=[health("healthy"), health("healthy"), health("healthy")], restart=[], wait=[]
    )
    clock = Clock(T0)
    healer = Healer(runner, RULES, sleep=clock.sleep, clock=clock)
    healer.consider(unhealthy())
    healer.consider(unhealthy(cid="e" * 64))
    await asyncio.gather(*healer._busy.values())
    healer.consider(unhealthy())
    assert list(healer._busy) == [(None, CID)]
    await asyncio.gather(*healer._busy.values())
    assert runner.tools() == ["docker_inspect_container"] * 3


async def test_close_cancels_the_heals_and_waits_for_them():
    """close() returns once every heal under way has ended (cancelled), raising nothing."""
    gate = asyncio.Event()

    async def stuck(seconds: float) -> None:
        await gate.wait()

    healer = Healer(Runner(inspect=[], restart=[], wait=[]), RULES, sleep=stuck)
    healer.consider(unhealthy())
    await asyncio.sleep(0)
    (task,) = healer._busy.values()
    await healer.close()
    assert task.done()
    assert task.cancelled()


async def test_identity_asks_the_host_only_when_there_is_one_and_none_on_failure():
    """identity(host) asks with host=...; identity(None) asks with nothing; errors are None."""
    runner = Runner()
    healer = Healer(runner, RULES)
    assert (await healer.identity("h1"))["engine_id"] == "ENGINE-A"  # type: ignore[index]
    assert await healer.identity(None) is not None
    assert runner.executor.asked == [{"host": "h1"}, {}]
    runner.executor = Executor(fail=True)
    assert await healer.identity("h1") is None
    assert await healer.engine_id(unhealthy()) is None
