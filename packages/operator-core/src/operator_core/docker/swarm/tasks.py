"""See a service's tasks: where each runs and how it is doing, and what they wrote.

A service's logs are bounded exactly as a container's (``operator_core.docker.containers.logs``:
tail cap, byte caps, a read cap and the call's deadline, ``truncated`` with reasons),
and every line says which task and node wrote it.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_plus

from operator_core._time import utc_moment
from operator_core.docker._engine.api import EngineClient, Params
from operator_core.docker._engine.capture import LineCollector
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.fields import obj
from operator_core.docker._engine.window import window
from operator_core.docker.containers.logs import (
    ENGINE_ENTRY_BYTES,
    LOG_MARGIN_S,
    MAX_LINE_BYTES,
    MAX_LOG_BYTES,
    MAX_READ_BYTES,
    STAMP_WIDTH,
    check_stream,
    check_tail,
    split_stamp,
)
from operator_core.docker.diagnosis.reading import pump
from operator_core.docker.diagnosis.when import api_time
from operator_core.docker.swarm import _snapshot as _swarm
from operator_core.docker.swarm._view import node_names, task_entry
from operator_core.docker.swarm.results import ServiceLogLine, ServiceLogs, TaskList
from operator_core.limits import DEFAULT_TAIL, MAX_TAIL
from operator_core.validate import validate_desired_state, validate_service

__all__ = ["TaskActions"]

#: Room for the details the engine puts before each line (``com.docker.swarm.node.id=...,``
#: ``...service.id=...,...task.id=...``: about 155 bytes with ids in full).
_CONTEXT_WIDTH = 256
_NODE_KEY = "com.docker.swarm.node.id"
_TASK_KEY = "com.docker.swarm.task.id"
#: Lines held before the final selection: the engine tails each task, so a service sends up
#: to ``tail`` lines per task; memory stays bounded by ``MAX_LOG_BYTES`` whatever the count.
_MAX_HELD_LINES = 10 * MAX_TAIL


@dataclass(frozen=True)
class _Plan:
    """A validated service-logs request."""

    limit: int
    requested: int
    stream: str
    #: The engine's ``since`` (a unix time), None for the whole log.
    since: str | None


@dataclass(frozen=True)
class _Line:
    """One kept line with the task and node that wrote it."""

    stamp: str | None
    stream: str
    task_id: str | None
    slot: int | None
    node_id: str | None
    text: str
    size: int
    cut: bool


def _details(word: str) -> dict[str, str] | None:
    """Return the ``key=value,...`` details the engine put before a line, None if none."""
    pairs = [part.partition("=") for part in word.split(",")]
    if not word or not all(eq for _, eq, _ in pairs):
        return None
    return {unquote_plus(key): unquote_plus(value) for key, _, value in pairs}


def _parse(raw: bytes, stream: str, cut: bool, slots: dict[str, int]) -> _Line:
    """Return one raw line of a service's log with its task, slot and node.

    The engine (``timestamps`` and ``details``) writes ``<time> <details> <text>``, the
    details being URL-quoted ``key=value`` pairs, sorted, joined with commas, among them
    the node and task ids; ``slots`` gives each task's slot (a global service's has none).
    """
    stamp, rest = split_stamp(raw)
    word, space, text = rest.partition(" ")
    details = _details(word) if space or word else None
    task_id = slot = node_id = None
    if details is not None and _TASK_KEY in details:
        task_id, node_id = details[_TASK_KEY] or None, details.get(_NODE_KEY) or None
        slot = slots.get(task_id) if task_id else None
    else:
        text = rest
    return _Line(stamp, stream, task_id, slot, node_id, text, len(raw), cut)


def _collector(keep: bool) -> LineCollector:
    """Return a collector for one stream (``keep`` false: count its lines, hold none)."""
    return LineCollector(
        max_lines=_MAX_HELD_LINES if keep else 0,
        max_bytes=MAX_LOG_BYTES,
        max_line=MAX_LINE_BYTES + STAMP_WIDTH + _CONTEXT_WIDTH,
        entry_size=ENGINE_ENTRY_BYTES,
        entry_overhead=STAMP_WIDTH + _CONTEXT_WIDTH,
    )


async def _read(
    api: EngineClient, snap: _swarm.ServiceSnap, plan: _Plan, ends: float, slots: dict[str, int]
) -> tuple[list[_Line], set[str], int]:
    """Read the service's log; return its lines in time order, what was cut, bytes read."""
    params: Params = {"stdout": True, "stderr": True, "timestamps": True, "details": True}
    params = {**params, "tail": str(plan.limit), **({"since": plan.since} if plan.since else {})}
    out = _collector(plan.stream in ("stdout", "both"))
    err = _collector(plan.stream in ("stderr", "both"))
    container = obj(obj(snap.spec.get("TaskTemplate")).get("ContainerSpec"))
    pieces = api.frames("GET", f"/services/{snap.id}/logs", params, tty=bool(container.get("TTY")))
    outcome = await pump(
        pieces, {"stdout": out, "stderr": err}, deadline_at=ends, max_read=MAX_READ_BYTES
    )
    reasons = {"byte_cap"} if out.dropped_for_bytes or err.dropped_for_bytes else set()
    if plan.requested > plan.limit:
        reasons.add("tail_cap")
    if outcome.stopped:
        reasons.add(outcome.stopped)
    lines = [
        _parse(raw, name, cut, slots)
        for name, collector in (("stdout", out), ("stderr", err))
        for raw, cut in collector.lines
    ]
    lines.sort(key=lambda line: line.stamp or "")
    return lines, reasons, outcome.bytes_read


