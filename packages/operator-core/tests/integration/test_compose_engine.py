"""deploy/compose.yaml brought up for real, on this test's own spare engine (eng90).

The watcher heals with nobody to ask: run on the shared local engine it could act on other
tests' opted-in containers, so the project runs on the lab's spare engine 90, which no other
test uses, with that engine's socket mounted (``OPERATOR_DOCKER_SOCKET``). Needs Debian's
``docker-compose`` (1.29; ``.ci/run`` installs it) and the operator's image.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from image_helpers import OPERATOR_IMAGE, require_image, wait_for_health

from operator_core.testing import HANDLES_SIGTERM, TEST_IMAGE, TEST_LABEL, unique_name

ROOT = Path(__file__).resolve().parents[4]
SPARE = "90"


def _required(request: pytest.FixtureRequest, problem: str) -> None:
    """Skip, or fail when an engine is required."""
    if request.config.getoption("--require-engine"):
        pytest.fail(problem)
    pytest.skip(problem)


@pytest.fixture(scope="module")
def spare(request: pytest.FixtureRequest) -> str:
    """The socket path of the lab's spare engine 90, with the operator's image on it."""
    require_image(request.config)
    if shutil.which("docker-compose") is None:
        _required(request, "docker-compose is not installed (apt-get install docker-compose)")
    started = subprocess.run(
        ["bash", str(ROOT / "scripts" / "lab.sh"), "spare", SPARE],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if started.returncode != 0:
        _required(request, f"lab.sh spare {SPARE} failed: {started.stderr.strip()[-500:]}")
    url = started.stdout.strip().splitlines()[-1]
    save = subprocess.Popen(["docker", "save", OPERATOR_IMAGE], stdout=subprocess.PIPE)
    subprocess.run(
        ["docker", "-H", url, "load", "-q"], stdin=save.stdout, capture_output=True,
        timeout=600, check=True,
    )  # fmt: skip
    save.wait(60)
    return url.removeprefix("unix://")


@pytest.fixture(scope="module")
def project(spare: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[list[str]]:
    """deploy/compose.yaml up on the spare engine; yields the docker command for it."""
    work = tmp_path_factory.mktemp("compose")
    shutil.copytree(ROOT / "deploy", work / "deploy")
    (work / "deploy" / "mcp_token").write_text(uuid.uuid4().hex)
    name = f"opc-compose-{uuid.uuid4().hex[:8]}"
    compose = ["docker-compose", "-H", f"unix://{spare}", "-p", name,
               "-f", str(work / "deploy" / "compose.yaml")]  # fmt: skip
    env = {
        "PATH": "/usr/local/bin:/usr/bin:/bin",
        "OPERATOR_IMAGE": OPERATOR_IMAGE,
        "OPERATOR_DOCKER_SOCKET": spare,
    }
    try:
        up = subprocess.run(
            [*compose, "up", "-d"], env=env, capture_output=True, text=True, timeout=300
        )
        assert up.returncode == 0, up.stderr[-800:]
        yield ["docker", "-H", f"unix://{spare}"], name
    finally:
        subprocess.run(
            [*compose, "down", "-v", "-t", "2"], env=env, capture_output=True, timeout=300
        )


def _watcher(docker: list[str], name: str) -> str:
    """Return the ID of the project's watch container, once it follows the engine's events."""
    done = subprocess.run(
        [*docker, "ps", "-q", "--filter", f"label=com.docker.compose.project={name}",
         "--filter", "label=com.docker.compose.service=watch"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    ids = done.stdout.split()
    assert len(ids) == 1, ids
    until = time.monotonic() + 180
    while time.monotonic() < until:
        logs = subprocess.run(
            [*docker, "logs", ids[0]], capture_output=True, text=True, timeout=60, check=True
        ).stdout
        if any(line.startswith('{"kind": "connected"') for line in logs.splitlines()):
            return ids[0]
        time.sleep(0.5)
    pytest.fail(f"the compose watcher did not follow its engine within 180s: {logs[-500:]}")


def test_compose_watcher_heals_an_opted_in_container_with_read_only_policy(project):
    """The compose watcher restarts an opted-in container that turned unhealthy.

    Its policy is mounted read-only, its restart policy is unless-stopped, and the heal
    is in the audit trail on the project's volume.
    """
    docker, name = project
    watcher = _watcher(docker, name)
    inspect = json.loads(
        subprocess.run(
            [*docker, "inspect", watcher], capture_output=True, text=True, timeout=60, check=True
        ).stdout
    )[0]
    assert inspect["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    policy = [m for m in inspect["Mounts"] if m["Destination"] == "/etc/operator-core/policy.toml"]
    assert policy[0]["RW"] is False
    state = [m for m in inspect["Mounts"] if m["Destination"] == "/var/lib/operator-core"]
    assert state[0]["Type"] == "volume"
    sick = unique_name("opc-heal")
    try:
        subprocess.run(
            [*docker, "run", "-d", "--name", sick, "--label", f"{TEST_LABEL}=1",
             "--label", "org.operator-core.autoheal=true", "--tmpfs", "/flags",
             "--health-cmd", "test ! -e /flags/bad", "--health-interval", "1s",
             "--health-retries", "1", "--stop-timeout", "2", TEST_IMAGE, *HANDLES_SIGTERM],
            capture_output=True, timeout=60, check=True,
        )  # fmt: skip
        wait_for_health(sick, "healthy", docker=docker)
        subprocess.run([*docker, "exec", sick, "touch", "/flags/bad"], timeout=60, check=True)
        wait_for_health(sick, "unhealthy", docker=docker)
        wait_for_health(sick, "healthy", docker=docker, within_s=180)
        listed = subprocess.run(
            [*docker, "exec", watcher, "operator", "audit", "list", "--json",
             "--tool", "docker_restart_container"],
            capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        records = json.loads(listed.stdout)["result"]["records"]
        mine = [r for r in records if r["container_name"] == sick and r["outcome"] == "ok"]
        assert mine, records
        assert mine[0]["actor"] == "operator:watch-heal"
    finally:
        subprocess.run([*docker, "rm", "-f", sick], capture_output=True, timeout=60)
