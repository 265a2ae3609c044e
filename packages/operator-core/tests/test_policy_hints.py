"""Denials that help a person: the section that denied, no command that is denied again.

Also the two CLI messages around them: ``--host NAME`` with no inventory (one message,
exit 2) and ``audit list --tool`` taking every word the audit table shows.
"""

from __future__ import annotations

import re
import sys

import pytest
from typer.testing import CliRunner

from operator_core.cli import app, runtime
from operator_core.cli.app import ERR, OUT
from operator_core.cli.commands.audit import tool_name
from operator_core.cli.settings import NO_INVENTORY
from operator_core.fleet import Fleet
from operator_core.policy import Guard, Policy, policy_from_dict
from operator_core.present.views import tool_word
from operator_core.tools import REGISTRY, get_tool
from tool_fakes import FakeExecutor

STOP = get_tool("docker_stop_container")

INVENTORY = """\
default = "eng1"
[hosts.eng1]
url = "unix:///nonexistent/eng1.sock"
[hosts.eng2]
url = "unix:///nonexistent/eng2.sock"
"""


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``operator ARGS`` at 80 columns over a fleet of fakes (eng1, eng2) when one is given.

    ``sys.argv`` is the command line too, as the hints quote it back.
    """
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("OPERATOR_POLICY", "OPERATOR_MODE", "OPERATOR_INVENTORY"):
        monkeypatch.delenv(name, raising=False)
    for console in (OUT, ERR):
        monkeypatch.setattr(console, "width", 80)
    engines = {"eng1": FakeExecutor("web"), "eng2": FakeExecutor("web")}

    def fake_fleet(inventory):
        return Fleet(
            inventory,
            client_factory=lambda entry: None,
            executor_factory=lambda entry, client: engines[entry.name],
        )

    monkeypatch.setattr(runtime, "Fleet", fake_fleet)
    runner = CliRunner()

    def run(*args: str):
        monkeypatch.setattr(sys, "argv", ["operator", *args])
        return runner.invoke(app, list(args), prog_name="operator", env={"COLUMNS": "80"})

    run.engines = engines
    return run


def _words(text: str) -> str:
    """Return the text with panel borders and runs of blanks as one space."""
    return " ".join(text.replace("│", " ").split())


def test_a_hosts_own_mode_is_named_as_the_section_that_denied():
    """[hosts.eng2] mode = observe: the denial names that key, even when the policy observes too.

    The policy's own mode is observe as well: ``--mode execute`` would change only that, so
    the section (not "mode") is what denied.
    """
    policy = policy_from_dict({"hosts": {"eng2": {"mode": "observe"}}})
    verdict = Guard(policy, own_container_id=None).check_mode(STOP, "eng2")
    assert verdict is not None
    assert verdict.details == {"section": '[hosts.eng2] mode = "observe"', "host": "eng2"}
    assert "on host 'eng2' ([hosts.eng2] mode)" in verdict.message
    assert "a person can switch that host's section to execute mode" in verdict.message
    plain = Guard(policy, own_container_id=None).check_mode(STOP, "eng1")
    assert plain is not None
    assert plain.details == {"section": 'mode = "observe"', "host": "eng1"}
    assert "a person can switch the policy to execute mode" in plain.message
    assert Guard(Policy(), own_container_id=None).check_mode(STOP) is not None


@pytest.mark.parametrize(
    ("policy", "host", "section"),
    [
        ('mode = "execute"\n[hosts.eng2]\nmode = "observe"\n', "eng2", "[hosts.eng2]"),
        ('[hosts.eng2]\nmode = "observe"\n', "eng2", "[hosts.eng2]"),
        ('[hosts.eng2]\nmode = "observe"\n', "eng1", None),
        ("", "eng1", None),
    ],
    ids=["host-observes", "both-observe", "policy-observes", "default"],
)
def test_no_hint_suggests_a_command_that_is_denied_again(
    cli, tmp_path, monkeypatch, policy, host, section
):
    """A mode denial's hint names the section; a command it suggests is not denied by mode.

    The suggested command is run as printed: it may meet the next rule (approval), never
    the same mode again.
    """
    monkeypatch.setattr(ERR, "width", 1000)  # the command on one line, to copy whole
    file, inventory = tmp_path / "p.toml", tmp_path / "inventory.toml"
    file.write_text(policy)
    inventory.write_text(INVENTORY)
    args = ["--inventory", str(inventory), "--policy", str(file), "--host", host]
    denied = cli(*args, "docker", "stop", "web")
    assert denied.exit_code == 3, denied.output
    text = _words(denied.stderr)
    assert "mode.observe" in text
    assert f"observe mode on host {host}" in text
    suggested = re.findall(r"execute mode(?: \(.*?\))?: (operator .*?) or use a policy", text)
    if section is not None:
        assert f'sets {section} mode = "observe"' in text
        assert "--mode execute" not in text
        assert suggested == []
        return
    assert len(suggested) == 1
    assert "--yes" in suggested[0].split()  # stop needs approval; nobody to ask here
    again = cli(*suggested[0].split()[1:])
    assert again.exit_code == 0, again.output
    assert "stop_container" in [method for method, _ in cli.engines[host].calls]


def test_host_without_an_inventory_is_one_cli_message(cli, monkeypatch):
    """--host eng1 with no inventory: exit 2, the message once, no docker process, no tool."""
    built = []
    monkeypatch.setattr(runtime, "DockerActionExecutor", lambda *a, **k: built.append(a))
    result = cli("--host", "eng1", "docker", "ps")
    assert result.exit_code == 2
    assert _words(result.output).count(NO_INVENTORY) == 1
    assert "not a parameter" not in result.output
    assert built == []
    json_result = cli("--json", "--host", "eng1", "docker", "ps")
    assert json_result.exit_code == 2
    assert json_result.stdout.count(NO_INVENTORY) == 1


@pytest.mark.parametrize("tool", list(REGISTRY))
def test_audit_tool_takes_every_word_the_table_shows(tool):
    """`audit list --tool W` takes the table's word for each tool, and its full name."""
    assert tool_name(tool_word(tool)) == tool
    assert tool_name(tool) == tool
    assert tool_name(tool.removeprefix("docker_")) == tool


