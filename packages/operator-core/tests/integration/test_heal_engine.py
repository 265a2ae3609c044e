"""The healer left running, on the lab's spare engine 94 (no other test uses it).

Two watches on one store never heal one container twice; a flapping container escalates
after the bound; a restarted watch keeps the escalation. Each test's containers carry a
label unique to the run, and only they opt in.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import OPERATOR, clean_env, json_out, run_operator
from lab_helpers import spare_engine_url
from python_on_whales import DockerClient
from swarm_helpers import ServiceFactory

from operator_core.audit import AuditQuery, MemoryAuditSink
from operator_core.docker import DockerActionExecutor
from operator_core.policy import DEFAULT_HEAL_LABEL, policy_from_dict
from operator_core.runner import ToolRunner
from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name
from operator_core.watch import Healer, HealStore, heal_approver, heal_watch

LAB = Path(__file__).resolve().parents[4] / "scripts" / "lab.sh"
SPARE = "94"
#: Unhealthy on its first run, healthy once restarted (the marker file survives a restart).
SICK_UNTIL_RESTARTED = (
    "sh",
    "-c",
    "if [ -f /tmp/ran ]; then touch /tmp/ok; else touch /tmp/ran; fi; sleep 300",
)
#: Healthy for 4 s after each start, unhealthy after: a flapping health check.
FLAPPING = ("sh", "-c", "touch /tmp/ok; sleep 4; rm /tmp/ok; sleep 300")
HEALTH = {"health_cmd": "test -f /tmp/ok", "health_interval": 1, "health_retries": 1}


@pytest.fixture(scope="module")
def spare(request: pytest.FixtureRequest) -> DockerClient:
    """The lab's spare engine 94 (scripts/lab.sh spare 94)."""
    return DockerClient(host=spare_engine_url(request.config, SPARE))


@pytest.fixture
def made(spare: DockerClient) -> Iterator[list[str]]:
    """Names of the containers a test made on the spare engine; removed after it."""
    names: list[str] = []
    yield names
    if names:
        subprocess.run(
            [*spare.client_config.docker_cmd, "rm", "-f", "-v", *names],
            capture_output=True,
            timeout=120,
            check=False,
        )


def _run(client: DockerClient, group: dict[str, str], command: tuple[str, ...]) -> str:
    """Start an opted-in container of this test's group; return its name."""
    name = unique_name()
    key, value = DEFAULT_HEAL_LABEL.split("=")
    labels = {TEST_LABEL: "1", key: value, **group}
    client.run(TEST_IMAGE, list(command), name=name, detach=True, labels=labels, **HEALTH)
    return name


def _policy(group: dict[str, str], **heal: Any) -> Any:
    """An execute policy whose [heal] pre-approves restarts of this group's containers only."""
    ((key, value),) = group.items()
    return policy_from_dict(
        {
            "mode": "execute",
            "heal": {
                "restart_unhealthy": True,
                "preapproved": True,
                "require_labels": [DEFAULT_HEAL_LABEL, f"{key}={value}"],
                "grace_s": 1,
                "stop_grace_s": 1,
                "backoff_s": 0.5,
                **heal,
            },
        }
    )


class Watch:
    """One watch with a healer (its own runner, audit and store connection) on the spare."""

    def __init__(self, client: DockerClient, policy: Any, store: Path, names: list[str]):
        executor = DockerActionExecutor(client)
        self.audit = MemoryAuditSink()
        self.runner = ToolRunner(
            executor,
            policy=policy,
            audit=self.audit,
            approver=heal_approver(None, policy.heal),
            own_container_id=None,
        )
        self.store = HealStore(store)
        self.healer = Healer(self.runner, policy.heal, store=self.store)
        self.stream = heal_watch(executor, self.healer)
        self.names = names
        self.items: list[dict[str, Any]] = []  # about this test's containers
        self.everything: list[dict[str, Any]] = []  # all, for containers named by Swarm
        self.connected = asyncio.Event()
        self.changed = asyncio.Event()

    async def run(self) -> None:
        """Collect this test's items until cancelled."""
        async with contextlib.aclosing(self.stream) as stream:
            async for item in stream:
                if item["kind"] == "connected":
                    self.connected.set()
                self.everything.append(dict(item))
                if item.get("name") in self.names:
                    self.items.append(dict(item))
                self.changed.set()

    def restarts(self) -> int:
        """The restarts this watch made (its audit trail)."""
        done = self.audit.query(AuditQuery(tool="docker_restart_container"))
        return sum(1 for record in done if record.outcome == "ok")

    def kinds(self, name: str | None = None) -> list[str]:
        return [i["kind"] for i in self.items if name is None or i.get("name") == name]


