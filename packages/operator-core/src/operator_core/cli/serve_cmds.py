"""``operator mcp`` (the MCP server), ``operator tools`` and ``operator demo``."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from pathlib import Path
from typing import Annotated, Literal

import typer
from rich.markup import escape

from operator_core import __version__
from operator_core.cli.app import ERR, OUT, fail, settings_of
from operator_core.cli.exit_codes import ExitCode
from operator_core.cli.preflight import check_engine_options
from operator_core.cli.retention_cmds import audit_retention
from operator_core.cli.runtime import open_runner
from operator_core.cli.settings import Settings
from operator_core.errors import OperatorError
from operator_core.present import print_json
from operator_core.terminal import SafeFormatter
from operator_core.tools import TOOLS, tool_list
from operator_core.tools.hosts import tools_with_host

__all__ = ["LOOPBACK", "bind_port", "register"]

#: Where ``operator mcp --transport streamable-http`` listens (the MCP server's default host).
LOOPBACK = "127.0.0.1"


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
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            help="Serve this fleet (TOML inventory): every tool takes a host.",
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Serve every tool over MCP, under the policy and mode given, writing the audit trail.

    The global options apply: e.g. `operator --mode execute --policy p.toml mcp`.
    Logs go to stderr; stdout carries the protocol.
    """
    settings = settings_of(ctx)
    if inventory is not None:
        settings.inventory_file = inventory
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    sock = bind_port(port) if transport == "streamable-http" else None
    try:
        check_engine_options(settings.context)
        asyncio.run(_serve(settings, transport, port, approve, sock))
    except OperatorError as exc:
        fail(exc, as_json=False)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        if sock is not None:
            sock.close()


def bind_port(port: int, host: str = LOOPBACK) -> socket.socket:
    """Return a listening socket on ``host:port``; exit 1 (failed) saying why when it is taken.

    Bound before anything else starts, so a busy port is reported first and the server
    that runs is the one that holds the port.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        why = "is in use" if exc.errno == errno.EADDRINUSE else f"cannot be used: {exc.strerror}"
        ERR.print(
            f"[red]error[/red]: port {port} on {host} {why}. Stop what holds it "
            f"(`ss -ltnp 'sport = :{port}'` shows it) or pick another with --port."
        )
        raise typer.Exit(int(ExitCode.FAILED)) from None
    sock.set_inheritable(True)
    return sock


async def _serve(
    settings: Settings, transport: str, port: int, approve: str, sock: socket.socket | None
) -> None:
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
        # Start up (rate limits, own container, records a dead server left pending) while
        # serving; the first tool call waits for it.
        starting = asyncio.ensure_future(runner.start())
        starting.add_done_callback(lambda done: done.cancelled() or done.exception())
        policy = runner.policy
        server = build_server(
            runner,
            version=__version__,
            policy_note=policy_note(policy.mode, policy.dry_run),
            specs=runner.specs,
        )
        ERR.print(
            f"[dim]operator-core MCP server: mode {policy.mode}"
            f"{', dry run' if policy.dry_run else ''}; policy {settings.policy_source()}; "
            f"audit {escape(str(settings.audit_db))}[/dim]"
        )
        pruning = audit_retention(settings, runner.audit)  # the policy's [retention]
        try:
            if transport == "stdio":
                await serve_stdio(server)
            else:
                ERR.print(f"[dim]listening on http://{DEFAULT_HTTP_HOST}:{port}/mcp[/dim]")
                await serve_http(server, port=port, sock=sock)
        finally:
            if pruning is not None:
                pruning.cancel()


def tools(
    ctx: typer.Context,
    shape: Annotated[
        Literal["anthropic", "openai", "mcp"],
        typer.Option("--format", help="The shape a model API or MCP expects."),
    ] = "anthropic",
) -> None:
    """Print every tool's definition as JSON, in the shape a model API expects.

    With an inventory, each tool takes ``host`` (an enum of the inventory's names).
    """
    try:
        inventory = settings_of(ctx).inventory()
    except OperatorError as exc:
        fail(exc, as_json=True)
    specs = TOOLS if inventory is None else tools_with_host(inventory.names, inventory.default)
    print_json(OUT, tool_list(shape, specs if isinstance(specs, tuple) else specs.values()))


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
