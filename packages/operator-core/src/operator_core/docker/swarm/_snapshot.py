"""Swarm services, tasks and nodes as read once from a manager, in JSON-able form.

Reads go through ``_engine.run_cli`` (python-on-whales' ``run``, so its exception types
and ``_engine.translate`` apply) as raw JSON: python-on-whales' service and task models
drop what an operator needs (the health check, networks, a task's error), and its
``Service``/``Node``/``Task`` objects re-inspect on every attribute read. A listing costs
a fixed number of processes: ``ls -q`` and one ``inspect`` of every id found.

Times are ISO 8601 strings as the engine wrote them; durations, which the engine keeps in
nanoseconds, are seconds here.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from python_on_whales.exceptions import DockerException

from operator_core.docker._engine import cli as _engine

__all__ = [
    "NodeSnap",
    "ServiceSnap",
    "TaskSnap",
    "UpdateStatus",
    "node_snap",
    "read_node",
    "read_nodes",
    "read_service",
    "read_services",
    "read_tasks",
    "service_snap",
    "task_snap",
    "tasks_on_nodes",
]

_NS = 1e9
#: Task states after which a task never runs again.
ENDED_STATES = frozenset({"complete", "shutdown", "failed", "rejected", "orphaned", "remove"})


def _seconds(nanoseconds: object) -> float | None:
    """Return a duration the engine gave in nanoseconds as seconds, or None."""
    return round(nanoseconds / _NS, 3) if isinstance(nanoseconds, int | float) else None


def _time(value: object) -> str | None:
    """Return an engine time, or None where it has none (year 1, which the engine means so)."""
    text = str(value) if value else ""
    return None if not text or text.startswith("0001-") else text


@dataclass(frozen=True)
class UpdateStatus:
    """A service's last update or rollback: its state, when it began and ended, why."""

    state: str | None
    started_at: str | None
    completed_at: str | None
    message: str | None


@dataclass(frozen=True)
class ServiceSnap:
    """What one ``docker service inspect`` said about a service."""

    id: str
    name: str
    mode: str
    replicas: int | None
    image: str | None
    labels: dict[str, str]
    created_at: str | None
    updated_at: str | None
    update: UpdateStatus
    has_previous_spec: bool
    #: The replicas the previous spec had (what a rollback gives back), when replicated.
    previous_replicas: int | None
    spec: dict[str, Any] = field(repr=False)
    endpoint: dict[str, Any] = field(repr=False)


def _mode(mode: dict[str, Any]) -> tuple[str, int | None]:
    """Return the service mode's name and its replica count (None when it has none)."""
    if "Replicated" in mode:
        return "replicated", int((mode["Replicated"] or {}).get("Replicas", 0))
    if "ReplicatedJob" in mode:
        return "replicated-job", int((mode["ReplicatedJob"] or {}).get("TotalCompletions", 0))
    if "GlobalJob" in mode:
        return "global-job", None
    return "global", None


def service_snap(raw: dict[str, Any]) -> ServiceSnap:
    """Return a ServiceSnap of one entry of ``docker service inspect``'s JSON."""
    spec = raw.get("Spec") or {}
    mode, replicas = _mode(spec.get("Mode") or {})
    container = (spec.get("TaskTemplate") or {}).get("ContainerSpec") or {}
    status = raw.get("UpdateStatus") or {}
    previous = raw.get("PreviousSpec") or {}
    previous_mode, previous_replicas = _mode(previous.get("Mode") or {}) if previous else ("", None)
    return ServiceSnap(
        id=str(raw.get("ID", "")),
        name=str(spec.get("Name", "")),
        mode=mode,
        replicas=replicas,
        image=container.get("Image"),
        labels=dict(spec.get("Labels") or {}),
        created_at=_time(raw.get("CreatedAt")),
        updated_at=_time(raw.get("UpdatedAt")),
        update=UpdateStatus(
            state=status.get("State"),
            started_at=_time(status.get("StartedAt")),
            completed_at=_time(status.get("CompletedAt")),
            message=status.get("Message"),
        ),
        has_previous_spec=bool(previous),
        previous_replicas=previous_replicas if previous_mode == "replicated" else None,
        spec=spec,
        endpoint=raw.get("Endpoint") or {},
    )


@dataclass(frozen=True)
class TaskSnap:
    """One task of a service: where it runs, what it should do and what it does."""

    id: str
    service_id: str
    slot: int | None
    node_id: str | None
    desired_state: str
    state: str
    message: str | None
    error: str | None
    exit_code: int | None
    container_id: str | None
    created_at: str | None
    updated_at: str | None

    @property
    def running(self) -> bool:
        """Whether the task's container is running now."""
        return self.state == "running"

    @property
    def ended(self) -> bool:
        """Whether the task has ended for good (it is never restarted; a new task is made)."""
        return self.state in ENDED_STATES


def task_snap(raw: dict[str, Any]) -> TaskSnap:
    """Return a TaskSnap of one entry of ``docker inspect --type task``'s JSON."""
    status = raw.get("Status") or {}
    container = status.get("ContainerStatus") or {}
    state = str(status.get("State", "unknown"))
    exit_code = container.get("ExitCode")
    slot = raw.get("Slot")
    return TaskSnap(
        id=str(raw.get("ID", "")),
        service_id=str(raw.get("ServiceID", "")),
        slot=int(slot) if isinstance(slot, int) and slot > 0 else None,
        node_id=raw.get("NodeID") or None,
        desired_state=str(raw.get("DesiredState", "unknown")),
        state=state,
        message=status.get("Message") or None,
        error=status.get("Err") or None,
        exit_code=int(exit_code) if isinstance(exit_code, int) and state in ENDED_STATES else None,
        container_id=container.get("ContainerID") or None,
        created_at=_time(raw.get("CreatedAt")),
        updated_at=_time(status.get("Timestamp")) or _time(raw.get("UpdatedAt")),
    )


