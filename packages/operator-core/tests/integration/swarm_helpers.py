"""The lab as a swarm (``scripts/lab.sh up 3 --swarm``), and services made for a test.

The lab's inventory labels each engine with its swarm role (``swarm = "manager"`` or
``"worker"``); the tests talk to the manager, and read containers on every node over
its local socket. Services are made with the test image, which every node has (there is
no registry: ``--no-resolve-image``), and removed after the test together with every
container of theirs on every node.
"""

from __future__ import annotations

import json
import subprocess
import time
from dataclasses import dataclass, field
from typing import Any

from lab_helpers import lab_inventory_path, local_socket

from operator_core.fleet import load_inventory
from operator_core.testing import HANDLES_SIGTERM, TEST_IMAGE, TEST_LABEL, unique_name

__all__ = ["ServiceFactory", "SwarmLab", "find_swarm_lab"]

_SWARM_SERVICE = "com.docker.swarm.service.name"


def _docker(socket: str, *args: str, timeout: float = 60) -> str:
    """Run ``docker -H socket args``; return its stdout (raises on failure)."""
    done = subprocess.run(
        ["docker", "-H", socket, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"docker {' '.join(args[:3])} failed: {done.stderr.strip()[-300:]}")
    return done.stdout


@dataclass(frozen=True)
class SwarmLab:
    """The swarm's manager and workers: inventory names, local sockets, node hostnames."""

    manager: str
    workers: tuple[str, ...]
    sockets: dict[str, str]
    hostnames: dict[str, str]

    @property
    def manager_socket(self) -> str:
        """The manager engine's local socket URL."""
        return self.sockets[self.manager]

    def docker(self, *args: str, host: str | None = None, timeout: float = 60) -> str:
        """Run docker against ``host`` (default: the manager)."""
        return _docker(self.sockets[host or self.manager], *args, timeout=timeout)

    def running_containers(self, service: str) -> int:
        """Count the running containers of ``service`` on every node (the ground truth)."""
        total = 0
        for host in self.sockets:
            out = self.docker(
                "ps", "-q", "--filter", f"label={_SWARM_SERVICE}={service}", host=host
            )
            total += len(out.split())
        return total


def find_swarm_lab() -> tuple[SwarmLab | None, str]:
    """Return the lab as a swarm, or None and why it cannot serve the swarm tests."""
    path = lab_inventory_path()
    if not path.is_file():
        return None, f"no lab inventory at {path} (run scripts/lab.sh up 3 --swarm)"
    inventory = load_inventory(path)
    roles = {name: host.labels.get("swarm") for name, host in inventory.hosts.items()}
    managers = [name for name, role in roles.items() if role == "manager"]
    workers = tuple(sorted(name for name, role in roles.items() if role == "worker"))
    if len(managers) != 1 or len(workers) < 2:
        return None, "the lab is not a swarm of 3 (run scripts/lab.sh up 3 --swarm)"
    sockets = {name: local_socket(inventory.host(name)) for name in (*managers, *workers)}
    try:
        state = _docker(sockets[managers[0]], "info", "--format", "{{json .Swarm}}", timeout=30)
        info = json.loads(state)
        names = {
            h: _docker(s, "info", "--format", "{{.Name}}", timeout=30).strip()
            for h, s in sockets.items()
        }
        ready = _docker(sockets[managers[0]], "node", "ls", "--format", "{{.Status}}").split()
        members = _docker(sockets[managers[0]], "node", "ls", "--format", "{{.Hostname}}").split()
    except (RuntimeError, subprocess.TimeoutExpired, ValueError) as exc:
        return None, f"the lab's swarm does not answer: {exc}"
    if not info.get("ControlAvailable") or ready.count("Ready") < 3:
        return None, f"the lab's swarm is not ready: {info.get('LocalNodeState')}, {ready}"
    outside = sorted(host for host, name in names.items() if name not in members)
    if outside:
        return None, f"lab engines {outside} are labelled swarm nodes but are not in the swarm"
    return SwarmLab(managers[0], workers, sockets, names), ""


@dataclass
class ServiceFactory:
    """Makes services of the test image on the swarm, and removes them (and their containers)."""

    lab: SwarmLab
    names: list[str] = field(default_factory=list)

    def create(self, replicas: int = 2, *options: str, command: tuple[str, ...] = ()) -> str:
        """Create a replicated service (detached, image not resolved); return its name."""
        name = unique_name("opc-svc")
        self.names.append(name)
        self.lab.docker(
            "service", "create", "--detach", "--quiet", "--no-resolve-image",
            "--name", name, "--label", f"{TEST_LABEL}=1",
            "--replicas", str(replicas), "--stop-grace-period", "2s", *options,
            TEST_IMAGE, *(command or HANDLES_SIGTERM),
        )  # fmt: skip
        return name

    def cleanup(self) -> None:
        """Remove the services, then wait (bounded) until no node runs a container of theirs."""
        if not self.names:
            return
        subprocess.run(
            ["docker", "-H", self.lab.manager_socket, "service", "rm", *self.names],
            capture_output=True,
            timeout=60,
            check=False,
        )
        until = time.monotonic() + 60
        while time.monotonic() < until and any(self._left(host) for host in self.lab.sockets):
            time.sleep(0.5)

    def _left(self, host: str) -> list[Any]:
        """Return the containers of this factory's services still on ``host``."""
        found: list[Any] = []
        for name in self.names:
            out = self.lab.docker(
                "ps", "-aq", "--filter", f"label={_SWARM_SERVICE}={name}", host=host
            )
            found += out.split()
        return found
