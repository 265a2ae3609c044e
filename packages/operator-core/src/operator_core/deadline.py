"""One deadline for a whole call: the engine calls made within it share what is left.

A tool call is several engine calls (resolve the container, judge it again once the
lock is held, the action, read its state after). Each is bounded by the executor, but
bounded one by one they add up: on a hung engine a stop with a grace period of 1 s took
its 31 s and then 30 s more to read the state after it. ``within(Deadline(seconds))``
makes every executor call inside it (this task and the tasks it starts) end by the same
moment: the executor bounds each call by the smaller of its own deadline and what is
left (``remaining``), and refuses to start one once nothing is left.

Time a person takes to approve, or the call spends waiting for another action on the
same container, is not the engine's: ``Deadline.paused`` leaves it out.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

__all__ = ["Deadline", "remaining", "within"]

_CURRENT: ContextVar[Deadline | None] = ContextVar("operator_core_deadline", default=None)


class Deadline:
    """The moment by which a call's engine work must end, ``seconds`` from now."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._at = clock() + seconds

    def remaining(self) -> float:
        """Return the seconds left (negative once passed)."""
        return self._at - self._clock()

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Leave the time spent inside out of the deadline (a person, a lock)."""
        began = self._clock()
        try:
            yield
        finally:
            self._at += self._clock() - began


@contextmanager
def within(deadline: Deadline | None) -> Iterator[Deadline | None]:
    """Run the block (and the tasks it starts) under ``deadline``; None: no shared deadline."""
    token = _CURRENT.set(deadline)
    try:
        yield deadline
    finally:
        _CURRENT.reset(token)


def remaining() -> float | None:
    """Return the seconds left to the current call's deadline, or None if it has none."""
    deadline = _CURRENT.get()
    return None if deadline is None else deadline.remaining()
