"""``operator policy check FILE`` and ``operator policy show``: what a policy allows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich import box
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from operator_core.cli.app import ERR, OUT, JsonOption, fail, settings_of
from operator_core.cli.render.policy import (
    fleet_warnings,
    host_view,
    hosts_text,
    limits_text,
    mark_denials,
    scope_text,
)
from operator_core.cli.render.policy_summary import (
    ApprovalSummary,
    HealSummary,
    PolicySummary,
    RetentionSummary,
    SwarmSummary,
    ToolRow,
    policy_summary,
)
from operator_core.cli.settings import Settings
from operator_core.errors import OperatorError
from operator_core.fleet import Inventory, load_inventory, resolve_inventory_path
from operator_core.policy import Policy, detect_own_container_ids, load_policy
from operator_core.policy.alert_rules import AlertSinkView
from operator_core.policy.approval import ALWAYS
from operator_core.present.terminal import safe_text
from operator_core.present.views import print_json, tool_word

__all__ = ["policy_app", "policy_summary"]

policy_app = typer.Typer(help="Check a policy file and show what a policy allows.")


def _words(items: list[str]) -> str:
    """Return a list as comma-separated text, or 'none'."""
    return ", ".join(items) if items else "none"


def _protected_text(summary: PolicySummary) -> str:
    """Return what the policy protects, on one line."""
    protected = summary["protected"]
    own = "; and the operator's own container" if summary["protect_self"] else ""
    return (
        f"names: {_words(protected['names'])}; patterns: {_words(protected['patterns'])}; "
        f"labels: {_words(protected['labels'])}{own}"
    )


def _swarm_text(swarm: SwarmSummary) -> str:
    """Return the [swarm] rules on one line: replica bounds, managers, protected objects."""
    top = swarm["max_replicas"]
    highest = "any" if top is None else top
    bounds = f"scale, roll back or restart to {swarm['min_replicas']}..{highest} replicas"
    managers = "; managers never drained or paused" if swarm["protect_managers"] else ""
    kept = [
        f"{kind} {key} {', '.join(values)}"
        for kind, objects in (
            ("services", swarm["protected_services"]),
            ("nodes", swarm["protected_nodes"]),
        )
        for key, values in (
            ("names", objects["names"]),
            ("patterns", objects["patterns"]),
            ("labels", objects["labels"]),
        )
        if values
    ]
    protected = f"; protected {'; '.join(kept)}" if kept else ""
    moving = "asked" if swarm["drain_protected"] == "approval" else "denied"
    drains = f"; a drain moving a protected service's tasks is {moving}" if kept else ""
    return f"{bounds} (0 needs approval){managers}{protected}{drains}"


def _heal_text(heal: HealSummary, restart: ToolRow) -> str:
    """Return the [heal] rules on one line: on or off, opt-in labels, approval, bounds.

    ``restart`` is the restart tool's row: where it does not run, neither does a heal.
    """
    if not heal["restart_unhealthy"]:
        return "off (restart_unhealthy = false)"
    restart_needs_approval = restart["needs_approval"]
    if not restart["allowed"]:
        why = "observe mode" if restart.get("denied_by", "mode") == "mode" else "host scope"
        approval = f"but restarts are denied here ({why})"
    elif heal["preapproved"]:
        approval = "restarts pre-approved (preapproved = true)"
    elif restart_needs_approval:
        approval = "each restart needs approval (preapproved = false)"
    else:
        approval = "restarts need no approval"
    return (
        f"restarts unhealthy containers labelled {', '.join(heal['require_labels'])}; "
        f"{approval}; at most {heal['max_restarts']} restarts per {heal['restart_window_s']:g}s; "
        f"escalates after {heal['max_attempts']} failed heals in {heal['window_s']:g}s"
    )


def _approval_text(approval: ApprovalSummary) -> str:
    """Return which risks need approval, and the per-tool exceptions, on one line."""
    per_tool = ", ".join(
        f"{tool} {'needed' if needed else 'waived'}" for tool, needed in approval["tools"].items()
    )
    return (
        f"risks: {_words(approval['risks'])}"
        + (f"; per tool: {per_tool}" if per_tool else "")
        + f"; asked for up to {approval['timeout_s']:g}s"
    )


def _head_table(summary: PolicySummary) -> Table:
    """Return the policy's settings: mode, dry run, protection, scope, approval, concurrency."""
    execute = summary["mode"] == "execute"
    mode_text = (
        "execute: tools that change containers may run"
        if execute
        else "observe: only read-only tools run"
    )
    host = summary.get("host")
    if host is not None:
        key = host["mode_set_by"]
        setter = "the policy's mode" if key == "mode" else key
        mode_text += f" on {host['name']} (set by {setter})"
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold cyan")
    head.add_column()
    # Made safe first: rich drops some controls (BEL) from a Text, hiding what a name holds.
    shown = Text(safe_text(mode_text, one_line=True), style="green" if execute else "yellow")
    head.add_row("mode", shown)
    head.add_row("dry run", "yes: changes are only described" if summary["dry_run"] else "no")
    head.add_row("protected", escape(_protected_text(summary)))
    head.add_row("hosts", escape(hosts_text(summary["hosts"])))
    head.add_row("scope", escape(scope_text(summary["scope"], host)))
    head.add_row("approval", escape(_approval_text(summary["approval"])))
    head.add_row("rate limits", escape(limits_text(summary["rate_limits"])))
    head.add_row(
        "aliases",
        "may be another container's name"
        if summary["allow_alias_sharing"]
        else "never another container's name",
    )
    head.add_row("swarm", escape(_swarm_text(summary["swarm"])))
    restart = next(t for t in summary["tools"] if t["tool"] == "docker_restart_container")
    head.add_row("heal", escape(_heal_text(summary["heal"], restart)))
    head.add_row("max concurrent", str(summary["max_concurrent_actions"]))
    head.add_row("retention", escape(_retention_text(summary["retention"])))
    head.add_row("alerts", escape(_alerts_text(summary["alerts"])))
    return head


