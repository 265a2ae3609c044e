"""The swarm tools: services, their tasks and logs, scaling, rolling restarts, nodes.

They run on a swarm manager (in a fleet, name the manager as ``host``). Read-only tools
run in observe mode; the mutating ones are judged by the policy's ``[swarm]`` section
(protected services and nodes, replica bounds, managers never drained or paused by
default) and, like the container tools, by its approvals, rate limits and dry run. Each
input model checks what the executor would refuse, so a bad call starts no docker process.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from operator_core.limits import (
    DEFAULT_DRAIN_WAIT_S,
    DEFAULT_SCALE_WAIT_S,
    DEFAULT_TAIL,
    DEFAULT_UPDATE_WAIT_S,
    MAX_REPLICAS,
    MAX_TAIL,
)
from operator_core.tools.params import NO_BOOL, LabelFilters
from operator_core.tools.spec import Risk, ToolSpec, read_spec
from operator_core.validate import REFERENCE_PATTERN
from operator_core.words import Availability, DesiredState, Stream

__all__ = [
    "MAX_TOOL_SWARM_WAIT_S",
    "SWARM_TOOLS",
    "NodeAvailabilityInput",
    "NodeListInput",
    "ScaleInput",
    "ServiceInput",
    "ServiceListInput",
    "ServiceLogsInput",
    "ServiceTasksInput",
    "ServiceUpdateInput",
]

#: The longest a swarm tool waits for the cluster: ten minutes of the executor's hour.
MAX_TOOL_SWARM_WAIT_S = 600


ServiceRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        pattern=REFERENCE_PATTERN,
        description="Service name or id.",
    ),
]
NodeRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        pattern=REFERENCE_PATTERN,
        description="Node hostname or id.",
    ),
]


WaitSeconds = Annotated[
    float,
    Field(
        gt=0,
        le=MAX_TOOL_SWARM_WAIT_S,
        description="Seconds to converge (then converged is false).",
    ),
    NO_BOOL,
]


class _SwarmInput(BaseModel):
    """Base of every swarm tool input: unknown keys and non-finite numbers are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ServiceListInput(_SwarmInput):
    """List services, optionally filtered."""

    name: Annotated[
        str | None,
        Field(max_length=256, description="Name starts with this."),
    ] = None
    label: Annotated[LabelFilters, Field(description="Only with every one of these labels.")] = None


class NodeListInput(_SwarmInput):
    """List nodes: no arguments."""


class ServiceInput(_SwarmInput):
    """A tool that needs only a service."""

    service: ServiceRef


class ServiceTasksInput(ServiceInput):
    """List a service's tasks."""

    desired_state: Annotated[
        DesiredState | None,
        Field(description="Only tasks meant to be in this state."),
    ] = None


class ServiceLogsInput(ServiceInput):
    """Read a service's logs."""

    tail: Annotated[
        int,
        Field(ge=1, le=MAX_TAIL, description="How many last lines."),
        NO_BOOL,
    ] = DEFAULT_TAIL
    since: Annotated[
        str | None,
        Field(max_length=256, description="Only lines after: ISO 8601 or '10m'."),
    ] = None
    until: Annotated[
        str | None,
        Field(max_length=256, description="Only lines before: ISO 8601 or '5m'."),
    ] = None
    stream: Annotated[Stream, Field(description="Which output to read.")] = "both"


class ScaleInput(ServiceInput):
    """Scale a replicated service."""

    replicas: Annotated[
        int,
        Field(ge=0, le=MAX_REPLICAS, description="The replica count wanted (0 stops it all)."),
        NO_BOOL,
    ]
    timeout: WaitSeconds = DEFAULT_SCALE_WAIT_S


class ServiceUpdateInput(ServiceInput):
    """Restart or roll back a service."""

    timeout: WaitSeconds = DEFAULT_UPDATE_WAIT_S


