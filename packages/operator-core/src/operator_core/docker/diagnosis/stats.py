"""What is eating a container: a one-shot resource snapshot, and its processes.

``container_stats`` is one ``docker stats --no-stream`` however many containers it
covers. The docker CLI prints sizes rounded for people (``356KiB / 23.54GiB``, ``1.2kB``);
they are turned back into bytes here, so a figure is as precise as the CLI's rounding
(three or four significant digits), which the docstrings say. ``container_top`` is one
``docker top``, read with ``ps`` columns that every engine's host ``ps`` knows.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from operator_core.docker._engine import cli as _engine
from operator_core.docker._engine.core import ExecutorCore
from operator_core.errors import InvalidInput
from operator_core.limits import MAX_STATS_REFS
from operator_core.redaction import redact_text
from operator_core.results import ContainerStats, Process, StatsResult, TopResult
from operator_core.validate import validate_reference

__all__ = [
    "StatsActions",
    "parse_size",
    "parse_stats",
]

_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([kKMGTPE]?i?B)", re.ASCII)
_FACTORS = {
    "B": 1,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
    "TB": 1000**4,
    "PB": 1000**5,
    "EB": 1000**6,
    "KiB": 1024,
    "kiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "TiB": 1024**4,
    "PiB": 1024**5,
    "EiB": 1024**6,
}


def parse_size(text: str) -> int | None:
    """Return the bytes of a size the docker CLI printed (``1.5MiB``, ``12kB``), else None."""
    found = _SIZE.fullmatch(text.strip())
    if found is None or found.group(2) not in _FACTORS:
        return None
    return round(float(found.group(1)) * _FACTORS[found.group(2)])


def _pair(text: object) -> tuple[int | None, int | None]:
    """Return both sizes of ``a / b`` (``--`` or anything unreadable gives None)."""
    left, _, right = str(text or "").partition("/")
    return parse_size(left), parse_size(right)


def _percent(text: object) -> float | None:
    """Return ``12.5`` for ``12.50%``; None for ``--`` or a non-finite figure."""
    try:
        value = float(str(text or "").strip().rstrip("%"))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _count(text: object) -> int | None:
    """Return a whole number the CLI printed, None for ``--``."""
    word = str(text or "").strip()
    return int(word) if word.isdigit() else None


def parse_stats(raw: dict[str, Any]) -> ContainerStats:
    """Return the stats ``docker stats --format '{{json .}}'`` printed as ``raw``."""
    used, limit = _pair(raw.get("MemUsage"))
    rx, tx = _pair(raw.get("NetIO"))
    read, written = _pair(raw.get("BlockIO"))
    return ContainerStats(
        container_id=str(raw.get("ID") or ""),
        name=str(raw.get("Name") or "").lstrip("/"),
        cpu_percent=_percent(raw.get("CPUPerc")),
        memory_bytes=used,
        memory_limit_bytes=limit,
        memory_percent=_percent(raw.get("MemPerc")),
        network_rx_bytes=rx,
        network_tx_bytes=tx,
        block_read_bytes=read,
        block_write_bytes=written,
        pids=_count(raw.get("PIDs")),
    )


def _references(refs: object) -> list[str] | None:
    """Return the distinct references asked for (None: every running container)."""
    if refs is None:
        return None
    if isinstance(refs, str) or not isinstance(refs, list | tuple):
        raise InvalidInput(f"refs must be a list of container names or ids, got {refs!r}")
    if len(refs) > MAX_STATS_REFS:
        raise InvalidInput(f"refs takes at most {MAX_STATS_REFS} containers, got {len(refs)}")
    return list(dict.fromkeys(validate_reference(ref) for ref in refs))


def _stats_of(client: Any, refs: list[str] | None) -> StatsResult:
    """Run one ``docker stats``; keep the containers ``refs`` name (all running for None)."""
    args = ["container", "stats", "--no-stream", "--no-trunc", "--format", "{{json .}}"]
    if refs is not None:
        args.append("--all")
    output = _engine.run_cli(client, args)
    entries = [parse_stats(json.loads(line)) for line in output.splitlines() if line.strip()]
    if refs is None:
        return StatsResult(containers=entries, count=len(entries), missing=[])
    chosen: list[ContainerStats] = []
    missing: list[str] = []
    for ref in refs:
        found = _pick(ref, entries)
        if found is None:
            missing.append(ref)
        elif found not in chosen:
            chosen.append(found)
    return StatsResult(containers=chosen, count=len(chosen), missing=missing)


def _pick(ref: str, entries: list[ContainerStats]) -> ContainerStats | None:
    """Return the entry ``ref`` names as docker resolves it: full id, name, unique id prefix."""
    for entry in entries:
        if entry["container_id"] == ref:
            return entry
    for entry in entries:
        if entry["name"] == ref:
            return entry
    prefixed = [entry for entry in entries if entry["container_id"].startswith(ref)]
    return prefixed[0] if len(prefixed) == 1 else None


def _processes(titles: list[str], rows: list[list[str]]) -> list[Process]:
    """Return the processes of a ``docker top`` table with PID, USER, ELAPSED, COMMAND."""
    column = {title.upper(): index for index, title in enumerate(titles)}
    processes: list[Process] = []
    for row in rows:
        if len(row) < len(titles):
            continue
        processes.append(
            Process(
                pid=int(row[column["PID"]]),
                user=row[column["USER"]],
                elapsed=row[column["ELAPSED"]],
                command=redact_text(row[column["COMMAND"]]),
            )
        )
    return processes


def _top_table(output: str) -> tuple[list[str], list[list[str]]]:
    """Split ``docker top`` output: the title row, then rows whose last column keeps spaces."""
    lines = [line for line in output.splitlines() if line.strip()]
    if not lines:
        return [], []
    titles = lines[0].split()
    rows = [line.split(None, len(titles) - 1) for line in lines[1:]]
    return titles, rows


class StatsActions(ExecutorCore):
    """One-shot resource use and processes of containers."""

    async def container_stats(self, refs: list[str] | None = None) -> StatsResult:
        """Return a resource snapshot of ``refs`` (default: every running container).

        Each entry has ``container_id``, ``name``, ``cpu_percent``, ``memory_bytes``,
        ``memory_limit_bytes``, ``memory_percent``, network rx/tx and block read/write
        bytes and ``pids``; a figure the engine has not got (a stopped container) is
        None. Sizes are read back from the CLI's rounded figures (``1.5MiB``), so they
        are as precise as that rounding. ``missing`` lists the refs no container
        answers to. One docker process however many containers (the engine samples
        them for about two seconds to compute CPU use).
        """
        wanted = _references(refs)
        return await self._run("stats", lambda client: _stats_of(client, wanted))

    async def container_top(self, container_id: str) -> TopResult:
        """Return the processes running in a container: ``pid``, ``user``, ``elapsed``, ``command``.

        ``pid`` is the host's pid, ``elapsed`` ``ps``'s ``[[dd-]hh:]mm:ss``, ``command``
        the command line with secret-shaped words (``--password x``, ``TOKEN=x``) replaced
        by ``[REDACTED]``, as the audit trail stores them. A stopped
        container raises ContainerStateError. Two docker processes: an inspect and the top.
        """
        ref = validate_reference(container_id)

        def work(client: Any) -> TopResult:
            model = _engine.inspect_model(client, ref)
            output = _engine.run_cli(
                client, ["container", "top", str(model.id), "-o", "pid,user,etime,args"]
            )
            processes = _processes(*_top_table(output))
            return TopResult(
                container_id=str(model.id),
                name=str(model.name or "").lstrip("/"),
                processes=processes,
                count=len(processes),
            )

        return await self._run(f"top of {ref}", work, container=ref)
