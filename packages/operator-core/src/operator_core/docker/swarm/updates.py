"""Change swarm services: scale, rolling restart, rollback; then wait for the truth.

Each action sends one change to the manager (detached), then reads the service and its
tasks until the cluster has settled or the call's ``timeout`` passed. Not converging is
a result (``converged`` false, ``reason`` says what was seen), never an exception. The
whole call takes at most ``timeout`` plus one bounded read (the executor's call deadline).
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable

from operator_core._time import utc_moment
from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.fields import obj
from operator_core.docker.swarm import _snapshot as _swarm
from operator_core.docker.swarm._snapshot import ServiceSnap, TaskSnap
from operator_core.docker.swarm._view import (
    converged,
    desired_count,
    failed_task,
    node_names,
    running_count,
)
from operator_core.docker.swarm._wait import SwarmWaiting, validate_timeout
from operator_core.docker.swarm.results import FailedTask, ScaleResult, UpdateResult
from operator_core.errors import EngineError
from operator_core.limits import DEFAULT_SCALE_WAIT_S, DEFAULT_UPDATE_WAIT_S
from operator_core.validate import validate_replicas, validate_service

__all__ = ["ServiceUpdateActions"]

#: The update states after which the swarm changes nothing more by itself.
_UPDATE_ENDS = frozenset({"completed", "paused", "rollback_completed", "rollback_paused"})

_State = tuple[ServiceSnap, list[TaskSnap]]


def _read_state(api: EngineClient, service_id: str) -> Callable[[], Awaitable[_State]]:
    """Return a read of a service and all its tasks (history included), for polling."""

    async def read() -> _State:
        snap = await _swarm.read_service(api, service_id)
        return snap, await _swarm.read_tasks(api, [snap.id])

    return read


async def _update(
    api: EngineClient, snap: ServiceSnap, spec: dict[str, object], rollback: bool = False
) -> None:
    """Send ``spec`` as the service's new spec (``rollback``: go back to its previous one).

    The update names the version read, so the engine refuses it if the service changed
    since (``update out of sequence``) rather than overwriting that change.
    """
    params: dict[str, str | int] = {"version": snap.version}
    if rollback:
        params["rollback"] = "previous"
    await api.post(f"/services/{snap.id}/update", params, spec)


def _scaled(snap: ServiceSnap, replicas: int) -> dict[str, object]:
    """Return the service's spec with ``replicas`` replicas."""
    spec = copy.deepcopy(snap.spec)
    spec["Mode"] = {"Replicated": {"Replicas": replicas}}
    return spec


def _forced(snap: ServiceSnap) -> dict[str, object]:
    """Return the service's spec with its force-update counter moved on: every task is new.

    As ``docker service update --force --no-resolve-image``: the image is not re-resolved.
    """
    spec = copy.deepcopy(snap.spec)
    template = obj(spec.get("TaskTemplate"))
    spec["TaskTemplate"] = template
    counter = template.get("ForceUpdate")
    template["ForceUpdate"] = (counter if isinstance(counter, int) else 0) + 1
    return spec


def _scale_reason(state: _State, settled: bool, limit: float) -> str | None:
    """Say why a scale did not converge, from what was last seen."""
    if settled:
        return None
    snap, tasks = state
    pending = [t for t in tasks if t.desired_state == "running" and not t.running]
    states = sorted({t.state for t in pending})
    seen = f"; tasks not running are {', '.join(states)}" if states else ""
    errors = sorted({t.error for t in pending if t.error})
    why = f" (errors: {'; '.join(errors[:3])})" if errors else ""
    return (
        f"not converged within {limit:g}s: {running_count(tasks)} of "
        f"{desired_count(snap, tasks)} replicas running{seen}{why}"
    )


def _began_after(task: TaskSnap, moment: str | None) -> bool:
    """Whether ``task`` was created at or after ``moment`` (an engine time)."""
    if moment is None or task.created_at is None:
        return moment is None
    try:
        return utc_moment(task.created_at) >= utc_moment(moment)
    except (ValueError, OverflowError):
        return False


def _update_result(
    before: _State,
    after: _State,
    changed: bool,
    waited: tuple[bool, float, float],
    ending: tuple[bool, list[FailedTask]],
) -> UpdateResult:
    """Return an update's result from the service before and after it, and how it ended."""
    settled, seconds, limit = waited
    rolled_back, failed = ending
    snap, tasks = after
    old_ids = {t.id for t in before[1] if t.desired_state == "running"}
    still = {t.id for t in tasks if t.desired_state == "running"}
    state = snap.update.state
    reason = None
    if not changed:
        reason = "the service has no previous spec to roll back to; nothing was changed"
    elif not settled:
        reason = f"not settled within {limit:g}s: update state {state or 'none'}"
    elif state not in ("completed", "rollback_completed"):
        reason = snap.update.message
    return {
        "service_id": snap.id,
        "name": snap.name,
        "changed": changed,
        "update_state": state,
        "update_message": snap.update.message,
        "converged": settled and state in ("completed", "rollback_completed") and converged(*after),
        "rolled_back": rolled_back,
        "tasks_replaced": len(old_ids - still),
        "replicas_desired": desired_count(snap, tasks),
        "replicas_running": running_count(tasks),
        "failed_tasks": failed,
        "waited_s": round(seconds, 3),
        "reason": reason,
    }


