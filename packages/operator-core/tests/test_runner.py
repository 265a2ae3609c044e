"""Unit tests of execute_tool with a fake executor: envelopes, every policy rule, locks."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from operator_core.audit import REDACTED, AuditQuery, MemoryAuditSink
from operator_core.errors import (
    ApprovalUnavailable,
    AuditError,
    ContainerStateError,
    InvalidInput,
)
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.tools import TOOLS
from tool_fakes import FakeClock, FakeExecutor, container_id

EXECUTE = {"mode": "execute", "approval": {"risks": []}}
EXEC = "docker_execute_command"
MUTATING_CALLS = {
    "start_container",
    "stop_container",
    "restart_container",
    "kill_container",
    "pause_container",
    "unpause_container",
    "connect_container_to_network",
    "disconnect_container_from_network",
    "execute_command",
}


def runner(executor: FakeExecutor, **policy: Any) -> ToolRunner:
    """Return a runner over ``executor`` with a policy built from ``policy``."""
    approver = policy.pop("approver", None)
    clock = policy.pop("clock", None)
    own = policy.pop("own", None)
    extra = {"clock": clock} if clock else {}
    return ToolRunner(
        executor,
        policy=Policy(**policy),
        approver=approver,
        own_container_id=own,
        **extra,
    )


def mutations(executor: FakeExecutor) -> list[str]:
    """Return the mutating executor methods called so far."""
    return [name for name, _ in executor.calls if name in MUTATING_CALLS]


def only_record(run: ToolRunner):
    """Return the one audit record ``run`` holds."""
    (record,) = run.audit.query()
    return record


async def test_default_policy_refuses_a_restart_and_runs_an_inspect():
    """Default (observe): restart denied by mode.observe without touching docker; inspect runs."""
    fake = FakeExecutor("web")
    run = ToolRunner(fake, own_container_id=None)
    denied = await run.execute_tool("docker_restart_container", {"container_id": "web"})
    assert denied["ok"] is False
    assert denied["error"]["type"] == "denied"
    assert denied["error"]["rule"] == "mode.observe"
    assert fake.calls == []
    seen = await run.execute_tool("docker_inspect_container", {"container_id": "web"})
    assert seen["ok"] is True
    assert seen["result"]["name"] == "web"


async def test_success_envelope_is_json_and_carries_the_audit_id():
    """A successful call returns {ok, result, audit_id}, all JSON-able."""
    run = runner(FakeExecutor("web"), **EXECUTE)
    envelope = await run.execute_tool("docker_stop_container", {"container_id": "web"})
    assert set(envelope) == {"ok", "result", "audit_id"}
    assert envelope["result"]["state"] == "exited"
    assert json.loads(json.dumps(envelope)) == envelope
    assert only_record(run).id == envelope["audit_id"]


async def test_strings_from_models_reach_the_executor_typed():
    """A timeout of '5' arrives as int 5; a command sent as a JSON string arrives as a list."""
    fake = FakeExecutor("web")
    run = runner(
        fake, mode="execute", approval={"risks": [], "tools": {"docker_execute_command": False}}
    )
    await run.execute_tool("docker_restart_container", {"container_id": "web", "timeout": "5"})
    await run.execute_tool(
        "docker_execute_command", {"container_id": "web", "command": '["ls", "-l"]'}
    )
    restart = next(a for n, a in fake.calls if n == "restart_container")
    assert restart["timeout"] == 5
    exec_args = next(a for n, a in fake.calls if n == "execute_command")
    assert exec_args["command"] == ["ls", "-l"]


async def test_unknown_tool_envelope():
    """An unknown tool is an unknown_tool error with suggestions; the call is audited invalid."""
    run = runner(FakeExecutor("web"), **EXECUTE)
    envelope = await run.execute_tool("docker_stop", {"container_id": "web"})
    assert envelope["ok"] is False
    assert envelope["error"]["type"] == "unknown_tool"
    assert "docker_stop_container" in envelope["error"]["details"]["suggestions"]
    record = only_record(run)
    assert (record.decision, record.outcome) == ("invalid", "invalid")


async def test_invalid_arguments_envelope_lists_problems():
    """Bad arguments return invalid_arguments with one problem per fault; nothing runs."""
    fake = FakeExecutor("web")
    run = runner(fake, **EXECUTE)
    envelope = await run.execute_tool(
        "docker_stop_container", {"container_id": "web", "timeout": 99999, "extra": 1}
    )
    assert envelope["error"]["type"] == "invalid_arguments"
    fields = [p["field"] for p in envelope["error"]["details"]["problems"]]
    assert fields == ["timeout", "extra"]
    assert fake.calls == []


async def test_engine_errors_become_typed_envelopes_with_hints():
    """ContainerNotFound, ContainerStateError and executor InvalidInput come back typed."""
    fake = FakeExecutor("web")
    fake.add("down", status="exited")
    run = runner(fake, mode="execute", approval={"tools": {"docker_execute_command": False}})
    missing = await run.execute_tool("docker_stop_container", {"container_id": "nope"})
    assert missing["error"]["type"] == "container_not_found"
    assert "docker_list_containers" in missing["error"]["message"]
    state = await run.execute_tool(
        "docker_execute_command", {"container_id": "down", "command": ["ls"]}
    )
    assert state["error"]["type"] == "container_state"

    async def bad_since(**kwargs):
        raise InvalidInput("since '10 parsecs' is neither ISO 8601 nor a duration")

    fake.get_container_logs = bad_since
    logs = await run.execute_tool(
        "docker_get_container_logs", {"container_id": "web", "since": "x"}
    )
    assert logs["error"]["type"] == "invalid_arguments"


async def test_a_bug_is_reported_not_raised():
    """An unexpected exception inside the executor is an 'internal' envelope, and audited."""
    fake = FakeExecutor("web")

    async def broken(**kwargs):
        raise RuntimeError("bug")

    fake.stop_container = broken
    run = runner(fake, **EXECUTE)
    envelope = await run.execute_tool("docker_stop_container", {"container_id": "web"})
    assert envelope["error"]["type"] == "internal"
    record = only_record(run)
    assert record.outcome == "failed"
    assert record.after is not None  # state after was still read


async def test_missing_executor_method_is_an_error_envelope():
    """A tool whose executor method does not exist (yet) fails cleanly."""

    class Partial:
        async def engine_identity(self):
            return FakeExecutor().identity

        async def inspect_container(self, container_id):
            return FakeExecutor("web")._inspect(FakeExecutor("web").find("web"))

    run = ToolRunner(Partial(), policy=Policy(**EXECUTE), own_container_id=None)
    envelope = await run.execute_tool("docker_pause_container", {"container_id": "web"})
    assert envelope["ok"] is False
    assert "executor has no pause_container" in envelope["error"]["message"]


async def test_protected_container_is_not_touched():
    """A protected name is resolved by inspect, denied, and never reaches a mutating call."""
    fake = FakeExecutor("db")
    run = runner(fake, protected={"names": ["db"]}, **EXECUTE)
    envelope = await run.execute_tool("docker_stop_container", {"container_id": container_id("db")})
    assert envelope["error"]["rule"] == "protected.names"
    assert envelope["error"]["details"]["target"]["name"] == "db"
    assert mutations(fake) == []
    assert fake.find("db")["status"] == "running"


async def test_protected_by_label_and_glob_via_execute_tool():
    """Label and glob protection hold through execute_tool for every mutating tool."""
    fake = FakeExecutor()
    fake.add("prod-api")
    fake.add("cache", labels={"tier": "critical"})
    run = runner(fake, protected={"patterns": ["prod-*"], "labels": ["tier=critical"]}, **EXECUTE)
    for tool in ("docker_kill_container", "docker_pause_container", "docker_restart_container"):
        for name, rule in (("prod-api", "protected.patterns"), ("cache", "protected.labels")):
            envelope = await run.execute_tool(tool, {"container_id": name})
            assert envelope["error"]["rule"] == rule
    assert mutations(fake) == []


async def test_own_container_is_protected_automatically():
    """The operator's own container (injected id) is refused with protected.self."""
    fake = FakeExecutor("operator")
    run = runner(fake, own=container_id("operator")[:12], **EXECUTE)
    envelope = await run.execute_tool("docker_stop_container", {"container_id": "operator"})
    assert envelope["error"]["rule"] == "protected.self"


