"""The executor against Podman (``DockerClient(client_call=["podman"])``), where it is installed.

The executor reaches Podman's Docker-compatible API (``podman system service``, started by
``scripts/setup-podman.sh``) for every action on the Engine API; the fixtures make their
containers with the podman CLI.

Podman differs from Docker where it matters to us: ``network inspect`` writes ``id`` and
``name`` in lower case (and lists no containers), a container without a health check has
health ``""``, and ``--filter health=none`` matches nothing. Each test here pins one of
those, or an action's truth (graceful or killed, changed or not) on Podman's engine.

Skipped where ``podman`` is not installed or has no test image; under
``OPERATOR_REQUIRE_ENGINE=1`` (CI, which installs it with ``scripts/setup-podman.sh``) a
skip is a failure. Podman in an unprivileged sandbox needs explicit ulimits on ``run``.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from python_on_whales import DockerClient

from operator_core import ContainerNotFound, DockerActionExecutor, NetworkNotFound
from operator_core.docker import podman_socket, record_requests
from operator_core.testing import HANDLES_SIGTERM, IGNORES_SIGTERM, TEST_IMAGE, unique_name

#: What `podman run` needs in this kind of sandbox (the defaults exceed its hard limits).
ULIMITS = ["nofile=1024:1024", "nproc=4096:4096"]


def _podman_problem() -> str | None:
    """Return why Podman cannot run the tests here, or None when it can."""
    if shutil.which("podman") is None:
        return "podman is not installed (scripts/setup-podman.sh installs it)"
    image = subprocess.run(
        ["podman", "image", "exists", TEST_IMAGE], capture_output=True, timeout=60, check=False
    )
    if image.returncode != 0:
        return f"{TEST_IMAGE} is not in podman's store (scripts/setup-podman.sh imports it)"
    socket = Path(podman_socket().removeprefix("unix://"))
    if not socket.is_socket():
        return f"podman system service is not serving {socket} (scripts/setup-podman.sh starts it)"
    return None


def _podman(*args: str) -> None:
    """Run a podman command whose failure does not matter (a clean-up)."""
    subprocess.run(["podman", *args], capture_output=True, timeout=60, check=False)


class PodmanFactory:
    """Makes podman containers and networks with unique names; removes exactly those."""

    def __init__(self) -> None:
        self.client = DockerClient(client_call=["podman"])
        self.names: list[str] = []
        self.networks: list[str] = []

    def run(self, *command: str) -> str:
        name = unique_name("opc-pod")
        self.names.append(name)
        self.client.run(TEST_IMAGE, list(command), name=name, detach=True, ulimit=ULIMITS)
        return name

    def network(self) -> str:
        name = unique_name("opc-podnet")
        self.networks.append(name)
        self.client.network.create(name)
        return name

    def remove_all(self) -> None:
        for name in self.names:
            subprocess.run(
                ["podman", "rm", "-f", "-t", "0", name], capture_output=True, check=False
            )
        for name in self.networks:
            subprocess.run(
                ["podman", "network", "rm", "-f", name], capture_output=True, check=False
            )


@pytest.fixture
def pods(request: pytest.FixtureRequest) -> Iterator[PodmanFactory]:
    """A Podman container factory (skips, or fails when an engine is required, without one)."""
    problem = _podman_problem()
    if problem is not None:
        if request.config.getoption("--require-engine"):
            pytest.fail(f"podman required: {problem}")
        pytest.skip(problem)
    factory = PodmanFactory()
    yield factory
    factory.remove_all()


@pytest.fixture
def executor(pods: PodmanFactory) -> DockerActionExecutor:
    """The executor on Podman."""
    return DockerActionExecutor(pods.client)


async def test_stop_tells_graceful_from_killed_on_podman(pods, executor):
    """A SIGTERM-handling PID 1 stops gracefully (0); `sleep` as PID 1 is killed (137)."""
    graceful = await executor.stop_container(pods.run(*HANDLES_SIGTERM), timeout=5)
    assert (graceful["graceful_shutdown"], graceful["killed"], graceful["exit_code"]) == (
        True,
        False,
        0,
    )
    killed = await executor.stop_container(pods.run(*IGNORES_SIGTERM), timeout=1)
    assert (killed["graceful_shutdown"], killed["killed"], killed["exit_code"]) == (
        False,
        True,
        137,
    )
    again = await executor.stop_container(killed["container_id"], timeout=1)
    assert again["changed"] is False


async def test_restart_starts_a_new_process_on_podman(pods, executor):
    """A restart's started_at moves on and the container runs."""
    name = pods.run(*HANDLES_SIGTERM)
    result = await executor.restart_container(name, timeout=5)
    assert result["running"] is True
    assert result["started_at"] != result["previous_started_at"]


