"""Pins issue 18 item 4: no control character from outside reaches a person's terminal.

Every command of the typer app is run against an engine (a fake executor) whose every
string carries escape sequences, C1 controls and bidirectional overrides; what it prints
on stdout and stderr must show them only as visible escapes. A new command without an
entry here fails ``test_every_command_is_run_with_hostile_data``.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import typer.main
from rich.text import Text
from typer.testing import CliRunner

import operator_core.cli.commands.hosts as hosts_cmds
import operator_core.cli.commands.watch as watch_cmds
import operator_core.cli.runtime as runtime
from operator_core.audit import open_audit
from operator_core.cli import app
from operator_core.policy import Policy
from operator_core.present.columns import Column, fit_table, print_table
from operator_core.present.terminal import UNSAFE, SafeConsole, safe_rich_text, safe_text
from operator_core.present.views import compact, make_console
from operator_core.runner import ToolRunner
from operator_core.watch import HealStore
from operator_core.watch.heal.state import Escalation
from operator_core.watch.history import HistoryStore
from tool_fakes import FakeExecutor, container_id

#: Window title, BEL, clear screen, one-byte CSI, right-to-left override, CR, backspace.
HOSTILE = "\x1b]0;owned\x07\x1b[2J\x9b31m\u202eevil\r\x08\x00\u2066x"
#: Result keys the runner and tools read back (ids, states); every other string is poisoned.
_KEEP = frozenset(
    {"id", "container_id", "status", "state", "health", "stream", "timestamp", "started_at"}
    | {"time", "finished_at", "created", "condition", "availability", "role", "desired_state"}
    | {"ended", "kind", "task_id", "service_id", "node_id", "engine_id"}
    | {"since", "until", "engine_oldest"}  # an events window: our own validated times
)


def _poison(value: Any, key: str = "") -> Any:
    """Return ``value`` with HOSTILE appended to every free-text string (and label keys)."""
    if isinstance(value, str):
        return value if key in _KEEP else value + HOSTILE
    if isinstance(value, list):
        return [_poison(item, key) for item in value]
    if isinstance(value, dict):
        rekey = key in ("labels", "attributes")
        return {
            (f"{k}{HOSTILE}" if rekey else k): _poison(item, str(k)) for k, item in value.items()
        }
    return value


class HostileExecutor:
    """A FakeExecutor whose every answer carries terminal control sequences."""

    def __init__(self, inner: FakeExecutor) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._inner, name)
        if not asyncio.iscoroutinefunction(attribute) or name == "engine_identity":
            return attribute

        async def poisoned(*args: Any, **kwargs: Any) -> Any:
            return _poison(await attribute(*args, **kwargs))

        return poisoned


class _TalkativeFake(FakeExecutor):
    """A FakeExecutor whose reads (events, stats, top, search, service logs) find something."""

    async def get_events(self, since: Any, *args: Any, **kwargs: Any) -> Any:
        result = await super().get_events(since, *args, **kwargs)
        event = {
            "time": "2026-01-01T00:00:00+00:00",
            "type": "container",
            "action": "exec_start: sh -c x",
            "detail": "sh -c x",
            "actor_id": _ID,
            "actor_name": "web",
            "exit_code": None,
            "attributes": {"execID": "e1", "image": "busybox"},
        }
        return {**result, "events": [event], "count": 1, "seen": 1}

    async def container_stats(self, refs: list[str] | None = None) -> Any:
        entry = dict.fromkeys(("cpu_percent", "memory_percent"), 1.0) | {"pids": 1}
        sizes = ("memory_bytes", "memory_limit_bytes", "network_rx_bytes", "network_tx_bytes")
        entry |= dict.fromkeys((*sizes, "block_read_bytes", "block_write_bytes"), 1024)
        return {"containers": [{"container_id": _ID, "name": "web", **entry}], "count": 1}

    async def container_top(self, container_id: str) -> Any:
        process = {"pid": 1, "user": "root", "elapsed": "1:00", "command": "sh"}
        return {"container_id": _ID, "name": "web", "processes": [process], "count": 1}

    async def search_logs(self, pattern: str, *args: Any, **kwargs: Any) -> Any:
        result = await super().search_logs(pattern, *args, **kwargs)
        match = {"container_id": _ID, "name": "web", "time": None, "stream": "stdout"}
        match |= {"line": "a match", "before": ["before"], "after": ["after"]}
        searched = {"container_id": _ID, "name": "web", "lines_read": 3, "matches": 1}
        return {
            **result,
            "matches": [match],
            "match_count": 1,
            "containers": [{**searched, "truncation": []}],
        }

    async def get_service_logs(self, service: str, *args: Any, **kwargs: Any) -> Any:
        result = await super().get_service_logs(service, *args, **kwargs)
        line = {"timestamp": None, "stream": "stdout", "task_id": "t0", "slot": 1}
        line |= {"node_id": "n0", "node": "wrk-1", "text": "served", "truncated": False}
        return {**result, "lines": [line], "line_count": 1}


_ID = container_id("web")


def _fake() -> FakeExecutor:
    fake = _TalkativeFake()
    fake.add("web", labels={"team": "a"})
    fake.add_service("api")
    return fake


#: A fleet host's name carrying escapes (a ``[hosts."..."]`` key, a ``--host NAME``).
HOSTILE_HOST = f"eng{HOSTILE}"

#: Every command, with the arguments it is run with (None: not a person's output, why);
#: a key with ``--`` is a flag path of its command, run on its own.
COMMANDS: dict[str, list[str] | str] = {
    "mcp": "speaks JSON-RPC on stdout, for a program; its strings are JSON-escaped",
    "demo": "runs its own container on the engine; its console is make_console's (see below)",
    "tools": ["tools"],
    "watch": ["watch"],
    "hosts": ["hosts"],
    "health": "prints only its own words, nothing the engine or the MCP server sent",
    "docker ps": ["docker", "ps", "-a"],
    "docker inspect": ["docker", "inspect", "web"],
    "docker start": ["docker", "start", "web"],
    "docker stop": ["docker", "stop", "web"],
    "docker restart": ["docker", "restart", "web"],
    "docker logs": ["docker", "logs", "web"],
    "docker exec": ["docker", "exec", "web", "ls"],
    "docker kill": ["docker", "kill", "web"],
    "docker pause": ["docker", "pause", "web"],
    "docker unpause": ["docker", "unpause", "web"],
    "docker wait": ["docker", "wait", "web", "--condition", "running"],
    "docker events": ["docker", "events", "web"],
    "docker stats": ["docker", "stats"],
    "docker top": ["docker", "top", "web"],
    "docker search": ["docker", "search", "a", "web"],
    "docker net connect": ["docker", "net", "connect", "backend", "web"],
    "docker net disconnect": ["docker", "net", "disconnect", "bridge", "web"],
    "audit list": ["audit", "list", "--wide"],
    "audit show": ["audit", "show", "RECORD"],
    "audit prune": ["audit", "prune", "--older-than", f"30d{HOSTILE}"],
    "history status": ["history", "status"],
    "history prune": ["history", "prune", "--older-than", f"7d{HOSTILE}"],
    "heal list": ["heal", "list"],
    "heal clear": ["heal", "clear", f"web{HOSTILE}"],
    "policy check": ["policy", "check", "BAD_POLICY"],
    "policy show": ["policy", "show"],
    # A host named in the policy (and asked for) carrying escapes, with no inventory.
    "policy show --host": ["--policy", "HOSTS_POLICY", "policy", "show", "--host", HOSTILE_HOST],
    "swarm services": ["swarm", "services"],
    "swarm tasks": ["swarm", "tasks", "api"],
    "swarm logs": ["swarm", "logs", "api"],
    "swarm scale": ["swarm", "scale", "api", "3"],
    "swarm restart": ["swarm", "restart", "api"],
    "swarm rollback": ["swarm", "rollback", "api"],
    "swarm nodes": ["swarm", "nodes"],
    "swarm drain": ["swarm", "drain", "wrk-1"],
    "swarm activate": ["swarm", "activate", "wrk-1"],
}


def _command_paths() -> list[str]:
    """Return every leaf command of the app as 'group sub'."""
    paths: list[str] = []

    def walk(command: Any, path: list[str]) -> None:
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])
        else:
            paths.append(" ".join(path))

    walk(typer.main.get_command(app), [])
    return paths


def test_every_command_is_run_with_hostile_data():
    """The table below names every command of the app (a new one must be added to it)."""
    commands = [path for path in COMMANDS if " --" not in path]
    assert sorted(_command_paths()) == sorted(commands)
    for path in COMMANDS:
        assert path.split(" --")[0] in commands, path


async def _seed_audit(path: Path) -> str:
    """Write records whose actor (an MCP client's name) and reference carry escapes."""
    audit = open_audit(path)
    runner = ToolRunner(HostileExecutor(_fake()), policy=Policy(), audit=audit)
    envelope = await runner.execute_tool(
        "docker_inspect_container", {"container_id": "web"}, actor=f"mcp:{HOSTILE}"
    )
    await runner.execute_tool(
        "docker_restart_container", {"container_id": f"web{HOSTILE}"}, actor=f"mcp:{HOSTILE}"
    )
    await audit.close()
    return str(envelope["audit_id"])


async def _seed_store(path: Path) -> None:
    """An escalation and a recorded engine whose host and container names carry escapes."""
    heal = HealStore(path)
    try:
        entry = Escalation(
            engine_id="E1",
            container_id=_ID,
            host=f"h{HOSTILE}",
            name=f"web{HOSTILE}",
            since="2026-01-01T00:00:00+00:00",
            why=f"kept failing{HOSTILE}",
        )
        await heal.run(heal.escalate, entry, 1.0)
    finally:
        heal.close()
    history = HistoryStore(path)
    try:
        await history.open_interval(f"h{HOSTILE}", "E1", 1.0)
    finally:
        await history.close()


async def _hostile_watch(source: Any, **options: Any) -> AsyncIterator[dict[str, Any]]:
    """Yield one incident about a container whose name and message carry escapes."""
    yield {
        "time": "2026-01-01T00:00:00+00:00",
        "kind": "died",
        "host": f"h{HOSTILE}",
        "message": f"web{HOSTILE} died (exit 1)",
    }


class _HostileFleet:
    """Answers ``operator hosts`` with a host whose name, engine and error carry escapes."""

    def __init__(self, inventory: Any) -> None:
        pass

    async def check(self) -> dict[str, Any]:
        host = {"host": f"n1{HOSTILE}", "address": f"ssh://n1{HOSTILE}", "latency_ms": 1.0}
        return {
            "hosts": [
                {**host, "reachable": True, "engine_version": f"27{HOSTILE}", "error": None}
                | {"containers_running": 1, "containers_total": 1},
                {**host, "reachable": False, "engine_version": None, "error": {"message": HOSTILE}}
                | {"containers_running": None, "containers_total": None},
            ]
        }


@pytest.fixture
def hostile_cli(tmp_path, monkeypatch) -> Callable[[list[str]], Any]:
    """Run a command against the hostile executor; return the CliRunner result."""
    audit_db = tmp_path / "audit.sqlite3"
    record = asyncio.run(_seed_audit(audit_db))
    asyncio.run(_seed_store(tmp_path / "history.sqlite3"))
    policy, bad = tmp_path / "policy.toml", tmp_path / "bad.toml"
    policy.write_text('mode = "execute"\n')
    escaped = json.dumps(f"db{HOSTILE}")  # a TOML basic string takes JSON's \u escapes
    bad.write_text(f'mode = "execute"\n[protected]\nnames = [{escaped}]\n')
    hosts = tmp_path / "hosts.toml"
    hosts.write_text(f'[hosts.{json.dumps(HOSTILE_HOST)}]\nmode = "observe"\n')
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(audit_db))
    monkeypatch.setenv("OPERATOR_POLICY", str(policy))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("OPERATOR_MODE", raising=False)
    monkeypatch.delenv("OPERATOR_INVENTORY", raising=False)
    fake = _fake()
    monkeypatch.setattr(runtime, "DockerActionExecutor", lambda *a, **k: HostileExecutor(fake))
    # The module, not the typer app the package re-exports under the same name.
    cli_app = importlib.import_module("operator_core.cli.app")
    monkeypatch.setattr(cli_app, "check_engine_options", lambda *a, **k: None)
    monkeypatch.setattr(watch_cmds, "check_engine_options", lambda *a, **k: None)
    monkeypatch.setattr(watch_cmds, "watch", _hostile_watch)
    monkeypatch.setattr(watch_cmds, "DockerActionExecutor", lambda *a, **k: fake)
    monkeypatch.setattr(hosts_cmds, "Fleet", _HostileFleet)
    monkeypatch.setattr(hosts_cmds, "_inventory", lambda ctx: None)

    def run(args: list[str]) -> Any:
        files = {"RECORD": record, "BAD_POLICY": str(bad), "HOSTS_POLICY": str(hosts)}
        args = [files.get(word, word) for word in args]
        return CliRunner().invoke(
            app, ["--yes", *args], prog_name="operator", env={"COLUMNS": "100"}
        )

    return run


