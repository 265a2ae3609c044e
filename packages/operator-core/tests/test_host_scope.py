"""A ``--host`` URL cannot escape the policy's rules about hosts (issue 18, item 3).

With an inventory, or a policy with ``[hosts.NAME]`` or ``scope.require_host_labels``,
an engine named by URL is refused (a URL is never matched to a host by its text); a
runner with such rules and no fleet refuses every mutating call and says why.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from operator_core.cli import app
from operator_core.cli.settings import Settings
from operator_core.errors import InvalidInput
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor

INVENTORY = """
default = "n1"
[hosts.n1]
url = "unix:///nowhere/n1.sock"
labels = { env = "staging" }
[hosts.n3]
url = "unix:///nowhere/n3.sock"
labels = { env = "prod" }
"""
STAGING_ONLY = """
mode = "execute"
[approval]
risks = []
[scope]
require_host_labels = ["env=staging"]
"""
PROD_OBSERVED = 'mode = "execute"\n[approval]\nrisks = []\n[hosts.prod]\nmode = "observe"\n'


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``operator ARGS`` in-process with a private audit file and no user files."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("OPERATOR_POLICY", "OPERATOR_MODE", "OPERATOR_INVENTORY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), prog_name="operator")

    return run


def write(tmp_path: Path, name: str, text: str) -> str:
    """Write ``text`` to ``tmp_path/name``; return its path."""
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def test_a_url_is_refused_while_an_inventory_is_in_force(cli, tmp_path):
    """n3's own socket by URL, with the inventory that names n3: invalid input, nothing run.

    Without this the restart would reach n3 (env=prod) though the policy lets only
    env=staging hosts change, recorded with no host and counted under another key.
    """
    inventory = write(tmp_path, "inventory.toml", INVENTORY)
    policy = write(tmp_path, "policy.toml", STAGING_ONLY)
    result = cli(
        "--inventory", inventory, "--policy", policy, "--host", "unix:///nowhere/n3.sock",
        "docker", "restart", "web", "--json",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    message = json.loads(result.stdout)["error"]["message"]
    assert "is a URL, but the inventory" in message
    assert "name one of its hosts" in message


def test_a_url_is_refused_under_host_rules_without_an_inventory(cli, tmp_path):
    """require_host_labels and no inventory: a URL cannot be told to be a staging host."""
    policy = write(tmp_path, "policy.toml", STAGING_ONLY)
    result = cli(
        "--policy", policy, "--host", "unix:///nowhere/n3.sock", "docker", "restart", "web",
        "--json",
    )  # fmt: skip
    assert result.exit_code == 2, result.output
    message = json.loads(result.stdout)["error"]["message"]
    assert "rules about hosts (scope.require_host_labels)" in message


def test_host_sections_without_an_inventory_deny_a_change_and_say_why(cli, tmp_path):
    """[hosts.prod] on the default engine: the restart is denied (exit 3) before any engine call."""
    policy = write(tmp_path, "policy.toml", PROD_OBSERVED)
    result = cli("--policy", policy, "docker", "restart", "web", "--json")
    assert result.exit_code == 3, result.output
    error = json.loads(result.stdout)["error"]
    assert error["rule"] == "hosts.no_inventory"
    assert "[hosts.prod]" in error["message"]


def test_a_url_with_a_password_is_not_echoed_when_refused(tmp_path):
    """The refusal quotes the URL redacted (it may carry a password)."""
    settings = Settings(
        host="tcp://admin:hunter2secret@10.0.0.1:2376",
        inventory_file=Path(write(tmp_path, "inventory.toml", INVENTORY)),
    )
    with pytest.raises(InvalidInput) as refused:
        settings.inventory()
    assert "hunter2secret" not in str(refused.value)


def test_a_url_runs_when_no_rule_about_hosts_is_in_force(tmp_path, monkeypatch):
    """No inventory, no host rules: a URL is the one engine, as before."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("OPERATOR_INVENTORY", raising=False)
    assert Settings(host="unix:///nowhere/n3.sock").inventory() is None


@pytest.mark.parametrize(
    "policy",
    [
        Policy(mode="execute", scope={"require_host_labels": ["env=staging"]}),
        Policy(mode="execute", hosts={"prod": {"mode": "observe"}}),
    ],
)
async def test_a_runner_without_a_fleet_refuses_changes_under_host_rules(policy):
    """A single-engine runner under host rules: reads run, a restart is denied, unresolved."""
    fake = FakeExecutor("web")
    run = ToolRunner(fake, policy=policy, own_container_id=None)
    assert (await run.execute_tool("docker_list_containers", {}))["ok"] is True
    denied = await run.execute_tool("docker_restart_container", {"container_id": "web"})
    assert denied["error"]["rule"] == "hosts.no_inventory"
    assert "cannot be applied" in denied["error"]["message"]
    assert [name for name, _ in fake.calls] == ["list_containers"]
