"""The house rules between the package's rooms, read from the source and the import graph."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import operator_core

SOURCE = Path(operator_core.__file__).parent


def _modules() -> dict[str, ast.Module]:
    """Return every module of the package by dotted name, parsed."""
    found: dict[str, ast.Module] = {}
    for path in sorted(SOURCE.rglob("*.py")):
        parts = list(path.relative_to(SOURCE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = ast.parse(path.read_text(), str(path))
    return found


def _imports(tree: ast.Module) -> list[str]:
    """Return every absolute module name a module imports, at any depth (lazy ones too)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _loaded_by(statement: str) -> set[str]:
    """Return the modules a fresh interpreter has loaded after running ``statement``."""
    probe = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=True
    )
    return set(done.stdout.split())


def test_no_library_module_imports_the_command_line():
    """Only modules under operator_core.cli import operator_core.cli (lazily or not)."""
    offenders = [
        (module, name)
        for module, tree in _modules().items()
        if not module.startswith("operator_core.cli")
        for name in _imports(tree)
        if name == "operator_core.cli" or name.startswith("operator_core.cli.")
    ]
    assert offenders == []


def test_importing_the_demo_does_not_build_the_command_line():
    """The demo shows results through operator_core.present: no typer, no CLI app."""
    loaded = _loaded_by("import operator_core.demo")
    assert "operator_core.demo.show" in loaded
    assert not {"operator_core.cli", "operator_core.cli.app", "typer"} & loaded
