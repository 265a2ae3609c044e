"""The operator's image, run on the local engine with its socket mounted (issue 17 section 1).

The image is built by ``scripts/build-image.sh`` (CI builds it before the tests). Every
container here is a test container (the test label, a unique name) removed after its test.
"""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from image_helpers import (
    OPERATOR_IMAGE,
    SOCKET_MOUNT,
    docker_json,
    label_args,
    require_image,
    wait_for_health,
)
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client

from operator_core.cli.commands.health import check_mcp
from operator_core.testing import HANDLES_SIGTERM, unique_name


@pytest.fixture(autouse=True)
def _image(engine, request) -> None:
    """Every test here needs the engine and the operator's image."""
    require_image(request.config)


def _run(containers, *args: str, options: tuple[str, ...] = (), name: str | None = None):
    """``docker run`` the image to the end (a named test container, removed after the test)."""
    name = name or unique_name("opc-image")
    containers.names.append(name)
    return subprocess.run(
        ["docker", "run", "--name", name, *label_args(), *options, OPERATOR_IMAGE, *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _start(containers, *args: str, options: tuple[str, ...] = (), name: str | None = None) -> str:
    """Start the image detached as a named test container; return its name."""
    name = name or unique_name("opc-image")
    containers.names.append(name)
    subprocess.run(
        ["docker", "run", "-d", "--name", name, *label_args(), *options, OPERATOR_IMAGE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return name


def test_docker_ps_inside_the_image_lists_the_hosts_containers(containers):
    """`operator docker ps --json` in the image, the host's socket mounted, lists the host's."""
    mine = containers.run(*HANDLES_SIGTERM)
    done = _run(containers, "docker", "ps", "--json", options=("-v", SOCKET_MOUNT))
    assert done.returncode == 0, done.stderr
    envelope = json.loads(done.stdout)
    assert envelope["ok"] is True, envelope
    assert mine in {c["name"] for c in envelope["result"]["containers"]}


def test_the_image_is_labelled_and_runs_operator(containers):
    """The OCI labels say what it is; `docker run IMAGE --version` runs operator."""
    labels = docker_json("image", "inspect", "--format", "{{json .Config.Labels}}", OPERATOR_IMAGE)
    assert labels["org.opencontainers.image.title"] == "operator-core"
    assert labels["org.opencontainers.image.licenses"] == "MIT"
    version = _run(containers, "--version")
    assert version.returncode == 0, version.stderr
    assert version.stdout.strip() == f"operator-core {labels['org.opencontainers.image.version']}"


def _free_port() -> int:
    """Return a TCP port nothing listens on just now, on the host's loopback."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _tool_names(url: str) -> list[str]:
    """Initialize an MCP session at ``url`` and return the names of the tools it lists."""
    async with (
        streamable_http_client(url) as (read, write),
        ClientSession(read, write) as session,
    ):
        await session.initialize()
        return [tool.name for tool in (await session.list_tools()).tools]


def _first_answer(url: str, within_s: float = 90) -> list[str]:
    """Poll ``url`` until an MCP client's session works; return the tool names listed."""
    started = time.monotonic()
    while True:
        try:
            return asyncio.run(_tool_names(url))
        except Exception:
            # Connection refused (the server is not up yet) comes wrapped in the SDK's task
            # groups; past the bound the last failure is raised as it is.
            if time.monotonic() - started > within_s:
                raise
            time.sleep(0.25)


def test_the_mcp_server_in_the_image_answers_a_client_on_the_host_and_is_healthy(containers):
    """`operator mcp --transport streamable-http` in the container answers the host's client.

    The container shares the host's network (the server binds loopback), and its health
    check is the MCP one (`operator health --mcp URL`): the container turns healthy.
    """
    port = _free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    name = _start(
        containers,
        "mcp",
        "--transport",
        "streamable-http",
        "--port",
        str(port),
        options=(
            "-v",
            SOCKET_MOUNT,
            "--network",
            "host",
            "--health-cmd",
            f"operator health --mcp {url}",
            "--health-interval",
            "1s",
            "--health-start-period",
            "60s",
        ),
    )
    assert "docker_list_containers" in _first_answer(url)
    wait_for_health(name, "healthy")


def test_the_mcp_server_published_off_loopback_wants_its_token(containers):
    """`--bind 0.0.0.0:8765`, published on the host's 127.0.0.1, the token from a secret file.

    Without the token the host's client gets 401; with it, an MCP answer; the container's
    own MCP health check reads the same secret and turns healthy. (Needs the HTTP server's
    --bind and bearer token, issue 17 section 4.)
    """
    token = uuid.uuid4().hex
    secret = Path(tempfile.mkdtemp(prefix="opc-image-")) / "operator_mcp_token"
    secret.write_text(token)
    port = _free_port()
    url = f"http://127.0.0.1:{port}/mcp"
    name = _start(
        containers,
        *("mcp", "--transport", "streamable-http", "--bind", "0.0.0.0:8765"),
        options=(
            "-v", SOCKET_MOUNT, "-p", f"127.0.0.1:{port}:8765",
            "-v", f"{secret}:/run/secrets/operator_mcp_token:ro",
            "--health-cmd", "operator health --mcp http://127.0.0.1:8765/mcp",
            "--health-interval", "1s", "--health-start-period", "60s",
        ),
    )  # fmt: skip
    wait_for_health(name, "healthy")
    assert check_mcp(url, token, timeout=30) is None
    refused = check_mcp(url, None, timeout=30)
    assert refused is not None
    assert "401" in refused


def test_the_default_health_check_follows_the_engine(containers):
    """The image's own check: healthy with the socket mounted, unhealthy without it."""
    options = ("--health-interval", "1s", "--health-retries", "1", "--health-start-period", "0s")
    healthy = _start(containers, "watch", options=("-v", SOCKET_MOUNT, *options))
    blind = _start(containers, "watch", options=options)
    wait_for_health(healthy, "healthy")
    wait_for_health(blind, "unhealthy")


def _stop_as_operator(containers, target: str, name: str, options: tuple[str, ...]) -> Any:
    """Run the image as container ``name`` asked to stop ``target`` (dry run).

    Returns the exit code and the JSON envelope it printed.
    """
    done = _run(
        containers,
        *("--mode", "execute", "--dry-run", "--json", "docker", "stop", target),
        options=("-v", SOCKET_MOUNT, *options),
        name=name,
    )
    assert done.stdout, done.stderr
    return done.returncode, json.loads(done.stdout)


@pytest.mark.parametrize(
    "cgroupns",
    [
        pytest.param((), id="shared-network"),
        pytest.param(("--cgroupns", "private"), id="shared-network-private-cgroupns"),
    ],
)
def test_the_operator_in_the_image_refuses_to_stop_its_own_container_and_its_network_owner(
    engine, containers, cgroupns
):
    """Run with --network container:other: stopping itself or other is denied protected.self.

    The operator process is the container's main process, deciding about its own
    container (by its name) and about the container whose network namespace it shares.
    With --cgroupns private as well, the cgroup names no container; the root filesystem's
    layer, looked up on the engine, still names the operator's own. Both stay running.
    """
    other = containers.run(*HANDLES_SIGTERM)
    options = ("--network", f"container:{other}", *cgroupns)
    for target in ("self", other):
        name = unique_name("opc-image")
        code, envelope = _stop_as_operator(
            containers, name if target == "self" else target, name, options
        )
        assert envelope["ok"] is False, envelope
        assert envelope["error"]["rule"] == "protected.self", envelope
        assert code == 3  # denied
    assert engine.container.inspect(other).state.running is True
