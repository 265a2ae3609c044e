"""``operator`` over the lab's fleet: hosts, a fleet-wide ps, --host, audit by host, MCP."""

from __future__ import annotations

import sys
from pathlib import Path

import mcp_types as types
import pytest
from cli_helpers import clean_env, json_out, run_operator
from lab_helpers import SilentServer, lab_inventory_path
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from operator_core.testing import unique_name

WAIVE_APPROVAL = 'mode = "execute"\n[approval]\nrisks = []\n'


@pytest.fixture
def with_dead(tmp_path: Path) -> Path:
    """The lab's inventory plus a host whose socket refuses: a dead engine."""
    inventory = tmp_path / "inventory.toml"
    dead = tmp_path / "dead.sock"
    inventory.write_text(
        lab_inventory_path().read_text()
        + f'\n[hosts.edge-dead]\nurl = "unix://{dead}"\ndeadline_s = 5\n'
    )
    return inventory


def test_hosts_shows_each_host_and_says_which_did_not_answer(lab, with_dead, tmp_path):
    """Every lab host is up with its engine; the dead one is listed; one answered: exit 0."""
    env = clean_env(tmp_path)
    table = run_operator(env, "--inventory", str(with_dead), "hosts")
    assert table.returncode == 0, table.stderr
    for name in lab.names:
        assert name in table.stdout
    assert "unreachable edge-dead" in table.stderr
    report = json_out(run_operator(env, "--inventory", str(with_dead), "hosts", "--json"))
    states = {entry["host"]: entry["reachable"] for entry in report["result"]["hosts"]}
    assert states == {**dict.fromkeys(lab.names, True), "edge-dead": False}


def test_a_fleet_wide_ps_has_a_host_column_and_lists_the_dead_host_below(
    lab, made, with_dead, tmp_path
):
    """One name on every lab host is one row per host; the dead host is said; exit 0."""
    name = unique_name("fleet")
    for host in lab.names:
        made.run(host, "sleep", "300", name=name)
    env = clean_env(tmp_path, COLUMNS="200")
    shown = run_operator(env, "--inventory", str(with_dead), "docker", "ps", "--name", name)
    assert shown.returncode == 0, shown.stderr
    assert "HOST" in shown.stdout.splitlines()[0]
    rows = [line.split() for line in shown.stdout.splitlines()[1:] if name in line]
    assert sorted(row[-1] for row in rows) == sorted(lab.names)
    assert "unreachable edge-dead" in shown.stderr


def test_no_host_answering_is_exit_6(tmp_path):
    """A fleet whose only host is dead: nothing answered, so the listing failed."""
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(f'[hosts.gone]\nurl = "unix://{tmp_path / "gone.sock"}"\n')
    shown = run_operator(clean_env(tmp_path), "--inventory", str(inventory), "docker", "ps")
    assert shown.returncode == 6, shown.stderr


def test_a_hung_host_costs_its_deadline_and_is_reported(lab, tmp_path):
    """A socket that accepts and never answers is a timeout for that host alone."""
    hung = SilentServer(tmp_path / "hung.sock")
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(
        lab_inventory_path().read_text() + f'\n[hosts.hung]\nurl = "{hung.url}"\ndeadline_s = 3\n'
    )
    try:
        shown = run_operator(
            clean_env(tmp_path), "--inventory", str(inventory), "docker", "ps", "--json"
        )
    finally:
        hung.close()
    result = json_out(shown)["result"]
    assert [(e["host"], e["type"]) for e in result["host_errors"]] == [("hung", "timeout")]


def test_host_names_one_host_for_an_action_and_the_audit_trail_keeps_it(lab, made, tmp_path):
    """--host eng2 stops eng2's container only; audit list --host eng2 shows that call."""
    name = unique_name("fleet")
    other, target = lab.names[0], lab.names[1]
    for host in (other, target):
        made.run(host, "sleep", "300", name=name)
    policy = tmp_path / "policy.toml"
    policy.write_text(WAIVE_APPROVAL)
    env = clean_env(tmp_path)
    inventory = str(lab_inventory_path())
    base = ["--inventory", inventory, "--policy", str(policy)]
    stopped = run_operator(env, *base, "--host", target, "docker", "stop", "-t", "1", name)
    assert stopped.returncode == 0, stopped.stderr
    assert made.state(target, name) == "exited"
    assert made.state(other, name) == "running"
    records = json_out(run_operator(env, "audit", "list", "--host", target, "--json"))
    assert [(r["tool"], r["host"]) for r in records["result"]["records"]] == [
        ("docker_stop_container", target)
    ]
    assert (
        json_out(run_operator(env, "audit", "list", "--host", other, "--json"))["result"]["records"]
        == []
    )


def test_a_bad_inventory_and_an_unknown_host_are_exit_2_with_the_fix(lab, tmp_path):
    """A malformed file names the fix; --host outside the inventory names the hosts."""
    env = clean_env(tmp_path)
    broken = tmp_path / "broken.toml"
    broken.write_text('[hosts.a]\nurl = "http://a"\n')
    bad = run_operator(env, "--inventory", str(broken), "docker", "ps")
    assert bad.returncode == 2
    assert "must start with unix://" in bad.stderr
    unknown = run_operator(
        env, "--inventory", str(lab_inventory_path()), "--host", "nowhere", "docker", "ps"
    )
    assert unknown.returncode == 2
    assert lab.names[0] in unknown.stderr


async def test_mcp_with_an_inventory_serves_host_and_acts_on_that_host(lab, made, tmp_path):
    """`operator mcp --inventory` lists tools with the host enum and runs them per host."""
    name = made.run(lab.names[-1], "sleep", "300")
    env = clean_env(tmp_path)
    passed = {k: v for k, v in env.items() if k.startswith(("OPERATOR_", "XDG_", "DOCKER_"))}
    server = StdioServerParameters(
        command=sys.executable,
        args=["-m", "operator_core.cli", "mcp", "--inventory", str(lab_inventory_path())],
        env=passed,
    )
    client_info = types.Implementation(name="pytest-client", version="1.0")
    async with Client(server, client_info=client_info) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        inspected = await client.call_tool(
            "docker_inspect_container", {"container_id": name, "host": lab.names[-1]}
        )
        elsewhere = await client.call_tool("docker_inspect_container", {"container_id": name})
    assert "docker_stop_container" not in tools  # observe mode: not offered (issue 21)
    host = tools["docker_inspect_container"].input_schema["properties"]["host"]
    assert host["enum"] == list(lab.names)
    assert inspected.is_error is False, inspected.content
    assert inspected.structured_content is not None
    assert inspected.structured_content["result"]["host"] == lab.names[-1]
    assert elsewhere.structured_content is not None
    assert elsewhere.structured_content["error"]["type"] == "container_not_found"


def test_did_you_mean_reads_the_names_on_the_host_asked(lab, made, tmp_path):
    """A typo on --host eng2 is answered with the close name on eng2, not the local engine's."""
    target = lab.names[1]
    name = made.run(target, "sleep", "300", name=unique_name("fleet"))
    typo = name[:-1] + ("x" if name[-1] != "x" else "y")
    shown = run_operator(
        clean_env(tmp_path, COLUMNS="200"),
        "--inventory",
        str(lab_inventory_path()),
        "--host",
        target,
        "docker",
        "inspect",
        typo,
    )
    assert shown.returncode == 4, shown.stderr
    assert name in shown.stderr
