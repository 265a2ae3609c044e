"""The lab of extra engines (``scripts/lab.sh``) for fleet tests, and servers that misbehave.

The lab's inventory is found through ``OPERATOR_LAB_INVENTORY`` (``.ci/run`` sets it), else
at ``/run/operator-lab/inventory.toml``. Without a lab the tests skip, and fail when an
engine is required (``OPERATOR_REQUIRE_ENGINE=1``), as every engine test does.
"""

from __future__ import annotations

import os
import socket
import subprocess
import threading
from pathlib import Path
from typing import Any

import pytest

from operator_core.fleet import HostEntry, Inventory, load_inventory
from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name

__all__ = [
    "LabContainers",
    "SilentServer",
    "lab_inventory",
    "lab_inventory_path",
    "lab_problem",
    "local_socket",
    "spare_engine_url",
    "with_extra_hosts",
]

_DEFAULT = "/run/operator-lab/inventory.toml"
#: The lab script, which starts the spare engines.
LAB_SCRIPT = Path(__file__).resolve().parents[4] / "scripts" / "lab.sh"


def lab_inventory_path() -> Path:
    """Return where the lab's inventory is."""
    return Path(os.environ.get("OPERATOR_LAB_INVENTORY") or _DEFAULT)


def lab_problem(inventory: Inventory, engines: int = 3) -> str | None:
    """Return why the lab cannot serve the fleet tests, or None when it can."""
    if len(inventory.names) < engines:
        return f"the lab has {len(inventory.names)} engines, the tests need {engines}"
    if not any(host.url and host.url.startswith("ssh://") for host in inventory.hosts.values()):
        return "no lab engine is reached over ssh:// (scripts/lab.sh up 3 sets one up)"
    for host in inventory.hosts.values():
        done = subprocess.run(
            [*map(str, host.client().client_config.docker_cmd), "version"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if done.returncode != 0:
            why = done.stderr[-300:]
            return f"lab engine {host.name} ({host.address}) does not answer: {why!r}"
    return None


def local_socket(host: HostEntry) -> str:
    """Return the local socket URL of a lab engine (an SSH one names it in its labels)."""
    if host.url and host.url.startswith("unix://"):
        return host.url
    return host.labels["socket"]


class LabContainers:
    """Makes test containers on lab engines and removes them, on their own engine, after."""

    def __init__(self, inventory: Inventory) -> None:
        self.inventory = inventory
        self.made: list[tuple[str, str]] = []

    def _docker(self, host: str) -> list[str]:
        """Return the docker command line for a lab host, over its local socket (fast)."""
        return ["docker", "-H", local_socket(self.inventory.host(host))]

    def run(self, host: str, *command: str, name: str | None = None) -> str:
        """Start a detached test container on ``host``; return its name."""
        name = name or unique_name()
        self.made.append((host, name))
        options = ["-d", "--name", name, "--label", f"{TEST_LABEL}=1"]
        subprocess.run(
            [*self._docker(host), "run", *options, TEST_IMAGE, *command],
            capture_output=True,
            timeout=60,
            check=True,
        )
        return name

    def state(self, host: str, name: str) -> str:
        """Return the status of a container on ``host``, read over its socket."""
        done = subprocess.run(
            [*self._docker(host), "inspect", "--format", "{{.State.Status}}", name],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        )
        return done.stdout.strip()

    def cleanup(self) -> None:
        """Remove every container made here, each on its own engine."""
        for host, name in self.made:
            subprocess.run(
                [*self._docker(host), "rm", "-f", "-v", name],
                capture_output=True,
                timeout=60,
                check=False,
            )


class SilentServer:
    """A unix socket that accepts connections and never answers: a hung engine."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(path))
        self._server.listen(64)
        self._held: list[socket.socket] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """The socket's ``unix://`` URL."""
        return f"unix://{self.path}"

    def _accept(self) -> None:
        """Accept every connection and hold it open without a word."""
        self._server.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._held.append(conn)

    def close(self) -> None:
        """Stop accepting and close every connection held."""
        self._stop.set()
        self._thread.join(5)
        for conn in self._held:
            conn.close()
        self._server.close()


def with_extra_hosts(inventory: Inventory, extra: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """Return the inventory as a dict, with ``extra`` hosts added (for dead and hung ones)."""
    hosts: dict[str, Any] = {}
    for name, host in inventory.hosts.items():
        hosts[name] = {"url": host.url, "labels": dict(host.labels), "deadline_s": host.deadline_s}
        if host.tls is not None:  # the lab's TLS engine keeps its certificates
            hosts[name]["tls"] = {
                key: str(value) for key, value in vars(host.tls).items() if key != "verify"
            }
    return {"default": inventory.default, "hosts": {**hosts, **extra}}


def lab_inventory() -> Inventory:
    """Load the lab's inventory (InventoryError when the file is missing)."""
    return load_inventory(lab_inventory_path())


def spare_engine_url(config: pytest.Config, number: int | str | None = None) -> str:
    """Start the lab's spare engine ``number`` (``scripts/lab.sh spare N``); return its URL.

    Without the engine the test is skipped locally and fails under ``--require-engine``
    (CI). Each test file that stops, floods or restarts an engine has a spare of its own.
    """
    command = ["bash", str(LAB_SCRIPT), "spare", *([] if number is None else [str(number)])]
    started = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    if started.returncode != 0:
        problem = f"lab.sh spare {number or ''} failed: {started.stderr.strip()[-500:]}"
        if config.getoption("--require-engine"):
            pytest.fail(problem)
        pytest.skip(problem)
    return str(started.stdout.strip().splitlines()[-1])
