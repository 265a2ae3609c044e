"""A node action is judged also under the policy of the host that node is (issue 18, item 6).

Draining n3 through manager n1 must not escape what the policy says of n3 (observe mode,
or outside the host scope): the node is matched to an inventory host by the node id its
engine reports, never by name. A drain is also judged by the services it would move:
a protected service's tasks deny it, or ask a person, as ``[swarm] drain_protected`` says.
"""

from __future__ import annotations

from typing import Any

import pytest

from operator_core.errors import EngineUnreachable
from operator_core.fleet import Fleet, FleetExecutor, inventory_from_dict
from operator_core.policy import policy_from_dict
from operator_core.policy.guard import ApprovalRequest
from operator_core.results import EngineIdentity
from operator_core.runner import ToolRunner
from swarm_tool_fakes import object_id
from tool_fakes import FakeExecutor

NO_APPROVAL: dict[str, Any] = {"mode": "execute", "approval": {"risks": []}}
DRAIN = {"node": "wrk-1", "availability": "drain"}


class Silent(FakeExecutor):
    """A host whose engine does not answer."""

    async def engine_identity(self, *, refresh: bool = False) -> EngineIdentity:
        raise EngineUnreachable("n3 did not answer")


def lab(policy: dict[str, Any], n3: FakeExecutor | None = None) -> tuple[ToolRunner, FakeExecutor]:
    """Return a runner over n1 (manager, staging) and n3 (the engine of node wrk-1, prod)."""
    n1 = FakeExecutor()
    n1.add_service("prod-web", 2)
    n1.add_service("batch", 1)
    n1.nodes[object_id("wrk-1")]["services"] = [object_id("prod-web"), object_id("batch")]
    n1.nodes[object_id("wrk-2")]["services"] = [object_id("batch")]
    n3 = n3 or FakeExecutor()
    for fake, engine, node in ((n1, "E1", "mgr-1"), (n3, "E3", "wrk-1")):
        fake.identity = {**fake.identity, "engine_id": engine, "node_id": object_id(node)}
    inventory = inventory_from_dict(
        {
            "default": "n1",
            "hosts": {
                "n1": {"url": "unix:///n1.sock", "labels": {"env": "staging"}},
                "n3": {"url": "unix:///n3.sock", "labels": {"env": "prod"}},
            },
        }
    )
    hosts = {"n1": n1, "n3": n3}
    fleet = Fleet(
        inventory,
        client_factory=lambda entry: None,
        executor_factory=lambda entry, client: hosts[entry.name],
    )
    run = ToolRunner(FleetExecutor(fleet), policy=policy_from_dict(policy), own_container_id=None)
    return run, n1


def drained(n1: FakeExecutor) -> list[dict[str, Any]]:
    """Return the availability changes the manager was asked for."""
    return [args for name, args in n1.calls if name == "set_node_availability"]


async def test_draining_a_node_whose_host_is_observe_only_is_denied():
    """[hosts.n3] mode = observe: a drain of n3's node through n1 is refused, untouched."""
    run, n1 = lab({**NO_APPROVAL, "hosts": {"n3": {"mode": "observe"}}})
    denied = await run.execute_tool("docker_set_node_availability", {**DRAIN, "host": "n1"})
    error = denied["error"]
    assert error["rule"] == "mode.observe"
    assert (
        f"node 'wrk-1' ({object_id('wrk-1')[:12]}) is the engine of host 'n3'" in (error["message"])
    )
    assert error["details"]["node_host"] == "n3"
    # The key that denied, so a person's hint does not suggest --mode (denied again).
    assert error["details"]["section"] == '[hosts.n3] mode = "observe"'
    assert drained(n1) == []


async def test_draining_a_node_whose_host_is_outside_the_host_scope_is_denied():
    """require_host_labels env=staging: n3 is env=prod, so its node is not drained."""
    run, n1 = lab({**NO_APPROVAL, "scope": {"require_host_labels": ["env=staging"]}})
    denied = await run.execute_tool("docker_set_node_availability", {**DRAIN, "host": "n1"})
    assert denied["error"]["rule"] == "scope.require_host_labels"
    assert "lacks the host label(s) 'env=staging'" in denied["error"]["message"]
    assert drained(n1) == []


async def test_a_node_that_is_no_inventory_host_is_judged_by_the_manager_alone():
    """wrk-2 is no host of the inventory: n3's observe mode does not concern it."""
    run, n1 = lab({**NO_APPROVAL, "hosts": {"n3": {"mode": "observe"}}})
    done = await run.execute_tool(
        "docker_set_node_availability", {"node": "wrk-2", "availability": "pause"}
    )
    assert done["ok"] is True, done
    assert drained(n1) == [{"node": object_id("wrk-2"), "availability": "pause"}]


@pytest.mark.parametrize(("n3_policy", "ok"), [({"mode": "observe"}, False), ({}, True)])
async def test_a_host_that_does_not_answer_may_be_the_node(n3_policy, ok):
    """n3 cannot say which node it is: the drain is judged as if it were n3's, to be safe."""
    policy: dict[str, Any] = {**NO_APPROVAL, "hosts": {"n3": n3_policy}}
    run, n1 = lab(policy, n3=Silent())
    result = await run.execute_tool(
        "docker_set_node_availability", {"node": "wrk-1", "availability": "pause"}
    )
    assert result["ok"] is ok, result
    assert len(drained(n1)) == (1 if ok else 0)
    if not ok:
        assert "may be (it did not answer) the engine of host 'n3'" in result["error"]["message"]


async def test_a_drain_that_would_move_a_protected_services_tasks_is_denied():
    """prod-* is protected: wrk-1 runs a prod-web task, so draining it is refused."""
    policy = {**NO_APPROVAL, "swarm": {"protected_services": {"patterns": ["prod-*"]}}}
    run, n1 = lab(policy)
    denied = await run.execute_tool("docker_set_node_availability", DRAIN)
    error = denied["error"]
    assert error["rule"] == "swarm.drain_protected"
    assert "would move the tasks of service 'prod-web'" in error["message"]
    assert [s["name"] for s in error["details"]["services"]] == ["prod-web"]
    assert drained(n1) == []
    paused = await run.execute_tool(
        "docker_set_node_availability", {"node": "wrk-1", "availability": "pause"}
    )
    assert paused["ok"] is True  # a pause moves nothing
    other = await run.execute_tool(
        "docker_set_node_availability", {"node": "wrk-2", "availability": "drain"}
    )
    assert other["ok"] is True  # wrk-2 runs only batch


async def test_drain_protected_approval_asks_a_person_instead():
    """drain_protected = "approval": the same drain goes to the approver (here: declined)."""
    policy = {
        **NO_APPROVAL,
        "swarm": {"drain_protected": "approval", "protected_services": {"names": ["prod-web"]}},
    }
    run, n1 = lab(policy)
    asked: list[ApprovalRequest] = []

    async def no(request: ApprovalRequest) -> bool:
        asked.append(request)
        return False

    run.guard.approver = no
    denied = await run.execute_tool("docker_set_node_availability", DRAIN)
    assert denied["error"]["rule"] == "approval.rejected"
    assert [r.tool for r in asked] == ["docker_set_node_availability"]
    assert drained(n1) == []
