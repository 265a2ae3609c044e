"""How ``operator`` shows tool results to a person (rich) and to a script (``--json``).

A script gets the tool's envelope, unchanged, as one JSON document on stdout. A person
gets a table, a panel or the raw output of the command, with messages on stderr so that
``operator docker logs web > out.txt`` captures only the logs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from rich.console import Console, Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.text import Text

from operator_core.cli.render.diagnosis import DIAGNOSIS_RENDERERS
from operator_core.cli.render.ps import containers_table
from operator_core.present.views import (
    fields_table,
    log_lines,
    print_json,
    short_id,
)
from operator_core.results import LogsResult

__all__ = ["Renderer", "denial_hint", "error_panel", "print_envelope", "print_host_errors"]

#: Shows a successful result: (stdout console, stderr console, result).
Renderer = Callable[[Console, Console, dict[str, Any]], None]


def _title(data: dict[str, Any]) -> str:
    """Return 'name (short id)' for a result that names a container."""
    name = data.get("name") or ""
    ident = short_id(data.get("container_id") or data.get("id") or "")
    return escape(f"{name} ({ident})" if name and ident else name or ident)


# --- per-tool renderers --------------------------------------------------------------


def _render_list(out: Console, err: Console, result: dict[str, Any]) -> None:
    """Print the ``docker ps``-like table of containers, fitted to the terminal."""
    rows = result.get("containers") or []
    if rows:
        out.print(containers_table(rows, out.width))
    print_host_errors(err, result)
    err.print(f"[dim]{len(rows)} container(s)[/dim]")


def print_host_errors(err: Console, result: dict[str, Any]) -> None:
    """Say which hosts of a fleet did not answer, one line each, below the table."""
    for problem in result.get("host_errors") or []:
        err.print(
            f"[yellow]unreachable[/yellow] {escape(str(problem.get('host')))}: "
            f"{escape(str(problem.get('message')))}"
        )


def _render_inspect(out: Console, err: Console, result: dict[str, Any]) -> None:
    """Print one container's facts in a panel."""
    out.print(Panel(fields_table(result), title=_title(result), title_align="left", expand=False))


def _render_inspect_many(out: Console, err: Console, result: dict[str, Any]) -> None:
    """Print a panel per container found, and the references not found."""
    for entry in result.get("containers") or []:
        _render_inspect(out, err, entry)
    missing = result.get("missing") or []
    if missing:
        err.print(f"[yellow]not found:[/yellow] {escape(', '.join(map(str, missing)))}")


def _render_logs(out: Console, err: Console, result: dict[str, Any]) -> None:
    """Print the log lines as they are (stderr lines marked), then a summary on stderr."""
    for line in log_lines(cast(LogsResult, result)):
        out.print(line, markup=False, highlight=False, soft_wrap=True)
    notes = [f"{result.get('line_count', '?')} line(s)"]
    if result.get("truncated"):
        notes.append(f"truncated (tail limit {result.get('tail_limit')})")
    err.print(f"[dim]{escape('; '.join(notes))}[/dim]")


def _render_exec(out: Console, err: Console, result: dict[str, Any]) -> None:
    """Print the command's stdout to stdout and its stderr to stderr, then its exit code."""
    stdout, stderr = result.get("stdout") or "", result.get("stderr") or ""
    if stdout:
        out.print(stdout, markup=False, highlight=False, end="" if stdout.endswith("\n") else "\n")
    if stderr:
        err.print(stderr, markup=False, highlight=False, end="" if stderr.endswith("\n") else "\n")
    code = result.get("exit_code")
    style = "green" if code == 0 else "red"
    notes = [f"exit code [{style}]{code}[/{style}]", f"{result.get('duration_s', '?')}s"]
    if result.get("timed_out"):
        notes.append("[red]timed out[/red]")
    if result.get("truncated"):
        notes.append("output truncated")
    err.print("[dim]" + " · ".join(notes) + "[/dim]")


def _render_wait(out: Console, err: Console, result: dict[str, Any]) -> None:
    """Print whether the condition was met, and in how long."""
    condition = escape(str(result.get("condition")))
    name = _title(result)
    waited = result.get("waited_s")
    if result.get("met"):
        out.print(f"[green]✓[/green] {name} is {condition} (after {waited}s)")
    else:
        reason = escape(str(result.get("reason") or ""))
        out.print(f"[red]✗[/red] {name} is not {condition} after {waited}s: {reason}")
    out.print(fields_table(result, skip=("condition", "met", "reason", "container_id", "name")))


def _render_action(out: Console, err: Console, result: dict[str, Any]) -> None:
    """Print a mutating action's result: changed or not, then its facts."""
    changed = result.get("changed")
    mark = "[green]✓ changed[/green]" if changed else "[yellow]· nothing to do[/yellow]"
    if changed is None:
        mark = "[green]✓ done[/green]"
    out.print(
        Panel(
            fields_table(result, skip=("changed",)),
            title=f"{_title(result)}  {mark}",
            title_align="left",
            expand=False,
        )
    )


