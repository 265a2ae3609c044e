"""What the runner writes down and logs, field by field: audit records, dry runs, log lines.

The audit trail is how a person finds out what an agent did; each field of a record is
pinned here for an allowed action, a denial, a read and a dry run, with clocks that move
only when the test says so.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from operator_core.audit import MemoryAuditSink
from operator_core.errors import AuditError, ContainerStateError
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from tool_fakes import FakeClock, FakeExecutor, container_id

WEB = container_id("web")
WALL = 1_800_000_000.0  # 2027-01-15T08:00:00Z
STATE = {
    "status": "running",
    "running": True,
    "paused": False,
    "restarting": False,
    "oom_killed": False,
    "exit_code": 0,
    "health": None,
    "started_at": "2026-01-01T00:00:00+00:00",
    "finished_at": None,
    "networks": ["bridge"],
}


def _runner(fake: FakeExecutor, **kwargs: Any) -> tuple[ToolRunner, FakeClock, FakeClock]:
    """Return a runner over ``fake`` with a wall clock at WALL and a monotonic fake clock."""
    wall, mono = FakeClock(WALL), FakeClock()
    policy = kwargs.pop("policy", Policy(mode="execute"))
    run = ToolRunner(
        fake, policy=policy, own_container_id=None, clock=mono, wall_clock=wall, **kwargs
    )
    return run, wall, mono


async def test_an_approved_action_is_recorded_whole(caplog):
    """Every field of an approved restart's record: who, why (redacted), what, on what, when.

    ``time`` and ``ts`` are the admission's wall-clock time, ``duration_ms`` the call's
    monotonic duration (250 ms here), ``before``/``after`` the container's state with its
    restart count and networks, ``result`` the result's excerpt. One info line sums it up.
    """
    fake = FakeExecutor("web")
    restart = fake.restart_container

    asked = []

    async def yes(request):
        asked.append(request)
        return True

    run, _, mono = _runner(fake, approver=yes)

    async def slow_restart(*args: Any, **kwargs: Any) -> Any:
        mono.advance(0.25)
        return await restart(*args, **kwargs)

    fake.restart_container = slow_restart
    caplog.set_level(logging.INFO, logger="operator_core.runner")
    envelope = await run.execute_tool(
        "docker_restart_container",
        {"container_id": "web", "timeout": 3},
        actor="agent-7",
        reason="unhealthy; token=hunter2",
    )
    result = envelope["result"]
    assert (result["container_id"], result["name"], result["changed"]) == (WEB, "web", True)
    assert envelope == {"ok": True, "result": result, "audit_id": envelope["audit_id"]}
    (record,) = run.audit.query()
    assert record.model_dump() == {
        "id": envelope["audit_id"],
        "time": "2027-01-15T08:00:00+00:00",
        "ts": WALL,
        "actor": "agent-7",
        "reason": "unhealthy; token=[REDACTED]",
        "tool": "docker_restart_container",
        "risk": "high",
        "arguments": {"container_id": "web", "timeout": 3},
        "container": "web",
        "container_id": WEB,
        "container_name": "web",
        "target_kind": "container",
        "target_id": WEB,
        "target_name": "web",
        "host": None,
        "target_key": f"engine:FAKE:ENGINE:ID/{WEB}",
        "decision": "allowed",
        "rule": "approval.granted",
        "outcome": "ok",
        "error": None,
        "duration_ms": 250.0,
        "before": {**STATE, "restart_count": 0},
        "after": {**STATE, "restart_count": 1},
        "result": result,
    }
    assert (
        "tool=docker_restart_container actor=agent-7 decision=allowed outcome=ok "
        "rule=approval.granted"
    ) in caplog.messages
    (request,) = asked
    assert (request.tool, request.risk, request.actor) == (
        "docker_restart_container",
        "high",
        "agent-7",
    )
    assert (request.arguments, request.reason) == (
        {"container_id": "web", "timeout": 3},
        "unhealthy; token=[REDACTED]",
    )
    assert request.summary == {
        "kind": "container",
        "id": WEB,
        "short_id": WEB[:12],
        "name": "web",
        "status": "running",
        "health": None,
    }


async def test_a_denied_action_is_recorded_with_its_rule_and_message():
    """A protected container's stop: decision and outcome denied, the rule, the message."""
    policy = Policy(mode="execute", protected={"names": ["web"]})
    run, _, _ = _runner(FakeExecutor("web"), policy=policy)
    envelope = await run.execute_tool("docker_stop_container", {"container_id": "web"})
    (record,) = run.audit.query()
    assert (record.decision, record.outcome, record.rule) == (
        "denied",
        "denied",
        "protected.names",
    )
    assert record.error == {"type": "denied", "message": envelope["error"]["message"]}
    assert (record.container_id, record.container_name, record.risk) == (WEB, "web", "high")
    assert (record.actor, record.reason, record.after) == (None, None, None)
    assert record.before == {**STATE, "restart_count": 0}


