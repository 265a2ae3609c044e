"""Retention for a person and for the running services; the watch's history store.

* ``operator audit prune [--older-than 30d] [--max-rows N] [--export FILE.jsonl]``: remove
  the audit records past the bound (default: the policy's ``[retention]``); a pending
  record, and any of the last 7 days, stays. SQLite trails only: a JSON-lines trail is
  append-only (other processes may be appending), so pruning it is refused with a message.
* ``operator history status | prune [--older-than 7d] [--max-rows N]``: what the watch's
  event history holds per engine, and pruning it by the same rule.
* ``recording(settings)``: the history recorder ``operator watch`` records through, with
  the retention of both stores applied every ``prune_every_s`` while it runs;
  ``audit_retention`` does the same for the audit trail of ``operator mcp``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from operator_core._time import DURATION_UNITS_S, duration_parts
from operator_core.audit import SQLiteAuditSink
from operator_core.audit.retention import AUDIT_FLOOR_S, Bound, PruneResult, keep_pruning
from operator_core.cli.app import ERR, OUT, JsonOption, fail, settings_of
from operator_core.cli.commands.audit import audit_app
from operator_core.cli.settings import Settings
from operator_core.errors import InvalidInput, OperatorError
from operator_core.present.columns import print_table
from operator_core.present.views import print_json
from operator_core.watch.history import HistoryStore
from operator_core.watch.recorder import HistoryRecorder

__all__ = ["audit_retention", "history_app", "prune_audit", "recording"]

history_app = typer.Typer(help="The watch's event history (--history-db picks the file).")

OlderThan = Annotated[
    str | None,
    typer.Option(
        "--older-than", help="Remove rows older than this (30d, 12h; default: the policy's)."
    ),
]
MaxRows = Annotated[
    int | None,
    typer.Option("--max-rows", min=0, help="Keep at most this many rows (0: no row bound)."),
]


def _seconds(text: str) -> float:
    """Return a duration (30d, 12h, 1w) in seconds; InvalidInput for anything else."""
    parts = duration_parts(text.strip())
    if parts is None:
        raise InvalidInput(f"--older-than {text!r} is not a duration such as 30d, 12h or 1w")
    return float(sum(amount * DURATION_UNITS_S[unit] for amount, unit in parts))


def _bound(policy_bound: Bound, older_than: str | None, max_rows: int | None) -> Bound:
    """Return the bound the options ask for, the policy's where an option is left out."""
    age = policy_bound.max_age_s if older_than is None else _seconds(older_than)
    rows = policy_bound.max_rows if max_rows is None else max_rows
    return Bound.of(age, rows)


def _report(result: PruneResult, as_json: bool) -> None:
    """Print what a prune did."""
    if as_json:
        print_json(OUT, {"ok": True, "result": dict(result)})
        return
    exported = f"; exported to {result['exported']}" if result["exported"] else ""
    ERR.print(
        escape(
            f"{result['path']}: removed {result['removed']} row(s) ({result['bound']}), "
            f"{result['kept']} kept{exported}"
        )
    )


def prune_audit(path: Path, bound: Bound, export: Path | None = None) -> PruneResult:
    """Prune the SQLite audit trail at ``path`` by ``bound`` (InvalidInput for JSON lines)."""
    if path.suffix == ".jsonl":
        raise InvalidInput(
            f"the audit trail {path} is JSON lines, which other processes may be appending "
            "to: prune works on a SQLite trail only (move the file aside while no operator "
            "process writes to it, or use a SQLite --audit-db)"
        )
    if bound.max_age_s is not None and bound.max_age_s < AUDIT_FLOOR_S:
        raise InvalidInput(
            "--older-than must be at least 7d: rate limits count the records of the last 7 days"
        )
    if not path.is_file():
        raise InvalidInput(f"no audit database at {path}")
    sink = SQLiteAuditSink(path)
    try:
        return sink.prune_now(bound, export=export)
    finally:
        sink.close_now()


