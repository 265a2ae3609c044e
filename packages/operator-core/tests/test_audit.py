"""Unit tests of the audit trail: redaction, sinks and queries, durability, concurrency."""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from operator_core.audit import (
    REDACTED,
    AuditQuery,
    AuditRecord,
    JSONLAuditSink,
    SQLiteAuditSink,
    open_audit,
    read_audit,
    redact_arguments,
    redact_command,
    redact_text,
)
from operator_core.errors import AuditError
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor, container_id

EXECUTE = Policy(mode="execute", approval={"risks": []})


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("--password=hunter2", "--password=[REDACTED]"),
        ("TOKEN=abc123", "TOKEN=[REDACTED]"),
        ("DB_PASSWORD=s3cr3t psql", "DB_PASSWORD=[REDACTED] psql"),
        ('PGPASSWORD="a b" psql', "PGPASSWORD=[REDACTED] psql"),
        ("mysql --password hunter2 -h db", "mysql --password [REDACTED] -h db"),
        ("api_key: 0123456789abcdef0123", "api_key: [REDACTED]"),
        ('{"client_secret": "xyz"}', '{"client_secret": [REDACTED]}'),
        ("Authorization: Bearer abcdef123456", "Authorization: [REDACTED] [REDACTED]"),
        ("curl -H 'X: Bearer abcdef123456'", "curl -H 'X: Bearer [REDACTED]'"),
        ("postgres://app:pa55w0rd@db:5432/x", "postgres://app:[REDACTED]@db:5432/x"),
        ("auth_token 0123456789abcdef0123456789", "auth_token [REDACTED]"),
        ("ghp_abcdefghijklmnopqrstuvwxyz0123", REDACTED),
        ("key sk-abcdefghijklmnopqrstuv", f"key {REDACTED}"),
        ("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abcdefghi", REDACTED),
        ("AKIAABCDEFGHIJKLMNOP", REDACTED),
        ("curl -u admin:pw http://x", "curl -u admin:[REDACTED] http://x"),
        (
            "a -----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY----- b",
            "a [REDACTED] b",
        ),
    ],
)
def test_secrets_are_redacted(text, expected):
    """Each secret shape is replaced by [REDACTED], the rest of the text kept."""
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    ["ls -l /data", "echo hello world", "status=running", "tier=critical", "sha256:" + "a" * 64],
)
def test_ordinary_text_is_left_alone(text):
    """Commands and key=value pairs without secret-ish words are not touched."""
    assert redact_text(text) == text


def test_command_list_hides_the_word_after_a_secret_flag():
    """["--password", "x"] and ["-u", "user:pw"] hide the value given as the next word."""
    assert redact_command(["mysql", "--password", "x", "-u", "root:pw", "--token=t", "ls"]) == [
        "mysql",
        "--password",
        REDACTED,
        "-u",
        f"root:{REDACTED}",
        f"--token={REDACTED}",
        "ls",
    ]


def test_env_values_are_always_hidden():
    """Every env value is hidden, whatever its name; keys stay."""
    redacted = redact_arguments(
        {"container_id": "web", "command": ["env"], "env": {"LEVEL": "debug", "DB_PASS": "x"}}
    )
    assert redacted["env"] == {"LEVEL": REDACTED, "DB_PASS": REDACTED}
    assert redacted["container_id"] == "web"


def test_secret_keyed_values_in_raw_arguments_are_hidden():
    """A value under a secret-ish key (even an int, even nested) is hidden."""
    redacted = redact_arguments({"x": {"password": 1234, "nested": ["--secret", "v"]}})
    assert redacted == {"x": {"password": REDACTED, "nested": ["--secret", REDACTED]}}


def test_redaction_time_is_linear_in_the_text():
    """Adversarial long strings are redacted in well under a second (no regex blow-up)."""
    for text in ["x" * 60000, "a=" * 30000, "--" + "x" * 60000, "token " * 10000, "a." * 30000]:
        began = time.perf_counter()
        redact_text(text)
        assert time.perf_counter() - began < 0.5


def test_overlong_strings_are_not_stored():
    """A string past the scan limit is replaced by a note of its length."""
    redacted = redact_arguments({"container_id": "x" * 100000})
    assert redacted["container_id"] == "[REDACTED: 100000 characters, too long to store]"


def record(**fields) -> AuditRecord:
    """Return a record with sensible defaults for the fields not given."""
    base = {
        "time": "2026-01-01T00:00:00+00:00",
        "ts": 1000.0,
        "tool": "docker_stop_container",
        "decision": "allowed",
        "outcome": "ok",
    }
    return AuditRecord(**{**base, **fields})


SAMPLE = [
    record(ts=1000.0, actor="alice", container="web", container_id="ab" * 32, container_name="web"),
    record(ts=2000.0, actor="bob", tool="docker_restart_container", outcome="failed"),
    record(ts=3000.0, actor="alice", decision="denied", outcome="denied", container="db"),
    record(ts=4000.0, tool="docker_inspect_container", container="web"),
]