def _raw_controls(text: str) -> list[str]:
    """Return the characters of ``text`` a terminal would obey (newlines and tabs aside)."""
    return sorted({c for c in UNSAFE.findall(text) if c not in "\n\t"})


@pytest.mark.parametrize("path", [p for p, args in COMMANDS.items() if isinstance(args, list)])
def test_no_command_writes_a_raw_control_character(hostile_cli, path):
    """Each command's human output shows the hostile text (escaped), never a raw control."""
    args = COMMANDS[path]
    assert isinstance(args, list)
    result = hostile_cli(args)
    shown = result.stdout + result.stderr
    assert _raw_controls(shown) == [], (path, result.exit_code, shown[-2000:])
    if path not in ("tools", "policy show"):  # our own text, and the person's file
        assert "\\x1b" in shown, (path, result.exit_code, shown[-2000:])


def test_an_invalid_reference_is_refused_without_a_raw_control(hostile_cli):
    """A refused container reference: its error shows no raw control (audit list: above)."""
    result = hostile_cli(["docker", "restart", f"web{HOSTILE}"])
    assert result.exit_code == 2
    assert "invalid_arguments" in result.stderr
    assert _raw_controls(result.stdout + result.stderr) == []


def test_json_output_carries_no_raw_control_character(hostile_cli):
    r"""--json is exact JSON: the escapes are JSON's own (\u001b), and it parses back whole."""
    result = hostile_cli(["--json", "docker", "inspect", "web"])
    assert _raw_controls(result.stdout) == []
    envelope = json.loads(result.stdout)
    assert envelope["result"]["name"] == f"web{HOSTILE}"