class NodeAvailabilityInput(_SwarmInput):
    """Set a node's availability."""

    node: NodeRef
    availability: Annotated[
        Availability,
        Field(description="active: schedule tasks; pause: no new ones; drain: move them off."),
    ]
    timeout: WaitSeconds = DEFAULT_DRAIN_WAIT_S


def _read(name: str, title: str, description: str, model: type, method: str) -> ToolSpec:
    """Return the spec of a read-only swarm tool."""
    return read_spec(name, title, description, model, method, None)


def _act(
    name: str,
    title: str,
    description: str,
    model: type,
    method: str,
    risk: Risk,
    *,
    kind: str = "service",
    idempotent: bool,
) -> ToolSpec:
    """Return the spec of a tool that changes a service or a node."""
    return ToolSpec(
        name=name,
        title=title,
        description=description,
        input_model=model,
        method=method,
        risk=risk,
        read_only=False,
        destructive=True,
        idempotent=idempotent,
        target="service" if kind == "service" else "node",
        target_kind="service" if kind == "service" else "node",
    )


SWARM_TOOLS: tuple[ToolSpec, ...] = (
    _read(
        "docker_list_services",
        "List swarm services",
        "Find swarm services (compact: verbose or fields for more). Changes nothing.",
        ServiceListInput,
        "list_services",
    ),
    _read(
        "docker_inspect_service",
        "Inspect a swarm service",
        "Read one service: replicas, update and rollback config, health check, ports, "
        "networks, placement, last update's state. Changes nothing.",
        ServiceInput,
        "inspect_service",
    ),
    _read(
        "docker_list_service_tasks",
        "List a service's tasks",
        "A service's current tasks, newest first (node, state, error, exit code); `ended` "
        "sums the ended ones (verbose or desired_state: every task). Changes nothing.",
        ServiceTasksInput,
        "list_service_tasks",
    ),
    _read(
        "docker_get_service_logs",
        "Read a service's logs",
        f"A service's last lines (default {DEFAULT_TAIL}, at most {MAX_TAIL}) in time order, "
        "each with its task and node; truncated says if cut. Changes nothing.",
        ServiceLogsInput,
        "get_service_logs",
    ),
    _read(
        "docker_list_nodes",
        "List swarm nodes",
        "Find swarm nodes (compact: verbose or fields for more). Changes nothing.",
        NodeListInput,
        "list_nodes",
    ),
    _act(
        "docker_scale_service",
        "Scale a swarm service",
        "Set a replicated service's replica count and wait (timeout s) until that many "
        "run. Returns replicas before and after, running, converged, changed. Scaling to "
        "0 stops it.",
        ScaleInput,
        "scale_service",
        Risk.MEDIUM,
        idempotent=True,
    ),
    _act(
        "docker_restart_service",
        "Restart a swarm service (rolling)",
        "Replace every task of a service, rolling by its update config, and wait for the "
        "end. For unhealthy or stuck tasks. Returns tasks_replaced, converged, "
        "update_state, rolled_back, failed_tasks.",
        ServiceUpdateInput,
        "restart_service",
        Risk.HIGH,
        idempotent=False,
    ),
    _act(
        "docker_rollback_service",
        "Roll back a swarm service",
        "Put a service back on its previous spec, rolling, and wait. After a bad update. "
        "Returns as docker_restart_service (no previous spec: changed=false).",
        ServiceUpdateInput,
        "rollback_service",
        Risk.HIGH,
        idempotent=False,
    ),
    _act(
        "docker_set_node_availability",
        "Drain, pause or activate a node",
        "Drain (move its tasks away, waiting until they run elsewhere), pause (no new "
        "tasks) or activate a swarm node. Returns before, after, tasks_moved, converged. "
        "Managers are protected from drain and pause by default.",
        NodeAvailabilityInput,
        "set_node_availability",
        Risk.HIGH,
        kind="node",
        idempotent=True,
    ),
)
