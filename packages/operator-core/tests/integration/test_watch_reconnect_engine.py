"""The watch across an engine restart, on the lab's spare engine (no other test uses it)."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from pathlib import Path
from typing import Any

import pytest
from lab_helpers import spare_engine_url
from python_on_whales import DockerClient

from operator_core.docker import DockerActionExecutor
from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name
from operator_core.watch import watch

LAB = Path(__file__).resolve().parents[4] / "scripts" / "lab.sh"
#: The watch's first backoff: long enough that the container below exits while it waits.
BACKOFF_S = 6.0


@pytest.fixture(scope="module")
def spare(request: pytest.FixtureRequest) -> DockerClient:
    """The lab's spare engine (scripts/lab.sh spare), which this test alone restarts."""
    return DockerClient(host=spare_engine_url(request.config, 99))


def _run(client: DockerClient, *command: str) -> str:
    """Start a detached container of the test image on ``client``; return its name."""
    name = unique_name()
    client.run(TEST_IMAGE, list(command), name=name, detach=True, labels={TEST_LABEL: "1"})
    return name


async def test_watch_reconnects_after_a_restart_and_loses_no_incident(spare):
    """Dockerd restarts: the watch says so, reconnects, and replays the death it missed.

    The container exits 5 while the watch is still backing off, so its incident can only
    come from the replay (--since the last event seen).
    """
    executor = DockerActionExecutor(spare)
    items: list[dict[str, Any]] = []
    made: list[str] = []
    missed: list[str] = []

    async def follow() -> None:
        async with contextlib.aclosing(
            watch(executor, backoff_s=BACKOFF_S, backoff_max_s=BACKOFF_S)
        ) as stream:
            async for item in stream:
                items.append(dict(item))
                if item["kind"] == "connected":
                    made.append(await asyncio.to_thread(_run, spare, "sleep", "300"))
                    await asyncio.to_thread(
                        subprocess.run, ["bash", str(LAB), "restart", "99"], check=True, timeout=120
                    )
                    missed.append(await asyncio.to_thread(_run, spare, "sh", "-c", "exit 5"))
                if item["kind"] == "died" and item["name"] in missed:
                    return

    try:
        await asyncio.wait_for(follow(), timeout=120)
    finally:
        names = [*made, *missed]
        if names:
            await asyncio.to_thread(spare.remove, names, force=True)
    kinds = [item["kind"] for item in items]
    assert kinds[0] == "connected"
    assert "disconnected" in kinds
    reconnected = kinds.index("reconnected")
    died = next(i for i, item in enumerate(items) if item.get("name") in missed)
    assert died > reconnected
    assert items[died]["exit_code"] == 5
    assert items[died]["time"] < items[reconnected]["time"]  # it happened during the outage
