"""``operator docker ...``: one command per tool, its flags mirroring the tool's parameters.

Every command runs its tool through the runner (validation, policy, audit trail), so a
value the tool refuses (``--tail 0``, a name with a space) is an invalid-input error
(exit 2) with the tool's own explanation.
"""

from __future__ import annotations

import asyncio
import shlex
from pathlib import Path
from typing import Annotated, Any, Literal, cast

import typer
from rich.console import Console
from rich.markup import escape
from typer.core import TyperCommand

from operator_core.cli.app import ERR, OUT, JsonOption, fail, run_tool_command, settings_of
from operator_core.cli.completion import complete_container
from operator_core.cli.env_options import ENV_FILE_HELP, ENV_HELP, collect_env
from operator_core.cli.follow import FollowingExecutor, LineSink, printable
from operator_core.cli.interrupts import Interrupt
from operator_core.cli.render.ps import check_format, ps_renderer
from operator_core.cli.settings import Settings
from operator_core.errors import InvalidInput, OperatorError
from operator_core.limits import (
    DEFAULT_EXEC_TIMEOUT_S,
    DEFAULT_GRACE_S,
    DEFAULT_TAIL,
    DEFAULT_WAIT_S,
    MAX_EXEC_TIMEOUT_S,
    MAX_GRACE_S,
    MAX_TAIL,
    MAX_WAIT_S,
)
from operator_core.runner import ContainerExecutor
from operator_core.words import Condition, JSONObject

__all__ = ["docker_app", "net_app"]

docker_app = typer.Typer(
    help="Look at and act on containers, through the policy and the audit trail.",
    no_args_is_help=True,
)
net_app = typer.Typer(help="Connect containers to networks and cut them off.", no_args_is_help=True)
docker_app.add_typer(net_app, name="net")

Container = Annotated[
    str,
    typer.Argument(
        help="Container name or id (or a unique id prefix).",
        metavar="CONTAINER",
        autocompletion=complete_container,
    ),
]
Grace = Annotated[
    int,
    typer.Option(
        "--timeout", "-t", help=f"Seconds between the stop signal and SIGKILL (0-{MAX_GRACE_S})."
    ),
]


