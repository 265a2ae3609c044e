"""``operator audit list | show``: read the audit trail the CLI and the MCP server write."""

from __future__ import annotations

import time
from typing import Annotated, Any

import typer
from rich import box
from rich.columns import Columns
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel

from operator_core._time import DURATION_UNITS_S, duration_parts, utc_moment
from operator_core.audit import AuditQuery, AuditRecord, read_audit
from operator_core.cli.app import ERR, OUT, JsonOption, fail, settings_of
from operator_core.cli.exit_codes import ExitCode
from operator_core.errors import InvalidInput, OperatorError
from operator_core.present.columns import print_table
from operator_core.present.views import (
    OUTCOME_STYLES,
    RECORD_COLUMNS,
    compact,
    fields_table,
    print_json,
    records_table,
    short_id,
    tool_word,
)
from operator_core.tools import REGISTRY

__all__ = ["audit_app", "parse_moment", "records_envelope", "tool_name"]

audit_app = typer.Typer(help="Read the audit trail (--audit-db picks the file).")


def parse_moment(text: str, *, now: float | None = None) -> float:
    """Return epoch seconds for '10m' / '2h' / '1d' ago, or an ISO 8601 time (UTC if naive)."""
    parts = duration_parts(text.strip())
    if parts is not None:
        current = time.time() if now is None else now
        return current - sum(amount * DURATION_UNITS_S[unit] for amount, unit in parts)
    try:
        return utc_moment(text).timestamp()
    except (ValueError, OverflowError):
        raise InvalidInput(
            f"{text!r} is not a time: give a duration ago (30s, 10m, 2h, 1d, 1w) or an "
            "ISO 8601 time (2026-11-29T10:00:00)"
        ) from None


def tool_name(text: str) -> str:
    """Return the tool a name means: a tool's full name, or any word the audit table shows.

    'ps' → docker_list_containers, 'restart' → docker_restart_container, 'scale_service'
    → docker_scale_service; shorter still, 'scale' and 'rollback' (a service's), 'stats'
    and 'top' (a container's), and a full name without ``docker_``.
    """
    words = {tool_word(name): name for name in REGISTRY}
    if text in REGISTRY:
        return text
    if text in words:
        return words[text]
    for candidate in (
        f"docker_{text}",
        f"docker_{text}_container",
        f"docker_{text}_containers",
        f"docker_{text}_service",
        f"docker_container_{text}",
    ):
        if candidate in REGISTRY:
            return candidate
    shown = ", ".join(sorted(words))
    raise InvalidInput(f"no tool named {text!r}; give a word the audit table shows ({shown})")


def _record_json(record: AuditRecord) -> dict[str, Any]:
    """Return a record as a JSON-able dict."""
    data: dict[str, Any] = record.model_dump(mode="json")
    return data


