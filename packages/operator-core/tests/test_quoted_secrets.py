"""Pins issue 18 item 5: a refused value quoted by an error is stored and returned redacted."""

from __future__ import annotations

import json
import logging
from typing import Any

from operator_core.audit import REDACTED, MemoryAuditSink
from operator_core.audit.quoted import quoted_pairs, redact_quoted
from operator_core.errors import InvalidArguments
from operator_core.policy import ApprovalRequest, Policy
from operator_core.runner import ToolRunner
from operator_core.runner.envelope import error_envelope
from tool_fakes import FakeExecutor

SECRET = "hunter2XYZ"  # noqa: S105 (the secret the tests hide)


def _runner(audit: MemoryAuditSink) -> ToolRunner:
    return ToolRunner(
        FakeExecutor("web"), policy=Policy(mode="execute"), audit=audit, own_container_id=None
    )


async def _refused(arguments: Any) -> tuple[dict[str, Any], str]:
    """Return an exec call's envelope and its audit record (as JSON) for ``arguments``."""
    audit = MemoryAuditSink()
    envelope = await _runner(audit).execute_tool("docker_execute_command", arguments, actor="t")
    (record,) = audit.query()
    return envelope, record.to_json()


async def test_a_refused_user_carrying_a_password_is_quoted_redacted():
    """`user` 'admin:<pw> x' is refused: message, details and record show 'admin:[REDACTED]'."""
    envelope, record = await _refused(
        {"container_id": "web", "command": ["ls"], "user": f"admin:{SECRET} x"}
    )
    assert envelope["ok"] is False
    assert envelope["error"]["type"] == "invalid_arguments"
    shown = json.dumps(envelope)
    assert SECRET not in shown
    assert SECRET not in record
    assert f"got 'admin:{REDACTED}'" in envelope["error"]["message"]
    assert f"admin:{REDACTED}" in record
    problem = envelope["error"]["details"]["problems"][0]
    assert problem["got"] == f"admin:{REDACTED}"


async def test_arguments_sent_as_json_text_are_hidden_where_quoted_too():
    """Arguments given as a JSON string (parsed by validation) hide a quoted user the same way."""
    raw = json.dumps({"container_id": "web", "command": ["ls"], "user": f"bob:{SECRET} y"})
    envelope, record = await _refused(raw)
    assert envelope["error"]["type"] == "invalid_arguments"
    assert SECRET not in json.dumps(envelope)
    assert SECRET not in record


def test_every_changed_leaf_is_paired_with_its_stored_form():
    """An env mapping stored as one [REDACTED] hides each value; unchanged ones pair nothing."""
    raw = {"user": f"a:{SECRET}", "env": {"A": SECRET}, "command": ["ls", "-l"]}
    stored = {"user": f"a:{REDACTED}", "env": REDACTED, "command": ["ls", "-l"]}
    assert quoted_pairs(raw, stored) == [(f"a:{SECRET}", f"a:{REDACTED}"), (SECRET, REDACTED)]


def test_a_quoted_value_is_replaced_in_strings_at_any_depth_and_short_ones_only_in_quotes():
    """Messages, lists and nested details lose the value; a 2-letter one only where quoted."""
    pairs_raw = {"env": {"A": SECRET, "B": "zq"}}
    stored = {"env": REDACTED}
    error = {"message": f"bad {SECRET}; 'zq' in zqx", "details": {"x": [f"<{SECRET}>"]}}
    hidden = redact_quoted(error, pairs_raw, stored)
    assert hidden == {
        "message": f"bad {REDACTED}; '{REDACTED}' in zqx",
        "details": {"x": [f"<{REDACTED}>"]},
    }


def test_error_details_are_redacted_as_text_is():
    """A value quoted only in an error's details (its problems) is redacted there too."""
    exc = InvalidArguments("bad input", [{"field": "x", "problem": f"got 'password={SECRET}'"}])
    envelope = error_envelope(exc)
    assert SECRET not in json.dumps(envelope)
    assert "password=[REDACTED]" in json.dumps(envelope)


def test_the_approval_question_redacts_the_callers_own_name():
    """An actor string (an MCP client's name) carrying a secret is hidden in the prompt."""
    request = ApprovalRequest(
        tool="docker_restart_container",
        risk="high",
        arguments={"container_id": "web"},
        summary={"name": "web", "status": "running"},
        actor=f"agent token={SECRET}",
        reason=None,
    )
    described = request.describe()
    assert SECRET not in described
    assert "agent token=[REDACTED] wants to run docker_restart_container" in described


async def test_the_call_log_line_redacts_the_callers_own_name(caplog):
    """The runner's log line of a call shows a secret in the actor string redacted."""
    audit = MemoryAuditSink()
    with caplog.at_level(logging.INFO, logger="operator_core.runner"):
        await _runner(audit).execute_tool(
            "docker_inspect_container", {"container_id": "web"}, actor=f"agent token={SECRET}"
        )
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "actor=agent token=[REDACTED]" in logged
    assert SECRET not in logged
