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


AGENT_ROOMS = ("audit", "policy", "tools", "runner", "cli", "mcp")


def _rooms_imported_by(prefix: str, rooms: tuple[str, ...]) -> list[tuple[str, str]]:
    """Return (module, name) for each import of a room in ``rooms`` by a module under ``prefix``."""
    return [
        (module, name)
        for module, tree in _modules().items()
        if module == prefix or module.startswith(f"{prefix}.")
        for name in _imports(tree)
        if any(
            name == f"operator_core.{r}" or name.startswith(f"operator_core.{r}.") for r in rooms
        )
    ]


def test_the_executor_depends_on_none_of_the_agent_rooms():
    """docker/ imports nothing of audit/, policy/, tools/, runner/, cli/ or mcp/ (even lazily).

    It redacts with the neutral operator_core.redaction, as the audit trail does.
    """
    assert _rooms_imported_by("operator_core.docker", AGENT_ROOMS) == []


def test_redaction_is_a_neutral_room():
    """operator_core.redaction imports no other room (only itself), so any room may use it."""
    others = (*AGENT_ROOMS, "docker", "fleet", "watch", "present", "testing")
    assert _rooms_imported_by("operator_core.redaction", others) == []


def test_the_audit_paths_still_give_the_redaction_rules():
    """operator_core.audit.redact and .labels re-export the rules, the very same functions."""
    from operator_core import redaction
    from operator_core.audit import labels, redact

    assert redact.redact_text is redaction.redact_text
    assert redact.redact_arguments is redaction.redact_arguments
    assert labels.redact_label_map is redaction.redact_label_map


def test_importing_the_policy_loads_neither_tools_nor_python_on_whales():
    """`import operator_core.policy` loads no module of tools/ and none of python-on-whales."""
    loaded = _loaded_by("import operator_core.policy")
    assert "operator_core.policy.guard" in loaded
    assert sorted(m for m in loaded if m.startswith("operator_core.tools")) == []
    assert sorted(m for m in loaded if m.startswith("python_on_whales")) == []


def test_the_errors_that_are_python_on_whales_still_are():
    """ContainerNotFound & co. load lazily and still subclass python-on-whales' errors."""
    from python_on_whales.exceptions import NoSuchContainer, NotASwarmManager

    import operator_core
    from operator_core.errors import ContainerNotFound, EngineError, NotSwarmManager

    assert issubclass(ContainerNotFound, NoSuchContainer)
    assert issubclass(ContainerNotFound, EngineError)
    assert issubclass(NotSwarmManager, NotASwarmManager)
    assert operator_core.ContainerNotFound is ContainerNotFound
    assert str(ContainerNotFound("web")) == "no such container: 'web'"


def test_the_policy_models_and_the_swarm_rules_do_not_import_each_other():
    """policy/swarm_rules.py builds on policy/_strict.py, never on policy/model.py."""
    modules = _modules()
    model = _imports(modules["operator_core.policy.model"])
    rules = _imports(modules["operator_core.policy.swarm_rules"])
    assert "operator_core.policy.swarm_rules" in model  # the one direction
    assert [n for n in rules if n.startswith("operator_core.policy.model")] == []
    assert "operator_core.policy._strict" in rules


def test_no_module_subclasses_pydantic_private_machinery():
    """No module imports from pydantic._internal (a private API that may change any release)."""
    offenders = [
        (module, name)
        for module, tree in _modules().items()
        for name in _imports(tree)
        if name.startswith("pydantic._internal")
    ]
    assert offenders == []


def test_the_hung_engine_is_reachable_from_operator_core_testing():
    """HungEngine is exported by operator_core.testing, the room that ships test helpers.

    No library module imports it (tests and scripts do); it stays reachable from there.
    """
    from operator_core import testing
    from operator_core.testing.hung_engine import HungEngine

    assert testing.HungEngine is HungEngine
    assert "HungEngine" in testing.__all__
