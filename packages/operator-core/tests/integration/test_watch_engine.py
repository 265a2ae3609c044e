"""The watch against a real engine: incidents printed as they happen."""

from __future__ import annotations

import asyncio
import contextlib
import json
import queue
import subprocess
import threading
import time
from typing import Any

from cli_helpers import OPERATOR, clean_env

from operator_core.audit import AuditQuery, MemoryAuditSink
from operator_core.docker import DockerActionExecutor
from operator_core.policy import DEFAULT_HEAL_LABEL, policy_from_dict
from operator_core.runner import ToolRunner
from operator_core.watch import Healer, IncidentDetector, heal_watch, watch

#: How long the watch may take to print an expected line; generous for a loaded machine.
LINE_WAIT_S = 60.0


class Lines:
    """The lines a process prints, read by a thread so a wait for one is bounded."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.queue: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(process,), daemon=True).start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        for line in process.stdout or ():
            self.queue.put(line)

    def next_json(self, want: str, name: str | None = None) -> dict[str, Any]:
        """Return the next item of kind ``want`` (about ``name``), within LINE_WAIT_S."""
        ends = time.monotonic() + LINE_WAIT_S
        while (left := ends - time.monotonic()) > 0:
            try:
                item = json.loads(self.queue.get(timeout=left))
            except queue.Empty:
                break
            if item["kind"] == want and (name is None or item.get("name") == name):
                return dict(item)
        raise AssertionError(f"the watch printed no {want} for {name} within {LINE_WAIT_S}s")


def test_watch_prints_a_crash_as_died_and_a_docker_kill_as_stopped(containers, tmp_path):
    """`operator watch --json`: a crash is a died incident; `docker kill` is a stopped line.

    Somebody asked for the kill (the engine said ``kill`` before ``die``), so it is info
    naming the container, not a death to alert on.
    """
    name = containers.run("sleep", "300")
    process = subprocess.Popen(
        [*OPERATOR, "watch", "--json"],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines = Lines(process)
    try:
        lines.next_json("connected")
        subprocess.run(["docker", "kill", name], check=True, capture_output=True, timeout=60)
        stopped = lines.next_json("stopped", name)
        assert (stopped["status"], stopped["exit_code"]) == ("info", 137)
        assert stopped["message"] == f"{name} was killed on request (signal 9) (exit code 137)"
        crashed = containers.run("sh", "-c", "sleep 1; exit 3")
        incident = lines.next_json("died", crashed)
        assert (incident["status"], incident["exit_code"]) == ("firing", 3)
        assert incident["message"] == f"{crashed} died with exit code 3"
    finally:
        process.kill()
        process.wait(timeout=30)


#: Unhealthy on its first run, healthy once restarted (the marker file survives a restart).
SICK_UNTIL_RESTARTED = (
    "sh",
    "-c",
    "if [ -f /tmp/ran ]; then touch /tmp/ok; else touch /tmp/ran; fi; sleep 300",
)
HEALTH = {"health_cmd": "test -f /tmp/ok", "health_interval": 1, "health_retries": 1}


def _opted_in(group: dict[str, str]) -> dict[str, str]:
    """The labels of a container that opted in to healing, in this test's group only."""
    return {"org.operator-core.autoheal": "true", **group}


def _heal_policy(group: dict[str, str], **heal: Any) -> Any:
    """An execute policy that restarts opted-in unhealthy containers without asking.

    Only containers of this test's ``group`` opt in, so a heal test run at the same time
    on the same engine (another person's) is never acted on by this one.
    """
    ((key, value),) = group.items()
    return policy_from_dict(
        {
            "mode": "execute",
            "approval": {"risks": []},
            "heal": {
                "restart_unhealthy": True,
                "require_labels": [DEFAULT_HEAL_LABEL, f"{key}={value}"],
                "grace_s": 1,
                "stop_grace_s": 1,
                "backoff_s": 0.5,
                **heal,
            },
        }
    )


