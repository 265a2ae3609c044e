"""The MCP server over real HTTP in this test's event loop, on an ephemeral loopback port."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import socket
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from operator_core.audit import MemoryAuditSink
from operator_core.mcp.http import HttpOptions, http_server
from operator_core.mcp.server import build_server
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from tool_fakes import FakeExecutor

__all__ = ["INIT", "MCP_HEADERS", "TOKEN", "self_signed", "serving"]

#: A token the tests give the server (long enough, header-safe).
TOKEN = "t0k-" + "a1b2c3d4" * 4
#: What a client sends to open a session.
INIT: dict[str, Any] = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "http-test", "version": "1"},
    },
}
MCP_HEADERS = {"accept": "application/json, text/event-stream"}


@contextlib.asynccontextmanager
async def serving(options: HttpOptions) -> AsyncIterator[str]:
    """Serve a fake-engine MCP server with ``options`` on 127.0.0.1; yield its URL."""
    runner = ToolRunner(
        FakeExecutor("web"), policy=Policy(), audit=MemoryAuditSink(), own_container_id=None
    )
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    options = replace(options, port=sock.getsockname()[1])
    server = http_server(build_server(runner), options)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # ordered by the server's own flag, not a sleep budget
            if task.done():
                task.result()
            await asyncio.sleep(0.01)
        yield replace(options, host="127.0.0.1").url  # where it listens, whatever it was told
    finally:
        server.should_exit = True
        await task
        sock.close()


def self_signed(directory: Path) -> tuple[Path, Path]:
    """Write a self-signed certificate for 127.0.0.1 and its key; return their paths."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    # Fixed, wide validity: the TLS library checks it on the real clock, which a test's moved
    # clock (the suite's shifted run) does not move; "now" would be read from the moved one.
    valid_from = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(valid_from)
        .not_valid_after(valid_from + datetime.timedelta(days=100 * 365))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
