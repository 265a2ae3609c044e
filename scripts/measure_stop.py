"""Measure stop times and docker-process counts of the lifecycle actions on the local engine.

Prints, side by side in one run:
* ``stop_container(timeout=1)`` on a SIGTERM-ignoring container versus python-on-whales'
  own ``container.stop(time=1)`` (which 0.81 silently turns into the engine's 10 s);
* ``stop_container`` on a container that handles SIGTERM;
* the docker processes each lifecycle action starts.

Run: ``.venv/bin/python scripts/measure_stop.py`` (after ``scripts/setup-engine.sh``).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

from python_on_whales import docker

from operator_core.docker import DockerActionExecutor
from operator_core.testing import (
    HANDLES_SIGTERM,
    IGNORES_SIGTERM,
    TEST_IMAGE,
    TEST_LABEL,
    count_docker_processes,
    unique_name,
)

__all__ = ["main"]

ROUNDS = 3


def _container(command: tuple[str, ...]) -> str:
    """Start a throwaway container running ``command``; return its name."""
    name = unique_name("opc-measure")
    docker.run(TEST_IMAGE, list(command), name=name, detach=True, labels={TEST_LABEL: "measure"})
    return name


async def _timed(call: Awaitable[Any]) -> float:
    """Return how long awaiting ``call`` took, in seconds."""
    began = time.monotonic()
    await call
    return time.monotonic() - began


async def _stop_times(executor: DockerActionExecutor) -> dict[str, list[float]]:
    """Time each kind of stop ROUNDS times on fresh containers."""
    times: dict[str, list[float]] = {"ignores, ours": [], "ignores, p-o-w": [], "handles": []}
    loop = asyncio.get_running_loop()
    for _ in range(ROUNDS):
        ignores, ignores_too, handles = (
            _container(IGNORES_SIGTERM),
            _container(IGNORES_SIGTERM),
            _container(HANDLES_SIGTERM),
        )
        try:
            times["ignores, ours"].append(await _timed(executor.stop_container(ignores, timeout=1)))
            pow_stop = loop.run_in_executor(None, partial(docker.stop, ignores_too, time=1))
            times["ignores, p-o-w"].append(await _timed(pow_stop))
            times["handles"].append(await _timed(executor.stop_container(handles, timeout=10)))
        finally:
            docker.remove([ignores, ignores_too, handles], force=True)
    return times


async def _process_counts(executor: DockerActionExecutor) -> dict[str, int]:
    """Count the docker processes of each lifecycle action on one container."""
    name = _container(HANDLES_SIGTERM)
    steps: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("inspect_container", lambda: executor.inspect_container(name)),
        ("start_container (already running)", lambda: executor.start_container(name)),
        ("stop_container", lambda: executor.stop_container(name, timeout=5)),
        ("stop_container (already stopped)", lambda: executor.stop_container(name, timeout=5)),
        ("start_container", lambda: executor.start_container(name)),
        ("restart_container", lambda: executor.restart_container(name, timeout=5)),
    ]
    counts = {}
    try:
        for label, call in steps:
            with count_docker_processes() as seen:
                await call()
            counts[label] = seen.count
    finally:
        docker.remove(name, force=True)
    return counts


async def main() -> None:
    """Print the figures."""
    executor = DockerActionExecutor()
    times = await _stop_times(executor)
    print(f"stop times over {ROUNDS} rounds (median, min-max), seconds:")
    for label, values in times.items():
        print(
            f"  {label:16s} {statistics.median(values):6.2f}  ({min(values):.2f}-{max(values):.2f})"
        )
    ratio = statistics.median(times["ignores, p-o-w"]) / statistics.median(times["ignores, ours"])
    print(
        f"  python-on-whales stop(time=1) takes {ratio:.1f}x as long as stop_container(timeout=1)"
    )
    print("docker processes per action:")
    for label, count in (await _process_counts(executor)).items():
        print(f"  {label:36s} {count}")


if __name__ == "__main__":
    asyncio.run(main())