async def _until(watches: list[Watch], done: Any, timeout: float) -> None:
    """Wait (on the watches' items, not a sleep) until ``done()`` is true."""

    async def wait() -> None:
        while not done():
            changes = [asyncio.ensure_future(w.changed.wait()) for w in watches]
            await asyncio.wait(changes, return_when=asyncio.FIRST_COMPLETED)
            for w, change in zip(watches, changes, strict=True):
                change.cancel()
                w.changed.clear()

    await asyncio.wait_for(wait(), timeout)


@contextlib.asynccontextmanager
async def running(*watches: Watch) -> Any:
    """Run the watches (each connected before the block) and stop them after it."""
    tasks = [asyncio.create_task(w.run()) for w in watches]
    try:
        await asyncio.wait_for(asyncio.gather(*(w.connected.wait() for w in watches)), 60)
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for w in watches:
            w.store.close()


_TERMINAL = ("healed", "heal_skipped", "escalated", "heal_denied")


def _ends(item: dict[str, Any]) -> bool:
    """Whether a report ends a watch's handling of an incident."""
    return item["kind"] in _TERMINAL


async def test_two_watches_on_one_store_restart_each_container_exactly_once(spare, made, tmp_path):
    """20 opted-in containers turn unhealthy under two watches sharing a store: 20 restarts.

    Every container gets exactly one restart (from whichever watch took its lease), and
    the other watch reports heal_skipped naming the holder or finds it already healthy.
    """
    group = {"org.operator-core.group": uuid.uuid4().hex}
    policy, store = _policy(group), tmp_path / "history.sqlite3"
    a, b = (Watch(spare, policy, store, made) for _ in range(2))
    async with running(a, b):
        started = time.monotonic()
        for _ in range(20):
            made.append(await asyncio.to_thread(_run, spare, group, SICK_UNTIL_RESTARTED))

        def settled() -> bool:
            ends = {(n, i["name"]) for n, w in enumerate((a, b)) for i in w.items if _ends(i)}
            return len(ends) >= 40

        await _until([a, b], settled, 240)
        took = time.monotonic() - started
    restarts = a.restarts() + b.restarts()
    restarted = [
        record.container_name
        for w in (a, b)
        for record in w.audit.query(AuditQuery(tool="docker_restart_container"))
        if record.outcome == "ok"
    ]
    held = [i for w in (a, b) for i in w.items if "being healed by another watch" in i["message"]]
    print(
        f"\ntwo watches, 20 containers: {restarts} restarts ({a.restarts()} + {b.restarts()}), "
        f"{len(held)} lease skips, {took:.1f}s"
    )
    assert restarts == 20
    assert sorted(restarted) == sorted(made)
    for name in made:
        assert spare.container.inspect(name).state.health.status == "healthy"


async def test_a_flapping_container_escalates_and_a_restarted_watch_keeps_it(spare, made, tmp_path):
    """Healthy 4 s after each start, then unhealthy: escalated after max_attempts flaps.

    A new watch on the same store (the first one stopped) does not restart it again when
    it turns unhealthy once more: the escalation outlived the watch.
    """
    group = {"org.operator-core.group": uuid.uuid4().hex}
    policy = _policy(group, max_attempts=3, max_restarts=20, flap_window_s=60)
    store = tmp_path / "history.sqlite3"
    first = Watch(spare, policy, store, made)
    async with running(first):
        made.append(await asyncio.to_thread(_run, spare, group, FLAPPING))
        await _until([first], lambda: "escalated" in first.kinds(), 180)
    kinds = first.kinds(made[0])
    print(f"\nflapping: {first.restarts()} restarts before escalation; {kinds}")
    assert first.restarts() == 3
    assert kinds.count("healed") == 3  # each restart "healed" it; the flap rule counted them
    second = Watch(spare, policy, store, made)
    async with running(second):
        await asyncio.to_thread(spare.container.restart, made[0], time=1)
        await _until(
            [second], lambda: any("escalated since" in i["message"] for i in second.items), 60
        )
    assert second.restarts() == 0