@pytest.fixture(params=["sqlite", "jsonl"])
def sink(request, tmp_path):
    """An SQLite and a JSONL sink in a fresh directory."""
    made = (
        SQLiteAuditSink(tmp_path / "audit.sqlite3")
        if request.param == "sqlite"
        else JSONLAuditSink(tmp_path / "audit.jsonl")
    )
    yield made
    asyncio.run(made.close())


async def _fill(sink):
    """Write SAMPLE to ``sink``."""
    for item in SAMPLE:
        await sink.write(item)


async def test_queries_by_time_container_tool_outcome_actor(sink):
    """Each filter selects the right records, newest first."""
    await _fill(sink)

    def ts(**filters):
        return [r.ts for r in sink.query(AuditQuery(**filters))]

    assert ts() == [4000.0, 3000.0, 2000.0, 1000.0]
    assert ts(since=1500, until=3500) == [3000.0, 2000.0]
    assert ts(since="1970-01-01T00:50:00+00:00") == [4000.0, 3000.0]  # ISO strings work
    assert ts(container="web") == [4000.0, 1000.0]
    assert ts(container="abababab") == [1000.0]  # id prefix
    assert ts(tool="docker_restart_container") == [2000.0]
    assert ts(outcome="denied") == [3000.0]
    assert ts(actor="alice") == [3000.0, 1000.0]
    assert ts(decision="allowed", actor="alice") == [1000.0]
    assert ts(limit=2) == [4000.0, 3000.0]


async def test_a_later_write_with_the_same_id_replaces_the_pending_one(sink):
    """Pending then final under one id reads back as one record, the final one."""
    pending = record(outcome="pending")
    await sink.write(pending)
    await sink.write(pending.model_copy(update={"outcome": "ok"}))
    (only,) = sink.query()
    assert only.outcome == "ok"


async def test_sqlite_file_is_in_wal_mode_and_survives_reopening(tmp_path):
    """The database uses WAL; records are there after the sink is closed and reopened."""
    path = tmp_path / "a.sqlite3"
    first = SQLiteAuditSink(path)
    await _fill(first)
    await first.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert len(read_audit(path)) == 4


async def test_jsonl_skips_a_line_cut_short(tmp_path):
    """A half-written last line (crash mid-write) is skipped; the others read fine."""
    path = tmp_path / "a.jsonl"
    sink = JSONLAuditSink(path)
    await _fill(sink)
    await sink.close()
    with path.open("a") as handle:
        handle.write('{"id": "broken", "ti')
    assert len(read_audit(path)) == 4


def test_open_audit_picks_the_sink_by_suffix(tmp_path):
    """*.jsonl opens a JSONL sink; anything else SQLite."""
    jsonl = open_audit(tmp_path / "x.jsonl")
    sqlite = open_audit(tmp_path / "x.db")
    assert isinstance(jsonl, JSONLAuditSink)
    assert isinstance(sqlite, SQLiteAuditSink)
    asyncio.run(jsonl.close())
    asyncio.run(sqlite.close())


def test_unopenable_audit_file_is_an_audit_error(tmp_path):
    """A path that cannot hold a database is an AuditError at construction."""
    (tmp_path / "dir.sqlite3").mkdir()
    with pytest.raises(AuditError, match="cannot open"):
        SQLiteAuditSink(tmp_path / "dir.sqlite3")
    with pytest.raises(AuditError, match="no audit database"):
        read_audit(tmp_path / "absent.sqlite3")


async def test_fifty_concurrent_calls_all_recorded(tmp_path):
    """50 concurrent execute_tool calls (mixed tools, containers, outcomes) → 50 records."""
    names = [f"c{i}" for i in range(10)]
    fake = FakeExecutor(*names, delay=0.005)
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    run = ToolRunner(fake, policy=EXECUTE, audit=sink, own_container_id=None)
    calls = []
    for i in range(50):
        name = names[i % 10]
        tool, arguments = [
            ("docker_restart_container", {"container_id": name}),
            ("docker_inspect_container", {"container_id": name}),
            ("docker_stop_container", {"container_id": "missing"}),
            ("docker_stop_container", {"container_id": name, "timeout": -1}),
            ("docker_pause_container", {"container_id": name}),
        ][i % 5]
        calls.append(run.execute_tool(tool, arguments, actor=f"agent-{i}"))
    envelopes = await asyncio.gather(*calls)
    ids = {e["audit_id"] for e in envelopes}
    assert len(ids) == 50
    stored = sink.query(AuditQuery(limit=None))
    assert {r.id for r in stored} == ids
    assert {r.actor for r in stored} == {f"agent-{i}" for i in range(50)}
    assert sorted({r.outcome for r in stored}) == ["failed", "invalid", "ok"]
    assert not [r for r in stored if r.outcome == "pending"]
    await sink.close()


