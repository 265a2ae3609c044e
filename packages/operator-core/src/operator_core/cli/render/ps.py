r"""``operator docker ps`` for people and for scripts: the table, ``-q`` and ``--format``.

The table never cuts a name (two names that share a prefix must stay apart): at narrow
widths it drops, in this order, networks, the start time, the image, the id, and folds a
long name onto a second line. A ``COMPOSE`` column (project/service) and a ``HOST``
column appear only when some container has one. Health and exit codes ride in STATUS as
docker shows them: ``running (unhealthy)``, ``exited (137)``.

``--format`` takes docker's placeholders (``{{.Names}}\t{{.Status}}``) for the fields
people script with, or ``json`` for one JSON object per container and line.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from operator_core._time import utc_moment
from operator_core.errors import InvalidInput
from operator_core.present.columns import Cell, Column, fit_table, print_table
from operator_core.present.views import HEALTH_STYLES, short_id
from operator_core.words import JSONObject, json_list, json_object, json_objects

if TYPE_CHECKING:
    from operator_core.cli.render.common import Renderer

__all__ = [
    "FORMAT_FIELDS",
    "PS_COLUMNS",
    "age",
    "check_format",
    "containers_table",
    "format_containers",
    "ps_renderer",
    "quiet_ids",
    "status_word",
]

PS_COLUMNS = (
    Column("NAME", fold=True),
    Column("ID", drop_rank=3),
    Column("IMAGE", drop_rank=4, min_width=12),
    Column("STATUS"),
    Column("STARTED", drop_rank=5),
    Column("NETWORKS", drop_rank=6, min_width=10),
    Column("COMPOSE", drop_rank=2, min_width=12, optional=True),
    Column("HOST", drop_rank=1, optional=True),
)


def age(started_at: object, now: float) -> str:
    """Return how long ago an ISO time was, in docker's short words ('5m ago'); '-' if none."""
    if not isinstance(started_at, str) or not started_at or started_at.startswith("0001-"):
        return "-"
    try:
        seconds = max(0.0, now - utc_moment(started_at).timestamp())
    except (ValueError, OverflowError):
        return "-"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return f"{int(seconds)}s ago"


def status_word(container: JSONObject) -> str:
    """Return 'running', 'running (healthy)', 'exited (137)'..., as docker ps says it."""
    status = str(container.get("status") or "-")
    if container.get("health") and status in ("running", "paused", "restarting"):
        return f"{status} ({container['health']})"
    if status in ("exited", "dead") and container.get("exit_code") is not None:
        return f"{status} ({container['exit_code']})"
    return status


def _status_cell(container: JSONObject) -> Text:
    """Return the status, coloured by health while it runs, else by state."""
    word = status_word(container)
    shown = container.get("health") if word.endswith(f"({container.get('health')})") else None
    style = HEALTH_STYLES.get(str(shown or container.get("status")), "")
    return Text(word, style=style)


def _compose(container: JSONObject) -> str:
    """Return 'project/service' of a compose container, or '-'."""
    project, service = container.get("compose_project"), container.get("compose_service")
    if not project:
        return "-"
    return f"{project}/{service}" if service else str(project)


def _networks(container: JSONObject) -> str:
    """Return the networks joined by commas, or '-'."""
    return ",".join(str(n) for n in json_list(container.get("networks"))) or "-"


def containers_table(
    containers: list[JSONObject],
    width: int,
    *,
    now: float | None = None,
    no_trunc: bool = False,
) -> Table:
    """Return the ps table for ``width`` columns (``no_trunc``: whole ids, nothing cut)."""
    moment = time.time() if now is None else now
    rows: list[list[Cell]] = [
        [
            escape(str(c.get("name") or "")),
            str(c.get("id") or "") if no_trunc else short_id(c.get("id")),
            escape(str(c.get("image") or "-")),
            _status_cell(c),
            age(c.get("started_at"), moment),
            escape(_networks(c)),
            escape(_compose(c)),
            escape(str(c.get("host") or "-")),
        ]
        for c in containers
    ]
    return fit_table(PS_COLUMNS, rows, width, wide=no_trunc)


