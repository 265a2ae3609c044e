"""Measure a fleet on the lab's engines (``scripts/lab.sh up 3``: one reached over SSH).

Prints, side by side in one run (medians of ROUNDS, each through operator-core's executor,
docker process start included):
* a fleet-wide ``list_containers`` of the lab's hosts against each host listed alone, and
  the ratio to the slowest single host;
* what a dead host (socket refused) and a hung host (accepts, never answers; its
  ``deadline_s`` is HUNG_DEADLINE_S) add to that listing;
* ``inspect_container`` over ``ssh://`` cold (no ControlMaster yet) and warm, against the
  same engine through its local socket;
* ``operator hosts`` and ``operator docker ps`` across the fleet with a dead host, as a
  person sees them (80 columns).

Run: ``.venv/bin/python scripts/measure_fleet.py [INVENTORY]`` (default: the lab's).
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from operator_core.fleet import Fleet, Inventory, inventory_from_dict, load_inventory
from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name

__all__ = ["main"]

ROUNDS = 7
PER_HOST = 5
HUNG_DEADLINE_S = 3.0
LAB_INVENTORY = "/run/operator-lab/inventory.toml"


def _socket_of(inventory: Inventory, name: str) -> str:
    """Return the local socket URL of a lab host (an SSH one names it in its labels)."""
    host = inventory.host(name)
    return host.url if host.url and host.url.startswith("unix://") else host.labels["socket"]


def _docker(url: str, *args: str) -> str:
    """Run docker against ``url``; return stdout."""
    done = subprocess.run(
        ["docker", "-H", url, *args], capture_output=True, text=True, timeout=120, check=True
    )
    return done.stdout


def _as_dict(inventory: Inventory, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return the inventory as a dict with ``extra`` hosts."""
    hosts = {
        name: {"url": host.url, "labels": dict(host.labels), "deadline_s": host.deadline_s}
        for name, host in inventory.hosts.items()
    }
    return {"default": inventory.default, "hosts": {**hosts, **(extra or {})}}


async def _median(call: Callable[[], Awaitable[Any]], rounds: int = ROUNDS) -> float:
    """Return the median wall time of ``call()`` in milliseconds."""
    times = []
    for _ in range(rounds):
        began = time.perf_counter()
        await call()
        times.append((time.perf_counter() - began) * 1000)
    return statistics.median(times)


class _Silent:
    """A unix socket that accepts and never answers (a hung engine)."""

    def __init__(self, path: Path) -> None:
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.server.bind(str(path))
        self.server.listen(64)
        self.held: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            self.held.append(conn)

    def close(self) -> None:
        for conn in self.held:
            conn.close()
        self.server.close()


async def _listing(inventory: Inventory, scratch: Path) -> None:
    """Print fleet-wide listing times against single hosts, then with a dead and a hung host."""
    fleet = Fleet(inventory)
    await fleet.list_containers()  # warm: executors built, ssh master open
    single = {}
    for name in inventory.names:
        executor = fleet.executor(name)
        single[name] = await _median(lambda ex=executor: ex.list_containers())
    whole = await _median(fleet.list_containers)
    slowest = max(single, key=lambda n: single[n])
    print(f"list_containers, {PER_HOST} containers per host, median of {ROUNDS}:")
    for name, ms in single.items():
        print(f"  {name:<10} alone      {ms:8.1f} ms  ({inventory.host(name).address})")
    print(f"  fleet of {len(single)}            {whole:8.1f} ms")
    print(f"  fleet / slowest single host ({slowest}): {whole / single[slowest]:.2f}x")
    dead = {"dead": {"url": f"unix://{scratch / 'dead.sock'}", "deadline_s": HUNG_DEADLINE_S}}
    with_dead = Fleet(inventory_from_dict(_as_dict(inventory, dead)))
    await with_dead.list_containers()
    dead_ms = await _median(with_dead.list_containers)
    silent = _Silent(scratch / "hung.sock")
    try:
        hung = {"hung": {"url": f"unix://{scratch / 'hung.sock'}", "deadline_s": HUNG_DEADLINE_S}}
        with_hung = Fleet(inventory_from_dict(_as_dict(inventory, hung)))
        hung_ms = await _median(with_hung.list_containers, rounds=3)
        result = await with_hung.list_containers()
    finally:
        silent.close()
    print(f"  + a dead host (refused)      {dead_ms:8.1f} ms  ({dead_ms - whole:+.1f} ms)")
    print(
        f"  + a hung host (deadline {HUNG_DEADLINE_S:g} s) {hung_ms:8.1f} ms  "
        f"({hung_ms - whole:+.1f} ms; its error: {result['host_errors'][0]['type']}, "
        f"{len(result['containers'])} containers still listed)"
    )


