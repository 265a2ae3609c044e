"""The tool layer, policy and audit trail through execute_tool against a real Docker engine."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest
from python_on_whales import DockerClient

from operator_core.audit import AuditQuery, SQLiteAuditSink, read_audit
from operator_core.docker import DockerActionExecutor
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.testing import HANDLES_SIGTERM, IGNORES_SIGTERM

#: Execute mode with no approval gate, so high-risk tools run without an approver.
OPEN: dict[str, Any] = {"mode": "execute", "approval": {"risks": [], "tools": {}}}


@pytest.fixture
def executor(engine: DockerClient) -> DockerActionExecutor:
    """An executor on the local engine."""
    return DockerActionExecutor(engine)


@pytest.fixture
def audit_path(tmp_path: Path) -> Path:
    """Where this test's audit database lives."""
    return tmp_path / "audit.sqlite3"


def make_runner(executor: DockerActionExecutor, audit_path: Path, **policy: Any) -> ToolRunner:
    """Return a runner on the real executor, auditing to ``audit_path``."""
    return ToolRunner(executor, policy=Policy(**policy), audit=SQLiteAuditSink(audit_path))


def state(engine: DockerClient, name: str) -> dict[str, Any]:
    """Return the engine's own view of a container's state (not through operator-core)."""
    container = engine.container.inspect(name)
    raw = container.state
    return {
        "status": raw.status,
        "started_at": raw.started_at,
        "finished_at": raw.finished_at,
        "pid": raw.pid,
        "restart_count": container.restart_count,
        "paused": raw.paused,
    }


async def test_protected_container_survives_a_stop(engine, containers, executor, audit_path):
    """Stop on a container protected by label (and one by name) is denied; both keep running."""
    by_label = containers.run(*HANDLES_SIGTERM, labels={"operator.protected": "true"})
    by_name = containers.run(*HANDLES_SIGTERM)
    run = make_runner(
        executor,
        audit_path,
        protected={"labels": ["operator.protected=true"], "names": [by_name]},
        **OPEN,
    )
    before = {name: state(engine, name) for name in (by_label, by_name)}
    for name, rule in ((by_label, "protected.labels"), (by_name, "protected.names")):
        envelope = await run.execute_tool(
            "docker_stop_container", {"container_id": name, "timeout": 1}
        )
        assert envelope["ok"] is False
        assert envelope["error"]["rule"] == rule
    for name in (by_label, by_name):
        assert state(engine, name) == before[name]
        assert state(engine, name)["status"] == "running"


async def test_observe_mode_refuses_a_restart_and_lets_an_inspect_through(
    engine, containers, executor, audit_path
):
    """Default policy: restart denied (mode.observe), container untouched; inspect answers."""
    name = containers.run(*HANDLES_SIGTERM)
    run = ToolRunner(executor, audit=SQLiteAuditSink(audit_path))
    before = state(engine, name)
    denied = await run.execute_tool("docker_restart_container", {"container_id": name})
    assert denied["error"]["type"] == "denied"
    assert denied["error"]["rule"] == "mode.observe"
    assert state(engine, name) == before
    seen = await run.execute_tool("docker_inspect_container", {"container_id": name})
    assert seen["ok"] is True
    assert seen["result"]["name"] == name
    assert seen["result"]["state"]["running"] is True


@pytest.mark.parametrize(
    ("tool", "extra"),
    [
        ("docker_stop_container", {"timeout": 1}),
        ("docker_restart_container", {"timeout": 1}),
        ("docker_kill_container", {}),
        ("docker_pause_container", {}),
        ("docker_execute_command", {"command": ["touch", "/tmp/dry"]}),
    ],
)
async def test_dry_run_changes_nothing(engine, containers, executor, audit_path, tool, extra):
    """In dry run each mutating tool reports its target and leaves the container identical."""
    name = containers.run(*HANDLES_SIGTERM)
    run = make_runner(executor, audit_path, dry_run=True, **OPEN)
    before = state(engine, name)
    envelope = await run.execute_tool(tool, {"container_id": name, **extra})
    assert envelope["ok"] is True
    result = envelope["result"]
    assert result["dry_run"] is True
    assert result["target"]["name"] == name
    assert result["target"]["id"] == engine.container.inspect(name).id
    assert result["target"]["status"] == "running"
    assert state(engine, name) == before
    probe = engine.execute(name, ["sh", "-c", "test -e /tmp/dry && echo yes || echo no"])
    assert str(probe).strip() == "no"


