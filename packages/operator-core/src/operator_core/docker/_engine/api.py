"""``EngineClient``: one connection pool per engine, every request through one door.

The Engine API is spoken through aiodocker (aiohttp underneath): one ``aiodocker.Docker``
per client, opened on first use, its connector's pool reused by every call, the API
version negotiated once (``api_version="auto"``: the engine's own, 1.41 on Debian's
20.10; never a newer hard-coded one). ``close()`` closes the pool.

Every request passes through ``_open``, which

* records it (``recorder.note``) so tests can assert on what left, and "no request
  made" is checkable;
* bounds it by its deadline (``asyncio.timeout``): past it, or cancelled, the request is
  abandoned and its connection closed, never returned to the pool half-read; no thread
  or process is left behind;
* maps failures at one boundary (``api_errors.translate_api``); anything else propagates.

``stream`` yields a response's bytes as they come, ``frames`` the demultiplexed
``(stdout|stderr, bytes)`` frames of logs and exec output (raw bytes when the container
has a TTY), ``json_stream`` the objects of ``/events``; leaving any of them (a break,
an error, a cancel, the deadline) closes the response's connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
import struct
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Literal

import aiodocker
import aiohttp
from yarl import URL

from operator_core.docker._engine import recorder
from operator_core.docker._engine.api_errors import API_SIDE, translate_api
from operator_core.errors import EngineError, OperationTimeout

__all__ = [
    "DEFAULT_URL",
    "JSON",
    "EngineClient",
    "Params",
    "StreamName",
    "as_list",
    "as_object",
]

#: The engine reached when nothing else is said.
DEFAULT_URL = "unix:///var/run/docker.sock"
#: A JSON document as the engine sends it: an object or an array.
JSON = dict[str, object] | list[object]
#: Query parameters; a dict or list value goes as JSON (``filters``), a bool as 1/0.
Params = Mapping[str, str | int | bool | dict[str, list[str]] | list[str]]
StreamName = Literal["stdout", "stderr"]
_FRAME_HEADER = struct.Struct(">BxxxL")
_STREAMS: dict[int, StreamName] = {0: "stdout", 1: "stdout", 2: "stderr"}
_CHUNK = 64 * 1024


def as_object(value: object, what: str) -> dict[str, object]:
    """Return ``value`` as a JSON object, or an EngineError saying the engine sent another."""
    if not isinstance(value, dict):
        raise EngineError(f"the engine's answer to {what} was not a JSON object")
    return {str(key): item for key, item in value.items()}


def as_list(value: object, what: str) -> list[object]:
    """Return ``value`` as a JSON array, or an EngineError saying the engine sent another."""
    if not isinstance(value, list):
        raise EngineError(f"the engine's answer to {what} was not a JSON array")
    return list(value)


def _query(params: Params | None) -> dict[str, str]:
    """Return ``params`` as the strings the request carries (and the recorder keeps)."""
    out: dict[str, str] = {}
    for key, value in (params or {}).items():
        if isinstance(value, bool):
            out[key] = "1" if value else "0"
        elif isinstance(value, str):
            out[key] = value
        else:
            out[key] = json.dumps(value)
    return out


def _label(url: str) -> str:
    """Return ``url`` as it may be shown: without any user or password in it."""
    parsed = URL(url)
    return str(parsed.with_user(None)) if parsed.user or parsed.password else url


class EngineClient:
    """One engine's API client: a lazily opened, reused connection pool.

    ``url`` is ``unix:///path``, ``tcp://host:port``, ``http(s)://host:port`` (with
    ``ssl_context`` for TLS); ``context`` names a docker context to read it from instead;
    ``connector`` (optional) builds the aiohttp connector to reach it (TLS, a forwarded
    ssh socket): the seam an ``Endpoint`` plugs into. ``deadline`` bounds each request
    that is given none (None: only the caller's bound).
    """

    def __init__(
        self,
        url: str = DEFAULT_URL,
        *,
        label: str | None = None,
        connector: Callable[[], aiohttp.BaseConnector] | None = None,
        deadline: float | None = None,
        context: str | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.url = url
        self.label = label if label is not None else _label(url)
        if context is not None:
            self.label = label if label is not None else f"context {context}"
        self._context = context
        self._ssl = ssl_context
        self._connector = connector
        self._deadline = deadline
        self._docker: aiodocker.Docker | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._finalizer: weakref.finalize[..., EngineClient] = weakref.finalize(self, _nothing)

    def _client(self) -> aiodocker.Docker:
        """Return the pool for the running loop, opening it on first use (or a new loop).

        A client dropped without ``close`` closes its pool's sockets when it is collected.
        """
        loop = asyncio.get_running_loop()
        if self._docker is None or self._loop is not loop:
            self._abandon()
            connector = self._connector() if self._connector is not None else None
            self._docker = aiodocker.Docker(
                url=None if self._context else self.url,
                connector=connector,
                ssl_context=self._ssl,
                context=self._context,
            )
            self._loop = loop
            self._finalizer = weakref.finalize(self, _drop, self._docker)
        return self._docker

    def _abandon(self) -> None:
        """Drop a pool opened on another loop (a finished ``asyncio.run``), closing its sockets."""
        old, self._docker = self._docker, None
        if old is not None:
            self._finalizer.detach()
            _drop(old)

    async def close(self) -> None:
        """Close the pool; a later request opens a new one."""
        docker, self._docker = self._docker, None
        if docker is not None and self._loop is asyncio.get_running_loop():
            self._finalizer.detach()
            await docker.close()
            if self._connector is not None:
                # aiodocker leaves a connector it was handed open (TLS, an ssh bridge).
                await docker.connector.close()
        elif docker is not None:
            self._docker = docker
            self._abandon()

    @property
    def api_version(self) -> str | None:
        """The API version negotiated with the engine (``v1.41``), None before the first call."""
        version = self._docker.api_version if self._docker is not None else None
        return None if version in (None, "auto") else version

    @asynccontextmanager
    async def _open(
        self,
        method: str,
        path: str,
        params: Params | None,
        body: object | None,
        deadline: float | None,
    ) -> AsyncIterator[aiohttp.ClientResponse]:
        """The one door: record, bound, send, map errors; yield the response, then close it.

        A response left before its end (an error, a cancel, the deadline) is closed, its
        connection dropped rather than pooled.
        """
        query = _query(params)
        recorder.note(method, path, query)
        limit = self._deadline if deadline is None else deadline
        data = None if body is None else json.dumps(body)
        docker = self._client()
        try:
            async with asyncio.timeout(limit):
                response = await docker._do_query(
                    path.lstrip("/"), method, params=query, data=data, timeout=None
                )
                try:
                    yield response
                except BaseException:
                    response.close()
                    raise
                response.release()
        except TimeoutError as exc:
            raise OperationTimeout(
                f"the engine did not answer {method} {path} within {limit:g}s"
            ) from exc
        except API_SIDE as exc:
            raise translate_api(exc, path=path, label=self.label) from exc

    async def request(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: object | None = None,
        *,
        deadline: float | None = None,
        answer: bool = True,
    ) -> JSON | None:
        """Send one request; return its JSON answer, or None when it had no body.

        ``answer=False``: an action whose status is its answer; the body is read and left
        (Docker sends none, Podman's compatible API an ``OK``).
        """
        async with self._open(method, path, params, body, deadline) as response:
            raw = await response.read()
        if not answer or not raw.strip():
            return None
        try:
            loaded = json.loads(raw)
        except ValueError as exc:
            raise EngineError(f"the engine's answer to {method} {path} was not JSON") from exc
        if not isinstance(loaded, dict | list):
            raise EngineError(f"the engine's answer to {method} {path} was not a JSON document")
        return loaded

    async def get(
        self, path: str, params: Params | None = None, *, deadline: float | None = None
    ) -> JSON:
        """GET ``path``; return its JSON answer."""
        found = await self.request("GET", path, params, deadline=deadline)
        if found is None:
            raise EngineError(f"the engine's answer to GET {path} was empty")
        return found

    async def get_object(self, path: str, params: Params | None = None) -> dict[str, object]:
        """GET ``path``, an object (an inspect)."""
        return as_object(await self.get(path, params), f"GET {path}")

    async def get_list(self, path: str, params: Params | None = None) -> list[object]:
        """GET ``path``, an array (a listing)."""
        return as_list(await self.get(path, params), f"GET {path}")

    async def post(
        self,
        path: str,
        params: Params | None = None,
        body: object | None = None,
        *,
        deadline: float | None = None,
        answer: bool = True,
    ) -> JSON | None:
        """POST ``path`` (with a JSON ``body``); return its JSON answer, if any.

        ``answer=False`` for an action whose status is all it says (see ``request``).
        """
        return await self.request("POST", path, params, body, deadline=deadline, answer=answer)

    async def delete(self, path: str, params: Params | None = None) -> None:
        """DELETE ``path``."""
        await self.request("DELETE", path, params)

    async def stream(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: object | None = None,
        *,
        deadline: float | None = None,
    ) -> AsyncGenerator[bytes, None]:
        """Yield the response's body in chunks as they arrive; leaving closes it."""
        async with self._open(method, path, params, body, deadline) as response:
            async for chunk in response.content.iter_any():
                yield chunk

    async def frames(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        body: object | None = None,
        *,
        tty: bool = False,
        deadline: float | None = None,
    ) -> AsyncGenerator[tuple[StreamName, bytes], None]:
        """Yield ``(stream, bytes)`` from a multiplexed body (8-byte headers), or raw if ``tty``.

        A TTY's output is one stream, given as ``stdout``.
        """
        async with self._open(method, path, params, body, deadline) as response:
            content = response.content
            if tty:
                async for chunk in content.iter_any():
                    yield "stdout", chunk
                return
            frames = _Demux(path)
            async for chunk in content.iter_any():
                for piece in frames.feed(chunk):
                    yield piece
            frames.close()

    async def json_stream(
        self,
        method: str,
        path: str,
        params: Params | None = None,
        *,
        deadline: float | None = None,
    ) -> AsyncGenerator[dict[str, object], None]:
        """Yield each JSON object of a line-delimited stream (``/events``)."""
        async with self._open(method, path, params, None, deadline) as response:
            async for line in response.content:
                if line.strip():
                    yield as_object(json.loads(line), f"{method} {path}")


class _Demux:
    """Split a multiplexed body (8-byte header: stream, 0, 0, 0, length) into its streams.

    Works on the chunks as they arrive, whatever their size; consecutive frames of one
    stream within a chunk come out joined, so a tail of ten thousand short lines costs a
    few dozen pieces, not ten thousand.
    """

    def __init__(self, what: str) -> None:
        self._what = what
        self._header = bytearray()
        self._left = 0
        self._stream: StreamName = "stdout"

    def feed(self, chunk: bytes) -> list[tuple[StreamName, bytes]]:
        """Return the payload pieces ``chunk`` completes or continues, by stream."""
        out: list[tuple[StreamName, bytes]] = []
        view, at = memoryview(chunk), 0
        while at < len(view):
            if self._left == 0:
                taken = view[at : at + _FRAME_HEADER.size - len(self._header)]
                self._header += taken
                at += len(taken)
                if len(self._header) == _FRAME_HEADER.size:
                    kind, self._left = _FRAME_HEADER.unpack(self._header)
                    self._stream = _STREAMS.get(kind, "stdout")
                    self._header.clear()
                continue
            piece = bytes(view[at : at + self._left])
            at += len(piece)
            self._left -= len(piece)
            if out and out[-1][0] == self._stream:
                out[-1] = (self._stream, out[-1][1] + piece)
            else:
                out.append((self._stream, piece))
        return out

    def close(self) -> None:
        """Check the body did not end inside a frame."""
        if self._header or self._left:
            raise EngineError(f"{self._what}: the stream ended inside a frame")


def _nothing() -> None:
    """The finalizer of a client that opened no pool."""


def _drop(docker: aiodocker.Docker) -> None:
    """Close ``docker``'s sockets without awaiting (its loop may be finished or closed).

    The session is detached from its connector (nothing left to warn about) and the
    connector closed synchronously; on a closed loop the sockets go with the objects.
    """
    connector = docker.session.connector
    docker.session.detach()
    if connector is not None and not connector.closed:
        with contextlib.suppress(RuntimeError):  # its loop is closed: nothing to schedule on
            connector._close()
