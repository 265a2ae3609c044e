"""Move operator_core's modules to the layout by noun (issue 20) and rewrite every reference.

One map, old module -> new module. Run from the repository root:

    python scripts/relayout.py --move     # git mv the files, then rewrite references
    python scripts/relayout.py            # rewrite references only (idempotent): for a
                                          # branch that merged the new layout and still
                                          # names old modules in code it added

References rewritten: dotted names (``operator_core.docker._engine.run_cli``, in code,
strings and docs), ``from PARENT import MODULE`` lines, and file paths
(``docker/_engine.py``). Lines it cannot rewrite alone are printed.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

__all__ = ["MOVES"]

MOVES: dict[str, str] = {
    "types": "words",
    "terminal": "present.terminal",
    "retention": "audit.retention",
    "mcp_server": "mcp.server",
    "mcp_wire": "mcp.wire",
    "mcp_payload": "mcp.payload",
    "mcp_http": "mcp.http",
    "http_auth": "mcp.auth",
    "present": "present.views",
    "columns": "present.columns",
    "hung_engine": "testing.hung_engine",
    "docker._engine": "docker._engine.cli",
    "docker._core": "docker._engine.core",
    "docker._capture": "docker._engine.capture",
    "docker._batch": "docker._engine.batch",
    "docker._window": "docker._engine.window",
    "docker._state": "docker._engine.state",
    "docker._acting": "docker._engine.acting",
    "docker.lifecycle": "docker.containers.lifecycle",
    "docker.control": "docker.containers.control",
    "docker.execution": "docker.containers.execution",
    "docker.logs": "docker.containers.logs",
    "docker.networks": "docker.containers.networks",
    "docker.discovery": "docker.containers.discovery",
    "docker.waiting": "docker.containers.waiting",
    "docker.events": "docker.diagnosis.events",
    "docker.search": "docker.diagnosis.search",
    "docker.stats": "docker.diagnosis.stats",
    "docker._swarm": "docker.swarm._snapshot",
    "docker._swarm_view": "docker.swarm._view",
    "docker._swarm_wait": "docker.swarm._wait",
    "docker.services": "docker.swarm.services",
    "docker.service_updates": "docker.swarm.updates",
    "docker.nodes": "docker.swarm.nodes",
    "docker.tasks": "docker.swarm.tasks",
    "docker.swarm_results": "docker.swarm.results",
    "watch.heal": "watch.heal.healer",
    "watch.heal_state": "watch.heal.state",
    "watch.heal_swarm": "watch.heal.swarm",
    "watch.healing": "watch.heal.watching",
    "cli.audit_cmds": "cli.commands.audit",
    "cli.diagnosis_cmds": "cli.commands.diagnosis",
    "cli.docker_cmds": "cli.commands.docker",
    "cli.heal_cmds": "cli.commands.heal",
    "cli.health_cmds": "cli.commands.health",
    "cli.hosts_cmds": "cli.commands.hosts",
    "cli.policy_cmds": "cli.commands.policy",
    "cli.retention_cmds": "cli.commands.retention",
    "cli.serve_cmds": "cli.commands.serve",
    "cli.swarm_cmds": "cli.commands.swarm",
    "cli.watch_cmds": "cli.commands.watch",
    "cli.render": "cli.render.common",
    "cli.render_diagnosis": "cli.render.diagnosis",
    "cli.render_swarm": "cli.render.swarm",
    "cli.ps_view": "cli.render.ps",
}
#: Whole-file moves that keep the module's dotted name (a module becomes a package).
SAME_NAME = {"testing": "testing/__init__.py"}
NEW_PACKAGES = {
    "mcp": "Serve the tools over MCP: stdio and HTTP, the wire format and the payloads.",
    "present": "How results look to a person: the shared presentation and fitting tables.",
    "docker/_engine": "The private engine layer: bounded calls, the engine's errors, reads.",
    "docker/containers": "Act on containers: lifecycle, signals, exec, logs, networks, waits.",
    "docker/diagnosis": "Find out what happened: events, log search, resource snapshots.",
    "docker/swarm": "Swarm services, tasks and nodes: read them, change them, wait for truth.",
    "watch/heal": "The healer: act on unhealthy incidents under the policy, with leases.",
    "cli/commands": "The command groups of the ``operator`` CLI, one module per group.",
    "cli/render": "How the CLI shows results: tables and views per noun.",
}
ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "packages/operator-core/src/operator_core"
SKIP_DIRS = {".git", ".venv", "mutants", "__pycache__", "node_modules", ".mypy_cache"}
SUFFIXES = {".py", ".md", ".toml", ".cfg", ".txt", ".yml", ".yaml", ".sh", ".ini", ""}


def _children(new_prefix: str) -> set[str]:
    """Leaf names that live under ``new_prefix`` after the move (for idempotence)."""
    out = set()
    folder = SRC / new_prefix.removeprefix("operator_core.").replace(".", "/")
    if folder.is_dir():  # modules added to the package after the move count too
        out |= {p.stem for p in folder.glob("*.py")} | {
            p.name for p in folder.iterdir() if (p / "__init__.py").is_file()
        }
    for new in MOVES.values():
        if new.startswith(new_prefix + "."):
            out.add(new[len(new_prefix) + 1 :].split(".")[0])
    return out


def _dotted_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    parts = []
    table = {}
    for old in sorted(MOVES, key=len, reverse=True):
        full = f"operator_core.{old}"
        table[full] = f"operator_core.{MOVES[old]}"
        kids = _children(f"operator_core.{old}".removeprefix("operator_core."))
        guard = ""
        if kids:
            guard = r"(?!\.(?:" + "|".join(sorted(kids)) + r")\b)"
        parts.append(re.escape(full) + r"(?![\w])" + guard)
    return re.compile("|".join(f"(?:{p})" for p in parts)), table


def _path_pattern() -> tuple[re.Pattern[str], dict[str, str]]:
    table = {}
    for old, new in MOVES.items():
        old_path = old.replace(".", "/") + ".py"
        new_path = new.replace(".", "/") + ".py"
        table[old_path] = new_path
    table["testing.py"] = "testing/__init__.py"
    keys = sorted(table, key=len, reverse=True)
    # A path is ours when it follows operator_core/, a backtick, a quote, a space or
    # the line's start, and is not itself the tail of a longer path or name.
    alts = "|".join(re.escape(k) for k in keys)
    pat = re.compile(rf"(?:(operator_core/)|(?<![\w/.]))({alts})(?![\w])")
    return pat, table


def _from_import_fix(line: str) -> tuple[str, bool]:
    """``from operator_core.docker import _engine`` -> ``... _engine import cli as _engine``."""
    m = re.match(r"^(\s*)from (operator_core(?:\.\w+)*) import (.+?)\s*$", line)
    if not m:
        return line, False
    indent, parent, names = m.groups()
    rel_parent = parent.removeprefix("operator_core").lstrip(".")
    if names.startswith("("):
        return line, False
    items = [n.strip() for n in names.split(",")]
    kids = _children(rel_parent) if rel_parent in MOVES else set()
    if kids and all(i.partition(" as ")[0] in kids for i in items):
        return line, False  # already the new layout: a child of a module turned package
    moved = []
    for item in items:
        name, _, alias = item.partition(" as ")
        key = f"{rel_parent}.{name}" if rel_parent else name
        if key in MOVES:
            moved.append((name, alias or name, MOVES[key]))
    if not moved:
        return line, False
    if len(items) != 1:
        return line, True  # needs a hand
    name, alias, new = moved[0]
    new_parent, _, leaf = new.rpartition(".")
    new_parent_full = "operator_core" + (f".{new_parent}" if new_parent else "")
    tail = leaf if leaf == alias else f"{leaf} as {alias}"
    return f"{indent}from {new_parent_full} import {tail}\n", False


def _is_new_child_import(line: str) -> bool:
    m = re.match(r"^\s*from operator_core\.([\w.]+) import ([\w, ]+?)(?: as \w+)?\s*$", line)
    if not m or m.group(1) not in MOVES:
        return False
    kids = _children(m.group(1))
    return bool(kids) and all(n.strip() in kids for n in m.group(2).split(","))


def rewrite(text: str) -> tuple[str, list[str]]:
    dpat, dtable = _dotted_pattern()
    ppat, ptable = _path_pattern()
    todo = []
    out = []
    for line in text.splitlines(keepends=True):
        fixed, hand = _from_import_fix(line)
        if hand:
            todo.append(line.rstrip())
        if fixed != line:
            line = fixed
        elif not _is_new_child_import(line):
            line = dpat.sub(lambda m: dtable[m.group(0)], line)
        line = ppat.sub(lambda m: (m.group(1) or "") + ptable[m.group(2)], line)
        out.append(line)
    return "".join(out), todo


def files() -> list[Path]:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    out = []
    for rel in listed:
        p = ROOT / rel
        if any(part in SKIP_DIRS for part in p.parts) or not p.is_file():
            continue
        if p.suffix in SUFFIXES or p.name in {"Dockerfile", "dev", "run"}:
            out.append(p)
    return out


def move() -> None:
    for path in NEW_PACKAGES:
        d = SRC / path
        d.mkdir(parents=True, exist_ok=True)
    for old, new in sorted(MOVES.items()):
        src = SRC / (old.replace(".", "/") + ".py")
        dst = SRC / (new.replace(".", "/") + ".py")
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.exists() and not (SRC / old.replace(".", "/")).is_dir():
            subprocess.run(["git", "mv", str(src), str(dst)], cwd=ROOT, check=True)
    for name, rel in SAME_NAME.items():
        src = SRC / f"{name}.py"
        if src.exists():
            (SRC / rel).parent.mkdir(parents=True, exist_ok=True)
            subprocess.run(["git", "mv", str(src), str(SRC / rel)], cwd=ROOT, check=True)
    for path, doc in NEW_PACKAGES.items():
        init = SRC / path / "__init__.py"
        if not init.exists():
            init.write_text(f'"""{doc}"""\n\n__all__: list[str] = []\n')


def main() -> int:
    if "--move" in sys.argv:
        move()
    todo_all = []
    for p in files():
        if p.resolve() == Path(__file__).resolve():
            continue
        try:
            text = p.read_text()
        except UnicodeDecodeError:
            continue
        new, todo = rewrite(text)
        if new != text:
            p.write_text(new)
        todo_all += [f"{p.relative_to(ROOT)}: {t}" for t in todo]
    for t in todo_all:
        print("by hand:", t)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
