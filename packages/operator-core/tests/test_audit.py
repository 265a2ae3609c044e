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

import pytest

from operator_core.audit import (
    REDACTED,
    AuditQuery,
    AuditRecord,
    JSONLAuditSink,
    MemoryAuditSink,
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
from wall_clock import LINEAR_BOUND_S

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
    """Adversarial long strings are redacted in linear time (no regex blow-up)."""
    for text in ["x" * 60000, "a=" * 30000, "--" + "x" * 60000, "token " * 10000, "a." * 30000]:
        began = time.perf_counter()
        redact_text(text)
        assert time.perf_counter() - began < LINEAR_BOUND_S


def test_overlong_strings_are_not_stored():
    """A string past the scan limit is replaced by a note of its length."""
    redacted = redact_arguments({"container_id": "x" * 100000})
    assert redacted["container_id"] == "[REDACTED: 100000 characters, too long to store]"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mysql -pS3cretPass db", "mysql -p[REDACTED] db"),
        ('mysql -p"my secret" db', "mysql -p[REDACTED] db"),
        ("mysql --passwordS3cret db", "mysql --password[REDACTED] db"),
        ("tool --passS3cret x", "tool --pass[REDACTED] x"),
        ("redis-cli -h cache -a S3cret ping", "redis-cli -h cache -a [REDACTED] ping"),
        ("sshpass -p S3cret ssh host", "sshpass -p [REDACTED] ssh host"),
        ("/usr/bin/mysql -u root -p S3cret db", "/usr/bin/mysql -u root -p [REDACTED] db"),
        ("cat x | redis-cli -a 'a b' ; echo -a", "cat x | redis-cli -a [REDACTED] ; echo -a"),
        ("sh -c 'redis-cli -a S3cret'", "sh -c 'redis-cli -a [REDACTED]'"),
        ("zip -P S3cret a.zip f", "zip -P [REDACTED] a.zip f"),
        ("export PW=S3cret", "export PW=[REDACTED]"),
        (
            "DB_PASS=a API_KEY=b db_pw=c KEY=d",
            "DB_PASS=[REDACTED] API_KEY=[REDACTED] db_pw=[REDACTED] KEY=[REDACTED]",
        ),
        ("Credentials=x SECRET_ARN=y", "Credentials=[REDACTED] SECRET_ARN=[REDACTED]"),
        ("openssl enc -pass pass:S3cret -in f", "openssl enc -pass [REDACTED] -in f"),
    ],
)
def test_password_flags_programs_and_secret_variables_are_redacted(text, expected):
    """Pins fix 4: glued flag values, known programs' password flags and KEY=VALUE secrets.

    ``-pS3cretPass`` used to keep the password and hide the next word instead.
    """
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "mkdir -p /data",
        "mysql -p -h db",  # -p alone prompts; -h is the next flag, not a password
        "echo -a hi",  # -a means nothing special outside the known programs
        "monkey=1 keyboard=us",  # key only as a whole first or last part of the name
        "redis-cli ping; ls -a x",  # the separator ends redis-cli's command
        "docker login --password-stdin",  # a flag named after a password, nothing glued
    ],
)
def test_password_rules_leave_ordinary_commands_alone(text):
    """Pins fix 4's limits: the new rules do not hide what holds no password."""
    assert redact_text(text) == text


def test_command_lists_hide_passwords_of_known_programs():
    """Pins fix 4 for exec's command list: each example word by word, and inside sh -c."""
    assert redact_command(["sh", "-c", "mysql -pS3cretPass db"]) == [
        "sh",
        "-c",
        "mysql -p[REDACTED] db",
    ]
    assert redact_command(["mysql", "-pS3cretPass", "db"]) == ["mysql", "-p[REDACTED]", "db"]
    assert redact_command(["redis-cli", "-a", "X", "ping"]) == [
        "redis-cli",
        "-a",
        REDACTED,
        "ping",
    ]
    assert redact_command(["sshpass", "-p", "X", "ssh", "h"]) == [
        "sshpass",
        "-p",
        REDACTED,
        "ssh",
        "h",
    ]
    assert redact_command(["export", "PW=X"]) == ["export", f"PW={REDACTED}"]
    assert redact_command(["mysql", "-p", "-h", "db"]) == ["mysql", "-p", "-h", "db"]
    assert redact_command(["openssl", "-pass", "x"]) == ["openssl", "-pass", REDACTED]