class ServiceUpdateActions(SwarmWaiting):
    """Scale, restart and roll back swarm services (on a manager)."""

    async def scale_service(
        self, service: str, replicas: int, timeout: float = DEFAULT_SCALE_WAIT_S
    ) -> ScaleResult:
        """Set a replicated service's replica count and wait until that many tasks run.

        A service already at ``replicas`` is not changed (``changed`` false) but still
        waited for. ``converged`` is true once as many tasks run as desired, every task
        meant to run is running and none meant to stop still runs; otherwise ``reason``
        says what was seen when ``timeout`` seconds (0 to an hour) had passed.
        """
        ref = validate_service(service)
        count = validate_replicas(replicas)
        limit = validate_timeout(timeout)
        began = self._clock()

        async def act() -> tuple[ServiceSnap, bool]:
            snap = await _swarm.read_service(self._api, ref)
            if snap.mode != "replicated" or snap.replicas is None:
                raise EngineError(
                    f"service {snap.name!r} is {snap.mode}: only a replicated service has a "
                    "replica count to scale"
                )
            if snap.replicas == count:
                return snap, False
            await _update(self._api, snap, _scaled(snap, count))
            return snap, True

        before, changed = await self._call(f"scale service {ref}", act, service=ref)
        state, settled, waited = await self._settle(
            f"scale service {ref}",
            _read_state(self._api, before.id),
            lambda s: converged(*s),
            limit,
            began,
            service=ref,
        )
        snap, tasks = state
        return {
            "service_id": snap.id,
            "name": snap.name,
            "replicas_before": int(before.replicas or 0),
            "replicas_after": desired_count(snap, tasks),
            "running": running_count(tasks),
            "converged": settled,
            "changed": changed,
            "waited_s": round(waited, 3),
            "reason": _scale_reason(state, settled, limit),
        }

    async def restart_service(
        self, service: str, timeout: float = DEFAULT_UPDATE_WAIT_S
    ) -> UpdateResult:
        """Replace every task of a service, rolling, as its update config says.

        An update of its spec with the force counter moved on (as ``docker service update
        --force``, without re-resolving the image): the swarm
        replaces ``parallelism`` tasks at a time with ``delay`` between, watches each batch
        for ``monitor`` and on failure acts as ``failure_action`` says (pause, continue or
        rollback). Waits until the update ends (``completed``, ``paused``,
        ``rollback_completed``, ``rollback_paused``) and, when it completed or rolled back,
        until its tasks have settled, or until ``timeout`` s pass. Returns
        ``tasks_replaced`` (tasks running before that no longer are), ``converged``,
        ``update_state``, ``rolled_back`` and ``failed_tasks`` (new tasks that failed, with
        the engine's error). Always ``changed``.
        """
        return await self._roll(service, timeout, rollback=False)

    async def rollback_service(
        self, service: str, timeout: float = DEFAULT_UPDATE_WAIT_S
    ) -> UpdateResult:
        """Put a service back on its previous spec, rolling, as its rollback config says.

        Same result as ``restart_service``; ``rolled_back`` is true once the rollback
        completed. A service with no previous spec is left alone (``changed`` false,
        ``reason`` says so).
        """
        return await self._roll(service, timeout, rollback=True)

    async def _roll(self, service: str, timeout: float, *, rollback: bool) -> UpdateResult:
        """Force a rolling update of a service (or roll it back) and wait for it to end."""
        ref = validate_service(service)
        limit = validate_timeout(timeout)
        verb = "rollback" if rollback else "update"
        began = self._clock()

        async def act() -> tuple[_State, bool]:
            state = await _read_state(self._api, ref)()
            snap = state[0]
            if rollback and not snap.has_previous_spec:
                return state, False
            # A rollback sends the current spec and asks for the previous one, as the CLI does.
            await _update(self._api, snap, snap.spec if rollback else _forced(snap), rollback)
            return state, True

        before, changed = await self._call(f"{verb} service {ref}", act, service=ref)
        old = before[0].update.started_at

        def ended(state: _State) -> bool:
            # An update that completed (or rolled back) is waited on until its tasks have
            # settled too: the engine marks it done while a last task may still be starting
            # or an old one stopping. One that paused will not settle, and ends at once.
            snap = state[0]
            new = snap.update.started_at is not None and snap.update.started_at != old
            if not changed:
                return True
            if not (new and snap.update.state in _UPDATE_ENDS):
                return False
            return snap.update.state not in ("completed", "rollback_completed") or converged(*state)

        what = f"{verb} service {ref}"
        read = _read_state(self._api, before[0].id)
        after, settled, waited = await self._settle(what, read, ended, limit, began, service=ref)
        started = after[0].update.started_at if changed else None
        failed = await self._failed(after, started)
        rolled_back = changed and _rolled_back(after[0])
        return _update_result(
            before, after, changed, (settled, waited, limit), (rolled_back, failed)
        )

    async def _failed(self, state: _State, started: str | None) -> list[FailedTask]:
        """Return the tasks made since ``started`` that failed, with their nodes' hostnames."""
        if started is None:
            return []
        failing = [
            t for t in state[1] if _began_after(t, started) and failed_task(t, {}) is not None
        ]
        if not failing:
            return []
        ids = sorted({t.node_id for t in failing if t.node_id})
        nodes = await self._call("read nodes", lambda: _swarm.read_nodes(self._api, ids))
        names = node_names(nodes)
        return [entry for t in failing if (entry := failed_task(t, names)) is not None]


def _rolled_back(snap: ServiceSnap) -> bool:
    """Whether the service is back on its previous spec: its rollback completed.

    Whether the swarm rolled back by itself (an update's failure action) or was asked to;
    a rollback that paused (``rollback_paused``) did not get there.
    """
    return snap.update.state == "rollback_completed"
