"""Is a followed engine still answering? A hung daemon keeps its event stream open and silent.

``EngineProbe.run`` asks the engine a cheap question every ``every_s`` seconds (one at a
time: a probe still waiting is not doubled) and says ``unresponsive`` once no answer came
for ``silent_s`` seconds, then ``responsive`` when one comes again. The watch runs one per
host while it follows that host, so a hung host never delays the others' incidents.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import Literal

from operator_core.errors import OperatorError

__all__ = ["PROBE_EVERY_S", "UNRESPONSIVE_AFTER_S", "EngineProbe", "ProbeVerdict"]

#: How often a followed engine is asked whether it answers.
PROBE_EVERY_S = 5.0
#: Without an answer for this long an engine is said ``unresponsive``.
UNRESPONSIVE_AFTER_S = 10.0

ProbeVerdict = Literal["unresponsive", "responsive"]


class EngineProbe:
    """Probes one engine with ``ask`` and reports changes of its answering through ``say``.

    ``clock`` (monotonic seconds) and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        ask: Callable[[], Awaitable[object]],
        say: Callable[[ProbeVerdict, str], Awaitable[None]],
        *,
        every_s: float = PROBE_EVERY_S,
        silent_s: float = UNRESPONSIVE_AFTER_S,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.ask, self.say = ask, say
        self.every_s, self.silent_s = every_s, silent_s
        self.clock, self.sleep = clock, sleep
        self.answered_at = clock()
        self.silent = False
        self._asking: asyncio.Task[object] | None = None

    async def run(self) -> None:
        """Probe until cancelled."""
        try:
            while True:
                await self._step()
                await self._pause()
        finally:
            if self._asking is not None:
                self._asking.cancel()
                with contextlib.suppress(asyncio.CancelledError, OperatorError):
                    await self._asking

    async def _pause(self) -> None:
        """Wait ``every_s``; while unresponsive, end the wait as soon as the engine answers."""
        pause = asyncio.ensure_future(self.sleep(self.every_s))
        asking = self._asking
        try:
            if self.silent and asking is not None:
                await asyncio.wait({pause, asking}, return_when=asyncio.FIRST_COMPLETED)
                if asking.done() and not asking.cancelled() and asking.exception() is None:
                    return
            await pause
        finally:
            pause.cancel()

    async def _step(self) -> None:
        """Take the last probe's answer, say what changed, and start the next probe."""
        asking = self._asking
        if asking is not None and asking.done():
            self._asking = None
            if asking.exception() is None:
                self.answered_at = self.clock()
                if self.silent:
                    self.silent = False
                    await self.say("responsive", "the engine answers again")
            elif not isinstance(asking.exception(), OperatorError):
                asking.result()  # our own bug: raise it
        quiet = self.clock() - self.answered_at
        if not self.silent and quiet >= self.silent_s:
            self.silent = True
            await self.say(
                "unresponsive",
                f"the engine has not answered for {quiet:.0f}s; its incidents may be delayed",
            )
        if self._asking is None:
            self._asking = asyncio.ensure_future(self.ask())
