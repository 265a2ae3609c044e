"""What each container action returns: ``TypedDict``s, plain JSON-able dicts at run time.

One identity block names the container in every result: ``container_id`` (the full id)
and ``name`` (without the leading slash). An action on one container adds ``state``, the
status the engine reports once the action is done. ``inspect_container`` keeps ``id``
(the same full id) and its nested ``state`` block; list and batch entries keep ``id``.

mypy checks every producer (the executor's methods) and every consumer against these, so
a shape that drifts fails the type check. Swarm results are in
``operator_core.docker.swarm.results``.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

__all__ = [
    "ActionIdentity",
    "CleanupReport",
    "ContainerDetails",
    "ContainerIdentity",
    "ContainerList",
    "ContainerState",
    "ContainerStats",
    "ContainerSummary",
    "EngineIdentity",
    "Event",
    "EventsResult",
    "ExecOutput",
    "ExecResult",
    "FoundContainer",
    "InspectManyResult",
    "KillResult",
    "LogLine",
    "LogMatch",
    "LogsResult",
    "NetworkMember",
    "NetworkMembers",
    "NetworkResult",
    "PauseResult",
    "Process",
    "RestartHistory",
    "RestartResult",
    "SearchResult",
    "SearchedContainer",
    "StartResult",
    "StatsResult",
    "StopFacts",
    "StopResult",
    "StopVerdict",
    "TopResult",
    "WaitResult",
]


class ContainerIdentity(TypedDict):
    """The identity block every result about one container carries."""

    container_id: str
    name: str


class ActionIdentity(ContainerIdentity):
    """The identity of an action's result, with the status the engine reports after it."""

    state: str


class StartResult(ActionIdentity):
    """``start_container``: whether it runs now, and whether this call started it."""

    running: bool
    changed: bool


class StopVerdict(TypedDict):
    """How a stopped container's process ended (see ``lifecycle.stop_verdict``)."""

    graceful_shutdown: bool
    killed: bool
    oom_killed: bool
    reason: str | None


class StopFacts(StopVerdict):
    """A stop's verdict with its exit code, duration and whether anything was stopped."""

    exit_code: int | None
    changed: bool
    stop_duration_s: float


class StopResult(ActionIdentity, StopFacts):
    """``stop_container``: the identity after the stop and how the process ended."""


class RestartResult(ActionIdentity):
    """``restart_container``: the new start, the previous one, and how the old process ended."""

    running: bool
    started_at: str | None
    previous_started_at: str | None
    stop: StopFacts
    changed: bool


class KillResult(ActionIdentity):
    """``kill_container``: the signal, whether it was sent, and the state after."""

    signal: str
    signal_sent: bool
    previous_state: str
    running: bool
    exit_code: int | None
    reason: str | None
    changed: bool


class PauseResult(ActionIdentity):
    """``pause_container`` and ``unpause_container``: paused or not, and if this call did it."""

    paused: bool
    changed: bool


class NetworkResult(ContainerIdentity):
    """``connect_container_to_network`` and ``disconnect_container_from_network``."""

    network: str
    network_id: str
    connected: bool
    aliases: list[str]
    networks: list[str]
    changed: bool


class NetworkMember(TypedDict):
    """One container attached to a network: who it is and the names it answers to there."""

    id: str
    name: str
    labels: dict[str, str]
    aliases: list[str]


class NetworkMembers(TypedDict):
    """``network_members``: the network and the containers attached to it (the alias rule)."""

    network: str
    network_id: str
    containers: list[NetworkMember]


class ContainerState(TypedDict):
    """The ``state`` block of ``inspect_container``."""

    status: str
    running: bool
    paused: bool
    restarting: bool
    oom_killed: bool
    exit_code: int | None
    started_at: str | None
    finished_at: str | None
    health: str | None


class RestartHistory(TypedDict):
    """What the engine keeps of a container's restarts, to tell whether it crash-loops.

    ``count`` is the engine's RestartCount (restarts its restart policy made);
    ``restarting`` is true while a crashed container waits out the policy's back-off.
    The engine keeps only the last exit: ``last_exit_code`` and ``last_oom_killed`` are
    those of the last time it stopped, None and false while it runs again after it (the
    engine resets them on start; ``get_events`` has every death with its code).
    """

    count: int
    policy: str | None
    restarting: bool
    last_exit_code: int | None
    last_oom_killed: bool
    last_started_at: str | None
    last_finished_at: str | None


class ContainerDetails(ContainerIdentity):
    """``inspect_container``: identity, ``id`` (the same full id), state and configuration."""

    id: str
    image: str | None
    state: ContainerState
    restart_count: int
    restarts: RestartHistory
    networks: list[str]
    labels: dict[str, str]


class ContainerSummary(ContainerIdentity):
    """One entry of ``list_containers``: what an agent needs to choose a container."""

    id: str
    image: str | None
    status: str
    health: str | None
    exit_code: int | None
    started_at: str | None
    finished_at: str | None
    restart_count: int
    labels: dict[str, str]
    compose_project: str | None
    compose_service: str | None
    networks: list[str]


