"""Swarm services, tasks and nodes as read once from a manager, in JSON-able form.

Reads are Engine API requests (``EngineClient``; errors mapped at its one boundary) whose
raw JSON is kept: an operator needs what a model would drop (the health check, networks,
a task's error). A listing costs a fixed number of requests: ``GET /services`` (or
``/nodes``) answers with every object in full, ``GET /tasks`` with every task asked for.

Times are ISO 8601 strings as the engine wrote them; durations, which the engine keeps in
nanoseconds, are seconds here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.fields import number, obj, objects, strings, text
from operator_core.docker.swarm.results import ManagerStatus

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
    spec: dict[str, object] = field(repr=False)
    endpoint: dict[str, object] = field(repr=False)
    #: The service object's version: an update names it, so a concurrent one is refused.
    version: int = 0


def _mode(mode: dict[str, object]) -> tuple[str, int | None]:
    """Return the service mode's name and its replica count (None when it has none)."""
    if "Replicated" in mode:
        return "replicated", number(obj(mode["Replicated"]).get("Replicas")) or 0
    if "ReplicatedJob" in mode:
        return "replicated-job", number(obj(mode["ReplicatedJob"]).get("TotalCompletions")) or 0
    if "GlobalJob" in mode:
        return "global-job", None
    return "global", None


