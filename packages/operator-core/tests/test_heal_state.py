"""The healer safe to leave running: leases, state that outlives a restart, bounds, flapping."""

from __future__ import annotations

import asyncio

import pytest

from heal_fakes import CID, Clock, FakeRunner, settle, unhealthy
from operator_core.audit import AuditQuery
from operator_core.errors import HealStateError
from operator_core.policy import HealRules
from operator_core.watch import Healer, HealStore

RULES = HealRules(
    restart_unhealthy=True, grace_s=30, backoff_s=10, backoff_max_s=15, max_attempts=3
)


def healer_on(store: HealStore, runner: FakeRunner, clock: Clock, **rules: object) -> Healer:
    """Return a healer on ``store`` whose sleeps move ``clock``."""
    return Healer(
        runner, RULES.model_copy(update=rules), store=store, sleep=clock.sleep, clock=clock
    )


def test_a_lease_held_by_another_watch_is_refused_until_it_expires(tmp_path):
    """take_lease returns the other holder (and since when) until its lease has expired."""
    store = HealStore(tmp_path / "h.sqlite3")
    assert store.take_lease("E", CID, "watch-a", 100.0, 30.0) is None
    held = store.take_lease("E", CID, "watch-b", 120.0, 30.0)
    assert held is not None
    assert (held["holder"], held["since"]) == ("watch-a", "1970-01-01T00:01:40Z")
    assert store.take_lease("E", CID, "watch-b", 131.0, 30.0) is None  # a's expired at 130
    store.release_lease("E", CID, "watch-a")  # not a's any more: changes nothing
    assert store.take_lease("E", CID, "watch-a", 140.0, 30.0) is not None
    store.close()


async def test_two_watches_on_one_store_never_heal_one_container_twice(tmp_path):
    """While watch A heals, watch B (another store connection, as another process) skips it.

    B's report names who holds the lease and since when; B makes no tool call at all.
    """
    gate, waiting = asyncio.Event(), asyncio.Event()
    clock = Clock()

    async def held_sleep(seconds: float) -> None:
        waiting.set()  # A holds its lease and waits out its grace
        await gate.wait()

    path = tmp_path / "shared.sqlite3"
    first, second = FakeRunner(["unhealthy"], [True]), FakeRunner(["unhealthy"], [True])
    a = Healer(first, RULES, store=HealStore(path), watch="host/1/a", sleep=held_sleep, clock=clock)
    b = Healer(second, RULES, store=HealStore(path), watch="host/2/b", clock=clock)
    a.consider(unhealthy())
    await asyncio.wait_for(waiting.wait(), 30)
    b.consider(unhealthy(host="edge-1"))  # another name for the same engine: same lease
    (skipped,) = await settle(b)
    assert second.calls == []
    assert skipped["kind"] == "heal_skipped"
    assert skipped["message"].startswith("web: being healed by another watch (host/1/a) since ")
    gate.set()
    assert [r["kind"] for r in await settle(a)] == ["heal_started", "healed"]
    assert first.tools().count("docker_restart_container") == 1


async def test_leases_are_keyed_by_the_engine_id_not_the_host_name(tmp_path):
    """Two host names of one engine share a lease; two engines with one host name do not."""
    store = HealStore(tmp_path / "h.sqlite3")
    runner = FakeRunner([], [])
    runner.executor.identities = {"a": {"engine_id": "SAME"}, "b": {"engine_id": "SAME"}}
    healer = Healer(runner, RULES, store=store)
    assert await healer.engine_id(unhealthy(host="a")) == await healer.engine_id(
        unhealthy(host="b")
    )
    runner.executor.identities = {"a": {"engine_id": "OTHER"}}
    assert await healer.engine_id(unhealthy(host="a")) == "OTHER"
    known = {**unhealthy(host="a"), "engine_id": "FROM-INCIDENT"}
    assert await healer.engine_id(known) == "FROM-INCIDENT"  # type: ignore[arg-type]


async def test_an_escalation_outlives_the_watch_until_a_person_clears_it(tmp_path):
    """Escalated by one watch; a new watch on the same file does nothing; cleared, it heals."""
    path, clock = tmp_path / "h.sqlite3", Clock()
    store = HealStore(path)
    first = FakeRunner(["unhealthy"], [False])
    await settle_one(healer_on(store, first, clock, max_attempts=1))
    store.close()
    store = HealStore(path)  # the watch restarted
    second = FakeRunner(["unhealthy"], [True])
    (skipped,) = await settle_one(healer_on(store, second, clock))
    assert second.calls == []
    assert "escalated since" in skipped["message"]
    (escalation,) = store.escalations()
    assert (escalation["name"], escalation["engine_id"]) == ("web", "ENGINE-A")
    store.clear("ENGINE-A", CID)
    reports = await settle_one(healer_on(store, second, clock))
    assert [r["kind"] for r in reports] == ["heal_started", "healed"]