async def test_scope_lets_only_opted_in_containers_change():
    """With scope autoheal=true, only the labelled container may be restarted."""
    fake = FakeExecutor()
    fake.add("in", labels={"autoheal": "true"})
    fake.add("out")
    run = runner(fake, scope={"require_labels": ["autoheal=true"]}, **EXECUTE)
    assert (await run.execute_tool("docker_restart_container", {"container_id": "in"}))["ok"]
    out = await run.execute_tool("docker_restart_container", {"container_id": "out"})
    assert out["error"]["rule"] == "scope.require_labels"


async def test_approval_granted_runs_and_is_recorded():
    """A yes from the approver runs the action; the approver saw container and redacted args."""
    fake = FakeExecutor("web")
    asked = []

    async def approve(request):
        asked.append(request)
        return True

    run = runner(fake, mode="execute", approver=approve)
    envelope = await run.execute_tool(
        "docker_execute_command",
        {"container_id": "web", "command": ["env"], "env": {"TOKEN": "hunter2"}},
        actor="agent-1",
        reason="debug",
    )
    assert envelope["ok"] is True
    (request,) = asked
    assert request.summary["name"] == "web"
    assert request.arguments["env"] == {"TOKEN": "[REDACTED]"}
    assert (request.actor, request.reason) == ("agent-1", "debug")
    assert only_record(run).rule == "approval.granted"


async def test_approval_refused_or_missing_denies():
    """A no from the approver, or no approver at all, denies a high-risk call; nothing runs."""
    fake = FakeExecutor("web")

    async def refuse(request):
        return False

    refused = await runner(fake, mode="execute", approver=refuse).execute_tool(
        "docker_restart_container", {"container_id": "web"}
    )
    assert refused["error"]["rule"] == "approval.rejected"
    missing = await runner(fake, mode="execute").execute_tool(
        "docker_restart_container", {"container_id": "web"}
    )
    assert missing["error"]["rule"] == "approval.unavailable"
    assert "no approver is configured" in missing["error"]["message"]
    assert mutations(fake) == []


