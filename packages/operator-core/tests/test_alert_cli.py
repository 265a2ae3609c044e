"""``operator watch`` with [alerts] sinks, and ``operator policy`` showing them, in-process."""

from __future__ import annotations

import asyncio
import json

import pytest
from typer.testing import CliRunner

from alert_items import incident, notice
from operator_core.cli import app
from operator_core.cli.commands.watch import _print_all
from operator_core.policy import policy_from_dict
from operator_core.watch.alerts import AlertReceiver, build_dispatcher

SECRET = "/services/T0001/B0002/s3cr3tWebhookPath"  # noqa: S105 (a fake)
POLICY = f"""
[alerts.team]
kind = "slack"
url = "https://hooks.slack.example{SECRET}"

[alerts.oncall]
kind = "alertmanager"
url = "http://am.example:9093"
token_env = "AM_TOKEN_FOR_TEST"
kinds = ["died", "unhealthy"]
"""


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``operator ARGS`` in-process with a private audit file and no user policy."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("OPERATOR_POLICY", "OPERATOR_MODE", "AM_TOKEN_FOR_TEST"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    return lambda *args: runner.invoke(app, list(args), prog_name="operator")


def test_policy_check_and_show_name_the_sinks_but_never_their_url_path(cli, tmp_path):
    """Human and JSON output show each sink's kind, host and token source; no URL path."""
    file = tmp_path / "policy.toml"
    file.write_text(POLICY)
    human = cli("policy", "check", str(file))
    assert human.exit_code == 0, human.output
    text = " ".join(human.stdout.split())
    assert "https://hooks.slack.example/[REDACTED]" in text
    assert "AM_TOKEN_FOR_TEST" in human.stdout
    data = json.loads(cli("policy", "check", str(file), "--json").stdout)["result"]["alerts"]
    assert data["oncall"]["url"] == "http://am.example:9093/[REDACTED]"
    assert data["team"]["kinds"] is None
    shown = cli("--policy", str(file), "policy", "show", "--json")
    for output in (human.output, json.dumps(data), shown.output):
        assert "s3cr3t" not in output


def test_a_bad_sink_in_policy_check_is_refused_without_its_url(cli, tmp_path):
    """A sink whose URL has a user and password: exit 2, the fault named, the URL not shown."""
    file = tmp_path / "policy.toml"
    file.write_text(POLICY.replace("https://hooks", "https://me:hunter2@hooks"))
    result = cli("policy", "check", str(file))
    assert result.exit_code == 2
    assert "alerts.team.url" in " ".join(result.output.split())
    assert "hunter2" not in result.output
    assert "s3cr3t" not in result.output


def test_watch_refuses_to_start_when_a_sinks_token_is_missing(cli, tmp_path):
    """The token's variable is unset: exit 2 naming the sink and the variable, nothing watched."""
    file = tmp_path / "policy.toml"
    file.write_text(POLICY)
    result = cli("--policy", str(file), "--host", "unix:///nonexistent.sock", "watch", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert "alerts.oncall" in error["message"]
    assert "AM_TOKEN_FOR_TEST" in error["message"]


async def test_the_watch_offers_every_item_it_prints_to_the_sinks(capsys):
    """Each item printed is offered: the incident reaches the receiver, the notice does not."""

    async def items():
        yield notice("connected", "10:00:00")
        yield incident("died", exit_code=3)

    with AlertReceiver() as receiver:
        policy = policy_from_dict({"alerts": {"hook": {"kind": "webhook", "url": receiver.url}}})
        await _print_all(items(), True, build_dispatcher(policy.alerts))
        got = await asyncio.to_thread(receiver.wait_for, lambda r: len(r) >= 1, 60)
    assert got
    assert [(r.body["kind"], r.body["status"]) for r in receiver.received] == [("died", "firing")]
    printed = [json.loads(line)["kind"] for line in capsys.readouterr().out.splitlines()]
    assert printed == ["connected", "died"]
