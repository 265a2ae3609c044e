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
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Annotated, Any

import typer
from rich.markup import escape

from operator_core.cli.app import ERR, OUT, fail, settings_of
from operator_core.cli.preflight import check_engine_options
from operator_core.cli.runtime import make_approver, open_runner
from operator_core.docker import DockerActionExecutor
from operator_core.errors import InvalidInput, OperatorError
from operator_core.fleet import Fleet
from operator_core.watch import (
    DEFAULT_LOOP_RESTARTS,
    DEFAULT_LOOP_WINDOW_S,
    Healer,
    IncidentDetector,
    heal_watch,
    watch,
)
from operator_core.watch.alerts import AlertDispatcher, build_dispatcher

__all__ = ["format_item", "watch_command"]

_STYLE = {
    "died": "red",
    "oom_killed": "red",
    "unhealthy": "yellow",
    "restart_loop": "red",
    "connected": "dim",
    "reconnected": "green",
    "disconnected": "yellow",
    "heal_started": "cyan",
    "healed": "green",
    "heal_failed": "red",
    "heal_denied": "yellow",
    "heal_skipped": "dim",
    "escalated": "bold red",
}


def format_item(item: dict[str, Any]) -> str:
    """Return one incident or notice as a line for a person (rich markup)."""
    when = str(item.get("time") or "")[11:19]
    host = f"{item['host']}: " if item.get("host") else ""
    kind = str(item.get("kind"))
    text = f"{when} {kind:<12} {host}{item.get('message')}"
    if item.get("retry_in_s") is not None:
        text += f"; retrying in {item['retry_in_s']:g}s"
    return f"[{_STYLE.get(kind, 'default')}]{escape(text)}[/]"


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
        source: Any = (
            DockerActionExecutor(settings.docker_client())
            if inventory is None
            else Fleet(inventory)
        )
        if heal and not settings.policy().heal.restart_unhealthy:
            raise InvalidInput(
                f"the policy ({settings.policy_source()}) heals nothing: set "
                'restart_unhealthy = true in its [heal] section (and mode = "execute")'
            )
        items = (
            _healing(settings, source, since, detector)
            if heal
            else watch(source, since=since, detector=detector)
        )
        asyncio.run(_print_all(items, as_json, _alerting(settings)))
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    except KeyboardInterrupt:
        ERR.print("[dim]stopped watching[/dim]")
        raise typer.Exit(130) from None


async def _healing(
    settings: Any, source: Any, since: str | None, detector: IncidentDetector
) -> AsyncGenerator[Any, None]:
    """Yield the watch's items and the healer's reports, healing through a runner."""
    approver = make_approver(settings, ERR, [None])
    async with open_runner(settings, approver=approver) as runner:
        healer = Healer(runner, settings.policy().heal)
        stream = heal_watch(source, healer, since=since, detector=detector)
        async with contextlib.aclosing(stream):
            async for item in stream:
                yield item


def _alerting(settings: Any) -> AlertDispatcher | None:
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
) -> AsyncIterator[Callable[[Any], None]]:
    """Yield how to offer an item to the alert sinks; flush them (bounded) at the end."""
    if dispatcher is None:
        yield lambda item: None
        return
    async with dispatcher:
        yield dispatcher.offer


async def _print_all(
    items: AsyncGenerator[Any, None], as_json: bool, alerts: AlertDispatcher | None = None
) -> None:
    """Print every incident, notice and heal report (each offered to the alert sinks)."""
    started = datetime.now(UTC).isoformat(timespec="seconds")
    if not as_json:
        ERR.print(f"[dim]watching since {started}; Ctrl-C to stop[/dim]")
    async with contextlib.aclosing(items), _offering(alerts) as offer:
        async for item in items:
            offer(item)
            if as_json:
                OUT.print(
                    json.dumps(item, allow_nan=False), markup=False, highlight=False, soft_wrap=True
                )
            else:
                OUT.print(format_item(dict(item)), soft_wrap=True, highlight=False)
