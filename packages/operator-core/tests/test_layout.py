"""The house by noun (issue 20): the documented import paths and the layout's measures."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import operator_core

PACKAGE = Path(operator_core.__file__).parent

#: The import paths the README documents: they keep working whatever moves inside.
DOCUMENTED = [
    ("operator_core", "DockerActionExecutor"),
    ("operator_core.docker", "DockerActionExecutor"),
    ("operator_core.runner", "ToolRunner"),
    ("operator_core.policy", "load_policy"),
    ("operator_core.fleet", "Fleet"),
    ("operator_core.fleet", "load_inventory"),
    ("operator_core.audit", "open_audit"),
    ("operator_core.tools", "anthropic_tools"),
    ("operator_core.watch", "watch"),
]


@pytest.mark.parametrize(("module", "name"), DOCUMENTED)
def test_every_documented_import_path_still_imports(module, name):
    """Each import path the README documents gives the name it documents."""
    assert getattr(importlib.import_module(module), name) is not None


def test_no_module_shadows_the_standard_library():
    """No module of the package bears a standard library module's name at the top.

    ``types.py`` did: Python run from inside the package failed with a circular import.
    """
    tops = {p.stem for p in PACKAGE.glob("*.py")} | {p.name for p in PACKAGE.iterdir()}
    assert not tops & set(sys.stdlib_module_names)


def test_python_runs_from_inside_the_package():
    """A script run with the package folder as its directory imports the standard library."""
    done = subprocess.run(
        [sys.executable, "-c", "import types, enum; print('ok')"],
        cwd=PACKAGE,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.strip() == "ok", done.stderr


def test_at_most_eight_modules_lie_loose_at_the_top():
    """The top of operator_core holds at most 8 modules besides its __init__."""
    loose = sorted(p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py")
    assert len(loose) <= 8, loose


def test_no_folder_holds_more_than_fifteen_modules():
    """Each folder of the package holds at most 15 modules (its __init__ included)."""
    crowded = {
        str(folder.relative_to(PACKAGE)): len(list(folder.glob("*.py")))
        for folder in [PACKAGE, *PACKAGE.rglob("*")]
        if folder.is_dir() and folder.name != "__pycache__"
    }
    crowded[""] = len([p for p in PACKAGE.glob("*.py") if p.name != "__init__.py"])
    assert {name: n for name, n in crowded.items() if n > 15} == {}


def test_no_module_is_over_five_hundred_lines():
    """No module of the package is longer than 500 lines."""
    long = {
        str(path.relative_to(PACKAGE)): n
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 500
    }
    assert long == {}