async def _heal_until(
    name: str, policy: Any, last: str, limit: int = 40
) -> tuple[list[dict[str, Any]], ToolRunner]:
    """Watch with the healer until a report of kind ``last`` about ``name``; return what came."""
    executor = DockerActionExecutor()
    runner = ToolRunner(executor, policy=policy, audit=MemoryAuditSink(), own_container_id=None)
    healer = Healer(runner, policy.heal)
    seen: list[dict[str, Any]] = []

    async def collect() -> None:
        async with contextlib.aclosing(heal_watch(executor, healer)) as stream:
            async for item in stream:
                if item.get("name") == name:
                    seen.append(dict(item))
                    if item["kind"] == last or len(seen) >= limit:
                        return

    await asyncio.wait_for(collect(), timeout=180)
    return seen, runner


async def test_heal_restarts_an_unhealthy_container_and_confirms_it_healthy(containers, group):
    """An opted-in container turns unhealthy; the healer restarts it and sees it healthy."""
    name = containers.run(*SICK_UNTIL_RESTARTED, labels=_opted_in(group), **HEALTH)
    seen, runner = await _heal_until(name, _heal_policy(group), "healed")
    kinds = [item["kind"] for item in seen]
    assert kinds[:1] == ["unhealthy"]
    assert [kind for kind in kinds if kind.startswith("heal")] == ["heal_started", "healed"]
    # Its own restart is said as such (from its audit record), never as a death.
    assert "restarted_by_operator" in kinds
    assert "died" not in kinds
    assert containers.client.container.inspect(name).state.health.status == "healthy"
    restarts = runner.audit.query(AuditQuery(tool="docker_restart_container"))
    assert [(r.outcome, r.actor) for r in restarts] == [("ok", "operator:watch-heal")]


async def test_heal_escalates_a_container_restarts_do_not_fix(containers, group):
    """Never healthy: after max_attempts failed heals the healer stops and records why."""
    name = containers.run("sleep", "300", labels=_opted_in(group), **HEALTH)
    policy = _heal_policy(group, max_attempts=2, confirm_timeout_s=4)
    seen, runner = await _heal_until(name, policy, "escalated")
    kinds = [item["kind"] for item in seen]
    assert kinds.count("heal_started") == 2
    assert kinds.count("heal_failed") == 2
    assert kinds[-1] == "escalated"
    (record,) = runner.audit.query(AuditQuery(tool="heal"))
    assert (record.rule, record.container_name) == ("heal.escalated", name)


async def test_heal_leaves_a_container_that_did_not_opt_in(containers, group):
    """Unhealthy but not opted in: reported as skipped, never restarted."""
    name = containers.run("sleep", "300", **HEALTH)
    seen, runner = await _heal_until(name, _heal_policy(group), "heal_skipped")
    assert [item["kind"] for item in seen] == ["unhealthy", "heal_skipped"]
    assert runner.audit.query(AuditQuery(tool="docker_restart_container")) == []


async def test_watch_reports_a_restart_loop_once(containers):
    """A container its policy keeps restarting is one restart_loop incident with its count."""
    executor = DockerActionExecutor()
    detector = IncidentDetector(loop_restarts=2, loop_window_s=60)
    loops: list[dict[str, Any]] = []
    name = ""

    async def collect() -> None:
        nonlocal name
        async with contextlib.aclosing(watch(executor, detector=detector)) as stream:
            async for item in stream:
                if item["kind"] == "connected":
                    name = containers.run("sh", "-c", "exit 1", restart="on-failure:5")
                elif item["kind"] == "restart_loop" and item.get("name") == name:
                    loops.append(dict(item))
                    return

    await asyncio.wait_for(collect(), timeout=120)
    (loop,) = loops
    assert loop["count"] == 3
    assert loop["message"] == f"{name} died 3 times within 60s: a restart loop"
