"""How results, log lines and audit records look to a person: the shared presentation.

Both the command line (``operator_core.cli``) and the demo (``operator_core.demo``) show
results through these helpers. This module imports rich and the audit record, never the
CLI, so the demo (or any library user) can show a result without building the typer app.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence
from datetime import datetime

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from operator_core.audit.record import AuditRecord
from operator_core.present.columns import Cell, Column, fit_table
from operator_core.present.terminal import SafeConsole, safe_text
from operator_core.results import LogsResult

__all__ = [
    "HEALTH_STYLES",
    "OUTCOME_STYLES",
    "RECORD_COLUMNS",
    "compact",
    "fields_table",
    "log_lines",
    "make_console",
    "print_json",
    "records_table",
    "short_id",
    "status_text",
    "tool_word",
]

HEALTH_STYLES = {
    "healthy": "green",
    "unhealthy": "bold red",
    "starting": "yellow",
    "running": "green",
    "exited": "red",
    "dead": "bold red",
    "paused": "yellow",
    "restarting": "yellow",
    "created": "dim",
}

#: How an audit record's outcome is coloured.
OUTCOME_STYLES = {
    "ok": "green",
    "denied": "yellow",
    "failed": "red",
    "invalid": "magenta",
    "interrupted": "bold red",
}


def make_console(*, stderr: bool) -> Console:
    """Return a console; when it is not a terminal, wide enough not to fold tables.

    It is a ``SafeConsole``: nothing it writes carries a character a terminal would obey
    (``operator_core.present.terminal``), whatever the text came from.
    """
    console = SafeConsole(stderr=stderr, highlight=False)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = SafeConsole(stderr=stderr, highlight=False, width=160)
    return console


def print_json(console: Console, data: object) -> None:
    """Print ``data`` as indented JSON with no markup, colour or wrapping (safe for ``jq``)."""
    console.out(json.dumps(data, indent=2, default=str, allow_nan=False), highlight=False)


def short_id(value: object) -> str:
    """Return the 12-character form of a container id (other text unchanged)."""
    text = "" if value is None else str(value)
    return text[:12] if len(text) == 64 else text


def status_text(value: object) -> Text:
    """Return a status or health word, coloured by what it means ('-' for none)."""
    if value is None or value == "":
        return Text("-", style="dim")
    word = str(value)
    return Text(word, style=HEALTH_STYLES.get(word, ""))


def compact(value: object, limit: int = 120) -> str:
    r"""Return a one-line rendering of a value (lists joined, dicts as k=v, long text cut).

    Control characters and newlines are shown as escapes (``\x1b``, ``\n``): the value
    stays on its line, and its width is what the terminal will show.
    """
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "yes" if value else "no"
    elif isinstance(value, list):
        text = ", ".join(compact(item, limit) for item in value) or "-"
    elif isinstance(value, dict):
        text = ", ".join(f"{k}={compact(v, limit)}" for k, v in value.items()) or "-"
    else:
        text = str(value)
    text = safe_text(text, one_line=True)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def fields_table(data: Mapping[str, object], *, skip: tuple[str, ...] = ()) -> Table:
    """Return a two-column key/value table of a result (nested dicts get their own rows)."""
    table = Table.grid(padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column(overflow="fold")
    for key, value in data.items():
        if key in skip:
            continue
        if isinstance(value, dict) and value and key != "labels":
            for sub, subvalue in value.items():
                table.add_row(f"{key}.{sub}", _cell(sub, subvalue))
        else:
            table.add_row(key, _cell(key, value))
    return table


def _cell(key: str, value: object) -> Text:
    """Return a table cell, coloured for statuses and health."""
    if key in ("status", "state", "health") and isinstance(value, str | None):
        return status_text(value)
    if key in ("id", "container_id", "network_id"):
        return Text(short_id(value))
    return Text(compact(value, limit=400))


def log_lines(result: LogsResult) -> list[str]:
    """Return a logs result's lines as printable text: time stamp, stderr mark, text.

    The executor's one line shape (``LogLine``) is the only one read: no other shape is
    guessed at, so a drift in the executor fails the type check here.
    """
    lines: list[str] = []
    for line in result["lines"]:
        prefix = "[stderr] " if line["stream"] == "stderr" else ""
        cut = " [cut]" if line["truncated"] else ""
        text = f"{prefix}{line['text']}{cut}"
        lines.append(f"{line['timestamp']} {text}" if line["timestamp"] else text)
    return lines


#: The audit table's columns: tool, container and how it ended stay; the rest gives way.
RECORD_COLUMNS = (
    Column("TIME"),
    Column("TOOL", fold=True),
    Column("CONTAINER", fold=True),
    Column("DECISION"),
    Column("OUTCOME"),
    Column("RULE", drop_rank=3, min_width=10),
    Column("ACTOR", drop_rank=4, min_width=8),
    Column("MS", drop_rank=5, justify="right"),
    Column("ID", drop_rank=6),
)

#: Tools whose names are long, by the word a person types for them.
_TOOL_WORDS = {
    "docker_list_containers": "ps",
    "docker_get_container_logs": "logs",
    "docker_execute_command": "exec",
    "docker_inspect_containers": "inspect (many)",
    "docker_wait_for_container": "wait",
    "docker_connect_container_to_network": "net connect",
    "docker_disconnect_container_from_network": "net disconnect",
}


def tool_word(tool: str) -> str:
    """Return a tool's short name: 'restart' for docker_restart_container, 'ps' for listing."""
    if tool in _TOOL_WORDS:
        return _TOOL_WORDS[tool]
    return tool.removeprefix("docker_").removesuffix("_container")


def _record_cells(record: AuditRecord, clock: str) -> list[Cell]:
    """Return one record's cells, in RECORD_COLUMNS' order."""
    when = datetime.fromtimestamp(record.ts).astimezone()
    return [
        when.strftime(clock),
        escape(tool_word(record.tool)),
        escape(record.container_name or record.container or "-"),
        record.decision,
        Text(record.outcome, style=OUTCOME_STYLES.get(record.outcome, "")),
        escape(record.rule or "-"),
        escape(record.actor or "-"),
        f"{record.duration_ms:.0f}" if record.duration_ms is not None else "-",
        record.id,
    ]


def records_table(
    records: list[AuditRecord],
    *,
    width: int = 100,
    wide: bool = False,
    brief: bool = False,
) -> Table:
    """Return a table of audit records: when, what, on which container, how it ended.

    Fitted to ``width`` (see ``operator_core.present.columns``): at 80 columns time, tool,
    container, decision and outcome show; rule, actor, duration and id follow as room
    allows. ``wide`` shows every column whole; ``brief`` leaves the record id out (the
    demo's view). Times carry the date unless every record is from today.
    """
    today = datetime.now().astimezone().date()
    same_day = all(datetime.fromtimestamp(r.ts).astimezone().date() == today for r in records)
    clock = "%H:%M:%S" if same_day else "%m-%d %H:%M:%S"
    rows = [_record_cells(record, clock) for record in records]
    columns: Sequence[Column] = RECORD_COLUMNS
    if brief:
        columns = RECORD_COLUMNS[:-1]
        rows = [row[:-1] for row in rows]
    return fit_table(columns, rows, width, wide=wide)