async def test_an_approver_with_nobody_to_ask_denies_as_approval_unavailable():
    """ApprovalUnavailable from the approver: denied as approval.unavailable, its message kept.

    The denial carries the approver's reason and what to do instead, is audited as a
    denial under that rule, and nothing runs.
    """
    fake = FakeExecutor("web")

    async def nobody(request):
        raise ApprovalUnavailable("the operator's pager is switched off.")

    run = runner(fake, mode="execute", approver=nobody)
    envelope = await run.execute_tool("docker_restart_container", {"container_id": "web"})
    error = envelope["error"]
    assert (error["type"], error["rule"]) == ("denied", "approval.unavailable")
    message = error["message"]
    assert message.startswith(
        "docker_restart_container (high risk) on container 'web' needs approval under the "
        "policy, but nobody can be asked: the operator's pager is switched off. It was not run"
    )
    assert "[approval]" in message
    assert "failed" not in message
    assert mutations(fake) == []
    record = only_record(run)
    assert (record.decision, record.outcome, record.rule) == (
        "denied",
        "denied",
        "approval.unavailable",
    )


async def test_medium_risk_runs_without_approval_by_default():
    """Under the default gates (high only), a start needs no approver."""
    fake = FakeExecutor()
    fake.add("web", status="exited")
    envelope = await runner(fake, mode="execute").execute_tool(
        "docker_start_container", {"container_id": "web"}
    )
    assert envelope["ok"] is True


async def test_dry_run_reports_and_changes_nothing():
    """Dry run: resolved id, name and state reported; no mutating call; audited as dry_run."""
    fake = FakeExecutor("web")
    run = runner(fake, dry_run=True, mode="execute")
    envelope = await run.execute_tool("docker_stop_container", {"container_id": "web"})
    result = envelope["result"]
    assert result["dry_run"] is True
    assert result["changed"] is False
    assert result["target"]["id"] == container_id("web")
    assert result["target"]["status"] == "running"
    assert "'web'" in result["would"]
    assert result["approval_required"] is True
    assert mutations(fake) == []
    assert fake.find("web")["status"] == "running"
    record = only_record(run)
    assert (record.decision, record.outcome) == ("dry_run", "dry_run")


async def test_dry_run_still_applies_protection():
    """A dry run on a protected container is a denial, not a plan."""
    run = runner(FakeExecutor("db"), dry_run=True, protected={"names": ["db"]}, mode="execute")
    envelope = await run.execute_tool("docker_stop_container", {"container_id": "db"})
    assert envelope["error"]["rule"] == "protected.names"


async def test_rate_limit_stops_a_restart_loop():
    """At most 3 restarts of one container per 10 min: the 4th is denied, then allowed later."""
    fake = FakeExecutor("web", "api")
    clock = FakeClock()
    limits = [{"tools": ["docker_restart_container"], "max": 3, "window_s": 600}]
    run = runner(fake, rate_limits=limits, clock=clock, **EXECUTE)
    outcomes = []
    for _ in range(5):
        envelope = await run.execute_tool("docker_restart_container", {"container_id": "web"})
        outcomes.append(envelope["ok"] or envelope["error"]["rule"])
    assert outcomes == [True, True, True, "rate_limits[0]", "rate_limits[0]"]
    assert fake.find("web")["restart_count"] == 3
    other = await run.execute_tool("docker_restart_container", {"container_id": "api"})
    assert other["ok"] is True
    clock.advance(601)
    again = await run.execute_tool("docker_restart_container", {"container_id": "web"})
    assert again["ok"] is True


async def test_same_container_actions_never_interleave():
    """Two actions on one container (by name and by id) run one after the other."""
    fake = FakeExecutor("web", delay=0.05)
    run = runner(fake, **EXECUTE)
    await asyncio.gather(
        run.execute_tool("docker_restart_container", {"container_id": "web"}),
        run.execute_tool("docker_stop_container", {"container_id": container_id("web")}),
    )
    assert [e[0] for e in fake.events] == ["enter", "exit", "enter", "exit"]


async def test_different_containers_run_side_by_side():
    """Actions on two containers overlap (the lock is per container, not global).

    Both actions are held inside the engine until the test lets them go: with a global
    lock the second could never enter while the first is held.
    """
    fake = FakeExecutor("web", "api")
    fake.hold = asyncio.Event()
    run = runner(fake, **EXECUTE)
    calls = asyncio.gather(
        run.execute_tool("docker_restart_container", {"container_id": "web"}),
        run.execute_tool("docker_restart_container", {"container_id": "api"}),
    )
    await _let_others_run()
    assert fake.running_now == 2
    fake.hold.set()
    await calls
    assert [e[0] for e in fake.events] == ["enter", "enter", "exit", "exit"]


async def test_a_queued_action_records_the_state_it_found():
    """An action that waited for the lock records 'before' as left by the one ahead of it."""
    fake = FakeExecutor("web", delay=0.05)
    run = runner(fake, **EXECUTE)
    await asyncio.gather(
        run.execute_tool("docker_stop_container", {"container_id": "web"}),
        run.execute_tool("docker_start_container", {"container_id": "web"}),
    )
    records = {r.tool: r for r in run.audit.query()}
    assert records["docker_stop_container"].after["status"] == "exited"
    assert records["docker_start_container"].before["status"] == "exited"


