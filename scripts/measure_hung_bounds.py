"""Measure how long each call takes on a hung Docker engine, through the CLI and MCP.

For inspect, stop (grace 1 and 10), exec and wait, prints the seconds a call took until
it came back, next to the bound the docs state for it. Two kinds of hung engine
(``operator_core.testing.hung_engine.HungEngine``):

* ``wedged``: a socket that accepts and never answers, from the first request on;
* ``mid-action``: the real engine until the action's own request (``/stop``, ``/exec``),
  then silence: the container was found and judged, the action never answered.

Each call runs as a person or an agent would run it: ``operator --host ... docker ...``
as a fresh process, and ``tools/call`` to an ``operator mcp`` server over stdio. The
measured time includes starting the CLI process (about a second on a loaded machine).

Run: ``.venv/bin/python scripts/measure_hung_bounds.py [inspect|stop|exec|wait]...`` (after
``scripts/setup-engine.sh``; about six minutes for all).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mcp_types as types
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from operator_core.testing import IGNORES_SIGTERM, TEST_IMAGE, TEST_LABEL, unique_name
from operator_core.testing.hung_engine import HungEngine

__all__ = ["main"]

#: The local engine's socket (DOCKER_HOST when it names one).
ENGINE_SOCKET = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
POLICY = 'mode = "execute"\n[approval]\nrisks = []\ntools = { docker_execute_command = false }\n'
CALL_DEADLINE_S = 30.0


@dataclass(frozen=True)
class Case:
    """One call to measure: the tool, its CLI words, the documented bound, how it hangs."""

    label: str
    tool: str
    arguments: dict[str, Any]
    cli: list[str]
    documented_s: float
    bound_text: str
    hang_on: bytes | None  # None: wedged from the start


def _cases(name: str) -> list[Case]:
    """Return the measured calls on container ``name``."""
    return [
        Case(
            "inspect", "docker_inspect_container", {"container_id": name},
            ["docker", "inspect", name], CALL_DEADLINE_S, "call_deadline", None,
        ),
        Case(
            "stop grace 1", "docker_stop_container", {"container_id": name, "timeout": 1},
            ["docker", "stop", name, "--timeout", "1"], 1 + 30, "grace + 30", b"/stop",
        ),
        Case(
            "stop grace 1", "docker_stop_container", {"container_id": name, "timeout": 1},
            ["docker", "stop", name, "--timeout", "1"], 1 + 30, "grace + 30", None,
        ),
        Case(
            "stop grace 10", "docker_stop_container", {"container_id": name, "timeout": 10},
            ["docker", "stop", name, "--timeout", "10"], 10 + 30, "grace + 30", b"/stop",
        ),
        Case(
            "exec timeout 10", "docker_execute_command",
            {"container_id": name, "command": ["true"], "timeout": 10},
            ["docker", "exec", name, "--timeout", "10", "--", "true"],
            10 + 15 + CALL_DEADLINE_S, "timeout + 15 + 30", b"/exec",
        ),
        Case(
            "wait timeout 10", "docker_wait_for_container",
            {"container_id": name, "condition": "exited", "timeout": 10},
            ["docker", "wait", name, "--condition", "exited", "--timeout", "10"],
            10 + 5, "timeout + one read", None,
        ),
    ]  # fmt: skip


def _hung(case: Case, directory: str) -> HungEngine:
    """Return the hung engine ``case`` runs against."""
    if case.hang_on is None:
        return HungEngine(directory)
    return HungEngine(directory, upstream=ENGINE_SOCKET, hang_on=case.hang_on)


def _env(work: Path) -> dict[str, str]:
    """Return an environment with a private audit file and no user configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPERATOR_", "DOCKER_"))}
    env.update(OPERATOR_AUDIT_DB=str(work / "audit.sqlite3"), XDG_CONFIG_HOME=str(work / "cfg"))
    return env


def _global_options(engine: HungEngine, work: Path) -> list[str]:
    """Return the CLI's global options: the hung engine, the execute policy, JSON output."""
    return ["--host", engine.host, "--policy", str(work / "policy.toml"), "--json"]


def _cli(case: Case, work: Path, directory: str) -> tuple[float, str]:
    """Run ``case`` through a fresh ``operator`` process; return seconds and what it said."""
    with _hung(case, directory) as engine:
        command = [sys.executable, "-m", "operator_core.cli", *_global_options(engine, work)]
        began = time.monotonic()
        done = subprocess.run(
            [*command, *case.cli], capture_output=True, env=_env(work), timeout=600, check=False
        )
        elapsed = time.monotonic() - began
    return elapsed, _said(done.stdout.decode(errors="replace"))


async def _mcp(case: Case, work: Path, directory: str) -> tuple[float, str]:
    """Run ``case`` as a tools/call to ``operator mcp``; return seconds and what it said."""
    with _hung(case, directory) as engine:
        server = StdioServerParameters(
            command=sys.executable,
            args=["-m", "operator_core.cli", *_global_options(engine, work)[:4], "mcp"],
            env=_env(work),
        )
        client_info = types.Implementation(name="measure", version="1")
        async with Client(server, client_info=client_info) as client:
            began = time.monotonic()
            result = await client.call_tool(case.tool, case.arguments)
            elapsed = time.monotonic() - began
    text = result.content[0].text if result.content else ""  # type: ignore[union-attr]
    return elapsed, _said(text)


def _said(text: str) -> str:
    """Return the gist of an envelope: ok, or the error type with its reason."""
    try:
        envelope = json.loads(text)
    except ValueError:
        return text.strip()[:40] or "(no output)"
    if envelope.get("ok"):
        result = envelope.get("result") or {}
        return "ok" + (", timed_out" if result.get("timed_out") else "")
    error = envelope.get("error") or {}
    reason = (error.get("details") or {}).get("reason")
    return str(error.get("type")) + (f" ({reason})" if reason else "")


def _container() -> str:
    """Start the container every case is aimed at (it ignores SIGTERM); return its name."""
    name = unique_name("opc-hung")
    subprocess.run(
        ["docker", "run", "-d", "--name", name, "--label", f"{TEST_LABEL}=1", TEST_IMAGE,
         *IGNORES_SIGTERM],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return name


def _remove(name: str) -> None:
    """Remove the container this script started."""
    subprocess.run(["docker", "rm", "-f", name], capture_output=True, timeout=60, check=False)


async def main() -> None:
    """Measure every case through the CLI and MCP; print one table."""
    name = await asyncio.to_thread(_container)
    directory = tempfile.mkdtemp(prefix="hung", dir="/tmp")
    work = Path(tempfile.mkdtemp(prefix="opc-measure-"))
    (work / "policy.toml").write_text(POLICY)
    print(f"{'call':16} {'engine':10} {'documented':>18} {'CLI s':>7} {'MCP s':>7}  said")
    try:
        wanted = sys.argv[1:]  # labels' first words (inspect, stop, exec, wait): only those
        for case in _cases(name):
            if wanted and case.label.split()[0] not in wanted:
                continue
            cli_s, cli_said = await asyncio.to_thread(_cli, case, work, directory)
            mcp_s, mcp_said = await _mcp(case, work, directory)
            kind = "mid-action" if case.hang_on else "wedged"
            documented = f"{case.documented_s:g} ({case.bound_text})"
            said = cli_said if cli_said == mcp_said else f"CLI {cli_said}; MCP {mcp_said}"
            print(f"{case.label:16} {kind:10} {documented:>18} {cli_s:7.1f} {mcp_s:7.1f}  {said}")
    finally:
        await asyncio.to_thread(_remove, name)


if __name__ == "__main__":
    asyncio.run(main())
