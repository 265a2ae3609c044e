"""The engine probe's rules (issue 20's mutation goal for watch/probe.py).

An engine is asked every ``every_s``; one that has not answered for ``silent_s`` is said
``unresponsive`` once, and ``responsive`` once it answers again (the pause then ends at
the answer). An engine error is no answer; any other error is our bug and is raised. The
clock is a number the test moves, each answer a future the test settles.
"""

from __future__ import annotations

import asyncio

import pytest

from operator_core.errors import EngineUnreachable
from operator_core.watch.probe import EngineProbe


class Probed:
    """An engine whose answers the test gives, and what the probe said of it."""

    def __init__(self) -> None:
        self.now = 0.0
        self.asked: list[asyncio.Future[object]] = []
        self.said: list[tuple[str, str]] = []
        self.slept: list[float] = []
        self.wake = asyncio.Event()

    async def ask(self) -> object:
        future: asyncio.Future[object] = asyncio.get_running_loop().create_future()
        self.asked.append(future)
        return await future

    async def say(self, kind: str, message: str) -> None:
        self.said.append((kind, message))

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        await self.wake.wait()

    def probe(self) -> EngineProbe:
        """Return a probe of this engine: asked every 5 s, unresponsive after 10 s."""
        return EngineProbe(
            self.ask, self.say, every_s=5, silent_s=10, clock=lambda: self.now, sleep=self.sleep
        )


async def settle() -> None:
    """Let the tasks the probe started run up to their next wait."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_an_engine_silent_for_the_limit_is_unresponsive_once_then_responsive() -> None:
    """Answers keep it quiet; 10 s without one: unresponsive (once); an answer: responsive."""
    engine = Probed()
    probe = engine.probe()
    await probe._step()
    await settle()
    assert len(engine.asked) == 1
    engine.now = 3
    engine.asked[0].set_result({"engine_id": "E"})
    await settle()
    await probe._step()
    await settle()
    assert (engine.said, len(engine.asked)) == ([], 2)
    engine.now = 12.9
    await probe._step()
    await settle()
    assert engine.said == []
    engine.now = 13
    await probe._step()
    await settle()
    await probe._step()
    assert engine.said == [
        ("unresponsive", "the engine has not answered for 10s; its incidents may be delayed")
    ]
    assert len(engine.asked) == 2  # the pending question is not asked again
    engine.now = 20
    engine.asked[1].set_result({})
    await settle()
    await probe._step()
    await settle()
    assert engine.said[1:] == [("responsive", "the engine answers again")]
    assert probe.answered_at == 20
    assert len(engine.asked) == 3
    for future in engine.asked:
        future.cancel()


async def test_an_engine_error_is_no_answer_and_our_own_bug_is_raised() -> None:
    """EngineUnreachable does not count as an answer; a RuntimeError is raised, not hidden."""
    engine = Probed()
    probe = engine.probe()
    await probe._step()
    await settle()
    engine.now = 4
    engine.asked[0].set_exception(EngineUnreachable("no answer"))
    await settle()
    await probe._step()
    await settle()
    assert (probe.answered_at, len(engine.asked)) == (0, 2)
    engine.asked[1].set_exception(RuntimeError("a bug in asking"))
    await settle()
    with pytest.raises(RuntimeError, match="a bug in asking"):
        await probe._step()


async def test_the_pause_is_every_s_and_ends_early_only_on_a_late_answer() -> None:
    """Answering: a full pause of every_s. Silent: the pause ends when the engine answers."""
    engine = Probed()
    probe = engine.probe()
    await probe._step()
    await settle()
    pausing = asyncio.ensure_future(probe._pause())
    await settle()
    assert (engine.slept, pausing.done()) == ([5], False)
    engine.asked[0].set_result({})
    await settle()
    assert not pausing.done()  # not silent: the answer does not cut the pause
    engine.wake.set()
    await pausing
    engine.wake.clear()
    await probe._step()
    await settle()
    probe.silent = True
    pausing = asyncio.ensure_future(probe._pause())
    await settle()
    assert not pausing.done()
    engine.asked[-1].set_result({})
    await settle()
    assert pausing.done()


async def test_a_silent_engine_whose_question_fails_waits_the_full_pause() -> None:
    """A failed question does not end a silent engine's pause early."""
    engine = Probed()
    probe = engine.probe()
    probe.silent = True
    await probe._step()
    await settle()
    pausing = asyncio.ensure_future(probe._pause())
    await settle()
    engine.asked[0].set_exception(EngineUnreachable("no answer"))
    await settle()
    assert not pausing.done()
    engine.wake.set()
    await pausing


async def test_stopping_the_probe_cancels_its_pending_question() -> None:
    """Cancelling run leaves no question pending."""
    engine = Probed()
    running = asyncio.ensure_future(engine.probe().run())
    await settle()
    assert len(engine.asked) == 1
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
    await settle()
    assert engine.asked[0].cancelled()


async def test_an_engine_silent_again_after_answering_is_said_unresponsive_again() -> None:
    """Responsive clears the verdict: the next silence of 10 s is said again."""
    engine = Probed()
    probe = engine.probe()
    await probe._step()
    await settle()
    engine.now = 10
    await probe._step()
    engine.asked[0].set_result({})
    engine.now = 11
    await settle()
    await probe._step()
    await settle()
    engine.now = 21
    await probe._step()
    assert [kind for kind, _ in engine.said] == ["unresponsive", "responsive", "unresponsive"]
    engine.asked[-1].cancel()


async def test_a_bug_in_saying_is_raised_even_with_a_question_pending() -> None:
    """The probe's own bug ends run with that bug, its pending question cancelled."""
    engine = Probed()

    async def broken(kind: str, message: str) -> None:
        raise RuntimeError("a bug in saying")

    engine.now = 0
    probe = EngineProbe(
        engine.ask, broken, every_s=5, silent_s=10, clock=lambda: engine.now, sleep=engine.sleep
    )
    running = asyncio.ensure_future(probe.run())
    await settle()
    engine.now = 10
    engine.wake.set()
    with pytest.raises(RuntimeError, match="a bug in saying"):
        await running
    assert engine.asked[0].cancelled()


async def test_stopping_the_probe_after_a_failed_question_ends_quietly() -> None:
    """A question that failed with an engine error and was not looked at yet: cancel is clean."""
    engine = Probed()
    running = asyncio.ensure_future(engine.probe().run())
    await settle()
    engine.asked[0].set_exception(EngineUnreachable("no answer"))
    await settle()
    running.cancel()
    with pytest.raises(asyncio.CancelledError):
        await running