async def test_overall_concurrency_is_bounded():
    """max_concurrent_actions=2: never more than two mutating actions at once."""
    names = [f"c{i}" for i in range(6)]
    fake = FakeExecutor(*names)
    fake.hold = asyncio.Event()  # every action stays inside the engine until released
    run = runner(fake, max_concurrent_actions=2, **EXECUTE)
    calls = asyncio.gather(
        *(run.execute_tool("docker_restart_container", {"container_id": n}) for n in names)
    )
    await _let_others_run()
    assert fake.running_now == 2  # two are in, four wait for a slot
    fake.hold.set()
    results = await calls
    assert all(r["ok"] for r in results)
    assert fake.max_running == 2


async def test_mutating_action_records_state_before_and_after():
    """A restart's audit record holds the state read before and after it."""
    run = runner(FakeExecutor("web"), **EXECUTE)
    await run.execute_tool(
        "docker_restart_container", {"container_id": "web"}, actor="a", reason="r"
    )
    record = only_record(run)
    assert record.before["restart_count"] == 0
    assert record.after["restart_count"] == 1
    assert (record.actor, record.reason, record.decision, record.outcome) == (
        "a",
        "r",
        "allowed",
        "ok",
    )
    assert record.container_id == container_id("web")
    assert record.result["changed"] is True