@audit_app.command("prune")
def audit_prune(
    ctx: typer.Context,
    older_than: OlderThan = None,
    max_rows: MaxRows = None,
    export: Annotated[
        Path | None,
        typer.Option(help="First append the removed records to this JSON-lines file."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Remove audit records past the retention bound (pending ones, and the last 7 days, stay)."""
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        bound = _bound(settings.policy().retention.audit(), older_than, max_rows)
        result = prune_audit(settings.audit_db, bound, export)
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    _report(result, as_json)


def _history(settings: Settings) -> HistoryStore:
    """Open the history store named by the settings; InvalidInput when no watch made one."""
    if not settings.history_db.is_file():
        raise InvalidInput(
            f"no history at {settings.history_db}: `operator watch` records one there"
        )
    return HistoryStore(settings.history_db)


@history_app.command("status")
def history_status(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show what the history holds per engine: events, oldest, newest, recording span."""
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        store = _history(settings)
        try:
            engines = store.status()
        finally:
            store.close_now()
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    size = settings.history_db.stat().st_size
    if as_json:
        body = {"engines": engines, "history_db": str(settings.history_db), "bytes": size}
        print_json(OUT, {"ok": True, "result": body})
        return
    columns = ["host", "engine_id", "events", "oldest", "newest", "recording_since", "alive"]
    rows = [
        [
            escape(str(value if value is not None else ""))
            for value in (
                entry["host"],
                entry["engine_id"],
                entry["events"],
                entry["oldest"],
                entry["newest"],
                entry["recording_since"],
                entry["alive"],
            )
        ]
        for entry in engines
    ]
    print_table(OUT, _table([c.upper() for c in columns], rows))
    ERR.print(f"[dim]{escape(str(settings.history_db))}: {size} bytes[/dim]")


def _table(headers: list[str], rows: list[list[str]]) -> Table:
    """Return a plain rich table."""
    table = Table(box=None, header_style="bold")
    for header in headers:
        table.add_column(header, overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


@history_app.command("prune")
def history_prune(
    ctx: typer.Context,
    older_than: OlderThan = None,
    max_rows: MaxRows = None,
    as_json: JsonOption = False,
) -> None:
    """Remove history events past the retention bound; the recorded spans are cut to match."""
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        bound = _bound(settings.policy().retention.history(), older_than, max_rows)
        store = _history(settings)
        try:
            result = store.prune_now(bound)
        finally:
            store.close_now()
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    _report(result, as_json)


def audit_retention(settings: Settings, audit: object) -> asyncio.Task[None] | None:
    """Start pruning ``audit`` (a SQLite sink) by the policy every ``prune_every_s``."""
    if not isinstance(audit, SQLiteAuditSink):
        return None
    rules = settings.policy().retention
    return asyncio.create_task(
        keep_pruning([lambda: audit.prune(rules.audit())], rules.prune_every_s)
    )


@contextlib.asynccontextmanager
async def recording(settings: Settings) -> AsyncIterator[HistoryRecorder]:
    """Yield the watch's recorder; both stores are pruned by the policy meanwhile."""
    rules = settings.policy().retention
    store = HistoryStore(settings.history_db)
    recorder = HistoryRecorder(store)
    prunes: list[Callable[[], Awaitable[PruneResult]]] = [lambda: store.prune(rules.history())]
    audit: SQLiteAuditSink | None = None
    if settings.audit_db.suffix != ".jsonl" and settings.audit_db.is_file():
        sink = audit = SQLiteAuditSink(settings.audit_db)
        prunes.append(lambda: sink.prune(rules.audit()))
    pruning = asyncio.create_task(keep_pruning(prunes, rules.prune_every_s))
    try:
        yield recorder
    finally:
        pruning.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pruning
        await recorder.aclose()
        await store.close()
        if audit is not None:
            await audit.close()
