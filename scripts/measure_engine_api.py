"""Issue 19's targets, side by side in one run: the executor against raw Engine API requests.

    .venv/bin/python scripts/measure_engine_api.py [--inventory /run/operator-lab/inventory.toml]
        [--extra tcp://127.0.0.1:23858]

Prints, each with its target:

* inspect: the executor's ``inspect_containers`` median vs one raw ``GET
  /containers/ID/json`` (aiohttp over the socket): <= 2x;
* CPU per inspect (this process and its children): <= 2 ms;
* fleet listing of N hosts vs the slowest single host, N = 4 and N = 12: <= 1.3x. The lab
  has 3 engines plus the TLS spare (``lab.sh spare 98 --tls``, given by ``--extra`` with
  the lab's certificates); N = 12 lists those 4 engines three times each (12 inventory
  hosts, 12 clients), since 12 idle engines do not fit this 2-core machine;
* 20 concurrent inspects: the event loop's lag p99 (1 ms ticker) < 5 ms, with the idle
  loop's p99 printed beside it (the machine's own floor under load).

* the watch's memory per additional host followed: the RSS of its whole process tree with
  12 hosts (the lab's engines, repeated) minus with 1, over 11: <= 1 MB.

Creates one
labelled container on the local engine and removes it; runs well under a minute.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

from operator_core.docker import DockerActionExecutor
from operator_core.fleet import Fleet, inventory_from_dict, load_inventory
from operator_core.fleet.inventory import Inventory

__all__ = ["main"]

IMAGE = "operator-core/busybox:test"
LABELS = ["--label", "org.operator-core.test=1", "--label", "org.operator-core.bench=api"]
TLS = Path("/run/operator-lab/tls")


def _cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


async def _median_ms(call: Callable[[], Awaitable[object]], rounds: int) -> tuple[float, float]:
    """Median wall ms and CPU ms per call of ``call`` over ``rounds`` (after 3 warm-ups)."""
    for _ in range(3):
        await call()
    times, cpu0 = [], _cpu()
    for _ in range(rounds):
        t0 = time.perf_counter()
        await call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000, (_cpu() - cpu0) / rounds * 1000


async def _lag_p99(work: Callable[[], Awaitable[object]] | None, seconds: float = 0.5) -> float:
    """The loop's lag p99 (ms) of a 1 ms ticker while ``work`` runs (or ``seconds`` idle)."""
    loop, lags, stop = asyncio.get_running_loop(), [], asyncio.Event()

    async def tick() -> None:
        while not stop.is_set():
            t0 = loop.time()
            await asyncio.sleep(0.001)
            lags.append(loop.time() - t0 - 0.001)

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.01)
    lags.clear()
    if work is None:
        await asyncio.sleep(seconds)
    else:
        await work()
    stop.set()
    await ticker
    ordered = sorted(lags)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))] * 1000


async def _close(thing: object) -> None:
    """Close an executor's or fleet's pools (before issue 19 they had none to close)."""
    close = getattr(thing, "aclose", None)
    if callable(close):
        await close()


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


async def _inspects(cid: str) -> None:
    executor = DockerActionExecutor()
    raw = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path="/var/run/docker.sock"))

    async def raw_inspect() -> object:
        async with raw.get(f"http://docker/v1.41/containers/{cid}/json") as resp:
            return await resp.json()

    try:
        api_ms, _ = await _median_ms(raw_inspect, 100)
        ex_ms, ex_cpu = await _median_ms(lambda: executor.inspect_containers([cid]), 100)
        print(
            f"inspect median: executor {ex_ms:.2f} ms, raw GET {api_ms:.2f} ms: "
            f"{ex_ms / api_ms:.1f}x (target <= 2x: {_verdict(ex_ms <= 2 * api_ms)})"
        )
        print(f"CPU per inspect: {ex_cpu:.2f} ms (target <= 2 ms: {_verdict(ex_cpu <= 2)})")
        idle = await _lag_p99(None)

        async def twenty() -> None:
            for _ in range(5):
                await asyncio.gather(*(executor.inspect_containers([cid]) for _ in range(20)))

        lag = await _lag_p99(twenty)
        print(
            f"20 concurrent inspects: loop lag p99 {lag:.2f} ms (idle loop {idle:.2f} ms; "
            f"target < 5 ms: {_verdict(lag < 5)})"
        )
    finally:
        await raw.close()
        await _close(executor)


def _fleet_of(inventory: Inventory, extra: str | None, copies: int) -> Inventory:
    return inventory_from_dict(_fleet_dict(inventory, extra, copies))


def _fleet_dict(inventory: Inventory, extra: str | None, copies: int) -> dict[str, object]:
    hosts: dict[str, object] = {}
    base: dict[str, dict[str, object]] = {}
    for name, entry in inventory.hosts.items():
        base[name] = {"url": entry.url} if entry.url else {"context": entry.context}
        if entry.tls is not None:
            base[name]["tls"] = {
                "ca": str(entry.tls.ca),
                "cert": str(entry.tls.cert),
                "key": str(entry.tls.key),
            }
    if extra:
        tls = {
            "ca": str(TLS / "ca.pem"),
            "cert": str(TLS / "cert.pem"),
            "key": str(TLS / "key.pem"),
        }
        base["extra"] = {"url": extra, "tls": tls}
    for copy in range(copies):
        for name, spec in base.items():
            hosts[f"{name}-{copy}"] = dict(spec)
    return {"default": next(iter(hosts)), "hosts": hosts}


