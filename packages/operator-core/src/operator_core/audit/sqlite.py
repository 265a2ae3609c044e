"""``SQLiteAuditSink``: the default audit trail, one SQLite file in WAL mode.

Each record is one autocommitted ``INSERT OR REPLACE`` run on the sink's own single
worker thread (so writes never queue behind docker calls in the loop's default executor
and never contend with each other). ``synchronous=FULL`` by default: a record is on disk
before ``write`` returns, so even a power cut right after cannot lose it; ``NORMAL``
survives a killed process (the OS has the data) and is cheaper. Several processes may
share the file; WAL lets readers run beside a writer and ``busy_timeout`` waits out locks.

``admit`` reads recent records and writes a new one in one ``BEGIN IMMEDIATE``
transaction: it takes the database's write lock first, so admissions by any process
sharing the file run one at a time (this is what keeps rate limits across processes).
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Literal, TypeVar

from operator_core.audit.base import AuditQuery, TrailEntry, is_container
from operator_core.audit.prune import prune_audit
from operator_core.audit.record import AuditRecord
from operator_core.audit.retention import Bound, PruneResult
from operator_core.errors import AuditError
from operator_core.words import JSONValue

__all__ = ["SQLiteAuditSink"]

T = TypeVar("T")
V = TypeVar("V")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_records (
    id TEXT PRIMARY KEY,
    ts REAL NOT NULL,
    actor TEXT,
    tool TEXT NOT NULL,
    container TEXT,
    container_id TEXT,
    container_name TEXT,
    host TEXT,
    target_key TEXT,
    target_kind TEXT,
    target_id TEXT,
    target_name TEXT,
    decision TEXT NOT NULL,
    rule TEXT,
    outcome TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_ts ON audit_records (ts);
CREATE INDEX IF NOT EXISTS audit_tool ON audit_records (tool, ts);
CREATE INDEX IF NOT EXISTS audit_container_id ON audit_records (container_id, ts);
CREATE INDEX IF NOT EXISTS audit_container_name ON audit_records (container_name, ts);
CREATE INDEX IF NOT EXISTS audit_outcome ON audit_records (outcome, ts);
CREATE INDEX IF NOT EXISTS audit_actor ON audit_records (actor, ts);
"""
#: Columns a file made by an older version lacks, added on open (idempotent; see _migrate).
_ADDED = {
    "host": "TEXT",
    "target_key": "TEXT",
    "target_kind": "TEXT",
    "target_id": "TEXT",
    "target_name": "TEXT",
}
_HOST_INDEX = "CREATE INDEX IF NOT EXISTS audit_host ON audit_records (host, ts)"
#: The rate-limit key of a row (``policy.matching.target_key``): the one it was counted
#: by, else (an older row) its target's (then: container) id, with its host in a fleet.
_KEY = (
    "COALESCE(target_key, CASE WHEN host IS NULL THEN COALESCE(target_id, container_id) "
    "ELSE COALESCE(target_id, container_id) || '@' || host END)"
)
_INSERT = (
    "INSERT OR REPLACE INTO audit_records (id, ts, actor, tool, container, container_id, "
    "container_name, host, target_key, target_kind, target_id, target_name, decision, rule, "
    "outcome, record) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
#: Each filter of ``AuditQuery.filters`` as SQL ({field} is a column; ``in`` adds its marks).
_SQL = {
    "min": "{field} >= ?",
    "max": "{field} <= ?",
    "eq": "{field} = ?",
    "in": "{field} IN ({marks})",
    "prefix": "instr({field}, ?) = 1",
    "container": "opc_is_container(?, container, container_name, container_id)",
}
_COLUMNS = frozenset({"id", "ts", "tool", "outcome", "decision", "actor", "container", "host"})


class SQLiteAuditSink:
    """Audit records in the SQLite file at ``path`` (created, with its directory, if absent)."""

    def __init__(
        self, path: str | Path, *, synchronous: Literal["FULL", "NORMAL"] = "FULL"
    ) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-sqlite")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, isolation_level=None, check_same_thread=False, timeout=10.0
            )
            self._db.create_function("opc_is_container", 4, is_container, deterministic=True)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(f"PRAGMA synchronous={synchronous}")
            self._db.executescript(_SCHEMA)
            _migrate(self._db)
        except (OSError, sqlite3.Error) as exc:
            self._worker.shutdown(wait=False)
            raise AuditError(f"cannot open the audit database {self.path}: {exc}") from exc

    async def write(self, record: AuditRecord) -> None:
        """Insert (or replace) ``record`` and commit; raise AuditError if that fails."""
        row = _row(record)
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(
            self._worker, self._guarded, lambda: self._db.execute(_INSERT, row)
        )

    async def admit(
        self,
        record: AuditRecord,
        recent: AuditQuery,
        judge: Callable[[list[TrailEntry]], V | None],
    ) -> V | None:
        """Judge the entries ``recent`` selects and, if ``judge`` returns None, insert ``record``.

        One ``BEGIN IMMEDIATE`` transaction: no other connection, in this process or
        another, writes between the read and the insert. Return what ``judge`` returned.
        """
        row = _row(record)
        where, params = _where(recent)
        sql = f"SELECT tool, {_KEY}, ts FROM audit_records{where}"  # noqa: S608 (fixed fragments)

        def work() -> V | None:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                past = [TrailEntry(*entry) for entry in self._db.execute(sql, params)]
                verdict = judge(past)
                if verdict is None:
                    self._db.execute(_INSERT, row)
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
            return verdict

        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._guarded, work)

    def query(self, query: AuditQuery | None = None) -> list[AuditRecord]:
        """Return the records matching ``query``, newest first."""
        query = query or AuditQuery()
        where, params = _where(query)
        sql = f"SELECT record FROM audit_records{where} ORDER BY ts DESC"  # noqa: S608 (fixed fragments)
        if query.limit is not None:
            sql += " LIMIT ?"
            params.append(query.limit)
        rows = self._guarded(lambda: self._db.execute(sql, params).fetchall())
        return [AuditRecord.model_validate_json(row[0]) for row in rows]

    def count(self) -> int:
        """Return how many records the file holds."""
        return int(
            self._guarded(
                lambda: self._db.execute("SELECT count(*) FROM audit_records").fetchone()[0]
            )
        )

    async def prune(
        self, bound: Bound, *, now: float | None = None, export: Path | None = None
    ) -> PruneResult:
        """Remove the records past ``bound`` (see ``operator_core.audit.retention``), off the loop.

        One chunk per turn of the worker thread, so the trail's writes go between chunks.
        """
        at = time.time() if now is None else now
        loop = asyncio.get_running_loop()
        removed, finished = 0, False
        while not finished:
            removed_now, kept, finished = await loop.run_in_executor(
                self._worker,
                self._guarded,
                lambda: prune_audit(self._db, bound, at, export, chunks=1),
            )
            removed += removed_now
        return self._pruned(bound, removed, kept, export)

    def prune_now(
        self, bound: Bound, now: float | None = None, export: Path | None = None
    ) -> PruneResult:
        """Remove the records past ``bound`` at ``now`` (default: the wall clock).

        A pending record stays, and so does every record of the last 7 days; ``export``
        gets the removed records first, as JSON lines.
        """
        at = time.time() if now is None else now
        removed, kept, _ = self._guarded(lambda: prune_audit(self._db, bound, at, export))
        return self._pruned(bound, removed, kept, export)

    def _pruned(self, bound: Bound, removed: int, kept: int, export: Path | None) -> PruneResult:
        return PruneResult(
            store="audit",
            path=str(self.path),
            bound=bound.describe(),
            removed=removed,
            kept=kept,
            exported=None if export is None else str(export),
        )

    async def close(self) -> None:
        """Close the database and stop the worker thread (after pending writes)."""
        await asyncio.to_thread(self.close_now)

    def close_now(self) -> None:
        """Close without an event loop (for readers); pending writes finish first."""
        self._worker.shutdown(wait=True)
        self._guarded(self._db.close)

    def _guarded(self, work: Callable[[], T]) -> T:
        """Run ``work`` on the connection under the lock, turning sqlite errors into AuditError."""
        with self._lock:
            try:
                return work()
            except sqlite3.Error as exc:
                raise AuditError(f"audit database {self.path}: {exc}") from exc


