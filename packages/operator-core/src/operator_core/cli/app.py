"""The ``operator`` application: global options, and running a tool for a command.

Sub-command groups live in their own modules (``docker_cmds``, ``audit_cmds``,
``policy_cmds``, ``serve_cmds``) and are attached in ``operator_core.cli``.
"""

from __future__ import annotations

import asyncio
import shlex
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, NoReturn, cast

import typer

from operator_core import __version__
from operator_core.audit.redact import redact_command
from operator_core.cli.advice import for_person
from operator_core.cli.env_options import redact_env_words
from operator_core.cli.exit_codes import (
    EXIT_CODES_HELP,
    ExitCode,
    exit_code_for,
    exit_code_for_exception,
)
from operator_core.cli.interrupts import EXIT_INTERRUPTED, Interrupt
from operator_core.cli.preflight import check_engine_options
from operator_core.cli.render.common import Renderer, denial_hint, error_panel, print_envelope
from operator_core.cli.runtime import Wrap, call_tool, container_names
from operator_core.cli.settings import Mode, Settings, default_audit_db, default_history_db
from operator_core.errors import OperatorError
from operator_core.present.views import make_console, print_json
from operator_core.runner.envelope import error_envelope
from operator_core.tools.registry import REGISTRY
from operator_core.words import JSONObject, json_object

__all__ = [
    "ERR",
    "OUT",
    "JsonOption",
    "app",
    "fail",
    "run_tool_command",
    "settings_of",
]


#: Where results go (what a pipe or ``--json`` consumer reads).
OUT = make_console(stderr=False)
#: Where progress, summaries, prompts and errors go.
ERR = make_console(stderr=True)

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the tool's JSON envelope on stdout (for scripts).")
]

