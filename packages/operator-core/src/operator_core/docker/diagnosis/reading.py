"""Read an Engine API stream within byte and time bounds, handing it to bounded sinks.

The API counterpart of the CLI transport's ``capture``: ``pump`` takes the
``(stream, bytes)`` pieces of a response (``EngineClient.frames``, or ``stream`` given as
``stdout``), feeds each to its stream's sink and stops, closing the response, when the
deadline passes, ``max_read`` bytes came or ``cancel`` is set. Nothing is left running:
closing the response closes its connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

from operator_core.docker._engine.capture import Sink
from operator_core.errors import OperationTimeout

__all__ = ["Pumped", "as_stdout", "close_stream", "pump"]


@contextlib.asynccontextmanager
async def _closing(stream: AsyncIterator[object]) -> AsyncIterator[None]:
    """Close ``stream`` when the block is left, however it is left."""
    try:
        yield
    finally:
        await close_stream(stream)


@dataclass(frozen=True)
class Pumped:
    """How a read ended, and the bytes read.

    ``stopped`` is None when the stream ended, else ``deadline``, ``read_cap`` or
    ``cancelled``.
    """

    stopped: str | None
    bytes_read: int


async def close_stream(stream: AsyncIterator[object]) -> None:
    """Close a response stream (an async generator of ``EngineClient``) left before its end."""
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()


async def as_stdout(chunks: AsyncIterator[bytes]) -> AsyncIterator[tuple[str, bytes]]:
    """Yield a plain byte stream's chunks as ``stdout`` pieces (closing it when left)."""
    try:
        async for chunk in chunks:
            yield "stdout", chunk
    finally:
        await close_stream(chunks)


async def pump(
    pieces: AsyncIterator[tuple[str, bytes]],
    sinks: Mapping[str, Sink],
    *,
    deadline_at: float,
    max_read: int,
    cancel: threading.Event | None = None,
) -> Pumped:
    """Feed ``pieces`` to ``sinks`` by stream until their end or a bound; close every sink.

    ``deadline_at`` is on the event loop's clock (``loop.time()``, monotonic). A piece of a
    stream with no sink is read and dropped. The engine's own timeout of the request
    (``OperationTimeout``) is the deadline too: what came until then is kept.
    """
    total, stopped = 0, None
    try:
        async with asyncio.timeout_at(deadline_at), _closing(pieces):
            async for name, data in pieces:
                if cancel is not None and cancel.is_set():
                    stopped = "cancelled"
                    break
                taken = data[: max(0, max_read - total)]
                total += len(taken)
                sink = sinks.get(name)
                if sink is not None and taken:
                    sink.feed(taken)
                if len(taken) < len(data) or total >= max_read:
                    stopped = "read_cap"
                    break
    except (TimeoutError, OperationTimeout):
        stopped = "deadline"
    for sink in sinks.values():
        sink.close()
    return Pumped(stopped, total)