def _retention_text(kept: RetentionSummary) -> str:
    """Return the retention section in words: each store's bound and the pruning period."""

    def bound(store: str, days: float, rows: int) -> str:
        parts = [f"{days:g} days" if days else "forever"] + ([f"{rows} rows"] if rows else [])
        return f"{store} {' or '.join(parts)}"

    audit = bound("audit", kept["audit_max_age_days"], kept["audit_max_rows"])
    history = bound("history", kept["history_max_age_days"], kept["history_max_rows"])
    return f"{audit}; {history}; pruned every {kept['prune_every_s']:g}s"


def _alerts_text(alerts: dict[str, AlertSinkView]) -> str:
    """Return the alert sinks on one line: name, kind, where (host only), token source."""
    return (
        "; ".join(
            f"{name}: {sink['kind']} to {sink['url']}"
            + (f" (token from {sink['token']})" if sink["token"] else "")
            + (f", kinds {', '.join(sink['kinds'])}" if sink["kinds"] else "")
            for name, sink in alerts.items()
        )
        or "none (operator watch only prints)"
    )


def _runs_text(tool: ToolRow) -> Text:
    """Return whether a tool runs under the policy: denied, dry run only, or yes."""
    if not tool["allowed"]:
        why = "observe" if tool.get("denied_by", "mode") == "mode" else "scope"
        return Text(f"denied ({why})", style="yellow")
    if tool["dry_run"]:
        return Text("dry run only", style="yellow")
    return Text("yes", style="green")


