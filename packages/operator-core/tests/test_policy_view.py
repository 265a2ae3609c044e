"""`operator policy check|show`: every section in force, one host's merged view, the fleet."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from operator_core.cli import app
from operator_core.cli.app import ERR, OUT
from operator_core.policy import Guard
from operator_core.policy.target import TargetFacts
from operator_core.tools import TOOLS

POLICY = """\
mode = "execute"
allow_alias_sharing = true

[protected]
names = ["db"]

[scope]
require_host_labels = ["env=lab"]

[hosts.eng1]
protected = { names = ["registry"] }

[hosts.eng2]
mode = "observe"
protected = { names = ["gateway"], patterns = ["edge-*"] }

[[rate_limits]]
tools = ["docker_restart_container"]
max = 3
window_s = 600

[swarm]
max_replicas = 10
protected_services = { names = ["ingress-api"] }

[heal]
restart_unhealthy = true
max_restarts = 2

[alerts.oncall]
kind = "slack"
url = "https://hooks.slack.example/services/T0/B0/s3cr3tpath"
"""

INVENTORY = """\
default = "eng1"
[hosts.eng1]
url = "unix:///nonexistent/eng1.sock"
labels = { env = "lab" }
[hosts.eng2]
url = "unix:///nonexistent/eng2.sock"
labels = { env = "lab" }
[hosts.eng3]
url = "unix:///nonexistent/eng3.sock"
labels = { env = "prod" }
"""


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``operator ARGS`` at 80 columns with a private audit file, no user policy or fleet."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("OPERATOR_POLICY", "OPERATOR_MODE", "OPERATOR_INVENTORY"):
        monkeypatch.delenv(name, raising=False)
    for console in (OUT, ERR):  # made at import, when COLUMNS may not have been set
        monkeypatch.setattr(console, "width", 80)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), prog_name="operator", env={"COLUMNS": "80"})

    return run


@pytest.fixture
def files(tmp_path):
    """Write the policy and the inventory; return their paths as text."""
    policy, inventory = tmp_path / "policy.toml", tmp_path / "inventory.toml"
    policy.write_text(POLICY)
    inventory.write_text(INVENTORY)
    return str(policy), str(inventory)


def _words(text: str) -> str:
    """Return the text with every run of blanks (and the panel's borders) as one space."""
    return " ".join(text.replace("│", " ").split())


def test_show_prints_every_section_in_force_within_80_columns(cli, files):
    """Hosts, scope, rate limits, aliases, swarm, heal, retention and alerts are all shown."""
    policy, inventory = files
    result = cli("--inventory", inventory, "--policy", policy, "policy", "show")
    assert result.exit_code == 0, result.output
    assert max(len(line) for line in result.stdout.splitlines()) <= 80
    text = _words(result.stdout)
    for expected in (
        "hosts eng1: the policy's mode, also protects names registry; eng2: observe, "
        "also protects names gateway; patterns edge-*",
        "scope only hosts labelled env=lab",
        "rate limits 3 per 600s per container (docker_restart_container)",
        "aliases may be another container's name",
        "swarm scale, roll back or restart to 0..10 replicas",
        "protected services names ingress-api",
        "heal restarts unhealthy containers labelled org.operator-core.autoheal=true",
        "at most 2 restarts per 600s",
        "retention audit 30 days",
        "alerts oncall: slack to https://hooks.slack.example/[REDACTED]",
    ):
        assert expected in text
    assert "s3cr3tpath" not in result.output
    # Every tool is named whole at 80 columns (by the audit table's word).
    assert "set_node_availability" in result.stdout
    assert "…" not in result.stdout


def test_json_carries_the_hosts_sections_heal_and_no_secret(cli, files):
    """--json has [hosts.*], [heal], the scope's host labels; a sink's URL shows its host only."""
    policy, inventory = files
    result = cli("--inventory", inventory, "policy", "check", policy, "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)["result"]
    assert data["hosts"]["eng2"] == {
        "mode": "observe",
        "protected": {"names": ["gateway"], "patterns": ["edge-*"], "labels": []},
    }
    assert data["hosts"]["eng1"]["mode"] is None
    assert data["heal"]["max_restarts"] == 2
    assert data["scope"]["require_host_labels"] == ["env=lab"]
    assert data["allow_alias_sharing"] is True
    assert data["inventory"] == inventory
    assert data["warnings"] == []
    assert data["host"] is None
    assert "s3cr3tpath" not in result.stdout


def test_host_view_merges_that_hosts_section(cli, files):
    """--host eng2: its mode (and who set it), its protection added to the policy's."""
    policy, inventory = files
    args = ("--inventory", inventory, "--policy", policy, "policy", "show", "--host", "eng2")
    data = json.loads(cli(*args, "--json").stdout)["result"]
    assert data["mode"] == "observe"
    assert data["host"]["mode_set_by"] == "[hosts.eng2] mode"
    assert data["protected"]["names"] == ["db", "gateway"]
    assert data["protected"]["patterns"] == ["edge-*"]
    rows = {row["tool"]: row for row in data["tools"]}
    assert rows["docker_restart_container"]["allowed"] is False
    assert rows["docker_restart_container"]["denied_by"] == "mode"
    assert rows["docker_list_containers"]["allowed"] is True
    text = _words(cli(*args).stdout)
    assert "observe: only read-only tools run on eng2 (set by [hosts.eng2] mode)" in text
    assert "protected names: db, gateway; patterns: edge-*" in text
    assert "but restarts are denied here (observe mode)" in text
    globally = cli("--inventory", inventory, "--policy", policy, "--host", "eng2", "policy", "show")
    assert _words(globally.stdout) == _words(cli(*args).stdout)
    other = json.loads(cli(*args[:-1], "eng1", "--json").stdout)["result"]
    assert other["mode"] == "execute"
    assert other["host"]["mode_set_by"] == "mode"
    assert other["protected"]["names"] == ["db", "registry"]


def test_host_view_agrees_with_the_guard_on_every_tool(files):
    """Each row's 'allowed' on a host is the guard's mode and host-scope judgement there."""
    from pathlib import Path

    from operator_core.cli.commands.policy import policy_summary
    from operator_core.cli.render.policy import host_view, mark_denials
    from operator_core.fleet import load_inventory
    from operator_core.policy import load_policy

    policy = load_policy(files[0])
    inventory = load_inventory(Path(files[1]))
    labels = {name: dict(entry.labels) for name, entry in inventory.hosts.items()}
    guard = Guard(policy, own_container_id=None, host_labels=labels)
    for host in inventory.names:
        summary = policy_summary(policy.for_host(host), "p")
        view = host_view(policy, host, inventory)
        mark_denials(summary["tools"], view)
        rows = {row["tool"]: row for row in summary["tools"]}
        facts = TargetFacts.of("container", "a" * 64, "web", host, labels={})
        for spec in TOOLS:
            denied = guard.check_mode(spec, host) is not None or (
                spec.mutating
                and spec.target_kind == "container"
                and guard.check_target(facts) is not None
            )
            assert rows[spec.name]["allowed"] is not denied, (host, spec.name)


def test_host_outside_the_host_scope_shows_its_mutating_tools_denied(cli, files):
    """eng3 lacks env=lab: the scope line says so and each container tool reads denied (scope)."""
    policy, inventory = files
    args = ("--inventory", inventory, "--policy", policy, "policy", "show", "--host", "eng3")
    text = _words(cli(*args).stdout)
    assert "eng3 lacks env=lab: no container changes there" in text
    assert "restart high denied (scope)" in text
    assert "restart_service high yes" in text  # a service spans the swarm
    data = json.loads(cli(*args, "--json").stdout)["result"]
    assert data["host"]["in_scope"] is False
    assert data["host"]["missing_labels"] == ["env=lab"]
    rows = {row["tool"]: row for row in data["tools"]}
    assert rows["docker_stop_container"]["denied_by"] == "scope.require_host_labels"
    assert rows["docker_inspect_container"]["allowed"] is True


@pytest.mark.parametrize("command", ["check", "show"])
def test_a_section_for_a_host_the_inventory_lacks_is_an_error(cli, files, tmp_path, command):
    """[hosts.ghost] with an inventory that has no ghost: exit 2, named, as a runner says."""
    _, inventory = files
    bad = tmp_path / "ghost.toml"
    bad.write_text(POLICY + '[hosts.ghost]\nmode = "observe"\n')
    args = ["policy", "check", str(bad)] if command == "check" else ["policy", "show"]
    result = cli("--inventory", inventory, "--policy", str(bad), *args)
    assert result.exit_code == 2
    text = _words(result.output)
    assert "the policy has [hosts.ghost] but the inventory's hosts are eng1, eng2, eng3" in text


def test_without_an_inventory_host_rules_are_a_warning(cli, files):
    """No inventory: exit 0, a warning that mutating calls will be refused (hosts.no_inventory)."""
    policy, _ = files
    result = cli("policy", "check", policy)
    assert result.exit_code == 0, result.output
    warning = _words(result.stderr)
    assert "warning: no inventory to check [hosts.eng1], [hosts.eng2]" in warning
    assert "every mutating call is refused (hosts.no_inventory)" in warning
    data = json.loads(cli("policy", "check", policy, "--json").stdout)["result"]
    assert len(data["warnings"]) == 1
    assert data["inventory"] is None
    plain = cli("policy", "show")
    assert plain.exit_code == 0
    assert "warning" not in plain.stderr


def test_a_host_the_inventory_lacks_is_refused(cli, files):
    """--host ghost with an inventory: exit 2, the inventory's hosts named."""
    policy, inventory = files
    result = cli("--inventory", inventory, "policy", "check", policy, "--host", "ghost")
    assert result.exit_code == 2
    assert "use one of eng1, eng2, eng3" in _words(result.output)


def test_policy_check_and_a_runner_refuse_an_unknown_host_alike(files):
    """`policy check` says what a runner on that fleet says of [hosts.ghost], word for word."""
    from pathlib import Path

    from operator_core.errors import PolicyError
    from operator_core.fleet import Fleet, FleetExecutor, load_inventory
    from operator_core.policy import policy_from_dict
    from operator_core.runner import ToolRunner

    inventory = load_inventory(Path(files[1]))
    policy = policy_from_dict({"hosts": {"ghost": {"mode": "observe"}, "eng1": {}}})
    fleet = Fleet(inventory, client_factory=lambda entry: None)
    with pytest.raises(PolicyError) as by_runner:
        ToolRunner(FleetExecutor(fleet), policy=policy, own_container_id=None)
    with pytest.raises(PolicyError) as by_check:
        policy.check_hosts(inventory.names)
    assert str(by_check.value) == str(by_runner.value)
