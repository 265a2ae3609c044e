"""The audit trail: every tool call, allowed or not, recorded before its result returns.

``open_audit(path)`` picks the sink by file name (``.jsonl``: JSON lines; anything else:
SQLite); ``read_audit(path, AuditQuery(...))`` reads either kind back.
"""

from __future__ import annotations

from pathlib import Path

from operator_core.audit.base import (
    AdmittingSink,
    AuditQuery,
    AuditSink,
    MemoryAuditSink,
    Moment,
    TrailEntry,
    select,
)
from operator_core.audit.jsonl import JSONLAuditSink, read_jsonl
from operator_core.audit.record import AuditRecord, Decision, Outcome, new_record_id, to_epoch
from operator_core.audit.redact import (
    REDACTED,
    redact_arguments,
    redact_command,
    redact_text,
    redact_value,
)
from operator_core.audit.sqlite import SQLiteAuditSink
from operator_core.errors import AuditError

__all__ = [
    "REDACTED",
    "AdmittingSink",
    "AuditQuery",
    "AuditRecord",
    "AuditSink",
    "Decision",
    "JSONLAuditSink",
    "MemoryAuditSink",
    "Moment",
    "Outcome",
    "SQLiteAuditSink",
    "TrailEntry",
    "new_record_id",
    "open_audit",
    "read_audit",
    "read_jsonl",
    "redact_arguments",
    "redact_command",
    "redact_text",
    "redact_value",
    "select",
    "to_epoch",
]


def open_audit(path: str | Path) -> SQLiteAuditSink | JSONLAuditSink:
    """Return the sink for ``path``: JSON lines for ``*.jsonl``, SQLite otherwise."""
    file = Path(path)
    return JSONLAuditSink(file) if file.suffix == ".jsonl" else SQLiteAuditSink(file)


def read_audit(path: str | Path, query: AuditQuery | None = None) -> list[AuditRecord]:
    """Return the records of the audit file at ``path`` matching ``query``, newest first."""
    file = Path(path)
    if file.suffix == ".jsonl":
        return select(read_jsonl(file), query or AuditQuery())
    if not file.exists():
        raise AuditError(f"no audit database at {file}")
    sink = SQLiteAuditSink(file)
    try:
        return sink.query(query)
    finally:
        sink.close_now()
