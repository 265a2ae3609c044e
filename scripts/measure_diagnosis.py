"""Measure the diagnosis reads and the watch on the local engine, and print the figures.

* ``get_events`` over the last 10 minutes, ``container_stats`` of 50 containers and
  ``search_logs`` across 20 containers holding 100 MB of logs in all: time, docker
  processes started and this process's peak Python memory (tracemalloc) for each;
* the watch: CPU used by this process while it follows an idle engine with 200
  containers (``--idle-s``, default 300 s), and the delay from each of 20 container
  deaths (the engine's event time) to the incident in hand, median and p95.

Run: ``.venv/bin/python scripts/measure_diagnosis.py [--idle-s 300] [--reads-only]`` (after
``scripts/setup-engine.sh``). It makes its containers with a label of its own and removes
them at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from operator_core.docker import DockerActionExecutor
from operator_core.testing import TEST_IMAGE, count_docker_processes, unique_name
from operator_core.watch import watch

__all__ = ["main"]

LABEL = "org.operator-core.measure=diagnosis"
LOG_LINE = "2026-11-29 request served in 12ms by worker 7 for /api/items?page=3"


def _run(*command: str, count: int = 1, detach: bool = True) -> list[str]:
    """Start ``count`` containers of the test image running ``command``; return their names."""
    names = [unique_name("opc-measure") for _ in range(count)]
    for name in names:
        subprocess.run(
            ["docker", "run", *(["-d"] if detach else []), "--name", name, "--label", LABEL,
             TEST_IMAGE, *command],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
    return names


def _remove_all() -> None:
    ids = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={LABEL}"],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout.split()  # fmt: skip
    for start in range(0, len(ids), 50):
        subprocess.run(["docker", "rm", "-f", *ids[start : start + 50]], capture_output=True)


async def _measure(what: str, call: Callable[[], Awaitable[Any]]) -> Any:
    """Run ``call`` once; print its time, docker processes and peak traced memory."""
    tracemalloc.start()
    with count_docker_processes() as processes:
        began = time.monotonic()
        result = await call()
        took = time.monotonic() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"{what:<44} {took:7.2f} s  {processes.count:3d} docker  {peak / 2**20:7.1f} MiB peak")
    return result


async def _reads(executor: DockerActionExecutor) -> None:
    print("== reads ==")
    stats_targets = _run("sleep", "3600", count=50)
    per_container = 100 * 10**6 // 20
    writer = f'yes "{LOG_LINE}" | head -c {per_container}; echo "FATAL: disk full"; sleep 3600'
    writers = _run("sh", "-c", writer, count=20)
    await asyncio.sleep(5)  # the writers finish their 5 MB long before this
    events = await _measure("get_events (10m, all kinds)", lambda: executor.get_events("10m"))
    print(f"  {events['count']} events, truncated={events['truncated']}")
    await _measure(
        "container_stats of 50 containers", lambda: executor.container_stats(stats_targets)
    )
    for round_ in (1, 2):  # twice, alternating, so neither side gets only a warm page cache
        found = await _measure(
            f"search_logs across 20 containers, 100 MB ({round_})",
            lambda: executor.search_logs("FATAL", refs=writers, tail=10**6),
        )
        read = sum(c["lines_read"] for c in found["containers"])
        print(f"  {found['match_count']} matches, {read} lines, truncated={found['truncated']}")
        baseline = await asyncio.to_thread(_grep_each, writers)
        print(f"{f'baseline: docker logs | grep, in a row ({round_})':<44} {baseline:7.2f} s")


def _grep_each(names: list[str]) -> float:
    """Time the same reads as a shell would do them, one after another."""
    began = time.monotonic()
    for name in names:
        subprocess.run(
            ["sh", "-c", f"docker logs --timestamps {name} 2>&1 | grep -c FATAL"],
            capture_output=True, check=False, timeout=300,
        )  # fmt: skip
    return time.monotonic() - began


def _kill_each(names: list[str]) -> None:
    """SIGKILL each container, one after another (in a worker thread)."""
    for name in names:
        subprocess.run(["docker", "kill", name], capture_output=True, check=True, timeout=60)
        time.sleep(0.2)


async def _watch_figures(executor: DockerActionExecutor, idle_s: float) -> None:
    print("== watch ==")
    _run("sleep", "3600", count=200 - 70)  # with the 70 above: 200 containers
    delays: list[float] = []
    victims = _run("sleep", "3600", count=20)
    killing: list[asyncio.Task[None]] = []

    async def idle_then_kill() -> None:
        cpu_before, wall_before = time.process_time(), time.monotonic()
        await asyncio.sleep(idle_s)
        cpu = time.process_time() - cpu_before
        wall = time.monotonic() - wall_before
        print(f"idle watch, 200 containers, {wall:.0f} s: CPU {cpu:.2f} s "
              f"= {100 * cpu / wall:.3f}% of one core")  # fmt: skip
        await asyncio.to_thread(_kill_each, victims)

    async def follow() -> None:
        async with contextlib.aclosing(watch(executor)) as stream:
            async for item in stream:
                if item["kind"] == "connected":
                    killing.append(asyncio.create_task(idle_then_kill()))
                elif item["kind"] == "died" and item["name"] in victims:
                    event_at = datetime.fromisoformat(item["time"]).timestamp()
                    delays.append(datetime.now(UTC).timestamp() - event_at)
                    if len(delays) == len(victims):
                        return

    await asyncio.wait_for(follow(), timeout=idle_s + 300)
    delays.sort()
    p95 = delays[max(0, round(0.95 * len(delays)) - 1)]
    print(f"event -> incident delay over {len(delays)} deaths: median "
          f"{statistics.median(delays) * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, "
          f"max {delays[-1] * 1000:.0f} ms")  # fmt: skip


async def main() -> None:
    """Print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-s", type=float, default=300.0)
    parser.add_argument("--reads-only", action="store_true", help="Skip the watch figures.")
    args = parser.parse_args()
    executor = DockerActionExecutor(call_deadline=120)
    try:
        await _reads(executor)
        if not args.reads_only:
            await _watch_figures(executor, args.idle_s)
    finally:
        _remove_all()


if __name__ == "__main__":
    asyncio.run(main())
