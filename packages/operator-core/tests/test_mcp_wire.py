"""Pins issue 9 item 12: every unreadable JSON-RPC line gets an answer over real stdio."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from typing import Any

import mcp_types as types
import pytest
from pydantic import ValidationError

from operator_core.mcp.wire import rejections

#: How long to wait for one answer before calling the server silent (a hang guard only).
_SILENCE_S = 30.0

INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "wire-test", "version": "1"},
    },
}


def _deep(depth: int) -> str:
    """Return a ping request whose params nest ``depth`` arrays deep."""
    nested = "[" * depth + "]" * depth
    return f'{{"jsonrpc":"2.0","id":{depth},"method":"ping","params":{{"x":{nested}}}}}'


#: Each unreadable line, the id its answer must carry and the JSON-RPC code.
CASES: list[tuple[str, Any, int]] = [
    ('{"jsonrpc":"1.0","id":7,"method":"ping"}', 7, -32600),
    ('[{"jsonrpc":"2.0","id":8,"method":"ping"}]', 8, -32600),
    ('{"jsonrpc":"2.0","id":9,"method":"ping","params":{"x":"\\ud800"}}', 9, -32700),
    (_deep(300), 300, -32700),
    (_deep(100_000), None, -32700),
    ("this is not json", None, -32700),
    ('{"jsonrpc":"2.0","id":"abc","method":42}', "abc", -32600),
]


async def _answer(out: asyncio.StreamReader) -> dict[str, Any]:
    """Return the next message the server writes (it must come, within the hang guard)."""
    line = await asyncio.wait_for(out.readline(), _SILENCE_S)
    assert line, "the server closed its stdout"
    return json.loads(line)  # type: ignore[no-any-return]


async def test_invalid_json_rpc_lines_get_errors_over_the_real_stdio_transport(tmp_path):
    """Wrong version, a batch, a lone surrogate, deep nesting, not JSON: each is answered.

    Over ``operator mcp`` as a subprocess; each gets a JSON-RPC error with its id where
    one can be read, and the server keeps serving (a ping after them is answered).
    """
    env = {
        **os.environ,
        "OPERATOR_AUDIT_DB": str(tmp_path / "audit.sqlite3"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
    }
    env.pop("OPERATOR_POLICY", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "operator_core.cli",
        "mcp",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env=env,
        limit=1 << 22,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:

        async def send(line: str) -> None:
            assert process.stdin is not None
            process.stdin.write(line.encode("utf-8", "surrogatepass") + b"\n")
            await process.stdin.drain()

        await send(json.dumps(INITIALIZE))
        assert (await _answer(process.stdout))["id"] == 1
        await send('{"jsonrpc":"2.0","method":"notifications/initialized"}')
        for line, request_id, code in CASES:
            await send(line)
            answer = await _answer(process.stdout)
            assert answer["jsonrpc"] == "2.0"
            assert answer["id"] == request_id, line[:80]
            assert answer["error"]["code"] == code, line[:80]
        await send('{"jsonrpc":"2.0","id":99,"method":"ping"}')
        assert await _answer(process.stdout) == {"jsonrpc": "2.0", "id": 99, "result": {}}
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), _SILENCE_S)
        except TimeoutError:
            process.kill()
            await process.wait()


@pytest.mark.parametrize(("line", "request_id", "code"), CASES)
def test_each_rejection_carries_the_id_and_code(line, request_id, code):
    """The errors the transport sends, worked out from the SDK's own parse failure."""
    with pytest.raises(ValidationError) as caught:
        types.jsonrpc_message_adapter.validate_json(line, by_name=False)
    (error,) = rejections(caught.value)
    assert (error.id, error.error.code) == (request_id, code)
    assert error.model_dump_json(by_alias=True)  # it can be sent


def test_a_batch_is_answered_once_per_request_id_in_it():
    """A batch of two requests and a notification gets two errors, one per id."""
    batch = json.dumps(
        [
            {"jsonrpc": "2.0", "id": 1, "method": "ping"},
            {"jsonrpc": "2.0", "method": "notifications/initialized"},
            {"jsonrpc": "2.0", "id": "b", "method": "ping"},
        ]
    )
    with pytest.raises(ValidationError) as caught:
        types.jsonrpc_message_adapter.validate_json(batch, by_name=False)
    assert [error.id for error in rejections(caught.value)] == [1, "b"]
