"""One target type: containers, services and nodes said alike in denials, prompts and records.

Each denial names what it concerns under ``target`` (``target.kind``, ``target.id``,
``target.name``, ``target.host``) whatever its kind; an approval prompt and a ``changed.*``
message say "service" for a service; the audit record keeps ``container_id`` for containers
only and names every target in ``target_kind``/``target_id``/``target_name``; a trail written
before those fields existed opens and reads (SQLite gains the columns).
"""

from __future__ import annotations

import json
import sqlite3

import pytest

from operator_core.audit import AuditQuery, JSONLAuditSink, SQLiteAuditSink
from operator_core.audit.record import AuditRecord
from operator_core.errors import PolicyError
from operator_core.policy import ApprovalRequest, Guard, Policy, TargetFacts
from operator_core.policy.swarm_rules import SwarmRules
from operator_core.tools.registry import get_tool

SID = "abcdef0123456789" * 4
CID = "0123456789abcdef" * 4
SERVICE = TargetFacts.of("service", SID, "web", "h1", status="completed", replicas=3)
NODE = TargetFacts.of("node", SID, "eng1", "h1", status="active", role="manager")
CONTAINER = TargetFacts.of("container", CID, "web", "h1", status="running")
LABELS = {"kind", "id", "short_id", "name", "host"}


def _guard(**policy: object) -> Guard:
    return Guard(Policy.model_validate({"mode": "execute", **policy}), own_container_id=None)


@pytest.mark.parametrize(
    ("facts", "policy", "tool", "arguments"),
    [
        (CONTAINER, {"protected": {"names": ["web"]}}, None, {}),
        (SERVICE, {"swarm": {"protected_services": {"names": ["web"]}}}, None, {}),
        (NODE, {"swarm": {"protected_nodes": {"names": ["eng1"]}}}, None, {}),
        (SERVICE, {"swarm": {"max_replicas": 2}}, "docker_scale_service", {"replicas": 5}),
        (NODE, {}, "docker_set_node_availability", {"availability": "drain"}),
    ],
)
def test_every_denial_labels_its_target_in_one_vocabulary(facts, policy, tool, arguments):
    """Protection and swarm-bound denials all put the target under ``target`` with its kind.

    (Swarm bounds said ``container.kind service`` and protected services ``service.*``.)
    """
    guard = _guard(**policy)
    if tool is None:
        verdict = guard.check_target(facts)
    else:
        verdict = guard.check_swarm_call(get_tool(tool), arguments, facts)
    assert verdict is not None
    assert set(verdict.details) - {"replicas", "max_replicas", "availability"} == {"target"}
    assert set(verdict.details["target"]) >= LABELS
    assert verdict.details["target"]["kind"] == facts.kind
    assert verdict.details["target"]["name"] == facts.name
    assert verdict.details["target"]["host"] == "h1"


@pytest.mark.parametrize(
    ("facts", "said"),
    [
        (SERVICE, " on service 'web' (now completed)"),
        (NODE, " on node 'eng1' (now active)"),
        (CONTAINER, " on container 'web' (now running)"),
    ],
)
def test_an_approval_prompt_says_what_kind_of_target_it_is(facts, said):
    """``ApprovalRequest.target()`` says service or node when it is one, not container."""
    request = ApprovalRequest("t", "high", {}, facts.summary(), None, None)
    assert request.target() == said
    assert said in request.describe()


def test_a_changed_service_is_called_a_service():
    """A service renamed while a call waited is ``changed.identity`` about a service."""
    renamed = TargetFacts.of("service", SID, "web2", "h1", status="completed", replicas=3)
    verdict = _guard().check_unchanged(SERVICE, renamed)
    assert verdict is not None
    assert verdict.rule == "changed.identity"
    assert verdict.message.startswith(f"service 'web' ({SID[:12]}) was renamed to 'web2'")
    assert "Check which service you mean" in verdict.message
    assert "container" not in verdict.message
    assert verdict.details["target"]["kind"] == "service"


def test_a_container_is_named_a_container_in_protection_messages():
    """A container's denial keeps saying container (the one vocabulary, not 'service')."""
    verdict = _guard(protected={"names": ["web"]}).check_target(CONTAINER)
    assert verdict is not None
    assert verdict.message.startswith(f"container 'web' ({CID[:12]}) is protected by name")


#: The audit table as version 0.x wrote it: no host, no target_key, no target columns.
_OLD_SCHEMA = """
CREATE TABLE audit_records (
    id TEXT PRIMARY KEY, ts REAL NOT NULL, actor TEXT, tool TEXT NOT NULL, container TEXT,
    container_id TEXT, container_name TEXT, decision TEXT NOT NULL, rule TEXT,
    outcome TEXT NOT NULL, record TEXT NOT NULL
);
"""
_OLD_RECORD = {
    "id": "old-1",
    "time": "2026-01-01T00:00:00+00:00",
    "ts": 1767225600.0,
    "tool": "docker_restart_container",
    "container": "web",
    "container_id": CID,
    "container_name": "web",
    "decision": "allowed",
    "outcome": "ok",
}


def _new_record() -> AuditRecord:
    return AuditRecord(
        id="new-1",
        time="2026-01-02T00:00:00+00:00",
        ts=1767312000.0,
        tool="docker_scale_service",
        container="web",
        target_kind="service",
        target_id=SID,
        target_name="web",
        decision="allowed",
        outcome="ok",
    )


async def test_an_old_sqlite_trail_opens_reads_and_takes_new_records(tmp_path):
    """A file without the target columns gains them; its old rows read with their target."""
    path = tmp_path / "audit.db"
    db = sqlite3.connect(path)
    db.executescript(_OLD_SCHEMA)
    row = (*("old-1", _OLD_RECORD["ts"], None, _OLD_RECORD["tool"], "web", CID, "web"),)
    db.execute(
        "INSERT INTO audit_records VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (*row, "allowed", None, "ok", json.dumps(_OLD_RECORD)),
    )
    db.commit()
    db.close()
    sink = SQLiteAuditSink(path)
    try:
        await sink.write(_new_record())
        old, new = sorted(sink.query(AuditQuery(limit=None)), key=lambda r: r.ts)
    finally:
        await sink.close()
    assert (old.container_id, old.target_id, old.target_name) == (CID, CID, "web")
    assert old.target_kind is None  # not kept then
    assert (new.target_kind, new.target_id, new.container_id) == ("service", SID, None)
    columns = {row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(audit_records)")}
    assert {"target_kind", "target_id", "target_name"} <= columns


async def test_an_old_jsonl_trail_reads_with_its_targets(tmp_path):
    """A JSONL line written before the target fields reads, its container as its target."""
    path = tmp_path / "audit.jsonl"
    path.write_text(json.dumps(_OLD_RECORD) + "\n")
    sink = JSONLAuditSink(path)
    try:
        await sink.write(_new_record())
        old, new = sorted(sink.query(AuditQuery(limit=None)), key=lambda r: r.ts)
    finally:
        await sink.close()
    assert (old.container_id, old.target_id, old.target_name) == (CID, CID, "web")
    assert (new.target_kind, new.target_name, new.container_name) == ("service", "web", None)


def test_swarm_rules_built_in_code_raise_policy_error_like_a_policy():
    """``SwarmRules(min_replicas=-1)`` raises PolicyError naming the fault (one strict base).

    The swarm section had its own ``_Strict`` base without the policy's error translation,
    so it raised pydantic's ValidationError.
    """
    with pytest.raises(PolicyError, match=r"min_replicas: Input should be greater than or equal"):
        SwarmRules(min_replicas=-1)
