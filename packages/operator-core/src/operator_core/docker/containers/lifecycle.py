"""Start, stop, restart and inspect: the container lifecycle, told truthfully."""

from __future__ import annotations

from collections.abc import Callable

from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.state import Snapshot, fetch
from operator_core.errors import ContainerStateError
from operator_core.limits import DEFAULT_GRACE_S
from operator_core.results import (
    ContainerDetails,
    RestartResult,
    StartResult,
    StopFacts,
    StopResult,
    StopVerdict,
)
from operator_core.validate import validate_grace, validate_reference

__all__ = ["STOP_MARGIN_S", "LifecycleActions", "stop_verdict"]

#: What a stop or restart may take beyond its grace period before the call gives up.
STOP_MARGIN_S = 30.0
_SIGKILL_EXIT = 137
_RESTARTING_REASON = (
    "the container was restarting (crash loop); the stop cancelled its restart, "
    "no process received a signal"
)
_SIGKILL_REASON = (
    "the container's stop signal is SIGKILL: the engine killed it at once, with no grace period"
)


def stop_verdict(before: Snapshot, after: Snapshot, grace_s: int, elapsed_s: float) -> StopVerdict:
    """Say how a container that was live before a stop came to stop.

    The rule, from the engine's state before and after the stop and the stop's duration:

    * ``oom_killed``: the engine's ``State.OOMKilled``, whatever else holds;
    * a container that was ``restarting`` (a crash loop waiting out its back-off, with no
      process) and that no new process replaced before the stop (same ``StartedAt``) had
      nothing to signal: the stop only cancelled the restart. Neither ``graceful_shutdown``
      nor ``killed``; ``reason`` says so;
    * a container whose stop signal (``Config.StopSignal``) is SIGKILL (``SIGKILL``,
      ``KILL``, ``9``, any case) is sent SIGKILL at once: ``killed`` when it exited with
      137 and was not OOM-killed, however short the stop; ``reason`` says why;
    * ``killed``: otherwise, the engine had to SIGKILL it because the grace period ran
      out, that is it exited with 137 (128 + SIGKILL), was not OOM-killed, and the stop
      lasted at least the grace period (the engine never sends SIGKILL before then);
    * ``graceful_shutdown``: it is no longer live and none of the above holds, so it
      exited by itself within the grace period, whatever code it chose (0, 143, ...).

    ``reason`` is None when the flags need no explanation.
    """
    oom = after.oom_killed
    if before.restarting and after.started_at == before.started_at:
        return {
            "graceful_shutdown": False,
            "killed": False,
            "oom_killed": oom,
            "reason": _RESTARTING_REASON,
        }
    exited_137 = not oom and after.exit_code == _SIGKILL_EXIT
    if before.stop_signal == "SIGKILL" and exited_137:
        return {
            "graceful_shutdown": False,
            "killed": True,
            "oom_killed": oom,
            "reason": _SIGKILL_REASON,
        }
    killed = exited_137 and elapsed_s >= grace_s
    graceful = not after.active and not killed and not oom
    return {"graceful_shutdown": graceful, "killed": killed, "oom_killed": oom, "reason": None}


async def _start(api: EngineClient, before: Snapshot) -> tuple[Snapshot, bool]:
    """Start the container ``before`` describes unless it runs; return its state, changed."""
    if before.paused:
        raise ContainerStateError(
            f"container {before.name!r} is paused; unpause it instead of starting it"
        )
    if before.running or before.restarting:
        return before, False
    await api.post(f"/containers/{before.id}/start")
    return await fetch(api, before.id), True


