"""Swarm tasks under the healer pinned exactly: the count, the churn read, the escalation."""

from __future__ import annotations

import asyncio
from typing import Any

import time_machine

from heal_fakes import Clock, FakeRunner, unhealthy
from operator_core.audit import AuditQuery
from operator_core.policy import HealRules
from operator_core.watch import Healer, HealReport, HealStore
from operator_core.watch.heal.swarm import is_swarm_task

T0 = 1_800_000_000.0
NOW = "2026-11-29T10:05:00Z"
RULES = HealRules(restart_unhealthy=True, max_attempts=3, window_s=600)
TASK = "com.docker.swarm.task.id"
SERVICE = "com.docker.swarm.service.id"
NAME = "com.docker.swarm.service.name"
OPT_IN = {"org.operator-core.autoheal": "true"}
TASKS = {
    "ok": True,
    "result": {
        "tasks": [
            {"state": "failed"},
            {"state": "rejected"},
            {"state": "shutdown", "error": "task: non-zero exit (1)"},
            {"state": "running"},
            {"state": "running"},
            {"state": "shutdown"},
            "not a task",
        ]
    },
}
CHURN = "engine: 3 failed, 2 running of 6 tasks in its history"


class Runner(FakeRunner):
    """The heal fakes' runner, recording each call's reason too."""

    def __init__(self) -> None:
        super().__init__(health=[], waits=[])
        self.reasons: list[str | None] = []

    async def execute_tool(
        self, tool: str, arguments: dict[str, Any], *, actor: str, reason: str | None
    ) -> dict[str, Any]:
        self.reasons.append(reason)
        return await super().execute_tool(tool, arguments, actor=actor, reason=reason)


def task_incident(
    task: str = "t1", kind: str = "died", host: str | None = None, **labels: str
) -> Any:
    """An incident of a task's container (service svc-id-0123456789 named api by default)."""
    given = {**OPT_IN, TASK: task, SERVICE: "svc-id-0123456789", NAME: "api", **labels}
    return unhealthy(labels={k: v for k, v in given.items() if v}, kind=kind, host=host)


async def offer(healer: Healer, *incidents: Any) -> list[HealReport]:
    """Hand the incidents over one by one, each to its end; return the reports."""
    with time_machine.travel(NOW, tick=False):
        for incident in incidents:
            healer.consider(incident)
            await asyncio.gather(*healer._busy.values())
    return [healer.reports.get_nowait() for _ in range(healer.reports.qsize())]


def healer_of(runner: Runner, clock: Clock, store: HealStore | None = None, **rules: Any) -> Healer:
    """A healer with its clock (the store in memory unless given)."""
    return Healer(
        runner, RULES.model_copy(update=rules), store=store, sleep=clock.sleep, clock=clock
    )


def said(failures: int, tail: str = f"; {CHURN}", kind: str = "died") -> str:
    """The heal_skipped message of a counted task failure."""
    return (
        f"web: a Swarm task ({kind}): never restarted in place, Swarm replaces it; "
        f"{failures} failed task(s) of service api within 600s{tail}"
    )


def test_a_container_is_a_task_by_either_swarm_label():
    """The task label or the service label makes a task; neither (or empty ones) does not."""
    assert is_swarm_task({TASK: "t"})
    assert is_swarm_task({SERVICE: "s"})
    assert not is_swarm_task({TASK: "", SERVICE: ""})
    assert not is_swarm_task({"team": "x"})


async def test_a_task_failure_is_counted_reported_with_the_churn_and_never_restarted():
    """The first failure: one churn read (audited as the healer, its reason), counted 1."""
    runner, clock = Runner(), Clock(T0)
    runner.tasks = TASKS
    healer = healer_of(runner, clock)
    reports = await offer(healer, task_incident(host="eng1"))
    assert reports == [
        HealReport(
            kind="heal_skipped",
            host="eng1",
            container_id=unhealthy()["container_id"],
            name="web",
            time=NOW,
            message=said(1),
            attempt=None,
            audit_id=None,
        )
    ]
    assert runner.calls == [
        ("docker_list_service_tasks", {"service": "svc-id-0123456789", "host": "eng1"},
         "operator:watch-heal"),
    ]  # fmt: skip
    assert runner.reasons == ["watch --heal: a Swarm task's service churn"]
    key = ("ENGINE-A", "service:svc-id-0123456789")
    assert healer.store.count(*key, "failure", T0) == 1


async def test_each_task_counts_once_and_the_churn_is_read_at_most_every_10_s():
    """A task's second incident is not counted; a read within 10 s of the last is skipped."""
    runner, clock = Runner(), Clock(T0)
    runner.tasks = TASKS
    healer = healer_of(runner, clock, max_attempts=9)
    reports = await offer(healer, task_incident("t1"), task_incident("t1", kind="unhealthy"))
    clock.now += 9.5
    reports += await offer(healer, task_incident("t2"))
    clock.now += 0.5  # 10 s after the first read: read again
    reports += await offer(healer, task_incident("t3"))
    assert [r["message"] for r in reports] == [said(1), said(2, ""), said(3)]
    assert runner.tools() == ["docker_list_service_tasks"] * 2
    assert runner.calls[0][1] == {"service": "svc-id-0123456789"}  # no host: none given