@dataclass(frozen=True)
class NodeSnap:
    """What one ``docker node inspect`` said about a swarm node."""

    id: str
    hostname: str
    role: str
    availability: str
    status: str
    addr: str | None
    leader: bool
    reachability: str | None
    engine_version: str | None
    labels: dict[str, str]

    @property
    def manager(self) -> bool:
        """Whether the node is a manager of the swarm."""
        return self.role == "manager"

    def manager_status(self) -> dict[str, Any] | None:
        """Return a manager's leadership and reachability, None for a worker."""
        if not self.manager:
            return None
        return {"leader": self.leader, "reachability": self.reachability}


def node_snap(raw: dict[str, Any]) -> NodeSnap:
    """Return a NodeSnap of one entry of ``docker node inspect``'s JSON."""
    spec = raw.get("Spec") or {}
    description = raw.get("Description") or {}
    status = raw.get("Status") or {}
    manager = raw.get("ManagerStatus") or {}
    return NodeSnap(
        id=str(raw.get("ID", "")),
        hostname=str(description.get("Hostname", "")),
        role=str(spec.get("Role", "unknown")),
        availability=str(spec.get("Availability", "unknown")),
        status=str(status.get("State", "unknown")),
        addr=status.get("Addr") or None,
        leader=bool(manager.get("Leader", False)),
        reachability=manager.get("Reachability"),
        engine_version=(description.get("Engine") or {}).get("EngineVersion"),
        labels=dict(spec.get("Labels") or {}),
    )


def _json_list(output: str) -> list[dict[str, Any]]:
    """Return the list of objects an ``inspect`` printed."""
    parsed = json.loads(output or "[]")
    return [item for item in parsed if isinstance(item, dict)] if isinstance(parsed, list) else []


def _ids(output: str) -> list[str]:
    """Return the ids a ``-q`` listing printed, each once, in order."""
    return list(dict.fromkeys(line.strip() for line in output.splitlines() if line.strip()))


def _inspect(client: Any, args: Sequence[str], ids: Sequence[str]) -> list[dict[str, Any]]:
    """Inspect ``ids`` in one process; objects that vanished since the listing are left out.

    ``docker inspect`` prints what it found and exits 1 when some ids are gone (a task
    pruned from the history, a service removed): that part is kept.
    """
    if not ids:
        return []
    try:
        return _json_list(_engine.run_cli(client, [*args, *ids]))
    except DockerException as exc:
        found = _json_list(exc.stdout or "[]") if (exc.stdout or "").strip() else []
        gone = any(word in (exc.stderr or "").lower() for word in ("not found", "no such"))
        if not found or not gone:
            raise
        return found


def read_service(client: Any, reference: str) -> ServiceSnap:
    """Return a fresh snapshot of one service (NoSuchService, translated, when none)."""
    found = _json_list(_engine.run_cli(client, ["service", "inspect", reference]))
    if not found:  # the CLI prints [] and a "no such service" line for a missing one
        raise DockerException(["docker", "service", "inspect"], 1, None, b"no such service")
    return service_snap(found[0])


def read_services(client: Any, filters: Iterable[str] = ()) -> list[ServiceSnap]:
    """Return every service ``docker service ls`` lists with ``filters``, sorted by name."""
    args = ["service", "ls", "--quiet"]
    for spec in filters:
        args += ["--filter", spec]
    ids = _ids(_engine.run_cli(client, args))
    snaps = [service_snap(raw) for raw in _inspect(client, ["service", "inspect"], ids)]
    return sorted(snaps, key=lambda snap: snap.name)


def read_tasks(
    client: Any, service_ids: Sequence[str], desired_state: str | None = None
) -> list[TaskSnap]:
    """Return the tasks of ``service_ids`` (history included unless ``desired_state``)."""
    if not service_ids:
        return []
    args = ["service", "ps", "--quiet", "--no-trunc"]
    if desired_state is not None:
        args += ["--filter", f"desired-state={desired_state}"]
    ids = _ids(_engine.run_cli(client, [*args, *service_ids]))
    return [task_snap(raw) for raw in _inspect(client, ["inspect", "--type", "task"], ids)]


def tasks_on_nodes(client: Any, node_ids: Sequence[str]) -> list[TaskSnap]:
    """Return the tasks the swarm wants running on ``node_ids`` (``docker node ps``)."""
    if not node_ids:
        return []
    args = ["node", "ps", "--quiet", "--no-trunc", "--filter", "desired-state=running"]
    ids = _ids(_engine.run_cli(client, [*args, *node_ids]))
    return [task_snap(raw) for raw in _inspect(client, ["inspect", "--type", "task"], ids)]


def read_nodes(client: Any, ids: Sequence[str] | None = None) -> list[NodeSnap]:
    """Return the nodes ``ids`` name (default: every node of the swarm), by hostname."""
    wanted = _ids(_engine.run_cli(client, ["node", "ls", "--quiet"])) if ids is None else ids
    snaps = [node_snap(raw) for raw in _inspect(client, ["node", "inspect"], list(wanted))]
    return sorted(snaps, key=lambda snap: (snap.hostname, snap.id))


def read_node(client: Any, reference: str) -> NodeSnap:
    """Return a fresh snapshot of one node, named by id, id prefix or hostname."""
    found = _json_list(_engine.run_cli(client, ["node", "inspect", reference]))
    if not found:
        raise DockerException(["docker", "node", "inspect"], 1, None, b"no such node")
    return node_snap(found[0])
