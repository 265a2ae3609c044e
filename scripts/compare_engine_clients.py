"""Compare the ways operator-core can talk to a Docker engine, side by side in one run.

    .venv/bin/python scripts/compare_engine_clients.py [--host unix:///var/run/docker.sock]

Candidates: raw Engine API requests (aiohttp over the socket: the floor), aiodocker
(asyncio-native), ``docker`` (Docker's SDK, blocking, called in a worker thread as the
executor's ``run_in_executor`` pattern does) and python-on-whales (one docker CLI process
per call: what the executor used before issue 19). For each: inspect latency (median),
CPU per inspect (this process plus its children), memory per event stream (RSS of the
whole process tree with 10 streams open, minus none, over 10), 20 concurrent inspects
(wall time and the event loop's lag p99, sampled every 1 ms), and cancellation (how long a
cancelled request takes to give control back, and what it leaves behind).

It creates one labelled test container on the engine and removes it at the end. It runs
about a minute; nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import contextlib
import os
import resource
import statistics
import subprocess
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiodocker
import aiohttp
import docker
from python_on_whales import DockerClient

__all__ = ["main"]

IMAGE = "operator-core/busybox:test"
ROUNDS = 100
STREAMS = 10
CONCURRENT = 20

Inspect = Callable[[str], Awaitable[object]]


def _cpu() -> float:
    """CPU seconds used by this process and its reaped children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def _tree_rss_kb(pid: int) -> int:
    """RSS in kB of ``pid`` and every descendant (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except OSError:
            continue
        children.setdefault(ppid, []).append(int(entry))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


async def _loop_lag(stop: asyncio.Event, lags: list[float]) -> None:
    """Sample how late a 1 ms sleep wakes up until ``stop`` is set."""
    loop = asyncio.get_running_loop()
    while not stop.is_set():
        t0 = loop.time()
        await asyncio.sleep(0.001)
        lags.append(loop.time() - t0 - 0.001)


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _measure_inspect(name: str, inspect: Inspect, cid: str, rounds: int) -> dict[str, float]:
    for _ in range(3):  # warm-up: connection pools, version negotiation
        await inspect(cid)
    times: list[float] = []
    cpu0 = _cpu()
    for _ in range(rounds):
        t0 = time.perf_counter()
        await inspect(cid)
        times.append(time.perf_counter() - t0)
    cpu = (_cpu() - cpu0) / rounds
    stop, lags = asyncio.Event(), []
    sampler = asyncio.create_task(_loop_lag(stop, lags))
    await asyncio.sleep(0.01)
    lags.clear()
    walls = []
    for _ in range(5):
        t0 = time.perf_counter()
        await asyncio.gather(*(inspect(cid) for _ in range(CONCURRENT)))
        walls.append(time.perf_counter() - t0)
    stop.set()
    await sampler
    return {
        "median_ms": statistics.median(times) * 1000,
        "cpu_ms": cpu * 1000,
        "conc_wall_ms": statistics.median(walls) * 1000,
        "lag_p99_ms": _p(lags, 0.99) * 1000 if lags else float("nan"),
    }


async def _idle_lag() -> float:
    """The event loop's lag p99 over 0.5 s with nothing else to do."""
    stop, lags = asyncio.Event(), []
    sampler = asyncio.create_task(_loop_lag(stop, lags))
    await asyncio.sleep(0.5)
    stop.set()
    await sampler
    return _p(lags, 0.99) * 1000


def _row(name: str, r: dict[str, float]) -> str:
    return (
        f"{name:<22} {r['median_ms']:>9.2f} {r['cpu_ms']:>9.2f} {r['conc_wall_ms']:>10.1f}"
        f" {r['lag_p99_ms']:>10.2f}"
    )


