"""The SQLite trail's promises the other tests left open (issue 20: audit/sqlite.py mutants).

How many records a file holds; a trail in a folder that does not exist yet; ``admit``'s
one transaction (a judge that fails leaves nothing behind and the trail usable); an older
file gaining each column it lacks, even when another process adds one first; ``prune_now``
and its report. Each test uses a private file; clocks are given, never read.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any, Literal

import pytest
import time_machine

from operator_core.audit import AuditQuery, AuditRecord, SQLiteAuditSink
from operator_core.audit import sqlite as sqlite_module
from operator_core.audit.retention import DAY_S, Bound
from operator_core.errors import AuditError

NOW = 1_795_946_400.0


def record(ts: float, **fields: Any) -> AuditRecord:
    """Return a finished restart record made at ``ts``."""
    base: dict[str, Any] = {
        "time": "t",
        "ts": ts,
        "tool": "docker_restart_container",
        "decision": "allowed",
        "outcome": "ok",
    }
    return AuditRecord(**{**base, **fields})


async def test_count_is_the_number_of_records_the_file_holds(tmp_path: Path) -> None:
    """An empty trail holds 0; three writes of which one replaces a pending record hold 2."""
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    try:
        assert sink.count() == 0
        pending = record(NOW, id="one", outcome="pending")
        await sink.write(pending)
        await sink.write(pending.model_copy(update={"outcome": "ok"}))
        await sink.write(record(NOW + 1, id="two"))
        assert sink.count() == 2
    finally:
        await sink.close()


async def test_a_trail_in_a_folder_that_does_not_exist_yet_is_created_with_it(
    tmp_path: Path,
) -> None:
    """The file's folder and its parents are made; the trail then works and reopens."""
    path = tmp_path / "a" / "b" / "audit.sqlite3"
    sink = SQLiteAuditSink(path)
    await sink.write(record(NOW, id="x"))
    await sink.close()
    again = SQLiteAuditSink(path)
    try:
        assert [r.id for r in again.query()] == ["x"]
    finally:
        await again.close()


def none(entries: list[Any]) -> str | None:
    """A judge that lets every call through."""
    return None


async def test_a_judge_that_fails_leaves_nothing_written_and_the_trail_usable(
    tmp_path: Path,
) -> None:
    """The admission's transaction is rolled back: no record, and the next calls work."""
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")

    def broken(entries: list[Any]) -> None:
        raise ValueError("a bug in a judge")

    try:
        with pytest.raises(ValueError, match="a bug in a judge"):
            await sink.admit(record(NOW, id="first"), AuditQuery(since=0.0), broken)
        assert sink.count() == 0
        verdict: object = await sink.admit(record(NOW, id="second"), AuditQuery(since=0.0), none)
        assert verdict is None
        await sink.write(record(NOW + 1, id="third"))
        assert sorted(r.id for r in sink.query()) == ["second", "third"]
    finally:
        await sink.close()


async def test_admit_writes_only_when_the_judge_says_nothing_and_returns_its_verdict(
    tmp_path: Path,
) -> None:
    """A verdict is returned and nothing is written (None: the record is written).

    The judge runs on the trail's own writer thread, never the loop's default executor.
    """
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    threads: list[str] = []

    def deny(entries: list[Any]) -> str:
        threads.append(threading.current_thread().name)
        return "too many"

    try:
        await sink.write(record(NOW - 5, id="old", container_id="c1"))
        assert await sink.admit(record(NOW, id="new"), AuditQuery(since=NOW - 10), deny) == (
            "too many"
        )
        assert [r.id for r in sink.query()] == ["old"]
        assert threads[0].startswith("audit-sqlite")
    finally:
        await sink.close()


def _old_file(path: Path, columns: str) -> None:
    db = sqlite3.connect(path)
    db.executescript(
        "CREATE TABLE audit_records (id TEXT PRIMARY KEY, ts REAL NOT NULL, actor TEXT, "
        "tool TEXT NOT NULL, container TEXT, container_id TEXT, container_name TEXT, "
        f"{columns}decision TEXT NOT NULL, rule TEXT, outcome TEXT NOT NULL, record TEXT NOT NULL);"
    )
    db.close()


async def test_a_file_with_a_host_column_but_no_target_columns_gains_them(tmp_path: Path) -> None:
    """A file from a version with hosts but before target keys gets every column it lacks.

    A record with a target key is then written and counted by that key; queries by host
    use the host index.
    """
    path = tmp_path / "mid.sqlite3"
    _old_file(path, "host TEXT, ")
    sink = SQLiteAuditSink(path)
    seen: list[Any] = []
    try:
        await sink.write(record(NOW, id="a", host="edge", target_key="engine:E/c1"))
        await sink.admit(record(NOW, id="b"), AuditQuery(since=0.0), seen.extend)
        assert [(entry.tool, entry.key) for entry in seen] == [
            ("docker_restart_container", "engine:E/c1")
        ]
    finally:
        await sink.close()
    with sqlite3.connect(path) as db:
        indexes = {
            row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='index'")
        }
    assert "audit_host" in indexes


