"""``operator policy check FILE`` and ``operator policy show``: what a policy allows."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich import box
from rich.console import Group
from rich.markup import escape
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from operator_core.cli.app import ERR, OUT, JsonOption, fail, settings_of
from operator_core.errors import OperatorError
from operator_core.policy import Policy, detect_own_container_ids, load_policy
from operator_core.policy.approval import ALWAYS, approval_of
from operator_core.present.views import print_json
from operator_core.tools import TOOLS, ToolSpec

__all__ = ["policy_app", "policy_summary"]

policy_app = typer.Typer(help="Check a policy file and show what a policy allows.")


def _limits_of(policy: Policy, spec: ToolSpec) -> list[str]:
    """Return the rate limits that count calls of ``spec``, as short text."""
    return [
        f"{limit.max}/{limit.window_s:g}s per {limit.per}" for limit in policy.rate_limits_of(spec)
    ]


def policy_summary(policy: Policy, source: str) -> dict[str, Any]:
    """Return what ``policy`` allows and protects, tool by tool, as JSON-able data."""
    tools = []
    for spec in TOOLS:
        runs = policy.allows(spec)
        approval = approval_of(policy, spec) if runs else None
        tools.append(
            {
                "tool": spec.name,
                "risk": spec.risk.value,
                "read_only": spec.read_only,
                "allowed": runs,
                "dry_run": runs and policy.dry_runs(spec),
                # the runner's own rule: "always", or the calls that need it (a scale to 0)
                "needs_approval": approval is not None,
                "approval": approval,
                "rate_limits": _limits_of(policy, spec),
            }
        )
    return {
        "source": source,
        "mode": policy.mode,
        "dry_run": policy.dry_run,
        "protect_self": policy.protect_self,
        "max_concurrent_actions": policy.max_concurrent_actions,
        "protected": policy.protected.model_dump(),
        "scope": policy.scope.model_dump(),
        "approval": policy.approval.model_dump(),
        "rate_limits": [limit.model_dump() for limit in policy.rate_limits],
        "swarm": policy.swarm.model_dump(),
        "retention": policy.retention.model_dump(),
        "heal": policy.heal.model_dump(),
        # URLs and tokens are secrets: only a sink's scheme and host are shown.
        "alerts": {name: sink.describe() for name, sink in policy.alerts.items()},
        "tools": tools,
    }


def _words(items: list[str]) -> str:
    """Return a list as comma-separated text, or 'none'."""
    return ", ".join(items) if items else "none"


def _protected_text(summary: dict[str, Any]) -> str:
    """Return what the policy protects, on one line."""
    protected = summary["protected"]
    own = "; and the operator's own container" if summary["protect_self"] else ""
    return (
        f"names: {_words(protected['names'])}; patterns: {_words(protected['patterns'])}; "
        f"labels: {_words(protected['labels'])}{own}"
    )


def _swarm_text(swarm: dict[str, Any]) -> str:
    """Return the [swarm] rules on one line: replica bounds, managers, protected objects."""
    top = swarm["max_replicas"]
    highest = "any" if top is None else top
    bounds = f"scale, roll back or restart to {swarm['min_replicas']}..{highest} replicas"
    managers = "; managers never drained or paused" if swarm["protect_managers"] else ""
    kept = [
        f"{kind} {key} {', '.join(values)}"
        for kind in ("services", "nodes")
        for key, values in swarm[f"protected_{kind}"].items()
        if values
    ]
    protected = f"; protected {'; '.join(kept)}" if kept else ""
    moving = "asked" if swarm.get("drain_protected") == "approval" else "denied"
    drains = f"; a drain moving a protected service's tasks is {moving}" if kept else ""
    return f"{bounds} (0 needs approval){managers}{protected}{drains}"


def _heal_text(heal: dict[str, Any], restart_needs_approval: bool) -> str:
    """Return the [heal] rules on one line: on or off, opt-in labels, approval, bounds."""
    if not heal["restart_unhealthy"]:
        return "off (restart_unhealthy = false)"
    if heal["preapproved"]:
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


def _approval_text(approval: dict[str, Any]) -> str:
    """Return which risks need approval, and the per-tool exceptions, on one line."""
    per_tool = ", ".join(
        f"{tool} {'needed' if needed else 'waived'}" for tool, needed in approval["tools"].items()
    )
    return f"risks: {_words(approval['risks'])}" + (f"; per tool: {per_tool}" if per_tool else "")


def _head_table(summary: dict[str, Any]) -> Table:
    """Return the policy's settings: mode, dry run, protection, scope, approval, concurrency."""
    execute = summary["mode"] == "execute"
    mode_text = (
        "execute: tools that change containers may run"
        if execute
        else "observe: only read-only tools run"
    )
    required = summary["scope"]["require_labels"]
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold cyan")
    head.add_column()
    head.add_row("mode", Text(mode_text, style="green" if execute else "yellow"))
    head.add_row("dry run", "yes: changes are only described" if summary["dry_run"] else "no")
    head.add_row("protected", escape(_protected_text(summary)))
    head.add_row(
        "scope",
        escape(f"only containers labelled {', '.join(required)}")
        if required
        else "any container not protected",
    )
    head.add_row("approval", escape(_approval_text(summary["approval"])))
    head.add_row("swarm", escape(_swarm_text(summary["swarm"])))
    restart = next(t for t in summary["tools"] if t["tool"] == "docker_restart_container")
    head.add_row("heal", escape(_heal_text(summary["heal"], restart["needs_approval"])))
    head.add_row("max concurrent", str(summary["max_concurrent_actions"]))
    head.add_row("retention", escape(_retention_text(summary["retention"])))
    head.add_row("alerts", escape(_alerts_text(summary["alerts"])))
    return head


