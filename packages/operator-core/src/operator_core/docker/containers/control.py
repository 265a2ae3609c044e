"""Send signals to containers; pause and unpause them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from operator_core.docker._engine.acting import act_then_read
from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.state import Snapshot, fetch
from operator_core.errors import ContainerStateError
from operator_core.results import KillResult, PauseResult
from operator_core.validate import validate_reference, validate_signal

__all__ = ["SignalActions"]


async def _act(
    api: EngineClient, before: Snapshot, verb: str, done: Callable[[Snapshot], bool]
) -> tuple[Snapshot, bool]:
    """POST ``verb`` to the container ``before`` describes; see ``act_then_read``."""
    return await _act_with(api, before, f"/containers/{before.id}/{verb}", None, done)


async def _act_with(
    api: EngineClient,
    before: Snapshot,
    path: str,
    params: dict[str, str] | None,
    done: Callable[[Snapshot], bool],
) -> tuple[Snapshot, bool]:
    """POST ``path`` and read the container back; see ``act_then_read``."""

    def act() -> Awaitable[object]:
        return api.post(path, params)

    return await act_then_read(act, lambda: fetch(api, before.id), done)


def _not_running(snap: Snapshot) -> bool:
    """Whether the container has no live process to signal."""
    return not snap.active


async def _kill(api: EngineClient, ref: str, signal: str) -> KillResult:
    """Send ``signal`` to ``ref`` if it runs; return what was sent and the state after."""
    before = await fetch(api, ref)
    after, sent = before, False
    if before.active:
        path = f"/containers/{before.id}/kill"
        after, sent = await _act_with(api, before, path, {"signal": signal}, _not_running)
    reason = None if sent else f"container is {after.status}; it has no process to signal"
    return {
        **after.identity(),
        "signal": signal,
        "signal_sent": sent,
        "previous_state": before.status,
        "running": after.running,
        "exit_code": None if after.active else after.exit_code,
        "reason": reason,
        "changed": sent,
    }


async def _pause(api: EngineClient, ref: str) -> PauseResult:
    """Pause ``ref`` unless it is paused; refuse a container that is not running."""
    before = await fetch(api, ref)
    after, changed = before, False
    if not before.paused:
        if before.status != "running":
            raise ContainerStateError(
                f"container {before.name!r} is {before.status}; only a running container "
                "can be paused"
            )
        after, changed = await _act(api, before, "pause", lambda s: s.paused)
    return {**after.identity(), "paused": after.paused, "changed": changed}


async def _unpause(api: EngineClient, ref: str) -> PauseResult:
    """Unpause ``ref`` if it is paused; any other state is left alone."""
    before = await fetch(api, ref)
    after, changed = before, False
    if before.paused:
        after, changed = await _act(api, before, "unpause", lambda s: not s.paused)
    return {**after.identity(), "paused": after.paused, "changed": changed}


class SignalActions(ExecutorCore):
    """Send signals to containers; pause and unpause them."""

    async def kill_container(self, container_id: str, signal: str | int = "SIGKILL") -> KillResult:
        """Send ``signal`` (a name such as ``SIGHUP`` or ``HUP``, or a number) to a container.

        A container that is not running (created, exited, dead) has no process to signal:
        the call succeeds with ``signal_sent`` and ``changed`` false and says why in
        ``reason``; the same holds when it stops between the read and the signal. The engine
        waits for a SIGKILLed container to exit, so ``state`` is then ``exited``; after
        another signal ``state`` is read at once, while the process may still be handling
        it (confirm with ``wait_for_container``). The engine resumes a paused container
        it signals.
        """
        ref = validate_reference(container_id)
        name = validate_signal(signal)
        return await self._call(f"kill {ref}", lambda: _kill(self._api, ref, name), container=ref)

    async def pause_container(self, container_id: str) -> PauseResult:
        """Freeze a running container's processes; one already paused is left alone.

        A container that is not running raises ContainerStateError.
        """
        ref = validate_reference(container_id)
        return await self._call(f"pause {ref}", lambda: _pause(self._api, ref), container=ref)

    async def unpause_container(self, container_id: str) -> PauseResult:
        """Resume a paused container; one not paused (in any state) is left alone."""
        ref = validate_reference(container_id)
        return await self._call(f"unpause {ref}", lambda: _unpause(self._api, ref), container=ref)
