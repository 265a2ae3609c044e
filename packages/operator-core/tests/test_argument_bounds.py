"""Arguments are checked whole, before any docker process starts or anyone is asked.

Deep, huge or non-finite input, and every value the executor would refuse, comes back as
``invalid_arguments`` with its audit record; the real executor is used, with process
creation counted, so "nothing ran" means no docker process at all.
"""

from __future__ import annotations

import json
import subprocess
from typing import Any
from unittest.mock import patch

import pytest
from typer.testing import CliRunner

from operator_core.audit import AuditQuery
from operator_core.cli import app
from operator_core.docker import DockerActionExecutor
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.tools.bounds import MAX_DEPTH, loads, shape_problem

#: Every call needs approval, so an approver call would show any check done too late.
ASK_ALWAYS = {"mode": "execute", "approval": {"risks": ["low", "medium", "high"]}}
EXEC = "docker_execute_command"
CONNECT = "docker_connect_container_to_network"


def _strict(text: str) -> Any:
    """Parse ``text`` as strict JSON: NaN and Infinity are errors, as in other parsers."""

    def refuse(name: str) -> Any:
        raise ValueError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


class Harness:
    """A runner over the real executor, counting docker processes and approval requests."""

    def __init__(self) -> None:
        self.spawned: list[Any] = []
        self.asked: list[Any] = []

    async def approve(self, request: Any) -> bool:
        self.asked.append(request)
        return True

    def runner(self) -> ToolRunner:
        return ToolRunner(
            DockerActionExecutor(),
            policy=Policy(**ASK_ALWAYS),
            approver=self.approve,
            own_container_id=None,
        )


@pytest.fixture
def harness():
    """A Harness whose process creation is counted (and refused, should one be tried)."""
    box = Harness()

    def spawn(popen: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        box.spawned.append(args)
        raise OSError("no process may start in this test")

    with patch.object(subprocess.Popen, "_execute_child", spawn):
        yield box


def _nested(depth: int) -> dict[str, Any]:
    """Return {"x": {"x": ...}} ``depth`` levels deep, built without recursion."""
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"x": value}
    return value


async def _refused(harness: Harness, tool: str, arguments: Any) -> dict[str, Any]:
    """Call ``tool``; assert invalid_arguments, no process, nobody asked, one record."""
    run = harness.runner()
    envelope = await run.execute_tool(tool, arguments)
    assert envelope["ok"] is False, envelope
    assert envelope["error"]["type"] == "invalid_arguments", envelope["error"]
    assert harness.spawned == []
    assert harness.asked == []
    (record,) = run.audit.query(AuditQuery())
    assert (record.decision, record.outcome) == ("invalid", "invalid")
    _strict(json.dumps(envelope, allow_nan=False))
    _strict(record.to_json())
    return envelope


WIDE = "\u0800" * 65536  # 65,536 characters, 192 KiB of UTF-8


@pytest.mark.parametrize(
    "command",
    [
        ["sh", "-c", "echo a\x00b"],
        [""],
        ["   ", "x"],
        ["echo", WIDE],
        ["echo", *(["y" * 65536] * 5)],  # 320 KiB in all
        ["echo", *(["y" * 65536] * 255)],  # 16 MiB in all
        json.dumps(["sh", "-c", "a\x00b"]),
    ],
    ids=["nul", "empty-program", "blank-program", "192k-word", "320k-total", "16m-total", "json"],
)
async def test_an_exec_command_the_executor_refuses_starts_nothing_and_asks_nobody(
    harness, command
):
    """NUL, empty program, a 192 KiB word, too much in all: refused before resolution."""
    await _refused(harness, EXEC, {"container_id": "web", "command": command})


@pytest.mark.parametrize("alias", ["", " ", "=/", "-x", "a b", "web\n"])
async def test_a_network_alias_no_name_can_have_starts_nothing(harness, alias):
    """An alias spelt unlike a container name is refused before resolution and approval."""
    envelope = await _refused(
        harness, CONNECT, {"container_id": "web", "network": "backend", "alias": alias}
    )
    assert envelope["error"]["details"]["problems"][0]["field"] == "alias"


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("docker_stop_container", {"container_id": "web", **_nested(600)}),
        ("docker_stop_container", {"container_id": "web", "timeout": _nested(2000)}),
        ("docker_stop_container", [[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]]),
        ("docker_stop_container", '{"container_id": "web", "x": ' + "[" * 100_000),
        ("docker_stop_container", "[" * 100_000 + "]" * 100_000),
        (EXEC, {"container_id": "web", "command": "[" * 50_000 + "]" * 50_000}),
        (EXEC, {"container_id": "web", "command": ["ls"], "env": '{"A":' * 5000}),
        ("docker_inspect_containers", {"refs": "[" * 5000 + "]" * 5000}),
        ("docker_stop_container", {"container_id": "web", "x": "y" * (2 << 20)}),
        ("docker_stop_container", {"container_id": "web", "x": ["y"] * (2 << 20)}),
    ],
    ids=[
        "dict-600-deep",
        "value-2000-deep",
        "list-root",
        "json-string-100k-deep",
        "json-list-100k-deep",
        "command-json-deep",
        "env-json-deep",
        "refs-json-deep",
        "2m-string",
        "2m-items",
    ],
)
async def test_deep_or_huge_arguments_are_invalid_and_audited(harness, tool, arguments):
    """Nesting far past the bound, or megabytes, is invalid_arguments with a record."""
    await _refused(harness, tool, arguments)


