"""Locks and rate limits count by who the engine says it is, never by how it was named.

A container is keyed by its engine's ID and its id; a service or node by its swarm's
cluster ID and its id. So two inventory names of one engine, or two managers of one
swarm, share one budget and one lock (issue 18, items 2 and 3).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from operator_core.audit import SQLiteAuditSink
from operator_core.docker.swarm.results import UpdateResult
from operator_core.fleet import Fleet, FleetExecutor, inventory_from_dict
from operator_core.policy import policy_from_dict
from operator_core.policy.limits import RateLimiter
from operator_core.policy.model import RateLimit
from operator_core.runner import ToolRunner
from swarm_tool_fakes import object_id
from tool_fakes import FakeClock, FakeExecutor, container_id

NO_APPROVAL = {"mode": "execute", "approval": {"risks": []}}
ONE_RESTART = [{"max": 1, "window_s": 600, "per": "container"}]


class HeldSwarm(FakeExecutor):
    """A manager whose service restarts wait for ``release`` (to see who holds the lock)."""

    def __init__(self, release: asyncio.Event) -> None:
        super().__init__()
        self.release = release
        self.restarting = asyncio.Event()

    async def restart_service(self, service: str, timeout: float = 300) -> UpdateResult:
        self.restarting.set()
        await self.release.wait()
        return await super().restart_service(service, timeout)


def two_names(hosts: dict[str, FakeExecutor], policy: dict[str, Any], **runner: Any) -> ToolRunner:
    """Return a fleet runner over hosts 'a' and 'b' (their executors given)."""
    inventory = inventory_from_dict(
        {
            "default": "a",
            "hosts": {
                "a": {"url": "unix:///a.sock"},
                "b": {"url": "unix:////a.sock"},  # another spelling: nothing is read from it
            },
        }
    )
    fleet = Fleet(
        inventory,
        client_factory=lambda entry: None,
        executor_factory=lambda entry, client: hosts[entry.name],
    )
    return ToolRunner(
        FleetExecutor(fleet), policy=policy_from_dict(policy), own_container_id=None, **runner
    )


def managers(cluster_a: str = "CLUSTER-1", cluster_b: str = "CLUSTER-1") -> dict[str, Any]:
    """Return two managers (engines E-A, E-B) of the swarms given, each with service 'web'."""
    hosts: dict[str, Any] = {"a": FakeExecutor(), "b": FakeExecutor()}
    for (name, fake), cluster in zip(hosts.items(), (cluster_a, cluster_b), strict=True):
        fake.add_service("web", 2)
        fake.identity = {
            **fake.identity,
            "engine_id": f"E-{name.upper()}",
            "cluster_id": cluster,
            "node_id": f"N-{name}",
            "manager": True,
        }
    return hosts


async def test_two_managers_of_one_swarm_share_a_services_rate_limit():
    """One restart of 'web' per window: through manager a, then b is refused (one swarm)."""
    run = two_names(managers(), {**NO_APPROVAL, "rate_limits": ONE_RESTART})
    first = await run.execute_tool("docker_restart_service", {"service": "web", "host": "a"})
    assert first["ok"] is True
    again = await run.execute_tool("docker_restart_service", {"service": "web", "host": "b"})
    assert again["error"]["rule"] == "rate_limits[0]"


async def test_managers_of_two_swarms_count_their_services_apart():
    """Two swarms each have their own 'web' (same id here): each gets its own budget."""
    run = two_names(managers("CLUSTER-1", "CLUSTER-2"), {**NO_APPROVAL, "rate_limits": ONE_RESTART})
    for host in ("a", "b"):
        done = await run.execute_tool("docker_restart_service", {"service": "web", "host": host})
        assert done["ok"] is True, done


async def test_two_managers_of_one_swarm_share_a_services_lock():
    """A restart through b waits while one through a holds the service; then it runs."""
    release = asyncio.Event()
    hosts = {"a": HeldSwarm(release), "b": HeldSwarm(release)}
    for name, fake in hosts.items():
        fake.add_service("web", 2)
        fake.identity = {**fake.identity, "engine_id": f"E-{name}", "cluster_id": "C1"}
    run = two_names(hosts, NO_APPROVAL)
    first = asyncio.create_task(
        run.execute_tool("docker_restart_service", {"service": "web", "host": "a"})
    )
    await hosts["a"].restarting.wait()
    second = asyncio.create_task(
        run.execute_tool("docker_restart_service", {"service": "web", "host": "b"})
    )
    for _ in range(10_000):  # until b's call restarts, or queues behind a's on one lock
        queued = any(users >= 2 for _, users in run.guard.gate._locks.values())
        if queued or hosts["b"].restarting.is_set():
            break
        await asyncio.sleep(0)
    assert not hosts["b"].restarting.is_set()
    assert list(run.guard.gate._locks) == [f"swarm:C1/{object_id('web')}"]
    release.set()
    assert (await first)["ok"] is True
    assert (await second)["ok"] is True


async def test_two_names_of_one_engine_share_a_containers_rate_limit():
    """Hosts a and b are one engine (one ID): a restart through each is one container's two."""
    one = FakeExecutor("web")
    run = two_names({"a": one, "b": one}, {**NO_APPROVAL, "rate_limits": ONE_RESTART})
    args = {"container_id": "web"}
    assert (await run.execute_tool("docker_restart_container", {**args, "host": "a"}))["ok"]
    again = await run.execute_tool("docker_restart_container", {**args, "host": "b"})
    assert again["error"]["rule"] == "rate_limits[0]"