async def test_a_read_is_recorded_with_the_container_it_found():
    """An inspect's record names the container the result reports: its full id and name."""
    run, _, _ = _runner(FakeExecutor("web"))
    await run.execute_tool("docker_inspect_container", {"container_id": WEB[:12]})
    (record,) = run.audit.query()
    assert (record.container, record.container_id, record.container_name) == (
        WEB[:12],
        WEB,
        "web",
    )
    assert (record.decision, record.outcome, record.risk) == ("allowed", "ok", "low")
    assert (record.before, record.after) == (None, None)


async def test_a_dry_run_says_what_it_would_do_and_records_it():
    """A dry run: the plan in words (tool, container, its state and health), nothing done."""
    fake = FakeExecutor("web")
    fake.find("web")["health"] = "unhealthy"
    run, _, _ = _runner(fake, policy=Policy(mode="execute", dry_run=True))
    envelope = await run.execute_tool("docker_stop_container", {"container_id": "web"})
    assert envelope["result"] == {
        "dry_run": True,
        "changed": False,
        "would": f"stop a container: 'web' ({WEB[:12]}), currently running, unhealthy. "
        "Nothing was done (dry run).",
        "tool": "docker_stop_container",
        "arguments": {"container_id": "web", "timeout": 10},
        "target": {
            "kind": "container",
            "id": WEB,
            "short_id": WEB[:12],
            "name": "web",
            "status": "running",
            "health": "unhealthy",
        },
        "approval_required": True,
    }
    assert fake.calls == [  # reads only: the container, and whose engine it is on
        ("inspect_container", {"container_id": "web"}),
        ("engine_identity", {"refresh": False}),
    ]
    (record,) = run.audit.query()
    assert (record.decision, record.outcome, record.rule) == ("dry_run", "dry_run", "dry_run")


async def test_a_dry_run_of_a_container_without_a_status_says_unknown():
    """A container whose state the engine did not report reads as 'unknown' in the plan."""
    fake = FakeExecutor("web")
    fake.find("web")["status"] = None
    run, _, _ = _runner(fake, policy=Policy(mode="execute", dry_run=True))
    envelope = await run.execute_tool("docker_start_container", {"container_id": "web"})
    assert "currently unknown. Nothing was done" in envelope["result"]["would"]


async def test_a_dry_run_without_health_shows_the_status_alone():
    """Without a health check the dry run's plan gives the status only."""
    fake = FakeExecutor("web")
    fake.find("web")["status"] = "exited"
    run, _, _ = _runner(fake, policy=Policy(mode="execute", dry_run=True))
    envelope = await run.execute_tool("docker_start_container", {"container_id": "web"})
    assert envelope["result"]["would"] == (
        f"start a container: 'web' ({WEB[:12]}), currently exited. Nothing was done (dry run)."
    )
    assert envelope["result"]["approval_required"] is False


class _FailingSink(MemoryAuditSink):
    """A trail that cannot be written (a full disk, a read-only file)."""

    async def write(self, record: Any) -> None:
        raise AuditError("disk full")


