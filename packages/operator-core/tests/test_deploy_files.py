"""The deploy files (deploy/): their policies judged by the runner, and the shape of the stack.

The deploy directory lives at the repository's root, beside the package: from an sdist
(which ships the tests but not deploy/) these tests skip. The stack and the image are run
for real by tests/integration/test_stack_engine.py and test_image_engine.py.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from operator_core.audit import MemoryAuditSink
from operator_core.fleet import load_inventory
from operator_core.policy import load_policy
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"

pytestmark = pytest.mark.skipif(not DEPLOY.is_dir(), reason="no deploy/ beside the package")


def _yaml(name: str) -> Any:
    """Return a deploy YAML file, parsed."""
    yaml = pytest.importorskip("yaml")
    return yaml.safe_load((DEPLOY / name).read_text())


def _runner(fake: FakeExecutor, policy_file: str) -> tuple[ToolRunner, list[Any]]:
    """Return a runner under a deploy policy, and the approval requests it makes."""
    asked: list[Any] = []

    async def approver(request: Any) -> bool:
        asked.append(request)
        return False

    run = ToolRunner(
        fake,
        policy=load_policy(DEPLOY / policy_file),
        audit=MemoryAuditSink(),
        approver=approver,
        own_container_id=None,
    )
    return run, asked


async def test_the_unattended_watcher_changes_only_opted_in_containers_unasked():
    """watch-policy.toml: any container that did not opt in is refused, nobody is asked.

    Its heal restarts are pre-approved (it runs with nobody to ask), and it heals only
    containers its scope lets it change.
    """
    fake = FakeExecutor()
    fake.add("opted-in", labels={"org.operator-core.autoheal": "true"})
    fake.add("other")
    run, asked = _runner(fake, "watch-policy.toml")
    for tool in ("docker_restart_container", "docker_stop_container"):
        refused = await run.execute_tool(tool, {"container_id": "other"})
        assert refused["error"]["rule"] == "scope.require_labels"
    assert asked == []
    policy = load_policy(DEPLOY / "watch-policy.toml")
    assert policy.heal.restart_unhealthy is True
    assert policy.heal.preapproved is True
    assert set(policy.heal.require_labels) <= set(policy.scope.require_labels)


async def test_the_mcp_servers_policy_asks_a_person_before_a_restart():
    """policy.toml (the MCP server's): a restart is high risk and waits for approval."""
    fake = FakeExecutor("web")
    run, asked = _runner(fake, "policy.toml")
    envelope = await run.execute_tool("docker_restart_container", {"container_id": "web"})
    assert envelope["ok"] is False
    assert len(asked) == 1


def test_the_node_inventory_names_the_node_it_runs_on(tmp_path):
    """node-inventory.toml, as Swarm renders it on lab-eng2: one host named lab-eng2."""
    text = (DEPLOY / "node-inventory.toml").read_text()
    rendered = tmp_path / "node.toml"
    rendered.write_text(text.replace('{{env "OPERATOR_NODE"}}', "lab-eng2"))
    inventory = load_inventory(rendered)
    assert inventory.names == ("lab-eng2",)
    assert inventory.host("lab-eng2").url == "unix:///var/run/docker.sock"
    stack = _yaml("stack.yaml")
    assert stack["services"]["watch"]["environment"]["OPERATOR_NODE"] == "{{.Node.Hostname}}"


def _mounts(service: dict[str, Any]) -> dict[str, str]:
    """Return a stack service's mounts as target -> source."""
    return {m["target"]: m["source"] for m in service["volumes"]}


def test_the_stack_has_a_watcher_per_node_on_its_own_socket_and_no_ingress_port():
    """One watcher per node (global) on the node's socket; the MCP server on a manager.

    Every published port is in host mode with DNS round robin (no IPVS needed), and the
    audit trail and history are on a volume.
    """
    services = _yaml("stack.yaml")["services"]
    watch, mcp = services["watch"], services["mcp"]
    assert watch["deploy"]["mode"] == "global"
    for service in (watch, mcp):
        mounts = _mounts(service)
        assert mounts["/var/run/docker.sock"] == "${OPERATOR_DOCKER_SOCKET:-/var/run/docker.sock}"
        assert mounts["/var/lib/operator-core"] == "state"
    assert "node.role == manager" in mcp["deploy"]["placement"]["constraints"]
    assert mcp["deploy"]["endpoint_mode"] == "dnsrr"
    for service in services.values():
        assert all(port["mode"] == "host" for port in service.get("ports", []))
    assert "watch" in watch["command"]
    assert "--heal" in watch["command"]


def test_compose_runs_both_with_read_only_policies_a_state_volume_and_restarts():
    """compose.yaml: restart unless-stopped, policies read-only, state on a named volume."""
    compose = _yaml("compose.yaml")
    for name, service in compose["services"].items():
        assert service["restart"] == "unless-stopped", name
        volumes = service["volumes"]
        assert "state:/var/lib/operator-core" in volumes
        assert any(v.endswith(":/etc/operator-core/policy.toml:ro") for v in volumes), name
    assert (
        "./watch-policy.toml:/etc/operator-core/policy.toml:ro"
        in compose["services"]["watch"]["volumes"]
    )
    assert "state" in compose["volumes"]
    for service in compose["services"].values():
        socket = "${OPERATOR_DOCKER_SOCKET:-/var/run/docker.sock}:/var/run/docker.sock"
        assert socket in service["volumes"]
    assert compose["services"]["mcp"]["ports"] == ["127.0.0.1:8765:8765"]
