"""How the swarm commands' results look to a person: services, tasks, logs, changes, nodes."""

from __future__ import annotations

from collections.abc import Callable

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from operator_core.words import JSONObject, json_list, json_object, json_objects

__all__ = ["SWARM_RENDERERS"]

Render = Callable[[Console, Console, JSONObject], None]


def _table(*columns: str, wrap: tuple[str, ...] = ()) -> Table:
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in columns:
        table.add_column(column, no_wrap=column not in wrap, overflow="fold")
    return table


def short_id(value: object) -> str:
    """Return the 12-character form of a swarm id (a service's, task's or node's)."""
    return "-" if value is None else escape(str(value)[:12])


def _text(value: object) -> str:
    return escape("-" if value is None or value == "" else str(value))


def _services(out: Console, err: Console, result: JSONObject) -> None:
    rows = json_objects(result.get("services"))
    table = _table("NAME", "MODE", "REPLICAS", "IMAGE", "UPDATE", "ID", wrap=("NAME", "IMAGE"))
    for s in rows:
        replicas = f"{s.get('replicas_running')}/{s.get('replicas_desired')}"
        table.add_row(
            _text(s.get("name")),
            _text(s.get("mode")),
            replicas,
            _text(s.get("image")),
            _text(s.get("update_state")),
            short_id(s.get("service_id")),
        )
    if rows:
        out.print(table)
    err.print(f"[dim]{len(rows)} service(s)[/dim]")


def _tasks(out: Console, err: Console, result: JSONObject) -> None:
    rows = json_objects(result.get("tasks"))
    table = _table("TASK", "SLOT", "NODE", "DESIRED", "STATE", "UPDATED", "ERROR", wrap=("ERROR",))
    for t in rows:
        table.add_row(
            short_id(t.get("task_id")),
            _text(t.get("slot")),
            _text(t.get("node")),
            _text(t.get("desired_state")),
            _text(t.get("state")),
            _text(str(t.get("updated_at") or "")[5:19].replace("T", " ")),
            _text(t.get("error")),
        )
    if rows:
        out.print(table)
    err.print(f"[dim]{len(rows)} task(s) of service {_text(result.get('name'))}[/dim]")


def _logs(out: Console, err: Console, result: JSONObject) -> None:
    for line in json_objects(result.get("lines")):
        where = (
            f"{line.get('node') or short_id(line.get('node_id'))} {short_id(line.get('task_id'))}"
        )
        text = escape(str(line.get("text") or ""))
        style = "red" if line.get("stream") == "stderr" else "dim"
        out.print(f"[{style}]{escape(where)} |[/{style}] {text}", soft_wrap=True)
    if result.get("truncated"):
        why = ", ".join(map(str, json_list(result.get("truncation"))))
        err.print(f"[yellow]some lines were left out ({why})[/yellow]")


def _mark(result: JSONObject) -> str:
    if not result.get("changed"):
        return "[yellow]· nothing to change[/yellow]"
    if result.get("converged"):
        return "[green]✓ converged[/green]"
    return "[red]✗ not converged[/red]"


def _reason(err: Console, result: JSONObject) -> None:
    if result.get("reason"):
        err.print(f"[yellow]{escape(str(result['reason']))}[/yellow]")


def _scale(out: Console, err: Console, result: JSONObject) -> None:
    out.print(
        f"{_mark(result)} {_text(result.get('name'))}: {result.get('replicas_before')} → "
        f"{result.get('replicas_after')} replicas, {result.get('running')} running "
        f"[dim]({result.get('waited_s')}s)[/dim]"
    )
    _reason(err, result)


def _update(out: Console, err: Console, result: JSONObject) -> None:
    back = " [yellow](rolled back)[/yellow]" if result.get("rolled_back") else ""
    out.print(
        f"{_mark(result)} {_text(result.get('name'))}: {result.get('tasks_replaced')} task(s) "
        f"replaced, update {_text(result.get('update_state'))}{back}, "
        f"{result.get('replicas_running')}/{result.get('replicas_desired')} running "
        f"[dim]({result.get('waited_s')}s)[/dim]"
    )
    for task in json_objects(result.get("failed_tasks")):
        out.print(
            f"  [red]failed[/red] {short_id(task.get('task_id'))} slot {_text(task.get('slot'))} "
            f"on {_text(task.get('node'))}: {_text(task.get('error'))}"
        )
    _reason(err, result)


def _nodes(out: Console, err: Console, result: JSONObject) -> None:
    rows = json_objects(result.get("nodes"))
    table = _table("HOSTNAME", "ROLE", "AVAILABILITY", "STATUS", "MANAGER", "TASKS", "ID")
    for n in rows:
        manager = json_object(n.get("manager_status"))
        lead = "leader" if manager.get("leader") else (manager.get("reachability") or "")
        table.add_row(
            _text(n.get("hostname")),
            _text(n.get("role")),
            _text(n.get("availability")),
            _text(n.get("status")),
            _text(lead),
            _text(n.get("tasks_running")),
            short_id(n.get("node_id")),
        )
    if rows:
        out.print(table)
    err.print(f"[dim]{len(rows)} node(s)[/dim]")


def _availability(out: Console, err: Console, result: JSONObject) -> None:
    moved = json_objects(result.get("tasks_moved"))
    out.print(
        f"{_mark(result)} {_text(result.get('hostname'))}: {result.get('before')} → "
        f"{result.get('after')}, {len(moved)} task(s) moved [dim]({result.get('waited_s')}s)[/dim]"
    )
    for task in moved:
        out.print(
            f"  {_text(task.get('service'))}.{_text(task.get('slot'))} "
            f"{short_id(task.get('task_id'))} → {_text(task.get('to_node'))}"
        )
    _reason(err, result)


SWARM_RENDERERS: dict[str, Render] = {
    "docker_list_services": _services,
    "docker_list_service_tasks": _tasks,
    "docker_get_service_logs": _logs,
    "docker_scale_service": _scale,
    "docker_restart_service": _update,
    "docker_rollback_service": _update,
    "docker_list_nodes": _nodes,
    "docker_set_node_availability": _availability,
}
