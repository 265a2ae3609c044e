"""``operator docker events | stats | top | search``: the diagnosis reads, for a person.

Each runs its read-only tool through the runner like every other command, so it works in
observe mode and leaves one audit record.
"""

from __future__ import annotations

from typing import Annotated

import typer

from operator_core.cli.app import JsonOption, run_tool_command
from operator_core.cli.commands.docker import Container, docker_app
from operator_core.cli.completion import complete_container
from operator_core.limits import (
    DEFAULT_EVENT_LIMIT,
    DEFAULT_MAX_MATCHES,
    DEFAULT_SEARCH_TAIL,
    MAX_CONTEXT_LINES,
    MAX_EVENT_LIMIT,
    MAX_MATCHES,
    MAX_SEARCH_TAIL,
)

__all__ = ["events", "search", "stats", "top"]

Containers = Annotated[
    list[str] | None,
    typer.Argument(
        help="Container names or ids (default: see below).",
        metavar="[CONTAINER]...",
        autocompletion=complete_container,
        show_default=False,
    ),
]


@docker_app.command("events")
def events(
    ctx: typer.Context,
    container: Annotated[
        str | None,
        typer.Argument(
            help="Only this container's events (it may be removed already).",
            metavar="[CONTAINER]",
            autocompletion=complete_container,
            show_default=False,
        ),
    ] = None,
    since: Annotated[
        str, typer.Option(help="From this time: relative (1h, 30m) or ISO 8601.")
    ] = "1h",
    until: Annotated[
        str | None, typer.Option(help="Up to this time (default: now).", show_default=False)
    ] = None,
    action: Annotated[
        list[str] | None,
        typer.Option(
            "--action",
            "-a",
            help="Only this action (die, oom, ...); repeatable.",
            show_default=False,
        ),
    ] = None,
    kind: Annotated[
        list[str] | None,
        typer.Option(
            "--type",
            help="Only this kind (container, network, ...); repeatable.",
            show_default=False,
        ),
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="Only this swarm service's containers.", show_default=False)
    ] = None,
    limit: Annotated[
        int, typer.Option(help=f"Keep the newest N events (1-{MAX_EVENT_LIMIT}).")
    ] = DEFAULT_EVENT_LIMIT,
    as_json: JsonOption = False,
) -> None:
    """Show what the engine reported in a window: deaths, OOM kills, health changes..."""
    run_tool_command(
        ctx,
        "docker_get_events",
        {
            "since": since,
            "until": until,
            "container": container,
            "service": service,
            "types": kind,
            "actions": action,
            "limit": limit,
        },
        as_json=as_json,
    )


@docker_app.command("stats")
def stats(ctx: typer.Context, containers: Containers = None, as_json: JsonOption = False) -> None:
    """Show CPU, memory, network and disk use once (default: every running container)."""
    run_tool_command(ctx, "docker_container_stats", {"refs": containers or None}, as_json=as_json)


@docker_app.command("top")
def top(ctx: typer.Context, container: Container, as_json: JsonOption = False) -> None:
    """Show the processes running in a container."""
    run_tool_command(ctx, "docker_container_top", {"container_id": container}, as_json=as_json)


@docker_app.command("search")
def search(
    ctx: typer.Context,
    pattern: Annotated[str, typer.Argument(help="Text to find (a regex with -E).")],
    containers: Containers = None,
    label: Annotated[
        list[str] | None,
        typer.Option(
            metavar="KEY[=VALUE]",
            help="Only containers with this label (repeat: all must match).",
            show_default=False,
        ),
    ] = None,
    project: Annotated[
        str | None, typer.Option(help="Only this Compose project.", show_default=False)
    ] = None,
    service: Annotated[
        str | None, typer.Option(help="Only this Compose service.", show_default=False)
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="Only lines after this time.", show_default=False)
    ] = None,
    tail: Annotated[
        int, typer.Option("--tail", "-n", help=f"Lines per container (1-{MAX_SEARCH_TAIL}).")
    ] = DEFAULT_SEARCH_TAIL,
    regex: Annotated[
        bool, typer.Option("--regex", "-E", help="PATTERN is an RE2 regular expression.")
    ] = False,
    ignore_case: Annotated[bool, typer.Option("--ignore-case", "-i", help="Ignore case.")] = False,
    context: Annotated[
        int,
        typer.Option("--context", "-C", help=f"Lines around each match (0-{MAX_CONTEXT_LINES})."),
    ] = 0,
    max_matches: Annotated[
        int, typer.Option("--max", "-m", help=f"Stop after N matches (1-{MAX_MATCHES}).")
    ] = DEFAULT_MAX_MATCHES,
    as_json: JsonOption = False,
) -> None:
    """Find a pattern in many containers' logs (default: every container)."""
    run_tool_command(
        ctx,
        "docker_search_logs",
        {
            "pattern": pattern,
            "refs": containers or None,
            "label": label or None,
            "compose_project": project,
            "service": service,
            "since": since,
            "tail": tail,
            "regex": regex,
            "ignore_case": ignore_case,
            "context": context,
            "max_matches": max_matches,
        },
        as_json=as_json,
    )
