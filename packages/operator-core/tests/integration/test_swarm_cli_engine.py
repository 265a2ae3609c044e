"""``operator swarm`` on the lab's swarm, run as a person runs it (a subprocess)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cli_helpers import clean_env, json_out, run_operator
from swarm_helpers import ServiceFactory, SwarmLab


@pytest.fixture
def services(swarm_lab: SwarmLab) -> Iterator[ServiceFactory]:
    """Services made for the test, removed with all their containers after it."""
    factory = ServiceFactory(swarm_lab)
    try:
        yield factory
    finally:
        factory.cleanup()


def test_scale_then_tasks_show_a_service_spread_over_the_three_nodes(swarm_lab, services, tmp_path):
    """`swarm scale` converges (exit 0); `swarm tasks` lists a task on every node."""
    env = clean_env(tmp_path, COLUMNS="100")
    host = ["--host", swarm_lab.manager_socket]
    name = services.create(1)
    scaled = run_operator(env, *host, "--mode", "execute", "swarm", "scale", name, "6")
    assert scaled.returncode == 0, scaled.stderr
    assert "1 → 6 replicas, 6 running" in scaled.stdout
    shown = run_operator(env, *host, "swarm", "tasks", name)
    assert shown.returncode == 0, shown.stderr
    for hostname in swarm_lab.hostnames.values():
        assert hostname in shown.stdout
    assert shown.stdout.count("running") >= 12  # desired and current state of six tasks
    listed = json_out(run_operator(env, *host, "swarm", "services", "--name", name, "--json"))
    assert listed["result"]["services"][0]["replicas_running"] == 6


def test_draining_the_manager_is_denied_with_exit_3(swarm_lab, tmp_path):
    """The default policy protects managers: `swarm drain` on one exits 3 and says why."""
    env = clean_env(tmp_path)
    manager = swarm_lab.hostnames[swarm_lab.manager]
    host = ["--host", swarm_lab.manager_socket, "--mode", "execute", "--yes"]
    denied = run_operator(env, *host, "swarm", "drain", manager)
    assert denied.returncode == 3, denied.stdout + denied.stderr
    assert "manager" in denied.stderr
    missing = run_operator(env, "--host", swarm_lab.manager_socket, "swarm", "tasks", "opc-nope")
    assert missing.returncode == 4
