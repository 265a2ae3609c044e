"""deploy/stack.yaml on the lab's 3-node swarm (issue 17 section 2).

One stack per module run (a unique name), deployed once and removed in the end: a watcher
on every node watching and healing its own engine through its node's socket, the MCP
server on the manager. The lab's engines share this machine's file system; the stack
mounts each node's own socket by the node's hostname (see stack_helpers). A second compose
file adds an alert receiver on the first worker, on the stack's network, and gives the
watchers a webhook sink pointing at it (stack_helpers.alert_overlay).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest
from image_helpers import require_image, wait_for_health
from stack_helpers import (
    Stack,
    alert_overlay,
    load_image_everywhere,
    node_links_problem,
    received_alerts,
)
from swarm_helpers import SwarmLab, find_swarm_lab

from operator_core.testing import HANDLES_SIGTERM, TEST_IMAGE, TEST_LABEL, unique_name

#: The opt-in label of deploy/policy.toml's [heal] section.
OPT_IN = "org.operator-core.autoheal=true"


@pytest.fixture(scope="module")
def swarm_lab(request: pytest.FixtureRequest) -> SwarmLab:
    """The lab as a 3-node swarm with the operator's image on every node."""
    require_image(request.config)
    lab, problem = find_swarm_lab()
    problem = problem or (node_links_problem(lab) if lab is not None else problem)
    if lab is None or problem:
        if request.config.getoption("--require-engine"):
            pytest.fail(f"swarm lab required: {problem}")
        pytest.skip(problem)
    load_image_everywhere(lab)
    return lab