def _row(record: AuditRecord) -> tuple[str | float | None, ...]:
    """Return the column values of ``record`` in ``_INSERT``'s order."""
    return (
        record.id,
        record.ts,
        record.actor,
        record.tool,
        record.container,
        record.container_id,
        record.container_name,
        record.host,
        record.target_key,
        record.target_kind,
        record.target_id,
        record.target_name,
        record.decision,
        record.rule,
        record.outcome,
        record.to_json(),
    )


def _migrate(db: sqlite3.Connection) -> None:
    """Give an older file the columns it lacks (``host``, ``target_*``); others may race us."""
    columns = {row[1] for row in db.execute("PRAGMA table_info(audit_records)")}
    for column, kind in _ADDED.items():
        if column in columns:
            continue
        try:
            db.execute(f"ALTER TABLE audit_records ADD COLUMN {column} {kind}")
        except sqlite3.OperationalError as exc:
            if "duplicate column" not in str(exc).lower():
                raise
    db.execute(_HOST_INDEX)


def _where(query: AuditQuery) -> tuple[str, list[JSONValue]]:
    """Return the WHERE clause and its parameters for ``query``'s filters."""
    clauses: list[str] = []
    params: list[JSONValue] = []
    for rule in query.filters():
        if rule.field not in _COLUMNS:  # never: the filters name columns of the table
            raise AssertionError(f"audit query filter on unknown column {rule.field!r}")
        values = rule.operands()
        if rule.op == "in" and not values:
            clauses.append("0")
            continue
        marks = ", ".join("?" * len(values))
        clauses.append(_SQL[rule.op].format(field=rule.field, marks=marks))
        params.extend(values)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params
