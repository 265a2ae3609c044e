"""``operator watch``: follow every host's events and print incidents as they happen.

Human lines by default, one JSON object per line with ``--json``. It runs until Ctrl-C
(exit 130) and says when a host's event stream ends and when it is followed again. With
``--heal`` it also acts on incidents by the policy's ``[heal]`` section, through the same
runner as every command (policy, approval, rate limits, audit trail). When the policy
names ``[alerts.*]`` sinks, every item is also offered to them (``watch.alerts``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from operator_core.audit import open_audit
from operator_core.audit.labels import redact_labels
from operator_core.cli.app import ERR, OUT, fail, settings_of
from operator_core.cli.commands.heal import check_heal_start
from operator_core.cli.commands.retention import recording
from operator_core.cli.preflight import check_engine_options
from operator_core.cli.runtime import make_approver, open_runner
from operator_core.cli.settings import Settings
from operator_core.docker import DockerActionExecutor
from operator_core.errors import OperatorError
from operator_core.fleet import Fleet
from operator_core.watch import (
    DEFAULT_LOOP_RESTARTS,
    DEFAULT_LOOP_WINDOW_S,
    Healer,
    HealReport,
    HealStore,
    Incident,
    IncidentDetector,
    Notice,
    heal_approver,
    heal_watch,
    watch,
)
from operator_core.watch.alerts import AlertDispatcher, build_dispatcher
from operator_core.watch.intents import AuditIntents
from operator_core.watch.recorder import HistoryRecorder
from operator_core.watch.sources import WatchSource

__all__ = ["format_item", "watch_command"]

_STYLE = {
    "died": "red",
    "oom_killed": "red",
    "unhealthy": "yellow",
    "restart_loop": "red",
    "connected": "dim",
    "reconnected": "green",
    "disconnected": "yellow",
    "unresponsive": "bold yellow",
    "responsive": "green",
    "stopped": "dim",
    "removed": "dim",
    "restarted": "dim",
    "restarted_by_operator": "dim",
    "engine_stopped": "yellow",
    "heal_started": "cyan",
    "healed": "green",
    "heal_failed": "red",
    "heal_denied": "yellow",
    "heal_skipped": "dim",
    "escalated": "bold red",
}

#: What a watch yields: an incident, a notice, or a heal report.
_Item = Incident | Notice | HealReport


def format_item(item: Mapping[str, object]) -> str:
    """Return one incident, notice or heal report as a line for a person (rich markup).

    Every line names its host (when there is one) and its container: an incident's message
    already does; a heal report's gets them put in front when it does not.
    """
    when = str(item.get("time") or "")[11:19]
    kind = str(item.get("kind"))
    if item.get("status") in ("update", "resolved"):
        kind = f"{kind} {item['status']}"
    message = str(item.get("message"))
    if "incident_id" not in item:
        who = str(item.get("name") or "") or str(item.get("container_id") or "")[:12]
        if who and who not in message:
            message = f"{who}: {message}"
        if item.get("host"):
            message = f"{item['host']}: {message}"
    # What came from the engine is made safe (shown, not obeyed) by the console, once.
    text = f"{when} {kind:<12} {message}"
    if item.get("retry_in_s") is not None:
        text += f"; retrying in {item['retry_in_s']:g}s"
    style = "green" if item.get("status") == "resolved" else _STYLE.get(str(item.get("kind")))
    return f"[{style or 'default'}]{escape(text)}[/]"


def watch_command(
    ctx: typer.Context,
    since: Annotated[
        str | None,
        typer.Option(help="Also report what happened since then (10m, ISO).", show_default=False),
    ] = None,
    loop_restarts: Annotated[
        int, typer.Option(help="More deaths than this in the window is a restart loop.")
    ] = DEFAULT_LOOP_RESTARTS,
    loop_window: Annotated[
        float, typer.Option(help="The restart-loop window, in seconds.")
    ] = DEFAULT_LOOP_WINDOW_S,
    heal: Annotated[
        bool, typer.Option("--heal", help="Act on incidents by the policy's [heal] section.")
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="One JSON object per line (incidents and notices).")
    ] = False,
) -> None:
    """Report incidents as they happen: deaths, OOM kills, unhealthy, restart loops."""
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        check_engine_options(settings.context)
        detector = IncidentDetector(loop_restarts=loop_restarts, loop_window_s=loop_window)
        inventory = settings.inventory()
        source: WatchSource = (
            DockerActionExecutor(endpoint=settings.endpoint())
            if inventory is None
            else Fleet(inventory)
        )
        if heal:
            interactive = sys.stdin.isatty() and ERR.is_terminal
            check_heal_start(
                settings.policy(),
                settings.policy_source(),
                yes=settings.yes,
                interactive=interactive,
            )
        items = _recorded(
            settings,
            lambda recorder: (
                _healing(settings, source, since, detector, recorder)
                if heal
                else _watching(_trail(settings), source, since, detector, recorder)
            ),
        )
        asyncio.run(_print_all(items, as_json, _alerting(settings)))
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    except KeyboardInterrupt:
        ERR.print("[dim]stopped watching[/dim]")
        raise typer.Exit(130) from None


async def _recorded(
    settings: Settings, build: Callable[[HistoryRecorder], AsyncGenerator[_Item, None]]
) -> AsyncGenerator[_Item, None]:
    """Yield ``build(recorder)``'s items while the history records (and retention runs)."""
    async with recording(settings) as recorder, contextlib.aclosing(build(recorder)) as items:
        async for item in items:
            yield item


