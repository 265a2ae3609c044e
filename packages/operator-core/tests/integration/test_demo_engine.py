"""``operator demo`` end to end: the story holds, its evidence is real, nothing is left behind."""

from __future__ import annotations

import io
import os
import re
import select
import signal
import subprocess
import time

import pytest
from cli_helpers import OPERATOR, clean_env, run_operator
from rich.console import Console

from operator_core import demo
from operator_core.demo import DEMO_LABEL
from operator_core.demo import scene as _demo_scene

#: The name the demo gives its container (printed in its opening panel).
DEMO_NAME = re.compile(r"opc-demo-web-[0-9a-f]{12}")


def _demo_containers() -> set[str]:
    """Return the names of the containers carrying the demo's label."""
    listed = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={DEMO_LABEL}", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return set(listed.stdout.split())


def _exists(name: str) -> bool:
    """Whether a container of exactly this name exists."""
    return name in _demo_containers()


@pytest.fixture
def demo_cleanup():
    """Remove, whatever the test's outcome, every demo-labelled container it left behind.

    Containers that carried the label before the test began are not this test's and are
    left alone (another demo may be running).
    """
    before = _demo_containers()
    try:
        yield
    finally:
        left = sorted(_demo_containers() - before)
        if left:
            subprocess.run(
                ["docker", "rm", "-f", *left], capture_output=True, timeout=60, check=False
            )


def _step(output: str, number: int) -> str:
    """Return the text of step ``number`` (up to the next step), whitespace folded."""
    start = output.index(f"Step {number}/9")
    following = output.find(f"Step {number + 1}/9", start)
    return " ".join(output[start : following if following >= 0 else None].split())


def _name_in(output: str) -> str:
    """Return the demo container's name, as its opening panel printed it."""
    found = DEMO_NAME.search(output)
    assert found is not None, output
    return found.group(0)


@pytest.mark.usefixtures("engine", "demo_cleanup")
def test_the_demo_tells_the_whole_story_and_cleans_up(tmp_path):
    """Exit 0 in well under a minute, each step showing what really happened, nothing left.

    Every check looks for text only a real outcome prints (the ps row of the container
    with its health, the approver's note, met=yes after the restart, the denying rule),
    never a step's fixed title.
    """
    began = time.monotonic()
    result = run_operator(clean_env(tmp_path), "demo", timeout=120)
    elapsed = time.monotonic() - began
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert elapsed < 60
    name = _name_in(output)
    assert "met=yes" in _step(output, 1)
    assert re.search(rf"{name} [0-9a-f]{{12}} running unhealthy\b", _step(output, 3)), output
    assert "ERROR httpd (pid" in _step(output, 4)
    assert "exited unexpectedly" in _step(output, 4)
    assert "← denied rule mode.observe:" in _step(output, 5)
    restart = _step(output, 6)
    assert f"approval asked for docker_restart_container on {name} (high risk" in restart
    assert "previous_started_at=" in restart
    assert "changed=yes" in restart
    assert "met=yes" in _step(output, 7)
    assert "health=healthy" in _step(output, 7)
    assert "← denied rule rate_limits[0]:" in _step(output, 8)
    trail = _step(output, 9)
    for row in (
        f"restart {name} denied denied mode.observe",
        f"restart {name} allowed ok approval.granted",
        f"restart {name} denied denied rate_limits[0]",
    ):
        assert row in trail, row
    assert f"cleaned up: removed {name}" in output
    assert not _exists(name)


def _read_until(process: subprocess.Popen[bytes], marker: bytes, limit: float) -> bytes:
    """Return what ``process`` wrote until ``marker`` appeared; fail after ``limit`` seconds."""
    assert process.stdout is not None
    fd = process.stdout.fileno()
    seen = b""
    deadline = time.monotonic() + limit
    while marker not in seen:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"no {marker!r} within {limit:g}s:\n{seen.decode(errors='replace')}")
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 65536)
            if not chunk:
                pytest.fail(f"the demo ended before {marker!r}:\n{seen.decode(errors='replace')}")
            seen += chunk
    return seen


@pytest.mark.usefixtures("engine", "demo_cleanup")
def test_ctrl_c_during_the_demo_still_removes_its_container(tmp_path):
    """SIGINT mid-story exits 130, says interrupted, and the demo container is gone."""
    process = subprocess.Popen(
        [*OPERATOR, "demo"],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        head = _read_until(process, b"Step 2/9", limit=60)
        name = _name_in(head.decode(errors="replace"))
        process.send_signal(signal.SIGINT)
        try:
            rest, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            pytest.fail("the demo was still running 60s after Ctrl-C")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    text = rest.decode(errors="replace")
    assert process.returncode == 130, text
    assert "interrupted" in text
    assert f"cleaned up: removed {name}" in text
    assert not _exists(name)


@pytest.mark.usefixtures("engine", "demo_cleanup")
def test_a_service_that_never_turns_healthy_stops_the_demo_at_step_1(monkeypatch):
    """The service must be healthy before it is broken: if not, exit 1 saying so, cleaned up."""
    monkeypatch.setattr(_demo_scene, "HEALTH_CMD", "exit 1")
    monkeypatch.setattr(demo.story, "HEALTHY_WITHIN_S", 3)
    text = io.StringIO()
    code = demo.run_demo_cli(Console(file=text, width=200, color_system=None))
    output = text.getvalue()
    assert code == 1, output
    name = _name_in(output)
    folded = " ".join(output.split())
    assert f"demo failed: {name} did not become healthy after it started" in folded
    assert "Step 2/9" not in output
    assert f"cleaned up: removed {name}" in output
    assert not _exists(name)
