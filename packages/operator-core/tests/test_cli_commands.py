"""The ``operator`` commands that need no engine, run in-process with typer's CliRunner."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import UTC, datetime

import pytest
from typer.testing import CliRunner

from operator_core.audit import AuditRecord, SQLiteAuditSink
from operator_core.cli import app
from operator_core.tools import TOOLS

GOOD_POLICY = """
mode = "execute"
[protected]
names = ["db"]
[approval]
risks = []
[[rate_limits]]
tools = ["docker_restart_container"]
max = 3
window_s = 600
"""
BAD_POLICY = 'mode = "yolo"\n[protected]\nnamez = ["db"]\n'


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``operator ARGS`` in-process with a private audit file and no user policy."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("OPERATOR_POLICY", "OPERATOR_MODE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str):
        return runner.invoke(app, list(args), prog_name="operator")

    return run


def test_help_documents_the_exit_codes(cli):
    """`operator --help` lists every exit code and what it means."""
    result = cli("--help")
    assert result.exit_code == 0
    text = " ".join(result.output.split())
    for phrase in (
        "0 ok",
        "1 failed",
        "2 invalid input",
        "3 denied",
        "4 container, network, service or node",
    ):
        assert phrase in text
    assert "5 timed out" in text
    assert "6 no Docker engine" in text


def test_policy_check_accepts_a_good_file_and_says_what_it_allows(cli, tmp_path):
    """A valid policy exits 0 and shows its mode, protection, approval and rate limits."""
    file = tmp_path / "good.toml"
    file.write_text(GOOD_POLICY)
    result = cli("policy", "check", str(file))
    assert result.exit_code == 0, result.output
    assert "execute" in result.stdout
    assert "db" in result.stdout
    assert "3/600s per container" in result.stdout
    assert "valid policy" in result.stderr
    data = json.loads(cli("policy", "check", str(file), "--json").stdout)
    tools = {t["tool"]: t for t in data["result"]["tools"]}
    assert tools["docker_restart_container"]["rate_limits"] == ["3/600s per container"]
    assert tools["docker_stop_container"]["allowed"] is True
    assert tools["docker_stop_container"]["needs_approval"] is False


def test_policy_check_refuses_a_malformed_file_naming_every_fault(cli, tmp_path):
    """A bad policy exits 2 with each fault (bad value, unknown key) named."""
    file = tmp_path / "bad.toml"
    file.write_text(BAD_POLICY)
    result = cli("policy", "check", str(file), "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "invalid_policy"
    assert "mode" in error["message"]
    assert "protected.namez" in error["message"]
    missing = cli("policy", "check", str(tmp_path / "absent.toml"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr


def test_a_malformed_policy_blocks_even_read_only_commands(cli, tmp_path):
    """With --policy pointing at a bad file nothing runs (never a permissive default)."""
    file = tmp_path / "bad.toml"
    file.write_text(BAD_POLICY)
    result = cli("--policy", str(file), "docker", "ps")
    assert result.exit_code == 2
    assert "invalid policy" in result.stderr


def test_observe_mode_denies_a_stop_and_says_how_to_allow_it(cli):
    """Without configuration a stop is denied (exit 3) and the hint names --mode execute."""
    result = cli("docker", "stop", "web")
    assert result.exit_code == 3
    assert "mode.observe" in result.stderr
    assert "--mode execute" in result.stderr
    assert result.stdout == ""


def test_denial_is_audited_with_the_cli_user_as_actor(cli):
    """The denied call is in the audit trail, actor cli:<user>, decision denied."""
    cli("--reason", "testing", "docker", "restart", "web")
    records = json.loads(cli("audit", "list", "--json").stdout)["result"]["records"]
    assert len(records) == 1
    record = records[0]
    assert record["actor"].startswith("cli:")
    assert record["tool"] == "docker_restart_container"
    assert (record["decision"], record["rule"], record["reason"]) == (
        "denied",
        "mode.observe",
        "testing",
    )


def test_invalid_arguments_exit_2_with_the_tools_explanation(cli):
    """A value the tool refuses (tail 0) is invalid input, explained, and nothing runs."""
    result = cli("docker", "logs", "web", "--tail", "0", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["type"] == "invalid_arguments"
    assert "tail" in error["message"]
    assert cli("--mode", "yolo", "docker", "ps").exit_code == 2
    assert cli("docker", "stop", "web", "--timeout", "soon").exit_code == 2
    assert cli("--host", "tcp://a:1", "--context", "b", "docker", "ps").exit_code == 2


def test_audit_list_filters_and_show_finds_a_record_by_prefix(cli, tmp_path):
    """The audit list filters by tool (short name), outcome, actor; show takes an id prefix."""

    async def seed() -> None:
        sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
        for i, (tool, outcome, actor) in enumerate(
            [
                ("docker_restart_container", "ok", "mcp:claude/1"),
                ("docker_restart_container", "denied", "cli:alice"),
                ("docker_list_containers", "ok", "cli:alice"),
            ]
        ):
            await sink.write(
                AuditRecord(
                    id=f"r{i}-abcdef",
                    time="2026-11-29T10:00:00+00:00",
                    ts=1_795_000_000.0 + i,
                    actor=actor,
                    tool=tool,
                    decision="allowed" if outcome == "ok" else "denied",
                    outcome=outcome,
                    container_name="web",
                )
            )
        await sink.close()

    asyncio.run(seed())

    def listed(*args):
        envelope = json.loads(cli("audit", "list", *args, "--json").stdout)
        assert envelope["ok"] is True
        assert envelope["result"]["count"] == len(envelope["result"]["records"])
        return envelope["result"]["records"]

    restarts = listed("--tool", "restart")
    assert [r["id"] for r in restarts] == ["r1-abcdef", "r0-abcdef"]
    denied = listed("--outcome", "denied")
    assert [r["actor"] for r in denied] == ["cli:alice"]
    by_actor = listed("--actor", "mcp:claude/1")
    assert [r["id"] for r in by_actor] == ["r0-abcdef"]
    assert len(listed("--limit", "1")) == 1
    shown = cli("audit", "show", "r1", "--json")
    assert json.loads(shown.stdout)["result"]["id"] == "r1-abcdef"
    newest = json.loads(cli("audit", "show", "--json").stdout)
    assert newest["result"]["id"] == "r2-abcdef"
    assert cli("audit", "show", "zzz").exit_code == 4
    table = cli("audit", "list")
    assert "restart" in table.stdout
    assert "3 record(s)" in table.stderr


def test_audit_show_finds_a_full_id_whatever_the_approval_wait(cli, tmp_path):
    """A record admitted a day and more after its id was made is found by its full id.

    The id's time stamp is the call's start; the record's time is its admission, after
    the approval (up to a day). Prefixes work too, and an ambiguous one is refused.
    """
    made = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    ids = [f"{made:%Y%m%dT%H%M%S%f}-{suffix}" for suffix in ("aaaaaaaaaaaa", "aaaaaaaaaaab")]

    async def seed() -> None:
        sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
        for waited_s, record_id in zip((86_000.0, 5.0), ids, strict=True):
            admitted = made.timestamp() + waited_s
            await sink.write(
                AuditRecord(
                    id=record_id,
                    time=datetime.fromtimestamp(admitted, UTC).isoformat(),
                    ts=admitted,
                    tool="docker_restart_container",
                    decision="allowed",
                    outcome="ok",
                )
            )
        await sink.close()

    asyncio.run(seed())
    for record_id in ids:
        shown = json.loads(cli("audit", "show", record_id, "--json").stdout)
        assert shown["result"]["id"] == record_id
    assert json.loads(cli("audit", "show", ids[0][:-1], "--json").stdout)["ok"] is False
    assert cli("audit", "show", ids[0][:-1]).exit_code == 2


def test_tools_prints_every_tool_in_the_shape_asked(cli):
    """`operator tools --format mcp` prints all tools with schemas and hints."""
    tools = json.loads(cli("tools", "--format", "mcp").stdout)
    assert [t["name"] for t in tools] == [spec.name for spec in TOOLS]
    assert all("inputSchema" in t and "readOnlyHint" in t["annotations"] for t in tools)
    anthropic = json.loads(cli("tools").stdout)
    assert "input_schema" in anthropic[0]


def test_both_demo_entry_points_run_the_same_story(cli, monkeypatch):
    """`operator demo` and `python -m operator_core.demo` both call run_demo_cli."""
    import operator_core.demo as demo

    calls: list[dict[str, object]] = []

    def fake(console: object, **options: object) -> int:
        calls.append(options)
        return 0

    monkeypatch.setattr(demo, "run_demo_cli", fake)
    assert demo.main() == 0
    assert cli("demo", "--keep").exit_code == 0
    assert calls == [{}, {"client": None, "keep": True}]


def test_a_denied_exec_hint_never_shows_an_env_value(cli, monkeypatch):
    """The denial's pasteable command line shows -e values as [REDACTED], in every form."""
    args = [
        "docker", "exec", "web",
        "-e", "TOKEN=s3cretVALUE",
        "--env=OTHER=s3cretOTHER",
        "--", "env",
    ]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["operator", *args])
    result = cli(*args)
    assert result.exit_code == 3
    assert "mode.observe" in result.stderr
    assert "s3cret" not in result.output
    text = " ".join(result.stderr.replace("│", " ").split())
    assert "operator --mode execute --yes docker exec web -e 'TOKEN=[REDACTED]'" in text
    assert "'--env=OTHER=[REDACTED]' -- env" in text