async def _healing(
    settings: Settings,
    source: WatchSource,
    since: str | None,
    detector: IncidentDetector,
    recorder: HistoryRecorder | None = None,
) -> AsyncGenerator[_Item, None]:
    """Yield the watch's items and the healer's reports, healing through a runner."""
    rules = settings.policy().heal
    approver = heal_approver(make_approver(settings, ERR, [None]), rules)
    store = HealStore(settings.history_db)
    try:
        async with open_runner(settings, approver=approver) as runner:
            healer = Healer(runner, rules, store=store)
            stream = heal_watch(source, healer, since=since, detector=detector, recorder=recorder)
            async with contextlib.aclosing(stream):
                async for item in stream:
                    yield item
    finally:
        store.close()


def _trail(settings: Settings) -> Path | None:
    """Return the audit trail's path if there is one to read (a watch never creates it)."""
    path = Path(settings.audit_db)
    return path if path.exists() else None


async def _watching(
    trail: Path | None,
    source: WatchSource,
    since: str | None,
    detector: IncidentDetector,
    recorder: HistoryRecorder | None = None,
) -> AsyncGenerator[_Item, None]:
    """Yield the watch's items; deaths operator calls asked for are told by the audit trail."""
    audit = None if trail is None else open_audit(trail)
    detector.intents = None if audit is None else AuditIntents(audit)
    followed = watch(source, since=since, detector=detector, recorder=recorder)
    try:
        async with contextlib.aclosing(followed) as stream:
            async for item in stream:
                yield item
    finally:
        if audit is not None:
            await audit.close()


def _alerting(settings: Settings) -> AlertDispatcher | None:
    """Return a dispatcher to the policy's [alerts.*] sinks (None without any).

    Its warnings (a sink down, a full queue) go to stderr, never naming a URL or token.
    """
    sinks = settings.policy().alerts
    if not sinks:
        return None
    return build_dispatcher(sinks, warn=lambda text: ERR.print(f"[yellow]{escape(text)}[/]"))


@contextlib.asynccontextmanager
async def _offering(
    dispatcher: AlertDispatcher | None,
) -> AsyncIterator[Callable[[_Item], None]]:
    """Yield how to offer an item to the alert sinks; flush them (bounded) at the end."""
    if dispatcher is None:
        yield lambda item: None
        return
    async with dispatcher:
        yield dispatcher.offer


async def _print_all(
    items: AsyncGenerator[_Item, None], as_json: bool, alerts: AlertDispatcher | None = None
) -> None:
    """Print every incident, notice and heal report (each offered to the alert sinks)."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    if not as_json:
        ERR.print(f"[dim]watching since {started}; Ctrl-C to stop[/dim]")
    async with contextlib.aclosing(items), _offering(alerts) as offer:
        async for item in items:
            # Incidents carry the container's labels (heal matched on them as they are).
            item = redact_labels(item)
            offer(item)
            if as_json:
                OUT.print(
                    json.dumps(item, allow_nan=False), markup=False, highlight=False, soft_wrap=True
                )
            else:
                OUT.print(format_item(dict(item)), soft_wrap=True, highlight=False)