DURABILITY_SCRIPT = textwrap.dedent(
    """
    import asyncio, os, signal, sys
    from operator_core.audit import open_audit
    from operator_core.policy import Policy
    from operator_core.runner import ToolRunner

    class Executor:
        state = {"status": "running", "restart_count": 0}

        async def inspect_container(self, container_id):
            return {"id": "ab" * 32, "name": "web", "labels": {},
                    "state": dict(self.state), "restart_count": self.state["restart_count"],
                    "networks": ["bridge"]}

        async def restart_container(self, container_id, timeout=10):
            self.state["restart_count"] += 1
            return {"container_id": "ab" * 32, "changed": True}

    async def main():
        runner = ToolRunner(Executor(), policy=Policy(mode="execute", approval={"risks": []}),
                            audit=open_audit(sys.argv[1]), own_container_id=None)
        envelope = await runner.execute_tool("docker_restart_container", {"container_id": "web"})
        if sys.argv[2] == "exit":
            os._exit(0)
        os.kill(os.getpid(), signal.SIGKILL)

    asyncio.run(main())
    """
)


@pytest.mark.parametrize("suffix", ["sqlite3", "jsonl"])
@pytest.mark.parametrize("death", ["exit", "kill"])
def test_record_survives_the_process_dying_right_after(tmp_path, suffix, death):
    """A process dying (os._exit or SIGKILL) as execute_tool returns keeps its record."""
    path = tmp_path / f"audit.{suffix}"
    done = subprocess.run(
        [sys.executable, "-c", DURABILITY_SCRIPT, str(path), death],
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == (0 if death == "exit" else -signal.SIGKILL), done.stderr
    (only,) = read_audit(path)
    assert (only.tool, only.outcome) == ("docker_restart_container", "ok")
    assert only.before["restart_count"] == 0
    assert only.after["restart_count"] == 1


async def test_failed_action_is_recorded(tmp_path):
    """An action that fails in the executor is on disk with its error."""
    path = tmp_path / "audit.sqlite3"
    sink = SQLiteAuditSink(path)
    run = ToolRunner(FakeExecutor("web"), policy=EXECUTE, audit=sink, own_container_id=None)
    await run.execute_tool("docker_stop_container", {"container_id": "ghost"})
    await sink.close()
    (only,) = read_audit(path)
    assert only.outcome == "failed"
    assert only.error["type"] == "container_not_found"


async def test_secrets_reach_neither_the_logs_nor_the_audit_files(tmp_path, caplog):
    """Secrets in env, command, reason, unknown keys appear in no log line and no file."""
    caplog.set_level(logging.DEBUG)
    secret = "hunter2-0123456789abcdef"  # noqa: S105 (the secret the test hides)
    sqlite_path, jsonl_path = tmp_path / "a.sqlite3", tmp_path / "a.jsonl"
    policy = Policy(
        mode="execute", approval={"risks": [], "tools": {"docker_execute_command": False}}
    )
    fake = FakeExecutor("web")
    for sink in (SQLiteAuditSink(sqlite_path), JSONLAuditSink(jsonl_path)):
        run = ToolRunner(fake, policy=policy, audit=sink, own_container_id=None)
        await run.execute_tool(
            "docker_execute_command",
            {
                "container_id": "web",
                "command": ["sh", "-c", f"mysql --password={secret}", "--token", secret],
                "env": {"DB": secret},
            },
            reason=f"token {secret}",
        )
        await run.execute_tool(
            "docker_execute_command",
            {"container_id": "web", "command": ["x"], "env": {"DB": secret}, "bogus": secret},
        )
        await sink.close()
    assert secret not in caplog.text
    for path in tmp_path.iterdir():
        assert secret.encode() not in path.read_bytes(), path
    rows = read_audit(jsonl_path)
    assert len(rows) == 2
    assert all(REDACTED in json.dumps(r.arguments) for r in rows)


def test_record_round_trips_through_json():
    """A record serialised to JSON reads back equal."""
    original = SAMPLE[0]
    assert AuditRecord.model_validate_json(original.to_json()) == original


def test_container_id_helper_is_stable():
    """The fake ids the tests rely on are stable 64-hex strings."""
    assert container_id("web") == container_id("web")
    assert len(container_id("web")) == 64
    assert Path(__file__).name == "test_audit.py"


@pytest.mark.parametrize("suffix", ["sqlite3", "jsonl"])
async def test_rate_limits_hold_across_runners_sharing_a_trail(tmp_path, suffix):
    """A new runner (a new CLI process) on the same audit file counts the earlier restarts."""
    path = tmp_path / f"audit.{suffix}"
    policy = Policy(
        mode="execute",
        approval={"risks": []},
        rate_limits=[{"tools": ["docker_restart_container"], "max": 2, "window_s": 600}],
    )
    fake = FakeExecutor("web")
    for _ in range(2):
        sink = open_audit(path)
        run = ToolRunner(fake, policy=policy, audit=sink, own_container_id=None)
        assert (await run.execute_tool("docker_restart_container", {"container_id": "web"}))["ok"]
        await sink.close()
    sink = open_audit(path)
    third = ToolRunner(fake, policy=policy, audit=sink, own_container_id=None)
    envelope = await third.execute_tool("docker_restart_container", {"container_id": "web"})
    await sink.close()
    assert envelope["error"]["rule"] == "rate_limits[0]"
    assert fake.find("web")["restart_count"] == 2
