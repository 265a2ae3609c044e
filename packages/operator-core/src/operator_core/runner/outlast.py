"""Waiting through cancellations, and leaving paused time out of a deadline.

``outlast`` waits for a task to end even when the waiter is cancelled (an action under
way, an audit write): the engine carries on regardless, so the record must say what
became of it. ``paused`` leaves a person's approval and the wait for a lock out of a
call's deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from operator_core.deadline import Deadline

__all__ = ["outlast", "paused"]


async def outlast(task: asyncio.Future[Any], *, relay: bool = False) -> bool:
    """Wait until ``task`` is done, even through cancellations; return whether one came.

    The caller re-raises ``CancelledError`` once it has dealt with the outcome. With
    ``relay`` the first cancellation is passed on to ``task`` once (it must itself wait for
    what it started, as run_bounded does); otherwise ``task`` is never cancelled here.
    """
    cancelled = False
    while not task.done():
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            if relay and not cancelled:
                task.cancel()
            cancelled = True
    return cancelled


def paused(deadline: Deadline | None) -> contextlib.AbstractContextManager[None]:
    """Return a block whose time ``deadline`` leaves out (nothing to leave out: no-op)."""
    return deadline.paused() if deadline is not None else contextlib.nullcontext()
