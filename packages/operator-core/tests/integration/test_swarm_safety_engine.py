"""Issue 18, items 1, 3 and 6 on the lab (eng1 manager, eng2 and eng3 workers).

1. A rollback and a restart are judged on the spec they produce, read from the manager.
3. A ``--host`` URL does not escape the inventory's host rules; two names of one engine
   share its containers' rate limits (keys are the engine's own ID).
6. A node action is judged under the policy of the host the node is, and a drain by the
   protected services it would move. A drain that ran by mistake is undone in a finally.

Only services and containers made here are touched; no node's role ever changes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import clean_env, json_out, run_operator
from lab_helpers import LabContainers, lab_inventory_path, local_socket
from python_on_whales import DockerClient
from swarm_helpers import ServiceFactory, SwarmLab

from operator_core.docker import DockerActionExecutor
from operator_core.fleet import Fleet, FleetExecutor, Inventory, inventory_from_dict
from operator_core.policy import Policy
from operator_core.runner import ToolRunner

NO_APPROVAL: dict[str, Any] = {"mode": "execute", "approval": {"risks": []}}


@pytest.fixture
def services(swarm_lab: SwarmLab) -> Iterator[ServiceFactory]:
    """Services made for the test, removed with all their containers after it."""
    factory = ServiceFactory(swarm_lab)
    try:
        yield factory
    finally:
        factory.cleanup()


def fleet_runner(lab: Inventory, policy: dict[str, Any]) -> ToolRunner:
    """Return a runner over the lab's inventory (eng3 over ssh) under ``policy``."""
    return ToolRunner(FleetExecutor(Fleet(lab)), policy=Policy(**policy), own_container_id=None)


def _availability(lab: SwarmLab, host: str) -> str:
    """Return the availability of ``host``'s node, read on the manager."""
    node = lab.hostnames[host]
    return lab.docker("node", "inspect", "--format", "{{.Spec.Availability}}", node).strip()


def _restore(lab: SwarmLab, host: str) -> None:
    """Set ``host``'s node active again if a broken rule let it change."""
    if _availability(lab, host) != "active":
        lab.docker("node", "update", "--availability", "active", lab.hostnames[host])


def _replicas(lab: SwarmLab, service: str) -> int:
    """Return the service's desired replicas, read on the manager."""
    shown = lab.docker(
        "service", "inspect", "--format", "{{.Spec.Mode.Replicated.Replicas}}", service
    )
    return int(shown.strip())


async def test_a_rollback_and_a_restart_are_judged_on_the_spec_they_produce(swarm_lab, services):
    """1 replica, scaled by hand to 2: a rollback (back to 1) and a restart (keeps 2) are judged.

    min 2 refuses the rollback (its previous spec has 1); max 1 refuses the restart (it
    keeps 2). Neither changes the service. A previous spec of 0 needs approval: with
    nobody to ask it is refused too.
    """
    name = services.create(1)
    swarm_lab.docker("service", "scale", "--detach", f"{name}=2")
    manager = DockerActionExecutor(DockerClient(host=swarm_lab.manager_socket))
    assert (await manager.inspect_service(name))["previous_replicas"] == 1
    at_least_2 = Policy(**NO_APPROVAL, swarm={"min_replicas": 2})
    rollback = await ToolRunner(manager, policy=at_least_2, own_container_id=None).execute_tool(
        "docker_rollback_service", {"service": name}
    )
    assert rollback["error"]["rule"] == "swarm.min_replicas"
    assert rollback["error"]["details"]["replicas"] == 1
    at_most_1 = Policy(**NO_APPROVAL, swarm={"max_replicas": 1})
    restart = await ToolRunner(manager, policy=at_most_1, own_container_id=None).execute_tool(
        "docker_restart_service", {"service": name}
    )
    assert restart["error"]["rule"] == "swarm.max_replicas"
    assert _replicas(swarm_lab, name) == 2
    update = swarm_lab.docker("service", "inspect", "--format", "{{json .UpdateStatus}}", name)
    assert "rollback" not in update
    stopped = services.create(0)
    swarm_lab.docker("service", "scale", "--detach", f"{stopped}=1")
    to_zero = await ToolRunner(
        manager, policy=Policy(**NO_APPROVAL), own_container_id=None
    ).execute_tool("docker_rollback_service", {"service": stopped})
    assert to_zero["error"]["rule"] == "approval.unavailable"
    assert _replicas(swarm_lab, stopped) == 1


