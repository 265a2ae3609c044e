"""The swarm tools through ToolRunner: the [swarm] policy, approvals, dry run, audit."""

from __future__ import annotations

from typing import Any

import pytest

from operator_core.errors import PolicyError
from operator_core.policy import Policy, policy_from_dict
from operator_core.policy.guard import ApprovalRequest
from operator_core.runner import ToolRunner
from operator_core.tools import get_tool
from swarm_tool_fakes import object_id
from tool_fakes import FakeExecutor

SWARM_CHANGES = {"scale_service", "restart_service", "rollback_service", "set_node_availability"}


def runner(fake: FakeExecutor, approver: Any = None, **policy: Any) -> ToolRunner:
    """Return a runner in execute mode (no approval by risk unless ``policy`` says so)."""
    settings: dict[str, Any] = {"mode": "execute", "approval": {"risks": []}, **policy}
    return ToolRunner(fake, policy=Policy(**settings), approver=approver, own_container_id=None)


def changes(fake: FakeExecutor) -> list[tuple[str, dict[str, Any]]]:
    """Return the swarm changes the executor was asked for."""
    return [(name, args) for name, args in fake.calls if name in SWARM_CHANGES]


@pytest.fixture
def fake() -> FakeExecutor:
    """A fake executor with a service 'web' of 2 replicas on a three-node swarm."""
    executor = FakeExecutor()
    executor.add_service("web", 2, labels={"tier": "front"})
    return executor


async def test_reads_run_in_observe_mode_and_changes_do_not(fake):
    """Observe mode lists services and nodes, and refuses a scale before resolving it."""
    observe = ToolRunner(fake, own_container_id=None)
    listed = await observe.execute_tool("docker_list_services", {})
    nodes = await observe.execute_tool("docker_list_nodes", {})
    assert (listed["ok"], nodes["ok"]) == (True, True)
    assert listed["result"]["services"][0]["name"] == "web"
    denied = await observe.execute_tool("docker_scale_service", {"service": "web", "replicas": 3})
    assert denied["error"]["rule"] == "mode.observe"
    assert changes(fake) == []


async def test_a_scale_goes_to_the_resolved_service_id_and_is_audited(fake):
    """The executor is aimed at the id the policy judged; the record has before and after."""
    run = runner(fake)
    done = await run.execute_tool("docker_scale_service", {"service": "web", "replicas": 4})
    assert done["ok"] is True
    assert changes(fake) == [("scale_service", {"service": object_id("web"), "replicas": 4})]
    (record,) = run.audit.query()
    # The audit record names the service as its target; container_id is for containers only.
    assert (record.target_kind, record.target_id, record.target_name) == (
        "service",
        object_id("web"),
        "web",
    )
    assert (record.container_id, record.container_name) == (None, None)
    assert record.before["kind"] == "service"
    assert (record.before["replicas_desired"], record.after["replicas_desired"]) == (2, 4)
    assert record.after["task_states"] == {"running": 4}


@pytest.mark.parametrize(
    ("replicas", "rule"), [(7, "swarm.max_replicas"), (1, "swarm.min_replicas")]
)
async def test_a_scale_outside_the_policy_bounds_is_denied(fake, replicas, rule):
    """[swarm] min_replicas and max_replicas bound a scale; outside them nothing is sent."""
    run = runner(fake, swarm={"min_replicas": 2, "max_replicas": 6})
    denied = await run.execute_tool(
        "docker_scale_service", {"service": "web", "replicas": replicas}
    )
    assert (denied["ok"], denied["error"]["rule"]) == (False, rule)
    assert "web" in denied["error"]["message"]
    assert changes(fake) == []
    for edge in (2, 6):  # the bounds themselves are allowed
        allowed = await run.execute_tool(
            "docker_scale_service", {"service": "web", "replicas": edge}
        )
        assert allowed["ok"] is True, allowed


async def test_scaling_to_zero_needs_approval_even_when_the_tool_needs_none(fake):
    """A scale to 0 stops the service: nobody to ask means denied; a yes lets it run."""
    unasked = await runner(fake).execute_tool(
        "docker_scale_service", {"service": "web", "replicas": 0}
    )
    assert unasked["error"]["rule"] == "approval.unavailable"
    assert changes(fake) == []
    asked: list[ApprovalRequest] = []

    async def yes(request: ApprovalRequest) -> bool:
        asked.append(request)
        return True

    done = await runner(fake, approver=yes).execute_tool(
        "docker_scale_service", {"service": "web", "replicas": 0}
    )
    assert done["ok"] is True
    assert asked[0].summary["kind"] == "service"
    assert asked[0].summary["name"] == "web"
    three = await runner(fake).execute_tool(
        "docker_scale_service", {"service": "web", "replicas": 3}
    )
    assert three["ok"] is True


async def test_draining_a_manager_is_denied_by_default_and_a_worker_is_not(fake):
    """Managers are protected from drain and pause unless protect_managers is false."""
    run = runner(fake)
    for availability in ("drain", "pause"):
        denied = await run.execute_tool(
            "docker_set_node_availability", {"node": "mgr-1", "availability": availability}
        )
        assert denied["error"]["rule"] == "swarm.protect_managers"
    active = await run.execute_tool(
        "docker_set_node_availability", {"node": "mgr-1", "availability": "active"}
    )
    assert active["ok"] is True
    worker = await run.execute_tool(
        "docker_set_node_availability", {"node": "wrk-1", "availability": "drain"}
    )
    assert worker["ok"] is True
    allowed = runner(fake, swarm={"protect_managers": False})
    drained = await allowed.execute_tool(
        "docker_set_node_availability", {"node": "mgr-1", "availability": "drain"}
    )
    assert drained["ok"] is True
    assert [a["availability"] for _, a in changes(fake)] == ["active", "drain", "drain"]