def test_the_demo_and_every_command_print_through_a_safe_console():
    """make_console (the CLI's OUT/ERR and the demo's console) is a SafeConsole."""
    from operator_core.cli.app import ERR, OUT

    assert isinstance(OUT, SafeConsole)
    assert isinstance(ERR, SafeConsole)
    assert isinstance(make_console(stderr=False), SafeConsole)


@pytest.mark.parametrize(
    ("text", "one_line", "shown"),
    [
        ("a\x1b[2Jb", False, "a\\x1b[2Jb"),
        ("t\x9b1m", False, "t\\x9b1m"),
        ("bell\x07", False, "bell\\x07"),
        ("\u202eabc\u2066\u200f\u061c", False, "\\u202eabc\\u2066\\u200f\\u061c"),
        ("over\rwrite", False, "over\\rwrite"),
        ("del\x7f", False, "del\\x7f"),
        ("two\nlines\tand tab", False, "two\nlines\tand tab"),
        ("two\nlines\tand tab", True, "two\\nlines\\tand tab"),
        ("plain ünïcode 名前", True, "plain ünïcode 名前"),
    ],
)
def test_safe_text_shows_each_control_visibly(text, one_line, shown):
    """C0, C1, DEL and bidi controls are escaped; newline and tab only on a single line."""
    assert safe_text(text, one_line=one_line) == shown
    assert safe_text(shown, one_line=one_line) == shown  # made safe once is safe