class RecordingSink(MemoryAuditSink):
    """Keeps every write, in order (pending and final versions)."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.writes = []
        self.fail = fail

    async def write(self, record):
        if self.fail:
            raise AuditError("disk full")
        self.writes.append((record.id, record.outcome))
        await super().write(record)


async def test_pending_record_is_written_before_the_action():
    """A mutating action first leaves a 'pending' record, then replaces it with the outcome."""
    sink = RecordingSink()
    run = ToolRunner(
        FakeExecutor("web"), policy=Policy(**EXECUTE), audit=sink, own_container_id=None
    )
    await run.execute_tool("docker_stop_container", {"container_id": "web"})
    (first, pending), (second, final) = sink.writes
    assert first == second
    assert (pending, final) == ("pending", "ok")
    assert len(sink.query()) == 1


async def test_no_action_runs_when_the_audit_trail_cannot_record():
    """If the pending record cannot be written, the action is not run; the agent is told."""
    fake = FakeExecutor("web")
    run = ToolRunner(
        fake, policy=Policy(**EXECUTE), audit=RecordingSink(fail=True), own_container_id=None
    )
    envelope = await run.execute_tool("docker_stop_container", {"container_id": "web"})
    assert envelope["error"]["type"] == "audit_unavailable"
    assert "audit_error" in envelope
    assert mutations(fake) == []


async def test_cancelled_call_is_still_recorded():
    """A call cancelled mid-action leaves a 'cancelled' record, and the cancel propagates."""
    fake = FakeExecutor("web")
    fake.hold = asyncio.Event()
    run = runner(fake, **EXECUTE)
    task = asyncio.create_task(run.execute_tool("docker_stop_container", {"container_id": "web"}))
    await asyncio.wait_for(fake.entered.wait(), 10)  # the action is under way
    task.cancel()
    await _let_others_run()
    fake.hold.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    record = only_record(run)
    assert record.outcome == "cancelled"


async def test_read_only_tools_need_no_container_resolution():
    """list, logs and wait run directly (no extra inspect) and record what they found."""
    fake = FakeExecutor("web")
    run = runner(fake)
    assert (await run.execute_tool("docker_list_containers", {}))["ok"]
    assert (await run.execute_tool("docker_get_container_logs", {"container_id": "web"}))["ok"]
    waited = await run.execute_tool(
        "docker_wait_for_container", {"container_id": "web", "condition": "running"}
    )
    assert waited["result"]["met"] is True
    assert [n for n, _ in fake.calls] == [
        "list_containers",
        "get_container_logs",
        "wait_for_container",
    ]
    logs = run.audit.query(AuditQuery(tool="docker_get_container_logs"))[0]
    assert logs.container_id == container_id("web")


async def test_the_tool_list_follows_the_policy_in_force():
    """Observe mode offers only read-only tools (every shape); execute mode every tool.

    ``everything`` lists them all, for inspection.
    """
    observe = ToolRunner(FakeExecutor(), own_container_id=None)
    names = {t["name"] for t in observe.tools()}
    assert "docker_stop_container" not in names
    assert "docker_inspect_container" in names
    assert names == {spec.name for spec in TOOLS if spec.read_only}
    assert len(observe.tools("openai")) == len(names)
    assert len(observe.tools("anthropic", everything=True)) == len(TOOLS)
    assert len(runner(FakeExecutor(), **EXECUTE).tools("mcp")) == len(TOOLS)


async def test_nothing_raises_for_garbage_input():
    """Whatever the agent sends as name or arguments, an envelope comes back."""
    run = runner(FakeExecutor("web"), **EXECUTE)
    for name, arguments in [
        (None, None),
        ("docker_stop_container", "not json"),
        ("docker_stop_container", 42),
        ("docker_stop_container", {"container_id": None}),
        ("docker_stop_container", {"container_id": "x" * 10000}),
        ("docker_execute_command", {"container_id": "web", "command": "[1,"}),
        ("x" * 5000, {}),
    ]:
        envelope = await run.execute_tool(name, arguments)
        assert envelope["ok"] is False
        json.dumps(envelope)
    assert len(run.audit.query()) == 7


async def test_state_error_from_executor_is_audited_as_failed():
    """An action the engine refuses is recorded failed with its error type, after state kept."""
    fake = FakeExecutor("web")

    async def refuse(**kwargs):
        raise ContainerStateError("container 'web' is paused")

    fake.start_container = refuse
    run = runner(fake, **EXECUTE)
    await run.execute_tool("docker_start_container", {"container_id": "web"})
    record = only_record(run)
    assert (record.outcome, record.error["type"]) == ("failed", "container_state")
    assert record.after["status"] == "running"


async def test_action_is_aimed_at_the_id_the_policy_judged():
    """The executor gets the resolved id, not the name (a swapped container is never hit)."""
    fake = FakeExecutor("web")
    run = runner(fake, **EXECUTE)
    await run.execute_tool("docker_stop_container", {"container_id": "web"})
    stop = next(a for n, a in fake.calls if n == "stop_container")
    assert stop["container_id"] == container_id("web")
    assert only_record(run).arguments["container_id"] == "web"  # what the agent asked


SECRET = "hunter2secret"  # noqa: S105 (the secret the tests hide)


async def test_json_string_arguments_that_fail_validation_keep_env_secret():
    """Pins fix 1: env secrets in a JSON-string call that fails validation stay out of the trail.

    OpenAI sends arguments as a JSON string; it is parsed before it is redacted.
    """
    run = runner(FakeExecutor("web"), **EXECUTE)
    raw = json.dumps(
        {"container_id": "web", "command": ["env"], "env": {"LEVEL": SECRET}, "timeout": 0}
    )
    envelope = await run.execute_tool("docker_execute_command", raw)
    assert envelope["error"]["type"] == "invalid_arguments"
    record = only_record(run)
    assert SECRET not in record.to_json()
    assert record.arguments["env"] == {"LEVEL": REDACTED}
    assert record.arguments["container_id"] == "web"  # the rest is kept, redacted
    assert record.arguments["command"] == ["env"]


async def test_string_encoded_fields_and_unknown_tools_keep_secrets_out_of_the_trail():
    """Pins fix 1: no raw string argument blob reaches the trail, for any tool.

    A command or env sent as a JSON string inside the arguments is read as the list or
    object it holds; an unknown tool's JSON string is parsed the same way; a string that
    is not a JSON object is stored only as its length. Review item 3: an unknown tool's
    arguments keep their keys only, every value stored as "[REDACTED]" (a dict such as
    {"environment": {"LEVEL": ...}} used to be stored in clear).
    """
    run = runner(FakeExecutor("web"), **EXECUTE)
    nested = json.dumps(
        {
            "container_id": "web",
            "command": json.dumps(["redis-cli", "-a", SECRET]),
            "env": json.dumps({"LEVEL": SECRET}),
            "timeout": 0,
        }
    )
    await run.execute_tool("docker_execute_command", nested)
    await run.execute_tool("docker_frobnicate", json.dumps({"env": {"LEVEL": SECRET}}))
    await run.execute_tool("docker_frobnicate", {"environment": {"LEVEL": SECRET}, "n": 1})
    garbage = f"env LEVEL={SECRET} not json"
    await run.execute_tool("docker_execute_command", garbage)
    await run.execute_tool("docker_frobnicate", garbage)
    await run.execute_tool("docker_execute_command", json.dumps([SECRET]))
    records = run.audit.query()
    assert len(records) == 6
    for record in records:
        assert SECRET not in record.to_json(), record.arguments
    stored = [r.arguments for r in sorted(records, key=lambda r: r.ts)]
    assert stored[0]["command"] == ["redis-cli", "-a", REDACTED]
    assert stored[0]["env"] == {"LEVEL": REDACTED}
    # An unknown tool's values are never stored, whatever their key or shape (item 3).
    assert stored[1] == {"env": REDACTED}
    assert stored[2] == {"environment": REDACTED, "n": REDACTED}
    assert stored[3] == stored[4] == f"[REDACTED: {len(garbage)} chars]"
    assert stored[5] == f"[REDACTED: {len(json.dumps([SECRET]))} chars]"


async def test_cancel_waits_for_the_action_under_way_and_keeps_the_lock():
    """Pins fix 2: a cancel waits for the action under way, holding the container's lock.

    The restart runs on in the engine whatever the caller does, so (a) a second mutating
    call on the container does not start before it finished; (b) the record's 'after' is
    read once the restart ended and says what became of it; (c) the cancel propagates.
    Review item 7: sequenced by events (the restart holds until released), not by sleeps
    racing a fake delay.
    """
    fake = FakeExecutor("web", detached=True)
    fake.hold = asyncio.Event()
    cid = container_id("web")
    run = runner(fake, **EXECUTE)
    first = asyncio.create_task(
        run.execute_tool("docker_restart_container", {"container_id": "web"})
    )
    await asyncio.wait_for(fake.entered.wait(), 10)
    assert fake.events == [("enter", "restart_container", cid)]  # under way
    first.cancel()
    second = asyncio.create_task(run.execute_tool("docker_stop_container", {"container_id": "web"}))
    await _let_others_run()  # the stop resolves its container and queues for the lock
    first.cancel()  # a second cancel does not cut the wait short either
    await _let_others_run()
    assert not first.done()
    assert fake.events == [("enter", "restart_container", cid)]  # (a) stop still waits
    fake.hold.set()
    with pytest.raises(asyncio.CancelledError):  # (c)
        await first
    assert (await second)["ok"] is True
    assert [(e[0], e[1]) for e in fake.events] == [
        ("enter", "restart_container"),
        ("exit", "restart_container"),
        ("enter", "stop_container"),
        ("exit", "stop_container"),
    ]
    restart = run.audit.query(AuditQuery(tool="docker_restart_container"))[0]
    assert (restart.decision, restart.outcome) == ("allowed", "cancelled")
    assert restart.before["restart_count"] == 0
    assert restart.after["restart_count"] == 1  # (b) read after the restart finished
    assert "already under way" in restart.error["message"]
    assert "it completed" in restart.error["message"]
    assert restart.result["changed"] is True
    stop = run.audit.query(AuditQuery(tool="docker_stop_container"))[0]
    assert stop.before["restart_count"] == 1  # found the restart's end, not its middle
    assert (stop.outcome, stop.after["status"]) == ("ok", "exited")


async def _let_others_run() -> None:
    """Give every other ready task many turns (no time passes: only the loop runs)."""
    for _ in range(50):
        await asyncio.sleep(0)


async def test_cancel_of_an_action_that_then_fails_records_the_failure():
    """Pins fix 2: an action cancelled under way that then fails is recorded with its failure.

    The outcome is 'cancelled', the message names the failure, 'after' is read once it ended.
    """
    fake = FakeExecutor("web")
    entered, release = asyncio.Event(), asyncio.Event()

    async def refuse_slowly(**kwargs):
        entered.set()
        await asyncio.shield(release.wait())
        raise ContainerStateError("container 'web' is paused")

    fake.start_container = refuse_slowly
    run = runner(fake, **EXECUTE)
    task = asyncio.create_task(run.execute_tool("docker_start_container", {"container_id": "web"}))
    await asyncio.wait_for(entered.wait(), 10)
    task.cancel()
    await _let_others_run()
    release.set()  # the engine refuses only after the cancel
    with pytest.raises(asyncio.CancelledError):
        await task
    record = only_record(run)
    assert record.outcome == "cancelled"
    assert "it failed (container_state" in record.error["message"]
    assert record.after["status"] == "running"
    assert record.result is None


async def test_a_bug_in_an_action_cancelled_under_way_is_logged_with_its_traceback(caplog):
    """An action cancelled under way that then fails with a bug (not an engine error).

    The record says it failed inside operator-core, and the traceback is logged: a bug
    seen only after a cancel is still a bug someone must see.
    """
    fake = FakeExecutor("web")
    entered, release = asyncio.Event(), asyncio.Event()

    async def broken_start(**kwargs):
        entered.set()
        await asyncio.shield(release.wait())
        return {}["container_id"]  # a KeyError, as a parsing bug would raise

    fake.start_container = broken_start
    run = runner(fake, **EXECUTE)
    task = asyncio.create_task(run.execute_tool("docker_start_container", {"container_id": "web"}))
    await asyncio.wait_for(entered.wait(), 10)
    task.cancel()
    await _let_others_run()
    with caplog.at_level("ERROR", logger="operator_core.runner"):
        release.set()
        with pytest.raises(asyncio.CancelledError):
            await task
    record = only_record(run)
    assert record.outcome == "cancelled"
    assert "it failed inside operator-core (KeyError)" in record.error["message"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Traceback (most recent call last)" in logged
    assert "broken_start" in logged


async def test_cancel_while_waiting_for_the_lock_runs_nothing():
    """A call cancelled while queued for its container's lock never runs its action.

    Its record says cancelled, before it changed anything.
    """
    fake = FakeExecutor("web")
    fake.hold = asyncio.Event()
    run = runner(fake, **EXECUTE)
    first = asyncio.create_task(run.execute_tool("docker_stop_container", {"container_id": "web"}))
    await asyncio.wait_for(fake.entered.wait(), 10)  # the stop holds the container's lock
    queued = asyncio.create_task(run.execute_tool("docker_kill_container", {"container_id": "web"}))
    await _let_others_run()  # the kill resolves the container and queues for the lock
    queued.cancel()
    with pytest.raises(asyncio.CancelledError):
        await queued
    fake.hold.set()
    assert (await first)["ok"] is True
    assert mutations(fake) == ["stop_container"]
    kill = run.audit.query(AuditQuery(tool="docker_kill_container"))[0]
    assert kill.outcome == "cancelled"
    assert "before it changed anything" in kill.error["message"]


def _examples(text: str) -> list[str]:
    """Return every example that follows "such as " in ``text``, as much as reads as JSON."""
    found = []
    for part in text.split("such as ")[1:]:
        try:
            _, end = json.JSONDecoder().raw_decode(part)
        except ValueError:
            end = len(part.split(" ")[0])
        found.append(part[:end])
    return found


async def test_every_fix_hint_example_parses_as_json():
    """Pins review item 4: each fix hint's example, as the agent receives it, is valid JSON.

    The env hint used to read ``{"KEY": "value"}``, which the redactor turns into
    ``{"KEY": [REDACTED]}`` (not JSON) because KEY=... looks like a secret.
    """
    run = runner(FakeExecutor("web"), **EXECUTE)
    calls = [
        {"container_id": "web", "command": ["env"], "env": 5},
        {"container_id": "web", "command": ["env"], "env": "LEVEL"},
        {"container_id": "web", "command": "ls -l"},
        ["web"],
    ]
    seen = 0
    for arguments in calls:
        envelope = await run.execute_tool("docker_execute_command", arguments)
        error = envelope["error"]
        texts = [
            error["message"],
            *(p["fix"] for p in error.get("details", {}).get("problems", [])),
        ]
        for text in texts:
            for example in _examples(text):
                json.loads(example)
                seen += 1
    assert seen >= 4


class FailingKillSink(MemoryAuditSink):
    """Stores every record except a kill's: writing that one fails."""

    async def write(self, record):
        if record.tool == "docker_kill_container":
            raise AuditError("disk full")
        await super().write(record)


