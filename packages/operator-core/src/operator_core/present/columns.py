"""Tables that fit the terminal: each column says how it gives way when space runs out.

A column that matters (a container's name, a tool, an outcome) is never cut: when the
screen is narrow it folds onto a second line, which keeps it whole and unambiguous. A
column that helps (an image, a start time, networks) is first shortened, down to its
``min_width`` with an ellipsis, then dropped, the highest ``drop_rank`` first. A column
that has nothing to show (no container has a compose project) is left out. ``wide``
shows every column whole, whatever the width (the terminal then wraps long lines).
A cell stays on its line: a newline or control character in it is shown as an escape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

from operator_core.present.terminal import SafeConsole, safe_rich_text, safe_text

__all__ = ["GAP", "Cell", "Column", "fit_table", "fitted_widths", "natural_width", "print_table"]

#: Spaces between two columns.
GAP = 2
#: The narrowest a folding column gets before columns are dropped instead.
_FOLD_MIN = 12

Cell = str | Text


@dataclass(frozen=True)
class Column:
    """One column: its header, how it gives way, and whether an empty one is left out.

    ``drop_rank`` 0 is never dropped; otherwise higher ranks go first. ``min_width`` (with
    ``fold`` False) lets the column be cut with an ellipsis down to that width; with
    neither, the column is never shortened. ``optional`` leaves it out when no row has
    content (empty or '-').
    """

    header: str
    drop_rank: int = 0
    min_width: int | None = None
    fold: bool = False
    optional: bool = False
    justify: Literal["left", "right"] = "left"


def _plain(cell: Cell) -> str:
    """Return a cell's text."""
    return cell.plain if isinstance(cell, Text) else cell


def natural_width(column: Column, cells: Sequence[Cell]) -> int:
    """Return the width a column needs to show its header and every cell whole."""
    widths = [cell_len(line) for cell in cells for line in _plain(cell).splitlines() or [""]]
    return max([cell_len(column.header), *widths])


def _least(column: Column, natural: int) -> int:
    """Return the narrowest a column may be made before it must be dropped."""
    if column.fold:
        return min(natural, max(_FOLD_MIN, cell_len(column.header)))
    if column.min_width is not None:
        return min(natural, max(column.min_width, cell_len(column.header)))
    return natural


def _total(widths: Sequence[int]) -> int:
    """Return the width of a table with columns this wide."""
    return sum(widths) + GAP * max(0, len(widths) - 1)


def _fitting(columns: Sequence[Column], least: Sequence[int], width: int) -> list[int]:
    """Return the columns kept when the most droppable go first until the rest fit."""
    shown = list(range(len(columns)))
    by_rank = sorted(
        (i for i in shown if columns[i].drop_rank > 0), key=lambda i: -columns[i].drop_rank
    )
    while by_rank and _total([least[i] for i in shown]) > width:
        shown.remove(by_rank.pop(0))
    return shown


def fitted_widths(columns: Sequence[Column], naturals: Sequence[int], width: int) -> dict[int, int]:
    """Return {column index: width} of the columns shown in ``width`` cells.

    Columns are dropped (highest ``drop_rank`` first) until the rest fit with every
    folding column whole and every other at its least width; those that may shrink then
    give up what is needed, the most droppable first. Only when the never-dropped columns
    do not fit that way do folding columns (names) fold, down to a dozen cells. When even
    that does not fit, everything is kept at its least (the terminal wraps).
    """
    whole = [n if c.fold else _least(c, n) for c, n in zip(columns, naturals, strict=True)]
    shown = _fitting(columns, whole, width)
    least = [_least(c, n) for c, n in zip(columns, naturals, strict=True)]
    if _total([whole[i] for i in shown]) > width:
        shown = _fitting(columns, least, width)
    widths = {i: naturals[i] for i in shown}
    excess = _total(list(widths.values())) - width
    order = sorted(shown, key=lambda i: (columns[i].fold, -columns[i].drop_rank))
    for i in order:
        if excess <= 0:
            break
        give = min(excess, widths[i] - least[i])
        widths[i] -= give
        excess -= give
    return widths


def _one_line(cell: Cell) -> Cell:
    """Return a cell on one line, control characters shown (its width then measured right)."""
    if isinstance(cell, Text):
        return safe_rich_text(cell, one_line=True)
    return safe_text(cell, one_line=True)


def _has_content(cells: Sequence[Cell]) -> bool:
    """Whether any cell shows something besides '-'."""
    return any(_plain(cell).strip() not in ("", "-") for cell in cells)


def fit_table(
    columns: Sequence[Column],
    rows: Sequence[Sequence[Cell]],
    width: int,
    *,
    wide: bool = False,
) -> Table:
    """Return a table of ``rows`` that fits ``width`` cells (every column whole if ``wide``)."""
    kept = [
        i
        for i, column in enumerate(columns)
        if not column.optional or _has_content([row[i] for row in rows])
    ]
    cols = [columns[i] for i in kept]
    cells = [[_one_line(row[i]) for i in kept] for row in rows]
    naturals = [natural_width(c, [row[j] for row in cells]) for j, c in enumerate(cols)]
    widths = dict(enumerate(naturals)) if wide else fitted_widths(cols, naturals, width)
    table = Table(box=None, padding=(0, GAP // 2), pad_edge=False, show_edge=False)
    for j, size in widths.items():
        column = cols[j]
        table.add_column(
            column.header,
            width=size,
            no_wrap=not column.fold,
            overflow="fold" if column.fold else "ellipsis",
            justify=column.justify,
        )
    for row in cells:
        table.add_row(*(row[j] for j in widths))
    return table


def print_table(console: Console, table: Table) -> None:
    """Print a ``fit_table`` table whole: at the console's width, or wider for a wide one.

    rich never prints wider than its console, so a wide table goes through a console of
    its width writing to the same file; the terminal wraps its long lines.
    """
    needed = sum(column.width or 0 for column in table.columns)
    needed += GAP * max(0, len(table.columns) - 1)
    if needed <= console.width:
        console.print(table)
        return
    wider = SafeConsole(
        file=console.file,
        width=needed,
        force_terminal=console.is_terminal,
        color_system=console.color_system,  # type: ignore[arg-type]
        no_color=console.no_color,
        highlight=False,
    )
    wider.print(table, crop=False)