async def test_protected_services_and_nodes_are_left_alone(fake):
    """A service protected by label or pattern, a node by hostname: denied, nothing sent."""
    fake.add_service("prod-db", 1)
    run = runner(
        fake,
        swarm={
            "protected_services": {"labels": ["tier=front"], "patterns": ["prod-*"]},
            "protected_nodes": {"names": ["wrk-2"]},
        },
    )
    web = await run.execute_tool("docker_restart_service", {"service": "web"})
    db = await run.execute_tool("docker_rollback_service", {"service": "prod-db"})
    node = await run.execute_tool(
        "docker_set_node_availability", {"node": "wrk-2", "availability": "pause"}
    )
    assert web["error"]["rule"] == "swarm.protected_services.labels"
    assert db["error"]["rule"] == "swarm.protected_services.patterns"
    assert node["error"]["rule"] == "swarm.protected_nodes.names"
    assert "Leave this service alone" in web["error"]["message"]
    assert changes(fake) == []


async def test_a_container_protection_does_not_protect_a_service_of_that_name(fake):
    """[protected] names containers; a service called the same is judged by [swarm] only."""
    run = runner(fake, protected={"names": ["web"]})
    done = await run.execute_tool("docker_restart_service", {"service": "web"})
    assert done["ok"] is True


async def test_dry_run_says_what_would_change_and_changes_nothing(fake):
    """A dry run names the replica change, a drain the tasks that would move."""
    run = runner(fake, dry_run=True)
    scale = await run.execute_tool("docker_scale_service", {"service": "web", "replicas": 6})
    drain = await run.execute_tool(
        "docker_set_node_availability", {"node": "wrk-1", "availability": "drain"}
    )
    assert "from 2 to 6 replicas" in scale["result"]["would"]
    assert "2 running task(s) would move" in drain["result"]["would"]
    zero = await run.execute_tool("docker_scale_service", {"service": "web", "replicas": 0})
    assert zero["result"]["approval_required"] is True
    assert changes(fake) == []


async def test_bad_swarm_arguments_reach_no_executor(fake):
    """A negative replica count, an unknown availability, a flag as a name: invalid."""
    run = runner(fake)
    for tool, arguments in (
        ("docker_scale_service", {"service": "web", "replicas": -1}),
        ("docker_scale_service", {"service": "web", "replicas": True}),
        ("docker_set_node_availability", {"node": "wrk-1", "availability": "off"}),
        ("docker_restart_service", {"service": "--all"}),
        ("docker_restart_service", {"service": "web", "timeout": 601}),
    ):
        refused = await run.execute_tool(tool, arguments)
        assert refused["error"]["type"] == "invalid_arguments", (tool, arguments)
    assert fake.calls == []


async def test_missing_targets_are_typed_errors_with_nothing_changed(fake):
    """A service or node that does not exist is reported by type, and nothing is sent."""
    run = runner(fake)
    service = await run.execute_tool("docker_restart_service", {"service": "ghost"})
    node = await run.execute_tool(
        "docker_set_node_availability", {"node": "ghost", "availability": "drain"}
    )
    assert service["error"]["type"] == "service_not_found"
    assert node["error"]["type"] == "node_not_found"
    assert changes(fake) == []


async def test_rate_limits_count_per_service(fake):
    """A limit of one restart per service lets one through and refuses the next."""
    fake.add_service("api", 1)
    run = runner(
        fake, rate_limits=[{"tools": ["docker_restart_service"], "max": 1, "window_s": 600}]
    )
    assert (await run.execute_tool("docker_restart_service", {"service": "web"}))["ok"] is True
    again = await run.execute_tool("docker_restart_service", {"service": "web"})
    assert again["error"]["rule"] == "rate_limits[0]"
    assert (await run.execute_tool("docker_restart_service", {"service": "api"}))["ok"] is True


def test_the_swarm_policy_is_checked_at_load():
    """A bound below zero, max below min or an unknown key is a PolicyError at load."""
    for bad in (
        {"swarm": {"max_replicas": -1}},
        {"swarm": {"min_replicas": 5, "max_replicas": 2}},
        {"swarm": {"protect_manager": True}},
        {"swarm": {"protected_services": {"labels": ["=x"]}}},
    ):
        with pytest.raises(PolicyError):
            policy_from_dict(bad)


def test_swarm_tools_say_what_they_act_on():
    """Mutating swarm tools name their target field and kind; reads have none."""
    assert (
        get_tool("docker_scale_service").target,
        get_tool("docker_scale_service").target_kind,
    ) == (
        "service",
        "service",
    )
    node_tool = get_tool("docker_set_node_availability")
    assert (node_tool.target, node_tool.target_kind) == ("node", "node")
    assert get_tool("docker_list_nodes").target is None


def test_policy_check_shows_the_swarm_rules():
    """`operator policy check` describes [swarm]: bounds, managers and what it protects."""
    from rich.console import Console

    from operator_core.cli.commands.policy import policy_summary, summary_panel

    policy = policy_from_dict(
        {"swarm": {"max_replicas": 5, "protected_nodes": {"names": ["db-node-1"]}}}
    )
    summary = policy_summary(policy, "p.toml")
    assert summary["swarm"]["max_replicas"] == 5
    console = Console(width=400, record=True)
    console.print(summary_panel(summary))
    text = console.export_text()
    assert "scale, roll back or restart to 0..5 replicas (0 needs approval)" in text
    assert "a drain moving a protected service's tasks is denied" in text
    assert "managers never drained or paused" in text
    assert "protected nodes names db-node-1" in text
