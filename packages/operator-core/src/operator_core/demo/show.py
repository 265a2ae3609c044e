"""How the demo shows itself to a person: numbered steps, each call, its result and time.

``operator_core.demo.story`` tells the story; this module only prints it, through the
presentation the CLI uses too (``operator_core.present.views``).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import cast

from rich.console import Console
from rich.markup import escape
from rich.padding import Padding
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from operator_core.audit import AuditQuery, AuditRecord, SQLiteAuditSink
from operator_core.present.terminal import safe_text
from operator_core.present.views import HEALTH_STYLES, compact, log_lines, records_table
from operator_core.results import LogsResult
from operator_core.runner import ToolRunner
from operator_core.words import JSONObject, JSONValue, json_object, json_objects

__all__ = ["Story", "compact_result", "intro", "show_audit", "show_logs", "show_ps"]

#: Prints a successful call's result its own way.
Shower = Callable[[JSONObject], None]

_RESULT_KEYS = (
    "state",
    "running",
    "health",
    "previous_started_at",
    "started_at",
    "met",
    "waited_s",
    "changed",
)


class Story:
    """Prints numbered steps, what each call returned and how long it took."""

    def __init__(self, console: Console, *, steps: int, actor: str) -> None:
        self.console = console
        self.steps = steps
        self.actor = actor
        self.number = 0
        self.began = time.monotonic()

    def step(self, title: str) -> None:
        """Start the next numbered step."""
        self.number += 1
        self.console.print()
        self.console.rule(
            f"[bold]Step {self.number}/{self.steps}[/bold] · {escape(title)}", align="left"
        )

    def note(self, text: str) -> None:
        """Print a line of explanation (rich markup)."""
        self.console.print(f"  {text}")

    def took(self, began: float) -> None:
        """Print how long something that began at ``began`` (monotonic) took."""
        self.console.print(f"  [dim]took {time.monotonic() - began:.2f}s[/dim]")

    async def call(
        self,
        runner: ToolRunner,
        tool: str,
        arguments: JSONObject,
        *,
        reason: str,
        show: Shower | None = None,
    ) -> JSONObject:
        """Make a tool call as the agent, print the call, a compact result and its time."""
        shown = escape(json.dumps(arguments, allow_nan=False))
        self.console.print(f"  [cyan]→ {tool}[/cyan] {shown}  [dim]({escape(reason)})[/dim]")
        began = time.monotonic()
        answer = await runner.execute_tool(tool, arguments, actor=self.actor, reason=reason)
        # Envelopes are JSON (the executor's TypedDicts): read here as JSON values are.
        envelope = cast("JSONObject", answer)
        self._outcome(envelope, show)
        self.took(began)
        return envelope

    def _outcome(self, envelope: JSONObject, show: Shower | None) -> None:
        """Print what a call returned: its own rendering, a compact result, or the error."""
        if envelope.get("ok") and show is not None:
            show(json_object(envelope.get("result")))
        elif envelope.get("ok"):
            self.console.print(f"  [green]← ok[/green] {escape(compact_result(envelope))}")
        else:
            error = json_object(envelope.get("error"))
            self.console.print(
                f"  [yellow]← {escape(str(error.get('type')))}[/yellow] "
                f"rule [bold]{escape(str(error.get('rule')))}[/bold]: "
                f"{escape(str(error.get('message')))}"
            )


def compact_result(envelope: JSONObject) -> str:
    """Return the few facts of a result a person wants to see, on one line."""
    result = json_object(envelope.get("result"))
    parts = [f"{key}={compact(result[key], 80)}" for key in _RESULT_KEYS if key in result]
    stop = result.get("stop")
    if isinstance(stop, dict):
        how = "gracefully" if stop.get("graceful_shutdown") else None
        how = how or ("killed" if stop.get("killed") else "?")
        parts.append(f"old process exited {stop.get('exit_code')} ({how})")
    return ", ".join(parts) or compact(result, 160)


def intro(console: Console, name: str, image: str, audit_path: Path) -> None:
    """Print the panel that says what is about to happen, and where."""
    console.print(
        Panel(
            f"A web service breaks and an agent heals it, through operator-core's tools.\n"
            f"Container [bold]{name}[/bold] · image {image} · audit trail {audit_path}",
            title="operator-core demo",
            title_align="left",
            expand=False,
        )
    )


def show_logs(console: Console, result: JSONObject) -> None:
    """Print the log lines, indented, stderr lines marked."""
    console.print(f"  [green]← ok[/green] {result.get('line_count', '?')} line(s):")
    # The logs tool answers a LogsResult, which the envelope carries as JSON.
    for line in log_lines(cast(LogsResult, result)):
        style = "red" if "[stderr]" in line or "ERROR" in line else "dim"
        console.print(f"    {escape(line)}", style=style, soft_wrap=True)


def show_ps(console: Console, result: JSONObject) -> None:
    """Print the containers ps found, compactly."""
    table = Table(box=None, pad_edge=False, padding=(0, 2))
    for column in ("NAME", "ID", "STATUS", "HEALTH"):
        table.add_column(column, style="bold" if column == "NAME" else "")
    for row in json_objects(result.get("containers")):
        health = _text(row.get("health")) or "-"
        table.add_row(
            Text(_text(row.get("name"))),
            Text(_text(row.get("id"))[:12]),
            Text(_text(row.get("status"))),
            Text(health, style=HEALTH_STYLES.get(health, "")),
        )
    console.print(f"  [green]← ok[/green] {result.get('count', 0)} unhealthy container(s):")
    console.print(Padding(table, (0, 0, 0, 4)))


def _text(value: JSONValue) -> str:
    """Return a text field's value made safe for a terminal, "" when absent or not text."""
    return safe_text(value, one_line=True) if isinstance(value, str) else ""


def show_audit(story: Story, audit: SQLiteAuditSink) -> None:
    """Print the audit trail the calls left, oldest first, and the restart's before/after."""
    records = list(reversed(audit.query(AuditQuery(limit=None))))
    table = records_table(records, brief=True, width=story.console.width - 2)
    story.console.print(Padding(table, (0, 0, 0, 2)))
    restart = next(
        (r for r in records if r.tool == "docker_restart_container" and r.outcome == "ok"), None
    )
    if restart is not None and restart.before and restart.after:
        story.note(_around(restart))


def _around(record: AuditRecord) -> str:
    """Return the sentence on the state a record kept from before and after its action."""
    before, after = record.before or {}, record.after or {}
    return (
        f"the restart's record ({record.id}) keeps the state around it: before "
        f"{before.get('status')}/{before.get('health')} since {before.get('started_at')}; "
        f"after {after.get('status')}/{after.get('health')} since {after.get('started_at')}"
    )
