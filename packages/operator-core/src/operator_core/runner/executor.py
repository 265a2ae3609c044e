"""``ContainerExecutor``: what ``ToolRunner`` needs of an executor, as a ``Protocol``.

One ``async`` method per tool (the tool's ``method``), each with the executor's own
parameters, defaults and result type. ``DockerActionExecutor`` conforms; so does the
tool tests' fake (``tests/tool_fakes.py``, type-checked by ``./dev test``), so a result
shape that drifts on either side fails mypy instead of passing with invented keys.
Adding a tool means adding its method here (a test checks every tool has one).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Protocol

from operator_core.limits import (
    DEFAULT_DRAIN_WAIT_S,
    DEFAULT_EVENT_LIMIT,
    DEFAULT_EXEC_TIMEOUT_S,
    DEFAULT_GRACE_S,
    DEFAULT_MAX_MATCHES,
    DEFAULT_SCALE_WAIT_S,
    DEFAULT_SEARCH_TAIL,
    DEFAULT_TAIL,
    DEFAULT_UPDATE_WAIT_S,
    DEFAULT_WAIT_S,
)

if TYPE_CHECKING:  # result types only: the runner never loads the docker layer
    from operator_core.docker.swarm.results import (
        AvailabilityResult,
        NodeEntry,
        NodeList,
        ScaleResult,
        ServiceDetails,
        ServiceList,
        ServiceLogs,
        TaskList,
        UpdateResult,
    )
    from operator_core.results import (
        ContainerDetails,
        ContainerList,
        EngineIdentity,
        EventsResult,
        ExecResult,
        InspectManyResult,
        KillResult,
        LogsResult,
        NetworkMembers,
        NetworkResult,
        PauseResult,
        RestartResult,
        SearchResult,
        StartResult,
        StatsResult,
        StopResult,
        TopResult,
        WaitResult,
    )

__all__ = ["ContainerExecutor", "HostRouting"]


class HostRouting(Protocol):
    """What the runner reads of an executor that routes calls to fleet hosts.

    (``operator_core.fleet.FleetExecutor``; see ``operator_core.tools.hosts``.)
    """

    @property
    def names(self) -> tuple[str, ...]:
        """The inventory's host names."""
        ...

    @property
    def default(self) -> str:
        """The host a call that names none goes to."""
        ...

    def host_labels(self) -> dict[str, dict[str, str]]:
        """Each host's labels."""
        ...


