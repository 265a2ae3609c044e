"""A fake swarm manager behind the docker CLI, for unit tests of the swarm actions.

``FakeSwarm`` answers the commands the swarm actions run through ``_engine.run_cli``
(``service ls/inspect/ps/scale/update/rollback``, ``inspect --type task``, ``node
ls/inspect/ps/update``) from raw JSON it holds, as the engine would, and records them.
Changes take effect step by step: each ``service ps`` moves the cluster one step towards
what was asked, unless ``stuck`` holds new tasks pending with an error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from python_on_whales.exceptions import DockerException

UNHEALTHY = "task: non-zero exit (137): dockerexec: unhealthy container"
NODES = {"n1": ("lab-eng1", "manager"), "n2": ("lab-eng2", "worker"), "n3": ("lab-eng3", "worker")}


def stamp(second: int) -> str:
    """Return an engine time ``second`` seconds after 10:00 on a fixed day."""
    return f"2026-11-29T10:{second // 60:02d}:{second % 60:02d}.000000000Z"


def fail(stderr: str) -> DockerException:
    """Return what python-on-whales raises when the docker CLI prints ``stderr`` and exits 1."""
    return DockerException(["docker"], 1, None, stderr.encode())


@dataclass
class FakeSwarm:
    """One manager's view of a three-node swarm."""

    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    tasks: list[dict[str, Any]] = field(default_factory=list)
    availability: dict[str, str] = field(default_factory=lambda: dict.fromkeys(NODES, "active"))
    commands: list[list[str]] = field(default_factory=list)
    #: New tasks stay pending with this error (a scale that cannot converge).
    stuck: str | None = None
    #: How an update of a service ends: "completed", or "rollback" (new tasks fail).
    update_outcome: str = "completed"
    #: New tasks start as ``starting`` and run one step later; stopped ones keep running
    #: one step after the swarm wants them shut down (as a real engine's do).
    slow: bool = False
    #: Set to make every command fail with this stderr (a worker, a dead engine...).
    refuse: str | None = None
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

    # --- the CLI ------------------------------------------------------------------------

    def __call__(self, command: list[str]) -> str:
        """Answer ``docker <args>`` as a manager would."""
        args = command[1:]
        self.commands.append(args)
        if self.refuse is not None:
            raise fail(self.refuse)
        verb = " ".join(args[:2])
        handler = getattr(self, "_" + verb.replace(" ", "_").replace("-", ""), None)
        if handler is None:
            raise AssertionError(f"the fake swarm does not know docker {verb}")
        return str(handler(args[2:]))

    def _service_ls(self, args: list[str]) -> str:
        filters = [args[i + 1] for i, a in enumerate(args) if a == "--filter"]
        found = []
        for sid, raw in self.services.items():
            spec = raw["Spec"]
            ok = True
            for f in filters:
                key, _, value = f.partition("=")
                if key == "name":
                    ok &= spec["Name"].startswith(value)
                elif key == "id":
                    ok &= any(
                        sid.startswith(v.partition("=")[2]) for v in filters if v.startswith("id=")
                    )
                elif key == "label":
                    lk, eq, lv = value.partition("=")
                    ok &= lk in spec["Labels"] and (not eq or spec["Labels"][lk] == lv)
            if ok:
                found.append(sid)
        return "\n".join(found)

    def _lookup(self, ref: str) -> dict[str, Any] | None:
        for sid, raw in self.services.items():
            if ref in (sid, raw["Spec"]["Name"]):
                return raw
        return None

    def _service_inspect(self, refs: list[str]) -> str:
        found = [raw for ref in refs if (raw := self._lookup(ref)) is not None]
        if len(found) < len(refs):
            missing = next(r for r in refs if self._lookup(r) is None)
            raise DockerException(
                ["docker"], 1, json.dumps(found).encode(), f"no such service: {missing}".encode()
            )
        return json.dumps(found)

    def _service_ps(self, args: list[str]) -> str:
        refs = [a for a in args if not a.startswith("-") and "=" not in a]
        desired = next((a.split("=")[1] for a in args if a.startswith("desired-state=")), None)
        ids = []
        for ref in refs:
            raw = self._lookup(ref)
            if raw is None:
                raise fail(f"no such service: {ref}")
            self._step(raw["ID"])
            ids += [
                t["ID"]
                for t in self.tasks
                if t["ServiceID"] == raw["ID"] and desired in (None, t["DesiredState"])
            ]
        return "\n".join(ids)

    def _inspect_type(self, args: list[str]) -> str:  # docker inspect --type task IDS
        ids = args[1:]
        return json.dumps([t for t in self.tasks if t["ID"] in ids])

    def _service_scale(self, args: list[str]) -> str:
        ref, _, count = args[-1].partition("=")
        raw = self._lookup(ref)
        if raw is None:
            raise fail(f"{ref}: Error response from daemon: service {ref} not found")
        raw["Spec"]["Mode"]["Replicated"]["Replicas"] = int(count)
        return f"{ref} scaled to {count}"

    def _service_update(self, args: list[str]) -> str:
        raw = self._lookup(args[-1])
        if raw is None:
            raise fail(f"Error response from daemon: service {args[-1]} not found")
        self.clock += 10
        raw["PreviousSpec"] = dict(raw["Spec"])
        raw["UpdateStatus"] = {"State": "updating", "StartedAt": stamp(self.clock)}
        self._pending_update[raw["ID"]] = 0
        return raw["ID"]

    def _service_rollback(self, args: list[str]) -> str:
        raw = self._lookup(args[-1])
        assert raw is not None
        self.clock += 10
        raw["UpdateStatus"] = {"State": "rollback_started", "StartedAt": stamp(self.clock)}
        self._pending_update[raw["ID"]] = 0
        return raw["ID"]

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

    def _node_ls(self, args: list[str]) -> str:
        return "\n".join(NODES)

    def _node_inspect(self, refs: list[str]) -> str:
        found = []
        for ref in refs:
            nid = next((n for n, (host, _) in NODES.items() if ref in (n, host)), None)
            if nid is None:
                raise fail(f"Error response from daemon: node {ref} not found")
            host, role = NODES[nid]
            found.append(
                {
                    "ID": nid,
                    "Spec": {"Role": role, "Availability": self.availability[nid], "Labels": {}},
                    "Description": {"Hostname": host, "Engine": {"EngineVersion": "20.10.24"}},
                    "Status": {"State": "ready", "Addr": f"198.18.77.{10 + int(nid[1])}"},
                    **(
                        {"ManagerStatus": {"Leader": True, "Reachability": "reachable"}}
                        if role == "manager"
                        else {}
                    ),
                }
            )
        return json.dumps(found)

    def _node_ps(self, args: list[str]) -> str:
        nodes = [a for a in args if a in NODES]
        for sid in list(self.services):
            self._step(sid)
        return "\n".join(
            t["ID"] for t in self.tasks if t["NodeID"] in nodes and t["DesiredState"] == "running"
        )

    def _node_update(self, args: list[str]) -> str:
        self.availability[args[-1]] = args[args.index("--availability") + 1]
        return args[-1]
