"""The MCP server in-process, driven by the SDK's own client, over a fake executor."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
from mcp import Client

from operator_core.audit import MemoryAuditSink
from operator_core.mcp.server import (
    build_server,
    call_result,
    client_actor,
    elicit_approval,
    policy_note,
)
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.tools import TOOLS
from operator_core.tools.answers import COMPACT, option_schema
from tool_fakes import FakeExecutor

CLIENT = types.Implementation(name="test-client", version="1.2")


def _runner(mode: str = "observe", **policy: Any) -> tuple[ToolRunner, MemoryAuditSink]:
    """Return a runner over a fake 'web' container, asking approval through elicitation."""
    audit = MemoryAuditSink()
    runner = ToolRunner(
        FakeExecutor("web"),
        policy=Policy(mode=mode, **policy),
        audit=audit,
        approver=elicit_approval,
        own_container_id=None,
    )
    return runner, audit


def _answer(action: str, approve: bool = True) -> Any:
    """Return an elicitation callback that answers every request with ``action``."""

    async def callback(context: Any, params: Any) -> types.ElicitResult:
        callback.asked.append(params.message)  # type: ignore[attr-defined]
        content = {"approve": approve} if action == "accept" else None
        return types.ElicitResult(action=action, content=content)

    callback.asked = []  # type: ignore[attr-defined]
    return callback


async def test_tools_list_serves_every_tool_with_schema_and_hints():
    """tools/list has each tool once, its JSON Schema and its three hints from the spec."""
    runner, _ = _runner()
    async with Client(build_server(runner), client_info=CLIENT) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert list(listed) == [spec.name for spec in TOOLS]
    for spec in TOOLS:
        tool = listed[spec.name]
        options = option_schema() if spec.name in COMPACT else {}
        properties = {**spec.listed_schema["properties"], **options}
        assert tool.input_schema == {**spec.listed_schema, "properties": properties}
        assert tool.description == spec.mcp()["description"]
        assert tool.annotations is not None
        assert tool.annotations.read_only_hint is spec.read_only
        if spec.mutating:  # the other two hints mean something only for these
            assert tool.annotations.destructive_hint is spec.destructive
            assert tool.annotations.idempotent_hint is spec.idempotent


async def test_a_result_is_structured_and_readable_as_text():
    """The structuredContent holds the envelope and the text content is the same JSON."""
    runner, _ = _runner()
    async with Client(build_server(runner), client_info=CLIENT) as client:
        result = await client.call_tool("docker_inspect_container", {"container_id": "web"})
    assert result.is_error is False
    assert result.structured_content is not None
    assert result.structured_content["ok"] is True
    assert result.structured_content["result"]["name"] == "web"
    text = result.content[0]
    assert isinstance(text, types.TextContent)
    assert json.loads(text.text) == result.structured_content


async def test_a_denial_is_a_tool_error_and_the_server_keeps_serving():
    """In observe mode a restart is isError with the rule; the next call still works."""
    runner, audit = _runner("observe")
    async with Client(build_server(runner), client_info=CLIENT) as client:
        denied = await client.call_tool("docker_restart_container", {"container_id": "web"})
        after = await client.call_tool("docker_inspect_container", {"container_id": "web"})
        unknown = await client.call_tool("docker_reboot", {})
    assert denied.is_error is True
    assert denied.structured_content is not None
    assert denied.structured_content["error"]["rule"] == "mode.observe"
    assert after.is_error is False
    assert unknown.is_error is True
    assert [r.decision for r in audit.query()][::-1] == ["denied", "allowed", "invalid"]


async def test_the_client_is_recorded_as_the_actor():
    """Every audit record names the MCP client from its initialize/clientInfo."""
    runner, audit = _runner()
    async with Client(build_server(runner), client_info=CLIENT) as client:
        await client.call_tool("docker_list_containers", {})
    assert [r.actor for r in audit.query()] == ["mcp:test-client/1.2"]
    assert client_actor(None) == "mcp:unknown-client"


async def test_approval_is_asked_of_the_clients_user_by_elicitation():
    """A legacy-protocol client with elicitation is asked; accept runs, decline is denied."""
    runner, audit = _runner("execute")
    server = build_server(runner)
    accept = _answer("accept")
    async with Client(server, mode="legacy", client_info=CLIENT, elicitation_callback=accept) as c:
        ran = await c.call_tool("docker_stop_container", {"container_id": "web"})
    assert ran.is_error is False
    assert "docker_stop_container" in accept.asked[0]
    assert "'web'" in accept.asked[0]
    decline = _answer("decline")
    async with Client(server, mode="legacy", client_info=CLIENT, elicitation_callback=decline) as c:
        refused = await c.call_tool("docker_pause_container", {"container_id": "web"})
    assert refused.is_error is True
    assert refused.structured_content is not None
    assert refused.structured_content["error"]["rule"] == "approval.rejected"
    said_no = _answer("accept", approve=False)
    async with Client(server, mode="legacy", client_info=CLIENT, elicitation_callback=said_no) as c:
        unchecked = await c.call_tool("docker_kill_container", {"container_id": "web"})
    assert unchecked.is_error is True
    assert [r.rule for r in audit.query()][::-1] == [
        "approval.granted",
        "approval.rejected",
        "approval.rejected",
    ]


async def test_a_client_that_cannot_be_asked_is_denied_with_an_explanation():
    """Without elicitation a call that needs approval is denied as approval.unavailable.

    The message says this client cannot ask its user and what to do instead; nothing runs.
    """
    runner, audit = _runner("execute")
    async with Client(build_server(runner), client_info=CLIENT) as client:
        result = await client.call_tool("docker_stop_container", {"container_id": "web"})
    assert result.is_error is True
    assert result.structured_content is not None
    error = result.structured_content["error"]
    assert (error["type"], error["rule"]) == ("denied", "approval.unavailable")
    assert "this MCP client cannot ask its user" in error["message"]
    assert "[approval]" in error["message"]
    assert "failed" not in error["message"]
    assert [r.rule for r in audit.query()] == ["approval.unavailable"]


async def test_a_runner_that_raises_becomes_a_tool_error(caplog):
    """Even a bug that escapes the runner returns isError, never a protocol failure.

    Its traceback is logged with secrets the message quotes redacted.
    """

    class Broken:
        async def execute_tool(self, name: str, arguments: Any, **kwargs: Any) -> dict[str, Any]:
            raise RuntimeError("boom password=S3cretValue")

    async with Client(build_server(Broken()), client_info=CLIENT) as client:
        first = await client.call_tool("docker_list_containers", {})
        second = await client.call_tool("docker_list_containers", {})
    assert first.is_error is True
    assert second.is_error is True
    assert first.structured_content is not None
    assert first.structured_content["error"]["type"] == "internal"
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "Traceback" in logged
    assert "RuntimeError" in logged
    assert "S3cretValue" not in logged


def test_call_result_makes_any_envelope_json_safe():
    """Values JSON cannot hold (sets, objects) become text instead of breaking the result."""
    result = call_result({"ok": True, "result": {"odd": {1, 2}.__class__.__name__}})
    assert result.is_error is False
    assert result.structured_content == {"ok": True, "result": {"odd": "set"}}


async def test_the_instructions_say_which_mode_is_in_force():
    """An agent learns at initialize that observe mode denies changes (and about dry run)."""
    runner, _ = _runner()
    server = build_server(runner, policy_note=policy_note("observe", dry_run=False))
    async with Client(server, mode="legacy", client_info=CLIENT) as client:
        instructions = client.instructions or ""
    assert "observe mode" in instructions
    assert "dry run" in policy_note("execute", dry_run=True).lower()
    assert "execute mode" in policy_note("execute", dry_run=False)