async def main_async(host: str) -> None:
    sock = host.removeprefix("unix://")
    pow_client = DockerClient(host=host)
    cid = pow_client.run(
        IMAGE,
        ["sleep", "600"],
        detach=True,
        labels={"org.operator-core.test": "1", "org.operator-core.bench": "compare"},
    ).id
    sdk = docker.DockerClient(base_url=host, version="auto")
    adocker = aiodocker.Docker(url=host)
    raw = aiohttp.ClientSession(connector=aiohttp.UnixConnector(path=sock))
    loop = asyncio.get_running_loop()
    try:

        async def raw_inspect(c: str) -> object:
            async with raw.get(f"http://docker/v1.41/containers/{c}/json") as resp:
                return await resp.json()

        async def aiodocker_inspect(c: str) -> object:
            return await adocker._query_json(f"containers/{c}/json")

        async def sdk_inspect(c: str) -> object:
            return await loop.run_in_executor(None, sdk.api.inspect_container, c)

        async def pow_inspect(c: str) -> object:
            return await loop.run_in_executor(None, pow_client.container.inspect, c)

        print(f"engine {host}; {ROUNDS} sequential inspects, then 5 x {CONCURRENT} concurrent")
        idle = await _idle_lag()
        print(f"idle event loop (no request): lag p99 {idle:.2f} ms (the machine's floor)")
        print(
            f"{'client':<22} {'median ms':>9} {'CPU ms':>9} {'20 conc ms':>10} {'lag p99 ms':>10}"
        )
        for name, fn, rounds in (
            ("raw API (aiohttp)", raw_inspect, ROUNDS),
            ("aiodocker", aiodocker_inspect, ROUNDS),
            ("docker SDK (thread)", sdk_inspect, ROUNDS),
            ("python-on-whales CLI", pow_inspect, 30),
        ):
            print(_row(name, await _measure_inspect(name, fn, cid, rounds)), flush=True)
        await _streams(adocker, sdk, host)
        await _cancellation(adocker, sdk, pow_client, cid)
    finally:
        await raw.close()
        await adocker.close()
        sdk.close()
        pow_client.container.remove(cid, force=True)


async def _streams(adocker: aiodocker.Docker, sdk: docker.DockerClient, host: str) -> None:
    """Memory per open event stream: RSS of the process tree with STREAMS open, minus none."""
    me = os.getpid()
    print(f"\nmemory per event stream ({STREAMS} open; RSS of this process and its children)")
    base = _tree_rss_kb(me)
    # Each its own request and connection (aiodocker's events.subscribe() shares one).
    async with contextlib.AsyncExitStack() as streams:
        for _ in range(STREAMS):
            await streams.enter_async_context(adocker._query("events", timeout=None))
        await asyncio.sleep(1.0)
        print(f"  aiodocker:            {(_tree_rss_kb(me) - base) / STREAMS:8.0f} kB per stream")
    base = _tree_rss_kb(me)
    gens = [sdk.events(decode=True) for _ in range(STREAMS)]
    stops: list[threading.Thread] = []
    for gen in gens:
        thread = threading.Thread(target=lambda g=gen: next(iter(g), None), daemon=True)
        thread.start()
        stops.append(thread)
    await asyncio.sleep(1.0)
    print(f"  docker SDK (threads): {(_tree_rss_kb(me) - base) / STREAMS:8.0f} kB per stream")
    for gen in gens:
        gen.close()
    base = _tree_rss_kb(me)
    procs = [
        # A measurement: the processes' own memory is what is measured.
        subprocess.Popen(["docker", "-H", host, "events"], stdout=subprocess.DEVNULL)  # noqa: ASYNC220
        for _ in range(STREAMS)
    ]
    await asyncio.sleep(1.5)
    print(f"  docker CLI processes: {(_tree_rss_kb(me) - base) / STREAMS:8.0f} kB per stream")
    for proc in procs:
        proc.terminate()
        proc.wait()


async def _cancellation(
    adocker: aiodocker.Docker, sdk: docker.DockerClient, pow_client: DockerClient, cid: str
) -> None:
    """Cancel a request that blocks (wait on a running container) after 100 ms."""
    print("\ncancellation of a blocking request (POST /containers/ID/wait) after 100 ms")
    pool = concurrent.futures.ThreadPoolExecutor(4)
    held: list[concurrent.futures.Future[Any]] = []

    def in_thread(fn: Callable[[], Any]) -> Awaitable[Any]:
        held.append(pool.submit(fn))
        return asyncio.wrap_future(held[-1])

    cases: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("aiodocker", lambda: adocker._query_json(f"containers/{cid}/wait", method="POST")),
        ("docker SDK (thread)", lambda: in_thread(lambda: sdk.api.wait(cid))),
        ("python-on-whales CLI", lambda: in_thread(lambda: pow_client.wait(cid))),
    ]
    for name, start in cases:
        held.clear()
        task = asyncio.ensure_future(start())
        await asyncio.sleep(0.1)
        t0 = time.perf_counter()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        back = (time.perf_counter() - t0) * 1000
        await asyncio.sleep(0.2)
        left = sum(1 for f in held if f.running())
        print(f"  {name:<22} control back in {back:6.1f} ms; worker threads still blocked: {left}")
    pool.shutdown(wait=False)


def main() -> None:
    """Run the comparison against ``--host`` and print it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="unix:///var/run/docker.sock")
    args = parser.parse_args()
    versions = (aiodocker.__version__, docker.__version__, aiohttp.__version__)
    print("aiodocker {}, docker {}, aiohttp {}".format(*versions))
    asyncio.run(main_async(args.host))
    os._exit(0)  # the SDK's and the CLI's blocked worker threads would hold the exit


if __name__ == "__main__":
    main()
