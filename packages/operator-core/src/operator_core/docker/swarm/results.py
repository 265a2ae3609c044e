"""The results of the swarm actions, as ``TypedDict``s (JSON-able, read from the engine).

Every result about one service starts with its identity block (``service_id``, ``name``);
every result about one node with ``node_id`` and ``hostname``.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

__all__ = [
    "AvailabilityResult",
    "ChangeConfig",
    "FailedTask",
    "HealthCheck",
    "ManagerStatus",
    "MovedTask",
    "NodeEntry",
    "NodeList",
    "PublishedPort",
    "ScaleResult",
    "ServiceDetails",
    "ServiceList",
    "ServiceLogLine",
    "ServiceLogs",
    "ServiceNetwork",
    "ServiceSummary",
    "TaskEntry",
    "TaskList",
    "UpdateResult",
    "UpdateStatus",
]


class ServiceSummary(TypedDict):
    """One service as a listing shows it."""

    service_id: str
    name: str
    mode: str
    image: str | None
    replicas_desired: int
    replicas_running: int
    update_state: str | None
    labels: dict[str, str]
    created_at: str | None
    updated_at: str | None


class ServiceList(TypedDict):
    """``list_services``: the services found and how many."""

    services: list[ServiceSummary]
    count: int


class UpdateStatus(TypedDict):
    """How a service's last update (or rollback) went, as the engine reports it."""

    state: str | None
    started_at: str | None
    completed_at: str | None
    message: str | None


class ChangeConfig(TypedDict):
    """A service's update or rollback config, durations in seconds (None: not given)."""

    parallelism: int | None
    delay_s: float | None
    failure_action: str | None
    monitor_s: float | None
    max_failure_ratio: float | None
    order: str | None


class HealthCheck(TypedDict):
    """The health check a service sets, durations in seconds; ``disabled``: it turns it off.

    A disabled check has only ``disabled``; any other has the rest.
    """

    disabled: NotRequired[bool]
    test: NotRequired[list[str]]
    interval_s: NotRequired[float | None]
    timeout_s: NotRequired[float | None]
    retries: NotRequired[int | None]
    start_period_s: NotRequired[float | None]


class PublishedPort(TypedDict):
    """A port a service publishes."""

    protocol: str | None
    target_port: int | None
    published_port: int | None
    publish_mode: str | None


class ServiceNetwork(TypedDict):
    """A network a service's tasks are attached to, and their aliases on it."""

    network_id: str | None
    aliases: list[str]


class ServiceDetails(ServiceSummary):
    """``inspect_service``: the summary plus how the service updates, checks and connects."""

    update_status: UpdateStatus | None
    update_config: ChangeConfig | None
    rollback_config: ChangeConfig | None
    can_roll_back: bool
    #: The replicas a rollback would give the service (its previous spec's); None when it
    #: has no previous spec or that spec is not replicated.
    previous_replicas: int | None
    health_check: HealthCheck | None
    ports: list[PublishedPort]
    networks: list[ServiceNetwork]
    constraints: list[str]


class TaskEntry(TypedDict):
    """One task of a service."""

    task_id: str
    slot: int | None
    node_id: str | None
    node: str | None
    desired_state: str
    state: str
    error: str | None
    exit_code: int | None
    container_id: str | None
    updated_at: str | None


class TaskList(TypedDict):
    """``list_service_tasks``: a service's tasks, newest first."""

    service_id: str
    name: str
    tasks: list[TaskEntry]
    count: int


class ServiceLogLine(TypedDict):
    """One line a task wrote, with the task and node it came from."""

    timestamp: str | None
    stream: str
    task_id: str | None
    slot: int | None
    node_id: str | None
    node: str | None
    text: str
    truncated: bool


class ServiceLogs(TypedDict):
    """``get_service_logs``: bounded like a container's logs."""

    service_id: str
    name: str
    stream: str
    lines: list[ServiceLogLine]
    line_count: int
    tail_limit: int
    truncated: bool
    truncation: list[str]
    bytes: int
    bytes_read: int


class ScaleResult(TypedDict):
    """``scale_service``: the replica count before and after, and whether tasks caught up."""

    service_id: str
    name: str
    replicas_before: int
    replicas_after: int
    running: int
    converged: bool
    changed: bool
    waited_s: float
    reason: str | None


class FailedTask(TypedDict):
    """A task of an update or rollback that failed, with the engine's error."""

    task_id: str
    slot: int | None
    node_id: str | None
    node: str | None
    state: str
    error: str | None
    exit_code: int | None


class UpdateResult(TypedDict):
    """``restart_service`` and ``rollback_service``: how the rolling change ended."""

    service_id: str
    name: str
    changed: bool
    update_state: str | None
    update_message: str | None
    converged: bool
    rolled_back: bool
    tasks_replaced: int
    replicas_desired: int
    replicas_running: int
    failed_tasks: list[FailedTask]
    waited_s: float
    reason: str | None


class ManagerStatus(TypedDict):
    """A manager node's part in the swarm's raft: whether it leads, whether it is reachable."""

    leader: bool
    reachability: str | None


class NodeEntry(TypedDict):
    """One swarm node."""

    node_id: str
    hostname: str
    role: str
    availability: str
    status: str
    addr: str | None
    manager_status: ManagerStatus | None
    engine_version: str | None
    labels: dict[str, str]
    tasks_running: int
    #: The services with a task meant to run on the node (a drain would move them).
    service_ids: list[str]


class NodeList(TypedDict):
    """``list_nodes``: the swarm's nodes."""

    nodes: list[NodeEntry]
    count: int


class MovedTask(TypedDict):
    """A task that left a drained node, and where its replacement runs."""

    task_id: str
    service_id: str
    service: str | None
    slot: int | None
    replacement_task_id: str | None
    to_node_id: str | None
    to_node: str | None


class AvailabilityResult(TypedDict):
    """``set_node_availability``: the node's availability before and after, tasks moved."""

    node_id: str
    hostname: str
    role: str
    before: str
    after: str
    changed: bool
    tasks_moved: list[MovedTask]
    tasks_left: int
    converged: bool
    waited_s: float
    reason: str | None
