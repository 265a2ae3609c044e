#!/usr/bin/env python3
"""Measure the HTTP MCP server's memory before and after many abandoned sessions.

Starts ``operator mcp --transport streamable-http`` on a free loopback port (its own
audit file in a temporary directory, observe mode), reads its resident memory
(``VmRSS``) when fresh, sends N ``initialize`` requests over real HTTP and never ends
the sessions they open (the worst client: one that goes away without a DELETE), then
reads the memory again and prints both, the difference and how the requests were
answered (200: a session opened; 503: the server was full).

    .venv/bin/python scripts/measure_http_sessions.py [--count 4000] [--max-sessions N]

``--max-sessions 10000`` shows the server without our bound (the MCP SDK's default).
"""

from __future__ import annotations

import argparse
import collections
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx2

__all__ = ["main"]

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "measure", "version": "1"},
    },
}
HEADERS = {"accept": "application/json, text/event-stream"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _rss_mb(pid: int) -> float:
    """Return the resident memory of ``pid`` in MB (from /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def _start(port: int, workdir: str, extra: list[str]) -> subprocess.Popen[str]:
    """Start the server; return once it says it listens."""
    env = {**os.environ, "OPERATOR_AUDIT_DB": f"{workdir}/audit.sqlite3"}
    env.pop("OPERATOR_MCP_TOKEN", None)
    command = [sys.executable, "-m", "operator_core.cli", "mcp", "--transport"]
    command += ["streamable-http", "--port", str(port), *extra]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    if server.stderr is None:
        raise RuntimeError("no pipe from the server's stderr")
    for line in server.stderr:
        if "listening on" in line:
            # Keep reading its log (a warning per refused session) so it never blocks.
            threading.Thread(target=collections.deque, args=(server.stderr, 0), daemon=True).start()
            return server
    raise RuntimeError(f"the server ended before listening (exit {server.wait()})")


def main() -> int:
    """Run the measurement; print fresh and after RSS and the difference."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=4000)
    parser.add_argument("--max-sessions", type=int, default=None)
    args = parser.parse_args()
    extra = [] if args.max_sessions is None else ["--max-sessions", str(args.max_sessions)]
    port = _free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    with tempfile.TemporaryDirectory() as workdir:
        server = _start(port, workdir, extra)
        try:
            with httpx2.Client(timeout=30) as http:
                http.get(f"http://127.0.0.1:{port}/")  # connection made, app loaded
                fresh = _rss_mb(server.pid)
                started = time.monotonic()
                statuses = collections.Counter(
                    http.post(url, json=INIT, headers=HEADERS).status_code
                    for _ in range(args.count)
                )
                took = time.monotonic() - started
            after = _rss_mb(server.pid)
        finally:
            server.terminate()
            server.wait()
    answered = ", ".join(f"{code}: {n}" for code, n in sorted(statuses.items()))
    print(f"initialize x{args.count} in {took:.1f}s ({answered})")
    print(f"RSS fresh {fresh:.1f} MB, after {after:.1f} MB, difference {after - fresh:+.1f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
