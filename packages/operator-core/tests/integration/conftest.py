"""Fixtures of the engine tests that use the lab of extra engines (``scripts/lab.sh``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lab_helpers import LabContainers, lab_inventory_path, lab_problem
from swarm_helpers import SwarmLab, find_swarm_lab

from operator_core.fleet import Inventory, load_inventory


@pytest.fixture(scope="session")
def lab(request: pytest.FixtureRequest) -> Inventory:
    """The lab's inventory, once its engines (one over SSH) all answer."""
    path = lab_inventory_path()
    problem: str | None = f"no lab inventory at {path} (run scripts/lab.sh up 3)"
    inventory = None
    if path.is_file():
        inventory = load_inventory(path)
        problem = lab_problem(inventory)
    if problem is not None or inventory is None:
        if request.config.getoption("--require-engine"):
            pytest.fail(f"lab required: {problem}")
        pytest.skip(str(problem))
    return inventory


@pytest.fixture
def made(lab: Inventory) -> Iterator[LabContainers]:
    """Containers on lab engines, removed from their own engine after the test."""
    factory = LabContainers(lab)
    try:
        yield factory
    finally:
        factory.cleanup()


@pytest.fixture(scope="session")
def swarm_lab(request: pytest.FixtureRequest) -> SwarmLab:
    """The lab as a swarm: one manager, two workers, all ready (a file may override it)."""
    lab, problem = find_swarm_lab()
    if lab is None:
        if request.config.getoption("--require-engine"):
            pytest.fail(f"swarm lab required: {problem}")
        pytest.skip(problem)
    return lab