class ContainerExecutor(Protocol):
    """The executor methods the tools call (see ``DockerActionExecutor`` for each one)."""

    async def engine_identity(self, *, refresh: bool = False) -> EngineIdentity:
        """Return who the engine says it is: the key for anything kept per engine."""
        ...

    async def network_members(self, network: str) -> NetworkMembers:
        """Return the containers attached to ``network`` (for the alias rule)."""
        ...

    async def list_containers(
        self,
        all: bool = False,
        name: str | None = None,
        label: list[str] | None = None,
        status: str | None = None,
        health: str | None = None,
        compose_project: str | None = None,
        compose_service: str | None = None,
    ) -> ContainerList:
        """List containers matching every filter given."""
        ...

    async def inspect_container(self, container_id: str) -> ContainerDetails:
        """Read one container."""
        ...

    async def inspect_containers(self, refs: list[str]) -> InspectManyResult:
        """Read several containers."""
        ...

    async def get_container_logs(
        self,
        container_id: str,
        tail: int = DEFAULT_TAIL,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        stream: str = "both",
        timestamps: bool = True,
    ) -> LogsResult:
        """Read a container's last log lines."""
        ...

    async def wait_for_container(
        self, container_id: str, condition: str, timeout: float = DEFAULT_WAIT_S
    ) -> WaitResult:
        """Wait until a condition holds or ``timeout`` passes."""
        ...

    async def start_container(self, container_id: str) -> StartResult:
        """Start a container."""
        ...

    async def stop_container(self, container_id: str, timeout: int = DEFAULT_GRACE_S) -> StopResult:
        """Stop a container with a grace period of ``timeout`` seconds."""
        ...

    async def restart_container(
        self, container_id: str, timeout: int = DEFAULT_GRACE_S
    ) -> RestartResult:
        """Restart a container with a grace period of ``timeout`` seconds."""
        ...

    async def kill_container(self, container_id: str, signal: str | int = "SIGKILL") -> KillResult:
        """Send a signal to a container."""
        ...

    async def pause_container(self, container_id: str) -> PauseResult:
        """Pause a container."""
        ...

    async def unpause_container(self, container_id: str) -> PauseResult:
        """Unpause a container."""
        ...

    async def connect_container_to_network(
        self, container_id: str, network: str, alias: str | None = None
    ) -> NetworkResult:
        """Attach a container to a network."""
        ...

    async def disconnect_container_from_network(
        self, container_id: str, network: str, force: bool = False
    ) -> NetworkResult:
        """Detach a container from a network."""
        ...

    async def execute_command(
        self,
        container_id: str,
        command: list[str],
        user: str | None = None,
        workdir: str | None = None,
        env: dict[str, str] | None = None,
        timeout: float = DEFAULT_EXEC_TIMEOUT_S,
    ) -> ExecResult:
        """Run a command in a container, for at most ``timeout`` seconds."""
        ...

    async def get_events(
        self,
        since: str | datetime,
        until: str | datetime | None = None,
        container: str | None = None,
        service: str | None = None,
        types: list[str] | None = None,
        actions: list[str] | None = None,
        limit: int = DEFAULT_EVENT_LIMIT,
    ) -> EventsResult:
        """Read the engine's events in a window."""
        ...

    async def container_stats(self, refs: list[str] | None = None) -> StatsResult:
        """Read a one-shot stats snapshot."""
        ...

    async def container_top(self, container_id: str) -> TopResult:
        """List a container's processes."""
        ...

    async def search_logs(
        self,
        pattern: str,
        refs: list[str] | None = None,
        label: list[str] | None = None,
        compose_project: str | None = None,
        service: str | None = None,
        since: str | datetime | None = None,
        tail: int = DEFAULT_SEARCH_TAIL,
        regex: bool = False,
        ignore_case: bool = False,
        context: int = 0,
        max_matches: int = DEFAULT_MAX_MATCHES,
    ) -> SearchResult:
        """Search containers' logs."""
        ...

    async def list_services(
        self, name: str | None = None, label: list[str] | None = None
    ) -> ServiceList:
        """List the swarm's services."""
        ...

    async def inspect_service(self, service: str) -> ServiceDetails:
        """Read one service."""
        ...

    async def list_service_tasks(self, service: str, desired_state: str | None = None) -> TaskList:
        """List a service's tasks."""
        ...

    async def get_service_logs(
        self,
        service: str,
        tail: int = DEFAULT_TAIL,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        stream: str = "both",
    ) -> ServiceLogs:
        """Read a service's last log lines."""
        ...

    async def scale_service(
        self, service: str, replicas: int, timeout: float = DEFAULT_SCALE_WAIT_S
    ) -> ScaleResult:
        """Scale a replicated service and wait for its tasks."""
        ...

    async def restart_service(
        self, service: str, timeout: float = DEFAULT_UPDATE_WAIT_S
    ) -> UpdateResult:
        """Replace a service's tasks, rolling."""
        ...

    async def rollback_service(
        self, service: str, timeout: float = DEFAULT_UPDATE_WAIT_S
    ) -> UpdateResult:
        """Put a service back on its previous spec."""
        ...

    async def list_nodes(self) -> NodeList:
        """List the swarm's nodes."""
        ...

    async def inspect_node(self, node: str) -> NodeEntry:
        """Read one node (the runner resolves a node tool's target with it)."""
        ...

    async def set_node_availability(
        self, node: str, availability: str, timeout: float = DEFAULT_DRAIN_WAIT_S
    ) -> AvailabilityResult:
        """Set a node's availability; a drain waits for its tasks to move."""
        ...
