"""Act on the engine, then read the result back, accepting a change someone else made."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from operator_core.docker._engine.cli import ENGINE_SIDE
from operator_core.errors import OperatorError

__all__ = ["act_and_confirm", "act_then_read"]

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


async def act_then_read(
    act: Callable[[], Awaitable[object]],
    reread: Callable[[], Awaitable[S]],
    done: Callable[[S], bool],
) -> tuple[S, bool]:
    """``act_and_confirm`` over the Engine API: ``act`` and ``reread`` are requests.

    Only an engine's refusal (an ``OperatorError``, which ``translate_api`` made of it)
    is looked past; any other exception propagates at once, unread.
    """
    try:
        await act()
    except OperatorError:
        again = await reread()
        if not done(again):
            raise
        return again, False
    return await reread(), True