async def settle_one(healer: Healer, **incident: object) -> list:
    """Hand the healer one unhealthy incident; return its reports once it is done."""
    healer.consider(unhealthy(**incident))  # type: ignore[arg-type]
    return await settle(healer)


async def test_failed_heals_and_backoff_outlive_the_watch(tmp_path):
    """One failure before a restart of the watch counts after it, and its backoff is waited out.

    max_attempts 2: the first watch fails once (backoff 10 s, then it is stopped); the next
    watch, 4 s later, waits the 6 s left of that backoff, fails again and escalates.
    """
    path, clock = tmp_path / "h.sqlite3", Clock()
    runner = FakeRunner(["unhealthy"], [False])
    first = healer_on(HealStore(path), runner, clock, max_attempts=2)

    async def stop_in_backoff(seconds: float) -> None:
        if seconds == 10:
            raise asyncio.CancelledError
        await clock.sleep(seconds)

    first.sleep = stop_in_backoff
    first.consider(unhealthy())
    await asyncio.gather(*first._busy.values(), return_exceptions=True)
    clock.now += 4
    clock.slept.clear()
    runner = FakeRunner(["unhealthy"], [False])
    reports = await settle_one(healer_on(HealStore(path), runner, clock, max_attempts=2))
    assert clock.slept[:2] == [6, 30]  # the rest of the backoff, then the grace
    assert [r["kind"] for r in reports][-1] == "escalated"
    assert reports[-1]["attempt"] == 2


async def test_a_flapping_container_escalates_after_max_attempts(tmp_path):
    """Healed, but unhealthy again within flap_window_s: that heal failed; 2 such, escalated.

    Each heal "succeeds" (healthy after the restart); without the flap rule it would be
    restarted forever.
    """
    clock, store = Clock(), HealStore(tmp_path / "h.sqlite3")
    runner = FakeRunner(["unhealthy"] * 5, [True] * 5)
    healer = healer_on(store, runner, clock, max_attempts=2, flap_window_s=60, max_restarts=99)
    kinds: list[str] = []
    for _ in range(3):
        kinds += [r["kind"] for r in await settle_one(healer)]
        clock.now += 5  # unhealthy again 5 s after being healthy
    assert runner.tools().count("docker_restart_container") == 2
    assert kinds == [
        "heal_started",
        "healed",
        "heal_failed",  # flapping, counted: 1 of 2
        "heal_started",
        "healed",
        "escalated",
    ]
    assert "flapping" in (await _last_escalation(store))


async def _last_escalation(store: HealStore) -> str:
    return store.escalations()[-1]["why"]


async def test_restarts_are_bounded_per_container_per_window(tmp_path):
    """max_restarts 2 per 600 s: a third unhealthy spell within the window escalates, unrestarted.

    Each heal holds (no flapping: the next spell comes after flap_window_s).
    """
    clock, store = Clock(), HealStore(tmp_path / "h.sqlite3")
    runner = FakeRunner(["unhealthy"] * 3, [True] * 3)
    healer = healer_on(store, runner, clock, max_restarts=2, restart_window_s=600, flap_window_s=1)
    kinds = []
    for _ in range(3):
        kinds += [r["kind"] for r in await settle_one(healer)]
        clock.now += 100
    assert runner.tools().count("docker_restart_container") == 2
    assert kinds[-1] == "escalated"
    assert "2 restarts within 600s (max_restarts)" in await _last_escalation(store)
    (record,) = runner.audit.query(AuditQuery(tool="heal"))
    assert record.rule == "heal.escalated"


async def test_restarts_outside_the_window_do_not_count(tmp_path):
    """The bound is a sliding window: a spell after restart_window_s restarts again."""
    clock, store = Clock(), HealStore(tmp_path / "h.sqlite3")
    runner = FakeRunner(["unhealthy"] * 3, [True] * 3)
    healer = healer_on(store, runner, clock, max_restarts=2, restart_window_s=600, flap_window_s=1)
    for _ in range(3):
        await settle_one(healer)
        clock.now += 400
    assert runner.tools().count("docker_restart_container") == 3


