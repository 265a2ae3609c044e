"""Lean tool answers (issue 21): one id, no empties, compact listings, current tasks."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
import pytest
from mcp import Client

from operator_core.audit import MemoryAuditSink
from operator_core.errors import InvalidArguments
from operator_core.mcp.server import build_server
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.tools.answers import SHORT_ID, lean_envelope, lean_result, split_options
from operator_core.tools.inputs import AnswerOptions
from tool_fakes import FakeExecutor

CLIENT = types.Implementation(name="test-client", version="1")
FULL = "3f2a9c1d4e5f" + "0" * 52


def _task(state: str, desired: str, error: str | None = None, code: int | None = None) -> Any:
    """Return one task entry as the executor lists it."""
    return {
        "task_id": "t" * 25,
        "slot": 1,
        "node_id": "n" * 25,
        "node": "lab-eng2",
        "desired_state": desired,
        "state": state,
        "error": error,
        "exit_code": code,
        "container_id": None,
        "updated_at": "2026-12-07T20:00:00Z",
    }


def _body(result: types.CallToolResult) -> dict[str, Any]:
    """Return a tool result's envelope, read from its text (what every client reads)."""
    (text,) = result.content
    assert isinstance(text, types.TextContent)
    return json.loads(text.text)  # type: ignore[no-any-return]


def test_an_object_carries_its_full_id_once():
    """An answer holding container_id and id (the same) keeps id alone, nested ones too."""
    result = {"container_id": FULL, "id": FULL, "name": "web", "inner": [{"container_id": FULL}]}
    lean = lean_result("docker_inspect_container", result)
    assert lean == {"id": FULL, "name": "web", "inner": [{"container_id": FULL[:SHORT_ID]}]}


def test_nothing_the_agent_sent_or_cannot_use_comes_back():
    """Nothing the agent sent or cannot use is in an answer.

    A read has no audit_id (an action keeps it); a dry run does not echo the call;
    short_id goes where id is; a log line's truncated=false goes; ids outside an inspect
    are short.
    """
    read = {"ok": True, "result": {"name": "web"}, "audit_id": "A1"}
    assert "audit_id" not in lean_envelope("docker_get_container_logs", read, None)
    assert lean_envelope("docker_restart_container", read, None)["audit_id"] == "A1"
    dry = {"dry_run": True, "tool": "docker_stop_container", "arguments": {"timeout": 3}}
    dry |= {"changed": False, "approval_required": False}
    dry |= {"would": "stop web", "container": {"id": FULL, "short_id": FULL[:SHORT_ID]}}
    assert lean_result("docker_stop_container", dry) == {
        "dry_run": True,
        "would": "stop web",
        "container": {"id": FULL[:SHORT_ID]},
    }
    logs = {"container_id": FULL, "truncated": False, "lines": [{"text": "a", "truncated": False}]}
    assert lean_result("docker_get_container_logs", logs) == {
        "container_id": FULL[:SHORT_ID],
        "truncated": False,
        "lines": [{"text": "a"}],
    }


def test_an_answer_does_not_echo_the_call_or_say_a_thing_twice():
    """An answer neither echoes the call nor says a thing twice.

    A log read drops its echoed tail and stream; an inspect's restarts block drops what
    the state already says, and restart_count (the block's count) goes.
    """
    logs = {"name": "web", "tail_limit": 20, "stream": "both", "line_count": 1}
    assert lean_result("docker_get_container_logs", logs) == {"name": "web", "line_count": 1}
    state = {"status": "running", "restarting": False, "started_at": "T1"}
    restarts = {"count": 2, "policy": "always", "restarting": False, "last_started_at": "T1"}
    inspect = {"id": FULL, "state": state, "restart_count": 2, "restarts": restarts}
    assert lean_result("docker_inspect_container", inspect) == {
        "id": FULL,
        "state": state,
        "restarts": {"count": 2, "policy": "always"},
    }


def test_empty_fields_are_left_out_unless_verbose():
    """Null, [] and {} fields are dropped from an answer; verbose keeps them all."""
    result = {"name": "web", "finished_at": None, "truncation": [], "labels": {}, "count": 0}
    assert lean_result("docker_get_container_logs", result) == {"name": "web", "count": 0}
    verbose = AnswerOptions(verbose=True)
    assert lean_result("docker_list_containers", result, verbose) == result


def test_a_listing_keeps_the_fields_to_choose_the_next_call_and_fields_adds_more():
    """A container listing's entry keeps name, short id, host, status...; fields adds labels."""
    entry = {
        "container_id": FULL,
        "id": FULL,
        "name": "web",
        "host": "eng2",
        "image": "nginx",
        "status": "running",
        "health": "unhealthy",
        "labels": {"tier": "web"},
        "networks": ["bridge"],
        "started_at": "2026-12-07T20:00:00Z",
    }
    result = {"containers": [entry], "count": 1}
    lean = lean_result("docker_list_containers", result)
    assert lean["containers"] == [
        {
            "name": "web",
            "id": FULL[:SHORT_ID],
            "host": "eng2",
            "image": "nginx",
            "status": "running",
            "health": "unhealthy",
        }
    ]
    more = lean_result("docker_list_containers", result, AnswerOptions(fields=["labels"]))
    assert more["containers"][0]["labels"] == {"tier": "web"}
    every = lean_result("docker_list_containers", result, AnswerOptions(verbose=True))
    assert every["containers"][0] == {k: v for k, v in entry.items() if k != "container_id"}


