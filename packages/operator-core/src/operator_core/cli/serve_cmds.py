"""``operator mcp`` (the MCP server), ``operator tools`` and ``operator demo``."""

from __future__ import annotations

import asyncio
import logging
from typing import Annotated, Literal

import typer
from rich.markup import escape

from operator_core import __version__
from operator_core.cli.app import ERR, OUT, fail, settings_of
from operator_core.cli.runtime import open_runner
from operator_core.cli.settings import Settings
from operator_core.errors import OperatorError
from operator_core.present import print_json
from operator_core.tools import tool_list

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the mcp, tools and demo commands to ``app``."""
    app.command("mcp")(mcp)
    app.command("tools")(tools)
    app.command("demo")(demo)


def mcp(
    ctx: typer.Context,
    transport: Annotated[
        Literal["stdio", "streamable-http"],
        typer.Option(help="stdio (for an MCP client that starts the server) or HTTP."),
    ] = "stdio",
    port: Annotated[
        int, typer.Option(min=1, max=65535, help="Port for streamable-http (on 127.0.0.1).")
    ] = 8765,
    approve: Annotated[
        Literal["elicit", "never"],
        typer.Option(
            help="How calls the policy wants approved are approved: 'elicit' asks the "
            "person through the MCP client (when it supports elicitation), 'never' denies "
            "them."
        ),
    ] = "elicit",
) -> None:
    """Serve every tool over MCP, under the policy and mode given, writing the audit trail.

    The global options apply: e.g. `operator --mode execute --policy p.toml mcp`.
    Logs go to stderr; stdout carries the protocol.
    """
    settings = settings_of(ctx)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(_serve(settings, transport, port, approve))
    except OperatorError as exc:
        fail(exc, as_json=False)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None


async def _serve(settings: Settings, transport: str, port: int, approve: str) -> None:
    """Build the runner and the server, then serve until the client goes away."""
    # The MCP SDK takes most of a second to import: only this command pays for it.
    from operator_core.mcp_server import (
        DEFAULT_HTTP_HOST,
        build_server,
        elicit_approval,
        policy_note,
        serve_http,
        serve_stdio,
    )

    approver = elicit_approval if approve == "elicit" else None
    async with open_runner(settings, approver=approver) as runner:
        policy = runner.policy
        server = build_server(
            runner, version=__version__, policy_note=policy_note(policy.mode, policy.dry_run)
        )
        ERR.print(
            f"[dim]operator-core MCP server: mode {policy.mode}"
            f"{', dry run' if policy.dry_run else ''}; policy {settings.policy_source()}; "
            f"audit {escape(str(settings.audit_db))}[/dim]"
        )
        if transport == "stdio":
            await serve_stdio(server)
        else:
            ERR.print(f"[dim]listening on http://{DEFAULT_HTTP_HOST}:{port}/mcp[/dim]")
            await serve_http(server, port=port)


def tools(
    ctx: typer.Context,
    shape: Annotated[
        Literal["anthropic", "openai", "mcp"],
        typer.Option("--format", help="The shape a model API or MCP expects."),
    ] = "anthropic",
) -> None:
    """Print every tool's definition as JSON, in the shape a model API expects."""
    print_json(OUT, tool_list(shape))


def demo(
    ctx: typer.Context,
    keep: Annotated[
        bool, typer.Option(help="Leave the demo container running (for a look around).")
    ] = False,
) -> None:
    """Run the demonstration: a service breaks, is found, diagnosed, restarted and healed.

    Needs the local test image; takes about ten seconds; removes what it made.
    """
    from operator_core import demo as story  # the demo's imports are for this command only

    try:
        client = settings_of(ctx).docker_client()
    except OperatorError as exc:
        fail(exc, as_json=False)
    raise typer.Exit(story.run_demo_cli(OUT, client=client, keep=keep))
