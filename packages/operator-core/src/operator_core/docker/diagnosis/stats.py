"""What is eating a container: a one-shot resource snapshot, and its processes.

``container_stats`` lists the containers once (``GET /containers/json``), then asks each
for one sample (``GET /containers/{id}/stats?stream=false``, a few at a time; the engine
waits for a second sample to compute CPU use, about a second). Figures are computed from
the engine's raw counters as the docker CLI computes them (memory without the inactive
file cache, CPU as a share of the host's CPUs times their count), so they are exact bytes,
not the CLI's rounded ``356KiB``. ``container_top`` is ``GET /containers/{id}/top`` with
``ps`` columns that every engine's host ``ps`` knows.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping

from operator_core.docker._engine.api import EngineClient, as_list, as_object
from operator_core.docker._engine.core import ExecutorCore
from operator_core.errors import ContainerNotFound, InvalidInput
from operator_core.limits import MAX_STATS_REFS
from operator_core.redaction import redact_text
from operator_core.results import ContainerStats, Process, StatsResult, TopResult
from operator_core.validate import validate_reference

__all__ = [
    "STATS_AT_ONCE",
    "StatsActions",
    "parse_stats",
]

#: How many containers are sampled at once (each sample takes the engine about a second).
STATS_AT_ONCE = 8


def _object(value: object) -> Mapping[str, object]:
    """Return ``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _number(value: object) -> int | None:
    """Return a whole counter the engine gave, None when it gave none."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _finite(value: float) -> float | None:
    """Return a percentage rounded to two places, None if it is not a finite number."""
    return round(value, 2) if math.isfinite(value) else None


def _cpu_percent(raw: Mapping[str, object]) -> float | None:
    """Return CPU use as the CLI computes it (200% is two CPUs busy).

    The container's share of the host's CPU time between two samples, times the number of
    CPUs online.
    """
    now, before = _object(raw.get("cpu_stats")), _object(raw.get("precpu_stats"))
    total = _number(_object(now.get("cpu_usage")).get("total_usage"))
    system = _number(now.get("system_cpu_usage"))
    if total is None or system is None:
        return None
    cpu_delta = total - (_number(_object(before.get("cpu_usage")).get("total_usage")) or 0)
    system_delta = system - (_number(before.get("system_cpu_usage")) or 0)
    online = _number(now.get("online_cpus")) or len(
        _object(now.get("cpu_usage")).get("percpu_usage") or []  # type: ignore[arg-type]
    )
    if system_delta <= 0 or cpu_delta <= 0:
        return 0.0
    return _finite(cpu_delta / system_delta * online * 100.0)


def _memory(raw: Mapping[str, object]) -> tuple[int | None, int | None, float | None]:
    """Return memory in use (less the inactive file cache, as the CLI), its limit, percent."""
    memory = _object(raw.get("memory_stats"))
    usage, limit = _number(memory.get("usage")), _number(memory.get("limit"))
    if usage is None:
        return None, limit, None
    details = _object(memory.get("stats"))
    for key in ("total_inactive_file", "inactive_file"):  # cgroup v1, then v2
        cache = _number(details.get(key))
        if cache is not None and cache < usage:
            usage -= cache
            break
    percent = _finite(usage / limit * 100.0) if limit else None
    return usage, limit, percent


def _network(raw: Mapping[str, object]) -> tuple[int | None, int | None]:
    """Return the bytes received and sent over every network of the container."""
    networks = _object(raw.get("networks"))
    if not networks:
        return None, None
    rx = sum(_number(_object(net).get("rx_bytes")) or 0 for net in networks.values())
    tx = sum(_number(_object(net).get("tx_bytes")) or 0 for net in networks.values())
    return rx, tx


def _block(raw: Mapping[str, object]) -> tuple[int | None, int | None]:
    """Return the bytes read from and written to block devices (cgroup v1 and v2 op names)."""
    entries = _object(raw.get("blkio_stats")).get("io_service_bytes_recursive")
    if not isinstance(entries, list):
        return None, None
    read = written = 0
    for entry in entries:
        op, value = str(_object(entry).get("op") or ""), _number(_object(entry).get("value")) or 0
        if op[:1] in ("r", "R"):
            read += value
        elif op[:1] in ("w", "W"):
            written += value
    return read, written


def parse_stats(raw: Mapping[str, object]) -> ContainerStats:
    """Return one sample of ``GET /containers/{id}/stats?stream=false`` as a result entry.

    A figure the engine has not got (a stopped container has no samples) is None.
    """
    used, limit, percent = _memory(raw)
    rx, tx = _network(raw)
    read, written = _block(raw)
    return ContainerStats(
        container_id=str(raw.get("id") or ""),
        name=str(raw.get("name") or "").lstrip("/"),
        cpu_percent=_cpu_percent(raw),
        memory_bytes=used,
        memory_limit_bytes=limit,
        memory_percent=percent,
        network_rx_bytes=rx,
        network_tx_bytes=tx,
        block_read_bytes=read,
        block_write_bytes=written,
        pids=_number(_object(raw.get("pids_stats")).get("current")),
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


#: A listed container: its full id and its name.
_Listed = tuple[str, str]


async def _listing(api: EngineClient, every: bool) -> list[_Listed]:
    """Return the id and name of every container (``every``) or every running one."""
    found = as_list(await api.get("/containers/json", {"all": every}), "GET /containers/json")
    listed: list[_Listed] = []
    for item in found:
        entry = _object(item)
        names = entry.get("Names")
        first = names[0] if isinstance(names, list) and names else ""
        listed.append((str(entry.get("Id") or ""), str(first).lstrip("/")))
    return listed


def _pick(ref: str, listed: list[_Listed]) -> _Listed | None:
    """Return the container ``ref`` names as docker resolves it: full id, name, unique prefix."""
    for entry in listed:
        if entry[0] == ref:
            return entry
    for entry in listed:
        if entry[1] == ref:
            return entry
    prefixed = [entry for entry in listed if entry[0].startswith(ref)]
    return prefixed[0] if len(prefixed) == 1 else None


async def _sample(api: EngineClient, cid: str, gate: asyncio.Semaphore) -> ContainerStats | None:
    """Return one sample of a container's stats, None if it was removed since it was listed."""
    async with gate:
        try:
            raw = as_object(
                await api.get(f"/containers/{cid}/stats", {"stream": False}), "GET stats"
            )
        except ContainerNotFound:
            return None
    return parse_stats(raw)


