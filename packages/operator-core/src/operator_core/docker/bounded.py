"""Bounded calls on a docker client, for code outside the executor (the demo's scene).

``run_on_client`` is what every executor action does under the hood: the blocking work
runs in a worker thread, gives up with ``OperationTimeout`` past its deadline, and every
docker process it starts dies shortly after, so a wedged engine leaves nothing behind.
Failures arrive as ``operator_core.errors`` exceptions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from python_on_whales import DockerClient

from operator_core.docker._engine import cli as _engine

__all__ = ["run_on_client"]

T = TypeVar("T")


async def run_on_client(
    client: DockerClient, work: Callable[[DockerClient], T], *, deadline: float, what: str
) -> T:
    """Run ``work(bounded client)`` off the event loop within ``deadline`` seconds.

    ``what`` names the call in a timeout's message (``docker run web``).
    """
    bounded = _engine.bounded_client(client, deadline)
    return await _engine.run_bounded(lambda: work(bounded), deadline=deadline, what=what)