async def test_arguments_that_contain_themselves_are_refused(harness):
    """A dict holding itself (only a Python caller can send one) is refused, not walked."""
    loop: dict[str, Any] = {"container_id": "web"}
    loop["x"] = loop
    await _refused(harness, "docker_stop_container", loop)


async def test_deep_arguments_to_an_unknown_tool_are_recorded_without_walking_them(harness):
    """An unknown tool with 5,000-deep arguments still gets its envelope and record."""
    run = harness.runner()
    envelope = await run.execute_tool("docker_nuke", _nested(5000))
    assert envelope["error"]["type"] == "unknown_tool"
    (record,) = run.audit.query(AuditQuery())
    assert "nests deeper" in str(record.arguments)
    assert harness.spawned == []


async def test_a_deep_container_reference_is_recorded_without_walking_it(harness):
    """A 5,000-deep container_id is invalid; the record's container field is not its repr."""
    envelope = await _refused(harness, "docker_stop_container", {"container_id": _nested(5000)})
    assert envelope["error"]["details"]["problems"][0]["field"] == "(arguments)"


@pytest.mark.parametrize("sink", ["sqlite", "jsonl"])
async def test_lone_surrogates_are_refused_and_the_durable_trail_keeps_the_record(
    tmp_path, harness, sink
):
    """Text that is not Unicode: invalid_arguments, and reason/actor stored with U+FFFD."""
    from operator_core.audit import JSONLAuditSink, SQLiteAuditSink

    trail = (
        SQLiteAuditSink(tmp_path / "a.sqlite3")
        if sink == "sqlite"
        else JSONLAuditSink(tmp_path / "a.jsonl")
    )
    run = ToolRunner(
        DockerActionExecutor(), policy=Policy(**ASK_ALWAYS), audit=trail, own_container_id=None
    )
    for arguments in ({"container_id": "\ud800"}, '{"container_id": "web\\ud800"}'):
        envelope = await run.execute_tool(
            "docker_stop_container", arguments, reason="why \udc00", actor="\ud800"
        )
        assert envelope["error"]["type"] == "invalid_arguments", envelope
        assert "audit_error" not in envelope
    records = run.audit.query(AuditQuery())
    assert len(records) == 2
    assert {r.reason for r in records} == {"why \ufffd"}
    assert harness.spawned == []


def test_the_bounds_let_every_real_input_through():
    """The bound is far above what any tool takes: depth MAX_DEPTH passes, one more fails."""
    assert shape_problem(_nested(MAX_DEPTH - 1)) is None
    assert shape_problem(_nested(MAX_DEPTH)) is not None
    assert loads('{"a": ["[[[[", "{{{{"]}') == {"a": ["[[[[", "{{{{"]}
    assert loads("[" * MAX_DEPTH + "]" * MAX_DEPTH) is not None
    with pytest.raises(ValueError, match="deeper"):
        loads("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("docker_stop_container", {"container_id": "web", "timeout": float("nan")}),
        (EXEC, {"container_id": "web", "command": ["ls"], "timeout": float("inf")}),
        (EXEC, {"container_id": "web", "command": ["ls"], "timeout": float("-inf")}),
        (
            "docker_wait_for_container",
            {"container_id": "web", "condition": "healthy", "timeout": 1e999},
        ),
        ("docker_stop_container", '{"container_id": "web", "timeout": NaN}'),
        ("docker_kill_container", {"container_id": "web", "signal": float("nan")}),
        ("docker_stop_container", {"container_id": "web", "extra": float("nan")}),
    ],
    ids=["nan", "inf", "-inf", "1e999", "json-nan", "signal-nan", "unknown-key-nan"],
)
async def test_non_finite_numbers_are_refused_and_never_emitted(harness, tool, arguments):
    """NaN and Infinity are invalid arguments; envelope and audit record stay strict JSON."""
    envelope = await _refused(harness, tool, arguments)
    for problem in envelope["error"]["details"]["problems"]:
        assert problem.get("got") not in ("nan", "inf")


def test_cli_json_output_of_a_nan_argument_is_strict_json(tmp_path, monkeypatch):
    """`operator docker wait web --timeout nan --json` prints JSON a strict parser reads."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("OPERATOR_POLICY", "OPERATOR_MODE"):
        monkeypatch.delenv(name, raising=False)
    result = CliRunner().invoke(
        app,
        ["docker", "wait", "web", "-c", "running", "--timeout", "nan", "--json"],
        prog_name="operator",
    )
    assert result.exit_code == 2, result.output
    error = _strict(result.stdout)["error"]
    assert error["type"] == "invalid_arguments"
    assert error["details"]["problems"][0]["got"] == "NaN"