def _tools_table(summary: PolicySummary) -> Table:
    """Return one row per tool: risk, whether it runs, approval and rate limits.

    Tools go by the word the audit table shows (``--tool`` takes it; ``--json`` has the
    full names), so 80 columns show every name whole.
    """
    table = Table(
        box=box.SIMPLE_HEAD,
        pad_edge=False,
        caption="tools as `operator audit list` names them; --json gives full names",
    )
    words = [tool_word(tool["tool"]) for tool in summary["tools"]]
    table.add_column("TOOL", no_wrap=True, min_width=max(map(len, words), default=4))
    for column in ("RISK", "RUNS"):
        table.add_column(column, no_wrap=True)
    table.add_column("APPROVAL")
    table.add_column("RATE LIMIT", overflow="fold")
    for tool in summary["tools"]:
        table.add_row(
            escape(tool_word(tool["tool"])),
            tool["risk"],
            _runs_text(tool),
            _approval_cell(tool.get("approval")),
            escape(_words(tool["rate_limits"])) if tool["rate_limits"] else "-",
        )
    return table


def _approval_cell(approval: str | None) -> str:
    """Return a tool's approval cell: needed, needed for some calls, or '-'."""
    if approval is None:
        return "-"
    return "needed" if approval == ALWAYS else f"for {approval}"


def summary_panel(summary: PolicySummary) -> Panel:
    """Return a policy summary as a panel for a person."""
    return Panel(
        Group(_head_table(summary), _tools_table(summary)),
        title=escape(summary["source"]),
        title_align="left",
        expand=False,
    )


HostOption = Annotated[
    str | None,
    typer.Option(
        "--host",
        help="Show the rules as they apply on this host: its [hosts.NAME] section merged in.",
    ),
]


def _inventory(settings: Settings) -> Inventory | None:
    """Return the inventory in force (--inventory, $OPERATOR_INVENTORY, the user's), if any."""
    path = resolve_inventory_path(settings.inventory_file)
    return load_inventory(path) if path is not None else None


def _effective(policy: Policy, source: str, settings: Settings, host: str | None) -> PolicySummary:
    """Return the summary of ``policy`` as in force on ``host``, checked against the fleet.

    ``host`` is the command's --host, else the global one when it names a host (no URL).
    Raises PolicyError for a ``[hosts.NAME]`` the inventory lacks, InvalidInput for a
    ``host`` it lacks, InventoryError for a malformed inventory.
    """
    host = host or settings.fleet_host()  # `operator --host eng2 policy show` too
    inventory = _inventory(settings)
    warnings = fleet_warnings(policy, inventory, host)
    summary = policy_summary(policy.for_host(host), source)
    view = host_view(policy, host, inventory) if host is not None else None
    summary["host"] = view
    mark_denials(summary["tools"], view)
    summary["inventory"] = inventory.source if inventory is not None else None
    summary["warnings"] = warnings
    return summary


def _print(summary: PolicySummary, *, as_json: bool) -> None:
    """Print a summary: the JSON envelope, or the panel (and warnings on stderr)."""
    if as_json:
        print_json(OUT, {"ok": True, "result": summary})
        return
    OUT.print(summary_panel(summary))
    for warning in summary.get("warnings", []):
        ERR.print(f"[yellow]warning[/yellow]: {escape(warning)}")


@policy_app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The policy file (TOML) to check.")],
    host: HostOption = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a policy file; print what it allows and protects (exit 2 if malformed).

    With an inventory, a [hosts.NAME] naming none of its hosts is an error (exit 2).
    """
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        summary = _effective(load_policy(file), str(file), settings, host)
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    _print(summary, as_json=as_json)
    if not as_json:
        ERR.print(f"[green]✓[/green] {escape(str(file))} is a valid policy")


@policy_app.command("show")
def show(ctx: typer.Context, host: HostOption = None, as_json: JsonOption = False) -> None:
    """Show the policy in force: the file or default, with --mode and --dry-run applied."""
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    overrides = []
    if settings.mode is not None:
        overrides.append(f"--mode {settings.mode}")
    if settings.dry_run is not None:
        overrides.append("--dry-run" if settings.dry_run else "--no-dry-run")
    source = settings.policy_source() + (f" with {', '.join(overrides)}" if overrides else "")
    try:
        summary = _effective(settings.policy(), source, settings, host)
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    if summary["protect_self"]:
        summary["own_container"] = ", ".join(sorted(detect_own_container_ids())) or None
    _print(summary, as_json=as_json)