app = typer.Typer(
    name="operator",
    help="Look at and act on Docker containers safely: every action goes through a policy "
    "and is recorded in an audit trail. Without a policy the mode is observe (read-only "
    f"commands only).\n\n{EXIT_CODES_HELP}",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    add_completion=True,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    """Print the version and stop (the --version option's callback)."""
    if value:
        OUT.print(f"operator-core {__version__}")
        raise typer.Exit()


@app.callback()
def main_options(
    ctx: typer.Context,
    host: Annotated[
        str | None,
        typer.Option(
            "--host",
            "-H",
            help="Docker engine to use, e.g. ssh://me@server, or a host of the inventory.",
        ),
    ] = None,
    context: Annotated[
        str | None, typer.Option("--context", help="Docker context to use (instead of --host).")
    ] = None,
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            help="Fleet inventory (TOML). Default: $OPERATOR_INVENTORY, else "
            "~/.config/operator-core/inventory.toml if it exists. With one, --host names a "
            "host of it and docker ps lists every host.",
            dir_okay=False,
        ),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            envvar="OPERATOR_POLICY",
            help="Policy file (TOML). Default: ~/.config/operator-core/policy.toml if it "
            "exists, else the built-in policy (observe mode).",
            dir_okay=False,
        ),
    ] = None,
    mode: Annotated[
        Mode | None,
        typer.Option(
            "--mode",
            envvar="OPERATOR_MODE",
            help="observe (read-only tools only) or execute; overrides the policy's mode.",
        ),
    ] = None,
    dry_run: Annotated[
        bool | None,
        typer.Option(
            "--dry-run/--no-dry-run",
            help="Mutating commands report what they would do and change nothing "
            "(overrides the policy's dry_run).",
            show_default=False,
        ),
    ] = None,
    audit_db: Annotated[
        Path | None,
        typer.Option(
            "--audit-db",
            help="Audit trail file (SQLite; *.jsonl for JSON lines). Default: "
            "$OPERATOR_AUDIT_DB or ~/.local/state/operator-core/audit.sqlite3.",
            dir_okay=False,
        ),
    ] = None,
    history_db: Annotated[
        Path | None,
        typer.Option(
            "--history-db",
            help="The watch's store (event history, heal leases; SQLite). Default: "
            "$OPERATOR_HISTORY_DB or history.sqlite3 beside the audit trail.",
            dir_okay=False,
        ),
    ] = None,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why you run this; kept in the audit trail.")
    ] = None,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Approve in advance what the policy wants approved (high-risk tools by "
            "default); without it you are asked on a terminal, and denied elsewhere.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="JSON output for every command (for scripts).")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Global options, for every command."""
    ctx.obj = Settings(
        host=host,
        context=context,
        inventory_file=inventory,
        policy_file=policy,
        mode=mode,
        dry_run=dry_run,
        audit_db=audit_db if audit_db is not None else default_audit_db(),
        history_db=history_db if history_db is not None else default_history_db(audit_db),
        json=as_json,
        reason=reason,
        yes=yes,
    )


def settings_of(ctx: typer.Context) -> Settings:
    """Return the global options of this invocation (defaults when none were parsed)."""
    root = ctx.find_root()
    obj = root.obj if root.obj is not None else ctx.obj
    return obj if isinstance(obj, Settings) else Settings()


def fail(exc: OperatorError, *, as_json: bool, hint: str | None = None) -> NoReturn:
    """Report an error raised before any tool ran (bad policy, options, audit file); exit."""
    envelope = error_envelope(exc)
    if as_json:
        print_json(OUT, envelope)
    else:
        error, person_hint = for_person("", {}, cast("JSONObject", envelope["error"]))
        ERR.print(error_panel(error, hint=hint or person_hint))
    raise typer.Exit(int(exit_code_for_exception(exc)))


def _command_line_with(option: list[str], *, drop: str | None = None) -> str:
    """Return this command line with ``option`` added up front (and option ``drop`` removed).

    The line is printed (into terminals and CI logs), so it shows no secret: the values of
    ``-e``/``--env`` options read ``KEY=[REDACTED]`` and every word then goes through the
    audit trail's redactor (``-pS3cret``, ``--password=x``, ``--reason token=x``...).
    """
    words: list[str] = []
    skip = False
    for word in sys.argv[1:]:
        if skip:
            skip = False
        elif drop is not None and word == drop:
            skip = True
        elif drop is None or not word.startswith(f"{drop}="):
            words.append(word)
    shown = [str(word) for word in redact_command(redact_env_words(words))]
    return shlex.join(["operator", *option, *shown])


def _execute_option(settings: Settings, tool: str) -> list[str]:
    """Return the options that let ``tool`` run in execute mode from this command line.

    ``--mode execute``, and ``--yes`` too when the tool then needs approval and nobody
    could be asked (no terminal): without it the suggested command is denied again.
    """
    option = ["--mode", "execute"]
    spec = REGISTRY.get(tool)
    if spec is None or settings.yes or (sys.stdin.isatty() and ERR.is_terminal):
        return option
    if settings.policy().model_copy(update={"mode": "execute"}).needs_approval(spec):
        option.append("--yes")
    return option


def _hint_for(settings: Settings, envelope: JSONObject, tool: str = "") -> str | None:
    """Return how to allow a denied call of ``tool``, or None for anything else."""
    error = json_object(envelope.get("error"))
    if envelope.get("ok") or error.get("type") != "denied":
        return None
    section = json_object(error.get("details")).get("section")
    rule = error.get("rule")
    return denial_hint(
        rule if isinstance(rule, str) else None,
        section=section if isinstance(section, str) else None,
        policy_source=settings.policy_source(),
        execute_command=_command_line_with(_execute_option(settings, tool), drop="--mode"),
        yes_command=_command_line_with(["--yes"]),
    )


def _show_failure(
    settings: Settings, tool: str, arguments: Mapping[str, object], envelope: JSONObject
) -> None:
    """Tell a person what failed and what to run next (agents' advice left out)."""
    error = envelope.get("error")
    error = error if isinstance(error, dict) else {}
    names = None
    if error.get("type") == "container_not_found":
        names = asyncio.run(container_names(settings))
    shown, hint = for_person(tool, arguments, error, names=names)
    ERR.print(error_panel(shown, hint=_hint_for(settings, envelope, tool) or hint))


def run_tool_command(
    ctx: typer.Context,
    tool: str,
    arguments: Mapping[str, object],
    *,
    as_json: bool = False,
    progress: str | None = None,
    render: Renderer | None = None,
    interrupt: Interrupt | None = None,
    wrap: Wrap | None = None,
) -> NoReturn:
    """Run ``tool`` with ``arguments`` for a command, show the result and exit with its code.

    Arguments that are None are left out, so the tool's own defaults apply. ``render``
    shows a successful result in place of the tool's usual view (not with --json);
    ``interrupt`` is what Ctrl-C says and does; ``wrap`` wraps the executor (``logs -f``).
    """
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    given = {key: value for key, value in arguments.items() if value is not None}
    try:
        check_engine_options(settings.context)
        envelope = asyncio.run(
            call_tool(
                settings,
                tool,
                given,
                console=ERR,
                progress=progress,
                interrupt=interrupt,
                wrap=wrap,
            )
        )
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    except (KeyboardInterrupt, asyncio.CancelledError):
        ERR.print(
            "[yellow]interrupted[/yellow]: the audit trail records the call as cancelled "
            "(an action already under way in the engine was waited for, up to its deadline, "
            "so the record shows how it ended)"
        )
        raise typer.Exit(EXIT_INTERRUPTED) from None
    if as_json or envelope.get("ok"):
        print_envelope(
            OUT,
            ERR,
            tool,
            envelope,
            as_json=as_json,
            hint=_hint_for(settings, envelope, tool),
            render=render,
        )
    else:
        _show_failure(settings, tool, arguments, envelope)
    raise typer.Exit(int(exit_code_for(tool, envelope)))


def exit_with(code: ExitCode) -> NoReturn:
    """Stop the command with ``code``."""
    raise typer.Exit(int(code))
