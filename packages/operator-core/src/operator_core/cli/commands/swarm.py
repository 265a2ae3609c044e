"""``operator swarm``: services, tasks, logs, scale, restart, rollback, nodes, drain, activate.

Each runs its swarm tool through the runner, so the policy's ``[swarm]`` section, approvals
and the audit trail apply exactly as to an agent. They need a swarm manager: ``--host``
(or, in a fleet, the inventory name of a manager).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

import typer

from operator_core.cli.app import JsonOption, run_tool_command
from operator_core.cli.render.swarm import SWARM_RENDERERS
from operator_core.limits import (
    DEFAULT_DRAIN_WAIT_S,
    DEFAULT_SCALE_WAIT_S,
    DEFAULT_TAIL,
    DEFAULT_UPDATE_WAIT_S,
    MAX_REPLICAS,
    MAX_TAIL,
)

__all__ = ["swarm_app"]

swarm_app = typer.Typer(
    help="Look at and act on a swarm's services, tasks and nodes (on a manager).",
    no_args_is_help=True,
)

Service = Annotated[str, typer.Argument(help="Service name or id.", show_default=False)]
Node = Annotated[str, typer.Argument(help="Node hostname or id.", show_default=False)]


def _run(
    ctx: typer.Context,
    tool: str,
    arguments: Mapping[str, object],
    as_json: bool,
    progress: str = "",
) -> None:
    run_tool_command(
        ctx,
        tool,
        arguments,
        as_json=as_json,
        progress=progress or None,
        render=SWARM_RENDERERS.get(tool),
    )


@swarm_app.command("services")
def services(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Option(help="Only services whose name starts with this.")
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY[=VALUE]", help="Only services with this label (repeat: all must match)."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the swarm's services with their replicas running and desired."""
    _run(ctx, "docker_list_services", {"name": name, "label": label or None}, as_json)


@swarm_app.command("tasks")
def tasks(
    ctx: typer.Context,
    service: Service,
    all_tasks: Annotated[
        bool, typer.Option("--all", "-a", help="Include tasks that ended (the history).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Show where a service's tasks run, their state and errors."""
    arguments = {"service": service, "desired_state": None if all_tasks else "running"}
    _run(ctx, "docker_list_service_tasks", arguments, as_json)


@swarm_app.command("logs")
def logs(
    ctx: typer.Context,
    service: Service,
    tail: Annotated[
        int, typer.Option("--tail", "-n", help=f"Last lines of all tasks (1-{MAX_TAIL}).")
    ] = DEFAULT_TAIL,
    since: Annotated[str | None, typer.Option(help="From this time: 10m, 1h or ISO 8601.")] = None,
    until: Annotated[str | None, typer.Option(help="Up to this time.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Show a service's last log lines, each with its node and task."""
    arguments = {"service": service, "tail": tail, "since": since, "until": until}
    _run(ctx, "docker_get_service_logs", arguments, as_json)


@swarm_app.command("scale")
def scale(
    ctx: typer.Context,
    service: Service,
    replicas: Annotated[
        int, typer.Argument(help=f"Replicas wanted (0-{MAX_REPLICAS}; 0 needs approval).")
    ],
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the tasks.")
    ] = DEFAULT_SCALE_WAIT_S,
    as_json: JsonOption = False,
) -> None:
    """Scale a replicated service and wait until its tasks run."""
    arguments = {"service": service, "replicas": replicas, "timeout": timeout}
    _run(ctx, "docker_scale_service", arguments, as_json, f"scaling {service} to {replicas}")


@swarm_app.command("restart")
def restart(
    ctx: typer.Context,
    service: Service,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the rolling restart.")
    ] = DEFAULT_UPDATE_WAIT_S,
    as_json: JsonOption = False,
) -> None:
    """Replace every task of a service, rolling, as its update config says."""
    arguments = {"service": service, "timeout": timeout}
    _run(ctx, "docker_restart_service", arguments, as_json, f"restarting {service} (rolling)")


@swarm_app.command("rollback")
def rollback(
    ctx: typer.Context,
    service: Service,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for the rollback.")
    ] = DEFAULT_UPDATE_WAIT_S,
    as_json: JsonOption = False,
) -> None:
    """Put a service back on its previous spec."""
    arguments = {"service": service, "timeout": timeout}
    _run(ctx, "docker_rollback_service", arguments, as_json, f"rolling {service} back")


@swarm_app.command("nodes")
def nodes(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the swarm's nodes: role, availability, status and tasks running."""
    _run(ctx, "docker_list_nodes", {}, as_json)


@swarm_app.command("drain")
def drain(
    ctx: typer.Context,
    node: Node,
    timeout: Annotated[
        float, typer.Option(help="Seconds to wait for its tasks to move.")
    ] = DEFAULT_DRAIN_WAIT_S,
    as_json: JsonOption = False,
) -> None:
    """Drain a node: its tasks move to other nodes (managers are protected by default)."""
    arguments = {"node": node, "availability": "drain", "timeout": timeout}
    _run(ctx, "docker_set_node_availability", arguments, as_json, f"draining {node}")


@swarm_app.command("activate")
def activate(ctx: typer.Context, node: Node, as_json: JsonOption = False) -> None:
    """Make a drained or paused node take tasks again (tasks do not move back by themselves)."""
    arguments = {"node": node, "availability": "active"}
    _run(ctx, "docker_set_node_availability", arguments, as_json)
