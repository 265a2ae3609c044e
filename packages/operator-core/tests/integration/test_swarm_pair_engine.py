"""Two managers of one swarm share a service's budget and lock (issue 18, item 2).

A swarm of its own, on the lab's spare engines 92 and 93 (``scripts/lab.sh spare``): 92
inits it, 93 joins as a second manager, and both leave it at the end, so no other
test's swarm roles change. An inventory names both managers; a service's rate limit
and its lock are keyed by the swarm's cluster ID and the service id, so calls through
either manager count together and never overlap.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from operator_core.fleet import Fleet, FleetExecutor, inventory_from_dict
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.testing import HANDLES_SIGTERM, TEST_IMAGE, TEST_LABEL, unique_name

LAB = Path(__file__).resolve().parents[4] / "scripts" / "lab.sh"
#: This file's own spare engines (no other test uses them).
PAIR = (92, 93)
NO_APPROVAL: dict[str, Any] = {"mode": "execute", "approval": {"risks": []}}


def _docker(socket: str, *args: str, timeout: float = 60) -> str:
    """Run ``docker -H socket args``; return stdout (RuntimeError on failure)."""
    done = subprocess.run(
        ["docker", "-H", socket, *args], capture_output=True, text=True, timeout=timeout
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])}: {done.stderr.strip()[-300:]}")
    return done.stdout.strip()


def _spare(number: int) -> tuple[str, str]:
    """Start spare engine ``number``; return its socket URL and its lab address."""
    started = subprocess.run(
        ["bash", str(LAB), "spare", str(number)],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if started.returncode != 0:
        raise RuntimeError(f"lab.sh spare {number} failed: {started.stderr.strip()[-500:]}")
    socket = started.stdout.strip().splitlines()[-1]
    status = subprocess.run(
        ["bash", str(LAB), "status"], capture_output=True, text=True, timeout=120, check=False
    ).stdout
    found = re.search(rf"^eng{number}\s.*?\baddr (\S+)", status, re.M)
    if found is None:
        raise RuntimeError(f"lab.sh status does not give eng{number}'s address")
    return socket, found.group(1)


def _leave(socket: str) -> None:
    """Make the engine leave any swarm it is in (a no-op outside one)."""
    subprocess.run(
        ["docker", "-H", socket, "swarm", "leave", "--force"],
        capture_output=True,
        timeout=60,
        check=False,
    )


def _form(first: tuple[str, str], second: tuple[str, str]) -> None:
    """Init a swarm on ``first`` and join ``second`` to it as a manager; wait until ready."""
    (sock_a, addr_a), (sock_b, addr_b) = first, second
    _docker(sock_a, "swarm", "init", "--advertise-addr", addr_a, "--listen-addr", f"{addr_a}:2377")
    token = _docker(sock_a, "swarm", "join-token", "-q", "manager")
    _docker(
        sock_b, "swarm", "join", "--token", token, "--advertise-addr", addr_b,
        "--listen-addr", f"{addr_b}:2377", f"{addr_a}:2377",
    )  # fmt: skip
    until = time.monotonic() + 120
    while time.monotonic() < until:
        ready = _docker(sock_a, "node", "ls", "--format", "{{.Status}} {{.ManagerStatus}}")
        if ready.split("\n").count("Ready Leader") + ready.count("Ready Reachable") == 2:
            return
        time.sleep(0.5)
    raise RuntimeError(f"the pair's swarm did not become ready: {ready}")


@pytest.fixture(scope="module")
def pair(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """Two managers of one swarm of their own: ``{"m92": socket, "m93": socket}``."""
    engines: list[tuple[str, str]] = []
    try:
        engines = [_spare(number) for number in PAIR]
        for socket, _ in reversed(engines):
            _leave(socket)  # what an interrupted earlier run may have left
        _form(engines[0], engines[1])
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        for socket, _ in reversed(engines):
            _leave(socket)
        if request.config.getoption("--require-engine"):
            pytest.fail(f"two-manager swarm required: {exc}")
        pytest.skip(str(exc))
    try:
        yield {f"m{number}": socket for number, (socket, _) in zip(PAIR, engines, strict=True)}
    finally:
        for socket, _ in reversed(engines):
            _leave(socket)


@pytest.fixture
def service(pair: dict[str, str]) -> Iterator[str]:
    """A one-replica service of the test image on the pair's swarm, removed afterwards."""
    name = unique_name("opc-pair")
    _docker(
        pair["m92"], "service", "create", "--detach", "--quiet", "--no-resolve-image",
        "--name", name, "--label", f"{TEST_LABEL}=1", "--replicas", "1",
        "--stop-grace-period", "1s", TEST_IMAGE, *HANDLES_SIGTERM,
    )  # fmt: skip
    try:
        yield name
    finally:
        subprocess.run(
            ["docker", "-H", pair["m92"], "service", "rm", name],
            capture_output=True,
            timeout=60,
            check=False,
        )


class Spy(FleetExecutor):
    """A fleet executor that notes when each service restart begins and ends, per host."""

    def __init__(self, fleet: Fleet) -> None:
        super().__init__(fleet)
        self.events: list[tuple[str, str | None]] = []

    async def restart_service(self, *args: Any, host: str | None = None, **kwargs: Any) -> Any:
        """Restart through ``host``, noting ("enter", host) and ("exit", host) around it."""
        self.events.append(("enter", host))
        try:
            return await self.__getattr__("restart_service")(*args, host=host, **kwargs)
        finally:
            self.events.append(("exit", host))


def runner(pair: dict[str, str], policy: Policy) -> tuple[ToolRunner, Spy]:
    """Return a runner over an inventory naming both managers."""
    inventory = inventory_from_dict(
        {"default": "m92", "hosts": {name: {"url": url} for name, url in pair.items()}}
    )
    spy = Spy(Fleet(inventory))
    return ToolRunner(spy, policy=policy, own_container_id=None), spy


async def test_a_services_rate_limit_through_one_manager_holds_through_the_other(pair, service):
    """One restart of the service per window: through m92 it runs, through m93 it is refused."""
    limit = [{"tools": ["docker_restart_service"], "max": 1, "window_s": 600}]
    run, spy = runner(pair, Policy(**NO_APPROVAL, rate_limits=limit))
    args = {"service": service, "timeout": 90}
    first = await run.execute_tool("docker_restart_service", {**args, "host": "m92"})
    assert first["ok"] is True, first
    again = await run.execute_tool("docker_restart_service", {**args, "host": "m93"})
    assert again["error"]["rule"] == "rate_limits[0]"
    assert spy.events == [("enter", "m92"), ("exit", "m92")]
    (record,) = [r for r in run.audit.query() if r.outcome == "ok"]
    cluster = _docker(pair["m93"], "info", "--format", "{{.Swarm.Cluster.ID}}")
    assert record.target_key == f"swarm:{cluster}/{record.target_id}"


async def test_two_restarts_through_two_managers_take_turns(pair, service):
    """Restarts of one service through m92 and m93 at once: one ends before the other begins."""
    run, spy = runner(pair, Policy(**NO_APPROVAL))
    args = {"service": service, "timeout": 90}
    results = await asyncio.gather(
        run.execute_tool("docker_restart_service", {**args, "host": "m92"}),
        run.execute_tool("docker_restart_service", {**args, "host": "m93"}),
    )
    assert [r["ok"] for r in results] == [True, True], results
    kinds = [kind for kind, _ in spy.events]
    assert kinds == ["enter", "exit", "enter", "exit"], spy.events
    assert {host for _, host in spy.events} == {"m92", "m93"}