def test_a_task_list_shows_current_tasks_and_sums_the_ended_ones():
    """Tasks meant to run stay; ended ones become `ended` with the newest error and code."""
    tasks = [
        _task("starting", "running"),
        _task("failed", "shutdown", "task: non-zero exit (3)", 3),
        _task("failed", "shutdown", "task: non-zero exit (2)", 2),
        _task("shutdown", "shutdown"),
    ]
    result = {"service_id": "s" * 25, "name": "api", "tasks": tasks, "count": 4}
    lean = lean_result("docker_list_service_tasks", result)
    assert [task["state"] for task in lean["tasks"]] == ["starting"]
    assert lean["count"] == 1
    assert lean["ended"] == {
        "count": 3,
        "failed": 2,
        "last_error": "task: non-zero exit (3)",
        "last_exit_code": 3,
    }
    asked = lean_result("docker_list_service_tasks", result, None, {"desired_state": "shutdown"})
    assert len(asked["tasks"]) == 4
    assert "ended" not in asked
    every = lean_result("docker_list_service_tasks", result, AnswerOptions(verbose=True))
    assert every["tasks"] == tasks


def test_answer_options_are_taken_off_before_the_runner_sees_the_call():
    """fields/verbose leave the arguments of a listing; other tools' arguments are untouched."""
    options, rest = split_options("docker_list_containers", {"all": True, "verbose": True})
    assert options is not None
    assert options.verbose is True
    assert rest == {"all": True}
    options, rest = split_options("docker_inspect_container", {"container_id": "web"})
    assert options is None
    assert rest == {"container_id": "web"}


@pytest.mark.parametrize(
    "given",
    [{"fields": ["nope"]}, {"fields": "labels"}, {"verbose": "very"}, {"fields": ["Bad-Name"]}],
)
def test_bad_answer_options_are_invalid_arguments_naming_the_field(given):
    """An unknown field, a non-list or a non-bool is refused with the field and a fix."""
    with pytest.raises(InvalidArguments) as caught:
        split_options("docker_list_containers", given)
    assert caught.value.problems
    assert caught.value.problems[0]["field"].startswith(next(iter(given)))
    assert "fix" in caught.value.problems[0]


async def test_the_server_answers_a_listing_compact_and_refuses_bad_options_running_nothing():
    """Through MCP, a listing is compact; verbose gives every field; bad fields run nothing."""
    fake = FakeExecutor("web", "db")
    runner = ToolRunner(fake, policy=Policy(), audit=MemoryAuditSink(), own_container_id=None)
    async with Client(build_server(runner), client_info=CLIENT) as client:
        lean = _body(await client.call_tool("docker_list_containers", {}))
        verbose = _body(await client.call_tool("docker_list_containers", {"verbose": True}))
        calls_before = len(fake.calls)
        refused = await client.call_tool("docker_list_containers", {"fields": ["nope"]})
    first = lean["result"]["containers"][0]
    assert "labels" not in first
    assert "container_id" not in first
    assert len(first["id"]) == SHORT_ID
    full = verbose["result"]["containers"][0]
    assert "labels" in full
    assert "container_id" not in full
    assert refused.is_error is True
    assert _body(refused)["error"]["type"] == "invalid_arguments"
    assert len(fake.calls) == calls_before


_KEPT = ("enum", "minimum", "maximum", "exclusiveMinimum", "minLength", "maxLength", "pattern")
_KEPT += ("minItems", "maxItems", "default", "type", "additionalProperties")


def _facts(schema: Any, path: str = "") -> set[tuple[str, str]]:
    """Return every (path, keyword=value) a schema states, null branches and defaults aside."""
    found: set[tuple[str, str]] = set()
    if isinstance(schema, list):
        for item in schema:
            found |= _facts(item, path)
        return found
    if not isinstance(schema, dict) or schema == {"type": "null"}:
        return found
    for key, value in schema.items():
        if key in _KEPT and not (key == "default" and value is None):
            found.add((path, f"{key}={json.dumps(value, sort_keys=True)}"))
        elif key == "properties":
            for name, sub in value.items():
                found |= _facts(sub, f"{path}.{name}")
        elif key in ("items", "anyOf"):
            found |= _facts(value, path)
    return found


def test_listed_schemas_keep_every_enum_bound_default_and_required_field():
    """A tool list's schema says all the input schema says but null: nothing is lost."""
    from operator_core.tools import TOOLS

    for spec in TOOLS:
        full, listed = spec.input_schema, spec.listed_schema
        assert listed.get("required") == full.get("required"), spec.name
        assert _facts(listed) == _facts(full), spec.name
        assert "null" not in json.dumps(listed), spec.name