@audit_app.command("list")
def list_records(
    ctx: typer.Context,
    since: Annotated[
        str | None, typer.Option(help="Only after: a duration ago (10m, 2h, 1d) or ISO time.")
    ] = None,
    until: Annotated[str | None, typer.Option(help="Only before: a duration ago or ISO.")] = None,
    container: Annotated[
        str | None, typer.Option(help="Only this container (name, id or id prefix).")
    ] = None,
    tool: Annotated[
        str | None, typer.Option(help="Only this tool (docker_restart_container or 'restart').")
    ] = None,
    outcome: Annotated[
        str | None,
        typer.Option(
            help="ok, failed, denied, dry_run, invalid, pending, cancelled or interrupted "
            "(left pending by an operator process that died)."
        ),
    ] = None,
    decision: Annotated[
        str | None, typer.Option(help="allowed, denied, dry_run, invalid or undecided.")
    ] = None,
    actor: Annotated[
        str | None, typer.Option(help="Only calls by this actor (cli:alice, mcp:claude-ai/1.0).")
    ] = None,
    host: Annotated[
        str | None, typer.Option(help="Only calls that went to this fleet host.")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    wide: Annotated[
        bool, typer.Option("--wide", "-w", help="Every column, whole (rule, actor, ms, id).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List recorded tool calls, newest first (columns fitted to the terminal).

    --json prints the envelope {"ok": true, "result": {"records": [...], "count": N,
    "audit_db": PATH}} with every field of every record.
    """
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        query = AuditQuery(
            since=parse_moment(since) if since else None,
            until=parse_moment(until) if until else None,
            container=container,
            tool=tool_name(tool) if tool else None,
            outcome=outcome,
            decision=decision,
            actor=actor,
            host=host,
            limit=limit,
        )
        records = read_audit(settings.audit_db, query)
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(OUT, records_envelope(records, str(settings.audit_db)))
        return
    table = records_table(records, width=OUT.width, wide=wide)
    print_table(OUT, table)
    hidden = {c.header for c in RECORD_COLUMNS} - {str(c.header) for c in table.columns}
    note = f"{len(records)} record(s) from {escape(str(settings.audit_db))}"
    if hidden:
        note += f"; --wide adds {', '.join(sorted(hidden))}"
    ERR.print(f"[dim]{note}[/dim]")


def records_envelope(records: list[AuditRecord], audit_db: str) -> dict[str, Any]:
    """Return ``audit list --json``'s envelope: every record whole, the count, the file."""
    return {
        "ok": True,
        "result": {
            "records": [_record_json(r) for r in records],
            "count": len(records),
            "audit_db": audit_db,
        },
    }


@audit_app.command("show")
def show(
    ctx: typer.Context,
    record_id: Annotated[
        str | None, typer.Argument(help="Record id or a unique prefix; default: the newest.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Show one recorded call in full: arguments, decision, outcome, state before and after."""
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        record = _find(settings.audit_db, record_id)
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    if record is None:
        message = f"no audit record {record_id!r}" if record_id else "the audit trail is empty"
        if as_json:
            print_json(OUT, {"ok": False, "error": {"type": "not_found", "message": message}})
        else:
            ERR.print(f"[red]{escape(message)}[/red] ({escape(str(settings.audit_db))})")
        raise typer.Exit(int(ExitCode.NOT_FOUND))
    if as_json:
        print_json(OUT, {"ok": True, "result": _record_json(record)})
        return
    OUT.print(record_panel(record))


def _find(path: Any, record_id: str | None) -> AuditRecord | None:
    """Return the record with ``record_id`` (or a unique prefix), or the newest one.

    A full id is looked up as it is, whenever the record was written (an approval may
    have kept it pending for up to a day after the id was made).
    """
    if not record_id:
        newest = read_audit(path, AuditQuery(limit=1))
        return newest[0] if newest else None
    exact = read_audit(path, AuditQuery(id=record_id, limit=1))
    if exact:
        return exact[0]
    matches = read_audit(path, AuditQuery(id_prefix=record_id, limit=2))
    if len(matches) > 1:
        count = len(read_audit(path, AuditQuery(id_prefix=record_id, limit=None)))
        raise InvalidInput(f"{record_id!r} matches {count} records; give more of the id")
    return matches[0] if matches else None


def record_panel(record: AuditRecord) -> Panel:
    """Return one audit record as a panel, state before and after side by side."""
    head = {
        "id": record.id,
        "time": record.time,
        "actor": record.actor,
        "reason": record.reason,
        "tool": f"{record.tool} ({record.risk} risk)" if record.risk else record.tool,
        "container": _container(record),
        "arguments": record.arguments,
        "decision": record.decision,
        "rule": record.rule,
        "outcome": record.outcome,
        "duration_ms": record.duration_ms,
        "error": (record.error or {}).get("message"),
        "result": record.result,
    }
    parts: list[Any] = [fields_table({k: v for k, v in head.items() if v is not None})]
    states = [
        Panel(fields_table(state), title=title, title_align="left", expand=False, box=box.ROUNDED)
        for title, state in (("before", record.before), ("after", record.after))
        if state
    ]
    if states:
        parts.append(Columns(states))
    style = OUTCOME_STYLES.get(record.outcome, "white")
    return Panel(
        Group(*parts),
        title=f"[{style}]{escape(record.tool)} · {record.outcome}[/{style}]",
        title_align="left",
        expand=False,
    )


def _container(record: AuditRecord) -> str | None:
    """Return 'name (short id)' of the record's container, or what the caller named."""
    if record.container_name or record.container_id:
        return f"{record.container_name or '?'} ({short_id(record.container_id)})"
    return compact(record.container) if record.container else None
