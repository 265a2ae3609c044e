"""Unit tests of retention: the audit trail's prune rule, its CLI, the services' loop, labels."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest
from typer.testing import CliRunner

from operator_core.audit import AuditRecord, SQLiteAuditSink, read_audit
from operator_core.audit.labels import redact_label_map
from operator_core.audit.redact import REDACTED
from operator_core.audit.retention import DAY_S, Bound, PruneResult, keep_pruning
from operator_core.cli import app
from operator_core.errors import AuditError, PolicyError
from operator_core.policy import Policy

NOW = 1_795_946_400.0


def record(age_days: float, outcome: str = "ok", now: float = NOW, **fields) -> AuditRecord:
    """Return a record made ``age_days`` before ``now``."""
    ts = now - age_days * DAY_S
    base = {"time": "x", "ts": ts, "tool": "docker_restart_container", "decision": "allowed"}
    return AuditRecord(**{**base, "outcome": outcome, **fields})


@pytest.fixture
async def trail(tmp_path):
    """A SQLite audit trail in a private file."""
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    yield sink
    await sink.close()


async def write(sink: SQLiteAuditSink, *records: AuditRecord) -> None:
    """Write ``records`` to ``sink``."""
    for item in records:
        await sink.write(item)


def ages(sink: SQLiteAuditSink) -> list[float]:
    """Return the ages (days before NOW) of the records ``sink`` holds, sorted."""
    return sorted(round((NOW - r.ts) / DAY_S) for r in sink.query(None))


async def test_records_past_the_age_go_and_a_pending_one_never(trail):
    """30-day bound: the 40- and 100-day-old records go; a 100-day-old pending one stays."""
    await write(trail, record(1), record(29), record(40), record(100), record(100, "pending"))
    result = await trail.prune(Bound.of(30 * DAY_S, None), now=NOW)
    assert (result["removed"], result["kept"], result["store"]) == (2, 3, "audit")
    assert ages(trail) == [1, 29, 100]
    assert [r.outcome for r in trail.query(None) if r.ts < NOW - 50 * DAY_S] == ["pending"]


async def test_a_row_bound_keeps_the_newest_but_never_the_last_seven_days(trail):
    """max_rows 2 of five: the oldest go, but records of the last 7 days stay regardless."""
    await write(trail, *(record(age) for age in (1, 2, 3, 20, 30)))
    result = await trail.prune(Bound.of(None, 2), now=NOW)
    assert result["removed"] == 2
    assert ages(trail) == [1, 2, 3]


async def test_an_export_gets_every_removed_record_first(trail, tmp_path):
    """The removed records are appended to the export, which reads as a JSON-lines trail."""
    await write(trail, record(1, id="keep"), record(40, id="old-1"), record(50, id="old-2"))
    export = tmp_path / "archive" / "old.jsonl"
    result = await trail.prune(Bound.of(30 * DAY_S, None), now=NOW, export=export)
    assert result["exported"] == str(export)
    assert sorted(r.id for r in read_audit(export)) == ["old-1", "old-2"]
    assert [r.id for r in trail.query(None)] == ["keep"]
    assert oct(export.stat().st_mode & 0o777) == "0o600"


async def test_an_export_that_cannot_be_written_removes_nothing(trail, tmp_path):
    """No place to export to: AuditError, and every record is still in the trail."""
    await write(trail, record(40))
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(AuditError, match="export"):
        await trail.prune(Bound.of(30 * DAY_S, None), now=NOW, export=blocker / "x.jsonl")
    assert ages(trail) == [40]


def test_a_retention_under_seven_days_is_refused_at_load():
    """The audit age bound must leave rate limits their 7 days (or be 0: keep forever)."""
    with pytest.raises(PolicyError, match="at least 7 days"):
        Policy(retention={"audit_max_age_days": 3})
    assert Policy(retention={"audit_max_age_days": 0}).retention.audit() == Bound()
    assert Policy().retention.history() == Bound(7 * DAY_S, 1_000_000)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``operator ARGS`` in-process with no user policy."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("OPERATOR_POLICY", raising=False)
    monkeypatch.delenv("OPERATOR_HISTORY_DB", raising=False)

    def run(*args: str):
        return CliRunner().invoke(app, list(args), prog_name="operator")

    return run


async def test_audit_prune_from_the_command_line(cli, trail, tmp_path):
    """`operator audit prune --older-than 30d --json` removes the old record and says so."""
    now = time.time()  # the command prunes by the wall clock
    await write(trail, record(1, now=now), record(3650, now=now))
    result = cli("--audit-db", str(trail.path), "audit", "prune", "--older-than", "30d", "--json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)["result"]
    assert (body["removed"], body["kept"]) == (1, 1)


@pytest.mark.parametrize(
    ("name", "args", "message"),
    [
        ("audit.jsonl", ["--older-than", "30d"], "SQLite trail only"),
        ("audit.sqlite3", ["--older-than", "1d"], "at least 7d"),
        ("audit.sqlite3", ["--older-than", "soon"], "not a duration"),
    ],
)
def test_audit_prune_refuses_what_it_cannot_do_and_changes_nothing(
    cli, tmp_path, name, args, message
):
    """A JSONL trail, a bound under 7 days or a bad duration: a clear error, no file touched."""
    path = tmp_path / name
    path.write_bytes(b"")
    result = cli("--audit-db", str(path), "audit", "prune", *args)
    assert result.exit_code != 0
    assert message in " ".join(result.output.split())
    assert path.read_bytes() == b""


def test_history_commands_without_a_history_say_how_one_is_made(cli, tmp_path):
    """No watch ever recorded: status and prune say so, and create no file."""
    path = tmp_path / "none.sqlite3"
    for command in ("status", "prune"):
        result = cli("--history-db", str(path), "history", command)
        assert result.exit_code != 0
        assert "operator watch" in " ".join(result.output.split())
    assert not path.exists()


async def test_the_services_keep_pruning_after_a_store_fails(caplog):
    """A prune that fails (file locked, disk gone) is logged and tried again next period."""
    calls: list[str] = []

    async def failing() -> PruneResult:
        calls.append("fail")
        raise AuditError("database is locked")

    async def working() -> PruneResult:
        calls.append("ok")
        return PruneResult(store="audit", path="p", bound="b", removed=0, kept=0, exported=None)

    async def sleep(_: float) -> None:
        if len(calls) >= 4:
            raise asyncio.CancelledError

    with caplog.at_level(logging.WARNING), pytest.raises(asyncio.CancelledError):
        await keep_pruning([failing, working], 60, sleep=sleep)
    assert calls == ["fail", "ok", "fail", "ok"]
    assert "database is locked" in caplog.text


async def test_a_bug_in_a_prune_is_not_swallowed():
    """Only the store's own errors are retried; a bug propagates."""

    async def buggy() -> PruneResult:
        raise KeyError("bug")

    async def sleep(_: float) -> None:
        raise AssertionError("the bug was swallowed and the loop went on")

    with pytest.raises(KeyError):
        await keep_pruning([buggy], 60, sleep=sleep)