def service_snap(raw: Mapping[str, object]) -> ServiceSnap:
    """Return a ServiceSnap of one entry of ``docker service inspect``'s JSON."""
    spec = obj(raw.get("Spec"))
    mode, replicas = _mode(obj(spec.get("Mode")))
    container = obj(obj(spec.get("TaskTemplate")).get("ContainerSpec"))
    status = obj(raw.get("UpdateStatus"))
    previous = obj(raw.get("PreviousSpec"))
    previous_mode, previous_replicas = _mode(obj(previous.get("Mode"))) if previous else ("", None)
    return ServiceSnap(
        id=str(raw.get("ID", "")),
        name=str(spec.get("Name", "")),
        mode=mode,
        replicas=replicas,
        image=text(container.get("Image")),
        labels=strings(spec.get("Labels")),
        created_at=_time(raw.get("CreatedAt")),
        updated_at=_time(raw.get("UpdatedAt")),
        update=UpdateStatus(
            state=text(status.get("State")),
            started_at=_time(status.get("StartedAt")),
            completed_at=_time(status.get("CompletedAt")),
            message=text(status.get("Message")),
        ),
        has_previous_spec=bool(previous),
        previous_replicas=previous_replicas if previous_mode == "replicated" else None,
        spec=spec,
        endpoint=obj(raw.get("Endpoint")),
        version=_version(raw),
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


def task_snap(raw: Mapping[str, object]) -> TaskSnap:
    """Return a TaskSnap of one entry of ``docker inspect --type task``'s JSON."""
    status = obj(raw.get("Status"))
    container = obj(status.get("ContainerStatus"))
    state = str(status.get("State", "unknown"))
    exit_code = container.get("ExitCode")
    slot = raw.get("Slot")
    return TaskSnap(
        id=str(raw.get("ID", "")),
        service_id=str(raw.get("ServiceID", "")),
        slot=int(slot) if isinstance(slot, int) and slot > 0 else None,
        node_id=text(raw.get("NodeID")) or None,
        desired_state=str(raw.get("DesiredState", "unknown")),
        state=state,
        message=text(status.get("Message")) or None,
        error=text(status.get("Err")) or None,
        exit_code=int(exit_code) if isinstance(exit_code, int) and state in ENDED_STATES else None,
        container_id=text(container.get("ContainerID")) or None,
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
    spec: dict[str, object] = field(default_factory=dict, repr=False)
    version: int = 0

    @property
    def manager(self) -> bool:
        """Whether the node is a manager of the swarm."""
        return self.role == "manager"

    def manager_status(self) -> ManagerStatus | None:
        """Return a manager's leadership and reachability, None for a worker."""
        if not self.manager:
            return None
        return {"leader": self.leader, "reachability": self.reachability}


def node_snap(raw: Mapping[str, object]) -> NodeSnap:
    """Return a NodeSnap of one entry of ``docker node inspect``'s JSON."""
    spec = obj(raw.get("Spec"))
    description = obj(raw.get("Description"))
    status = obj(raw.get("Status"))
    manager = obj(raw.get("ManagerStatus"))
    return NodeSnap(
        id=str(raw.get("ID", "")),
        hostname=str(description.get("Hostname", "")),
        role=str(spec.get("Role", "unknown")),
        availability=str(spec.get("Availability", "unknown")),
        status=str(status.get("State", "unknown")),
        addr=text(status.get("Addr")) or None,
        leader=bool(manager.get("Leader", False)),
        reachability=text(manager.get("Reachability")),
        engine_version=text(obj(description.get("Engine")).get("EngineVersion")),
        labels=strings(spec.get("Labels")),
        spec=spec,
        version=_version(raw),
    )


def _version(raw: Mapping[str, object]) -> int:
    """Return a swarm object's version index (0 when the engine gave none)."""
    index = obj(raw.get("Version")).get("Index")
    return index if isinstance(index, int) else 0


def _objects(found: object) -> list[dict[str, object]]:
    """Return the objects of a listing (anything else in it is skipped)."""
    return objects(found)


async def read_service(api: EngineClient, reference: str) -> ServiceSnap:
    """Return a fresh snapshot of one service by name, id or id prefix (ServiceNotFound)."""
    return service_snap(await api.get_object(f"/services/{reference}"))


async def read_services(
    api: EngineClient, filters: Mapping[str, list[str]] | None = None
) -> list[ServiceSnap]:
    """Return every service ``GET /services`` lists with ``filters``, sorted by name."""
    params = {"filters": dict(filters)} if filters else None
    snaps = [service_snap(raw) for raw in _objects(await api.get("/services", params))]
    return sorted(snaps, key=lambda snap: snap.name)


async def _tasks(api: EngineClient, filters: dict[str, list[str]]) -> list[TaskSnap]:
    """Return the tasks ``GET /tasks`` lists with ``filters``."""
    found = await api.get("/tasks", {"filters": filters})
    return [task_snap(raw) for raw in _objects(found)]


async def read_tasks(
    api: EngineClient, service_ids: Sequence[str], desired_state: str | None = None
) -> list[TaskSnap]:
    """Return the tasks of ``service_ids`` (history included unless ``desired_state``)."""
    if not service_ids:
        return []
    filters = {"service": list(service_ids)}
    if desired_state is not None:
        filters["desired-state"] = [desired_state]
    return await _tasks(api, filters)


async def tasks_on_nodes(api: EngineClient, node_ids: Sequence[str]) -> list[TaskSnap]:
    """Return the tasks the swarm wants running on ``node_ids``."""
    if not node_ids:
        return []
    return await _tasks(api, {"node": list(node_ids), "desired-state": ["running"]})


async def read_nodes(api: EngineClient, ids: Sequence[str] | None = None) -> list[NodeSnap]:
    """Return the nodes ``ids`` name (default: every node of the swarm), by hostname.

    One ``GET /nodes``; a node named but gone since is left out.
    """
    if ids is not None and not ids:
        return []
    snaps = [node_snap(raw) for raw in _objects(await api.get("/nodes"))]
    if ids is not None:
        wanted = set(ids)
        snaps = [snap for snap in snaps if snap.id in wanted]
    return sorted(snaps, key=lambda snap: (snap.hostname, snap.id))


async def read_node(api: EngineClient, reference: str) -> NodeSnap:
    """Return a fresh snapshot of one node, named by id, id prefix or hostname."""
    return node_snap(await api.get_object(f"/nodes/{reference}"))