def _retention_text(kept: dict[str, Any]) -> str:
    """Return the retention section in words: each store's bound and the pruning period."""

    def bound(store: str) -> str:
        days, rows = kept[f"{store}_max_age_days"], kept[f"{store}_max_rows"]
        parts = [f"{days:g} days" if days else "forever"] + ([f"{rows} rows"] if rows else [])
        return f"{store} {' or '.join(parts)}"

    return f"{bound('audit')}; {bound('history')}; pruned every {kept['prune_every_s']:g}s"


def _alerts_text(alerts: dict[str, Any]) -> str:
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


def _runs_text(tool: dict[str, Any]) -> Text:
    """Return whether a tool runs under the policy: denied, dry run only, or yes."""
    if not tool["allowed"]:
        return Text("denied (observe)", style="yellow")
    if tool["dry_run"]:
        return Text("dry run only", style="yellow")
    return Text("yes", style="green")


def _tools_table(summary: dict[str, Any]) -> Table:
    """Return one row per tool: risk, whether it runs, approval and rate limits."""
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False)
    for column in ("TOOL", "RISK", "RUNS", "APPROVAL", "RATE LIMIT"):
        table.add_column(column)
    for tool in summary["tools"]:
        table.add_row(
            tool["tool"],
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


def summary_panel(summary: dict[str, Any]) -> Panel:
    """Return a policy summary as a panel for a person."""
    return Panel(
        Group(_head_table(summary), _tools_table(summary)),
        title=escape(summary["source"]),
        title_align="left",
        expand=False,
    )


@policy_app.command("check")
def check(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="The policy file (TOML) to check.")],
    as_json: JsonOption = False,
) -> None:
    """Validate a policy file; print what it allows and protects (exit 2 if malformed)."""
    as_json = as_json or settings_of(ctx).json
    try:
        policy = load_policy(file)
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    summary = policy_summary(policy, str(file))
    if as_json:
        print_json(OUT, {"ok": True, "result": summary})
        return
    OUT.print(summary_panel(summary))
    ERR.print(f"[green]✓[/green] {escape(str(file))} is a valid policy")


@policy_app.command("show")
def show(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Show the policy in force: the file or default, with --mode and --dry-run applied."""
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        policy = settings.policy()
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    overrides = []
    if settings.mode is not None:
        overrides.append(f"--mode {settings.mode}")
    if settings.dry_run is not None:
        overrides.append("--dry-run" if settings.dry_run else "--no-dry-run")
    source = settings.policy_source() + (f" with {', '.join(overrides)}" if overrides else "")
    summary = policy_summary(policy, source)
    if policy.protect_self:
        summary["own_container"] = ", ".join(sorted(detect_own_container_ids())) or None
    if as_json:
        print_json(OUT, {"ok": True, "result": summary})
        return
    OUT.print(summary_panel(summary))
