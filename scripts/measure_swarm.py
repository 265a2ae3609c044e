"""Measure the swarm actions on the lab's swarm (``scripts/lab.sh up 3 --swarm``).

Prints, for ROUNDS rounds each (every figure through operator-core's executor on the
manager, from the call to its converged result):
* a scale of a service from 2 to 6 replicas;
* a rolling restart of 4 replicas (parallelism 1, monitor 1s), with the fewest running
  containers of the service seen on all three nodes while it ran (sampled continuously
  by ``docker ps`` on each node's own socket, independent of operator-core);
* a drain of a worker running tasks of a 6-replica service (and of the round's other
  services, still up), the tasks moved, and its activation;
and finally ``operator swarm tasks`` of a service spread over the three nodes (80 columns).
Every service it makes is removed, with its containers, before it exits.

Run: ``.venv/bin/python scripts/measure_swarm.py [INVENTORY]`` (default: the lab's).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from python_on_whales import DockerClient

from operator_core.docker import DockerActionExecutor
from operator_core.fleet import load_inventory
from operator_core.testing import HANDLES_SIGTERM, TEST_IMAGE, TEST_LABEL, unique_name

__all__ = ["main"]

ROUNDS = 3
LAB_INVENTORY = "/run/operator-lab/inventory.toml"
_SERVICE_LABEL = "com.docker.swarm.service.name"


def _docker(socket: str, *args: str) -> str:
    """Run docker against ``socket``; return its stdout."""
    done = subprocess.run(
        ["docker", "-H", socket, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


class Lab:
    """The swarm: the manager's socket and every node's."""

    def __init__(self, inventory: str) -> None:
        hosts = load_inventory(inventory).hosts.values()
        self.sockets: dict[str, str] = {}
        for host in hosts:
            socket = host.url if (host.url or "").startswith("unix://") else host.labels["socket"]
            self.sockets[host.labels.get("swarm", "")] = socket  # one manager is kept
            self.sockets[host.name] = socket
        self.manager = self.sockets["manager"]
        self.nodes = [s for name, s in self.sockets.items() if name.startswith("eng")]
        self.made: list[str] = []

    def create(self, replicas: int, *options: str) -> str:
        """Create a service of the test image; return its name."""
        name = unique_name("opc-measure")
        self.made.append(name)
        _docker(
            self.manager, "service", "create", "--detach", "--quiet", "--no-resolve-image",
            "--name", name, "--label", f"{TEST_LABEL}=1", "--replicas", str(replicas),
            "--stop-grace-period", "2s", *options, TEST_IMAGE, *HANDLES_SIGTERM,
        )  # fmt: skip
        return name

    def running(self, name: str) -> int:
        """Count the service's running containers on every node."""
        return sum(
            len(_docker(s, "ps", "-q", "--filter", f"label={_SERVICE_LABEL}={name}").split())
            for s in self.nodes
        )

    def cleanup(self) -> None:
        """Remove the services made here and wait until their containers are gone."""
        if self.made:
            subprocess.run(
                ["docker", "-H", self.manager, "service", "rm", *self.made],
                capture_output=True,
                timeout=60,
                check=False,
            )
        until = time.monotonic() + 60
        while time.monotonic() < until and any(
            _docker(s, "ps", "-aq", "--filter", f"label={_SERVICE_LABEL}={n}").split()
            for s in self.nodes
            for n in self.made
        ):
            time.sleep(0.5)


def _median(values: list[float]) -> str:
    return (
        f"median {statistics.median(values):6.2f}s  (min {min(values):.2f}, max {max(values):.2f})"
    )


def _check(ok: bool, result: object) -> None:
    """Stop with the result when an action did not do what is measured."""
    if not ok:
        sys.exit(f"the action did not converge: {result}")


async def _scale(lab: Lab, executor: DockerActionExecutor) -> float:
    name = lab.create(2)
    await executor.scale_service(name, 2, timeout=90)
    began = time.monotonic()
    result = await executor.scale_service(name, 6, timeout=120)
    took = time.monotonic() - began
    _check(result["converged"], result)
    return took


async def _restart(lab: Lab, executor: DockerActionExecutor) -> tuple[float, int, int]:
    name = lab.create(4, "--update-parallelism", "1", "--update-monitor", "1s")
    await executor.scale_service(name, 4, timeout=90)
    samples: list[int] = []
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            samples.append(lab.running(name))

    sampler = threading.Thread(target=sample)
    sampler.start()
    began = time.monotonic()
    try:
        result = await executor.restart_service(name, timeout=300)
    finally:
        took = time.monotonic() - began
        done.set()
        sampler.join(30)
    _check(result["tasks_replaced"] == 4 and result["converged"], result)
    return took, min(samples), len(samples)


async def _drain(lab: Lab, executor: DockerActionExecutor) -> tuple[float, int, float]:
    name = lab.create(6)
    await executor.scale_service(name, 6, timeout=120)
    nodes = (await executor.list_nodes())["nodes"]
    worker = next(n["hostname"] for n in nodes if n["role"] == "worker" and n["tasks_running"])
    began = time.monotonic()
    try:
        result = await executor.set_node_availability(worker, "drain", timeout=120)
        took = time.monotonic() - began
    finally:
        back = time.monotonic()
        await executor.set_node_availability(worker, "active")
        activated = time.monotonic() - back
    _check(result["converged"], result)
    return took, len(result["tasks_moved"]), activated


async def _measure(lab: Lab) -> None:
    executor = DockerActionExecutor(DockerClient(host=lab.manager))
    scales, restarts, minimums, drains, moved, activations = [], [], [], [], [], []
    for _ in range(ROUNDS):
        scales.append(await _scale(lab, executor))
        took, fewest, _ = await _restart(lab, executor)
        restarts.append(took)
        minimums.append(fewest)
        took, tasks, activated = await _drain(lab, executor)
        drains.append(took)
        moved.append(tasks)
        activations.append(activated)
        lab.cleanup()
        lab.made.clear()
    print(f"scale 2 -> 6, converged:               {_median(scales)}")
    print(f"rolling restart of 4 (parallelism 1): {_median(restarts)}")
    print(f"  fewest running during the restarts:  {minimums} (of 4; samples every ~0.1s)")
    print(f"drain of a worker, tasks moved:        {_median(drains)}  moved {moved}")
    print(f"activate it again:                     {_median(activations)}")


def _capture(lab: Lab) -> None:
    name = lab.create(6)
    audit = Path(tempfile.mkdtemp(prefix="opc-measure-")) / "audit.sqlite3"
    env = {**os.environ, "COLUMNS": "80", "OPERATOR_AUDIT_DB": str(audit)}
    operator = [sys.executable, "-m", "operator_core.cli", "--host", lab.manager, "swarm"]
    asyncio.run(DockerActionExecutor(DockerClient(host=lab.manager)).scale_service(name, 6))
    shown = subprocess.run(
        [*operator, "tasks", name], env=env, capture_output=True, text=True, timeout=60, check=False
    )
    print(f"\n$ operator swarm tasks {name}")
    print(shown.stdout + shown.stderr)


def main() -> None:
    """Measure, print, clean up."""
    inventory = sys.argv[1] if len(sys.argv) > 1 else LAB_INVENTORY
    if not Path(inventory).is_file():
        sys.exit(f"no lab inventory at {inventory}; run scripts/lab.sh up 3 --swarm")
    lab = Lab(inventory)
    try:
        asyncio.run(_measure(lab))
        _capture(lab)
    finally:
        lab.cleanup()


if __name__ == "__main__":
    main()