def quiet_ids(containers: list[JSONObject], *, no_trunc: bool = False) -> list[str]:
    """Return the ids ``ps -q`` prints: short ones, or whole with ``no_trunc``."""
    return [str(c.get("id")) if no_trunc else short_id(c.get("id")) for c in containers]


def _labels(container: JSONObject) -> str:
    """Return labels as docker's ``{{.Labels}}`` does: key=value joined by commas."""
    labels = json_object(container.get("labels"))
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


#: docker ps's ``--format`` placeholders this command knows, and how each is read.
FORMAT_FIELDS: dict[str, Callable[[JSONObject, bool], str]] = {
    "ID": lambda c, whole: str(c.get("id")) if whole else short_id(c.get("id")),
    "Names": lambda c, whole: str(c.get("name") or ""),
    "Name": lambda c, whole: str(c.get("name") or ""),
    "Image": lambda c, whole: str(c.get("image") or ""),
    "State": lambda c, whole: str(c.get("status") or ""),
    "Status": lambda c, whole: status_word(c),
    "Health": lambda c, whole: str(c.get("health") or ""),
    "ExitCode": lambda c, whole: "" if c.get("exit_code") is None else str(c["exit_code"]),
    "StartedAt": lambda c, whole: str(c.get("started_at") or ""),
    "RestartCount": lambda c, whole: str(c.get("restart_count") or 0),
    "Networks": lambda c, whole: _networks(c) if c.get("networks") else "",
    "Labels": lambda c, whole: _labels(c),
    "ComposeProject": lambda c, whole: str(c.get("compose_project") or ""),
    "ComposeService": lambda c, whole: str(c.get("compose_service") or ""),
}

_PLACEHOLDER = re.compile(r"\{\{\s*\.(\w+)\s*\}\}|\{\{\s*\.Label\s+\"([^\"]*)\"\s*\}\}")


def check_format(template: str) -> None:
    """Raise InvalidInput naming the placeholders a template uses that are not known."""
    unknown = [m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1)]
    unknown = [name for name in unknown if name not in FORMAT_FIELDS]
    leftover = _PLACEHOLDER.sub("", template)
    if unknown or "{{" in leftover:
        what = ", ".join(f".{name}" for name in unknown) or leftover
        raise InvalidInput(
            f"--format: {what} is not a field ps knows; fields: "
            f'{", ".join("." + name for name in FORMAT_FIELDS)}, .Label "key"; or json'
        )


def format_containers(
    template: str, containers: list[JSONObject], *, no_trunc: bool = False
) -> list[str]:
    r"""Return one line per container from a docker-style template (``json``: JSON lines).

    ``\t`` and ``\n`` in the template are a tab and a newline, as docker reads them.
    Raises InvalidInput for a field this command does not know.
    """
    if template.strip() == "json":
        return [json.dumps(c, sort_keys=True, allow_nan=False) for c in containers]
    check_format(template)
    pattern = template.replace("\\t", "\t").replace("\\n", "\n")

    def line(container: JSONObject) -> str:
        def value(match: re.Match[str]) -> str:
            if match.group(1):
                return FORMAT_FIELDS[match.group(1)](container, no_trunc)
            return str(json_object(container.get("labels")).get(match.group(2), ""))

        return _PLACEHOLDER.sub(value, pattern)

    return [line(c) for c in containers]


def ps_renderer(*, quiet: bool, template: str | None, no_trunc: bool) -> Renderer:
    """Return how ps shows its listing: ids, template lines, or the table."""
    from operator_core.cli.render.common import print_host_errors  # common imports this module

    def show(out: Console, err: Console, result: JSONObject) -> None:
        rows = json_objects(result.get("containers"))
        if quiet or template is not None:
            lines = (
                quiet_ids(rows, no_trunc=no_trunc)
                if quiet
                else format_containers(template or "", rows, no_trunc=no_trunc)
            )
            for line in lines:
                out.out(line, highlight=False)
            print_host_errors(err, result)
            return
        if rows:
            print_table(out, containers_table(rows, out.width, no_trunc=no_trunc))
        print_host_errors(err, result)
        err.print(f"[dim]{len(rows)} container(s)[/dim]")

    return show