async def test_failed_write_of_a_cancelled_before_anything_record_is_logged(caplog):
    """Pins review item 8: a failed write of a "cancelled before" record is logged.

    A call cancelled before it changed anything whose record cannot be written logs that
    failure (it used to be dropped silently), and the cancel still propagates.
    """
    fake = FakeExecutor("web")
    release = asyncio.Event()
    entered = asyncio.Event()

    async def slow_stop(container_id, timeout=10):
        entered.set()
        await release.wait()
        return {"container_id": container_id, "name": "web", "state": "exited", "changed": True}

    fake.stop_container = slow_stop
    run = ToolRunner(fake, policy=Policy(**EXECUTE), audit=FailingKillSink(), own_container_id=None)
    first = asyncio.create_task(run.execute_tool("docker_stop_container", {"container_id": "web"}))
    await asyncio.wait_for(entered.wait(), 10)
    queued = asyncio.create_task(run.execute_tool("docker_kill_container", {"container_id": "web"}))
    for _ in range(20):  # let it resolve the container and queue for the lock
        await asyncio.sleep(0)
    queued.cancel()
    with (
        caplog.at_level("ERROR", logger="operator_core.runner"),
        pytest.raises(asyncio.CancelledError),
    ):
        await queued
    release.set()
    assert (await first)["ok"] is True
    assert any(
        "not written" in r.getMessage() and "docker_kill_container" in r.getMessage()
        for r in caplog.records
    ), [r.getMessage() for r in caplog.records]


