"""``operator mcp --transport streamable-http`` as a process, on the real engine, with a token."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import httpx2
import mcp_types as types
from cli_helpers import clean_env
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from operator_core.audit import AuditQuery, read_audit

CLIENT = types.Implementation(name="pytest-http-client", version="1.0")
TOKEN = "engine-" + "f00dfeed" * 4


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def _http_server(tmp_path: Path) -> Iterator[str]:
    """Run `operator mcp` over HTTP with $OPERATOR_MCP_TOKEN; yield its URL once it listens."""
    port = _free_port()
    env = clean_env(tmp_path, OPERATOR_MCP_TOKEN=TOKEN)
    command = [sys.executable, "-m", "operator_core.cli", "mcp", "--transport"]
    command += ["streamable-http", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        for line in server.stderr:
            if "listening on" in line:
                break
        else:
            raise AssertionError(f"the server ended before listening: {server.wait()}")
        threading.Thread(target=deque, args=(server.stderr, 0), daemon=True).start()
        yield f"http://127.0.0.1:{port}/mcp"
    finally:
        server.terminate()
        server.wait(timeout=60)


async def test_a_remote_client_with_the_token_inspects_a_real_container(containers, tmp_path):
    """Over HTTP with the header the client reads the engine; the audit names it, not the token."""
    name = containers.run("sleep", "300")
    with _http_server(tmp_path) as url:
        async with httpx2.AsyncClient() as anonymous:
            refused = await anonymous.post(url, json={}, headers={"accept": "application/json"})
        async with (
            httpx2.AsyncClient(headers={"authorization": f"Bearer {TOKEN}"}) as http,
            Client(streamable_http_client(url, http_client=http), client_info=CLIENT) as client,
        ):
            result = await client.call_tool("docker_inspect_container", {"container_id": name})
    assert refused.status_code == 401
    assert result.is_error is False
    assert result.structured_content is not None
    assert result.structured_content["result"]["name"] == name
    records = read_audit(tmp_path / "audit.sqlite3", AuditQuery(limit=None))
    assert [record.actor for record in records] == ["mcp:pytest-http-client/1.0"]
    stored = b"".join(path.read_bytes() for path in tmp_path.glob("audit.sqlite3*"))
    assert TOKEN.encode() not in stored
