"""The operator's image (``scripts/build-image.sh``) for the engine tests that run it.

The image is found by ``OPERATOR_IMAGE`` (the build script's variable), else
``operator-core/operator:local``. Without it the tests skip, and fail when an engine is
required (``OPERATOR_REQUIRE_ENGINE=1``, as in CI, which builds it before the tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from typing import Any

import pytest

from operator_core.testing import TEST_LABEL

__all__ = [
    "OPERATOR_IMAGE",
    "SOCKET_MOUNT",
    "docker_json",
    "image_problem",
    "require_image",
    "wait_for_health",
]

OPERATOR_IMAGE = os.environ.get("OPERATOR_IMAGE") or "operator-core/operator:local"
#: The host's engine socket, mounted where the image's docker CLI looks for it.
SOCKET_MOUNT = "/var/run/docker.sock:/var/run/docker.sock"


def image_problem(docker: list[str] | None = None) -> str | None:
    """Return why the operator's image is not on the engine, or None when it is."""
    done = subprocess.run(
        [*(docker or ["docker"]), "image", "inspect", OPERATOR_IMAGE],
        capture_output=True,
        timeout=30,
        check=False,
    )
    if done.returncode != 0:
        return f"the image {OPERATOR_IMAGE} is missing (run scripts/build-image.sh)"
    return None


def require_image(config: pytest.Config) -> None:
    """Skip without the image, or fail when an engine is required."""
    problem = image_problem()
    if problem is None:
        return
    if config.getoption("--require-engine"):
        pytest.fail(f"image required: {problem}")
    pytest.skip(problem)


def docker_json(*args: str, docker: list[str] | None = None) -> Any:
    """Return the JSON a docker command prints (``inspect``, ``--format json``)."""
    done = subprocess.run(
        [*(docker or ["docker"]), *args], capture_output=True, text=True, timeout=60, check=True
    )
    return json.loads(done.stdout)


def wait_for_health(
    name: str, want: str, *, docker: list[str] | None = None, within_s: float = 120
) -> float:
    """Poll ``name``'s health until it is ``want``; return the seconds it took.

    Fails (with the container's last health log) if it is not ``want`` within ``within_s``
    seconds: a bound on a poll, not a sleep budget.
    """
    started = time.monotonic()
    state: dict[str, Any] = {}
    while time.monotonic() - started < within_s:
        state = docker_json("inspect", "--format", "{{json .State}}", name, docker=docker)
        if (state.get("Health") or {}).get("Status") == want:
            return time.monotonic() - started
        time.sleep(0.25)
    log = (state.get("Health") or {}).get("Log") or []
    pytest.fail(f"{name} was not {want} within {within_s}s: {state.get('Status')}, {log[-2:]}")


def label_args() -> list[str]:
    """Return the options that mark a container as made by this test run."""
    return ["--label", f"{TEST_LABEL}=1"]
