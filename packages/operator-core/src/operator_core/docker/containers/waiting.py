"""Wait until a container is running, healthy, exited or removed."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.state import Snapshot, fetch
from operator_core.errors import ContainerNotFound, InvalidInput
from operator_core.limits import DEFAULT_WAIT_S, MAX_WAIT_S
from operator_core.results import WaitResult
from operator_core.validate import validate_reference, validate_seconds
from operator_core.words import CONDITIONS

__all__ = ["WaitActions"]

#: The pause after the first read; each next one is longer by ``_BACKOFF``, up to ``_MAX_DELAY_S``.
_FIRST_DELAY_S = 0.1
_BACKOFF = 1.5
_MAX_DELAY_S = 2.0
#: Each read is bounded by the time left, but never less than this (nor more than the
#: executor's call deadline), so a slow engine is not mistaken for a missed condition.
_MIN_READ_DEADLINE_S = 5.0
_STOPPED = ("exited", "dead")


@dataclass(frozen=True)
class _Verdict:
    """A settled wait: whether the condition holds, and why not when it cannot."""

    met: bool
    reason: str | None = None


def _condition(value: object) -> str:
    """Return ``value`` if it is one of ``CONDITIONS``, else raise InvalidInput."""
    if not isinstance(value, str) or value not in CONDITIONS:
        raise InvalidInput(f"condition must be one of {', '.join(CONDITIONS)}; got {value!r}")
    return value


def _down_for_good(snap: Snapshot) -> str | None:
    """Say why a stopped container will not run again by itself; None if it may.

    When a container's process exits, the engine decides under the container's lock: if
    its restart policy applies the container becomes ``restarting`` at once, otherwise
    ``exited`` (and a restart that then fails to start also leaves it ``exited``). So a container
    that is ``exited`` or ``dead``, not ``restarting``, stays down whatever its policy
    until something starts it: ``docker start``, a restart, or (for ``always`` and
    ``unless-stopped``) a restart of the daemon itself. The engine does not show that a
    container was stopped by hand, but that is how an ``always`` container ends up exited.
    """
    if snap.status not in _STOPPED:
        return None
    policy = snap.restart_policy or "no"
    where = f"container is {snap.status} (exit code {snap.exit_code})"
    if policy == "no":
        return f"{where} and has no restart policy"
    if policy == "on-failure" and snap.exit_code == 0:
        return f"{where}; restart policy on-failure does not restart a container that exited 0"
    return (
        f"{where} and its restart policy {policy} did not restart it (the engine shows a "
        "container it will restart as restarting): it was stopped by hand, ran out of "
        "retries or failed to start"
    )


def _judge(condition: str, snap: Snapshot | None) -> _Verdict | None:
    """Return the verdict once it is settled by this read, or None to keep waiting."""
    if snap is None:
        if condition in ("removed", "exited"):
            return _Verdict(True, None if condition == "removed" else "container was removed")
        return _Verdict(False, "container was removed while waiting")
    if condition == "removed":
        return None
    if condition == "exited":
        return _Verdict(True) if snap.status in _STOPPED else None
    if condition == "healthy" and not snap.has_healthcheck:
        return _Verdict(False, "container has no health check, so it can never be healthy")
    if snap.status == "running" and (condition == "running" or snap.health == "healthy"):
        return _Verdict(True)
    why = _down_for_good(snap)
    if why is not None:
        return _Verdict(False, f"{why}; it will not become {condition} by itself")
    return None


def _timed_out(condition: str, limit: float, snap: Snapshot | None) -> _Verdict:
    """Return the verdict of a wait whose time ran out."""
    where = "" if snap is None else f"; it is {snap.status} (health: {snap.health or 'none'})"
    return _Verdict(False, f"not {condition} within {limit:g}s{where}")


def _result(
    ref: str,
    condition: str,
    verdict: _Verdict,
    snaps: tuple[Snapshot | None, Snapshot | None],
    waited: tuple[float, int],
) -> WaitResult:
    """Return a wait's result from its verdict, its last read and the one before."""
    snap, earlier = snaps
    known = snap or earlier
    return {
        "container_id": known.id if known else ref,
        "name": known.name if known else None,
        "condition": condition,
        "met": verdict.met,
        "state": snap.status if snap else "removed",
        "health": snap.health if snap else None,
        "exit_code": snap.exit_code if snap and not snap.active else None,
        "reason": verdict.reason,
        "waited_s": round(waited[0], 3),
        "polls": waited[1],
    }


class WaitActions(ExecutorCore):
    """Wait until a container is running, healthy, exited or removed."""

    async def wait_for_container(
        self, container_id: str, condition: str, timeout: float = DEFAULT_WAIT_S
    ) -> WaitResult:
        """Poll a container until ``condition`` holds or ``timeout`` seconds (0 to an hour) pass.

        Between reads (each one short ``docker inspect``, bounded) it sleeps on the event
        loop, 0.1 s at first, growing to 2 s. Returns ``met``, ``state``, ``health``,
        ``exit_code``, ``waited_s``, ``polls`` and, when not met, ``reason``. Running out of
        time is a result (``met`` false), not an error. It settles early, ``met`` false,
        when the condition cannot come: ``healthy`` without a health check; ``running`` or
        ``healthy`` for a container the engine will not start again by itself (``exited``
        or ``dead``, not ``restarting``: no restart policy, ``on-failure`` after exit 0, or
        any policy once it was stopped by hand; see ``_down_for_good``); or removed meanwhile.
        A missing container is ``met`` for ``removed`` and ContainerNotFound otherwise; one
        removed during a wait for ``exited`` has exited (``state`` is ``removed``).
        """
        ref = validate_reference(container_id)
        goal = _condition(condition)
        limit = validate_seconds(timeout, "timeout", maximum=MAX_WAIT_S)
        began = self._clock()
        delay, polls = _FIRST_DELAY_S, 0
        earlier: Snapshot | None = None
        while True:
            left = limit - (self._clock() - began)
            snap = await self._read_for_wait(ref, left, polls > 0 or goal == "removed")
            polls += 1
            waited = self._clock() - began
            verdict = _judge(goal, snap)
            if verdict is None and waited >= limit:
                verdict = _timed_out(goal, limit, snap)
            if verdict is not None:
                return _result(ref, goal, verdict, (snap, earlier), (waited, polls))
            earlier = snap
            await asyncio.sleep(min(delay, limit - waited))
            delay = min(delay * _BACKOFF, _MAX_DELAY_S)

    async def _read_for_wait(self, ref: str, remaining: float, missing_ok: bool) -> Snapshot | None:
        """Read ``ref`` once, bounded; None if gone and ``missing_ok``, else ContainerNotFound."""
        deadline = min(self._call_deadline, max(remaining, _MIN_READ_DEADLINE_S))
        try:
            return await self._call(
                f"wait for {ref}",
                lambda: fetch(self._api, ref),
                deadline=deadline,
                container=ref,
            )
        except ContainerNotFound:
            if not missing_ok:
                raise
            return None