async def test_an_unwritable_trail_is_said_in_the_envelope_and_the_log(caplog):
    """The action's envelope carries audit_error, and the lost record is logged by id."""
    run, _, _ = _runner(FakeExecutor("web"), audit=_FailingSink())
    envelope = await run.execute_tool("docker_inspect_container", {"container_id": "web"})
    assert envelope["ok"] is True
    assert envelope["audit_error"] == "disk full"
    assert (
        f"audit record {envelope['audit_id']} for docker_inspect_container not written: disk full"
    ) in caplog.messages


@pytest.mark.parametrize(
    ("outcome", "ending"),
    [
        ("completes", "it completed"),
        ("is refused", "it failed (container_state: container 'web' is paused)"),
        ("is refused at length", f"it failed (container_state: {'x' * 300})"),
        ("hits our bug", "it failed inside operator-core (RuntimeError)"),
    ],
)
async def test_a_call_cancelled_while_its_action_runs_says_how_the_action_ended(
    caplog, outcome, ending
):
    """Cancelled under way: the record says the action was waited for and how it ended.

    The engine's reason is kept (cut at 300 characters); a bug of ours is named by its
    type only, and logged with its traceback. ``after`` is read once the action ended.
    """
    fake = FakeExecutor("web")
    entered, release = asyncio.Event(), asyncio.Event()
    done = {"container_id": WEB, "name": "web", "state": "running", "changed": True}

    async def start(container_id: str, **_: Any) -> dict[str, Any]:
        entered.set()
        await release.wait()
        if outcome == "is refused":
            raise ContainerStateError("container 'web' is paused")
        if outcome == "is refused at length":
            raise ContainerStateError("x" * 400)
        if outcome == "hits our bug":
            raise RuntimeError("boom")
        return done

    fake.start_container = start
    run, _, _ = _runner(fake)
    task = asyncio.create_task(run.execute_tool("docker_start_container", {"container_id": "web"}))
    await asyncio.wait_for(entered.wait(), 10)
    task.cancel()
    for _ in range(20):  # the cancel reaches the call, which keeps waiting
        await asyncio.sleep(0)
    assert not task.done()
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    (record,) = run.audit.query()
    assert (record.decision, record.outcome) == ("allowed", "cancelled")
    assert record.error == {
        "type": "cancelled",
        "message": "the call was cancelled while docker_start_container was already under "
        f"way in the engine, so it may have completed; it was waited for: {ending}. 'after' "
        "is the container's state once it had ended.",
    }
    assert record.after == {**STATE, "restart_count": 0}
    assert record.result == (done if outcome == "completes" else None)
    bug_logged = [m for m in caplog.messages if "failed inside operator-core: RuntimeError" in m]
    assert len(bug_logged) == (1 if outcome == "hits our bug" else 0)
    if bug_logged:
        assert bug_logged[0].startswith("tool docker_start_container failed inside")
        assert "Traceback" in bug_logged[0]


