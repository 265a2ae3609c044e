"""``operator demo`` end to end as a subprocess: the story holds and nothing is left behind."""

from __future__ import annotations

import signal
import subprocess
import time

import pytest
from cli_helpers import OPERATOR, clean_env, run_operator

from operator_core.demo import DEMO_LABEL


def _leftovers() -> list[str]:
    """Return the names of demo containers that still exist."""
    listed = subprocess.run(
        ["docker", "ps", "-a", "--filter", f"label={DEMO_LABEL}", "--format", "{{.Names}}"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return listed.stdout.split()


@pytest.mark.usefixtures("engine")
def test_the_demo_tells_the_whole_story_and_cleans_up(tmp_path):
    """Exit 0 in well under a minute; every step and its evidence appear; no container left."""
    before = set(_leftovers())
    began = time.monotonic()
    result = run_operator(clean_env(tmp_path), "demo", timeout=120)
    elapsed = time.monotonic() - began
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert elapsed < 60
    for step in range(1, 10):
        assert f"Step {step}/9" in output
    for evidence in (
        "health=healthy",
        "unhealthy",
        "exited unexpectedly",
        "mode.observe",
        "approval",
        "previous_started_at",
        "rate_limits[0]",
        "restart_container",
        "cleaned up",
    ):
        assert evidence in output, evidence
    assert set(_leftovers()) <= before


@pytest.mark.usefixtures("engine")
def test_ctrl_c_during_the_demo_still_removes_its_container(tmp_path):
    """SIGINT mid-story exits 130 and the demo container is gone."""
    before = set(_leftovers())
    process = subprocess.Popen(
        [*OPERATOR, "demo"],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    for line in process.stdout:
        if "Step 2/9" in line:
            break
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=60)
    assert process.returncode == 130, rest
    assert "interrupted" in rest
    assert set(_leftovers()) <= before