#: The watch run in a process of its own, so that its whole tree's memory can be read.
_WATCHER = """
import asyncio, json, sys
from operator_core.fleet import Fleet, inventory_from_dict
from operator_core.watch import watch

async def main():
    spec = json.loads(sys.argv[1])
    fleet = Fleet(inventory_from_dict(spec))
    wanted, seen = len(spec["hosts"]), set()
    async for item in watch(fleet):
        if item.get("kind") == "connected":
            seen.add(item.get("host"))
        if len(seen) == wanted:
            print("ready", flush=True)
            await asyncio.sleep(3600)

asyncio.run(main())
"""


def _tree_rss_kb(pid: int) -> int:
    """Return the resident memory of ``pid`` and every process below it, in kB."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        todo += children.get(current, [])
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total += next(
            (int(row.split()[1]) for row in status.splitlines() if row.startswith("VmRSS")), 0
        )
    return total


def _watch_rss_kb(spec: dict[str, object]) -> int:
    """Start a watch of ``spec``'s hosts in a process; its tree's RSS once all are followed."""
    process = subprocess.Popen(
        [sys.executable, "-c", _WATCHER, json.dumps(spec)], stdout=subprocess.PIPE, text=True
    )
    try:
        if process.stdout is None or process.stdout.readline().strip() != "ready":
            raise RuntimeError("the watch did not follow every host")
        time.sleep(2)  # what it allocates on its first events settles
        return _tree_rss_kb(process.pid)
    finally:
        process.kill()
        process.wait()


def _watch_memory(inventory: Inventory, extra: str | None) -> None:
    """Print the watch's memory per additional host: (RSS with 12 hosts - with 1) / 11.

    Over engines reached by socket or TCP (TLS included); an ``ssh://`` host also costs its
    ssh processes (a master login and a ``dial-stdio`` session per pooled connection),
    printed apart.
    """
    every = _fleet_dict(inventory, extra, 12)["hosts"]
    assert isinstance(every, dict)  # noqa: S101 - built just above
    plain = [(n, h) for n, h in every.items() if not str(h.get("url", "")).startswith("ssh")]
    over_ssh = [(n, h) for n, h in every.items() if str(h.get("url", "")).startswith("ssh")]
    for label, pool in (("socket/TCP/TLS hosts", plain), ("ssh hosts", over_ssh)):
        hosts = dict(pool[:12])
        if len(hosts) < 12:
            continue
        first = next(iter(hosts))
        rss_1 = _watch_rss_kb({"default": first, "hosts": {first: hosts[first]}})
        rss_12 = _watch_rss_kb({"default": first, "hosts": hosts})
        per_host = (rss_12 - rss_1) / 11 / 1024
        print(
            f"watch memory, {label}: 1 host {rss_1 / 1024:.1f} MB, 12 hosts "
            f"{rss_12 / 1024:.1f} MB (the whole process tree): {per_host:.3f} MB per "
            f"additional host (target <= 1 MB: {_verdict(per_host <= 1)})"
        )


async def _fleet(inventory: Inventory, extra: str | None) -> None:
    for copies in (1, 3):
        fleet_inv = _fleet_of(inventory, extra, copies)
        fleet = Fleet(fleet_inv)
        try:

            async def whole(fleet: Fleet = fleet) -> object:
                return await fleet.list_containers(all=True)

            whole_ms, _ = await _median_ms(whole, 15)
            singles = []
            for name in fleet_inv.names[: len(fleet_inv.names) // copies]:
                ex = fleet.executor(name)
                ms, _ = await _median_ms(lambda ex=ex: ex.list_containers(all=True), 15)
                singles.append(ms)
            slowest = max(singles)
            n = len(fleet_inv.names)
            print(
                f"fleet list N={n}: {whole_ms:.1f} ms, slowest single host {slowest:.1f} ms: "
                f"{whole_ms / slowest:.2f}x (target <= 1.3x: {_verdict(whole_ms <= 1.3 * slowest)})"
            )
        finally:
            await _close(fleet)


async def main_async(inventory_path: str, extra: str | None) -> None:
    cid = subprocess.run(  # noqa: ASYNC221 - set-up, before anything is measured
        ["docker", "run", "-d", *LABELS, IMAGE, "sleep", "300"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    try:
        await _inspects(cid)
        await _fleet(load_inventory(inventory_path), extra)
        _watch_memory(load_inventory(inventory_path), extra)
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True, check=False)  # noqa: ASYNC221


def main() -> None:
    """Parse the options and print the targets."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inventory", default="/run/operator-lab/inventory.toml")
    parser.add_argument("--extra", default=None, help="the TLS spare's tcp:// URL")
    args = parser.parse_args()
    asyncio.run(main_async(args.inventory, args.extra))


if __name__ == "__main__":
    main()