async def test_draining_a_worker_whose_host_is_observe_only_is_denied(lab, swarm_lab):
    """[hosts.eng2] observe: draining eng2's node through the manager is refused.

    The node is matched to eng2 by the node id eng2's engine reports, not by name.
    """
    worker = swarm_lab.workers[0]
    run = fleet_runner(lab, {**NO_APPROVAL, "hosts": {worker: {"mode": "observe"}}})
    try:
        denied = await run.execute_tool(
            "docker_set_node_availability",
            {"node": swarm_lab.hostnames[worker], "availability": "drain"},
        )
        assert denied["error"]["rule"] == "mode.observe"
        assert denied["error"]["details"]["node_host"] == worker
        assert _availability(swarm_lab, worker) == "active"
    finally:
        _restore(swarm_lab, worker)


async def test_a_drain_that_would_move_a_protected_services_task_is_denied(swarm_lab, services):
    """A protected service runs a task on eng3's node: draining that node is refused."""
    worker = swarm_lab.workers[-1]
    node = swarm_lab.hostnames[worker]
    name = services.create(1, "--constraint", f"node.hostname=={node}")
    manager = DockerActionExecutor(DockerClient(host=swarm_lab.manager_socket))
    assert (await manager.scale_service(name, 1, timeout=60))["converged"] is True
    policy = {**NO_APPROVAL, "swarm": {"protected_services": {"names": [name]}}}
    run = ToolRunner(manager, policy=Policy(**policy), own_container_id=None)
    try:
        denied = await run.execute_tool(
            "docker_set_node_availability", {"node": node, "availability": "drain"}
        )
        assert denied["error"]["rule"] == "swarm.drain_protected"
        assert [s["name"] for s in denied["error"]["details"]["services"]] == [name]
        assert _availability(swarm_lab, worker) == "active"
    finally:
        _restore(swarm_lab, worker)


def test_a_host_url_does_not_escape_the_inventorys_host_scope(lab, made, tmp_path: Path):
    """Only swarm=manager hosts may change: eng2 by name is denied, eng2 by URL is refused.

    Before, the URL reached eng2's engine as an engine of no host, and restarted it.
    """
    worker = lab.names[1]
    name = made.run(worker, "sleep", "300")
    started = _started(made, worker, name)
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'mode = "execute"\n[approval]\nrisks = []\n'
        '[scope]\nrequire_host_labels = ["swarm=manager"]\n'
    )
    env = clean_env(tmp_path)
    base = ["--inventory", str(lab_inventory_path()), "--policy", str(policy)]
    by_name = run_operator(env, *base, "--host", worker, "docker", "restart", name, "--json")
    assert by_name.returncode == 3, by_name.stderr
    assert json_out(by_name)["error"]["rule"] == "scope.require_host_labels"
    url = local_socket(lab.host(worker))
    by_url = run_operator(env, *base, "--host", url, "docker", "restart", name, "--json")
    assert by_url.returncode == 2, by_url.stderr
    assert "is a URL, but the inventory" in json_out(by_url)["error"]["message"]
    assert _started(made, worker, name) == started


def _started(made: LabContainers, host: str, name: str) -> str:
    """Return when the container last started (a restart changes it)."""
    done = subprocess.run(
        [*made._docker(host), "inspect", "--format", "{{.State.StartedAt}}", name],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stdout.strip()


async def test_two_names_of_one_engine_share_a_containers_rate_limit(lab, made):
    """eng2 named twice (two spellings of its socket): one restart per container, not two."""
    worker = lab.names[1]
    socket = local_socket(lab.host(worker))
    name = made.run(worker, "sleep", "300")
    inventory = inventory_from_dict(
        {
            "default": "a",
            "hosts": {"a": {"url": socket}, "b": {"url": socket.replace(":///", ":////")}},
        }
    )
    policy = Policy(**NO_APPROVAL, rate_limits=[{"max": 1, "window_s": 600}])
    run = ToolRunner(FleetExecutor(Fleet(inventory)), policy=policy, own_container_id=None)
    args = {"container_id": name, "timeout": 1}
    assert (await run.execute_tool("docker_restart_container", {**args, "host": "a"}))["ok"]
    again = await run.execute_tool("docker_restart_container", {**args, "host": "b"})
    assert again["error"]["rule"] == "rate_limits[0]"
    (record,) = [r for r in run.audit.query() if r.outcome == "ok"]
    assert record.target_key is not None
    assert record.target_key.startswith("engine:")