@pytest.mark.parametrize(
    ("word", "tool"),
    [
        ("ps", "docker_list_containers"),
        ("scale", "docker_scale_service"),
        ("rollback", "docker_rollback_service"),
        ("restart", "docker_restart_container"),
        ("stats", "docker_container_stats"),
    ],
)
def test_audit_tool_takes_the_short_words(cli, tmp_path, word, tool):
    """The short words a person types: 'scale' and 'rollback' are a service's, 'restart' ours."""
    assert tool_name(word) == tool
    inventory = tmp_path / "inventory.toml"
    inventory.write_text(INVENTORY)
    cli("--inventory", str(inventory), "docker", "stop", "web")  # a record: the trail exists
    result = cli("audit", "list", "--tool", word)
    assert result.exit_code == 0, result.output


def test_a_node_denied_by_its_hosts_mode_gets_no_mode_hint():
    """A drain denied by the node's host section: the person reads that host, no --mode."""
    from operator_core.cli.advice import for_person
    from operator_core.cli.render.common import denial_hint

    details = {"node_host": "n3", "section": '[hosts.n3] mode = "observe"'}
    error = {"type": "denied", "rule": "mode.observe", "message": "m", "details": details}
    shown, _ = for_person("docker_set_node_availability", {}, error)
    assert "observe mode on host n3" in shown["message"]
    hint = denial_hint(
        "mode.observe",
        policy_source="p.toml",
        execute_command="operator --mode execute swarm drain wrk-1",
        yes_command="operator --yes swarm drain wrk-1",
        section=details["section"],
    )
    assert hint is not None
    assert '[hosts.n3] mode = "observe"' in hint
    assert "--mode execute swarm" not in hint