@docker_app.command("ps")
def ps(
    ctx: typer.Context,
    all_: Annotated[bool, typer.Option("--all", "-a", help="Include stopped containers.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only the ids.")] = False,
    format_: Annotated[
        str | None,
        typer.Option(
            "--format",
            metavar="TEMPLATE",
            help="One line per container from docker's placeholders, e.g. "
            "'{{.Names}}\\t{{.Status}}' (.ID .Names .Image .State .Status .Health "
            '.ExitCode .StartedAt .Networks .Labels .Label "key" ...), or json.',
        ),
    ] = None,
    no_trunc: Annotated[
        bool, typer.Option("--no-trunc", help="Whole ids, and no column shortened or dropped.")
    ] = False,
    name: Annotated[
        str | None, typer.Option(metavar="TEXT", help="Name contains this text.")
    ] = None,
    label: Annotated[
        list[str] | None,
        typer.Option(metavar="KEY[=VALUE]", help="Has this label (repeat: all must match)."),
    ] = None,
    status: Annotated[
        str | None,
        typer.Option(metavar="STATE", help="created, restarting, running, paused, exited or dead."),
    ] = None,
    health: Annotated[
        str | None,
        typer.Option(metavar="HEALTH", help="starting, healthy, unhealthy or none."),
    ] = None,
    compose_project: Annotated[
        str | None, typer.Option(metavar="NAME", help="Belongs to this Compose project.")
    ] = None,
    compose_service: Annotated[
        str | None, typer.Option(metavar="NAME", help="Runs this Compose service.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List containers (running ones unless --all): status, health, image, networks."""
    if format_ is not None:
        try:
            check_format(format_)
        except InvalidInput as exc:
            fail(exc, as_json=as_json)
    run_tool_command(
        ctx,
        "docker_list_containers",
        {
            "all": all_,
            "name": name,
            "label": label or None,
            "status": status,
            "health": health,
            "compose_project": compose_project,
            "compose_service": compose_service,
        },
        as_json=as_json,
        render=ps_renderer(quiet=quiet, template=format_, no_trunc=no_trunc),
    )


@docker_app.command("inspect")
def inspect(
    ctx: typer.Context,
    containers: Annotated[
        list[str],
        typer.Argument(
            help="One or more container names or ids.",
            metavar="CONTAINER...",
            autocompletion=complete_container,
        ),
    ],
    as_json: JsonOption = False,
) -> None:
    """Show a container's state, health, restart count, networks and labels."""
    if len(containers) == 1:
        run_tool_command(
            ctx, "docker_inspect_container", {"container_id": containers[0]}, as_json=as_json
        )
    run_tool_command(ctx, "docker_inspect_containers", {"refs": containers}, as_json=as_json)


@docker_app.command("start")
def start(ctx: typer.Context, container: Container, as_json: JsonOption = False) -> None:
    """Start a stopped container (a running one is left alone)."""
    run_tool_command(
        ctx,
        "docker_start_container",
        {"container_id": container},
        as_json=as_json,
        progress=f"starting {container}",
    )


@docker_app.command("stop")
def stop(
    ctx: typer.Context,
    container: Container,
    timeout: Grace = DEFAULT_GRACE_S,
    as_json: JsonOption = False,
) -> None:
    """Stop a container: the stop signal, then SIGKILL after --timeout seconds."""
    run_tool_command(
        ctx,
        "docker_stop_container",
        {"container_id": container, "timeout": timeout},
        as_json=as_json,
        progress=f"stopping {container} (SIGKILL after {timeout}s)",
        interrupt=_finishing("the stop", container, timeout),
    )


@docker_app.command("restart")
def restart(
    ctx: typer.Context,
    container: Container,
    timeout: Grace = DEFAULT_GRACE_S,
    as_json: JsonOption = False,
) -> None:
    """Stop a container (same grace rule as stop) and start it again."""
    run_tool_command(
        ctx,
        "docker_restart_container",
        {"container_id": container, "timeout": timeout},
        as_json=as_json,
        progress=f"restarting {container} (SIGKILL after {timeout}s)",
        interrupt=_finishing("the restart", container, timeout),
    )


def _finishing(what: str, container: str, grace_s: int) -> Interrupt:
    """Return what Ctrl-C says during a stop or restart of ``container``."""
    check = f"operator docker inspect {shlex.quote(container)}"
    return Interrupt(
        first=f"finishing {what} of {container} already under way (up to {grace_s}s); "
        "Ctrl-C again to leave it running",
        second=f"left without waiting: whether {what} of {container} finished is unknown, "
        f"and its audit record stays pending. See: {check}",
    )


@docker_app.command("logs")
def logs(
    ctx: typer.Context,
    container: Container,
    follow: Annotated[
        bool,
        typer.Option(
            "--follow",
            "-f",
            help="Keep printing new lines until the container stops or Ctrl-C.",
        ),
    ] = False,
    tail: Annotated[
        int,
        typer.Option(
            "--tail", "-n", metavar="N", help=f"How many of the last lines (1-{MAX_TAIL})."
        ),
    ] = DEFAULT_TAIL,
    since: Annotated[
        str | None,
        typer.Option(metavar="TIME", help="Only after this time: ISO 8601 or ago (10m, 2h)."),
    ] = None,
    until: Annotated[
        str | None,
        typer.Option(metavar="TIME", help="Only before this time: ISO 8601 or ago."),
    ] = None,
    stream: Annotated[
        Literal["both", "stdout", "stderr"], typer.Option(help="Which output to read.")
    ] = "both",
    timestamps: Annotated[
        bool, typer.Option("--timestamps/--no-timestamps", help="Prefix each line with its time.")
    ] = True,
    as_json: JsonOption = False,
) -> None:
    """Print the last lines a container wrote; with -f, then every new one.

    A follow is read-only and holds no more than a line at a time; it ends when the
    container stops (exit 0) or at Ctrl-C (exit 0), and the audit trail keeps one
    record of it.
    """
    arguments = {
        "container_id": container,
        "tail": tail,
        "since": since,
        "until": until,
        "stream": stream,
        "timestamps": timestamps,
    }
    if not follow:
        run_tool_command(ctx, "docker_get_container_logs", arguments, as_json=as_json)
    _check_follow(settings_of(ctx), until=until, as_json=as_json)
    stop = asyncio.Event()

    def show(stream_name: str, text: str) -> None:
        OUT.out(printable(stream_name, text), highlight=False)
        OUT.file.flush()

    run_tool_command(
        ctx,
        "docker_get_container_logs",
        arguments,
        render=_followed,
        interrupt=Interrupt(first="ending the follow", second="left at once", on_first=stop.set),
        wrap=lambda executor: _following(executor, settings_of(ctx), show, stop),
    )


def _following(
    inner: ContainerExecutor, settings: Settings, sink: LineSink, stop: asyncio.Event
) -> ContainerExecutor:
    """Return ``inner`` with ``get_container_logs`` following the logs (``logs -f``).

    Its answer is not a ``LogsResult`` (the lines went to the terminal as they came): the
    runner keeps it as the call's result, and ``_followed`` renders it.
    """
    following = FollowingExecutor(inner, settings.docker_command(), sink, stop)
    return cast("ContainerExecutor", following)


def _check_follow(settings: Settings, *, until: str | None, as_json: bool) -> None:
    """Refuse, before anything runs, what a follow cannot do (exit 2)."""
    problem = None
    if until is not None:
        problem = "--follow and --until do not go together: a follow has no end time"
    elif as_json or settings.json:
        problem = "--follow prints lines as they come; it has no --json document"
    else:
        try:
            fleet = settings.inventory() is not None
        except OperatorError as exc:
            fail(exc, as_json=as_json)
        if fleet:
            problem = (
                "--follow reads one engine: give --host URL or --context, not an inventory host"
            )
    if problem is not None:
        fail(InvalidInput(problem), as_json=as_json)


def _followed(out: Console, err: Console, result: JSONObject) -> None:
    """Say how a follow ended (the lines were printed as they came)."""
    ended = {
        "container_stopped": "the container stopped",
        "interrupted": "Ctrl-C",
        "docker_failed": f"docker logs failed (exit {result.get('docker_exit_code')})",
    }.get(str(result.get("ended")), str(result.get("ended")))
    err.print(
        f"[dim]followed {result.get('line_count')} line(s) for "
        f"{result.get('duration_s')}s; ended by {escape(ended)}[/dim]"
    )


EnvOption = Annotated[
    list[str] | None, typer.Option("--env", "-e", help=ENV_HELP, metavar="KEY[=VALUE]")
]
EnvFileOption = Annotated[
    list[Path] | None,
    typer.Option("--env-file", help=ENV_FILE_HELP, dir_okay=False, metavar="FILE"),
]


class _ExecCommand(TyperCommand):
    """``exec``'s parsing: the command is everything after the container, or after ``--``.

    Without ``--`` it is docker's rule: operator's options come before the container and
    every word after it belongs to the command (``exec web ls -l``). With ``--`` the
    command starts there, and operator's options may also stand between the container and
    the ``--`` (``exec web -e KEY -- env``).
    """

    # Any: the Context typer passes is its vendored click's (``typer._click``), private.
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        """Parse ``args``, options after the container only when a ``--`` ends them."""
        ctx.allow_interspersed_args = "--" in args
        return super().parse_args(ctx, args)


@docker_app.command("exec", cls=_ExecCommand, no_args_is_help=True)
def exec_(
    ctx: typer.Context,
    container: Container,
    command: Annotated[
        list[str],
        typer.Argument(
            help="The command and its arguments: everything after the container.",
            metavar="COMMAND",
        ),
    ],
    user: Annotated[str | None, typer.Option("--user", "-u", help="User or uid[:gid].")] = None,
    workdir: Annotated[
        str | None, typer.Option("--workdir", "-w", help="Working directory.")
    ] = None,
    env: EnvOption = None,
    env_file: EnvFileOption = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help=f"Seconds the command may run (up to {MAX_EXEC_TIMEOUT_S:g})."
        ),
    ] = DEFAULT_EXEC_TIMEOUT_S,
    as_json: JsonOption = False,
) -> None:
    """Run a command in a running container: operator docker exec web ls -l /srv.

    operator's own options go before the container and everything after it belongs to
    the command, as with docker exec; or mark where the command starts with --
    (exec web -e KEY -- env). No shell
    runs unless you ask for one: -- sh -c 'ps | grep httpd'. A secret goes in with
    -e KEY (from this environment) or --env-file, not -e KEY=VALUE, which anyone on this
    machine can read in the process list while operator runs.
    """
    variables, unset = collect_env(env, env_file)
    for key in unset:
        ERR.print(f"[yellow]note[/yellow]: {key} is not set in this environment; not passed")
    run_tool_command(
        ctx,
        "docker_execute_command",
        {
            "container_id": container,
            "command": command,
            "user": user,
            "workdir": workdir,
            "env": variables,
            "timeout": timeout,
        },
        as_json=as_json,
        progress=f"running {command[0]} in {container}",
    )


@docker_app.command("kill")
def kill(
    ctx: typer.Context,
    container: Container,
    signal: Annotated[
        str, typer.Option("--signal", "-s", help="Signal name (SIGHUP, HUP) or number.")
    ] = "SIGKILL",
    as_json: JsonOption = False,
) -> None:
    """Send a signal to a container's main process (SIGKILL by default)."""
    run_tool_command(
        ctx,
        "docker_kill_container",
        {"container_id": container, "signal": signal},
        as_json=as_json,
    )


@docker_app.command("pause")
def pause(ctx: typer.Context, container: Container, as_json: JsonOption = False) -> None:
    """Freeze a container's processes (it keeps its memory but stops serving)."""
    run_tool_command(ctx, "docker_pause_container", {"container_id": container}, as_json=as_json)


@docker_app.command("unpause")
def unpause(ctx: typer.Context, container: Container, as_json: JsonOption = False) -> None:
    """Resume a paused container."""
    run_tool_command(ctx, "docker_unpause_container", {"container_id": container}, as_json=as_json)


@docker_app.command("wait")
def wait(
    ctx: typer.Context,
    container: Container,
    condition: Annotated[Condition, typer.Option("--condition", "-c", help="What to wait for.")],
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", "-t", help=f"Give up after this many seconds (up to {MAX_WAIT_S:g})."
        ),
    ] = DEFAULT_WAIT_S,
    as_json: JsonOption = False,
) -> None:
    """Wait until a container is running, healthy, exited or removed (exit 5 if it is not)."""
    run_tool_command(
        ctx,
        "docker_wait_for_container",
        {"container_id": container, "condition": condition, "timeout": timeout},
        as_json=as_json,
        progress=f"waiting for {container} to be {condition} (up to {timeout:g}s)",
    )


@net_app.command("connect")
def net_connect(
    ctx: typer.Context,
    network: Annotated[str, typer.Argument(help="Network name or id.", metavar="NETWORK")],
    container: Container,
    alias: Annotated[str | None, typer.Option(help="Extra DNS name on this network.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Connect a container to a network (docker's order: NETWORK CONTAINER)."""
    run_tool_command(
        ctx,
        "docker_connect_container_to_network",
        {"container_id": container, "network": network, "alias": alias},
        as_json=as_json,
    )


@net_app.command("disconnect")
def net_disconnect(
    ctx: typer.Context,
    network: Annotated[str, typer.Argument(help="Network name or id.", metavar="NETWORK")],
    container: Container,
    force: Annotated[bool, typer.Option(help="Force it even if the engine objects.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Cut a container off a network (docker's order: NETWORK CONTAINER)."""
    run_tool_command(
        ctx,
        "docker_disconnect_container_from_network",
        {"container_id": container, "network": network, "force": force},
        as_json=as_json,
    )
