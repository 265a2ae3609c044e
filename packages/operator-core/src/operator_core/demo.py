"""A demonstration of the executor against the local engine, for a person watching.

Run with ``python -m operator_core.demo`` (the README's ``./dev demo``). It makes
throwaway containers of the local test image, acts on them and removes them.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Awaitable
from typing import Any

from python_on_whales import docker

from operator_core.docker import DockerActionExecutor
from operator_core.errors import OperatorError
from operator_core.testing import (
    HANDLES_SIGTERM,
    IGNORES_SIGTERM,
    TEST_IMAGE,
    TEST_LABEL,
    unique_name,
)

__all__ = ["main", "run_demo"]


async def _step(title: str, action: Awaitable[dict[str, Any]]) -> dict[str, Any]:
    """Run one action, print what it returned and how long it took."""
    print(f"\n== {title}")
    began = time.monotonic()
    result = await action
    print(json.dumps(result, indent=2))
    print(f"-- took {time.monotonic() - began:.2f}s")
    return result


async def run_demo() -> None:
    """Walk through inspect, stop, start and restart on two throwaway containers."""
    executor = DockerActionExecutor()
    polite, stubborn = unique_name("opc-demo-polite"), unique_name("opc-demo-stubborn")
    for name, command in ((polite, HANDLES_SIGTERM), (stubborn, IGNORES_SIGTERM)):
        docker.run(TEST_IMAGE, list(command), name=name, detach=True, labels={TEST_LABEL: "demo"})
    try:
        await _step(f"inspect {polite}", executor.inspect_container(polite))
        await _step(f"stop {polite} (handles SIGTERM)", executor.stop_container(polite, timeout=10))
        await _step(f"stop {polite} again (already stopped)", executor.stop_container(polite))
        await _step(f"start {polite}", executor.start_container(polite))
        await _step(f"restart {polite}", executor.restart_container(polite, timeout=5))
        await _step(
            f"stop {stubborn} (ignores SIGTERM) with timeout=1",
            executor.stop_container(stubborn, timeout=1),
        )
    finally:
        docker.remove([polite, stubborn], force=True, volumes=True)
        print(f"\nremoved {polite} and {stubborn}")


def main() -> int:
    """Run the demo; return a process exit code."""
    try:
        asyncio.run(run_demo())
    except OperatorError as exc:
        print(f"demo failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
