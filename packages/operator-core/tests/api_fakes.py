"""A fake Engine API client for unit tests: containers as JSON, every request recorded.

``FakeApi`` is an ``EngineClient`` whose requests never leave the process: ``request`` and
``frames`` answer from ``containers`` (inspect documents by name and id), after noting the
request to the active ``record_requests()`` like the real client. Tests set a container's
state, add answers for a route with ``on``, and assert on ``requests``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable

from operator_core.docker._engine import recorder
from operator_core.docker._engine.api import JSON, EngineClient, Params, StreamName, _query
from operator_core.errors import ContainerNotFound

__all__ = ["CID", "FakeApi", "inspect_json"]

CID = "0123456789ab" * 5 + "cdef"

Handler = Callable[[str, str, dict[str, str], object], JSON | None]


def inspect_json(
    *,
    id: str = CID,
    name: str = "web",
    status: str = "running",
    exit_code: int = 0,
    started_at: str = "2026-11-29T10:00:00.000000000Z",
    finished_at: str = "0001-01-01T00:00:00Z",
    oom_killed: bool = False,
    health: str | None = None,
    labels: dict[str, str] | None = None,
    networks: tuple[str, ...] = ("bridge",),
    stop_signal: str | None = None,
    tty: bool = False,
) -> dict[str, object]:
    """Return what ``GET /containers/{id}/json`` says of a container in this state."""
    state: dict[str, object] = {
        "Status": status,
        "Running": status in ("running", "paused", "restarting"),
        "Paused": status == "paused",
        "Restarting": status == "restarting",
        "OOMKilled": oom_killed,
        "ExitCode": exit_code,
        "StartedAt": started_at,
        "FinishedAt": finished_at,
    }
    if health is not None:
        state["Health"] = {"Status": health}
    config: dict[str, object] = {
        "Image": "operator-core/busybox:test",
        "Labels": labels,
        "Tty": tty,
    }
    if stop_signal is not None:
        config["StopSignal"] = stop_signal
    return {
        "Id": id,
        "Name": f"/{name}",
        "State": state,
        "Config": config,
        "RestartCount": 0,
        "HostConfig": {"RestartPolicy": {"Name": "no"}},
        "NetworkSettings": {"Networks": {net: {"NetworkID": f"id-{net}"} for net in networks}},
    }


class FakeApi(EngineClient):
    """An EngineClient answering from memory; ``on(method, path_suffix, handler)`` overrides."""

    def __init__(self) -> None:
        super().__init__("unix:///fake.sock")
        self.containers: dict[str, dict[str, object]] = {}
        self.routes: list[tuple[str, str, Handler]] = []
        self.requests: list[recorder.Request] = []
        self.frames_of: dict[str, list[tuple[StreamName, bytes]]] = {}
        #: Streams (by path suffix) that never end after their frames, like a hung command.
        self.hanging: set[str] = set()

    def add(self, doc: dict[str, object]) -> dict[str, object]:
        """Hold ``doc`` (an inspect), found by its id and its name."""
        self.containers[str(doc["Id"])] = doc
        self.containers[str(doc["Name"]).lstrip("/")] = doc
        return doc

    def on(self, method: str, suffix: str, handler: Handler) -> None:
        """Answer ``method`` on a path ending in ``suffix`` with ``handler(method, path, ...)``."""
        self.routes.insert(0, (method, suffix, handler))

    def _note(self, method: str, path: str, params: Params | None) -> dict[str, str]:
        """Record the request as the real client's door does."""
        query = _query(params)
        recorder.note(method, path, query)
        self.requests.append(recorder.Request(method, path, query))
        return query

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
        """Answer from a route added with ``on``, else from ``containers``."""
        query = self._note(method, path, params)
        for verb, suffix, handler in self.routes:
            if verb == method and path.endswith(suffix):
                return handler(method, path, query, body)
        parts = path.strip("/").split("/")
        if method == "GET" and parts[0] == "containers" and parts[-1] == "json" and len(parts) == 3:
            if parts[1] not in self.containers:
                raise ContainerNotFound(parts[1])
            return self.containers[parts[1]]
        if method == "POST" and parts[0] == "containers" and len(parts) == 3:
            return None
        raise AssertionError(f"unexpected request {method} {path}")

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
        """Yield the frames set in ``frames_of`` for a path ending in its key."""
        self._note(method, path, params)
        for suffix, frames in self.frames_of.items():
            if path.endswith(suffix):
                for frame in frames:
                    yield frame
                if suffix in self.hanging:
                    await asyncio.Event().wait()
                return
        raise AssertionError(f"unexpected stream {method} {path}")
