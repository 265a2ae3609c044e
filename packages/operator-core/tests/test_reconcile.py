"""Pins issue 9 item 9: records a dead process left pending are closed by the next runner."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from operator_core.audit import AuditRecord, MemoryAuditSink, open_audit, read_audit
from operator_core.cli import app
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.runner.reconcile import STALE_MARGIN_S
from tool_fakes import FakeExecutor, container_id
from wall_clock import machine_time

#: The wall clock of the runner that starts later (the records below are older).
NOW = 1_900_000_000.0


class _BoundedFake(FakeExecutor):
    """A fake executor that states its bounds as the real one does (stop: grace + 30 s)."""

    def call_bound(self, method: str, arguments: dict) -> float:
        if method == "stop_container":
            return float(arguments.get("timeout", 10)) + 30.0
        return 30.0


def _pending(age_s: float, *, grace: int = 10) -> AuditRecord:
    """Return a stop's pending record admitted ``age_s`` seconds before ``NOW``."""
    return AuditRecord(
        time="2030-03-17T17:46:40+00:00",
        ts=NOW - age_s,
        actor="mcp:claude/1",
        tool="docker_stop_container",
        risk="high",
        arguments={"container_id": "web", "timeout": grace},
        container="web",
        container_id=container_id("web"),
        container_name="web",
        decision="allowed",
        outcome="pending",
        before={"status": "running"},
    )


@pytest.mark.parametrize("suffix", [".sqlite3", ".jsonl"])
async def test_a_stale_pending_record_is_marked_interrupted_with_the_state_now(tmp_path, suffix):
    """Past its call's bound (grace + 30 s) and the margin, a pending stop is interrupted.

    Its ``after`` is the container's state read now; a pending record still within its
    bound (a live call in another process) is left alone.
    """
    path = tmp_path / f"audit{suffix}"
    trail = open_audit(path)
    grace = 10
    stale = _pending(grace + 30 + STALE_MARGIN_S + 1, grace=grace)
    live = _pending(grace + 30 + STALE_MARGIN_S - 1, grace=grace)
    await trail.write(stale)
    await trail.write(live)
    fake = _BoundedFake("web")
    fake.containers[container_id("web")]["status"] = "exited"
    runner = ToolRunner(
        fake, policy=Policy(), audit=trail, own_container_id=None, wall_clock=lambda: NOW
    )
    await runner.start()
    await trail.close()
    records = {record.id: record for record in open_audit(path).query()}
    closed = records[stale.id]
    assert closed.outcome == "interrupted"
    assert closed.after is not None
    assert closed.after["status"] == "exited"
    assert closed.error is not None
    assert "whether the action completed is unknown" in closed.error["message"]
    assert records[live.id].outcome == "pending"
    assert [record.id for record in runner.interrupted] == [stale.id]


async def test_a_container_that_cannot_be_read_still_closes_the_record(tmp_path):
    """A container gone since: the record is interrupted, ``after`` says why it is unknown."""
    trail = open_audit(tmp_path / "audit.sqlite3")
    record = _pending(3600)
    await trail.write(record)
    runner = ToolRunner(
        _BoundedFake(), policy=Policy(), audit=trail, own_container_id=None, wall_clock=lambda: NOW
    )
    await runner.start()
    (closed,) = trail.query()
    await trail.close()
    assert closed.outcome == "interrupted"
    assert closed.after is not None
    assert "unavailable" in closed.after


async def test_an_in_memory_trail_has_nothing_to_reconcile():
    """Only a durable trail can hold another process's records: memory is left as it is."""
    trail = MemoryAuditSink()
    await trail.write(_pending(3600))
    runner = ToolRunner(
        _BoundedFake("web"), audit=trail, own_container_id=None, wall_clock=lambda: NOW
    )
    await runner.start()
    assert [record.outcome for record in trail.query()] == ["pending"]


async def test_audit_list_shows_interrupted_records(tmp_path):
    """``operator audit list`` shows the outcome, and ``--outcome interrupted`` finds them."""
    path = tmp_path / "audit.sqlite3"
    trail = open_audit(path)
    await trail.write(_pending(3600).model_copy(update={"outcome": "interrupted"}))
    await trail.write(_pending(3600).model_copy(update={"outcome": "ok", "id": "other"}))
    await trail.close()
    result = CliRunner().invoke(
        app, ["--audit-db", str(path), "audit", "list", "--outcome", "interrupted"]
    )
    assert result.exit_code == 0, result.output
    assert "interrupted" in result.stdout
    assert "1 record(s)" in result.output


async def test_operator_mcp_closes_stale_records_when_it_starts(tmp_path):
    """``operator mcp`` reconciles on start, before any tool call: the record is closed.

    (The container named does not exist: ``after`` then says why it could not be read.)
    """
    path = tmp_path / "audit.sqlite3"
    trail = open_audit(path)
    # The server is another process, on the machine's clock even when this test's is moved.
    stale = _pending(0).model_copy(update={"ts": machine_time() - 3600})
    await trail.write(stale)
    await trail.close()
    env = {
        **os.environ,
        "OPERATOR_AUDIT_DB": str(path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    env.pop("OPERATOR_POLICY", None)
    server = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "operator_core.cli",
        "mcp",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
    )
    try:
        closed = await asyncio.wait_for(_closed_record(path, stale.id), _GUARD_S)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        try:
            await asyncio.wait_for(server.wait(), _GUARD_S)
        except TimeoutError:
            server.kill()
            await server.wait()
    assert closed.after is not None
    assert "unavailable" in closed.after


#: A hang guard for waiting on the server (never a measured budget).
_GUARD_S = 60.0


async def _closed_record(path: Path, record_id: str) -> AuditRecord:
    """Return record ``record_id`` of the trail at ``path`` once it is no longer pending."""
    while True:
        for record in read_audit(path):
            if record.id == record_id and record.outcome == "interrupted":
                return record
        await asyncio.sleep(0.1)


async def test_a_pending_service_action_is_reconciled_by_reading_the_service(tmp_path):
    """A scale left pending is closed with the service's state now, read as a service.

    Its record names the service as its target (``target_kind`` service); it was
    inspected as a container before, which no engine has by a service's id.
    """
    trail = open_audit(tmp_path / "audit.sqlite3")
    fake = _BoundedFake("web")
    sid = fake.add_service("api", replicas=3)
    stale = AuditRecord(
        time="2030-03-17T17:46:40+00:00",
        ts=NOW - 3600,
        tool="docker_scale_service",
        arguments={"service": "api", "replicas": 3},
        container="api",
        target_kind="service",
        target_id=sid,
        target_name="api",
        decision="allowed",
        outcome="pending",
    )
    await trail.write(stale)
    runner = ToolRunner(
        fake, policy=Policy(), audit=trail, own_container_id=None, wall_clock=lambda: NOW
    )
    await runner.start()
    (closed,) = runner.interrupted
    assert closed.outcome == "interrupted"
    assert closed.after is not None
    assert (closed.after["kind"], closed.after["service_id"]) == ("service", sid)
    assert closed.after["replicas_desired"] == 3
    assert ("inspect_container", {"container_id": sid}) not in fake.calls
    await trail.close()
