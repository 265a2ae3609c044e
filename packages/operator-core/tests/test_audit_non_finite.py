"""A non-finite number never reaches the audit trail as null, nor as invalid JSON (issue 20).

pydantic's ``model_dump_json`` writes NaN and Infinity as null, which says the value was
absent; Python's ``json`` would write the bare words NaN/Infinity, which no strict JSON
reader takes. A record keeps them as the strings "NaN", "Infinity", "-Infinity" in
free-form fields, and refuses them in its own numbers (``ts``, ``duration_ms``).
"""

from __future__ import annotations

import asyncio
import json
import math
import sqlite3

import pytest
from pydantic import ValidationError

from operator_core.audit import AuditRecord, JSONLAuditSink, SQLiteAuditSink

NAN, INF = float("nan"), float("inf")


def _record(**fields: object) -> AuditRecord:
    base: dict[str, object] = {
        "time": "2026-01-01T00:00:00+00:00",
        "ts": 1000.0,
        "tool": "docker_get_container_stats",
        "decision": "allowed",
        "outcome": "ok",
    }
    return AuditRecord(**{**base, **fields})


def _strict(text: str) -> object:
    """Parse ``text`` as strict JSON: NaN, Infinity and -Infinity are refused."""

    def refuse(word: str) -> object:
        raise ValueError(f"not JSON: {word}")

    return json.loads(text, parse_constant=refuse)


def test_non_finite_numbers_are_written_as_their_names_never_null():
    """NaN, Infinity, -Infinity in arguments and result are strings in the record's JSON."""
    record = _record(
        arguments={"limit": NAN, "nested": [INF, -INF, 1.5]}, result={"cpu_percent": NAN}
    )
    data = _strict(record.to_json())
    assert isinstance(data, dict)
    assert data["arguments"] == {"limit": "NaN", "nested": ["Infinity", "-Infinity", 1.5]}
    assert data["result"] == {"cpu_percent": "NaN"}


def test_the_record_in_memory_is_the_record_stored():
    """The record read back equals the record written (no NaN != NaN, no null)."""
    record = _record(before={"cpu": INF})
    assert record.before == {"cpu": "Infinity"}
    assert AuditRecord.model_validate_json(record.to_json()) == record


@pytest.mark.parametrize("field", ["ts", "duration_ms"])
@pytest.mark.parametrize("value", [NAN, INF, -INF])
def test_a_non_finite_time_or_duration_is_refused(field, value):
    """The record's own ts and duration_ms refuse a non-finite value (it would be a bug)."""
    with pytest.raises(ValidationError):
        _record(**{field: value})
    assert math.isfinite(_record(**{field: 2.5}).model_dump()[field])


@pytest.mark.parametrize("kind", ["jsonl", "sqlite"])
def test_each_trail_holds_strict_json_and_reads_the_strings_back(tmp_path, kind):
    """Both sinks store strict JSON; reading gives the names back, not None."""
    path = tmp_path / ("audit.jsonl" if kind == "jsonl" else "audit.sqlite3")
    sink = JSONLAuditSink(path) if kind == "jsonl" else SQLiteAuditSink(path)

    async def write() -> None:
        await sink.write(_record(result={"mem": NAN, "cpu": -INF}))

    asyncio.run(write())
    (read,) = sink.query()
    asyncio.run(sink.close())
    assert read.result == {"mem": "NaN", "cpu": "-Infinity"}
    if kind == "jsonl":
        stored = path.read_text(encoding="utf-8").splitlines()
    else:
        with sqlite3.connect(path) as db:
            stored = [row[0] for row in db.execute("SELECT record FROM audit_records")]
    assert [_strict(line)["result"] for line in stored] == [{"mem": "NaN", "cpu": "-Infinity"}]  # type: ignore[index]