@pytest.fixture(scope="module")
def stack(swarm_lab: SwarmLab, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """deploy/stack.yaml and the alert receiver, deployed once, a watcher running on every node."""
    node = swarm_lab.hostnames[swarm_lab.workers[0]]
    overlay = alert_overlay(tmp_path_factory.mktemp("stack"), node, TEST_IMAGE)
    deployed = Stack(swarm_lab, overlays=[overlay])
    try:
        deployed.deploy()
        for host in swarm_lab.sockets:
            deployed.wait_for_watcher(host)
        yield deployed
    finally:
        deployed.remove()


@pytest.fixture
def worker_containers(swarm_lab: SwarmLab) -> Iterator[tuple[str, list[str]]]:
    """(a worker, the names of test containers made there), removed after the test."""
    host = swarm_lab.workers[0]
    names: list[str] = []
    try:
        yield host, names
    finally:
        if names:
            swarm_lab.docker("rm", "-f", "-v", *names, host=host)


def _engine_id(docker: list[str]) -> str:
    """Return the ID an engine gives in ``docker info``."""
    done = subprocess.run(
        [*docker, "info", "--format", "{{.ID}}"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_each_watcher_sees_its_own_nodes_engine_and_the_host_engine_is_untouched(stack, swarm_lab):
    """Inside every node's watcher, the mounted socket is that node's engine, not the host's.

    The engine ID seen through the watcher's socket is its node's; none of the stack's
    containers, volumes or events are on the host's own engine.
    """
    host_id = _engine_id(["docker"])
    seen = {}
    for host, socket in swarm_lab.sockets.items():
        watcher = stack.wait_for_watcher(host)
        seen[host] = _engine_id(["docker", "-H", socket, "exec", watcher, "docker"])
        assert seen[host] == _engine_id(["docker", "-H", socket])
    assert host_id not in seen.values()
    assert len(set(seen.values())) == len(swarm_lab.sockets)
    label = f"label=com.docker.stack.namespace={stack.name}"
    for kind in ("container", "volume"):
        listed = subprocess.run(
            ["docker", kind, "ls", *(["-a"] * (kind == "container")), "-q", "--filter", label],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        assert listed.stdout.strip() == "", kind
    events = subprocess.run(
        ["docker", "events", "--since", stack.deployed_at, "--until", "0s", "--filter", label],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert events.stdout.strip() == ""


def _audit(swarm_lab: SwarmLab, host: str, watcher: str, container: str) -> list[dict[str, Any]]:
    """Return the audit records of ``container`` kept by the watcher on ``host``."""
    done = subprocess.run(
        ["docker", "-H", swarm_lab.sockets[host], "exec", watcher,
         "operator", "audit", "list", "--json", "--tool", "docker_restart_container"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (done.stdout[-500:], done.stderr[-500:])
    records = json.loads(done.stdout)["result"]["records"]
    return [r for r in records if r["container_name"] == container]


def _poll(what: str, check: Any, within_s: float = 180) -> Any:
    """Return ``check()``'s first truthy value, polling; fail naming ``what`` past the bound."""
    until = time.monotonic() + within_s
    while time.monotonic() < until:
        found = check()
        if found:
            return found
        time.sleep(0.5)
    pytest.fail(f"{what}: not within {within_s}s")


def test_a_worker_heals_its_own_unhealthy_container_and_the_record_names_the_node(
    stack, swarm_lab, worker_containers
):
    """An opted-in container on a worker turns unhealthy: that worker's watcher restarts it.

    Its health flag is on a tmpfs, so the restart clears it and the container is healthy
    again. The restart is in that worker's audit trail (the watcher's volume), as the
    heal's actor, with the node's hostname as the record's host.
    """
    host, names = worker_containers
    name = unique_name("opc-heal")
    names.append(name)
    docker = ["docker", "-H", swarm_lab.sockets[host]]
    swarm_lab.docker(
        "run", "-d", "--name", name, "--label", f"{TEST_LABEL}=1", "--label", OPT_IN,
        "--tmpfs", "/flags", "--health-cmd", "test ! -e /flags/bad",
        "--health-interval", "1s", "--health-retries", "1", "--stop-timeout", "2",
        TEST_IMAGE, *HANDLES_SIGTERM, host=host,
    )  # fmt: skip
    wait_for_health(name, "healthy", docker=docker)
    swarm_lab.docker("exec", name, "touch", "/flags/bad", host=host)
    wait_for_health(name, "unhealthy", docker=docker)
    turned = time.monotonic()
    healed_in = wait_for_health(name, "healthy", docker=docker, within_s=180)
    print(f"\nstack heal: unhealthy -> healthy in {healed_in:.1f} s")
    assert time.monotonic() - turned >= healed_in
    watcher = stack.wait_for_watcher(host)
    records = _poll(
        "the heal's audit record",
        lambda: [
            r
            for r in _audit(swarm_lab, host, watcher, name)
            if r["tool"] == "docker_restart_container" and r["outcome"] == "ok"
        ],
    )
    assert records[0]["host"] == swarm_lab.hostnames[host]
    assert records[0]["actor"] == "operator:watch-heal"
    assert records[0]["container_name"] == name


def _started(docker: list[str], container: str) -> datetime:
    """Return when ``container`` last started."""
    done = subprocess.run(
        [*docker, "inspect", "--format", "{{.State.StartedAt}}", container],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return datetime.fromisoformat(done.stdout.strip().replace("Z", "+00:00")[:26] + "+00:00")


def _died(swarm_lab: SwarmLab, host: str, watcher: str, name: str) -> list[dict[str, Any]]:
    """Return the `died` incidents of container ``name`` in ``watcher``'s output."""
    logs = swarm_lab.docker("logs", watcher, host=host)
    items = [json.loads(line) for line in logs.splitlines() if line.startswith("{")]
    return [i for i in items if i.get("kind") == "died" and i.get("name") == name]


def _alerted(stack: Stack, host: str, name: str) -> list[tuple[float, dict[str, Any]]]:
    """Return the alerts naming container ``name`` the receiver on ``host`` got, with when."""
    return [(when, a) for when, a in received_alerts(stack, host) if a.get("name") == name]


def test_a_death_while_the_watcher_is_down_is_reported_by_its_successor(
    stack, swarm_lab, worker_containers
):
    """The watcher on a worker is killed; a container dies; Swarm's new watcher reports it.

    The death happened before the new watcher started (its start is after the death);
    its output holds a `died` incident naming the container and the node: it resumed
    from the history its predecessor recorded on the node's volume. The alert sink in the
    stack (a webhook to a receiver on the stack's network) is sent that death exactly once,
    after the new watcher started, naming the container, its ID and the node.
    """
    host, names = worker_containers
    docker = ["docker", "-H", swarm_lab.sockets[host]]
    old = stack.wait_for_watcher(host)
    # A watcher that has been running has a resume cursor (its newest recorded event):
    # one death it reports first gives this young one a cursor as well.
    primer = unique_name("opc-primer")
    names.append(primer)
    swarm_lab.docker(
        "run", "-d", "--name", primer, "--label", f"{TEST_LABEL}=1", TEST_IMAGE,
        "sh", "-c", "exit 4", host=host,
    )  # fmt: skip
    _poll("the primer's death", lambda: _died(swarm_lab, host, old, primer))
    name = unique_name("opc-dies")
    names.append(name)
    killed = time.monotonic()
    swarm_lab.docker("kill", old, host=host)
    swarm_lab.docker(
        "run", "-d", "--name", name, "--label", f"{TEST_LABEL}=1", TEST_IMAGE, "sh", "-c", "exit 3",
        host=host,
    )  # fmt: skip
    new = stack.wait_for_watcher(host, not_id=old)
    finished = subprocess.run(
        [*docker, "wait", name], capture_output=True, text=True, timeout=60, check=True
    )
    assert finished.stdout.strip() == "3"
    died_at = subprocess.run(
        [*docker, "inspect", "--format", "{{.State.FinishedAt}}", name],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.strip()  # fmt: skip
    assert _started(docker, new).isoformat() > died_at[:26]

    incidents = _poll("the replayed death", lambda: _died(swarm_lab, host, new, name))
    print(f"\nstack replay: watcher killed -> death reported in {time.monotonic() - killed:.1f} s")
    assert incidents[0]["host"] == swarm_lab.hostnames[host]
    assert incidents[0]["exit_code"] == 3

    _poll("the replayed death's alert", lambda: _alerted(stack, host, name))
    print(f"stack replay: watcher killed -> alert received in {time.monotonic() - killed:.1f} s")
    # The sink sends in order: once a later death's alert is in, a second post of the
    # replayed one (a retry, a second replay) would be in too.
    later = unique_name("opc-later")
    names.append(later)
    swarm_lab.docker(
        "run", "-d", "--name", later, "--label", f"{TEST_LABEL}=1", TEST_IMAGE,
        "sh", "-c", "exit 5", host=host,
    )  # fmt: skip
    _poll("a later death's alert", lambda: _alerted(stack, host, later))
    sent = _alerted(stack, host, name)
    assert len(sent) == 1, sent
    when, alert = sent[0]
    assert (alert["kind"], alert["status"], alert["exit_code"]) == ("died", "firing", 3)
    assert alert["host"] == swarm_lab.hostnames[host]
    assert alert["container_id"] == incidents[0]["container_id"]
    assert when >= int(_started(docker, new).timestamp())  # the receiver's clock: whole seconds


def test_the_mcp_server_runs_on_the_manager_and_its_token_check_passes(stack, swarm_lab):
    """The stack's MCP server runs on the manager and turns healthy.

    Its health check is an MCP initialize with the token of the stack's secret, over
    --bind 0.0.0.0:8765 (needs the HTTP server's --bind and token, issue 17 section 4).
    """

    def healthy() -> list[str]:
        running = stack.containers("mcp", swarm_lab.manager)
        return [c["ID"] for c in running if "(healthy)" in c["Status"]]

    assert _poll("a healthy MCP server on the manager", healthy)
    for host in swarm_lab.workers:
        assert stack.containers("mcp", host, running=False) == []
