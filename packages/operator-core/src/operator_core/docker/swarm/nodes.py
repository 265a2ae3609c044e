"""See swarm nodes and set their availability: active, pause or drain.

Draining a node makes the swarm stop its tasks and start replacements elsewhere; the call
waits until every task has left the node and its replacement runs, or ``timeout`` passes,
and reports each task that moved and where to.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from operator_core.docker._engine.api import EngineClient
from operator_core.docker.swarm import _snapshot as _swarm
from operator_core.docker.swarm._snapshot import NodeSnap, ServiceSnap, TaskSnap
from operator_core.docker.swarm._view import node_names
from operator_core.docker.swarm._wait import SwarmWaiting, validate_timeout
from operator_core.docker.swarm.results import AvailabilityResult, MovedTask, NodeEntry, NodeList
from operator_core.limits import DEFAULT_DRAIN_WAIT_S
from operator_core.validate import validate_availability, validate_node

__all__ = ["NodeActions"]


def _entry(node: NodeSnap, tasks: list[TaskSnap]) -> NodeEntry:
    """Return one node as a listing shows it (``tasks``: those meant to run on it)."""
    mine = [task for task in tasks if task.node_id == node.id]
    return {
        "node_id": node.id,
        "hostname": node.hostname,
        "role": node.role,
        "availability": node.availability,
        "status": node.status,
        "addr": node.addr,
        "manager_status": node.manager_status(),
        "engine_version": node.engine_version,
        "labels": node.labels,
        "tasks_running": sum(1 for task in mine if task.running),
        "service_ids": sorted({task.service_id for task in mine}),
    }


@dataclass(frozen=True)
class _Moves:
    """The tasks that were on a node, and the state of their services now."""

    left: list[TaskSnap]
    services: dict[str, ServiceSnap]
    tasks: list[TaskSnap]

    def replacement(self, task: TaskSnap, node_id: str) -> TaskSnap | None:
        """Return the running task of the same service and slot on another node, if any."""
        if task.slot is None:
            return None
        for other in self.tasks:
            same = other.service_id == task.service_id and other.slot == task.slot
            if same and other.node_id != node_id and other.desired_state == "running":
                return other if other.running else None
        return None

    def settled(self, node_id: str) -> bool:
        """Whether every task left the node and each replicated one runs elsewhere."""
        by_id = {t.id: t for t in self.tasks}
        for task in self.left:
            now = by_id.get(task.id, task)
            if now.running or (task.slot is not None and self.replacement(task, node_id) is None):
                return False
        return True


def _read_moves(api: EngineClient, left: list[TaskSnap]) -> Callable[[], Awaitable[_Moves]]:
    """Return a read of the services of the tasks that were on the node, for polling."""

    async def read() -> _Moves:
        service_ids = sorted({t.service_id for t in left})
        found = await _swarm.read_services(api, {"id": service_ids})
        services = {s.id: s for s in found}
        return _Moves(left, services, await _swarm.read_tasks(api, service_ids))

    return read


async def _set_availability(api: EngineClient, node: NodeSnap, availability: str) -> None:
    """Send the node's spec with ``availability``, naming the version read."""
    spec = copy.deepcopy(node.spec)
    spec["Availability"] = availability
    await api.post(f"/nodes/{node.id}/update", {"version": node.version}, spec)


def _moved(moves: _Moves, node_id: str, names: dict[str, str]) -> list[MovedTask]:
    """Return each task that was on the node, and where its replacement runs."""
    result: list[MovedTask] = []
    for task in moves.left:
        other = moves.replacement(task, node_id)
        service = moves.services.get(task.service_id)
        result.append(
            {
                "task_id": task.id,
                "service_id": task.service_id,
                "service": service.name if service else None,
                "slot": task.slot,
                "replacement_task_id": other.id if other else None,
                "to_node_id": other.node_id if other else None,
                "to_node": names.get(other.node_id) if other and other.node_id else None,
            }
        )
    return result


class NodeActions(SwarmWaiting):
    """List swarm nodes and set their availability (on a manager)."""

    async def list_nodes(self) -> NodeList:
        """List the swarm's nodes, by hostname, with how many tasks each runs now.

        Two requests whatever the number of nodes (the nodes, the tasks meant to run on
        them).
        """

        async def work() -> NodeList:
            nodes = await _swarm.read_nodes(self._api)
            tasks = await _swarm.tasks_on_nodes(self._api, [node.id for node in nodes])
            entries = [_entry(node, tasks) for node in nodes]
            return {"nodes": entries, "count": len(entries)}

        return await self._call("list nodes", work)

    async def inspect_node(self, node: str) -> NodeEntry:
        """Read one node (by hostname, id or id prefix) as ``list_nodes`` shows it.

        Two requests (the node, the tasks meant to run on it).
        """
        ref = validate_node(node)

        async def work() -> NodeEntry:
            snap = await _swarm.read_node(self._api, ref)
            return _entry(snap, await _swarm.tasks_on_nodes(self._api, [snap.id]))

        return await self._call(f"inspect node {ref}", work, node=ref)

    async def set_node_availability(
        self, node: str, availability: str, timeout: float = DEFAULT_DRAIN_WAIT_S
    ) -> AvailabilityResult:
        """Set a node's availability; for ``drain``, wait until its tasks have moved.

        ``active`` lets the swarm schedule tasks there; ``pause`` keeps its tasks running
        but schedules no new ones; ``drain`` stops its tasks and starts replacements on
        other nodes (tasks do not move back by themselves on ``active``). A node already
        so is not changed (``changed`` false). ``tasks_moved`` lists each task that was on
        a drained node with its replacement (none for a global service's task);
        ``converged`` is true once all left and every replacement runs, else ``reason``
        says what was seen after ``timeout`` seconds.
        """
        ref = validate_node(node)
        wanted = validate_availability(availability)
        limit = validate_timeout(timeout)
        began = self._clock()

        async def act() -> tuple[NodeSnap, NodeSnap, list[TaskSnap], bool]:
            before = await _swarm.read_node(self._api, ref)
            if before.availability == wanted:
                return before, before, [], False
            draining = wanted == "drain"
            left = await _swarm.tasks_on_nodes(self._api, [before.id]) if draining else []
            await _set_availability(self._api, before, wanted)
            return before, await _swarm.read_node(self._api, before.id), left, True

        before, after, left, changed = await self._call(
            f"set availability of node {ref}", act, node=ref
        )
        moves, settled, waited = _Moves([], {}, []), True, self._clock() - began
        if left:
            moves, settled, waited = await self._settle(
                f"drain node {ref}",
                _read_moves(self._api, left),
                lambda m: m.settled(after.id),
                limit,
                began,
                node=ref,
            )
        ids = sorted({t.node_id for t in moves.tasks if t.node_id})
        nodes = await self._call("read nodes", lambda: _swarm.read_nodes(self._api, ids))
        names = node_names(nodes)
        still = sum(1 for t in moves.tasks if t.node_id == after.id and t.running)
        return {
            "node_id": after.id,
            "hostname": after.hostname,
            "role": after.role,
            "before": before.availability,
            "after": after.availability,
            "changed": changed,
            "tasks_moved": _moved(moves, after.id, names),
            "tasks_left": still,
            "converged": settled,
            "waited_s": round(waited, 3),
            "reason": None
            if settled
            else f"not converged within {limit:g}s: {still} task(s) still running on the node",
        }
