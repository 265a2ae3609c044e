"""The audit record's free-form fields hold JSON values, typed so (issue 20: no ``Any``).

``arguments``, ``error``, ``before``, ``after`` and ``result`` are pydantic ``JsonValue``s:
the record in memory is the record stored; a trail written before reads the same; a
Python caller's argument that JSON cannot hold is named, not kept, and the call keeps its
record; the operator's own value that JSON cannot hold is a bug, and is not hidden.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from operator_core.audit import AuditQuery, JSONLAuditSink, SQLiteAuditSink
from operator_core.audit.base import Filter, passes
from operator_core.audit.record import AuditRecord, arguments_value, json_state
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor

#: A line as a trail written before these fields were typed holds it (NaN as its name).
_OLD_LINE = {
    "id": "old-1",
    "time": "2026-01-01T00:00:00+00:00",
    "ts": 1767225600.0,
    "tool": "docker_restart_container",
    "arguments": {"container_id": "web", "timeout": 5, "env": ["A=[REDACTED]"], "x": None},
    "container": "web",
    "container_id": "c" * 64,
    "decision": "allowed",
    "outcome": "ok",
    "error": None,
    "before": {"status": "running", "restart_count": 0, "health": None, "cpu": "NaN"},
    "after": {"status": "running", "restart_count": 1, "ratio": 0.5, "up": True},
    "result": {"state": "running", "nested": [[1, 2], {"a": []}]},
}


def _record(**fields: object) -> AuditRecord:
    """Return a record with ``fields`` set over a minimal valid one."""
    base: dict[str, object] = {
        "time": "2026-01-01T00:00:00+00:00",
        "ts": 1767225600.0,
        "tool": "t",
        "decision": "allowed",
        "outcome": "ok",
    }
    return AuditRecord.model_validate({**base, **fields})


@pytest.mark.parametrize("sink_kind", ["jsonl", "sqlite"])
async def test_a_trail_written_before_reads_the_same(tmp_path, sink_kind):
    """A line of an older trail (any JSON in the free-form fields) reads back as written."""
    if sink_kind == "jsonl":
        path = tmp_path / "audit.jsonl"
        path.write_text(json.dumps(_OLD_LINE) + "\n")
        sink: JSONLAuditSink | SQLiteAuditSink = JSONLAuditSink(path)
    else:
        sink = SQLiteAuditSink(tmp_path / "audit.db")
        await sink.write(AuditRecord.model_validate(_OLD_LINE))
    try:
        (read,) = sink.query(AuditQuery(limit=None))
    finally:
        if isinstance(sink, SQLiteAuditSink):
            await sink.close()
    for field in ("arguments", "error", "before", "after", "result"):
        assert getattr(read, field) == _OLD_LINE[field], field
    assert json.loads(read.to_json())["before"]["cpu"] == "NaN"


def test_the_record_in_memory_is_the_record_stored():
    """A tuple, a datetime or a number key in a state reads as JSON holds it, in memory too."""
    when = datetime(2026, 1, 1, tzinfo=UTC)
    record = _record(
        arguments={"command": ("sh", "-c", "true"), 3: "x"},
        before={"ports": (80, 443), "since": when},
        result={"n": float("nan")},
    )
    assert record.arguments == {"command": ["sh", "-c", "true"], "3": "x"}
    assert record.before == {"ports": [80, 443], "since": "2026-01-01T00:00:00Z"}
    assert record.result == {"n": "NaN"}
    assert AuditRecord.model_validate_json(record.to_json()) == record


async def test_a_python_callers_non_json_argument_is_named_and_the_call_keeps_its_record(
    tmp_path,
):
    """An argument JSON cannot hold is stored as its type's name, never its text.

    And the record is still written (to a file: the sink writes JSON).
    """

    class Secretive:
        def __repr__(self) -> str:
            return "Secretive(token=hunter2)"

    sink = JSONLAuditSink(tmp_path / "audit.jsonl")
    run = ToolRunner(FakeExecutor("web"), audit=sink, own_container_id=None)
    envelope = await run.execute_tool("docker_list_containers", {"all": Secretive()})
    assert envelope["ok"] is False
    (record,) = sink.query()
    assert record.arguments == {"all": "[REDACTED: not JSON (Secretive)]"}
    assert "hunter2" not in (tmp_path / "audit.jsonl").read_text()


def test_the_operators_own_non_json_value_fails_the_record():
    """A state, error or result JSON cannot hold is a bug: it fails, it is not renamed."""
    with pytest.raises(ValidationError):
        _record(after={"state": object()})
    with pytest.raises(ValueError, match="serialize"):
        json_state({"state": object()})


def test_the_helpers_give_json_values():
    """``arguments_value`` and ``json_state`` give what the record then holds as is."""
    assert arguments_value(("a", 1)) == ["a", 1]
    assert json_state(None) is None
    assert json_state({"a": (1,)}) == {"a": [1]}


def test_a_filter_that_does_not_fit_its_field_is_a_bug_not_a_miss():
    """A filter built wrong (a record's time against text) raises.

    It never quietly passes or fails the record.
    """
    record = _record()
    assert passes(record, Filter("ts", "min", 1.0))
    assert not passes(record, Filter("ts", "max", 1.0))
    assert passes(record, Filter("tool", "in", ("t", "u")))
    assert passes(record, Filter("tool", "prefix", "t"))
    with pytest.raises(AssertionError, match="does not fit"):
        passes(record, Filter("ts", "min", "yesterday"))