@pytest.mark.parametrize(("cluster_b", "refused"), [("CLUSTER-1", True), ("CLUSTER-2", False)])
async def test_a_sqlite_trail_keeps_the_key_and_another_process_counts_by_it(
    tmp_path: Path, cluster_b: str, refused: bool
):
    """Two runners share a trail, started before either acted: b's restart is judged in SQL.

    The second runner read an empty trail at its start, so only the admission's query of
    the trail (by each row's key) can know of the restart the first made through a: it
    counts when b is a manager of the same swarm, not when b's is another swarm.
    """
    policy = {**NO_APPROVAL, "rate_limits": ONE_RESTART}
    sinks = [SQLiteAuditSink(tmp_path / "audit.sqlite3") for _ in range(2)]
    first, second = (two_names(managers("CLUSTER-1", cluster_b), policy, audit=s) for s in sinks)
    try:
        await second.start()
        done = await first.execute_tool("docker_restart_service", {"service": "web", "host": "a"})
        assert done["ok"] is True
        stored = [r for r in sinks[1].query() if r.outcome == "ok"]
        assert [r.target_key for r in stored] == [f"swarm:CLUSTER-1/{object_id('web')}"]
        again = await second.execute_tool("docker_restart_service", {"service": "web", "host": "b"})
        assert again["ok"] is not refused
        if refused:
            assert again["error"]["rule"] == "rate_limits[0]"
    finally:
        for sink in sinks:
            await sink.close()


async def test_a_memory_trail_read_at_start_counts_by_the_key(tmp_path: Path):
    """A JSONL trail (no admission) is read back at start by each record's key too."""
    from operator_core.audit import open_audit

    policy = {**NO_APPROVAL, "rate_limits": ONE_RESTART}
    sink = open_audit(tmp_path / "audit.jsonl")
    first = two_names(managers(), policy, audit=sink)
    assert (await first.execute_tool("docker_restart_service", {"service": "web", "host": "a"}))[
        "ok"
    ]
    second = two_names(managers(), policy, audit=sink)
    again = await second.execute_tool("docker_restart_service", {"service": "web", "host": "b"})
    await sink.close()
    assert again["error"]["rule"] == "rate_limits[0]"


def test_a_record_from_before_keys_counts_for_its_object_on_any_engine():
    """An old record (``id`` or ``id@host``) counts for the same id's new key; no other."""
    clock = FakeClock()
    limiter = RateLimiter([RateLimit(max=1, window_s=600)], clock)
    cid = container_id("web")
    now = clock()
    for old in (cid, f"{cid}@prod"):
        assert limiter.judge("docker_restart_container", f"engine:E/{cid}", [("x", old, now)], now)
    other = [("docker_restart_container", container_id("db"), now)]
    assert limiter.judge("docker_restart_container", f"engine:E/{cid}", other, now) is None
    keyed = [("docker_restart_container", f"engine:F/{cid}", now)]
    assert limiter.judge("docker_restart_container", f"engine:E/{cid}", keyed, now) is None