async def test_rate_limit_holds_against_a_loop_of_restarts(
    engine, containers, executor, audit_path
):
    """At most 2 restarts per container per 10 minutes: a loop of 5 restarts the container twice."""
    name = containers.run(*HANDLES_SIGTERM)
    limits = [{"tools": ["docker_restart_container"], "max": 2, "window_s": 600}]
    run = make_runner(executor, audit_path, rate_limits=limits, **OPEN)
    starts = {state(engine, name)["started_at"]}
    answers = []
    for _ in range(5):
        envelope = await run.execute_tool(
            "docker_restart_container", {"container_id": name, "timeout": 1}
        )
        answers.append(envelope["ok"] or envelope["error"]["rule"])
        starts.add(state(engine, name)["started_at"])
    assert answers == [True, True, "rate_limits[0]", "rate_limits[0]", "rate_limits[0]"]
    assert len(starts) == 3  # the original start and two restarts
    denied = read_audit(audit_path, AuditQuery(outcome="denied"))
    assert [r.rule for r in denied] == ["rate_limits[0]"] * 3
    fresh = make_runner(executor, audit_path, rate_limits=limits, **OPEN)  # a new process
    again = await fresh.execute_tool("docker_restart_container", {"container_id": name})
    assert again["error"]["rule"] == "rate_limits[0]"
    assert len({*starts, state(engine, name)["started_at"]}) == 3


async def test_audit_trail_holds_every_call_with_before_and_after(
    engine, containers, executor, audit_path
):
    """Each call (ok, denied, invalid, failed) is recorded; actions carry before and after."""
    name = containers.run(*HANDLES_SIGTERM)
    protected = containers.run(*HANDLES_SIGTERM)
    run = make_runner(executor, audit_path, protected={"names": [protected]}, **OPEN)
    calls = [
        ("docker_inspect_container", {"container_id": name}),
        ("docker_stop_container", {"container_id": name, "timeout": "1"}),
        ("docker_start_container", {"container_id": name}),
        ("docker_restart_container", {"container_id": name, "timeout": 1}),
        ("docker_stop_container", {"container_id": protected}),
        ("docker_stop_container", {"container_id": name, "timeout": -5}),
        ("docker_start_container", {"container_id": "opc-no-such-container"}),
    ]
    ids = []
    for tool, arguments in calls:
        envelope = await run.execute_tool(tool, arguments, actor="test-agent", reason="audit test")
        ids.append(envelope["audit_id"])
    records = {r.id: r for r in read_audit(audit_path, AuditQuery(actor="test-agent"))}
    assert set(records) == set(ids)
    outcomes = [records[i].outcome for i in ids]
    assert outcomes == ["ok", "ok", "ok", "ok", "denied", "invalid", "failed"]
    stop, start, restart = (records[i] for i in ids[1:4])
    assert (stop.before["status"], stop.after["status"]) == ("running", "exited")
    assert (start.before["status"], start.after["status"]) == ("exited", "running")
    assert restart.after["started_at"] != restart.before["started_at"]
    assert stop.container_id == engine.container.inspect(name).id
    assert stop.result["changed"] is True
    assert all(r.reason == "audit test" for r in records.values())
    assert all(r.duration_ms is not None for r in records.values())
    assert not read_audit(audit_path, AuditQuery(outcome="pending"))


