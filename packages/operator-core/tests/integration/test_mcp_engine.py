"""``operator mcp`` as a subprocess over stdio, driven by the MCP SDK's own client."""

from __future__ import annotations

import sys

import mcp_types as types
import pytest
from cli_helpers import clean_env
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from operator_core.audit import AuditQuery, read_audit
from operator_core.mcp.server import mcp_tool
from operator_core.testing import HANDLES_SIGTERM
from operator_core.tools import TOOLS
from operator_core.tools.swarm import SWARM_TOOLS

CLIENT = types.Implementation(name="pytest-client", version="1.0")
WAIVE_APPROVAL = 'mode = "execute"\n[approval]\nrisks = []\n'


def _server(tmp_path, *options: str, mcp_options: tuple[str, ...] = ()) -> StdioServerParameters:
    """Return how to start `operator [OPTIONS] mcp [MCP_OPTIONS]` with a private audit file."""
    env = clean_env(tmp_path)
    passed = {k: v for k, v in env.items() if k.startswith(("OPERATOR_", "XDG_", "DOCKER_"))}
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "operator_core.cli", *options, "mcp", *mcp_options],
        env=passed,
    )


def _records(tmp_path):
    """Return the audit records the server wrote, oldest first."""
    return list(reversed(read_audit(tmp_path / "audit.sqlite3", AuditQuery(limit=None))))


@pytest.mark.usefixtures("engine")
async def test_tools_list_over_stdio_has_the_tools_the_policy_allows_with_schema_and_hints(
    tmp_path,
):
    """The served list is the tool layer's, shaped by the policy in force (issue 21).

    Observe mode (the default): the read-only tools only; execute mode: every tool, each
    with its listed schema and its hints; --toolsets swarm: the swarm tools only.
    """
    async with Client(_server(tmp_path), client_info=CLIENT) as client:
        observed = [tool.name for tool in (await client.list_tools()).tools]
    assert observed == [spec.name for spec in TOOLS if spec.read_only]
    async with Client(_server(tmp_path, "--mode", "execute"), client_info=CLIENT) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert set(tools) == {spec.name for spec in TOOLS}
    for spec in TOOLS:
        served = tools[spec.name]
        assert served.input_schema == mcp_tool(spec).input_schema
        assert served.annotations is not None
        hints = served.annotations
        assert hints.read_only_hint is spec.read_only
        if spec.mutating:
            assert (hints.destructive_hint, hints.idempotent_hint) == (
                spec.destructive,
                spec.idempotent,
            )
    swarm_only = _server(tmp_path, "--mode", "execute", mcp_options=("--toolsets", "swarm"))
    async with Client(swarm_only, client_info=CLIENT) as client:
        listed = [tool.name for tool in (await client.list_tools()).tools]
    assert listed == [spec.name for spec in SWARM_TOOLS]


async def test_inspect_and_restart_a_real_container(containers, tmp_path):
    """Under an execute policy the client inspects, then restarts; started_at moves."""
    name = containers.run(*HANDLES_SIGTERM)
    policy = tmp_path / "policy.toml"
    policy.write_text(WAIVE_APPROVAL)
    async with Client(_server(tmp_path, "--policy", str(policy)), client_info=CLIENT) as client:
        inspected = await client.call_tool("docker_inspect_container", {"container_id": name})
        restarted = await client.call_tool(
            "docker_restart_container", {"container_id": name, "timeout": 5}
        )
    assert inspected.is_error is False
    assert inspected.structured_content is not None
    before = inspected.structured_content["result"]["state"]["started_at"]
    assert restarted.is_error is False, restarted.content
    assert restarted.structured_content is not None
    result = restarted.structured_content["result"]
    assert result["running"] is True
    assert result["previous_started_at"] == before
    assert result["started_at"] != before
    assert containers.client.container.inspect(name).state.running is True
    records = _records(tmp_path)
    assert [(r.tool, r.outcome) for r in records] == [
        ("docker_inspect_container", "ok"),
        ("docker_restart_container", "ok"),
    ]
    assert {r.actor for r in records} == {"mcp:pytest-client/1.0"}


async def test_observe_mode_denies_a_restart_and_the_server_lives_on(containers, tmp_path):
    """Observe mode (the default) returns isError with the rule; later calls still work."""
    name = containers.run(*HANDLES_SIGTERM)
    started = containers.client.container.inspect(name).state.started_at
    async with Client(_server(tmp_path), client_info=CLIENT) as client:
        denied = await client.call_tool("docker_restart_container", {"container_id": name})
        bad = await client.call_tool("docker_get_container_logs", {"container_id": name, "tail": 0})
        alive = await client.call_tool("docker_list_containers", {"name": name})
    assert denied.is_error is True
    assert denied.structured_content is not None
    assert denied.structured_content["error"]["rule"] == "mode.observe"
    text = denied.content[0]
    assert isinstance(text, types.TextContent)
    assert "observe mode" in text.text
    assert bad.is_error is True
    assert alive.is_error is False
    assert alive.structured_content is not None
    assert [c["name"] for c in alive.structured_content["result"]["containers"]] == [name]
    assert containers.client.container.inspect(name).state.started_at == started
    assert [r.decision for r in _records(tmp_path)] == ["denied", "invalid", "allowed"]


async def test_approval_by_elicitation_over_stdio(containers, tmp_path):
    """In execute mode a stop needs approval: the client's user is asked and says yes."""
    name = containers.run(*HANDLES_SIGTERM)
    asked: list[str] = []

    async def elicit(context, params):
        asked.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    server = _server(tmp_path, "--mode", "execute")
    async with Client(server, mode="legacy", client_info=CLIENT, elicitation_callback=elicit) as c:
        stopped = await c.call_tool("docker_stop_container", {"container_id": name})
    assert stopped.is_error is False, stopped.content
    assert len(asked) == 1
    assert name in asked[0]
    assert containers.client.container.inspect(name).state.running is False
    assert [r.rule for r in _records(tmp_path)] == ["approval.granted"]
