"""``operator hosts``: every host of the fleet's inventory, probed at once.

One ``docker info`` per host, all at the same time, each bounded by its host's
``deadline_s``: whether it answered, its engine version, containers running/total and the
round trip. Exit 0 when at least one host answered (the others are listed with their
error), 6 when none did, 2 without an inventory or with a malformed one.
"""

from __future__ import annotations

import asyncio

import typer
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from operator_core.cli.app import ERR, OUT, JsonOption, fail, settings_of
from operator_core.cli.exit_codes import ExitCode
from operator_core.errors import InvalidInput, OperatorError
from operator_core.fleet import Fleet, Inventory
from operator_core.fleet.results import FleetCheck
from operator_core.present.columns import Cell, Column, fit_table, print_table
from operator_core.present.views import print_json

__all__ = ["HOST_COLUMNS", "hosts", "hosts_table"]

HOST_COLUMNS = (
    Column("HOST", fold=True),
    Column("STATE"),
    Column("ENGINE", drop_rank=3),
    Column("RUNNING/TOTAL", drop_rank=2),
    Column("LATENCY", drop_rank=1),
    Column("ADDRESS", drop_rank=4, min_width=14),
)


def hosts_table(report: FleetCheck, width: int) -> Table:
    """Return the table of a ``Fleet.check`` report, fitted to ``width``."""
    rows: list[list[Cell]] = []
    for entry in report["hosts"]:
        up = entry["reachable"]
        state = Text("up", style="green") if up else Text("unreachable", style="red")
        rows.append(
            [
                escape(str(entry["host"])),
                state,
                str(entry["engine_version"] or "-"),
                f"{entry['containers_running']}/{entry['containers_total']}" if up else "-",
                f"{entry['latency_ms']:.0f} ms" if up else "-",
                escape(str(entry["address"])),
            ]
        )
    return fit_table(HOST_COLUMNS, rows, width)


def _inventory(ctx: typer.Context) -> Inventory:
    """Return the inventory in force; InvalidInput naming how to give one when there is none."""
    inventory = settings_of(ctx).inventory()
    if inventory is None:
        raise InvalidInput(
            "there is no fleet inventory: give --inventory FILE, set OPERATOR_INVENTORY, or "
            "write ~/.config/operator-core/inventory.toml (scripts/lab.sh up 3 prints one)"
        )
    return inventory


def hosts(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """Probe every host of the inventory: reachable, engine, containers, round trip."""
    as_json = as_json or settings_of(ctx).json
    try:
        report = asyncio.run(Fleet(_inventory(ctx)).check())
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(OUT, {"ok": True, "result": report})
    else:
        print_table(OUT, hosts_table(report, OUT.width))
        for entry in report["hosts"]:
            if entry["error"] is not None:
                ERR.print(
                    f"[yellow]unreachable[/yellow] {escape(entry['host'])}: "
                    f"{escape(entry['error']['message'])}"
                )
        ERR.print(f"[dim]{report['reachable']} of {len(report['hosts'])} host(s) answered[/dim]")
    raise typer.Exit(int(ExitCode.OK if report["reachable"] else ExitCode.UNREACHABLE))
