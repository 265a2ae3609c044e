"""The runner's pipeline passes values: frozen stage records, never a bag written along the way.

Each stage of a tool call returns a frozen record (``runner.stages``); the audit record is
built from them in one place (``runner.record``). These tests fail when a stage record
can be changed after it is built, when code in ``runner/`` assigns to an attribute of
anything but ``self`` (how a bag is filled in), and when the runner's modules grow past
the house's limits.
"""

from __future__ import annotations

import ast
import dataclasses
import typing
from pathlib import Path

import pytest

from operator_core.runner import stages

RUNNER = Path(stages.__file__).parent


def _stage_types() -> tuple[type, ...]:
    return typing.get_args(stages.Stage)


def test_the_stage_union_names_every_record_class_of_the_stages_module():
    """Every dataclass in ``runner.stages`` is a stage record (none slips past the checks)."""
    declared = {
        obj
        for obj in vars(stages).values()
        if isinstance(obj, type)
        and dataclasses.is_dataclass(obj)
        and obj.__module__ == stages.__name__
    }
    assert declared == set(_stage_types())


@pytest.mark.parametrize("kind", _stage_types(), ids=lambda kind: kind.__name__)
def test_every_stage_record_is_frozen(kind):
    """A stage record cannot be changed once built: its dataclass is frozen."""
    assert dataclasses.is_dataclass(kind)
    assert kind.__dataclass_params__.frozen  # type: ignore[attr-defined]


def test_a_built_stage_record_refuses_assignment():
    """Assigning to a built record raises (what the frozen flag promises, checked once)."""
    begun = stages.Begun("docker_stop_container", {}, None, None, 0.0, 0.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        begun.tool = "docker_kill_container"  # type: ignore[misc]


def _attribute_assignments(tree: ast.AST) -> list[tuple[int, str]]:
    """Return (line, target) of each assignment to ``x.attr`` where ``x`` is not ``self``."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign):
            targets = node.targets
        elif isinstance(node, ast.AugAssign | ast.AnnAssign):
            targets = [node.target]
        else:
            continue
        for target in targets:
            for part in ast.walk(target):
                if isinstance(part, ast.Attribute) and isinstance(part.ctx, ast.Store):
                    base = part.value
                    if not (isinstance(base, ast.Name) and base.id == "self"):
                        found.append((node.lineno, ast.unparse(part)))
    return found


def _setattr_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """Return each ``setattr(...)``/``object.__setattr__(...)`` call (a frozen record's bypass)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = ast.unparse(node.func)
            if name in ("setattr", "object.__setattr__"):
                found.append((node.lineno, name))
    return found


@pytest.mark.parametrize("module", sorted(RUNNER.glob("*.py")), ids=lambda path: path.name)
def test_no_runner_module_fills_in_a_record_after_it_is_built(module):
    """No ``x.attr = ...`` (nor setattr) in ``runner/`` but on ``self``: stages return values."""
    tree = ast.parse(module.read_text(), filename=str(module))
    assert _attribute_assignments(tree) == []
    assert _setattr_calls(tree) == []


def test_the_scan_sees_an_assignment_to_a_record():
    """The scan itself finds ``call.outcome = ...`` and ``call.x += 1`` (it is not blind)."""
    tree = ast.parse("call.outcome = 'ok'\ncall.n += 1\nself.ok = 1\na.b.c = 2\n")
    assert _attribute_assignments(tree) == [(1, "call.outcome"), (2, "call.n"), (4, "a.b.c")]


def test_the_runner_stays_within_the_house_limits():
    """``runner/`` holds at most 15 modules, none over 500 lines (the house's limits)."""
    modules = sorted(RUNNER.glob("*.py"))
    assert len(modules) <= 15
    long = {path.name: n for path in modules if (n := len(path.read_text().splitlines())) > 500}
    assert long == {}
