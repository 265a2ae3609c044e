"""``JSONLAuditSink``: the audit trail as a file of JSON lines, one record per line.

Each record is appended with a single ``write`` on an ``O_APPEND`` descriptor (so lines
of concurrent writers, even of other processes, never mix) and, by default, ``fsync``ed
before ``write`` returns. A pending record and its final version are two lines with one
id; readers keep the last. A line cut short by a crash is skipped when reading.
"""

from __future__ import annotations

import asyncio
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pydantic import ValidationError

from operator_core.audit.base import AuditQuery, select
from operator_core.audit.record import AuditRecord
from operator_core.errors import AuditError

__all__ = ["JSONLAuditSink", "read_jsonl"]


class JSONLAuditSink:
    """Audit records appended to the file at ``path`` (created, with its directory, if absent)."""

    def __init__(self, path: str | Path, *, fsync: bool = True) -> None:
        self.path = Path(path)
        self._fsync = fsync
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-jsonl")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        except OSError as exc:
            self._worker.shutdown(wait=False)
            raise AuditError(f"cannot open the audit log {self.path}: {exc}") from exc

    async def write(self, record: AuditRecord) -> None:
        """Append ``record`` as one line (and fsync it); raise AuditError if that fails."""
        line = (record.to_json() + "\n").encode("utf-8")
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._worker, self._append, line)

    def _append(self, line: bytes) -> None:
        """Write ``line`` in one call, then fsync when asked."""
        try:
            written = os.write(self._fd, line)
            if written != len(line):
                raise OSError(f"short write: {written} of {len(line)} bytes")
            if self._fsync:
                os.fsync(self._fd)
        except OSError as exc:
            raise AuditError(f"cannot append to the audit log {self.path}: {exc}") from exc

    def query(self, query: AuditQuery | None = None) -> list[AuditRecord]:
        """Return the records matching ``query``, newest first."""
        return select(read_jsonl(self.path), query or AuditQuery())

    async def close(self) -> None:
        """Close the file and stop the worker thread (after pending writes)."""
        await asyncio.to_thread(self._worker.shutdown, wait=True)
        os.close(self._fd)


def read_jsonl(path: str | Path) -> list[AuditRecord]:
    """Return the records of a JSONL audit file, the last version of each id."""
    latest: dict[str, AuditRecord] = {}
    try:
        text = Path(path).read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        raise AuditError(f"cannot read the audit log {path}: {exc}") from exc
    for line in text.splitlines():
        try:
            record = AuditRecord.model_validate(json.loads(line))
        except (json.JSONDecodeError, ValidationError):
            continue  # a line cut short by a crash, or not ours
        latest[record.id] = record
    return list(latest.values())
