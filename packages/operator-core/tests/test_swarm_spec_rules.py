"""A call that changes a service's spec is judged on the spec it will produce (issue 18, 1).

A rollback gives back the previous spec's replicas, read from the engine before acting;
a restart keeps the replicas the service has. Out of ``[swarm]``'s bounds is the same
denial a scale gets; back to 0 replicas needs approval as a scale to 0 does.
"""

from __future__ import annotations

from typing import Any

import pytest

from operator_core.docker.swarm._snapshot import service_snap
from operator_core.policy import Policy
from operator_core.policy.guard import ApprovalRequest
from operator_core.runner import ToolRunner
from swarm_tool_fakes import object_id
from tool_fakes import FakeExecutor

BOUNDS = {"min_replicas": 1, "max_replicas": 5}


def runner(fake: FakeExecutor, approver: Any = None, **policy: Any) -> ToolRunner:
    """Return a runner in execute mode, no approval by risk, ``policy`` added."""
    settings: dict[str, Any] = {"mode": "execute", "approval": {"risks": []}, **policy}
    return ToolRunner(fake, policy=Policy(**settings), approver=approver, own_container_id=None)


def changed(fake: FakeExecutor) -> list[str]:
    """Return the spec changes the executor was asked for."""
    return [
        name for name, _ in fake.calls if name.endswith(("_service",)) and "inspect" not in name
    ]


@pytest.mark.parametrize(
    ("previous", "rule", "words"),
    [
        (0, "swarm.min_replicas", "below the policy's min_replicas (1)"),
        (8, "swarm.max_replicas", "above the policy's max_replicas (5)"),
    ],
)
async def test_a_rollback_to_a_previous_spec_out_of_bounds_is_denied(previous, rule, words):
    """Service web has 3 replicas, a previous spec of 0 (or 8): no rollback, nothing touched."""
    fake = FakeExecutor()
    fake.add_service("web", 3, previous=previous)
    run = runner(fake, swarm=BOUNDS)
    denied = await run.execute_tool("docker_rollback_service", {"service": "web"})
    assert denied["error"]["rule"] == rule
    assert denied["error"]["message"] == (
        f"rolling back service 'web' ({object_id('web')[:12]}) would give it {previous} "
        f"replicas, which is {words}; it was not rolled back"
    )
    assert denied["error"]["details"]["replicas"] == previous
    assert denied["error"]["details"]["replicas_now"] == 3
    assert "rollback_service" not in changed(fake)


async def test_a_rollback_within_bounds_runs():
    """A previous spec of 2, within 1..5: the rollback runs."""
    fake = FakeExecutor()
    fake.add_service("web", 3, previous=2)
    done = await runner(fake, swarm=BOUNDS).execute_tool(
        "docker_rollback_service", {"service": "web"}
    )
    assert done["ok"] is True
    assert fake.services[object_id("web")]["replicas"] == 2


async def test_a_rollback_to_zero_replicas_needs_approval():
    """A rollback to a previous spec of 0 stops the service: a person is asked (min 0)."""
    fake = FakeExecutor()
    fake.add_service("web", 3, previous=0)
    asked: list[ApprovalRequest] = []

    async def no(request: ApprovalRequest) -> bool:
        asked.append(request)
        return False

    denied = await runner(fake, approver=no).execute_tool(
        "docker_rollback_service", {"service": "web"}
    )
    assert denied["error"]["rule"] == "approval.rejected"
    assert [r.tool for r in asked] == ["docker_rollback_service"]
    assert "rollback_service" not in changed(fake)
    fake.add_service("api", 3, previous=1)  # back to 1: no question
    assert (await runner(fake, approver=no).execute_tool(
        "docker_rollback_service", {"service": "api"}
    ))["ok"] is True  # fmt: skip


async def test_a_restart_of_a_service_already_out_of_bounds_is_denied():
    """A person scaled web to 8 by hand (max 5): a restart would keep 8, so it is refused."""
    fake = FakeExecutor()
    fake.add_service("web", 8)
    denied = await runner(fake, swarm=BOUNDS).execute_tool(
        "docker_restart_service", {"service": "web"}
    )
    assert denied["error"]["rule"] == "swarm.max_replicas"
    assert "restarting service 'web'" in denied["error"]["message"]
    assert "restart_service" not in changed(fake)


async def test_the_previous_spec_is_read_again_after_approval():
    """The previous spec changes while a person approves: the rollback is judged again, refused."""
    fake = FakeExecutor()
    fake.add_service("web", 3, previous=2)

    async def yes_but_meanwhile(request: ApprovalRequest) -> bool:
        fake.services[object_id("web")]["previous"] = 9  # somebody updates it meanwhile
        return True

    run = runner(
        fake,
        approver=yes_but_meanwhile,
        swarm=BOUNDS,
        approval={"risks": [], "tools": {"docker_rollback_service": True}},
    )
    denied = await run.execute_tool("docker_rollback_service", {"service": "web"})
    assert denied["error"]["rule"] == "swarm.max_replicas"
    assert "rollback_service" not in changed(fake)


def test_the_previous_specs_replicas_are_read_from_the_engines_inspect():
    """PreviousSpec's replicated count is kept; a global one, or none, gives None."""

    def raw(previous: dict[str, Any] | None) -> dict[str, Any]:
        data: dict[str, Any] = {"ID": "x", "Spec": {"Mode": {"Replicated": {"Replicas": 3}}}}
        if previous is not None:
            data["PreviousSpec"] = {"Mode": previous}
        return data

    assert service_snap(raw({"Replicated": {"Replicas": 8}})).previous_replicas == 8
    assert service_snap(raw({"Replicated": {"Replicas": 0}})).previous_replicas == 0
    assert service_snap(raw({"Global": {}})).previous_replicas is None
    assert service_snap(raw(None)).previous_replicas is None
    assert service_snap(raw(None)).has_previous_spec is False


async def test_a_dry_run_of_a_rollback_says_the_replicas_it_would_leave():
    """The dry run names the previous spec's count, read from the engine, and changes nothing."""
    fake = FakeExecutor()
    fake.add_service("web", 3, previous=2)
    run = runner(fake, dry_run=True)
    would = (await run.execute_tool("docker_rollback_service", {"service": "web"}))["result"]
    assert "leaving it 2 replica(s)" in would["would"]
    assert "rollback_service" not in changed(fake)
