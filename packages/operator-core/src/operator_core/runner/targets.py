"""What a swarm tool acts on: a service or a node, resolved on the manager for the policy.

A container tool's target is resolved by ``inspect_container``; a swarm tool's (its spec's
``target_kind`` is ``service`` or ``node``) here, by ``inspect_service`` (and its running
tasks) or ``inspect_node``. The facts feed the policy (``TargetFacts``); the state is what
the audit trail keeps before and after the action: the object's identity, its replicas or
availability, and its tasks' states.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from operator_core.errors import OperatorError
from operator_core.policy.target import TargetFacts, TargetKind
from operator_core.tools.spec import ToolSpec

__all__ = ["describe", "holder", "read_state", "read_swarm_target"]


async def holder(executor: Any, swarm: bool, on_host: dict[str, Any]) -> str:
    """Return who holds a call's target, as the engine names itself: the key's first part.

    ``swarm:<cluster ID>`` for a service or node (every manager of one swarm says the same,
    so two managers share one key), ``engine:<engine ID>`` for a container (however the
    engine was reached: a URL, a symlink, a context or an inventory name).
    """
    method = getattr(executor, "engine_identity", None)
    if method is None:
        raise OperatorError(
            "the executor has no engine_identity: mutating calls are locked and rate "
            "limited by the engine's own ID, so none can run"
        )
    identity = await method(**on_host)
    cluster = identity.get("cluster_id")
    if swarm and cluster:
        return f"swarm:{cluster}"
    return f"engine:{identity['engine_id']}"


async def _service(
    executor: Any, reference: str, on_host: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return a service's inspect result and its audit state (replicas, task states)."""
    data = await executor.inspect_service(reference, **on_host)
    tasks = await executor.list_service_tasks(data["service_id"], "running", **on_host)
    states = Counter(str(task["state"]) for task in tasks["tasks"])
    state = {
        "kind": "service",
        "service_id": data["service_id"],
        "name": data["name"],
        "mode": data["mode"],
        "replicas_desired": data["replicas_desired"],
        "replicas_running": data["replicas_running"],
        "update_state": data["update_state"],
        "task_states": dict(sorted(states.items())),
    }
    return data, state


async def _node(
    executor: Any, reference: str, on_host: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return a node's inspect result and its audit state (availability, tasks running)."""
    data = await executor.inspect_node(reference, **on_host)
    keys = ("node_id", "hostname", "role", "availability", "status", "tasks_running")
    return data, {"kind": "node", **{key: data[key] for key in keys}}


async def _node_hosts(
    executor: Any, node_id: str, hosts: tuple[str, ...]
) -> tuple[tuple[str, ...], bool]:
    """Return the inventory host(s) a node is, by the node id each engine says it has.

    ``(hosts, sure)``: the one host whose engine is that node (sure), else every host that
    did not answer (it may be that node: not sure), else none. Never by name text.
    """
    answers = await asyncio.gather(
        *(executor.engine_identity(host=name) for name in hosts), return_exceptions=True
    )
    silent: list[str] = []
    for name, answer in zip(hosts, answers, strict=True):
        if isinstance(answer, OperatorError):
            silent.append(name)
        elif isinstance(answer, BaseException):
            raise answer  # a bug of ours, never hidden
        elif answer.get("node_id") == node_id:
            return (name,), True
    return tuple(silent), not silent


async def _moving(
    executor: Any, service_ids: list[str], on_host: dict[str, Any]
) -> tuple[TargetFacts, ...]:
    """Return the facts of the services ``service_ids`` names (a drain would move them)."""
    if not service_ids:
        return ()
    listing = await executor.list_services(**on_host)
    wanted = set(service_ids)
    return tuple(
        _service_facts(entry, on_host.get("host"))
        for entry in listing["services"]
        if entry["service_id"] in wanted
    )


def _service_facts(data: dict[str, Any], host: str | None) -> TargetFacts:
    """Return the facts of a service as ``inspect_service`` or ``list_services`` gives it."""
    return TargetFacts.of(
        "service",
        data["service_id"],
        data["name"],
        host,
        labels=dict(data.get("labels") or {}),
        status=data["update_state"],
        image=data.get("image"),
        replicas=data["replicas_desired"] if data["mode"] == "replicated" else None,
        previous_replicas=data.get("previous_replicas"),
    )


async def read_swarm_target(
    executor: Any,
    spec: ToolSpec,
    reference: str,
    host: str | None,
    on_host: dict[str, Any],
    *,
    arguments: dict[str, Any] | None = None,
    hosts: tuple[str, ...] = (),
) -> tuple[TargetFacts, dict[str, Any]]:
    """Return the facts the policy judges a swarm target by, and its state for the audit.

    A node's facts say which of the fleet's ``hosts`` it is, and, for a drain (in
    ``arguments``), the services whose tasks it would move.
    """
    if spec.target_kind == "node":
        data, state = await _node(executor, reference, on_host)
        drain = (arguments or {}).get("availability") == "drain"
        node_hosts, sure = await _node_hosts(executor, data["node_id"], hosts)
        facts = TargetFacts.of(
            "node",
            data["node_id"],
            data["hostname"],
            host,
            labels=dict(data.get("labels") or {}),
            status=data["availability"],
            role=data["role"],
            moving=await _moving(executor, data["service_ids"], on_host) if drain else (),
            node_hosts=node_hosts,
            node_host_sure=sure,
        )
        return facts, state
    data, state = await _service(executor, reference, on_host)
    return _service_facts(data, host), state


async def read_state(
    executor: Any, kind: TargetKind, target_id: str, on_host: dict[str, Any]
) -> dict[str, Any]:
    """Return a swarm target's audit state, read again (after an action, or on reconcile)."""
    read = _node if kind == "node" else _service
    return (await read(executor, target_id, on_host))[1]


def describe(
    spec: ToolSpec, arguments: dict[str, Any], facts: TargetFacts, state: dict[str, Any]
) -> str:
    """Say what a swarm tool would change, for a dry run (having changed nothing)."""
    what = facts.what
    if spec.method == "scale_service":
        wanted = arguments.get("replicas")
        now = state.get("replicas_desired")
        if wanted == now:
            return f"scale {what}: it already has {now} replicas, so nothing would change."
        return (
            f"scale {what} from {now} to {wanted} replicas ({state.get('replicas_running')} "
            "running now)."
        )
    if spec.method == "set_node_availability":
        wanted = arguments.get("availability")
        if wanted == facts.status:
            return f"set {what} to {wanted}: it already is, so nothing would change."
        moving = state.get("tasks_running", 0) if wanted == "drain" else 0
        moves = f"; its {moving} running task(s) would move to other nodes" if moving else ""
        return f"set {what} ({facts.role}) from {facts.status} to {wanted}{moves}."
    tasks = state.get("replicas_running")
    verb = "roll back" if spec.method == "rollback_service" else "restart (rolling)"
    back = facts.previous_replicas if spec.method == "rollback_service" else facts.replicas
    gives = f", leaving it {back} replica(s)" if back is not None else ""
    return (
        f"{verb} {what}: its {tasks} running task(s) would be replaced as its config says{gives}."
    )
