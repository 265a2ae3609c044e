"""Pins issue 18 item 7: label values that look secret are hidden in results and records.

Never in what the policy matches on: a protected label, a scope label and the watch's
heal opt-in still see the labels as the engine has them.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from typer.testing import CliRunner

import operator_core.cli.commands.watch as watch_cmds
from operator_core.audit import REDACTED, MemoryAuditSink
from operator_core.audit.labels import redact_label, redact_labels
from operator_core.cli import app
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor, container_id

PASSWORD = "s3cr3tPassw0rd"  # noqa: S105 (the secrets the tests hide)
HTPASSWD = "admin:$apr1$H6uskkkW$IgXLP6ewTrSuBkTrqE8wj/"
BASIC_AUTH = "traefik.http.middlewares.auth.basicauth.users"
LABELS = {
    "db_password": PASSWORD,
    BASIC_AUTH: HTPASSWD,
    "com.example.note": f"rotate token={PASSWORD} monthly",
    "com.example.users": HTPASSWD,
    "team": "payments",
}
SECRETS = (PASSWORD, "H6uskkkW", "IgXLP6ewTrSuBkTrqE8wj")


class _EventsFake(FakeExecutor):
    """A fake whose event read returns one event carrying the container's labels."""

    async def get_events(self, since: Any, *args: Any, **kwargs: Any) -> Any:
        result = await super().get_events(since, *args, **kwargs)
        event = {
            "time": "2026-01-01T00:00:00+00:00",
            "type": "container",
            "action": "die",
            "detail": None,
            "actor_id": container_id("web"),
            "actor_name": "web",
            "exit_code": 1,
            "attributes": {"name": "web", "image": "busybox", **LABELS},
        }
        return {**result, "events": [event], "count": 1, "seen": 1}


def _runner(policy: Policy, audit: MemoryAuditSink) -> ToolRunner:
    fake = _EventsFake()
    fake.add("web", labels=LABELS)
    return ToolRunner(fake, policy=policy, audit=audit, own_container_id=None)


def _assert_hidden(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text


def test_each_secret_looking_label_is_hidden_and_the_rest_kept():
    """Secret keys hide the value whole, so does a secret inside a value; others stay."""
    assert redact_labels({"labels": LABELS})["labels"] == {
        "db_password": REDACTED,
        BASIC_AUTH: REDACTED,
        "com.example.note": REDACTED,
        "com.example.users": REDACTED,
        "team": "payments",
    }
    assert redact_label("com.docker.compose.project", "shop") == "shop"
    assert redact_label("org.opencontainers.image.authors", "Ops <ops@example.com>") == (
        "Ops <ops@example.com>"
    )
    assert redact_label("traefik.http.middlewares.x.forwardauth.address", "x") == REDACTED


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("docker_inspect_container", {"container_id": "web"}),
        ("docker_list_containers", {"all": True}),
        ("docker_inspect_containers", {"refs": ["web"]}),
        ("docker_get_events", {"since": "1h"}),
    ],
)
async def test_inspect_list_and_events_return_and_record_labels_redacted(tool, arguments):
    """What the agent gets back and what the audit trail keeps carry no label secret."""
    audit = MemoryAuditSink()
    envelope = await _runner(Policy(), audit).execute_tool(tool, arguments, actor="t")
    assert envelope["ok"] is True, envelope
    shown = json.dumps(envelope)
    _assert_hidden(shown)
    assert '"team": "payments"' in shown
    assert f'"db_password": "{REDACTED}"' in shown
    _assert_hidden(audit.query()[0].to_json())


async def test_a_protected_label_still_matches_the_value_the_output_hides():
    """[protected] labels = ['db_password=<value>'] still denies a restart of the container."""
    policy = Policy(mode="execute", protected={"labels": [f"db_password={PASSWORD}"]})
    audit = MemoryAuditSink()
    runner = _runner(policy, audit)
    envelope = await runner.execute_tool(
        "docker_restart_container", {"container_id": "web"}, actor="t"
    )
    assert envelope["ok"] is False
    assert envelope["error"]["rule"] == "protected.labels"
    _assert_hidden(json.dumps(envelope))
    _assert_hidden(audit.query()[0].to_json())


async def test_a_scope_label_still_matches_the_value_the_output_hides():
    """scope.require_labels on a secret-looking label lets the restart through, output hidden."""
    policy = Policy(mode="execute", scope={"require_labels": [f"db_password={PASSWORD}"]})
    audit = MemoryAuditSink()
    runner = ToolRunner(
        _runner(policy, audit).executor,
        policy=policy,
        audit=audit,
        own_container_id=None,
        approver=_yes,
    )
    envelope = await runner.execute_tool(
        "docker_restart_container", {"container_id": "web"}, actor="t"
    )
    assert envelope["ok"] is True, envelope
    _assert_hidden(json.dumps(envelope))


async def _yes(request: Any) -> bool:
    return True


async def _incident_stream(source: Any, **options: Any) -> AsyncIterator[dict[str, Any]]:
    yield {
        "time": "2026-01-01T00:00:00+00:00",
        "kind": "died",
        "host": None,
        "message": "web died (exit 1)",
        "labels": dict(LABELS),
    }


def test_the_watchs_json_lines_hide_label_secrets(tmp_path, monkeypatch):
    """`operator watch --json` prints an incident's labels redacted."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setattr(watch_cmds, "watch", _incident_stream)
    monkeypatch.setattr(watch_cmds, "DockerActionExecutor", lambda *a, **k: None)
    monkeypatch.setattr(watch_cmds, "check_engine_options", lambda *a, **k: None)
    result = CliRunner().invoke(app, ["watch", "--json"], prog_name="operator")
    assert result.exit_code == 0, result.output
    (line,) = [line for line in result.stdout.splitlines() if line.startswith("{")]
    assert json.loads(line)["labels"]["db_password"] == REDACTED
    _assert_hidden(result.stdout)


def test_redaction_leaves_a_result_without_secrets_as_it_is():
    """A result whose labels hide nothing is returned as the very same object."""
    result = {"containers": [{"name": "web", "labels": {"team": "a"}}], "count": 1}
    assert redact_labels(result) is result