@pytest.mark.parametrize(
    "text",
    [
        "-p" * 50000,
        '-p"' * 34000,
        "-p'" * 34000,
        "--pass" * 17000,
        "--passw" * 15000,
        "mysql -p " * 12000,
        "redis-cli -a " * 8000,
        "'redis-cli -a " * 7500,
        "\"'mysql -a '\" " * 8000,
        "PW=" * 34000,
        "a_" * 50000 + "=",
        "'" * 100000,
        '"' * 100000,
        'a="' * 34000,
        "mysql " * 17000,
        "x" * 100000,
    ],
)
def test_redaction_of_100_kb_adversarial_text_takes_under_a_second(text):
    """Pins fix 4's linear time: 100 kB aimed at each new rule is redacted in linear time."""
    assert len(text) >= 99000
    began = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - began < LINEAR_BOUND_S


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("curl --user=alice:pw1 http://x", f"curl --user=alice:{REDACTED} http://x"),
        ("curl -ualice:pw2 http://x", f"curl -ualice:{REDACTED} http://x"),
        ("sh -c 'curl -ualice:pw2 x'", f"sh -c 'curl -ualice:{REDACTED} x'"),
        ("-u alice:pw3 x", f"-u alice:{REDACTED} x"),
    ],
)
def test_glued_user_password_forms_are_redacted_in_text(text, expected):
    """Pins review item 5: curl's ``--user=u:pw`` and ``-uu:pw`` hide the password in text.

    Only the two-word ``-u u:pw`` form was hidden (and not at the start of the text).
    """
    assert redact_text(text) == expected


def test_glued_user_password_forms_are_redacted_in_word_lists():
    """Pins review item 5 for exec's command list: each curl-style user:password word."""
    assert redact_command(["curl", "--user=alice:pw1", "-ualice:pw2", "-u", "bob:pw3"]) == [
        "curl",
        f"--user=alice:{REDACTED}",
        f"-ualice:{REDACTED}",
        "-u",
        f"bob:{REDACTED}",
    ]
    assert redact_command(["mysql", "-uroot", "--user=root"]) == ["mysql", "-uroot", "--user=root"]


@pytest.mark.parametrize(
    "text", ["-u" * 50000, "-u " * 34000, "--user=" * 15000, "-ua" * 34000, "-u a" * 25000]
)
def test_user_password_rule_is_linear_on_100_kb(text):
    """Pins review item 5's linear time: 100 kB aimed at the user:password rule, linear."""
    assert len(text) >= 99000
    began = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - began < LINEAR_BOUND_S


def test_an_env_of_none_is_stored_as_none():
    """Pins review item 8: ``env=None`` (no environment) is kept as None, not "[REDACTED]"."""
    assert redact_arguments({"container_id": "web", "env": None})["env"] is None
    assert redact_arguments({"env": "LEVEL=x"})["env"] == REDACTED


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
    assert ts(tools=("docker_restart_container", "docker_inspect_container")) == [4000.0, 2000.0]
    assert ts(tools=()) == []


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
        async def engine_identity(self):
            return {"engine_id": "E1", "cluster_id": None}

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


RESTART_ONCE = Policy(
    mode="execute",
    approval={"risks": []},
    rate_limits=[{"tools": ["docker_restart_container"], "max": 1, "window_s": 600}],
)


