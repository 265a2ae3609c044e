"""Act on the engine, then read the result back, accepting a change someone else made."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from operator_core.docker._engine.cli import ENGINE_SIDE
from operator_core.errors import OperatorError

__all__ = ["act_and_confirm"]

S = TypeVar("S")


def act_and_confirm(
    act: Callable[[], None], reread: Callable[[], S], done: Callable[[S], bool]
) -> tuple[S, bool]:
    """Run ``act``; return the state ``reread`` gives after it, and whether ``act`` did it.

    When ``act`` fails but a fresh read shows ``done`` (someone else, or the container
    itself, made the same change meanwhile: it stopped, was paused, was connected...), the
    call reports that state with ``False``; when ``done`` does not hold, ``act``'s error
    is raised as it was. Only an engine's refusal (``ENGINE_SIDE`` or an operator-core
    error) is looked past: any other exception is a bug and propagates at once, unread.
    """
    try:
        act()
    except (*ENGINE_SIDE, OperatorError):
        again = reread()
        if not done(again):
            raise
        return again, False
    return reread(), True