def test_exec_help_says_command_line_values_are_visible_and_how_to_avoid_it(cli):
    """The -e help warns that KEY=VALUE is readable via ps and offers -e KEY and --env-file."""
    result = cli("docker", "exec", "--help")
    assert result.exit_code == 0
    text = " ".join(result.output.replace("│", " ").split())
    assert "other local users can read (ps)" in text
    assert "-e KEY takes KEY's value from this environment" in text
    assert "--env-file" in text
    assert "never logged" not in text


def test_a_denial_hint_never_echoes_a_secret_from_the_command_line(cli, monkeypatch):
    """Pins review item 6: the pasteable command in a denial hint goes through the redactor.

    ``-pS3cretPass``, ``--password=hunter2`` and ``--reason token=abc`` were echoed to
    stderr as typed.
    """
    args = [
        "--reason", "token=abcSECRET1",
        "docker", "exec", "web",
        "--", "mysql", "-pS3cretPass", "--password=hunter2", "-ualice:pw2SECRET",
    ]  # fmt: skip
    monkeypatch.setattr(sys, "argv", ["operator", *args])
    result = cli(*args)
    assert result.exit_code == 3
    text = " ".join(result.stderr.replace("│", " ").split())
    assert "operator --mode execute --yes --reason 'token=[REDACTED]' docker exec web" in text
    for secret in ("abcSECRET1", "S3cretPass", "hunter2", "pw2SECRET"):
        assert secret not in result.output
    assert "mysql '-p[REDACTED]' '--password=[REDACTED]' '-ualice:[REDACTED]'" in text