class ContainerList(TypedDict):
    """``list_containers``: the containers found and how many."""

    containers: list[ContainerSummary]
    count: int


class FoundContainer(ContainerSummary):
    """One entry of ``inspect_containers``: a summary and the reference it answers."""

    reference: str


class InspectManyResult(TypedDict):
    """``inspect_containers``: the containers found, in the order asked, and the rest."""

    containers: list[FoundContainer]
    missing: list[str]


class LogLine(TypedDict):
    """One log line: the engine's time stamp (None when not asked for), stream, text."""

    timestamp: str | None
    stream: str
    text: str
    truncated: bool


class LogsResult(ContainerIdentity):
    """``get_container_logs``: the lines, and what was cut and why."""

    stream: str
    tty: bool
    lines: list[LogLine]
    line_count: int
    tail_limit: int
    truncated: bool
    truncation: list[str]
    bytes: int
    bytes_read: int


class CleanupReport(TypedDict):
    """What the clean-up after a timed-out or cancelled exec killed."""

    killed: int
    remaining: int | None
    error: str | None


class ExecOutput(TypedDict):
    """A command's stdout and stderr, each capped, with their full sizes."""

    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    truncated: bool
    stdout_bytes: int
    stderr_bytes: int


class ExecResult(ContainerIdentity, ExecOutput):
    """``execute_command``: exit code, output (capped), duration and any clean-up."""

    exit_code: int | None
    success: bool
    duration_s: float
    timed_out: bool
    cancelled: bool
    timeout_s: float
    cleanup: CleanupReport | None


class WaitResult(TypedDict):
    """``wait_for_container``: met or not, the state seen last, and why not.

    ``container_id`` is the full id, or the reference given when the container was gone
    before it could be read (then ``name`` is None).
    """

    container_id: str
    name: str | None
    condition: str
    met: bool
    state: str
    health: str | None
    exit_code: int | None
    reason: str | None
    waited_s: float
    polls: int


# --- diagnosis reads ------------------------------------------------------------------


class Event(TypedDict):
    """One engine event, as a read returns it."""

    time: str
    type: str
    action: str
    #: What follows the action's colon: ``unhealthy`` of ``health_status: unhealthy``.
    detail: str | None
    actor_id: str
    actor_name: str | None
    exit_code: int | None
    attributes: dict[str, str]


class EventsResult(TypedDict):
    """What ``get_events`` returns."""

    since: str
    until: str
    until_clamped: bool
    events: list[Event]
    count: int
    seen: int
    truncated: bool
    truncation: list[str]
    #: The oldest event (of any kind) the engine still held from ``since`` on; with
    #: ``engine_buffer`` in ``truncation``, what happened before it may be gone.
    engine_oldest: NotRequired[str | None]


class ContainerStats(TypedDict):
    """One container's resource use at one moment (exact bytes, from the engine's counters)."""

    container_id: str
    name: str
    cpu_percent: float | None
    memory_bytes: int | None
    memory_limit_bytes: int | None
    memory_percent: float | None
    network_rx_bytes: int | None
    network_tx_bytes: int | None
    block_read_bytes: int | None
    block_write_bytes: int | None
    pids: int | None


class StatsResult(TypedDict):
    """What ``container_stats`` returns."""

    containers: list[ContainerStats]
    count: int
    missing: list[str]


class Process(TypedDict):
    """One process of a container, as the host's ``ps`` sees it."""

    pid: int
    user: str
    elapsed: str
    command: str


class TopResult(TypedDict):
    """What ``container_top`` returns."""

    container_id: str
    name: str
    processes: list[Process]
    count: int


class LogMatch(TypedDict):
    """One matching line, with its container and context."""

    container_id: str
    name: str
    time: str | None
    stream: str
    line: str
    before: list[str]
    after: list[str]


class SearchedContainer(TypedDict):
    """How the search of one container went."""

    container_id: str
    name: str
    lines_read: int
    matches: int
    truncation: list[str]


class SearchResult(TypedDict):
    """What ``search_logs`` returns."""

    pattern: str
    regex: bool
    matches: list[LogMatch]
    match_count: int
    containers: list[SearchedContainer]
    not_searched: list[str]
    missing: list[str]
    truncated: bool
    truncation: list[str]


class EngineIdentity(TypedDict):
    """Who an engine says it is (``docker info``): the key for anything kept per engine."""

    engine_id: str
    engine_name: str | None
    #: The swarm's cluster ID, None outside a swarm and on a worker (only a manager's
    #: ``docker info`` says it; swarm objects are reached through managers).
    cluster_id: str | None
    #: This engine's node ID in its swarm, None outside a swarm.
    node_id: str | None
    #: Whether this engine is a swarm manager (can manage services and nodes).
    manager: bool
