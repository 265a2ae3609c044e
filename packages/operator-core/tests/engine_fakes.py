"""A fake engine behind a real ``EngineClient``, for unit tests at the transport boundary.

Only aiodocker's ``Docker`` is replaced: every request still goes through the client's one
door (``_open``: the recorder, the deadline, ``translate_api``), and streams through its
own frame demultiplexing. ``answer(method, path, params, body)`` returns a ``Reply`` (or
raises aiodocker's ``DockerError``, as aiodocker does for an engine's refusal).
"""

from __future__ import annotations

import asyncio
import json
import struct
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

from aiodocker.exceptions import DockerError

from operator_core.docker._engine.api import EngineClient

__all__ = [
    "Answer",
    "Reply",
    "fake_client",
    "frame",
    "refused",
    "reply_json",
]


def refused(status: int, message: str) -> DockerError:
    """Return what aiodocker raises when the engine answers ``status`` with ``message``."""
    return DockerError(status, {"message": message})


def frame(stream: int, data: bytes) -> bytes:
    """Return ``data`` as one multiplexed frame of ``stream`` (1 stdout, 2 stderr)."""
    return struct.pack(">BxxxL", stream, len(data)) + data


@dataclass
class Reply:
    """A response body in ``chunks``; ``hang`` keeps the stream open after them."""

    chunks: list[bytes] = field(default_factory=list)
    hang: bool = False
    closed: bool = False

    @property
    def content(self) -> _Content:
        return _Content(self)

    async def read(self) -> bytes:
        return b"".join(self.chunks)

    def close(self) -> None:
        self.closed = True

    def release(self) -> None:
        self.closed = True


def reply_json(value: object) -> Reply:
    """Return a reply whose body is ``value`` as JSON."""
    return Reply([json.dumps(value).encode()])


class _Content:
    """The parts of aiohttp's ``StreamReader`` the client reads."""

    def __init__(self, reply: Reply) -> None:
        self._reply = reply
        self._buffer = bytearray()
        self._next = 0

    async def _more(self) -> bool:
        await asyncio.sleep(0)
        if self._next < len(self._reply.chunks):
            self._buffer += self._reply.chunks[self._next]
            self._next += 1
            return True
        if self._reply.hang:
            await asyncio.Event().wait()
        return False

    async def iter_any(self) -> AsyncIterator[bytes]:
        while self._buffer or await self._more():
            data = bytes(self._buffer)
            self._buffer.clear()
            yield data

    async def readexactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            if not await self._more():
                partial = bytes(self._buffer)
                self._buffer.clear()
                raise asyncio.IncompleteReadError(partial, size)
        data = bytes(self._buffer[:size])
        del self._buffer[:size]
        return data


Answer = Callable[[str, str, dict[str, str], object], Reply]


class _FakeDocker:
    """Stands in for ``aiodocker.Docker``: hands each request to ``answer``."""

    api_version = "v1.41"

    def __init__(self, answer: Answer, replies: list[Reply]) -> None:
        self._answer = answer
        self._replies = replies

    async def _do_query(
        self, path: str, method: str, *, params: dict[str, str], data: str | None, timeout: None
    ) -> Reply:
        await asyncio.sleep(0)
        body = None if data is None else json.loads(data)
        reply = self._answer(method, "/" + path, dict(params), body)
        self._replies.append(reply)
        return reply

    async def close(self) -> None:
        return None


def fake_client(answer: Answer) -> tuple[EngineClient, list[Reply]]:
    """Return an ``EngineClient`` whose engine is ``answer``, and the replies it gave."""
    client = EngineClient("unix:///fake/docker.sock")
    replies: list[Reply] = []
    fake = _FakeDocker(answer, replies)
    client._client = lambda: fake  # type: ignore[method-assign,assignment,return-value]
    return client, replies