async def _stop(
    api: EngineClient, before: Snapshot, grace_s: int, clock: Callable[[], float]
) -> tuple[Snapshot, StopFacts]:
    """Stop the container ``before`` describes unless it is stopped; return it and the facts."""
    if not before.active:
        return before, {
            "graceful_shutdown": False,
            "killed": False,
            "oom_killed": before.oom_killed,
            "reason": f"the container was {before.status}, not running; nothing was stopped",
            "exit_code": before.exit_code,
            "changed": False,
            "stop_duration_s": 0.0,
        }
    began = clock()
    # The engine answers once the container has stopped: SIGKILL after ``t`` seconds.
    await api.post(f"/containers/{before.id}/stop", {"t": grace_s})
    elapsed = clock() - began
    after = await fetch(api, before.id)
    verdict = stop_verdict(before, after, grace_s, elapsed)
    return after, {
        **verdict,
        "exit_code": after.exit_code,
        "changed": True,
        "stop_duration_s": round(elapsed, 3),
    }


class LifecycleActions(ExecutorCore):
    """Start, stop, restart and inspect."""

    async def start_container(self, container_id: str) -> StartResult:
        """Start a stopped container; one already running is left alone (``changed`` false)."""
        ref = validate_reference(container_id)

        async def work() -> StartResult:
            after, changed = await _start(self._api, await fetch(self._api, ref))
            return {**after.identity(), "running": after.running, "changed": changed}

        return await self._call(f"start {ref}", work, container=ref)

    async def stop_container(self, container_id: str, timeout: int = DEFAULT_GRACE_S) -> StopResult:
        """Stop a container: SIGTERM (or its stop signal), then SIGKILL after ``timeout`` seconds.

        A stopped container is left alone (``changed`` false, neither graceful nor killed).
        ``graceful_shutdown``, ``killed``, ``oom_killed`` and ``reason`` follow
        ``stop_verdict``; a crash-looping (``restarting``) container is stopped
        (``changed`` true) without any process being signalled.
        The call itself gives up after ``timeout`` plus ``STOP_MARGIN_S`` seconds.
        """
        ref = validate_reference(container_id)
        grace = validate_grace(timeout)
        clock = self._clock

        async def work() -> StopResult:
            after, facts = await _stop(self._api, await fetch(self._api, ref), grace, clock)
            return {**after.identity(), **facts}

        return await self._call(f"stop {ref}", work, deadline=grace + STOP_MARGIN_S, container=ref)

    async def restart_container(
        self, container_id: str, timeout: int = DEFAULT_GRACE_S
    ) -> RestartResult:
        """Stop (same grace rule as ``stop_container``) then start a container.

        Works on a running, paused, restarting or stopped container. ``started_at`` is the
        new start; ``previous_started_at`` and ``stop`` (how the old process ended, by the
        rule of ``stop_verdict``, with its ``reason``) show it happened.
        """
        ref = validate_reference(container_id)
        grace = validate_grace(timeout)
        clock = self._clock

        async def work() -> RestartResult:
            before = await fetch(self._api, ref)
            stopped, facts = await _stop(self._api, before, grace, clock)
            after, _ = await _start(self._api, stopped)
            return {
                **after.identity(),
                "running": after.running,
                "started_at": after.started_at,
                "previous_started_at": before.started_at,
                "stop": facts,
                "changed": True,
            }

        return await self._call(
            f"restart {ref}", work, deadline=grace + STOP_MARGIN_S, container=ref
        )

    async def inspect_container(self, container_id: str) -> ContainerDetails:
        """Read a container's identity, state, health, networks and labels; changes nothing.

        ``container_id`` and ``id`` are both the full id (``id`` as the seed had it).
        ``restarts`` holds what the engine keeps of its restarts (count, policy, whether it
        waits out a crash back-off, the last exit code and OOM kill, last start and
        finish), so "is it crash-looping?" is one call.
        """
        ref = validate_reference(container_id)

        async def work() -> ContainerDetails:
            snap = await fetch(self._api, ref)
            return {
                **snap.names(),
                "id": snap.id,
                "image": snap.image,
                "state": snap.state_dict(),
                "restart_count": snap.restart_count,
                "restarts": snap.restart_history(),
                "networks": snap.networks,
                "labels": snap.labels,
            }

        return await self._call(f"inspect {ref}", work, container=ref)