def _render_dry_run(out: Console, err: Console, result: dict[str, Any]) -> None:
    """Print what a dry run says the tool would have done."""
    out.print(
        Panel(
            fields_table(result),
            title="[yellow]dry run[/yellow]: nothing was changed",
            title_align="left",
            expand=False,
            border_style="yellow",
        )
    )


_RENDERERS: dict[str, Renderer] = {
    "docker_list_containers": _render_list,
    "docker_inspect_container": _render_inspect,
    "docker_inspect_containers": _render_inspect_many,
    "docker_get_container_logs": _render_logs,
    "docker_execute_command": _render_exec,
    "docker_wait_for_container": _render_wait,
    **DIAGNOSIS_RENDERERS,
}


# --- errors ---------------------------------------------------------------------------


def denial_hint(
    rule: str | None,
    *,
    policy_source: str,
    execute_command: str,
    yes_command: str,
    section: str | None = None,
) -> str | None:
    """Return how a person can allow what ``rule`` denied, or None when nothing applies.

    ``execute_command`` is the same command line with ``--mode execute``; ``yes_command``
    the same with ``--yes`` (both ready to paste). ``section`` is the policy key that
    denied (the denial's ``details.section``): a host's own mode (``[hosts.eng2] mode =
    "observe"``) is not changed by ``--mode``, so no command is suggested that would be
    denied again.
    """
    rule = rule or ""
    if rule.startswith("mode") and section and section.startswith("[hosts."):
        return (
            f"The policy ({policy_source}) sets {section}: only read-only commands run on "
            "that host, whatever --mode says. To allow this one, change that section of the "
            "policy file (or remove its mode line)."
        )
    if rule.startswith("mode"):
        asked = (
            " (--yes approves it in advance: it needs approval, and there is no terminal to ask on)"
            if "--yes" in execute_command.split()
            else ""
        )
        return (
            f"The policy ({policy_source}) is in observe mode: only read-only commands run. "
            f"To allow this one, run it in execute mode{asked}:\n  {execute_command}\nor "
            'use a policy file with mode = "execute" (--policy FILE or $OPERATOR_POLICY).'
        )
    if rule == "approval.rejected":
        return None
    if rule.startswith("approval"):
        return (
            "The policy requires a person's approval for this tool. Run it on a terminal "
            f"to be asked, or approve it in advance with --yes:\n  {yes_command}\nA policy "
            "file can waive approval in its [approval] section."
        )
    if rule.startswith(("protected", "self", "scope")):
        return (
            f"The policy ({policy_source}) keeps this container out of reach; change its "
            "[protected] or [scope] section if that is wrong."
        )
    if rule.startswith("rate"):
        return (
            f"A rate limit of the policy ({policy_source}) is full; wait for its window "
            "to pass, or raise it in [[rate_limits]]."
        )
    return None


def error_panel(error: dict[str, Any], *, hint: str | None = None) -> Panel:
    """Return a red panel with an envelope error: type, message, rule, problems, hint."""
    body: list[RenderableType] = [Text(str(error.get("message") or "failed"))]
    nested = error.get("details")
    merged = {k: v for k, v in error.items() if k != "details"}
    if isinstance(nested, dict):
        merged.update(nested)
    details = {
        key: value
        for key, value in merged.items()
        if key not in ("type", "message", "problems") and value not in (None, "", [], {})
    }
    if details:
        body.append(fields_table(details))
    for problem in merged.get("problems") or []:
        if isinstance(problem, dict):
            line = f"• {problem.get('field', '?')}: {problem.get('problem', '')}"
            if problem.get("fix"):
                line += f" (fix: {problem['fix']})"
            body.append(Text(line))
    if hint:
        body.append(Text(hint, style="bold"))
    title = escape(str(error.get("type") or "error"))
    return Panel(
        Group(*body),
        title=f"[red]{title}[/red]",
        title_align="left",
        expand=False,
        border_style="red",
    )


def print_envelope(
    out: Console,
    err: Console,
    tool: str,
    envelope: dict[str, Any],
    *,
    as_json: bool,
    hint: str | None = None,
    render: Renderer | None = None,
) -> None:
    """Show a tool call's envelope: JSON for scripts, rich output for people.

    ``render`` shows a successful result instead of the tool's own renderer (ps -q).
    """
    if as_json:
        print_json(out, envelope)
        if not envelope.get("ok") and hint:
            err.print(hint, markup=False, highlight=False)
        return
    if not envelope.get("ok"):
        error = envelope.get("error")
        err.print(error_panel(error if isinstance(error, dict) else {}, hint=hint))
        return
    result = envelope.get("result")
    if not isinstance(result, dict):
        print_json(out, result)
        return
    if result.get("dry_run"):
        _render_dry_run(out, err, result)
        return
    (render or _RENDERERS.get(tool, _render_action))(out, err, result)