async def test_concurrent_runners_sharing_a_sqlite_trail_keep_the_limit(tmp_path):
    """Pins fix 3: two runners on one SQLite file, acting at once, restart once in all.

    Both start before either acts (so neither saw the other's restart in the trail); the
    check of the trail and the pending record are one transaction, so the second waits
    for the first and sees it.
    """
    path = tmp_path / "audit.sqlite3"
    fake = FakeExecutor("web", delay=0.05)
    sinks = [SQLiteAuditSink(path) for _ in range(2)]
    runners = [
        ToolRunner(fake, policy=RESTART_ONCE, audit=sink, own_container_id=None) for sink in sinks
    ]
    envelopes = await asyncio.gather(
        *(
            run.execute_tool("docker_restart_container", {"container_id": "web"})
            for run in runners
            for _ in range(2)
        )
    )
    for sink in sinks:
        await sink.close()
    assert sorted(str(e["ok"] or e["error"]["rule"]) for e in envelopes) == [
        "True",
        "rate_limits[0]",
        "rate_limits[0]",
        "rate_limits[0]",
    ]
    assert fake.find("web")["restart_count"] == 1
    assert len(read_audit(path, AuditQuery(decision="allowed"))) == 1


CONCURRENT_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pathlib import Path
    from operator_core.audit import open_audit
    from operator_core.policy import Policy
    from operator_core.runner import ToolRunner

    class Executor:
        async def engine_identity(self):
            return {"engine_id": "E1", "cluster_id": None}

        async def inspect_container(self, container_id):
            return {"id": "ab" * 32, "name": "web", "labels": {}, "networks": [],
                    "state": {"status": "running"}, "restart_count": 0}

        async def restart_container(self, container_id, timeout=10):
            await asyncio.sleep(0.1)
            return {"container_id": "ab" * 32, "changed": True}

    async def main():
        path, ready, go = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
        policy = Policy(mode="execute", approval={"risks": []}, rate_limits=[
            {"tools": ["docker_restart_container"], "max": 1, "window_s": 600}])
        sink = open_audit(path)
        runner = ToolRunner(Executor(), policy=policy, audit=sink, own_container_id=None)
        ready.touch()
        deadline = time.monotonic() + 30
        while not go.exists() and time.monotonic() < deadline:
            await asyncio.sleep(0.002)
        envelope = await runner.execute_tool("docker_restart_container", {"container_id": "web"})
        await sink.close()
        print(json.dumps(envelope["ok"] or envelope["error"]["rule"]))

    asyncio.run(main())
    """
)


def test_concurrent_operator_processes_restart_once_under_max_1(tmp_path):
    """Pins fix 3: three processes (three `operator docker restart`) at once, max=1: one runs.

    Each process builds its runner (reading the trail, still empty) and waits until all
    three are ready; then all restart at once. Only one restart may pass.
    """
    path = tmp_path / "audit.sqlite3"
    SQLiteAuditSink(path).close_now()  # the schema exists before they race
    go = tmp_path / "go"
    ready = [tmp_path / f"ready{i}" for i in range(3)]
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", CONCURRENT_SCRIPT, str(path), str(flag), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for flag in ready
    ]
    try:
        deadline = time.monotonic() + 60
        while not all(flag.exists() for flag in ready) and time.monotonic() < deadline:
            time.sleep(0.01)
        go.touch()
        outputs = [process.communicate(timeout=60) for process in processes]
    finally:
        for process in processes:
            process.kill()
    answers = sorted(str(json.loads(out.strip().splitlines()[-1])) for out, _ in outputs)
    assert answers == ["True", "rate_limits[0]", "rate_limits[0]"], outputs
    stored = read_audit(path)
    assert sorted(r.outcome for r in stored) == ["denied", "denied", "ok"]


async def test_rate_limit_recall_reads_only_counted_tools_from_the_trail(tmp_path):
    """Pins fix 3's query: a new runner loads the recent mutating actions, not every record.

    The trail holds 300 recent inspects and one restart; the runner's start-up read must
    bring back the restart alone (filtered in SQL by tool).
    """
    path = tmp_path / "audit.sqlite3"
    sink = SQLiteAuditSink(path)
    now = time.time()
    for i in range(300):
        await sink.write(
            record(ts=now - i, tool="docker_inspect_container", container_id=container_id("w"))
        )
    await sink.write(
        record(ts=now - 5, tool="docker_restart_container", container_id=container_id("web"))
    )
    loaded: list[AuditRecord] = []
    original = sink.query

    def spying(query=None):
        found = original(query)
        loaded.extend(found)
        return found

    sink.query = spying
    run = ToolRunner(FakeExecutor("web"), policy=RESTART_ONCE, audit=sink, own_container_id=None)
    assert loaded == []  # building the runner read nothing
    await run.start()
    assert [r.tool for r in loaded] == ["docker_restart_container"]
    envelope = await run.execute_tool("docker_restart_container", {"container_id": "web"})
    await sink.close()
    assert envelope["error"]["rule"] == "rate_limits[0]"


PARITY_IDS = ["ab" * 32, "abcdef" + "0" * 58, "c0ffee" * 10 + "beef"]
PARITY_RECORDS = [
    record(
        id=f"r{index}",
        ts=1000.0 + 10 * index,
        actor=["alice", "bob", None][index % 3],
        tool=["docker_stop_container", "docker_restart_container", "docker_inspect_container"][
            index % 3 if index % 5 else 1
        ],
        outcome=["ok", "failed", "denied", "pending"][index % 4],
        decision=["allowed", "denied"][index % 2],
        container=["web", "db", None, "abcdef"][index % 4],
        container_id=[*PARITY_IDS, None][index % 4],
        container_name=["web", None, "cache"][index % 3],
    )
    for index in range(24)
]
PARITY_QUERIES = [
    AuditQuery(limit=None),
    AuditQuery(since=1050, until=1150, limit=None),
    AuditQuery(since=1050.0, until=1050.0, limit=None),
    AuditQuery(container="web", limit=None),
    AuditQuery(container="abcdef", limit=None),  # a reference and an id prefix
    AuditQuery(container="abcde", limit=None),  # too short for a prefix
    AuditQuery(container="c0ffee", limit=3),
    AuditQuery(container=PARITY_IDS[0], limit=None),
    AuditQuery(tool="docker_restart_container", outcome="failed", limit=None),
    AuditQuery(tools=("docker_stop_container", "docker_inspect_container"), limit=5),
    AuditQuery(tools=(), limit=None),
    AuditQuery(actor="alice", decision="allowed", limit=None),
    AuditQuery(decision="denied", since=1100, container="db", limit=2),
    AuditQuery(id="r7", limit=None),
    AuditQuery(id_prefix="r1", limit=None),
    AuditQuery(id_prefix="r2", actor="bob", limit=None),
]


async def test_every_sink_applies_the_same_filter(tmp_path):
    """SQLite's WHERE clause and the Python filter select the same records for any query.

    The same records go to an in-memory, a JSONL and a SQLite sink; each query returns the
    same ids, in the same order, from all three (one definition: AuditQuery.filters).
    """
    sinks = [
        MemoryAuditSink(),
        JSONLAuditSink(tmp_path / "audit.jsonl"),
        SQLiteAuditSink(tmp_path / "audit.sqlite3"),
    ]
    try:
        for sink in sinks:
            for item in PARITY_RECORDS:
                await sink.write(item)
        for query in PARITY_QUERIES:
            found = [[r.id for r in sink.query(query)] for sink in sinks]
            assert found[0] == found[1] == found[2], query
            expected = [r.id for r in PARITY_RECORDS if query.matches(r)][::-1]
            assert found[0] == expected[: query.limit], query
        assert any(sink.query(PARITY_QUERIES[4]) for sink in sinks)
    finally:
        for sink in sinks:
            await sink.close()