async def test_an_action_whose_own_task_is_cancelled_too_is_recorded_after_its_real_end():
    """Pins review item 1: a second cancel, reaching the action's own task, is told truly.

    When the action's own task is cancelled as well (the loop shutting down after a second
    Ctrl-C), the record no longer says 'after' may predate the action's end: the executor
    waits for its engine call, so 'after' is read once it ended.
    """
    fake = FakeExecutor("web", delay=0.3, detached=True, outlasts=True)
    cid = container_id("web")
    run = runner(fake, **EXECUTE)
    first = asyncio.create_task(
        run.execute_tool("docker_restart_container", {"container_id": "web"})
    )
    await asyncio.wait_for(fake.entered.wait(), 10)
    assert fake.events == [("enter", "restart_container", cid)]
    # Cancel every task but this one and the fake's own work, as asyncio.run does on exit.
    for task in asyncio.all_tasks():
        if task is not asyncio.current_task() and task not in fake.background:
            task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    record = only_record(run)
    assert record.outcome == "cancelled"
    assert "own task was cancelled too" in record.error["message"]
    assert "waited for until it ended" in record.error["message"]
    assert "may have been read before" not in record.error["message"]
    assert record.after["restart_count"] == 1  # read once the restart had ended


@pytest.mark.parametrize(
    ("suffix", "second_starts"),
    [("sqlite3", "before"), ("sqlite3", "after"), ("jsonl", "after")],
)
async def test_rate_limit_windows_count_from_admission_not_from_a_slow_approval(
    tmp_path, suffix, second_starts
):
    """Pins review item 2: rate-limit windows count from admission, not from the call's start.

    An action's record is stamped when it was admitted, after its approval, so a slow
    approval does not move its window back. The restart is asked at t=0 and approved at
    t=50; at t=100 a second restart (approved at once) is within the 60 s window of the
    first. A runner sharing the trail (SQLite: one started before, judging in the admitting
    transaction; either trail: one started after, seeded from it) must deny it. Stamped
    with the call's start (t=0), the first fell out of the window.
    """
    from operator_core.audit import open_audit

    wall, mono = FakeClock(1_000_000.0), FakeClock()
    fake = FakeExecutor("web")

    async def slow_yes(request):
        wall.advance(50)
        mono.advance(50)
        return True

    policy = Policy(
        mode="execute",
        rate_limits=[{"tools": ["docker_restart_container"], "max": 1, "window_s": 60}],
        approval={"risks": ["high"]},
    )
    sink = open_audit(tmp_path / f"audit.{suffix}")

    async def quick_yes(request):
        return True

    def make(approver) -> ToolRunner:
        return ToolRunner(
            fake,
            policy=policy,
            audit=sink,
            approver=approver,
            own_container_id=None,
            clock=mono,
            wall_clock=wall,
        )

    other = make(quick_yes) if second_starts == "before" else None
    first = await make(slow_yes).execute_tool("docker_restart_container", {"container_id": "web"})
    assert first["ok"] is True
    (record,) = sink.query()
    assert record.ts == 1_000_050.0  # admitted once approved
    wall.advance(50)
    mono.advance(50)
    other = other or make(quick_yes)
    second = await other.execute_tool("docker_restart_container", {"container_id": "web"})
    assert second["ok"] is False
    assert second["error"]["rule"] == "rate_limits[0]"
    assert fake.find("web")["restart_count"] == 1
    await sink.close()


