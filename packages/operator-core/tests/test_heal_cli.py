"""The healer for a person: pre-approval, refusing to start, `operator heal list/clear`."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from heal_fakes import CID
from operator_core.cli import app
from operator_core.cli.commands.heal import check_heal_start, find_escalation
from operator_core.errors import ApprovalUnavailable, InvalidInput
from operator_core.policy import ApprovalRequest, HealRules, policy_from_dict
from operator_core.watch import HealStore, heal_approver
from operator_core.watch.heal.healer import HEAL_ACTOR
from operator_core.watch.heal.state import Escalation

HEALING = 'mode = "execute"\n[heal]\nrestart_unhealthy = true\n'


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``operator ARGS`` in-process with a private audit file and store, no user policy."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("OPERATOR_HISTORY_DB", str(tmp_path / "history.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("OPERATOR_POLICY", "OPERATOR_MODE", "OPERATOR_INVENTORY"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), prog_name="operator")

    return run


def _request(tool: str, actor: str) -> ApprovalRequest:
    return ApprovalRequest(
        tool=tool, risk="high", arguments={}, summary=None, actor=actor, reason=None
    )


async def test_preapproved_covers_only_the_healers_own_restarts():
    """With preapproved the healer's restart is approved; anything else asks the approver."""
    asked: list[str] = []

    async def person(request: ApprovalRequest) -> bool:
        asked.append(f"{request.actor}:{request.tool}")
        return False

    approve = heal_approver(person, HealRules(preapproved=True))
    assert approve is not None
    assert await approve(_request("docker_restart_container", HEAL_ACTOR)) is True
    assert await approve(_request("docker_restart_container", "cli:alice")) is False
    assert await approve(_request("docker_stop_container", HEAL_ACTOR)) is False
    assert asked == ["cli:alice:docker_restart_container", f"{HEAL_ACTOR}:docker_stop_container"]
    assert heal_approver(person, HealRules()) is person  # not preapproved: unchanged
    bare = heal_approver(None, HealRules(preapproved=True))
    assert bare is not None
    with pytest.raises(ApprovalUnavailable):
        await bare(_request("docker_stop_container", HEAL_ACTOR))


def test_a_healer_nobody_can_approve_refuses_to_start_naming_the_key():
    """Approval wanted, not preapproved, no --yes, no terminal: InvalidInput naming the key."""
    policy = policy_from_dict({"mode": "execute", "heal": {"restart_unhealthy": True}})
    with pytest.raises(InvalidInput, match=r"preapproved = true in its \[heal\] section"):
        check_heal_start(policy, "p.toml", yes=False, interactive=False)
    check_heal_start(policy, "p.toml", yes=True, interactive=False)
    check_heal_start(policy, "p.toml", yes=False, interactive=True)
    approved = policy_from_dict(
        {"mode": "execute", "heal": {"restart_unhealthy": True, "preapproved": True}}
    )
    check_heal_start(approved, "p.toml", yes=False, interactive=False)
    no_approval = policy_from_dict(
        {"mode": "execute", "approval": {"risks": []}, "heal": {"restart_unhealthy": True}}
    )
    check_heal_start(no_approval, "p.toml", yes=False, interactive=False)


def test_watch_heal_refuses_to_start_without_a_way_to_approve(cli, tmp_path, monkeypatch):
    """`operator watch --heal` (no tty, no --yes) exits 2 at once, saying which key to set."""

    def started(items: object, as_json: bool) -> None:
        raise AssertionError("the watch started instead of refusing")

    monkeypatch.setattr("operator_core.cli.commands.watch._print_all", started)
    policy = tmp_path / "p.toml"
    policy.write_text(HEALING)
    result = cli("--policy", str(policy), "watch", "--heal", "--json")
    assert result.exit_code == 2
    error = json.loads(result.output)["error"]
    assert "preapproved = true" in error["message"]
    assert "[heal]" in error["message"]


def test_policy_check_shows_the_heal_section_and_its_preapproval(cli, tmp_path):
    """`policy check` says whether heal restarts are pre-approved (text and JSON)."""
    policy = tmp_path / "p.toml"
    policy.write_text(HEALING + "preapproved = true\n")
    shown = " ".join(cli("policy", "check", str(policy)).output.split())
    assert "restarts pre-approved (preapproved = true)" in shown
    assert "org.operator-core.autoheal=true" in shown
    data = json.loads(cli("policy", "check", str(policy), "--json").output)
    assert data["result"]["heal"]["preapproved"] is True
    policy.write_text(HEALING)
    shown = " ".join(cli("policy", "check", str(policy)).output.split())
    assert "each restart needs approval (preapproved = false)" in shown


def _escalation(name: str, host: str | None, cid: str = CID) -> Escalation:
    return Escalation(
        engine_id="E", container_id=cid, host=host, name=name, since="", why="3 failed heals"
    )


def test_find_escalation_takes_host_and_container_and_suggests_names():
    """HOST/NAME picks one; an ambiguous name asks for the host; a typo gets a did-you-mean."""
    both = [_escalation("web", "edge-1"), _escalation("web", "edge-2", "e" * 64)]
    assert find_escalation(both, "edge-2/web")["container_id"] == "e" * 64
    assert find_escalation(both, "e" * 12)["host"] == "edge-2"
    with pytest.raises(InvalidInput, match="names 2 escalations"):
        find_escalation(both, "web")
    with pytest.raises(InvalidInput, match="Did you mean edge-1/web"):
        find_escalation(both, "edge-1/wbe")
    with pytest.raises(InvalidInput, match="names no container"):
        find_escalation(both, "edge-1/")


def test_heal_clear_lets_the_healer_act_again(cli, tmp_path):
    """`operator heal clear web` forgets the escalation (and its failures); list shows it gone."""
    store = HealStore(tmp_path / "history.sqlite3")
    store.escalate(_escalation("web", None), 1_800_000_000.0)
    store.mark("E", CID, "failure", 1_800_000_000.0)
    listed = cli("heal", "list")
    assert "web: 3 failed heals" in listed.output
    result = cli("heal", "clear", "web")
    assert result.exit_code == 0, result.output
    assert "cleared the escalation of web" in result.output
    assert store.escalations() == []
    assert store.count("E", CID, "failure", 0) == 0
    missing = cli("heal", "clear", "web")
    assert missing.exit_code == 2
    assert "no escalated container is 'web'" in missing.output
    store.close()
