"""Keep mutating actions apart: one at a time per container, a bounded number overall."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

__all__ = ["ActionGate"]


class ActionGate:
    """A per-container lock (keyed by the resolved container id) and an overall semaphore.

    The container's lock is taken first, so calls queued behind one container do not hold
    slots of the overall bound. Locks are dropped once nobody holds or waits for them.
    """

    def __init__(self, max_concurrent: int) -> None:
        self._semaphore = asyncio.Semaphore(max_concurrent)
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}

    @asynccontextmanager
    async def hold(self, container_id: str) -> AsyncIterator[None]:
        """Hold ``container_id``'s lock and one overall slot for the block."""
        lock, users = self._locks.get(container_id, (asyncio.Lock(), 0))
        self._locks[container_id] = (lock, users + 1)
        try:
            async with lock, self._semaphore:
                yield
        finally:
            lock, users = self._locks[container_id]
            if users <= 1:
                del self._locks[container_id]
            else:
                self._locks[container_id] = (lock, users - 1)

    def busy(self, container_id: str) -> bool:
        """Whether an action on ``container_id`` holds or waits for its lock."""
        return container_id in self._locks
