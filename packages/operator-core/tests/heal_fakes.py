"""Fakes for the healer's unit tests: a scripted runner, incidents, a wall clock by hand."""

from __future__ import annotations

import asyncio
from typing import Any

from operator_core.audit import MemoryAuditSink
from operator_core.watch import Healer, HealReport, Incident

CID = "d" * 64
OPTED_IN = {"org.operator-core.autoheal": "true"}


def unhealthy(
    labels: dict[str, str] | None = None,
    host: str | None = None,
    cid: str = CID,
    name: str = "web",
    kind: str = "unhealthy",
) -> Incident:
    """Return an incident (unhealthy by default) of container ``name``."""
    return Incident(  # type: ignore[typeddict-item]
        kind=kind,
        host=host,
        container_id=cid,
        name=name,
        time="2026-11-29T10:00:00.000000000Z",
        exit_code=None,
        count=None,
        message=f"{name} turned unhealthy",
        labels=dict(OPTED_IN) if labels is None else labels,
    )


class FakeExecutor:
    """Answers ``engine_identity`` (per host, default one engine, in no swarm)."""

    def __init__(self) -> None:
        self.identities: dict[str | None, dict[str, Any]] = {}

    async def engine_identity(self, host: str | None = None) -> dict[str, Any]:
        default = {"engine_id": "ENGINE-A", "cluster_id": None, "node_id": None}
        return self.identities.get(host, default)


class FakeRunner:
    """Answers tool calls from scripts: health readings, restart and wait envelopes."""

    def __init__(self, health: list[Any], waits: list[bool], restart_ok: bool = True):
        self.health, self.waits, self.restart_ok = health, waits, restart_ok
        self.calls: list[tuple[str, dict[str, Any], str | None]] = []
        self.audit = MemoryAuditSink()
        self.executor = FakeExecutor()
        self.tasks: dict[str, Any] = {"ok": True, "result": {"tasks": []}}

    async def execute_tool(
        self, tool: str, arguments: dict[str, Any], *, actor: str, reason: str | None
    ) -> dict[str, Any]:
        self.calls.append((tool, arguments, actor))
        if tool == "docker_inspect_container":
            health = self.health.pop(0)
            if isinstance(health, dict):  # a scripted error envelope
                return {"ok": False, "error": health, "audit_id": "i1"}
            return {"ok": True, "result": {"state": {"health": health}}}
        if tool == "docker_restart_container":
            if self.restart_ok:
                return {"ok": True, "result": {"changed": True}, "audit_id": "r1"}
            error = {"type": "denied", "rule": "mode.observe", "message": "observe mode"}
            return {"ok": False, "error": error, "audit_id": "r1"}
        if tool == "docker_list_service_tasks":
            return dict(self.tasks)
        return {"ok": True, "result": {"met": self.waits.pop(0)}, "audit_id": "w1"}

    def tools(self) -> list[str]:
        return [tool for tool, _, _ in self.calls]


class Clock:
    """A wall clock moved by hand; each fake sleep moves it on by what was slept."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


async def settle(healer: Healer) -> list[HealReport]:
    """Wait for every heal under way to end; return the reports so far."""
    await asyncio.gather(*healer._busy.values())
    reports = []
    while not healer.reports.empty():
        reports.append(healer.reports.get_nowait())
    return reports
