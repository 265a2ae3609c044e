"""Poll the swarm until a change has settled, within the call's own timeout.

Not settling in time is a result (the last read, ``settled`` false), never an exception;
so is a tool call's shared deadline (``operator_core.deadline``) drawing near.
Each read is bounded by the time left, but never less than ``_MIN_READ_DEADLINE_S`` nor
more than the executor's call deadline; between reads the call sleeps on the event loop,
``_FIRST_DELAY_S`` at first, growing to ``_MAX_DELAY_S``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import TypeVar

from operator_core import deadline as shared_deadline
from operator_core.docker._engine.core import ExecutorCore
from operator_core.errors import InvalidInput
from operator_core.limits import (
    DEFAULT_DRAIN_WAIT_S,
    DEFAULT_SCALE_WAIT_S,
    DEFAULT_UPDATE_WAIT_S,
    MAX_SWARM_WAIT_S,
)
from operator_core.validate import validate_seconds

__all__ = ["SwarmWaiting", "swarm_bound", "validate_timeout"]

S = TypeVar("S")

_FIRST_DELAY_S = 0.2
_BACKOFF = 1.5
_MAX_DELAY_S = 2.0
_MIN_READ_DEADLINE_S = 5.0


#: Each swarm change's convergence timeout unless asked otherwise.
_DEFAULT_WAITS = {
    "scale_service": DEFAULT_SCALE_WAIT_S,
    "restart_service": DEFAULT_UPDATE_WAIT_S,
    "rollback_service": DEFAULT_UPDATE_WAIT_S,
    "set_node_availability": DEFAULT_DRAIN_WAIT_S,
}


def swarm_bound(method: str, arguments: Mapping[str, object], call_deadline: float) -> float | None:
    """Return the most seconds a swarm change may take: its timeout and two call deadlines.

    One for the change itself (read, then send it), one for the reads after the wait.
    None for a method that is no swarm change. Raises InvalidInput for a bad timeout.
    """
    if method not in _DEFAULT_WAITS:
        return None
    return validate_timeout(arguments.get("timeout", _DEFAULT_WAITS[method])) + 2 * call_deadline


def validate_timeout(value: object) -> float:
    """Return a convergence timeout in seconds (0 to an hour), else raise InvalidInput."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidInput(f"timeout must be a number of seconds, got {type(value).__name__}")
    return validate_seconds(value, "timeout", maximum=MAX_SWARM_WAIT_S)


def _shared_deadline_near(pause: float) -> bool:
    """Whether the whole call's shared deadline leaves no room for a pause and one more read.

    The wait then ends as not settled, a result, instead of a read refused for lack of time.
    """
    left = shared_deadline.remaining()
    return left is not None and left - pause < _MIN_READ_DEADLINE_S


class SwarmWaiting(ExecutorCore):
    """The polling loop the swarm actions share."""

    async def _settle(
        self,
        what: str,
        read: Callable[[], Awaitable[S]],
        settled: Callable[[S], bool],
        limit: float,
        began: float,
        *,
        service: str | None = None,
        node: str | None = None,
    ) -> tuple[S, bool, float]:
        """Read until ``settled`` holds or ``limit`` s since ``began`` pass (one read at least).

        Returns the last read, whether it settled and the seconds waited since ``began``.
        ``service`` or ``node`` is passed on for error translation.
        """
        delay = _FIRST_DELAY_S
        while True:
            left = limit - (self._clock() - began)
            deadline = min(self._call_deadline, max(left, _MIN_READ_DEADLINE_S))
            state = await self._call(what, read, deadline=deadline, service=service, node=node)
            waited = self._clock() - began
            if settled(state):
                return state, True, waited
            pause = min(delay, max(limit - waited, 0.0))
            if waited >= limit or _shared_deadline_near(pause):
                return state, False, waited
            await asyncio.sleep(pause)
            delay = min(delay * _BACKOFF, _MAX_DELAY_S)