async def test_every_other_tool_runs_through_the_runner(engine, containers, executor, audit_path):
    """Logs, list, batch inspect, wait, exec, pause/unpause, networks and kill via execute_tool."""
    name = containers.run(*HANDLES_SIGTERM)
    network = containers.network()
    approved = []

    async def approver(request):
        approved.append(request.tool)
        return True

    run = ToolRunner(
        executor, policy=Policy(**OPEN), audit=SQLiteAuditSink(audit_path), approver=approver
    )

    async def ok(tool: str, **arguments: Any) -> dict[str, Any]:
        envelope = await run.execute_tool(tool, arguments)
        assert envelope["ok"] is True, json.dumps(envelope)
        return envelope["result"]

    secret = "s3cr3t-value-0123456789"  # noqa: S105 (the secret the audit must not hold)
    out = await ok(
        "docker_execute_command",
        container_id=name,
        command='["sh", "-c", "echo hi"]',
        env={"DB_PASSWORD": secret},
    )
    assert out["exit_code"] == 0
    assert out["stdout"].strip() == "hi"
    assert (await ok("docker_get_container_logs", container_id=name, tail="5"))["line_count"] >= 0
    listed = await ok("docker_list_containers", name=name)
    assert [c["name"] for c in listed["containers"]] == [name]
    batch = await ok("docker_inspect_containers", refs=json.dumps([name]))
    assert len(batch["containers"]) == 1
    await ok("docker_pause_container", container_id=name)
    await ok("docker_unpause_container", container_id=name)
    connected = await ok("docker_connect_container_to_network", container_id=name, network=network)
    assert network in json.dumps(connected["networks"])
    await ok("docker_disconnect_container_from_network", container_id=name, network=network)
    await ok("docker_kill_container", container_id=name)
    waited = await ok(
        "docker_wait_for_container", container_id=name, condition="exited", timeout=10
    )
    assert waited["met"] is True
    assert len(read_audit(audit_path)) == 10
    assert approved == ["docker_execute_command"]  # exec needs approval even with risks = []
    for path in audit_path.parent.iterdir():
        assert secret.encode() not in path.read_bytes()


async def test_cancelled_stop_is_waited_for_and_audited_with_its_real_end(
    engine, containers, executor, audit_path
):
    """Pins the cancel fix on the engine: a stop cancelled mid-way still holds the lock.

    The container ignores SIGTERM, so docker stops it by SIGKILL after the 2 s grace
    period, whatever happens to the call. Cancelled once the stop has been handed to the
    executor (its 'pending' record in the trail), the call waits for the stop to end before
    the cancel propagates; its record's 'after' says exited; a start sent right after the
    cancel runs only once the stop has ended, and finds it exited. Review item 7: the
    cancel used to come after a fixed 0.5 s sleep, assuming the stop had started by then.
    """
    name = containers.run(*IGNORES_SIGTERM)
    run = make_runner(executor, audit_path, **OPEN)
    handed_over = asyncio.Event()
    real_stop = executor.stop_container

    async def spied_stop(*args: Any, **kwargs: Any) -> Any:
        handed_over.set()
        return await real_stop(*args, **kwargs)

    executor.stop_container = spied_stop  # type: ignore[method-assign]
    began = time.monotonic()
    stop = asyncio.create_task(
        run.execute_tool("docker_stop_container", {"container_id": name, "timeout": 2})
    )
    await asyncio.wait_for(handed_over.wait(), 60)
    pending = [r for r in read_audit(audit_path) if r.tool == "docker_stop_container"]
    assert [r.outcome for r in pending] == ["pending"]  # written before the stop began
    stop.cancel()
    start = asyncio.create_task(run.execute_tool("docker_start_container", {"container_id": name}))
    with pytest.raises(asyncio.CancelledError):
        await stop
    assert time.monotonic() - began >= 1.5  # the grace period ran out before it returned
    started = await start
    assert started["ok"] is True, json.dumps(started)
    assert state(engine, name)["status"] == "running"
    records = {r.tool: r for r in read_audit(audit_path)}
    cancelled = records["docker_stop_container"]
    assert (cancelled.decision, cancelled.outcome) == ("allowed", "cancelled")
    assert cancelled.before["status"] == "running"
    assert cancelled.after["status"] == "exited"
    assert "already under way" in cancelled.error["message"]
    assert records["docker_start_container"].before["status"] == "exited"