class Racing:
    """A connection on which another process added ``host`` between our look and our ALTER."""

    def __init__(self, error: str) -> None:
        self.error = error
        self.done: list[str] = []

    def execute(self, sql: str, *args: object) -> list[tuple[object, ...]]:
        if sql.startswith("PRAGMA table_info"):
            return [(0, "id"), (1, "target_key"), (2, "target_kind")]
        if sql.startswith("ALTER") and " host " in sql:
            raise sqlite3.OperationalError(self.error)
        self.done.append(sql)
        return []


def test_a_column_another_process_added_first_is_not_an_error() -> None:
    """'duplicate column name: host' from the ALTER means it is there: the others go on."""
    db = Racing("duplicate column name: host")
    sqlite_module._migrate(db)  # type: ignore[arg-type]
    assert db.done == [
        "ALTER TABLE audit_records ADD COLUMN target_id TEXT",
        "ALTER TABLE audit_records ADD COLUMN target_name TEXT",
        sqlite_module._HOST_INDEX,
    ]


def test_any_other_failure_to_add_a_column_is_raised() -> None:
    """Another OperationalError (a locked or read-only file) is not taken for a race."""
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        sqlite_module._migrate(Racing("attempt to write a readonly database"))  # type: ignore[arg-type]


async def test_prune_now_removes_past_the_bound_and_reports_what_it_did(tmp_path: Path) -> None:
    """Records older than 30 days at ``now`` (2001, not today) go, exported first; reported."""
    path = tmp_path / "audit.sqlite3"
    export = tmp_path / "gone.jsonl"
    then = 1_000_000_000.0
    sink = SQLiteAuditSink(path)
    try:
        for age in (1, 40, 100):
            await sink.write(record(then - age * DAY_S, id=f"r{age}"))
        result = sink.prune_now(Bound.of(30 * DAY_S, None), then, export)
        assert result == {
            "store": "audit",
            "path": str(path),
            "bound": "older than 30d",
            "removed": 2,
            "kept": 1,
            "exported": str(export),
        }
        assert [r.id for r in sink.query()] == ["r1"]
        assert len(export.read_text().splitlines()) == 2
    finally:
        await sink.close()


async def test_a_prune_runs_on_the_trails_writer_and_says_a_database_fault_as_audit_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each chunk runs on the trail's own writer thread; an sqlite error is an AuditError."""
    threads: list[str] = []

    def failing(*args: object, **kwargs: object) -> tuple[int, int, bool]:
        threads.append(threading.current_thread().name)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(sqlite_module, "prune_audit", failing)
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    try:
        with pytest.raises(AuditError, match="disk I/O error"):
            await sink.prune(Bound.of(30 * DAY_S, None), now=NOW)
        with pytest.raises(AuditError, match="disk I/O error"):
            sink.prune_now(Bound.of(30 * DAY_S, None), NOW)
    finally:
        await sink.close()
    assert threads[0].startswith("audit-sqlite")


@pytest.mark.parametrize("how", ["prune_now", "prune"])
async def test_a_prune_without_now_measures_age_by_the_wall_clock(tmp_path: Path, how: str) -> None:
    """With no ``now``, ages count from the wall clock (here pinned); nothing is exported."""
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    try:
        for age in (1, 40):
            await sink.write(record(NOW - age * DAY_S, id=f"r{age}"))
        with time_machine.travel(NOW, tick=False):
            bound = Bound.of(30 * DAY_S, None)
            result = sink.prune_now(bound) if how == "prune_now" else await sink.prune(bound)
        assert (result["removed"], result["kept"], result["exported"]) == (1, 1, None)
    finally:
        await sink.close()


def test_a_closed_trail_refuses_reads_with_an_audit_error(tmp_path: Path) -> None:
    """After close_now a read is an AuditError naming the file (not a raw sqlite error)."""
    sink = SQLiteAuditSink(tmp_path / "audit.sqlite3")
    sink.close_now()
    with pytest.raises(AuditError, match=r"audit\.sqlite3"):
        sink.count()


@pytest.mark.parametrize(("given", "level"), [(None, 2), ("FULL", 2), ("NORMAL", 1)])
async def test_a_trail_syncs_every_write_to_disk_unless_told_normal(
    tmp_path: Path, given: Literal["FULL", "NORMAL"] | None, level: int
) -> None:
    """By default (FULL) a record is on disk before write returns; NORMAL is asked for."""
    path = tmp_path / "audit.sqlite3"
    sink = SQLiteAuditSink(path) if given is None else SQLiteAuditSink(path, synchronous=given)
    try:
        assert sink._db.execute("PRAGMA synchronous").fetchone()[0] == level
    finally:
        await sink.close()


async def test_closing_lets_the_writes_already_handed_over_finish_first(tmp_path: Path) -> None:
    """Writes under way when the trail is closed all land; none fails on a closed file."""
    path = tmp_path / "audit.sqlite3"
    sink = SQLiteAuditSink(path)
    writes = [asyncio.ensure_future(sink.write(record(NOW + i, id=f"w{i}"))) for i in range(20)]
    await asyncio.sleep(0)  # each write hands its insert to the worker
    await sink.close()
    await asyncio.gather(*writes)
    again = SQLiteAuditSink(path)
    try:
        assert again.count() == 20
    finally:
        await again.close()
