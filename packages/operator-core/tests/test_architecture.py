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
    """The demo shows results through operator_core.present.views: no typer, no CLI app."""
    loaded = _loaded_by("import operator_core.demo")
    assert "operator_core.demo.show" in loaded
    assert not {"operator_core.cli", "operator_core.cli.app", "typer"} & loaded


def test_private_modules_are_imported_only_inside_their_package():
    """operator_core.pkg._private is imported from operator_core.pkg (and below) only."""
    modules = _modules()
    offenders = []
    for module, tree in modules.items():
        for name in _imports(tree):
            parts = name.split(".")
            private = [i for i, part in enumerate(parts) if part.startswith("_") and i > 1]
            if not name.startswith("operator_core.") or not private:
                continue
            home = ".".join(parts[: private[0]])
            if module != home and not module.startswith(f"{home}."):
                offenders.append((module, name))
    assert offenders == []


def test_policy_tools_audit_and_runner_do_not_load_the_docker_layer():
    """Policy, tools, audit and runner take limits, validators and types from public modules."""
    loaded = _loaded_by(
        "import operator_core.policy, operator_core.tools, operator_core.audit, "
        "operator_core.runner"
    )
    assert "operator_core.policy.model" in loaded
    assert sorted(m for m in loaded if m.startswith("operator_core.docker")) == []


def test_the_executor_is_still_exported_at_the_top():
    """`from operator_core import DockerActionExecutor` works though it is loaded lazily."""
    from operator_core import DockerActionExecutor
    from operator_core.docker import DockerActionExecutor as Executor

    assert DockerActionExecutor is Executor


def test_every_tool_method_is_on_the_executor_protocol():
    """ToolRunner's ContainerExecutor names each tool's method, so mypy checks them all.

    DockerActionExecutor has each of them too (a tool cannot name a method that is not).
    """
    from operator_core.docker import DockerActionExecutor
    from operator_core.runner import ContainerExecutor
    from operator_core.tools import TOOLS

    assert [s.method for s in TOOLS if not hasattr(ContainerExecutor, s.method)] == []
    assert [s.method for s in TOOLS if not hasattr(DockerActionExecutor, s.method)] == []
