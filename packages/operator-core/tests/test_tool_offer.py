"""Tools the policy allows (issue 21): what tools/list offers, and the denial of the rest."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from operator_core.audit import MemoryAuditSink
from operator_core.errors import InvalidInput, PolicyError
from operator_core.mcp.server import build_server
from operator_core.policy import Policy, policy_from_dict
from operator_core.runner import ToolRunner
from operator_core.tools import TOOLS
from operator_core.tools.diagnosis import DIAGNOSIS_TOOLS
from operator_core.tools.offer import offer, parse_toolsets, toolset_of
from operator_core.tools.swarm import SWARM_TOOLS
from tool_fakes import FakeExecutor

CLIENT = types.Implementation(name="test-client", version="1")
READS = [spec.name for spec in TOOLS if spec.read_only]
EVERY = [spec.name for spec in TOOLS]


def _names(offered: Any) -> list[str]:
    """Return the names of the specs offered."""
    return [spec.name for spec in offered.specs]


def test_observe_mode_offers_only_read_only_tools_and_a_flag_offers_all():
    """Observe mode lists no mutating tool; execute lists all; everything=True lists all."""
    assert _names(offer(TOOLS, Policy())) == READS
    assert _names(offer(TOOLS, Policy(mode="execute"))) == EVERY
    assert _names(offer(TOOLS, Policy(), everything=True)) == EVERY


def test_in_a_fleet_a_mutating_tool_is_offered_when_some_host_allows_it():
    """Observe on every host: reads only; one host in execute mode: every tool again."""
    all_observe = policy_from_dict(
        {"mode": "execute", "hosts": {"a": {"mode": "observe"}, "b": {"mode": "observe"}}}
    )
    hidden = offer(TOOLS, all_observe, hosts=("a", "b"))
    assert _names(hidden) == READS
    assert "every host" in hidden.hidden["docker_restart_container"]
    one_executes = policy_from_dict({"mode": "observe", "hosts": {"b": {"mode": "execute"}}})
    assert _names(offer(TOOLS, one_executes, hosts=("a", "b"))) == EVERY


def test_toolsets_from_the_command_line_and_the_policy_both_narrow_the_list():
    """--toolsets and the policy's toolsets each narrow; given both, a tool must be in both."""
    execute = Policy(mode="execute")
    swarm = offer(TOOLS, execute, toolsets=frozenset({"swarm"}))
    assert _names(swarm) == [spec.name for spec in SWARM_TOOLS]
    policy = policy_from_dict({"mode": "execute", "toolsets": ["containers", "diagnosis"]})
    from_policy = _names(offer(TOOLS, policy))
    assert not set(from_policy) & {spec.name for spec in SWARM_TOOLS}
    both = offer(TOOLS, policy, toolsets=frozenset({"diagnosis", "swarm"}))
    assert _names(both) == [spec.name for spec in DIAGNOSIS_TOOLS]


def test_toolset_names_are_checked_on_the_command_line_and_in_the_policy():
    """An unknown toolset is InvalidInput (command line) or PolicyError (policy file)."""
    assert parse_toolsets(["containers,swarm"]) == frozenset({"containers", "swarm"})
    assert parse_toolsets([]) is None
    with pytest.raises(InvalidInput, match="diagnosis"):
        parse_toolsets(["containers", "nope"])
    with pytest.raises(PolicyError):
        policy_from_dict({"toolsets": ["nope"]})
    assert toolset_of("docker_list_nodes") == "swarm"
    assert toolset_of("docker_get_events") == "diagnosis"
    assert toolset_of("docker_restart_container") == "containers"


async def test_a_call_to_a_tool_left_out_is_denied_saying_why_and_runs_nothing():
    """tools/list omits the toolset; calling it anyway is a denial naming the toolset."""
    fake = FakeExecutor("web")
    runner = ToolRunner(
        fake, policy=Policy(mode="execute"), audit=MemoryAuditSink(), own_container_id=None
    )
    offered = offer(runner.specs, runner.policy, toolsets=frozenset({"swarm"}))
    server = build_server(runner, offered=offered)
    async with Client(server, client_info=CLIENT) as client:
        listed = [tool.name for tool in (await client.list_tools()).tools]
        denied = await client.call_tool("docker_inspect_container", {"container_id": "web"})
    assert listed == [spec.name for spec in SWARM_TOOLS]
    assert denied.is_error is True
    (text,) = denied.content
    assert isinstance(text, types.TextContent)
    error = json.loads(text.text)["error"]
    assert error["type"] == "denied"
    assert error["rule"] == "toolsets"
    assert "'containers'" in error["message"]
    assert "--toolsets" in error["message"]
    assert fake.calls == []


async def test_observe_mode_server_lists_reads_and_still_denies_a_mutating_call_saying_why():
    """In observe mode restart is not listed; called anyway, the policy's denial says why."""
    runner = ToolRunner(
        FakeExecutor("web"), policy=Policy(), audit=MemoryAuditSink(), own_container_id=None
    )
    server = build_server(runner, offered=offer(runner.specs, runner.policy))
    async with Client(server, client_info=CLIENT) as client:
        listed = [tool.name for tool in (await client.list_tools()).tools]
        denied = await client.call_tool("docker_restart_container", {"container_id": "web"})
    assert listed == READS
    assert denied.is_error is True
    (text,) = denied.content
    assert isinstance(text, types.TextContent)
    assert "observe" in json.loads(text.text)["error"]["message"]