async def _ssh(inventory: Inventory, ssh_host: str, container: str) -> None:
    """Print inspect latency over SSH, cold and warm, against the engine's local socket."""
    alias = (inventory.host(ssh_host).url or "").removeprefix("ssh://")
    await asyncio.to_thread(_ssh_run, alias, "-O", "exit")
    remote = Fleet(inventory).executor(ssh_host)
    began = time.perf_counter()
    await remote.inspect_container(container)
    cold = (time.perf_counter() - began) * 1000
    warm = await _median(lambda: remote.inspect_container(container), rounds=ROUNDS * 2)
    direct = inventory_from_dict({"hosts": {"local": {"url": _socket_of(inventory, ssh_host)}}})
    local_executor = Fleet(direct).executor("local")
    await local_executor.inspect_container(container)
    local = await _median(lambda: local_executor.inspect_container(container), rounds=ROUNDS * 2)
    print(f"inspect_container on {ssh_host}, median of {ROUNDS * 2}:")
    print(f"  ssh:// cold (new connection)  {cold:8.1f} ms")
    print(f"  ssh:// warm (ControlMaster)   {warm:8.1f} ms")
    print(f"  local socket                  {local:8.1f} ms")
    print(f"  warm ssh / local: {warm / local:.2f}x   cold ssh / local: {cold / local:.2f}x")
    session = await _median(lambda: asyncio.to_thread(_ssh_run, alias, "true"))
    dial = await _median(
        lambda: asyncio.to_thread(_ssh_run, alias, "docker", "system", "dial-stdio")
    )
    print("  where a warm ssh call goes (each docker call is one ssh session):")
    print(f"    an ssh session on the open connection   {session:8.1f} ms")
    print(f"    + the remote `docker system dial-stdio` {dial - session:8.1f} ms")


def _ssh_run(alias: str, *words: str) -> None:
    """Run ``ssh ALIAS WORDS`` (or ``ssh -O ... ALIAS``) with no input; ignore how it ends."""
    command = ["ssh", *words[:2], alias] if words[0] == "-O" else ["ssh", alias, *words]
    subprocess.run(command, capture_output=True, stdin=subprocess.DEVNULL, timeout=30, check=False)


def _capture(inventory_file: Path, scratch: Path) -> None:
    """Print `operator hosts` and a fleet-wide `operator docker ps` with a dead host."""
    with_dead = scratch / "with-dead.toml"
    with_dead.write_text(
        inventory_file.read_text()
        + f'\n[hosts.edge-dead]\nurl = "unix://{scratch / "gone.sock"}"\ndeadline_s = 5\n'
    )
    env = {**os.environ, "COLUMNS": "80", "OPERATOR_AUDIT_DB": str(scratch / "audit.sqlite3")}
    operator = [sys.executable, "-m", "operator_core.cli", "--inventory", str(with_dead)]
    for words in (["hosts"], ["docker", "ps"]):
        done = subprocess.run(
            [*operator, *words], capture_output=True, text=True, env=env, timeout=120, check=False
        )
        print(f"$ operator --inventory with-dead.toml {' '.join(words)}   (exit {done.returncode})")
        print(done.stdout.rstrip())
        print(done.stderr.rstrip())


async def _run(inventory_file: Path) -> None:
    """Make containers on every host, measure, and remove them."""
    inventory = load_inventory(inventory_file)
    ssh_host = next(n for n, h in inventory.hosts.items() if (h.url or "").startswith("ssh://"))
    made: list[tuple[str, str]] = []
    try:
        for name in inventory.names:
            for _ in range(PER_HOST):
                container = unique_name("opc-measure")
                _docker(
                    _socket_of(inventory, name), "run", "-d", "--name", container,
                    "--label", f"{TEST_LABEL}=measure", TEST_IMAGE, "sleep", "600",
                )  # fmt: skip
                made.append((name, container))
        with tempfile.TemporaryDirectory() as scratch:
            await _listing(inventory, Path(scratch))
            await _ssh(inventory, ssh_host, next(c for h, c in made if h == ssh_host))
            _capture(inventory_file, Path(scratch))
    finally:
        for name, container in made:
            _docker(_socket_of(inventory, name), "rm", "-f", container)


def main() -> None:
    """Measure the fleet of the inventory given (default: the lab's) and print the figures."""
    path = Path(sys.argv[1] if len(sys.argv) > 1 else LAB_INVENTORY)
    asyncio.run(_run(path))


if __name__ == "__main__":
    main()