class _StoppableExec(FakeExecutor):
    """An exec that runs until it is cancelled, as the real one stops its processes."""

    stopped_early = False

    async def execute_command(self, container_id: str, command: list[str], **_: Any) -> Any:
        self.find(container_id)
        self.entered.set()
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            self.stopped_early = True
            raise
        return {"exit_code": 0}


async def test_a_cancel_reaches_an_interruptible_tool_and_is_recorded():
    """A cancelled exec is told to stop (it is interruptible) instead of running to its end.

    A restart is waited for (the engine cannot stop it halfway); an exec kills its work, so
    the cancel is passed on: the call ends at once, the record says it was cancelled.
    """
    fake = _StoppableExec("web")
    run = runner(fake, mode="execute", approval={"risks": [], "tools": {EXEC: False}})
    call = asyncio.create_task(
        run.execute_tool(EXEC, {"container_id": "web", "command": ["sleep", "30"]})
    )
    await asyncio.wait_for(fake.entered.wait(), 10)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(call, 20)  # not cancelled, the exec would sleep its 30 s
    assert fake.stopped_early is True  # no stopwatch: the fake says the cancel reached it
    record = only_record(run)
    assert record.outcome == "cancelled"
    assert "own task was cancelled too" in record.error["message"]


async def test_building_a_runner_reads_nothing_and_start_reads_off_the_loop(monkeypatch):
    """ToolRunner() does no I/O; start() reads /proc and the trail once, in a worker thread.

    The own-container detection and the trail's query record the thread they ran on:
    nothing runs while the runner is built; the first call starts it, off the event
    loop's thread; concurrent and later calls do not read again.
    """
    import threading

    from operator_core.policy import guard as guard_module

    where: list[tuple[str, int]] = []

    def detect(*where_to_look: object) -> frozenset[str]:
        where.append(("proc", threading.get_ident()))
        return frozenset()

    class CountingSink(MemoryAuditSink):
        def query(self, query=None):
            where.append(("trail", threading.get_ident()))
            return super().query(query)

    monkeypatch.setattr(guard_module, "detect_own_container_ids", detect)
    policy = Policy(**EXECUTE, rate_limits=[{"max": 5, "window_s": 60}])
    run = ToolRunner(FakeExecutor("web"), policy=policy, audit=CountingSink())
    assert where == []
    first = run.execute_tool("docker_inspect_container", {"container_id": "web"})
    results = await asyncio.gather(first, run.start(), run.start())
    assert results[0]["ok"]
    await run.execute_tool("docker_inspect_container", {"container_id": "web"})
    assert [what for what, _ in where] == ["proc", "trail"]
    assert threading.get_ident() not in {thread for _, thread in where}


@pytest.mark.parametrize("trail", ["memory", "sqlite3", "jsonl"])
async def test_denied_calls_do_not_count_toward_a_rate_limit(tmp_path, trail):
    """Only allowed actions fill a rate-limit window; a denied call leaves it as it was.

    One restart per 60 s. At t=0 the approver declines a restart; at t=10 one is allowed
    (the declined one did not count); at t=40 the limit itself denies one; at t=71 one is
    allowed again (the window held the t=10 action, not the t=40 denial). A new runner
    reading the trail is denied at t=72 (t=71's action) and allowed at t=131 (only that
    denial is left in the window). Checked for each kind of trail, since each counts
    differently: this process's counts, SQLite's admitting transaction, a new runner
    seeded from the trail.
    """
    from operator_core.audit import open_audit

    wall, mono = FakeClock(1_000_000.0), FakeClock()
    fake = FakeExecutor("web")
    answers = [False, True, True, True, True]

    async def approver(request):
        return answers.pop(0)

    sink = MemoryAuditSink() if trail == "memory" else open_audit(tmp_path / f"audit.{trail}")
    policy = Policy(
        mode="execute",
        rate_limits=[{"tools": ["docker_restart_container"], "max": 1, "window_s": 60}],
        approval={"risks": ["high"]},
    )

    def make() -> ToolRunner:
        return ToolRunner(
            fake,
            policy=policy,
            audit=sink,
            approver=approver,
            own_container_id=None,
            clock=mono,
            wall_clock=wall,
        )

    run = make()
    outcomes = []
    for at in (0, 10, 40, 71):
        wall.now, mono.now = 1_000_000.0 + at, 1000.0 + at
        envelope = await run.execute_tool("docker_restart_container", {"container_id": "web"})
        outcomes.append(envelope["ok"] or envelope["error"]["rule"])
    assert outcomes == ["approval.rejected", True, "rate_limits[0]", True]
    assert fake.find("web")["restart_count"] == 2
    wall.advance(1)
    mono.advance(1)
    # At t=72 a new runner sees t=71's action in the window, and is denied:
    later = await make().execute_tool("docker_restart_container", {"container_id": "web"})
    assert later["error"]["rule"] == "rate_limits[0]"
    wall.advance(59)  # t=131: t=71's action has aged out, t=72's denial has not
    mono.advance(59)
    again = await make().execute_tool("docker_restart_container", {"container_id": "web"})
    assert again["ok"] is True
    if trail != "memory":
        await sink.close()
