"""``operator mcp`` (the MCP server), ``operator tools`` and ``operator demo``."""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import typer
from rich.markup import escape

from operator_core import __version__
from operator_core.cli.app import ERR, OUT, fail, settings_of
from operator_core.cli.commands.retention import audit_retention
from operator_core.cli.exit_codes import ExitCode
from operator_core.cli.http_options import http_options, refuse_http_only
from operator_core.cli.preflight import check_engine_options
from operator_core.cli.runtime import open_runner
from operator_core.cli.settings import Settings
from operator_core.errors import OperatorError
from operator_core.limits import HTTP_MAX_SESSIONS, HTTP_READ_TIMEOUT_S, HTTP_SESSION_IDLE_S
from operator_core.present.terminal import SafeFormatter
from operator_core.present.views import print_json
from operator_core.tools import TOOLS, tool_list
from operator_core.tools.hosts import tools_with_host
from operator_core.tools.offer import offer, parse_toolsets
from operator_core.tools.spec import ToolsetName

if TYPE_CHECKING:
    from operator_core.mcp.http import HttpOptions

__all__ = ["LOOPBACK", "bind_port", "register"]

#: Where ``operator mcp --transport streamable-http`` listens (the MCP server's default host).
LOOPBACK = "127.0.0.1"


_BIND_HELP = (
    "ADDR[:PORT] to listen on (streamable-http) [default: 127.0.0.1]. An address other "
    "than loopback (0.0.0.0 included) requires a bearer token."
)
_BEARER_FILE_HELP = (
    "File holding the bearer token clients must send (else $OPERATOR_MCP_TOKEN, else the "
    "Docker secret /run/secrets/operator_mcp_token). Never on the command line."
)
_ALLOW_HOST_HELP = (
    "A name clients use for this server in its URL (repeatable), beyond loopback and the "
    "bind address: the Host and Origin checks refuse others."
)


_TOOLSETS_HELP = (
    "Offer only these toolsets: containers, diagnosis, swarm (comma-separated or "
    "repeated; the policy's `toolsets` narrows them further)."
)
_ALL_TOOLS_HELP = (
    "List every tool, also those the policy denies (for inspection; calls are judged "
    "as ever). By default observe mode lists only read-only tools."
)


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
        int | None,
        typer.Option(min=1, max=65535, help="Port for streamable-http [default: 8765]."),
    ] = None,
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
    bind: Annotated[str | None, typer.Option(metavar="ADDR[:PORT]", help=_BIND_HELP)] = None,
    token_file: Annotated[
        Path | None, typer.Option(metavar="FILE", help=_BEARER_FILE_HELP, dir_okay=False)
    ] = None,
    tls_cert: Annotated[
        Path | None, typer.Option(metavar="FILE", help="TLS certificate (PEM).")
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(metavar="FILE", help="TLS private key (PEM).")
    ] = None,
    allow_host: Annotated[list[str], typer.Option(metavar="NAME", help=_ALLOW_HOST_HELP)] = [],  # noqa: B006
    max_sessions: Annotated[
        int, typer.Option(min=1, metavar="N", help="Most MCP sessions open at once (HTTP).")
    ] = HTTP_MAX_SESSIONS,
    session_idle_timeout: Annotated[
        float,
        typer.Option(min=0.01, metavar="SECONDS", help="Idle MCP sessions are closed after this."),
    ] = HTTP_SESSION_IDLE_S,
    read_timeout: Annotated[
        float,
        typer.Option(
            min=0.01,
            metavar="SECONDS",
            help="Seconds a client has to send a request's headers, and "
            "again its body, before it is cut off.",
        ),
    ] = HTTP_READ_TIMEOUT_S,
    toolsets: Annotated[list[str], typer.Option(metavar="SETS", help=_TOOLSETS_HELP)] = [],  # noqa: B006
    all_tools: Annotated[bool, typer.Option(help=_ALL_TOOLS_HELP)] = False,
) -> None:
    """Serve every tool over MCP, under the policy and mode given, writing the audit trail.

    The global options apply: e.g. `operator --mode execute --policy p.toml mcp`.
    Logs go to stderr; stdout carries the protocol. Over HTTP, an address other than
    loopback (--bind 0.0.0.0) needs a bearer token (--token-file, $OPERATOR_MCP_TOKEN or
    the Docker secret operator_mcp_token).
    """
    settings = settings_of(ctx)
    if inventory is not None:
        settings.inventory_file = inventory
    handler = logging.StreamHandler()
    handler.setFormatter(SafeFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.WARNING, handlers=[handler])
    given: dict[str, Any] = {"--bind": bind, "--port": port, "--token-file": token_file}
    given |= {"--tls-cert": tls_cert, "--tls-key": tls_key, "--allow-host": allow_host}
    limits = (max_sessions, session_idle_timeout, read_timeout)
    options = _http_or_refuse(transport, given, limits)
    try:
        chosen = parse_toolsets(toolsets)
    except OperatorError as exc:
        fail(exc, as_json=False)
    sock = bind_port(options.port, options.host) if options is not None else None
    try:
        check_engine_options(settings.context)
        asyncio.run(_serve(settings, approve, options, sock, (chosen, all_tools)))
    except OperatorError as exc:
        fail(exc, as_json=False)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    finally:
        if sock is not None:
            sock.close()