async def test_a_swarm_task_is_never_restarted_and_a_failing_service_escalates(tmp_path):
    """A task's container: churn reported (read at most every 10 s), no restart.

    Three failed tasks (each counted once, however many incidents it gave): escalated.
    """
    clock, store = Clock(), HealStore(tmp_path / "h.sqlite3")
    runner = FakeRunner([], [])
    runner.tasks = {
        "ok": True,
        "result": {"tasks": [{"state": "failed", "error": "unhealthy"}, {"state": "running"}]},
    }
    healer = healer_on(store, runner, clock)
    labels = {
        "org.operator-core.autoheal": "true",
        "com.docker.swarm.task.id": "t1",
        "com.docker.swarm.service.id": "svc1",
        "com.docker.swarm.service.name": "api",
    }
    reports = []
    for step, kind in enumerate(["unhealthy", "died", "unhealthy", "died"]):
        task = {**labels, "com.docker.swarm.task.id": f"t{step // 2}"}  # each task: 2 incidents
        reports += await settle_one(healer, labels=task, kind=kind, cid=str(step // 2) * 64)
        clock.now += 4
    assert not any(r["kind"] == "escalated" for r in reports)  # 2 tasks failed, not 4
    third = {**labels, "com.docker.swarm.task.id": "t9"}
    reports += await settle_one(healer, labels=third, kind="died", cid="9" * 64)
    assert "docker_restart_container" not in runner.tools()
    assert runner.tools() == ["docker_list_service_tasks"] * 2  # read at 0 s and 16 s only
    assert "never restarted in place" in reports[0]["message"]
    assert "1 failed, 1 running of 2 tasks" in reports[0]["message"]
    assert reports[-1]["kind"] == "escalated"
    assert "service api" in reports[-1]["message"]
    assert store.escalations()[0]["name"] == "service:api"


async def test_every_report_names_the_container():
    """Skips, denials, failures and escalations all start with the container's name."""
    clock = Clock()
    runner = FakeRunner(["unhealthy"], [False])
    healer = Healer(runner, RULES.model_copy(update={"max_attempts": 1}), sleep=clock.sleep)
    healer.consider(unhealthy(name="api-7", labels={}))
    healer.consider(unhealthy(name="api-8"))
    reports = await settle(healer)
    assert {r["kind"] for r in reports} >= {"heal_skipped", "heal_failed", "escalated"}
    assert all(r["message"].startswith(("api-7: ", "api-8: ")) for r in reports)


async def test_willfarrells_label_does_not_opt_in_by_default():
    """autoheal=true is another healer's label: with the default rules it is not an opt-in."""
    runner = FakeRunner([], [])
    healer = Healer(runner, RULES)
    (report,) = await settle_one(healer, labels={"autoheal": "true"})
    assert runner.calls == []
    assert report["message"] == "web: not opted in (needs org.operator-core.autoheal=true)"


def test_a_store_newer_than_this_code_is_refused(tmp_path):
    """A heal store written by a newer schema is a HealStateError naming both versions."""
    path = tmp_path / "h.sqlite3"
    HealStore(path)._db.execute("INSERT INTO heal_schema VALUES (99)")
    with pytest.raises(HealStateError, match="schema version 99"):
        HealStore(path)


def test_an_unusable_store_path_is_a_heal_state_error(tmp_path):
    """A directory where the file should be: HealStateError, not a raw sqlite3 error."""
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(HealStateError, match="cannot open the heal store"):
        HealStore(tmp_path / "dir.sqlite3")


async def test_only_firing_failures_are_acted_on():
    """A resolve, a summary or an info incident (stopped, removed) starts nothing.

    The incident contract gives each incident a status; a task's container stopped by
    Swarm itself is not a failing task either.
    """
    runner = FakeRunner([], [])
    healer = Healer(runner, RULES)
    for status in ("resolved", "update", "info"):
        healer.consider({**unhealthy(), "status": status})  # type: ignore[typeddict-unknown-key]
    swarm = {**unhealthy()["labels"], "com.docker.swarm.task.id": "t1"}
    healer.consider(unhealthy(labels=swarm, kind="stopped"))
    assert healer._busy == {}
    healer.consider({**unhealthy(), "status": "firing"})  # type: ignore[typeddict-unknown-key]
    assert len(healer._busy) == 1
    await healer.close()


async def test_a_heal_that_loses_its_lease_stops(tmp_path):
    """A watch that stalled past its lease, which another watch then took, stops its heal.

    The renewer (every lease_s / 3 of real time) finds the other holder: the heal is
    cancelled before its restart and reported as stopped, naming who took the lease.
    """
    gate = asyncio.Event()
    clock, store = Clock(), HealStore(tmp_path / "h.sqlite3")
    runner = FakeRunner(["unhealthy"], [True])

    async def stalled(seconds: float) -> None:
        clock.now += 60  # the lease (5 s) expires while this watch is stuck here
        assert store.take_lease("ENGINE-A", CID, "other-watch", clock.now, 60) is None
        await gate.wait()

    healer = Healer(runner, RULES.model_copy(update={"lease_s": 5}), store=store, sleep=stalled)
    healer.clock = clock
    (report,) = await asyncio.wait_for(settle_one(healer), 30)
    assert "docker_restart_container" not in runner.tools()
    assert report["kind"] == "heal_skipped"
    assert report["message"].startswith("web: stopped: another watch took the lease (other-watch")