def test_a_styled_text_keeps_its_styles_around_the_escapes():
    """safe_rich_text replaces the controls and keeps each part's style."""
    text = Text.assemble(("ok", "green"), ("\x1b[2J", "red"), "end")
    safe = safe_rich_text(text)
    assert safe.plain == "ok\\x1b[2Jend"
    styled = sorted((s.start, s.end, str(s.style)) for s in safe.spans)
    assert [(safe.plain[start:end], style) for start, end, style in styled] == [
        ("ok", "green"),
        ("\\x1b", "red"),
        ("[2J", "red"),
    ]


def test_a_console_under_a_terminal_writes_its_colours_but_no_foreign_control(tmp_path):
    """Forced to a colour terminal, the console emits its own SGR codes, and only those."""
    out = (tmp_path / "out").open("w")
    console = SafeConsole(file=out, force_terminal=True, color_system="truecolor", width=60)
    console.print(f"[red]name[/red] {HOSTILE}")
    console.print(Text(HOSTILE, style="bold"))
    console.out(HOSTILE)
    table = fit_table([Column("NAME"), Column("LABEL")], [[HOSTILE, Text(HOSTILE)]], 60)
    print_table(console, table)
    out.close()
    written = (tmp_path / "out").read_text()
    assert "\x1b[31m" in written  # rich's own colour
    # Only SGR colour codes remain once rich's own are taken out; HOSTILE holds none.
    assert _raw_controls(re.sub(r"\x1b\[[0-9;]*m", "", written)) == []


def test_a_single_line_value_stays_on_its_line_in_tables():
    r"""compact() and table cells show a newline as \n, so a row cannot be forged."""
    assert compact("web\nfake-row running") == "web\\nfake-row running"
    table = fit_table([Column("NAME")], [["web\nroot running"]], 80)
    console = SafeConsole(width=80, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
    print_table(console, table)
    assert "web\\nroot running" in console.export_text()


def test_the_servers_log_lines_show_escapes(monkeypatch):
    """`operator mcp` logs through SafeFormatter: an agent's tool name cannot drive stderr."""
    import logging

    import operator_core.cli.commands.serve as serve_cmds
    from operator_core.present.terminal import SafeFormatter

    async def no_server(*args: Any) -> None:
        return None

    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(serve_cmds, "_serve", no_server)
    monkeypatch.setattr(serve_cmds, "check_engine_options", lambda *a, **k: None)
    result = CliRunner().invoke(app, ["mcp"], prog_name="operator")
    assert result.exit_code == 0, result.output
    (handler,) = root.handlers
    assert isinstance(handler.formatter, SafeFormatter)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "tool %s failed", (HOSTILE,), None)
    line = handler.formatter.format(record)
    assert _raw_controls(line) == []
    assert "\\x1b]0;owned" in line