@pytest.mark.parametrize(
    ("labels", "hidden"),
    [
        ({"db_password": "hunter2"}, "db_password"),
        ({"API_TOKEN": "abc"}, "API_TOKEN"),
        ({"traefik.http.middlewares.a.basicauth.users": "admin:$apr1$x$y"}, None),
        ({"note": "admin:$2y$05$abcdefghijkl"}, "note"),
        ({"url": "postgres://app:pw@db/x"}, "url"),
    ],
)
def test_secret_looking_labels_are_hidden_whole(labels, hidden):
    """By key (as env is) or by value (a hash, a URL's password): the whole value is hidden."""
    out = redact_label_map({**labels, "tier": "web"})
    assert out["tier"] == "web"
    for key in labels if hidden is None else [hidden]:
        assert out[key] == REDACTED


async def test_a_running_service_prunes_one_chunk_per_turn_of_its_writer(trail, monkeypatch):
    """The service's prune hands the worker back after each chunk, so writes go between.

    Chunks of 2: five old records take three turns (2, 2, 1), and a record written while
    the prune runs is written (it is new, so it stays).
    """
    from operator_core.audit import prune as prune_module
    from operator_core.audit import sqlite as sqlite_module

    monkeypatch.setattr(prune_module, "PRUNE_CHUNK", 2)
    turns: list[int | None] = []
    real = sqlite_module.prune_audit

    def counted(*args, **kwargs):
        turns.append(kwargs.get("chunks"))
        return real(*args, **kwargs)

    monkeypatch.setattr(sqlite_module, "prune_audit", counted)
    await write(trail, *(record(40 + i) for i in range(5)))
    pruning = asyncio.ensure_future(trail.prune(Bound.of(30 * DAY_S, None), now=NOW))
    await write(trail, record(0, id="new"))
    result = await pruning
    assert turns == [1, 1, 1]
    assert (result["removed"], result["kept"]) == (5, 1)


@pytest.mark.parametrize(
    ("age", "rows", "said"),
    [
        (60, None, "older than 1m"),
        (5400, None, "older than 1.5h"),
        (30 * DAY_S, 10, "older than 30d, beyond 10 rows"),
        (None, None, "none (keep forever)"),
    ],
)
def test_a_bound_is_said_in_the_unit_that_fits(age, rows, said):
    """What a prune reports reads as a person wrote it: 1m, 1.5h, 30d."""
    assert Bound.of(age, rows).describe() == said
