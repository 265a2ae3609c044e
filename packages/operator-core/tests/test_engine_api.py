"""The Engine API transport (EngineClient) against a small fake engine on a unix socket.

The fake is an aiohttp server speaking the Engine API's shapes, so the real client's one
door is exercised: recording, version negotiation, error mapping, frames, deadlines.
"""

from __future__ import annotations

import asyncio
import struct
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from operator_core.docker._engine.api import EngineClient, _Demux
from operator_core.docker._engine.api_errors import translate_api
from operator_core.errors import (
    ContainerNotFound,
    ContainerStateError,
    EngineError,
    EngineUnreachable,
    NetworkNotFound,
    NotSwarmManager,
    OperationTimeout,
)
from operator_core.testing import record_requests


def frame(stream: int, data: bytes) -> bytes:
    """Return one multiplexed frame: the 8-byte header, then ``data``."""
    return struct.pack(">BxxxL", stream, len(data)) + data


class Engine:
    """What the fake engine saw: its connections closed, the versions asked for."""

    def __init__(self) -> None:
        self.paths: list[str] = []
        self.hang = asyncio.Event()
        self.stream_closed = asyncio.Event()


def _app(engine: Engine) -> web.Application:
    """Return the fake engine's routes."""

    async def version(request: web.Request) -> web.Response:
        engine.paths.append(request.path)
        return web.json_response({"ApiVersion": "1.41"})

    async def inspect(request: web.Request) -> web.Response:
        engine.paths.append(request.path)
        ref = request.match_info["ref"]
        if ref == "ghost":
            return web.json_response({"message": f"No such container: {ref}"}, status=404)
        return web.json_response({"Id": "abc", "Name": f"/{ref}"})

    async def conflict(request: web.Request) -> web.Response:
        return web.json_response({"message": "Container abc is not running"}, status=409)

    async def connect(request: web.Request) -> web.Response:
        return web.json_response({"message": "network nope not found"}, status=404)

    async def disconnect(request: web.Request) -> web.Response:
        return web.Response(text="OK")  # as Podman's compatible API answers an action

    async def services(request: web.Request) -> web.Response:
        message = 'This node is not a swarm manager. Use "docker swarm init".'
        return web.json_response({"message": message}, status=503)

    async def hang(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response()

    async def logs(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        await response.write(frame(1, b"out 1\n") + frame(2, b"err 1\n"))
        await response.write(frame(1, b"out 2\n"))
        if request.query.get("follow") == "1":
            # Keep writing until the client's side is gone (a write then fails).
            try:
                for _ in range(400):
                    await asyncio.sleep(0.05)
                    await response.write(frame(1, b"more\n"))
            except (ConnectionResetError, ConnectionError):
                engine.stream_closed.set()
        return response

    app = web.Application()
    app.router.add_get("/version", version)
    app.router.add_get("/v1.41/containers/{ref}/json", inspect)
    app.router.add_post("/v1.41/containers/{ref}/pause", conflict)
    app.router.add_post("/v1.41/networks/{ref}/connect", connect)
    app.router.add_post("/v1.41/networks/{ref}/disconnect", disconnect)
    app.router.add_get("/v1.41/services", services)
    app.router.add_get("/v1.41/hang", hang)
    app.router.add_get("/v1.41/containers/{ref}/logs", logs)
    return app


@pytest.fixture
async def fake(tmp_path: Path) -> AsyncIterator[tuple[EngineClient, Engine]]:
    """A client on a fake engine listening on a unix socket in ``tmp_path``."""
    engine = Engine()
    runner = web.AppRunner(_app(engine))
    await runner.setup()
    socket = tmp_path / "engine.sock"
    await web.UnixSite(runner, str(socket)).start()
    client = EngineClient(f"unix://{socket}")
    yield client, engine
    await client.close()
    await runner.cleanup()


async def test_every_request_is_recorded_and_the_version_negotiated_once(fake) -> None:
    """Requests are recorded as sent; the version is asked once and used for every path."""
    client, engine = fake
    with record_requests() as seen:
        await client.get_object("/containers/web/json", {"size": False})
        await client.get_object("/containers/db/json")
    assert [(r.method, r.path, r.params) for r in seen] == [
        ("GET", "/containers/web/json", {"size": "0"}),
        ("GET", "/containers/db/json", {}),
    ]
    assert engine.paths == ["/version", "/v1.41/containers/web/json", "/v1.41/containers/db/json"]
    assert client.api_version == "v1.41"


async def test_errors_are_mapped_at_the_boundary(fake) -> None:
    """404 names the path's object; 409 is a state error; 503 not a manager; connect's 404."""
    client, _ = fake
    with pytest.raises(ContainerNotFound, match="ghost"):
        await client.get_object("/containers/ghost/json")
    with pytest.raises(ContainerStateError, match="not running"):
        await client.post("/containers/web/pause")
    with pytest.raises(NetworkNotFound, match="nope"):
        await client.post("/networks/nope/connect", body={"Container": "web"})
    with pytest.raises(NotSwarmManager):
        await client.get("/services")


async def test_frames_come_apart_by_stream(fake) -> None:
    """The multiplexed body is split into stdout and stderr frames, in order."""
    client, _ = fake
    got = [item async for item in client.frames("GET", "/containers/web/logs")]
    assert got == [("stdout", b"out 1\n"), ("stderr", b"err 1\n"), ("stdout", b"out 2\n")]


async def test_a_deadline_ends_the_request_as_operation_timeout(fake) -> None:
    """A request past its deadline raises OperationTimeout, not a hang."""
    client, _ = fake
    with pytest.raises(OperationTimeout, match=r"within 0\.2s"):
        await client.get("/hang", deadline=0.2)


async def test_leaving_a_stream_closes_its_connection(fake) -> None:
    """Breaking out of a stream closes it: the engine sees its side of the stream end."""
    client, engine = fake
    stream = client.frames("GET", "/containers/web/logs", {"follow": True})
    async for _ in stream:
        break
    await stream.aclose()
    await asyncio.wait_for(engine.stream_closed.wait(), 10)


async def test_a_missing_socket_is_engine_unreachable(tmp_path: Path) -> None:
    """No engine at the socket: EngineUnreachable naming where it was looked for."""
    client = EngineClient(f"unix://{tmp_path}/none.sock")
    with pytest.raises(EngineUnreachable, match=r"none\.sock"):
        await client.get("/version")
    await client.close()


def test_translate_refuses_what_is_not_engine_side() -> None:
    """Our own bugs are not disguised: a KeyError is refused, not made an EngineError."""
    with pytest.raises(TypeError):
        translate_api(KeyError("x"), path="/containers/web/json")  # type: ignore[arg-type]
    assert isinstance(translate_api(OSError("broken pipe")), EngineError)


def test_frames_split_anywhere_come_apart_the_same() -> None:
    """Chunks cut inside a header or a payload give the same streams; a cut frame is an error."""
    body = frame(1, b"out 1\n") + frame(2, b"err 1\n") + frame(1, b"out 2\n")
    for size in (1, 3, 7, 8, 9, len(body)):
        demux = _Demux("logs")
        pieces = [p for at in range(0, len(body), size) for p in demux.feed(body[at : at + size])]
        demux.close()
        joined: dict[str, bytes] = {"stdout": b"", "stderr": b""}
        for stream, data in pieces:
            joined[stream] += data
        assert joined == {"stdout": b"out 1\nout 2\n", "stderr": b"err 1\n"}, size
    cut = _Demux("logs")
    cut.feed(body[:-2])
    with pytest.raises(EngineError, match="inside a frame"):
        cut.close()


async def test_an_action_answered_with_text_is_done_not_an_error(fake) -> None:
    """Podman answers a network disconnect with ``OK``: an action's status is its answer.

    A read's answer must still be JSON (a body that is not is an EngineError).
    """
    client, _ = fake
    assert await client.post("/networks/n/disconnect", body={}, answer=False) is None
    with pytest.raises(EngineError, match="not JSON"):
        await client.post("/networks/n/disconnect", body={})
