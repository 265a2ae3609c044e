"""The swarm methods of the tool layer's fake executor: services and nodes as dicts."""

from __future__ import annotations

import hashlib
from typing import Any

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
        self, name: str, replicas: int = 2, labels: dict[str, str] | None = None
    ) -> str:
        services, _ = self._swarm()
        sid = object_id(name)
        services[sid] = {"id": sid, "name": name, "replicas": replicas, "labels": labels or {}}
        return sid

    def _service(self, ref: str) -> dict[str, Any]:
        services, _ = self._swarm()
        for s in services.values():
            if ref in (s["id"], s["name"]):
                return s
        raise ServiceNotFound(ref)

    def _node(self, ref: str) -> dict[str, Any]:
        _, nodes = self._swarm()
        for n in nodes.values():
            if ref in (n["id"], n["hostname"]):
                return n
        raise NodeNotFound(ref)

    def _summary(self, s: dict[str, Any]) -> dict[str, Any]:
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

    def _entry(self, n: dict[str, Any]) -> dict[str, Any]:
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
        }

    async def list_services(self, name: str | None = None, label: Any = None) -> dict[str, Any]:
        self.calls.append(("list_services", {"name": name, "label": label}))
        entries = [self._summary(s) for s in self._swarm()[0].values()]
        return {"services": entries, "count": len(entries)}

    async def inspect_service(self, service: str) -> dict[str, Any]:
        self.calls.append(("inspect_service", {"service": service}))
        return self._summary(self._service(service))

    async def list_service_tasks(
        self, service: str, desired_state: str | None = None
    ) -> dict[str, Any]:
        self.calls.append(("list_service_tasks", {"service": service}))
        s = self._service(service)
        tasks = [{"task_id": f"t{i}", "state": "running"} for i in range(s["replicas"])]
        return {"service_id": s["id"], "name": s["name"], "tasks": tasks, "count": len(tasks)}

    async def get_service_logs(self, service: str, **options: Any) -> dict[str, Any]:
        self.calls.append(("get_service_logs", {"service": service, **options}))
        s = self._service(service)
        return {"service_id": s["id"], "name": s["name"], "lines": [], "truncated": False}

    async def scale_service(
        self, service: str, replicas: int, timeout: float = 120
    ) -> dict[str, Any]:
        self.calls.append(("scale_service", {"service": service, "replicas": replicas}))
        s = self._service(service)
        before, s["replicas"] = s["replicas"], replicas
        return {
            "service_id": s["id"],
            "name": s["name"],
            "replicas_before": before,
            "replicas_after": replicas,
            "running": replicas,
            "converged": True,
            "changed": before != replicas,
        }

    async def restart_service(self, service: str, timeout: float = 300) -> dict[str, Any]:
        self.calls.append(("restart_service", {"service": service}))
        s = self._service(service)
        return {"service_id": s["id"], "name": s["name"], "changed": True, "converged": True}

    async def rollback_service(self, service: str, timeout: float = 300) -> dict[str, Any]:
        self.calls.append(("rollback_service", {"service": service}))
        s = self._service(service)
        return {"service_id": s["id"], "name": s["name"], "changed": True, "rolled_back": True}

    async def list_nodes(self) -> dict[str, Any]:
        self.calls.append(("list_nodes", {}))
        entries = [self._entry(n) for n in self._swarm()[1].values()]
        return {"nodes": entries, "count": len(entries)}

    async def inspect_node(self, node: str) -> dict[str, Any]:
        self.calls.append(("inspect_node", {"node": node}))
        return self._entry(self._node(node))

    async def set_node_availability(
        self, node: str, availability: str, timeout: float = 120
    ) -> dict[str, Any]:
        self.calls.append(("set_node_availability", {"node": node, "availability": availability}))
        n = self._node(node)
        before, n["availability"] = n["availability"], availability
        return {
            "node_id": n["id"],
            "hostname": n["hostname"],
            "before": before,
            "after": availability,
            "changed": before != availability,
            "tasks_moved": [],
            "converged": True,
        }