async def _stats_of(api: EngineClient, refs: list[str] | None) -> StatsResult:
    """Sample the containers ``refs`` name (every running one for None)."""
    listed = await _listing(api, every=refs is not None)
    missing: list[str] = []
    chosen: list[_Listed] = []
    for ref in refs if refs is not None else []:
        found = _pick(ref, listed)
        if found is None:
            missing.append(ref)
        elif found not in chosen:
            chosen.append(found)
    if refs is None:
        chosen = listed
    gate = asyncio.Semaphore(STATS_AT_ONCE)
    samples = await asyncio.gather(*(_sample(api, cid, gate) for cid, _ in chosen))
    entries: list[ContainerStats] = []
    for (cid, name), sample in zip(chosen, samples, strict=True):
        if sample is None:
            if refs is not None:
                missing.append(name)
            continue
        entries.append({**sample, "container_id": cid, "name": name})
    return StatsResult(containers=entries, count=len(entries), missing=missing)


def _processes(titles: list[str], rows: list[list[str]]) -> list[Process]:
    """Return the processes of a top table with PID, USER, ELAPSED, COMMAND columns."""
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


def _top_table(raw: Mapping[str, object]) -> tuple[list[str], list[list[str]]]:
    """Return the titles and rows of ``GET /containers/{id}/top`` (the engine splits them)."""
    titles = raw.get("Titles")
    rows = raw.get("Processes")
    if not isinstance(titles, list) or not isinstance(rows, list):
        return [], []
    table = [[str(cell) for cell in row] for row in rows if isinstance(row, list)]
    return [str(title) for title in titles], table


class StatsActions(ExecutorCore):
    """One-shot resource use and processes of containers."""

    async def container_stats(self, refs: list[str] | None = None) -> StatsResult:
        """Return a resource snapshot of ``refs`` (default: every running container).

        Each entry has ``container_id``, ``name``, ``cpu_percent``, ``memory_bytes``,
        ``memory_limit_bytes``, ``memory_percent``, network rx/tx and block read/write
        bytes and ``pids``; a figure the engine has not got (a stopped container) is
        None. Sizes are exact bytes from the engine's counters. ``missing`` lists the
        refs no container answers to (and a container removed before its sample).
        Requests: one listing, then one sample per container, ``STATS_AT_ONCE`` at a
        time (the engine takes about a second for each, to compute CPU use).
        """
        wanted = _references(refs)
        return await self._call("stats", lambda: _stats_of(self._api, wanted))

    async def container_top(self, container_id: str) -> TopResult:
        """Return the processes running in a container: ``pid``, ``user``, ``elapsed``, ``command``.

        ``pid`` is the host's pid, ``elapsed`` ``ps``'s ``[[dd-]hh:]mm:ss``, ``command``
        the command line with secret-shaped words (``--password x``, ``TOKEN=x``) replaced
        by ``[REDACTED]``, as the audit trail stores them. A stopped
        container raises ContainerStateError. Two requests: an inspect and the top.
        """
        ref = validate_reference(container_id)

        async def work() -> TopResult:
            model = await self._api.get_object(f"/containers/{ref}/json")
            cid = str(model.get("Id") or "")
            params = {"ps_args": "-o pid,user,etime,args"}
            table = await self._api.get_object(f"/containers/{cid}/top", params)
            processes = _processes(*_top_table(table))
            return TopResult(
                container_id=cid,
                name=str(model.get("Name") or "").lstrip("/"),
                processes=processes,
                count=len(processes),
            )

        return await self._call(f"top of {ref}", work, container=ref)
