"""Fixtures shared by the unit and the engine tests.

Engine tests (everything under ``tests/integration``) need a Docker engine and the local
test image. Where none is ready they are skipped, except when ``--require-engine`` is given
or ``OPERATOR_REQUIRE_ENGINE=1`` is set (as CI does): then a missing engine is a failure.

With ``OPERATOR_TEST_CLOCK_SHIFT_DAYS=N`` every test (fixtures included) runs with the wall
clock moved N days ahead and ticking, while monotonic clocks are left alone. ``./dev test`` runs
the unit suite once that way (N=400), so a test that only passes before some date fails on the
day it is written, not a year later.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest.mock import MagicMock, patch

import pytest
import time_machine
from python_on_whales import DockerClient, docker

from operator_core.docker import DockerActionExecutor
from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name
from wall_clock import CLOCK_SHIFT_ENV, clock_shift

_INTEGRATION = Path(__file__).parent / "integration"


def pytest_report_header() -> str | None:
    """Say in the header when the wall clock is moved, so a reader of the log knows."""
    shift = clock_shift()
    return f"wall clock moved {shift.days} days ahead ({CLOCK_SHIFT_ENV})" if shift else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    """Run setup, call and teardown with the wall clock moved ahead, when asked to."""
    shift = clock_shift()
    if not shift:
        yield
        return
    with time_machine.travel(dt.datetime.now(dt.UTC) + shift, tick=True):
        yield


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add --require-engine (default from OPERATOR_REQUIRE_ENGINE=1)."""
    parser.addoption(
        "--require-engine",
        action="store_true",
        default=os.environ.get("OPERATOR_REQUIRE_ENGINE") == "1",
        help="fail engine tests instead of skipping them when no engine is ready",
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test under tests/integration as an engine test."""
    for item in items:
        if _INTEGRATION in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.engine)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Iterator[None]:
    """Turn a skipped engine test into a failure when an engine is required."""
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if (
        report.skipped
        and item.get_closest_marker("engine")
        and item.config.getoption("--require-engine")
    ):
        report.outcome = "failed"
        report.longrepr = f"engine test skipped while an engine is required: {report.longrepr}"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say how many engine tests ran against a real engine, and how many did not."""
    counts = dict.fromkeys(("passed", "failed", "skipped"), 0)
    for outcome in counts:
        for report in terminalreporter.stats.get(outcome, []):
            ran = report.when == "call" or outcome != "passed"
            if ran and "engine" in report.keywords:
                counts[outcome] += 1
    terminalreporter.write_line(
        "engine tests: {passed} passed, {failed} failed, {skipped} skipped".format(**counts)
    )


@pytest.fixture
def client() -> Iterator[MagicMock]:
    """A mock standing for the engine; raw CLI calls (the demo's path) on ``client.cli``.

    The executor talks to the Engine API: tests of its actions use ``api_fakes`` or
    ``engine_fakes``; this fixture serves those that must reach no engine at all.
    """
    with patch("operator_core.docker._engine.cli.run") as cli:
        mock = MagicMock()
        mock.client_config.docker_cmd = ["docker"]
        mock.cli = cli
        yield mock


@pytest.fixture
def executor(client: MagicMock) -> DockerActionExecutor:
    """An executor that reaches no engine: a request would find no socket (unreachable)."""
    return DockerActionExecutor(host="unix:///nonexistent/operator-core-unit-test.sock")


def _engine_problem() -> str | None:
    """Return why no engine and image are ready, or None when they are."""
    try:
        info = subprocess.run(
            ["docker", "info", "--format", "{{.ServerVersion}}"],
            capture_output=True,
            timeout=15,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"docker CLI unusable: {exc}"
    if info.returncode != 0:
        return "no Docker engine answers `docker info` (run scripts/setup-engine.sh)"
    image = subprocess.run(
        ["docker", "image", "inspect", TEST_IMAGE], capture_output=True, timeout=15, check=False
    )
    if image.returncode != 0:
        return f"test image {TEST_IMAGE} is missing (run scripts/setup-engine.sh)"
    return None


@pytest.fixture(scope="session")
def engine(request: pytest.FixtureRequest) -> DockerClient:
    """The shared python-on-whales client, once an engine and the test image are ready."""
    problem = _engine_problem()
    if problem is not None:
        if request.config.getoption("--require-engine"):
            pytest.fail(f"engine required: {problem}")
        pytest.skip(problem)
    return docker


class ContainerFactory:
    """Makes containers of the test image with unique names, and removes them all after."""

    def __init__(self, client: DockerClient) -> None:
        self.client = client
        self.names: list[str] = []
        self.networks: list[str] = []

    def run(self, *command: str, **options: Any) -> str:
        """Start a detached container running ``command``; return its name."""
        name = unique_name()
        self.names.append(name)
        labels = {TEST_LABEL: "1", **options.pop("labels", {})}
        self.client.run(TEST_IMAGE, list(command), name=name, detach=True, labels=labels, **options)
        return name

    def network(self) -> str:
        """Create a user-defined bridge network; return its name."""
        name = unique_name("opc-net")
        self.networks.append(name)
        self.client.network.create(name, labels={TEST_LABEL: "1"})
        return name

    def cleanup(self) -> None:
        """Remove every container and network this factory made, whatever state they are in."""
        if self.names:
            subprocess.run(
                ["docker", "rm", "-f", "-v", *self.names],
                capture_output=True,
                timeout=60,
                check=False,
            )
        if self.networks:
            subprocess.run(
                ["docker", "network", "rm", *self.networks],
                capture_output=True,
                timeout=60,
                check=False,
            )


@pytest.fixture
def containers(engine: DockerClient) -> Iterator[ContainerFactory]:
    """A ContainerFactory whose containers are removed even when the test fails."""
    factory = ContainerFactory(engine)
    try:
        yield factory
    finally:
        factory.cleanup()


@pytest.fixture
def group() -> dict[str, str]:
    """A label only this test's containers carry, so listings ignore every other test."""
    return {"org.operator-core.group": uuid.uuid4().hex}