async def test_the_service_escalates_at_max_attempts_task_failures():
    """The third failing task within window_s escalates the service (kept, audited, said)."""
    runner, clock = Runner(), Clock(T0)
    runner.tasks = TASKS
    store = HealStore(":memory:")
    healer = healer_of(runner, clock, store=store)
    reports = await offer(healer, *(task_incident(f"t{n}") for n in range(3)))
    why = (
        "service api: 3 failed task(s) of service api within 600s: its tasks keep failing; "
        "Swarm replaces them"
    )
    (record,) = runner.audit.query(AuditQuery(tool="heal"))
    assert [r["kind"] for r in reports] == ["heal_skipped"] * 3 + ["escalated"]
    assert reports[-1]["message"] == (
        f"web: {why}; no watch acts on it again until a person runs "
        "`operator heal clear service:api`"
    )
    assert (reports[-1]["attempt"], reports[-1]["audit_id"]) == (3, record.id)
    (escalation,) = store.escalations()
    assert (escalation["engine_id"], escalation["container_id"], escalation["name"]) == (
        "ENGINE-A",
        "service:svc-id-0123456789",
        "service:api",
    )
    assert escalation["why"] == why
    later = await offer(healer, task_incident("t9"))
    assert [(r["kind"], r["message"]) for r in later] == [
        ("heal_skipped", "web: a Swarm task of service api, escalated earlier: not acted on")
    ]


async def test_failures_older_than_the_window_are_not_counted():
    """Two failures, then one window_s later: the count is 1, no escalation."""
    runner, clock = Runner(), Clock(T0)
    healer = healer_of(runner, clock, max_attempts=2)
    await offer(healer, task_incident("t1"))
    clock.now += 600.5
    reports = await offer(healer, task_incident("t2"))
    churn = "; engine: 0 failed, 0 running of 0 tasks in its history"
    assert [r["message"] for r in reports] == [said(1, churn)]


async def test_a_swarm_is_keyed_by_its_cluster_id_when_it_has_one():
    """On a manager (cluster ID known) the failures count per cluster, whichever node saw them."""
    runner, clock = Runner(), Clock(T0)
    runner.executor.identities = {
        "m1": {"engine_id": "NODE-1", "cluster_id": "CLUSTER"},
        "m2": {"engine_id": "NODE-2", "cluster_id": "CLUSTER"},
    }
    store = HealStore(":memory:")
    healer = healer_of(runner, clock, store=store, max_attempts=2)
    reports = await offer(healer, task_incident("t1", host="m1"), task_incident("t2", host="m2"))
    assert reports[-1]["kind"] == "escalated"
    assert store.escalations()[0]["engine_id"] == "CLUSTER"


async def test_unreadable_tasks_and_engine_are_said():
    """A refused task listing is said with its type; no engine identity: heal_failed."""
    runner, clock = Runner(), Clock(T0)
    runner.tasks = {"ok": False, "error": {"type": "denied", "message": "no"}}
    healer = healer_of(runner, clock)
    reports = await offer(healer, task_incident("t1"))
    assert reports[0]["message"] == said(1, "; its tasks unreadable here (denied)")
    runner.tasks = {"ok": False}
    clock.now += 10
    reports = await offer(healer, task_incident("t2"))
    assert reports[0]["message"] == said(2, "; its tasks unreadable here (None)")

    class NoEngine:
        async def engine_identity(self, **host: str) -> Any:
            from operator_core.errors import EngineUnreachable

            raise EngineUnreachable("down")

    runner.executor = NoEngine()  # type: ignore[assignment]
    reports = await offer(healer, task_incident("t3"))
    assert [(r["kind"], r["message"]) for r in reports] == [
        ("heal_failed", "web: a Swarm task: could not read its engine's ID")
    ]


async def test_a_task_without_names_is_said_by_what_it_has():
    """No service name: its ID cut to 12; no service ID: the task's ID."""
    runner, clock = Runner(), Clock(T0)
    healer = healer_of(runner, clock, max_attempts=9)
    no_name = task_incident("t1", **{NAME: ""})
    reports = await offer(healer, no_name)
    assert "of service svc-id-01234 within" in reports[0]["message"]
    only_task = unhealthy(labels={**OPT_IN, TASK: "task-id-abcdefghij"}, kind="died")
    clock.now += 10
    reports = await offer(healer, only_task)
    assert "of service task-id-abcd within" in reports[0]["message"]
    assert runner.calls[-1][1] == {"service": "task-id-abcdefghij"}
    bare = unhealthy(labels={**OPT_IN, SERVICE: "s"}, kind="died", cid="f" * 64)
    clock.now += 10
    reports = await offer(healer, bare)
    assert "1 failed task(s) of service s within" in reports[0]["message"]
    bare_again = unhealthy(labels={**OPT_IN, SERVICE: "s"}, kind="oom_killed", cid="f" * 64)
    assert await offer(healer, bare_again) == []  # counted by its container ID: once


async def test_a_task_listing_of_an_odd_shape_counts_no_tasks():
    """A listing whose result is not an object, or whose tasks are not a list: 0 of 0."""
    runner, clock = Runner(), Clock(T0)
    healer = healer_of(runner, clock, max_attempts=9)
    empty = "; engine: 0 failed, 0 running of 0 tasks in its history"
    for n, result in enumerate((None, ["task"], {"tasks": "many"}, {"tasks": None})):
        runner.tasks = {"ok": True, "result": result}
        reports = await offer(healer, task_incident(f"t{n}"))
        assert [r["message"] for r in reports] == [said(n + 1, empty)]
        clock.now += 10