async def test_a_call_cancelled_before_it_acted_says_so():
    """Cancelled while its approval was pending: recorded cancelled, nothing changed."""
    asked = asyncio.Event()

    async def approver(request):
        asked.set()
        await asyncio.Event().wait()
        return True

    fake = FakeExecutor("web")
    run, _, _ = _runner(fake, approver=approver)
    task = asyncio.create_task(run.execute_tool("docker_stop_container", {"container_id": "web"}))
    await asyncio.wait_for(asked.wait(), 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    (record,) = run.audit.query()
    assert record.outcome == "cancelled"
    assert record.error == {
        "type": "cancelled",
        "message": "the call was cancelled before it changed anything",
    }
    assert fake.calls == [  # reads only: the container, and whose engine it is on
        ("inspect_container", {"container_id": "web"}),
        ("engine_identity", {"refresh": False}),
    ]


async def test_a_bug_of_ours_is_an_internal_error_logged_with_its_traceback(caplog):
    """An exception that is not the engine's: envelope ``internal``, outcome failed, logged.

    The log line names the tool and the exception (its text redacted) and carries the
    traceback, so the bug can be found; the agent's envelope holds no traceback.
    """
    fake = FakeExecutor("web")

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("boom password=hunter2")

    fake.inspect_container = broken
    run, _, _ = _runner(fake)
    envelope = await run.execute_tool("docker_inspect_container", {"container_id": "web"})
    assert envelope["error"]["type"] == "internal"
    assert "Traceback" not in envelope["error"]["message"]
    (record,) = run.audit.query()
    assert (record.decision, record.outcome) == ("allowed", "failed")
    (logged,) = [m for m in caplog.messages if "failed inside operator-core" in m]
    assert logged.startswith(
        "tool docker_inspect_container failed inside operator-core: RuntimeError: "
        "boom password=[REDACTED]\nTraceback (most recent call last):"
    )
    assert "hunter2" not in logged
    assert logged.splitlines()[2].startswith('  File "')
    assert logged.endswith("RuntimeError: boom password=[REDACTED]")


async def test_the_actor_and_the_tool_name_are_kept_to_200_characters():
    """A huge actor or tool name is cut to 200 characters in the trail, not stored whole."""
    run, _, _ = _runner(FakeExecutor("web"))
    await run.execute_tool("docker_inspect_container", {"container_id": "web"}, actor="a" * 300)
    await run.execute_tool("x" * 300, {})
    inspect, unknown = sorted(run.audit.query(), key=lambda r: r.tool)
    assert inspect.actor == "a" * 200
    assert unknown.tool == "x" * 200
    assert (unknown.decision, unknown.outcome, unknown.risk) == ("invalid", "invalid", None)


async def test_a_command_sent_as_a_json_string_is_stored_redacted_word_by_word():
    """An invalid call's command given as a JSON string (spaces before it too) is parsed.

    So its password is hidden like a list's; a key the tool does not have is hidden whole.
    """
    run, _, _ = _runner(FakeExecutor("web"))
    await run.execute_tool(
        "docker_execute_command",
        {"container_id": "web", "command": ' ["mysql", "-p", "hunter2"]', "bogus": "x"},
    )
    (record,) = run.audit.query()
    assert record.arguments == {
        "container_id": "web",
        "command": ["mysql", "-p", "[REDACTED]"],
        "bogus": "[REDACTED]",
    }


class _UnreadableTrail(MemoryAuditSink):
    """A trail whose past cannot be read back (a corrupt file), though it can be written."""

    def query(self, query: Any = None) -> Any:
        raise AuditError("file is corrupt")


async def test_a_trail_that_cannot_be_read_at_start_leaves_limits_empty_and_says_so(caplog):
    """Rate limits start from nothing when the trail cannot be read; a warning says why."""
    policy = Policy(mode="execute", rate_limits=[{"max": 1, "window_s": 60}])
    run, _, _ = _runner(FakeExecutor("web"), policy=policy, audit=_UnreadableTrail())
    envelope = await run.execute_tool("docker_start_container", {"container_id": "web"})
    assert envelope["ok"] is True
    assert (
        "rate limits start empty: the audit trail could not be read: file is corrupt"
        in caplog.messages
    )


async def test_only_mutating_actions_on_a_container_in_the_trail_count_at_start():
    """A new runner counts the trail's allowed mutating actions, not its reads."""
    policy = Policy(mode="execute", rate_limits=[{"per": "all", "max": 1, "window_s": 60}])
    sink = MemoryAuditSink()
    first, _, _ = _runner(FakeExecutor("web"), policy=policy, audit=sink)
    await first.execute_tool("docker_inspect_container", {"container_id": "web"})
    await first.execute_tool("docker_list_containers", {})
    second, _, _ = _runner(FakeExecutor("web"), policy=policy, audit=sink)
    started = await second.execute_tool("docker_start_container", {"container_id": "web"})
    assert started["ok"] is True
    third, _, _ = _runner(FakeExecutor("web"), policy=policy, audit=sink)
    again = await third.execute_tool("docker_start_container", {"container_id": "web"})
    assert again["error"]["rule"] == "rate_limits[0]"


async def test_with_a_sqlite_trail_a_full_limit_is_refused_before_anyone_is_asked(tmp_path):
    """After an action admitted through SQLite, this process's own counts know of it.

    So the next call on the same container is refused by the rate limit at once, with
    the whole window to wait, and no approver is bothered with a call that cannot run.
    """
    from operator_core.audit import open_audit

    asked = []

    async def approver(request):
        asked.append(request.tool)
        return True

    policy = Policy(
        mode="execute",
        rate_limits=[{"tools": ["docker_restart_container"], "max": 1, "window_s": 60}],
    )
    sink = open_audit(tmp_path / "audit.sqlite3")
    run, _, _ = _runner(FakeExecutor("web"), policy=policy, audit=sink, approver=approver)
    first = await run.execute_tool("docker_restart_container", {"container_id": "web"})
    second = await run.execute_tool("docker_restart_container", {"container_id": "web"})
    await sink.close()
    assert first["ok"] is True
    assert second["error"]["rule"] == "rate_limits[0]"
    assert second["error"]["details"]["retry_after_s"] == 60
    assert asked == ["docker_restart_container"]


class _SlowSink(MemoryAuditSink):
    """A trail whose writes wait until released (a slow disk), saying when one began."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = asyncio.Event()
        self.release = asyncio.Event()

    async def write(self, record: Any) -> None:
        self.writing.set()
        await self.release.wait()
        await super().write(record)


async def test_a_cancel_during_the_final_write_does_not_lose_the_record():
    """Cancelled while its final record is being written: the record is still written whole.

    The call then raises CancelledError; nobody is left without an audit trail entry.
    """
    sink = _SlowSink()
    run, _, _ = _runner(FakeExecutor("web"), audit=sink)
    task = asyncio.create_task(
        run.execute_tool("docker_inspect_container", {"container_id": "web"}, actor="agent-7")
    )
    await asyncio.wait_for(sink.writing.wait(), 10)
    task.cancel()
    for _ in range(20):  # the cancel reaches the call, which keeps waiting for the write
        await asyncio.sleep(0)
    assert not task.done()
    sink.release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    (record,) = sink.query()
    assert (record.tool, record.outcome, record.actor) == (
        "docker_inspect_container",
        "ok",
        "agent-7",
    )


async def test_a_read_the_policy_gates_asks_the_approver_first():
    """A read-only tool under approval (a policy may want one) runs only once approved."""
    asked = []

    async def no(request):
        asked.append((request.tool, request.summary))
        return False

    policy = Policy(mode="execute", approval={"tools": {"docker_inspect_container": True}})
    fake = FakeExecutor("web")
    run, _, _ = _runner(fake, policy=policy, approver=no)
    envelope = await run.execute_tool("docker_inspect_container", {"container_id": "web"})
    assert envelope["error"]["rule"] == "approval.rejected"
    assert asked == [("docker_inspect_container", None)]
    assert fake.calls == []


async def test_a_container_gone_after_the_action_is_recorded_as_unavailable():
    """When the state after cannot be read, 'after' says why (redacted) instead of failing."""
    from operator_core.errors import ContainerNotFound

    fake = FakeExecutor("web")
    inspect = fake.inspect_container
    reads = []

    async def inspect_once(container_id: str, **kwargs: Any) -> Any:
        reads.append(container_id)
        if len(reads) > 2:
            raise ContainerNotFound(container_id)
        return await inspect(container_id, **kwargs)

    fake.inspect_container = inspect_once
    run, _, _ = _runner(fake)
    envelope = await run.execute_tool("docker_start_container", {"container_id": "web"})
    assert envelope["ok"] is True
    (record,) = run.audit.query()
    assert record.after == {"unavailable": str(ContainerNotFound(WEB))}
