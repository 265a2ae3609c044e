"""A fake DockerActionExecutor and clock for the tool-layer unit tests (no engine)."""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from operator_core.errors import ContainerNotFound, ContainerStateError


def container_id(name: str) -> str:
    """Return a stable 64-hex id for a fake container name."""
    return hashlib.sha256(name.encode()).hexdigest()


class FakeClock:
    """A monotonic clock tests move by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeExecutor:
    """Has every executor method the tools call; keeps containers as dicts; logs calls.

    ``delay`` makes mutating methods sleep (to test locks and bounds); ``events`` records
    ("enter"/"exit", method, container id) around each mutating call. ``detached`` makes
    a mutating call carry on when its caller is cancelled, as the real executor's does
    (its docker process runs in a worker thread that cancellation cannot stop).
    ``outlasts`` (with ``detached``) makes a cancelled mutating call wait for that work to
    end before it raises ``CancelledError``, as the executor's ``run_bounded`` waits for
    its worker thread.
    """

    def __init__(
        self, *names: str, delay: float = 0.0, detached: bool = False, outlasts: bool = False
    ) -> None:
        self.containers: dict[str, dict[str, Any]] = {}
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.events: list[tuple[str, str, str]] = []
        self.delay = delay
        self.detached = detached
        self.outlasts = outlasts
        #: When set, mutating calls wait for this event instead of sleeping ``delay``.
        self.hold: asyncio.Event | None = None
        #: Set when a mutating call has started its work.
        self.entered = asyncio.Event()
        self.background: set[asyncio.Task[dict[str, Any]]] = set()
        self.running_now = 0
        self.max_running = 0
        for name in names:
            self.add(name)

    def add(self, name: str, labels: dict[str, str] | None = None, status: str = "running") -> str:
        cid = container_id(name)
        self.containers[cid] = {
            "id": cid,
            "name": name,
            "image": "operator-core/busybox:test",
            "labels": dict(labels or {}),
            "status": status,
            "health": None,
            "restart_count": 0,
            "networks": ["bridge"],
            "started_at": "2026-01-01T00:00:00+00:00",
        }
        return cid

    def find(self, ref: str) -> dict[str, Any]:
        for c in self.containers.values():
            if ref in (c["name"], c["id"]) or (len(ref) >= 6 and c["id"].startswith(ref)):
                return c
        raise ContainerNotFound(ref)

    def _inspect(self, c: dict[str, Any]) -> dict[str, Any]:
        status = c["status"]
        return {
            "id": c["id"],
            "name": c["name"],
            "image": c["image"],
            "state": {
                "status": status,
                "running": status in ("running", "paused"),
                "paused": status == "paused",
                "restarting": False,
                "oom_killed": False,
                "exit_code": 0 if status == "running" else 137,
                "started_at": c["started_at"],
                "finished_at": None,
                "health": c["health"],
            },
            "restart_count": c["restart_count"],
            "networks": list(c["networks"]),
            "labels": dict(c["labels"]),
        }

    async def _mutate(self, method: str, ref: str, change: dict[str, Any]) -> dict[str, Any]:
        if not self.detached:
            return await self._work(method, ref, change)
        work = asyncio.create_task(self._work(method, ref, change))
        self.background.add(work)
        work.add_done_callback(self.background.discard)
        try:
            return await asyncio.shield(work)
        except asyncio.CancelledError:
            if self.outlasts:
                await asyncio.wait({work})
            raise

    async def _work(self, method: str, ref: str, change: dict[str, Any]) -> dict[str, Any]:
        c = self.find(ref)
        self.events.append(("enter", method, c["id"]))
        self.running_now += 1
        self.max_running = max(self.max_running, self.running_now)
        self.entered.set()
        try:
            if self.hold is not None:
                await self.hold.wait()
            elif self.delay:
                await asyncio.sleep(self.delay)
            before = c["status"]
            c.update(change)
            return {
                "container_id": c["id"],
                "name": c["name"],
                "state": c["status"],
                "changed": before != c["status"] or method == "restart_container",
            }
        finally:
            self.running_now -= 1
            self.events.append(("exit", method, c["id"]))

    async def inspect_container(self, container_id: str) -> dict[str, Any]:
        self.calls.append(("inspect_container", {"container_id": container_id}))
        return self._inspect(self.find(container_id))

    async def inspect_containers(self, refs: list[str]) -> dict[str, Any]:
        self.calls.append(("inspect_containers", {"refs": refs}))
        return {"containers": [self._inspect(self.find(r)) for r in refs]}

    async def list_containers(self, **filters: Any) -> dict[str, Any]:
        self.calls.append(("list_containers", filters))
        return {
            "containers": [self._inspect(c) for c in self.containers.values()],
            "count": len(self.containers),
        }

    async def get_container_logs(self, container_id: str, **options: Any) -> dict[str, Any]:
        self.calls.append(("get_container_logs", {"container_id": container_id, **options}))
        c = self.find(container_id)
        return {"container_id": c["id"], "lines": ["hello"], "line_count": 1, "truncated": False}

    async def wait_for_container(
        self, container_id: str, condition: str, timeout: float
    ) -> dict[str, Any]:
        self.calls.append(
            (
                "wait_for_container",
                {"container_id": container_id, "condition": condition, "timeout": timeout},
            )
        )
        c = self.find(container_id)
        return {"container_id": c["id"], "met": c["status"] == condition, "waited_s": 0.0}

    async def start_container(self, container_id: str) -> dict[str, Any]:
        self.calls.append(("start_container", {"container_id": container_id}))
        return await self._mutate("start_container", container_id, {"status": "running"})

    async def stop_container(self, container_id: str, timeout: int = 10) -> dict[str, Any]:
        self.calls.append(("stop_container", {"container_id": container_id, "timeout": timeout}))
        return await self._mutate("stop_container", container_id, {"status": "exited"})

    async def restart_container(self, container_id: str, timeout: int = 10) -> dict[str, Any]:
        self.calls.append(("restart_container", {"container_id": container_id, "timeout": timeout}))
        c = self.find(container_id)
        return await self._mutate(
            "restart_container",
            container_id,
            {"status": "running", "restart_count": c["restart_count"] + 1},
        )

    async def kill_container(
        self, container_id: str, signal: str | int = "SIGKILL"
    ) -> dict[str, Any]:
        self.calls.append(("kill_container", {"container_id": container_id, "signal": signal}))
        return await self._mutate("kill_container", container_id, {"status": "exited"})

    async def pause_container(self, container_id: str) -> dict[str, Any]:
        self.calls.append(("pause_container", {"container_id": container_id}))
        return await self._mutate("pause_container", container_id, {"status": "paused"})

    async def unpause_container(self, container_id: str) -> dict[str, Any]:
        self.calls.append(("unpause_container", {"container_id": container_id}))
        return await self._mutate("unpause_container", container_id, {"status": "running"})

    async def network_members(self, network: str) -> dict[str, Any]:
        """Return the containers on ``network`` with their aliases there (``c["aliases"]``)."""
        self.calls.append(("network_members", {"network": network}))
        members = [
            {
                "id": c["id"],
                "name": c["name"],
                "labels": dict(c["labels"]),
                "aliases": list(c.get("aliases", {}).get(network, [])),
            }
            for c in self.containers.values()
            if network in c["networks"]
        ]
        return {"network": network, "network_id": "n" * 64, "containers": members}

    async def connect_container_to_network(
        self, container_id: str, network: str, alias: str | None = None
    ) -> dict[str, Any]:
        self.calls.append(
            (
                "connect_container_to_network",
                {"container_id": container_id, "network": network, "alias": alias},
            )
        )
        c = self.find(container_id)
        return await self._mutate(
            "connect_container_to_network",
            container_id,
            {"networks": sorted({*c["networks"], network})},
        )

    async def disconnect_container_from_network(
        self, container_id: str, network: str, force: bool = False
    ) -> dict[str, Any]:
        self.calls.append(
            (
                "disconnect_container_from_network",
                {"container_id": container_id, "network": network, "force": force},
            )
        )
        c = self.find(container_id)
        return await self._mutate(
            "disconnect_container_from_network",
            container_id,
            {"networks": [n for n in c["networks"] if n != network]},
        )

    async def execute_command(
        self,
        container_id: str,
        command: list[str],
        user: str | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> dict[str, Any]:
        self.calls.append(
            (
                "execute_command",
                {
                    "container_id": container_id,
                    "command": command,
                    "user": user,
                    "workdir": workdir,
                    "env": env,
                    "timeout": timeout,
                },
            )
        )
        c = self.find(container_id)
        if c["status"] != "running":
            raise ContainerStateError(f"container {c['name']!r} is not running")
        await self._mutate("execute_command", container_id, {})
        return {
            "exit_code": 0,
            "stdout": "out",
            "stderr": "",
            "success": True,
            "duration_s": 0.01,
            "timed_out": False,
        }

    async def get_events(
        self,
        since: str,
        until: str | None = None,
        container: str | None = None,
        service: str | None = None,
        types: list[str] | None = None,
        actions: list[str] | None = None,
        limit: int = 500,
    ) -> dict[str, Any]:
        self.calls.append(("get_events", {"since": since, "container": container}))
        return {"since": since, "until": until, "events": [], "count": 0, "seen": 0}

    async def container_stats(self, refs: list[str] | None = None) -> dict[str, Any]:
        self.calls.append(("container_stats", {"refs": refs}))
        return {"containers": [], "count": 0, "missing": []}

    async def container_top(self, container_id: str) -> dict[str, Any]:
        self.calls.append(("container_top", {"container_id": container_id}))
        c = self.find(container_id)
        return {"container_id": c["id"], "name": c["name"], "processes": [], "count": 0}

    async def search_logs(self, pattern: str, **options: Any) -> dict[str, Any]:
        self.calls.append(("search_logs", {"pattern": pattern, **options}))
        return {"pattern": pattern, "matches": [], "match_count": 0, "truncated": False}
