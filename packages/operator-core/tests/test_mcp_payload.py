"""Pins issue 9 item 11: MCP tool results are cleaned once, bounded in bytes, sent once."""

from __future__ import annotations

import json
from typing import Any

import mcp_types as types
from mcp import Client

from operator_core.audit import MemoryAuditSink
from operator_core.mcp.payload import BOTH_FORMS_MAX_BYTES, MAX_RESULT_BYTES, call_result
from operator_core.mcp.server import build_server
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor

#: One line of colour codes and cursor moves, as a misbehaving app logs them.
ANSI_LINE = "\x1b[31m\x1b[1m" + "\x1b[2K\x1b[0G" * 10 + "error\x07\x1b]0;title\x07\x1b[0m"


class _NoisyLogs(FakeExecutor):
    """A fake whose logs are 12,000 lines of ANSI escape bytes (about 1.9 MB)."""

    async def get_container_logs(self, container_id: str, **options: Any) -> dict[str, Any]:
        lines = [
            {"timestamp": f"2026-01-01T00:00:{i % 60:02d}Z", "stream": "stdout", "text": ANSI_LINE}
            for i in range(12_000)
        ]
        return {"name": "web", "lines": lines, "line_count": len(lines), "truncated": False}


def _wire_bytes(result: types.CallToolResult) -> int:
    """Return the bytes the result takes in a JSON-RPC response (the SDK's own encoding)."""
    return len(result.model_dump_json(by_alias=True, exclude_none=True).encode())


async def test_12000_lines_of_ansi_logs_make_a_bounded_response_sent_once():
    """The attack's logs: control bytes removed once, the response under the bound, once.

    It was a 26 MB JSON-RPC response: each escape byte became a six-character escape and
    the envelope went twice, as text and as structuredContent.
    """
    runner = ToolRunner(
        _NoisyLogs("web"), policy=Policy(), audit=MemoryAuditSink(), own_container_id=None
    )
    client_info = types.Implementation(name="t", version="1")
    async with Client(build_server(runner), client_info=client_info) as client:
        result = await client.call_tool("docker_get_container_logs", {"container_id": "web"})
    assert result.is_error is False
    assert _wire_bytes(result) <= MAX_RESULT_BYTES
    assert result.structured_content is None  # large: sent once, as text
    (text,) = result.content
    assert isinstance(text, types.TextContent)
    envelope = json.loads(text.text)
    assert "\x1b" not in text.text
    assert "\x07" not in text.text
    assert envelope["result"]["lines"][-1]["text"] == "error"
    assert envelope["delivery"]["control_characters_removed"] > 0
    assert envelope["result"]["line_count"] == 12_000  # what the engine gave stays said


def test_a_result_over_the_bound_is_cut_to_fit_and_says_so():
    """A 5 MB output keeps its start and end, fits the bound, and is flagged as cut."""
    envelope = {"ok": True, "result": {"stdout": "a" * 2_500_000 + "b" * 2_500_000}}
    result = call_result(envelope)
    assert _wire_bytes(result) <= MAX_RESULT_BYTES
    (text,) = result.content
    assert isinstance(text, types.TextContent)
    sent = json.loads(text.text)
    assert sent["result"]["stdout"].startswith("a")
    assert sent["result"]["stdout"].endswith("b")
    assert "cut" in sent["delivery"]


def test_a_small_result_comes_in_both_forms_unchanged():
    """Under the both-forms size the envelope is structuredContent and the same JSON text."""
    envelope = {"ok": True, "result": {"stdout": "hello\tworld\n", "exit_code": 0}}
    result = call_result(envelope)
    assert result.structured_content == envelope
    (text,) = result.content
    assert isinstance(text, types.TextContent)
    assert json.loads(text.text) == envelope
    assert len(text.text) < BOTH_FORMS_MAX_BYTES


def test_the_text_is_the_structured_json_compact_and_nothing_else():
    """The text form is exactly the compact JSON of structuredContent (issue 21).

    No indentation, no spaces after separators, no second copy of anything.
    """
    envelope = {"ok": True, "result": {"containers": [{"name": "web", "id": "3f2a"}], "n": 1}}
    result = call_result(envelope)
    (text,) = result.content
    assert isinstance(text, types.TextContent)
    assert text.text == json.dumps(result.structured_content, separators=(",", ":"))
    assert "\n" not in text.text
    assert ", " not in text.text