def _after(stamp: str | None, until: datetime) -> bool:
    """Whether a line's engine timestamp is after ``until`` (a line without one is kept)."""
    if stamp is None:
        return False
    try:
        return utc_moment(stamp) > until
    except (ValueError, OverflowError):
        return False


def _choose(lines: list[_Line], limit: int, reasons: set[str]) -> list[_Line]:
    """Return the newest ``limit`` lines within ``MAX_LOG_BYTES``, noting a cut."""
    if len(lines) > limit:
        reasons.add("tail_cap")
    lines = lines[-limit:]
    budget, first = MAX_LOG_BYTES, len(lines)
    while first > 0 and lines[first - 1].size <= budget:
        first -= 1
        budget -= lines[first].size
    if first > 0:
        reasons.add("byte_cap")
    chosen = lines[first:]
    if any(line.cut for line in chosen):
        reasons.add("long_line")
    return chosen


def _logs_result(
    snap: _swarm.ServiceSnap,
    plan: _Plan,
    read: tuple[list[_Line], set[str], int],
    names: dict[str, str],
) -> ServiceLogs:
    """Return the JSON-able result of a service-logs read."""
    chosen, reasons, bytes_read = read
    lines: list[ServiceLogLine] = [
        {
            "timestamp": line.stamp,
            "stream": line.stream,
            "task_id": line.task_id,
            "slot": line.slot,
            "node_id": line.node_id,
            "node": names.get(line.node_id) if line.node_id else None,
            "text": line.text,
            "truncated": line.cut,
        }
        for line in chosen
    ]
    return {
        "service_id": snap.id,
        "name": snap.name,
        "stream": plan.stream,
        "lines": lines,
        "line_count": len(lines),
        "tail_limit": plan.limit,
        "truncated": bool(reasons),
        "truncation": sorted(reasons),
        "bytes": sum(len(line.text.encode()) for line in chosen),
        "bytes_read": bytes_read,
    }


class TaskActions(ExecutorCore):
    """List a service's tasks and read their logs (on a manager)."""

    async def list_service_tasks(self, service: str, desired_state: str | None = None) -> TaskList:
        """List a service's tasks, newest first, each with its node's hostname.

        Without ``desired_state`` the swarm's task history is included (tasks that ended
        and were replaced, with their error and exit code); ``running`` gives only the
        tasks meant to run now. Four docker processes.
        """
        ref = validate_service(service)
        wanted = validate_desired_state(desired_state)

        async def work() -> TaskList:
            snap = await _swarm.read_service(self._api, ref)
            tasks = await _swarm.read_tasks(self._api, [snap.id], wanted)
            ids = sorted({t.node_id for t in tasks if t.node_id})
            nodes = await _swarm.read_nodes(self._api, ids)
            names = node_names(nodes)
            tasks.sort(key=lambda t: t.updated_at or "", reverse=True)
            entries = [task_entry(task, names) for task in tasks]
            count = len(entries)
            return {"service_id": snap.id, "name": snap.name, "tasks": entries, "count": count}

        return await self._call(f"tasks of service {ref}", work, service=ref)

    async def get_service_logs(
        self,
        service: str,
        tail: int = DEFAULT_TAIL,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        stream: str = "both",
    ) -> ServiceLogs:
        """Return the last ``tail`` lines a service's tasks wrote, in time order; never follows.

        Bounded as ``get_container_logs`` is (``tail`` capped at ``MAX_TAIL``, each line at
        ``MAX_LINE_BYTES``, all at ``MAX_LOG_BYTES``, the read at ``MAX_READ_BYTES`` and the
        call's deadline), with ``truncated`` and the reasons in ``truncation``. Each line has
        ``task_id``, ``slot``, ``node_id`` and ``node`` (hostname). The engine tails every
        task, so the newest ``tail`` lines of all tasks together are kept. The engine takes
        no ``until`` for services: lines after ``until`` are dropped here, and when some
        were, ``truncation`` holds ``until_window`` (fewer lines than asked may come back
        although older ones exist). Four requests (the service, its tasks for their slots,
        the logs, the nodes).
        """
        ref = validate_service(service)
        want = check_tail(tail)
        bounds = window(since, until, datetime.now(UTC))
        since = api_time(bounds.args[1], bounds.since) if bounds.since is not None else None
        plan = _Plan(min(want, MAX_TAIL), want, check_stream(stream), since)
        until_at = bounds.until
        limit = self._call_deadline

        async def work() -> ServiceLogs:
            ends = asyncio.get_running_loop().time() + limit - min(LOG_MARGIN_S, limit / 4)
            snap = await _swarm.read_service(self._api, ref)
            tasks = await _swarm.read_tasks(self._api, [snap.id])
            slots = {task.id: task.slot for task in tasks if task.slot is not None}
            lines, reasons, read = await _read(self._api, snap, plan, ends, slots)
            if until_at is not None:
                kept = [line for line in lines if not _after(line.stamp, until_at)]
                if len(kept) < len(lines):
                    reasons.add("until_window")
                lines = kept
            chosen = _choose(lines, plan.limit, reasons)
            ids = sorted({n for n in (x.node_id for x in chosen) if n})
            nodes = await _swarm.read_nodes(self._api, ids)
            return _logs_result(snap, plan, (chosen, reasons, read), node_names(nodes))

        return await self._call(f"logs of service {ref}", work, service=ref)
