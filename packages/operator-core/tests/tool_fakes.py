"""A fake DockerActionExecutor and clock for the tool-layer unit tests (no engine)."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime
from typing import Any

from operator_core.errors import ContainerNotFound, ContainerStateError
from operator_core.results import (
    ActionIdentity,
    ContainerDetails,
    ContainerList,
    ContainerSummary,
    EngineIdentity,
    EventsResult,
    ExecResult,
    InspectManyResult,
    KillResult,
    LogsResult,
    NetworkMember,
    NetworkMembers,
    NetworkResult,
    PauseResult,
    RestartResult,
    SearchResult,
    StartResult,
    StatsResult,
    StopResult,
    TopResult,
    WaitResult,
)
from operator_core.runner import ContainerExecutor
from swarm_tool_fakes import SwarmFakes


def container_id(name: str) -> str:
    """Return a stable 64-hex id for a fake container name."""
    return hashlib.sha256(name.encode()).hexdigest()


def _iso(value: str | datetime, fallback: str) -> str:
    """Return ``value`` as an ISO time when it is one, else ``fallback`` (``10m`` and such)."""
    text = value.isoformat() if isinstance(value, datetime) else str(value)
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return fallback
    return text


class FakeClock:
    """A monotonic clock tests move by hand."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeExecutor(SwarmFakes):
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
        self.background: set[asyncio.Task[ActionIdentity]] = set()
        self.running_now = 0
        self.max_running = 0
        #: What ``engine_identity`` answers: one engine, in no swarm, unless a test says.
        self.identity: EngineIdentity = {
            "engine_id": "FAKE:ENGINE:ID",
            "engine_name": "fake-engine",
            "cluster_id": None,
            "node_id": None,
            "manager": False,
        }
        for name in names:
            self.add(name)

    async def engine_identity(self, *, refresh: bool = False) -> EngineIdentity:
        self.calls.append(("engine_identity", {"refresh": refresh}))
        return self.identity.copy()

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

    def _inspect(self, c: dict[str, Any]) -> ContainerDetails:
        status = c["status"]
        return {
            "container_id": c["id"],
            "name": c["name"],
            "id": c["id"],
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
            "restarts": {
                "count": c["restart_count"],
                "policy": None,
                "restarting": False,
                "last_exit_code": None if status == "running" else 137,
                "last_oom_killed": False,
                "last_started_at": c["started_at"],
                "last_finished_at": None,
            },
            "networks": list(c["networks"]),
            "labels": dict(c["labels"]),
        }

    def _summary(self, c: dict[str, Any]) -> ContainerSummary:
        details = self._inspect(c)
        state = details["state"]
        return {
            "container_id": c["id"],
            "name": c["name"],
            "id": c["id"],
            "image": details["image"],
            "status": state["status"],
            "health": state["health"],
            "exit_code": None if state["running"] else state["exit_code"],
            "started_at": state["started_at"],
            "finished_at": None,
            "restart_count": details["restart_count"],
            "labels": details["labels"],
            "compose_project": None,
            "compose_service": None,
            "networks": details["networks"],
        }

    async def _mutate(self, method: str, ref: str, change: dict[str, Any]) -> ActionIdentity:
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

    async def _work(self, method: str, ref: str, change: dict[str, Any]) -> ActionIdentity:
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
            c.update(change)
            return {"container_id": c["id"], "name": c["name"], "state": c["status"]}
        finally:
            self.running_now -= 1
            self.events.append(("exit", method, c["id"]))

    async def inspect_container(self, container_id: str) -> ContainerDetails:
        self.calls.append(("inspect_container", {"container_id": container_id}))
        return self._inspect(self.find(container_id))

    async def inspect_containers(self, refs: list[str]) -> InspectManyResult:
        self.calls.append(("inspect_containers", {"refs": refs}))
        return {
            "containers": [{"reference": r, **self._summary(self.find(r))} for r in refs],
            "missing": [],
        }

    async def list_containers(
        self,
        all: bool = False,
        name: str | None = None,
        label: str | list[str] | None = None,
        status: str | None = None,
        health: str | None = None,
        compose_project: str | None = None,
        compose_service: str | None = None,
    ) -> ContainerList:
        given = {
            "all": all,
            "name": name,
            "label": label,
            "status": status,
            "health": health,
            "compose_project": compose_project,
            "compose_service": compose_service,
        }
        self.calls.append(("list_containers", {k: v for k, v in given.items() if v}))
        return {
            "containers": [self._summary(c) for c in self.containers.values()],
            "count": len(self.containers),
        }

    async def get_container_logs(
        self,
        container_id: str,
        tail: int = 100,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        stream: str = "both",
        timestamps: bool = True,
    ) -> LogsResult:
        options = {"tail": tail, "since": since, "until": until, "stream": stream}
        self.calls.append(("get_container_logs", {"container_id": container_id, **options}))
        c = self.find(container_id)
        stamp = "2026-01-01T00:00:00.000000000Z" if timestamps else None
        return {
            "container_id": c["id"],
            "name": c["name"],
            "stream": stream,
            "tty": False,
            "lines": [
                {"timestamp": stamp, "stream": "stdout", "text": "hello", "truncated": False}
            ],
            "line_count": 1,
            "tail_limit": tail,
            "truncated": False,
            "truncation": [],
            "bytes": 5,
            "bytes_read": 37,
        }

    async def wait_for_container(
        self, container_id: str, condition: str, timeout: float = 60
    ) -> WaitResult:
        self.calls.append(
            (
                "wait_for_container",
                {"container_id": container_id, "condition": condition, "timeout": timeout},
            )
        )
        c = self.find(container_id)
        met = c["status"] == condition
        return {
            "container_id": c["id"],
            "name": c["name"],
            "condition": condition,
            "met": met,
            "state": c["status"],
            "health": c["health"],
            "exit_code": None,
            "reason": None if met else f"not {condition} within {timeout:g}s",
            "waited_s": 0.0,
            "polls": 1,
        }

    async def start_container(self, container_id: str) -> StartResult:
        self.calls.append(("start_container", {"container_id": container_id}))
        before = self.find(container_id)["status"]
        done = await self._mutate("start_container", container_id, {"status": "running"})
        return {**done, "running": True, "changed": before != "running"}

    async def stop_container(self, container_id: str, timeout: int = 10) -> StopResult:
        self.calls.append(("stop_container", {"container_id": container_id, "timeout": timeout}))
        before = self.find(container_id)["status"]
        done = await self._mutate("stop_container", container_id, {"status": "exited"})
        return {
            **done,
            "exit_code": 0,
            "graceful_shutdown": before != "exited",
            "killed": False,
            "oom_killed": False,
            "reason": None,
            "changed": before != "exited",
            "stop_duration_s": 0.0,
        }

    async def restart_container(self, container_id: str, timeout: int = 10) -> RestartResult:
        self.calls.append(("restart_container", {"container_id": container_id, "timeout": timeout}))
        c = self.find(container_id)
        previous = c["started_at"]
        done = await self._mutate(
            "restart_container",
            container_id,
            {"status": "running", "restart_count": c["restart_count"] + 1},
        )
        return {
            **done,
            "running": True,
            "started_at": previous,
            "previous_started_at": previous,
            "stop": {
                "graceful_shutdown": True,
                "killed": False,
                "oom_killed": False,
                "reason": None,
                "exit_code": 0,
                "changed": True,
                "stop_duration_s": 0.0,
            },
            "changed": True,
        }

    async def kill_container(self, container_id: str, signal: str | int = "SIGKILL") -> KillResult:
        self.calls.append(("kill_container", {"container_id": container_id, "signal": signal}))
        before = self.find(container_id)["status"]
        done = await self._mutate("kill_container", container_id, {"status": "exited"})
        return {
            **done,
            "signal": str(signal),
            "signal_sent": before == "running",
            "previous_state": before,
            "running": False,
            "exit_code": 137,
            "reason": None,
            "changed": before == "running",
        }

    async def pause_container(self, container_id: str) -> PauseResult:
        self.calls.append(("pause_container", {"container_id": container_id}))
        before = self.find(container_id)["status"]
        done = await self._mutate("pause_container", container_id, {"status": "paused"})
        return {**done, "paused": True, "changed": before != "paused"}

    async def unpause_container(self, container_id: str) -> PauseResult:
        self.calls.append(("unpause_container", {"container_id": container_id}))
        before = self.find(container_id)["status"]
        done = await self._mutate("unpause_container", container_id, {"status": "running"})
        return {**done, "paused": False, "changed": before == "paused"}

    async def network_members(self, network: str) -> NetworkMembers:
        """Return the containers on ``network`` with their aliases there (``c["aliases"]``)."""
        self.calls.append(("network_members", {"network": network}))
        members: list[NetworkMember] = [
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
    ) -> NetworkResult:
        self.calls.append(
            (
                "connect_container_to_network",
                {"container_id": container_id, "network": network, "alias": alias},
            )
        )
        c = self.find(container_id)
        changed = network not in c["networks"]
        await self._mutate(
            "connect_container_to_network",
            container_id,
            {"networks": sorted({*c["networks"], network})},
        )
        return self._network_result(c, network, changed=changed)

    async def disconnect_container_from_network(
        self, container_id: str, network: str, force: bool = False
    ) -> NetworkResult:
        self.calls.append(
            (
                "disconnect_container_from_network",
                {"container_id": container_id, "network": network, "force": force},
            )
        )
        c = self.find(container_id)
        changed = network in c["networks"]
        await self._mutate(
            "disconnect_container_from_network",
            container_id,
            {"networks": [n for n in c["networks"] if n != network]},
        )
        return self._network_result(c, network, changed=changed)

    def _network_result(self, c: dict[str, Any], network: str, *, changed: bool) -> NetworkResult:
        return {
            "container_id": c["id"],
            "name": c["name"],
            "network": network,
            "network_id": "n" * 64,
            "connected": network in c["networks"],
            "aliases": list(c.get("aliases", {}).get(network, [])),
            "networks": list(c["networks"]),
            "changed": changed,
        }

    async def execute_command(
        self,
        container_id: str,
        command: list[str],
        user: str | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 30,
    ) -> ExecResult:
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
            "container_id": c["id"],
            "name": c["name"],
            "exit_code": 0,
            "success": True,
            "stdout": "out",
            "stderr": "",
            "stdout_truncated": False,
            "stderr_truncated": False,
            "truncated": False,
            "stdout_bytes": 3,
            "stderr_bytes": 0,
            "duration_s": 0.01,
            "timed_out": False,
            "cancelled": False,
            "timeout_s": float(timeout),
            "cleanup": None,
        }

    async def get_events(
        self,
        since: str | datetime,
        until: str | datetime | None = None,
        container: str | None = None,
        service: str | None = None,
        types: list[str] | None = None,
        actions: list[str] | None = None,
        limit: int = 500,
    ) -> EventsResult:
        self.calls.append(("get_events", {"since": since, "container": container}))
        # The real executor answers with the window as ISO times, whatever form it was given.
        start = _iso(since, "2026-01-01T00:00:00+00:00")
        return {
            "since": start,
            "until": _iso(until, start) if until is not None else start,
            "until_clamped": until is None,
            "events": [],
            "count": 0,
            "seen": 0,
            "truncated": False,
            "truncation": [],
        }

    async def container_stats(self, refs: list[str] | None = None) -> StatsResult:
        self.calls.append(("container_stats", {"refs": refs}))
        return {"containers": [], "count": 0, "missing": []}

    async def container_top(self, container_id: str) -> TopResult:
        self.calls.append(("container_top", {"container_id": container_id}))
        c = self.find(container_id)
        return {"container_id": c["id"], "name": c["name"], "processes": [], "count": 0}

    async def search_logs(
        self,
        pattern: str,
        refs: list[str] | None = None,
        label: str | list[str] | None = None,
        compose_project: str | None = None,
        service: str | None = None,
        since: str | datetime | None = None,
        tail: int = 10_000,
        regex: bool = False,
        ignore_case: bool = False,
        context: int = 0,
        max_matches: int = 200,
    ) -> SearchResult:
        given = {"refs": refs, "label": label, "since": since, "regex": regex}
        self.calls.append(("search_logs", {"pattern": pattern, **given}))
        return {
            "pattern": pattern,
            "regex": regex,
            "matches": [],
            "match_count": 0,
            "containers": [],
            "not_searched": [],
            "missing": [],
            "truncated": False,
            "truncation": [],
        }


#: mypy (run on this module by ./dev test) checks that the fake is a ContainerExecutor:
#: a method or result shape that drifts from the executor's fails the type check.
CONFORMS: type[ContainerExecutor] = FakeExecutor
