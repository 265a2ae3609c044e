"""A fake swarm manager behind the Engine API, for unit tests of the swarm actions.

``FakeSwarm`` answers the requests the swarm actions make (``GET /services``,
``/services/{id}``, ``/tasks``, ``/nodes``, ``/nodes/{id}``, ``POST
/services/{id}/update`` and ``/nodes/{id}/update``) from raw JSON it holds, as the engine
would, and records them. It is the ``answer`` of ``engine_fakes.fake_client``: the real
``EngineClient`` (recorder, deadline, error mapping) sits in front of it. Changes take
effect step by step: each read of a service's tasks moves the cluster one step towards
what was asked, unless ``stuck`` holds new tasks pending with an error. An update naming
another version than the service's is refused, as the engine refuses it.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

from engine_fakes import Reply, refused, reply_json

UNHEALTHY = "task: non-zero exit (137): dockerexec: unhealthy container"
NODES = {"n1": ("lab-eng1", "manager"), "n2": ("lab-eng2", "worker"), "n3": ("lab-eng3", "worker")}


def stamp(second: int) -> str:
    """Return an engine time ``second`` seconds after 10:00 on a fixed day."""
    return f"2026-11-29T10:{second // 60:02d}:{second % 60:02d}.000000000Z"


#: A request as the fake received it: method, path, query parameters, JSON body.
Call = tuple[str, str, dict[str, str], Any]


@dataclass
class FakeSwarm:
    """One manager's view of a three-node swarm."""

    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    availability: dict[str, str] = field(default_factory=lambda: dict.fromkeys(NODES, "active"))
    commands: list[Call] = field(default_factory=list)
    #: New tasks stay pending with this error (a scale that cannot converge).
    stuck: str | None = None
    #: How an update of a service ends: "completed", or "rollback" (new tasks fail).
    update_outcome: str = "completed"
    #: New tasks start as ``starting`` and run one step later; stopped ones keep running
    #: one step after the swarm wants them shut down (as a real engine's do).
    slow: bool = False
    #: Set to make every request fail with this message (a worker: 503, ...).
    refuse: str | None = None
    versions: dict[str, int] = field(default_factory=dict)
    clock: int = 100
    _ids: int = 0
    _pending_update: dict[str, int] = field(default_factory=dict)

    # --- building the state -------------------------------------------------------------

    def add_service(
        self, name: str, replicas: int | None = 2, *, previous: bool = True, **spec: Any
    ) -> str:
        """Add a running service (replicated, or global when ``replicas`` is None)."""
        sid = f"svc{name}"
        mode = {"Replicated": {"Replicas": replicas}} if replicas is not None else {"Global": {}}
        self.services[sid] = {
            "ID": sid,
            "Version": {"Index": 10},
            "CreatedAt": stamp(1),
            "UpdatedAt": stamp(2),
            "Spec": {
                "Name": name,
                "Labels": spec.pop("labels", {}),
                "Mode": mode,
                "TaskTemplate": {"ContainerSpec": {"Image": "busybox:test"}, "ForceUpdate": 0},
                "UpdateConfig": {"Parallelism": 1, "FailureAction": "rollback", "Monitor": 5e9},
                **spec,
            },
            **({"PreviousSpec": {"Name": name}} if previous else {}),
        }
        slots = range(1, (replicas or 3) + 1)
        for slot, node in zip(slots, ["n2", "n3", "n1"] * 4, strict=False):
            self._task(sid, slot if replicas is not None else None, node, "running")
        return sid

    def _task(self, sid: str, slot: int | None, node: str | None, state: str, err: str = "") -> str:
        """Add a task of ``sid``; return its id."""
        self._ids += 1
        tid = f"task{self._ids:03d}"
        self.tasks.append(
            {
                "ID": tid,
                "ServiceID": sid,
                "Slot": slot or 0,
                "NodeID": node or "",
                "CreatedAt": stamp(self.clock),
                "DesiredState": "running",
                "Status": {
                    "State": state,
                    "Timestamp": stamp(self.clock),
                    "Err": err,
                    "ContainerStatus": {"ContainerID": f"c{tid}", "ExitCode": 137 if err else 0},
                },
            }
        )
        return tid

    def live(self, sid: str) -> list[dict[str, Any]]:
        """Return the tasks of ``sid`` the swarm wants running."""
        return [t for t in self.tasks if t["ServiceID"] == sid and t["DesiredState"] == "running"]

    # --- the API ------------------------------------------------------------------------

    def __call__(self, method: str, path: str, params: dict[str, str], body: Any) -> Reply:
        """Answer one request as a manager would."""
        self.commands.append((method, path, params, body))
        if self.refuse is not None:
            raise refused(503, self.refuse)
        parts = path.strip("/").split("/")
        filters = json.loads(params.get("filters", "{}"))
        if method == "GET" and parts == ["services"]:
            return reply_json(self._services(filters))
        if method == "GET" and parts[0] == "services" and len(parts) == 2:
            return reply_json(self._service(parts[1]))
        if method == "POST" and parts[0] == "services" and parts[2:] == ["update"]:
            return reply_json(self._update(parts[1], params, body))
        if method == "GET" and parts == ["tasks"]:
            return reply_json(self._tasks(filters))
        if method == "GET" and parts == ["nodes"]:
            return reply_json([self._node(nid) for nid in NODES])
        if method == "GET" and parts[0] == "nodes" and len(parts) == 2:
            return reply_json(self._node(parts[1]))
        if method == "POST" and parts[0] == "nodes" and parts[2:] == ["update"]:
            self._node_update(parts[1], params, body)
            return Reply([])  # the engine answers a node update with no body
        raise AssertionError(f"the fake swarm does not know {method} {path}")

    def _services(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        found = []
        for sid, raw in self.services.items():
            spec = raw["Spec"]
            ok = all(spec["Name"].startswith(v) for v in filters.get("name", []))
            ids = filters.get("id")
            ok &= ids is None or any(sid.startswith(v) for v in ids)
            for value in filters.get("label", []):
                lk, eq, lv = value.partition("=")
                ok &= lk in spec["Labels"] and (not eq or spec["Labels"][lk] == lv)
            if ok:
                found.append(raw)
        return found

    def _lookup(self, ref: str) -> dict[str, Any] | None:
        for sid, raw in self.services.items():
            if ref in (sid, raw["Spec"]["Name"]):
                return raw
        return None

    def _service(self, ref: str) -> dict[str, Any]:
        raw = self._lookup(ref)
        if raw is None:
            raise refused(404, f"service {ref} not found")
        return raw

    def _tasks(self, filters: dict[str, list[str]]) -> list[dict[str, Any]]:
        desired = filters.get("desired-state", [None])[0]
        if "node" in filters:
            for sid in list(self.services):
                self._step(sid)
            nodes = filters["node"]
            return [t for t in self.tasks if t["NodeID"] in nodes and t["DesiredState"] == desired]
        found = []
        for ref in filters["service"]:
            raw = self._service(ref)
            self._step(raw["ID"])
            found += [
                t
                for t in self.tasks
                if t["ServiceID"] == raw["ID"] and desired in (None, t["DesiredState"])
            ]
        return found

    def _update(self, ref: str, params: dict[str, str], spec: dict[str, Any]) -> dict[str, Any]:
        raw = self._service(ref)
        if int(params["version"]) != raw["Version"]["Index"]:
            raise refused(500, "rpc error: code = Unknown desc = update out of sequence")
        raw["Version"]["Index"] += 1
        self.clock += 10
        if params.get("rollback") == "previous":
            raw["UpdateStatus"] = {"State": "rollback_started", "StartedAt": stamp(self.clock)}
            self._pending_update[raw["ID"]] = 0
        elif spec["TaskTemplate"] != raw["Spec"]["TaskTemplate"]:
            raw["PreviousSpec"] = copy.deepcopy(raw["Spec"])
            raw["UpdateStatus"] = {"State": "updating", "StartedAt": stamp(self.clock)}
            self._pending_update[raw["ID"]] = 0
        raw["Spec"] = spec
        return {"Warnings": None}

    def _step(self, sid: str) -> None:
        """Move ``sid`` one step towards its spec: one task started, stopped or replaced."""
        self.clock += 1
        raw = self.services[sid]
        if self._settle_slow(sid):
            return
        if sid in self._pending_update:
            self._update_step(sid, raw)
            return
        for task in self.live(sid):
            if task["NodeID"] and self.availability[task["NodeID"]] == "drain":
                self._replace(task, "starting" if self.slow else "running")
                return
        replicas = raw["Spec"]["Mode"].get("Replicated", {}).get("Replicas")
        live = self.live(sid)
        if replicas is not None and len(live) > replicas:
            live[-1]["DesiredState"] = "shutdown"
            live[-1]["Status"]["State"] = "running" if self.slow else "shutdown"
        elif replicas is not None and len(live) < replicas:
            slot = max((t["Slot"] for t in live), default=0) + 1
            node = ["n1", "n2", "n3"][slot % 3]
            self._task(sid, slot, node, "pending" if self.stuck else "running", self.stuck or "")

    def _settle_slow(self, sid: str) -> bool:
        """Start the tasks still starting and stop those still running; whether any were."""
        moved = False
        for task in self.tasks if self.slow else ():
            status = task["Status"]
            if task["ServiceID"] != sid:
                continue
            if task["DesiredState"] == "running" and status["State"] == "starting":
                status["State"] = "running"
                moved = True
            elif task["DesiredState"] == "shutdown" and status["State"] == "running":
                status["State"] = "shutdown"
                moved = True
        return moved

    def _replace(self, task: dict[str, Any], state: str, err: str = "") -> str:
        """Shut ``task`` down and start a replacement in its slot, on an active node."""
        task["DesiredState"] = "shutdown"
        task["Status"]["State"] = "shutdown"
        nodes = [n for n in NODES if self.availability[n] == "active" and n != task["NodeID"]]
        return self._task(task["ServiceID"], task["Slot"], nodes[0], state, err)

    def _update_step(self, sid: str, raw: dict[str, Any]) -> None:
        """Replace one task of an update; end the update once all are replaced."""
        status = raw["UpdateStatus"]
        started = status["StartedAt"]
        old = [t for t in self.live(sid) if t["CreatedAt"] < started]
        rolling_back = status["State"].startswith("rollback")
        if self.update_outcome == "rollback" and not rolling_back:
            tid = self._replace(old[0], "failed", UNHEALTHY)
            failed = next(t for t in self.tasks if t["ID"] == tid)
            failed["DesiredState"] = "shutdown"
            self._task(sid, failed["Slot"], "n1", "running")
            status.update(State="rollback_completed", Message="rollback completed")
            del self._pending_update[sid]
            return
        if old:
            self._replace(old[0], "running")
            return
        status.update(
            State="rollback_completed" if rolling_back else "completed",
            Message="rollback completed" if rolling_back else "update completed",
            CompletedAt=stamp(self.clock),
        )
        del self._pending_update[sid]

    def _node(self, ref: str) -> dict[str, Any]:
        nid = next((n for n, (host, _) in NODES.items() if ref in (n, host)), None)
        if nid is None:
            raise refused(404, f"node {ref} not found")
        host, role = NODES[nid]
        return {
            "ID": nid,
            "Version": {"Index": self.versions.setdefault(nid, 5)},
            "Spec": {"Role": role, "Availability": self.availability[nid], "Labels": {}},
            "Description": {"Hostname": host, "Engine": {"EngineVersion": "20.10.24"}},
            "Status": {"State": "ready", "Addr": f"198.18.77.{10 + int(nid[1])}"},
            **(
                {"ManagerStatus": {"Leader": True, "Reachability": "reachable"}}
                if role == "manager"
                else {}
            ),
        }

    def _node_update(self, ref: str, params: dict[str, str], spec: dict[str, Any]) -> None:
        node = self._node(ref)
        if int(params["version"]) != node["Version"]["Index"]:
            raise refused(500, "rpc error: code = Unknown desc = update out of sequence")
        self.versions[node["ID"]] += 1
        self.availability[node["ID"]] = spec["Availability"]

    def paths(self) -> list[str]:
        """Return each request as ``METHOD /path``."""
        return [f"{method} {path}" for method, path, _, _ in self.commands]
