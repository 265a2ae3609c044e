"""The swarm methods of the tool layer's fake executor: services and nodes as dicts."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from operator_core.docker.swarm.results import (
    AvailabilityResult,
    NodeEntry,
    NodeList,
    ScaleResult,
    ServiceDetails,
    ServiceList,
    ServiceLogs,
    ServiceSummary,
    TaskEntry,
    TaskList,
    UpdateResult,
)
from operator_core.errors import NodeNotFound, ServiceNotFound


def object_id(name: str) -> str:
    """Return a stable 25-character swarm id for a fake service or node name."""
    return hashlib.sha256(name.encode()).hexdigest()[:25]


class SwarmFakes:
    """Swarm methods for ``FakeExecutor``: records calls in ``calls`` as it does."""

    calls: list[tuple[str, dict[str, Any]]]

    def _swarm(self) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
        """Return the services and nodes; three nodes (one manager) are made on first use."""
        if not hasattr(self, "services"):
            self.services: dict[str, dict[str, Any]] = {}
            self.nodes: dict[str, dict[str, Any]] = {}
            for host, role in (("mgr-1", "manager"), ("wrk-1", "worker"), ("wrk-2", "worker")):
                nid = object_id(host)
                self.nodes[nid] = {
                    "id": nid, "hostname": host, "role": role, "availability": "active"
                }  # fmt: skip
        return self.services, self.nodes

    def add_service(
        self,
        name: str,
        replicas: int = 2,
        labels: dict[str, str] | None = None,
        previous: int | None = None,
    ) -> str:
        """Add a service; ``previous`` is its previous spec's replicas (default: the same)."""
        services, _ = self._swarm()
        sid = object_id(name)
        services[sid] = {"id": sid, "name": name, "replicas": replicas, "labels": labels or {}}
        if previous is not None:
            services[sid]["previous"] = previous
        return sid

    def _find_service(self, ref: str) -> dict[str, Any]:
        services, _ = self._swarm()
        for s in services.values():
            if ref in (s["id"], s["name"]):
                return s
        raise ServiceNotFound(ref)

    def _find_node(self, ref: str) -> dict[str, Any]:
        _, nodes = self._swarm()
        for n in nodes.values():
            if ref in (n["id"], n["hostname"]):
                return n
        raise NodeNotFound(ref)

    def _service_summary(self, s: dict[str, Any]) -> ServiceSummary:
        return {
            "service_id": s["id"],
            "name": s["name"],
            "mode": "replicated",
            "image": "operator-core/busybox:test",
            "replicas_desired": s["replicas"],
            "replicas_running": s["replicas"],
            "update_state": None,
            "labels": dict(s["labels"]),
            "created_at": None,
            "updated_at": None,
        }

    def _node_entry(self, n: dict[str, Any]) -> NodeEntry:
        return {
            "node_id": n["id"],
            "hostname": n["hostname"],
            "role": n["role"],
            "availability": n["availability"],
            "status": "ready",
            "addr": None,
            "manager_status": None,
            "engine_version": "20.10.24",
            "labels": {},
            "tasks_running": 2,
            "service_ids": list(n.get("services", [])),
        }

    async def list_services(
        self, name: str | None = None, label: str | list[str] | None = None
    ) -> ServiceList:
        self.calls.append(("list_services", {"name": name, "label": label}))
        entries = [self._service_summary(s) for s in self._swarm()[0].values()]
        return {"services": entries, "count": len(entries)}

    async def inspect_service(self, service: str) -> ServiceDetails:
        self.calls.append(("inspect_service", {"service": service}))
        s = self._find_service(service)
        return {
            **self._service_summary(s),
            "update_status": None,
            "update_config": None,
            "rollback_config": None,
            "can_roll_back": True,
            "previous_replicas": s.get("previous", s["replicas"]),
            "health_check": None,
            "ports": [],
            "networks": [],
            "constraints": [],
        }

    async def list_service_tasks(self, service: str, desired_state: str | None = None) -> TaskList:
        self.calls.append(("list_service_tasks", {"service": service}))
        s = self._find_service(service)
        tasks = [self._task(i) for i in range(s["replicas"])]
        return {"service_id": s["id"], "name": s["name"], "tasks": tasks, "count": len(tasks)}

    async def get_service_logs(
        self,
        service: str,
        tail: int = 100,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        stream: str = "both",
    ) -> ServiceLogs:
        self.calls.append(("get_service_logs", {"service": service, "tail": tail}))
        s = self._find_service(service)
        return {
            "service_id": s["id"],
            "name": s["name"],
            "stream": stream,
            "lines": [],
            "line_count": 0,
            "tail_limit": tail,
            "truncated": False,
            "truncation": [],
            "bytes": 0,
            "bytes_read": 0,
        }

    @staticmethod
    def _task(slot: int) -> TaskEntry:
        return {
            "task_id": f"t{slot}",
            "slot": slot,
            "node_id": None,
            "node": None,
            "desired_state": "running",
            "state": "running",
            "error": None,
            "exit_code": None,
            "container_id": None,
            "updated_at": None,
        }

    async def scale_service(self, service: str, replicas: int, timeout: float = 120) -> ScaleResult:
        self.calls.append(("scale_service", {"service": service, "replicas": replicas}))
        s = self._find_service(service)
        before, s["replicas"] = s["replicas"], replicas
        return {
            "service_id": s["id"],
            "name": s["name"],
            "replicas_before": before,
            "replicas_after": replicas,
            "running": replicas,
            "converged": True,
            "changed": before != replicas,
            "waited_s": 0.0,
            "reason": None,
        }

    def _update(self, service: str, state: str) -> UpdateResult:
        s = self._find_service(service)
        return {
            "service_id": s["id"],
            "name": s["name"],
            "changed": True,
            "update_state": state,
            "update_message": None,
            "converged": True,
            "rolled_back": state == "rollback_completed",
            "tasks_replaced": s["replicas"],
            "replicas_desired": s["replicas"],
            "replicas_running": s["replicas"],
            "failed_tasks": [],
            "waited_s": 0.0,
            "reason": None,
        }

    async def restart_service(self, service: str, timeout: float = 300) -> UpdateResult:
        self.calls.append(("restart_service", {"service": service}))
        return self._update(service, "completed")

    async def rollback_service(self, service: str, timeout: float = 300) -> UpdateResult:
        self.calls.append(("rollback_service", {"service": service}))
        s = self._find_service(service)
        s["replicas"], s["previous"] = s.get("previous", s["replicas"]), s["replicas"]
        return self._update(service, "rollback_completed")

    async def list_nodes(self) -> NodeList:
        self.calls.append(("list_nodes", {}))
        entries = [self._node_entry(n) for n in self._swarm()[1].values()]
        return {"nodes": entries, "count": len(entries)}

    async def inspect_node(self, node: str) -> NodeEntry:
        self.calls.append(("inspect_node", {"node": node}))
        return self._node_entry(self._find_node(node))

    async def set_node_availability(
        self, node: str, availability: str, timeout: float = 120
    ) -> AvailabilityResult:
        self.calls.append(("set_node_availability", {"node": node, "availability": availability}))
        n = self._find_node(node)
        before, n["availability"] = n["availability"], availability
        return {
            "node_id": n["id"],
            "hostname": n["hostname"],
            "role": n["role"],
            "before": before,
            "after": availability,
            "changed": before != availability,
            "tasks_moved": [],
            "tasks_left": 0,
            "converged": True,
            "waited_s": 0.0,
            "reason": None,
        }
