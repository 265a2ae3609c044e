"""Turn swarm snapshots into results, and judge from tasks whether a service converged."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from operator_core.docker._engine.fields import number, text
from operator_core.docker.swarm._snapshot import NodeSnap, ServiceSnap, TaskSnap
from operator_core.docker.swarm.results import ChangeConfig, FailedTask, ServiceSummary, TaskEntry

__all__ = [
    "change_config",
    "converged",
    "desired_count",
    "failed_task",
    "node_names",
    "running_count",
    "service_summary",
    "task_entry",
]

#: Task states that mean the task failed (not merely ended).
_FAILED_STATES = frozenset({"failed", "rejected", "orphaned"})


def running_count(tasks: Iterable[TaskSnap]) -> int:
    """Return how many tasks the swarm wants running are running now."""
    return sum(1 for task in tasks if task.running and task.desired_state == "running")


def desired_count(snap: ServiceSnap, tasks: Iterable[TaskSnap]) -> int:
    """Return the replicas a service should run.

    A replicated service says so in its spec; a global one runs a task on every eligible
    node, which only the tasks the swarm wants running tell.
    """
    if snap.replicas is not None:
        return snap.replicas
    return sum(1 for task in tasks if task.desired_state == "running")


def converged(snap: ServiceSnap, tasks: Sequence[TaskSnap]) -> bool:
    """Whether the service runs what its spec asks and nothing else.

    As many tasks running as desired, every task the swarm wants running is running, and
    no task it wants stopped still runs (a scale-down or an update is finished).
    """
    wanted = [task for task in tasks if task.desired_state == "running"]
    leftovers = [task for task in tasks if task.desired_state != "running" and task.running]
    return (
        running_count(tasks) == desired_count(snap, tasks)
        and all(task.running for task in wanted)
        and not leftovers
    )


def service_summary(snap: ServiceSnap, tasks: Sequence[TaskSnap]) -> ServiceSummary:
    """Return what an agent needs to choose a service, from one read of it and its tasks."""
    return {
        "service_id": snap.id,
        "name": snap.name,
        "mode": snap.mode,
        "image": snap.image,
        "replicas_desired": desired_count(snap, tasks),
        "replicas_running": running_count(tasks),
        "update_state": snap.update.state,
        "labels": snap.labels,
        "created_at": snap.created_at,
        "updated_at": snap.updated_at,
    }


def node_names(nodes: Iterable[NodeSnap]) -> dict[str, str]:
    """Return each node's hostname by id."""
    return {node.id: node.hostname for node in nodes}


def task_entry(task: TaskSnap, names: Mapping[str, str]) -> TaskEntry:
    """Return one task as a listing shows it, with its node's hostname."""
    return {
        "task_id": task.id,
        "slot": task.slot,
        "node_id": task.node_id,
        "node": names.get(task.node_id) if task.node_id else None,
        "desired_state": task.desired_state,
        "state": task.state,
        "error": task.error,
        "exit_code": task.exit_code,
        "container_id": task.container_id,
        "updated_at": task.updated_at,
    }


def failed_task(task: TaskSnap, names: Mapping[str, str]) -> FailedTask | None:
    """Return a task as a failed one, with its error, or None if it did not fail."""
    if task.state not in _FAILED_STATES and not (task.ended and task.error):
        return None
    return {
        "task_id": task.id,
        "slot": task.slot,
        "node_id": task.node_id,
        "node": names.get(task.node_id) if task.node_id else None,
        "state": task.state,
        "error": task.error,
        "exit_code": task.exit_code,
    }


def change_config(config: object) -> ChangeConfig | None:
    """Return an update or rollback config with durations in seconds (None: none given)."""
    if not isinstance(config, Mapping) or not config:
        return None
    ratio = config.get("MaxFailureRatio")
    return {
        "parallelism": number(config.get("Parallelism")),
        "delay_s": _seconds(config.get("Delay", 0)),
        "failure_action": text(config.get("FailureAction")),
        "monitor_s": _seconds(config.get("Monitor", 0)),
        "max_failure_ratio": float(ratio)
        if isinstance(ratio, int | float) and not isinstance(ratio, bool)
        else None,
        "order": text(config.get("Order")),
    }


def _seconds(nanoseconds: object) -> float | None:
    """Return nanoseconds as seconds, or None when the engine gave no number."""
    return round(nanoseconds / 1e9, 3) if isinstance(nanoseconds, int | float) else None