async def test_network_connect_and_disconnect_work_on_podman(pods, executor):
    """Podman's lower-case network inspect is read: connect, repeat (no change), disconnect."""
    name, network = pods.run(*HANDLES_SIGTERM), pods.network()
    connected = await executor.connect_container_to_network(name, network)
    assert (connected["connected"], connected["changed"]) == (True, True)
    assert connected["network"] == network
    assert len(connected["network_id"]) == 64
    assert network in pods.client.container.inspect(name).network_settings.networks
    again = await executor.connect_container_to_network(name, network)
    assert again["changed"] is False
    cut = await executor.disconnect_container_from_network(name, network)
    assert (cut["connected"], cut["changed"]) == (False, True)
    assert network not in (pods.client.container.inspect(name).network_settings.networks or {})
    with pytest.raises(NetworkNotFound):
        await executor.connect_container_to_network(name, unique_name("opc-nonet"))


async def test_no_health_check_is_null_and_matches_health_none_on_podman(pods, executor):
    """Health is None, not "", and health="none" finds the container."""
    name = pods.run(*HANDLES_SIGTERM)
    assert (await executor.inspect_container(name))["state"]["health"] is None
    listed = await executor.list_containers(name=name, health="none")
    assert [(c["name"], c["health"]) for c in listed["containers"]] == [(name, None)]
    assert (await executor.list_containers(name=name, health="healthy"))["containers"] == []


async def test_logs_exec_pause_and_kill_on_podman(pods, executor):
    """Logs keep both streams apart, exec returns output and code, pause and kill report."""
    name = pods.run("sh", "-c", "echo out; echo err >&2; trap '' HUP; while true; do sleep 1; done")
    result = await executor.wait_for_container(name, "running", timeout=30)
    assert result["met"] is True
    logs = await executor.get_container_logs(name, tail=10)
    assert sorted((line["stream"], line["text"]) for line in logs["lines"]) == [
        ("stderr", "err"),
        ("stdout", "out"),
    ]
    ran = await executor.execute_command(name, ["sh", "-c", "echo hi; exit 3"])
    assert (ran["stdout"], ran["exit_code"]) == ("hi\n", 3)
    paused = await executor.pause_container(name)
    assert (paused["paused"], paused["changed"]) == (True, True)
    assert (await executor.unpause_container(name))["paused"] is False
    hup = await executor.kill_container(name, "SIGHUP")
    assert (hup["signal_sent"], hup["running"]) == (True, True)
    with pytest.raises(ContainerNotFound):
        await executor.inspect_container(unique_name("opc-nopod"))


async def test_the_executor_speaks_to_podmans_api_socket(pods, executor):
    """A podman client's executor reaches `podman system service` over the Engine API."""
    with record_requests() as sent:
        version = await executor._api.get("/version")
    assert isinstance(version, dict)
    components = version.get("Components")
    assert isinstance(components, list)
    assert "Podman Engine" in [c.get("Name") for c in components if isinstance(c, dict)]
    assert [request[:2] for request in sent] == [("GET", "/version")]
    await executor.aclose()