def _http_or_refuse(
    transport: str, given: dict[str, Any], limits: tuple[int, float, float]
) -> HttpOptions | None:
    """Return the HTTP options (None for stdio); exit 2 (invalid input) on a bad one."""
    try:
        if transport == "stdio":
            refuse_http_only(given)
            return None
        from operator_core.mcp.http import HttpLimits

        sessions, idle, read = limits
        return http_options(
            bind=given["--bind"],
            port=given["--port"],
            token_file=given["--token-file"],
            tls=(given["--tls-cert"], given["--tls-key"]),
            allow_hosts=given["--allow-host"],
            limits=HttpLimits(sessions, idle, header_timeout=read, body_timeout=read),
        )
    except OperatorError as exc:
        fail(exc, as_json=False)


def bind_port(port: int, host: str = LOOPBACK) -> socket.socket:
    """Return a listening socket on ``host:port``; exit 1 (failed) saying why when it is taken.

    Bound before anything else starts, so a busy port is reported first and the server
    that runs is the one that holds the port.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
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
    settings: Settings,
    approve: str,
    options: HttpOptions | None,
    sock: socket.socket | None,
    choice: tuple[frozenset[ToolsetName] | None, bool],
) -> None:
    """Build the runner and the server, then serve until the client goes away."""
    # The MCP SDK takes most of a second to import: only this command pays for it.
    from operator_core.mcp.server import build_server, elicit_approval, policy_note, serve_stdio

    approver = elicit_approval if approve == "elicit" else None
    async with open_runner(settings, approver=approver) as runner:
        # Start up (rate limits, own container, records a dead server left pending) while
        # serving; the first tool call waits for it.
        starting = asyncio.ensure_future(runner.start())
        starting.add_done_callback(lambda done: done.cancelled() or done.exception())
        policy = runner.policy
        inventory = settings.inventory()
        hosts = () if inventory is None else inventory.names
        offered = offer(runner.specs, policy, hosts=hosts, toolsets=choice[0], everything=choice[1])
        server = build_server(
            runner,
            version=__version__,
            policy_note=policy_note(policy.mode, policy.dry_run),
            offered=offered,
        )
        ERR.print(
            f"[dim]operator-core MCP server: mode {policy.mode}"
            f"{', dry run' if policy.dry_run else ''}; policy {settings.policy_source()}; "
            f"audit {escape(str(settings.audit_db))}[/dim]"
        )
        pruning = audit_retention(settings, runner.audit)  # the policy's [retention]
        try:
            if options is None:
                await serve_stdio(server)
                return
            from operator_core.mcp.http import serve_http

            ERR.print(f"[dim]{escape(_listening(options))}[/dim]")
            await serve_http(server, options, sock=sock)
        finally:
            if pruning is not None:
                pruning.cancel()


def _listening(options: HttpOptions) -> str:
    """Return the line saying where the server listens and what it asks of a client."""
    token = (
        f"bearer token required (from {options.token.source})"
        if options.token is not None
        else "no token"
    )
    limits = options.limits
    return (
        f"listening on {options.url}; {token}; at most {limits.max_sessions} sessions, "
        f"idle ones closed after {limits.session_idle_timeout:g}s"
    )


def tools(
    ctx: typer.Context,
    shape: Annotated[
        Literal["anthropic", "openai", "mcp"],
        typer.Option("--format", help="The shape a model API or MCP expects."),
    ] = "anthropic",
    toolsets: Annotated[list[str], typer.Option(metavar="SETS", help=_TOOLSETS_HELP)] = [],  # noqa: B006
    all_tools: Annotated[bool, typer.Option(help=_ALL_TOOLS_HELP)] = False,
) -> None:
    """Print the tools the policy in force allows as JSON, in the shape a model API expects.

    Observe mode lists only read-only tools (--all-tools: every tool). With an
    inventory, each tool takes ``host`` (an enum of the inventory's names).
    """
    settings = settings_of(ctx)
    try:
        inventory = settings.inventory()
        policy = settings.policy()
        chosen = parse_toolsets(toolsets)
    except OperatorError as exc:
        fail(exc, as_json=True)
    specs = TOOLS if inventory is None else tools_with_host(inventory.names, inventory.default)
    every = specs if isinstance(specs, tuple) else tuple(specs.values())
    hosts = () if inventory is None else inventory.names
    offered = offer(every, policy, hosts=hosts, toolsets=chosen, everything=all_tools)
    print_json(OUT, tool_list(shape, offered.specs))


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
