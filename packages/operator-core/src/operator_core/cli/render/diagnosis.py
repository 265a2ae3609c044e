"""How the diagnosis reads look to a person: events, stats, top and log search."""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from operator_core.present.views import short_id
from operator_core.words import JSONObject, json_list, json_objects

__all__ = ["DIAGNOSIS_RENDERERS", "human_bytes"]


def human_bytes(value: object) -> str:
    """Return ``1.5MiB`` for 1572864; ``-`` when there is no figure."""
    if not isinstance(value, int | float) or isinstance(value, bool):
        return "-"
    size = float(value)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if size < 1024 or unit == "TiB":
            return f"{size:.0f}{unit}" if unit == "B" else f"{size:.1f}{unit}"
        size /= 1024
    return "-"  # pragma: no cover - the loop always returns


def _percent(value: object) -> str:
    return "-" if not isinstance(value, int | float) else f"{value:.1f}%"


def _table(*columns: str, wrap: tuple[str, ...] = ()) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=column not in wrap, overflow="fold")
    return table


def _render_events(out: Console, err: Console, result: JSONObject) -> None:
    rows = json_objects(result.get("events"))
    table = _table("TIME", "ACTION", "NAME", "EXIT", "TYPE", wrap=("NAME",))
    for event in rows:
        action = str(event.get("action") or "")
        if event.get("detail"):
            action = f"{action}: {event['detail']}"
        code = event.get("exit_code")
        table.add_row(
            str(event.get("time") or "")[5:19].replace("T", " "),
            escape(action),
            escape(str(event.get("actor_name") or short_id(event.get("actor_id")))),
            "" if code is None else str(code),
            escape(str(event.get("type") or "")),
        )
    if rows:
        out.print(table)
    seen = result.get("seen")
    more = f", {seen} seen (newest kept)" if isinstance(seen, int) and seen > len(rows) else ""
    err.print(
        f"[dim]{len(rows)} event(s) from {result.get('since')} to {result.get('until')}{more}[/dim]"
    )
    _render_sources(err, result)


def _render_sources(err: Console, result: JSONObject) -> None:
    """Say what the watch's history added and which parts of the window may lack events."""
    for source in json_objects(result.get("sources")):
        if source.get("source") == "history":
            spans = ", ".join(_span_text(span) for span in json_objects(source.get("spans")))
            err.print(
                f"[dim]{source.get('count')} event(s) from the watch's history"
                f"{escape(f' (recorded {spans})') if spans else ''}[/dim]"
            )
    forgot = "engine_buffer" in (json_list(result.get("truncation")))
    if not result.get("may_be_missing", forgot):
        return
    gaps = ", ".join(_span_text(gap) for gap in json_objects(result.get("gaps")))
    why = "the engine keeps only its newest 256 events" if forgot else "no source covers it"
    where = f" ({escape(gaps)})" if gaps else ""
    err.print(f"[yellow]events may be missing{where}: {why}[/yellow]")


def _span_text(span: JSONObject) -> str:
    """Return a span as 'MM-DD HH:MM:SS..HH:MM:SS'."""
    since, until = str(span.get("since") or ""), str(span.get("until") or "")
    return f"{since[5:19].replace('T', ' ')}..{until[11:19]}"


def _render_stats(out: Console, err: Console, result: JSONObject) -> None:
    rows = json_objects(result.get("containers"))
    table = _table("NAME", "CPU", "MEM", "LIMIT", "MEM%", "NET RX/TX", "PIDS", wrap=("NAME",))
    for entry in rows:
        rx, tx = entry.get("network_rx_bytes"), entry.get("network_tx_bytes")
        net = f"{human_bytes(rx)}/{human_bytes(tx)}"
        table.add_row(
            escape(str(entry.get("name") or "")),
            _percent(entry.get("cpu_percent")),
            human_bytes(entry.get("memory_bytes")),
            human_bytes(entry.get("memory_limit_bytes")),
            _percent(entry.get("memory_percent")),
            net,
            str(entry.get("pids") if entry.get("pids") is not None else "-"),
        )
    if rows:
        out.print(table)
    for ref in json_list(result.get("missing")):
        err.print(f"[yellow]no container named {escape(str(ref))}[/yellow]")
    err.print(f"[dim]{len(rows)} container(s)[/dim]")


def _render_top(out: Console, err: Console, result: JSONObject) -> None:
    table = _table("PID", "USER", "ELAPSED", "COMMAND", wrap=("COMMAND",))
    for process in json_objects(result.get("processes")):
        table.add_row(
            str(process.get("pid")),
            escape(str(process.get("user") or "")),
            escape(str(process.get("elapsed") or "")),
            escape(str(process.get("command") or "")),
        )
    out.print(table)
    err.print(
        f"[dim]{result.get('count', 0)} process(es) in {escape(str(result.get('name')))}[/dim]"
    )


def _render_search(out: Console, err: Console, result: JSONObject) -> None:
    for match in json_objects(result.get("matches")):
        where = f"{match.get('name')} {str(match.get('time') or '')[:19]} {match.get('stream')}"
        for line in json_list(match.get("before")):
            out.print(f"[dim]{escape(where)}-  {escape(str(line))}[/dim]", soft_wrap=True)
        out.print(f"[bold]{escape(where)}:[/bold] {escape(str(match.get('line')))}", soft_wrap=True)
        for line in json_list(match.get("after")):
            out.print(f"[dim]{escape(where)}+  {escape(str(line))}[/dim]", soft_wrap=True)
    searched = len(json_list(result.get("containers")))
    err.print(f"[dim]{result.get('match_count', 0)} match(es) in {searched} container(s)[/dim]")
    if result.get("truncated"):
        why = ", ".join(map(str, json_list(result.get("truncation"))))
        skipped = ", ".join(map(str, json_list(result.get("not_searched")))) or "none"
        err.print(f"[yellow]stopped early ({why}); not searched: {escape(skipped)}[/yellow]")
    for ref in json_list(result.get("missing")):
        err.print(f"[yellow]no container named {escape(str(ref))}[/yellow]")


DIAGNOSIS_RENDERERS: dict[str, Callable[[Console, Console, JSONObject], None]] = {
    "docker_get_events": _render_events,
    "docker_container_stats": _render_stats,
    "docker_container_top": _render_top,
    "docker_search_logs": _render_search,
}