async def test_a_swarm_task_is_never_restarted_and_its_failing_service_escalates(
    swarm_lab, tmp_path
):
    """An opted-in service whose tasks turn unhealthy: never restarted in place.

    The churn is read from the manager and reported; after max_attempts failed tasks the
    service escalates. The tasks run on the manager, whose events the watch follows.
    """
    group = {"org.operator-core.group": uuid.uuid4().hex}
    ((key, value),) = group.items()
    services = ServiceFactory(swarm_lab)
    manager = DockerClient(host=swarm_lab.manager_socket)
    watch = Watch(manager, _policy(group), tmp_path / "history.sqlite3", [])
    try:
        async with running(watch):
            name = await asyncio.to_thread(
                services.create,
                1,
                "--container-label", DEFAULT_HEAL_LABEL,
                "--container-label", f"{key}={value}",
                "--health-cmd", "false", "--health-interval", "1s", "--health-retries", "1",
                "--constraint", "node.role==manager",
                "--restart-delay", "1s",
            )  # fmt: skip

            def escalated() -> bool:
                return any(
                    i["kind"] == "escalated" and name in i["message"] for i in watch.everything
                )

            await _until([watch], escalated, 240)
    finally:
        await asyncio.to_thread(services.cleanup)
    mine = [i for i in watch.everything if name in str(i.get("name")) + i["message"]]
    churn = [i["message"] for i in mine if "never restarted in place" in i["message"]]
    print(f"\nswarm service: {len(churn)} task reports before escalation; {churn[:1]}")
    assert watch.restarts() == 0
    assert len(churn) >= 3
    assert any("engine: " in text and "tasks in its history" in text for text in churn)


def _next_line(lines: queue.Queue[str], want: str, name: str) -> dict[str, Any]:
    """Return the next JSON item of kind ``want`` about ``name`` (within 120 s)."""
    ends = time.monotonic() + 120
    while (left := ends - time.monotonic()) > 0:
        try:
            item = json.loads(lines.get(timeout=left))
        except queue.Empty:
            break
        if item["kind"] == want and item.get("name") == name:
            return dict(item)
    raise AssertionError(f"the watch printed no {want} for {name}")


def test_operator_watch_heal_preapproved_escalates_and_heal_clear_clears(spare, made, tmp_path):
    """`operator watch --heal` with no terminal and no --yes restarts (pre-approved by [heal]).

    The container never turns healthy: one failed heal (max_attempts 1) escalates; the
    escalation is in the --history-db store, `operator heal list` shows it and
    `operator heal clear` removes it.
    """
    group = {"org.operator-core.group": uuid.uuid4().hex}
    ((key, value),) = group.items()
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'mode = "execute"\n[heal]\nrestart_unhealthy = true\npreapproved = true\n'
        f'require_labels = ["{DEFAULT_HEAL_LABEL}", "{key}={value}"]\n'
        "grace_s = 1\nstop_grace_s = 1\nconfirm_timeout_s = 3\nmax_attempts = 1\n"
    )
    host = spare.client_config.host
    env = clean_env(tmp_path, OPERATOR_HISTORY_DB=str(tmp_path / "history.sqlite3"))
    flags = ["--host", str(host), "--policy", str(policy)]
    process = subprocess.Popen(
        [*OPERATOR, *flags, "watch", "--heal", "--json"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(
        target=lambda: [lines.put(x) for x in process.stdout or ()], daemon=True
    ).start()
    try:
        ready = json.loads(lines.get(timeout=120))
        assert ready["kind"] == "connected", ready
        made.append(_run(spare, group, ("sleep", "300")))
        started = _next_line(lines, "heal_started", made[0])
        escalated = _next_line(lines, "escalated", made[0])
    finally:
        process.kill()
        process.wait(timeout=30)
    assert started["message"] == f"{made[0]}: restarting (attempt 1)"
    assert f"`operator heal clear {made[0]}`" in escalated["message"]
    audit = json_out(run_operator(env, "audit", "list", "--tool", "restart", "--json"))
    assert [r["outcome"] for r in audit["result"]["records"]] == ["ok"]
    listed = json_out(run_operator(env, "heal", "list", "--json"))
    assert [e["name"] for e in listed["result"]["escalations"]] == [made[0]]
    cleared = run_operator(env, "heal", "clear", made[0])
    assert cleared.returncode == 0, cleared.stderr
    assert json_out(run_operator(env, "heal", "list", "--json"))["result"]["escalations"] == []
