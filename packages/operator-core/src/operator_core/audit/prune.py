"""Prune the SQLite audit trail by the retention rule (``operator_core.audit.retention``).

Records past the bound go oldest first, ``PRUNE_CHUNK`` per ``BEGIN IMMEDIATE``
transaction; a ``pending`` record never goes, nor one younger than ``AUDIT_FLOOR_S``.
With an export file each chunk is appended to it as JSON lines (the audit trail's own
JSONL format, so ``operator --audit-db FILE.jsonl audit list`` reads it) and fsynced
before the chunk is deleted: a crash between the two leaves a record in both places,
never in neither.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from operator_core.audit.retention import AUDIT_FLOOR_S, CUTOFF_SQL, PRUNE_CHUNK, Bound, cutoffs
from operator_core.errors import AuditError

__all__ = ["prune_audit"]

#: Records a prune may remove: settled ones (a pending record is an action under way).
_SETTLED = "outcome != 'pending'"
_NTH_NEWEST = f"SELECT ts FROM audit_records WHERE {_SETTLED} ORDER BY ts DESC LIMIT 1 OFFSET ?"  # noqa: S608


def prune_audit(
    db: sqlite3.Connection,
    bound: Bound,
    now: float,
    export: Path | None = None,
    *,
    chunks: int | None = None,
) -> tuple[int, int, bool]:
    """Remove the records past ``bound`` at ``now``; return (removed, kept, finished).

    ``export`` (a path) gets every removed record first, appended; AuditError when it
    cannot be written (then nothing more is removed). ``chunks`` stops after that many
    chunks (``finished`` is then False when more may be left), so a running service can
    let its writes through between chunks.
    """
    nth = None
    if bound.max_rows is not None:
        row = db.execute(_NTH_NEWEST, (bound.max_rows,)).fetchone()
        nth = None if row is None else float(row[0])
    cut = cutoffs(now, bound, nth, AUDIT_FLOOR_S)
    where = f"{CUTOFF_SQL.format(t='ts')} AND {_SETTLED}"
    pick = f"SELECT id, record FROM audit_records WHERE {where} ORDER BY ts LIMIT ?"  # noqa: S608
    fd = _open_export(export)
    removed, done, finished = 0, 0, False
    try:
        while chunks is None or done < chunks:
            db.execute("BEGIN IMMEDIATE")
            try:
                rows = db.execute(pick, (*cut.params(), PRUNE_CHUNK)).fetchall()
                if fd is not None and rows:
                    _append(fd, export, [str(record) for _, record in rows])
                db.executemany("DELETE FROM audit_records WHERE id = ?", [(r[0],) for r in rows])
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
            removed, done = removed + len(rows), done + 1
            if len(rows) < PRUNE_CHUNK:
                finished = True
                break
    finally:
        if fd is not None:
            os.close(fd)
    kept = int(db.execute("SELECT count(*) FROM audit_records").fetchone()[0])
    return removed, kept, finished


def _open_export(path: Path | None) -> int | None:
    """Open the export file for appending (created 0600), or None without one."""
    if path is None:
        return None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        return os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    except OSError as exc:
        raise AuditError(f"cannot open the export file {path}: {exc}") from exc


def _append(fd: int, path: Path | None, lines: list[str]) -> None:
    """Append ``lines`` to the export and fsync it; AuditError when that fails."""
    data = "".join(line + "\n" for line in lines).encode("utf-8")
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError as exc:
        raise AuditError(f"cannot write the export file {path}: {exc}") from exc
