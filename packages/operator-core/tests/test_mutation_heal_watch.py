"""``heal_watch`` and ``heal_approver`` without an engine: the watch is a scripted generator.

What is pinned: every item of the watch is yielded, incidents (items naming a container)
are handed to the healer, the healer's reports come out too, the detector learns the
healer's restarts from the runner's audit trail, a watch that fails raises its error, and
leaving the stream closes the watch and the healer.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import pytest

from heal_fakes import CID, FakeRunner, unhealthy
from operator_core.errors import ApprovalUnavailable
from operator_core.policy import ApprovalRequest, HealRules
from operator_core.watch import Healer, IncidentDetector
from operator_core.watch.heal import watching
from operator_core.watch.heal.watching import heal_approver, heal_watch
from operator_core.watch.intents import AuditIntents

RULES = HealRules(restart_unhealthy=True, grace_s=0, backoff_s=1, max_attempts=3)
NOTICE = {"kind": "connected", "host": None, "time": "2026-11-29T10:00:00Z", "message": "up"}


class ScriptedWatch:
    """Stands for ``watch``: records how it was called, yields ``items``, then waits or fails."""

    def __init__(self, items: list[dict[str, Any]], error: Exception | None = None) -> None:
        self.items, self.error = items, error
        self.options: dict[str, Any] = {}
        self.source: object = None
        self.finish = asyncio.Event()
        self.closed = False

    async def __call__(self, source: object, **options: Any) -> AsyncIterator[dict[str, Any]]:
        self.source, self.options = source, options
        try:
            for item in self.items:
                yield item
            if self.error is not None:
                raise self.error
            await self.finish.wait()
        finally:
            self.closed = True


def healer_of(runner: FakeRunner) -> Healer:
    """Return a healer whose sleeps return at once."""

    async def no_sleep(seconds: float) -> None:
        return None

    return Healer(runner, RULES, sleep=no_sleep)


async def take(stream: AsyncGenerator[Any, None], count: int) -> list[dict[str, Any]]:
    """Return the next ``count`` items of ``stream``."""
    return [await anext(stream) for _ in range(count)]


async def test_heal_watch_yields_the_watch_items_and_the_heal_reports(monkeypatch):
    """Notices pass through; an incident is healed and its reports follow it out of the stream.

    The options reach ``watch`` with a detector whose intents read the runner's audit trail.
    """
    scripted = ScriptedWatch([NOTICE, dict(unhealthy())])
    monkeypatch.setattr(watching, "watch", scripted)
    runner = FakeRunner(health=["unhealthy"], waits=[True])
    healer = healer_of(runner)
    stream = heal_watch("SOURCE", healer, since="10m")
    got = await take(stream, 4)
    assert [item["kind"] for item in got] == ["connected", "unhealthy", "heal_started", "healed"]
    assert got[0] == NOTICE
    assert got[2]["container_id"] == CID
    assert runner.tools() == [
        "docker_inspect_container",
        "docker_restart_container",
        "docker_wait_for_container",
    ]
    assert scripted.source == "SOURCE"
    assert scripted.options["since"] == "10m"
    detector = scripted.options["detector"]
    assert isinstance(detector, IncidentDetector)
    assert isinstance(detector.intents, AuditIntents)
    assert detector.intents.audit is runner.audit
    scripted.finish.set()
    with pytest.raises(StopAsyncIteration):
        await anext(stream)
    assert scripted.closed


async def test_heal_watch_keeps_a_detector_that_has_its_own_intents(monkeypatch):
    """A detector given with intents is used as given; one without gets the audit trail's."""
    scripted = ScriptedWatch([NOTICE])
    monkeypatch.setattr(watching, "watch", scripted)
    runner = FakeRunner(health=[], waits=[])
    own = AuditIntents(FakeRunner(health=[], waits=[]).audit)
    detector = IncidentDetector(intents=own)
    stream = heal_watch(None, healer_of(runner), detector=detector)
    assert await take(stream, 1) == [NOTICE]
    assert scripted.options["detector"] is detector
    assert detector.intents is own
    await stream.aclose()


async def test_a_notice_is_never_handed_to_the_healer(monkeypatch):
    """Only items naming a container are incidents for the healer; a notice starts no heal."""
    looks_bad = {"kind": "unhealthy", "host": "eng1", "time": "2026-11-29T10:00:00Z"}
    scripted = ScriptedWatch([looks_bad, NOTICE])
    monkeypatch.setattr(watching, "watch", scripted)
    runner = FakeRunner(health=[], waits=[])
    healer = healer_of(runner)
    stream = heal_watch(None, healer)
    assert await take(stream, 2) == [looks_bad, NOTICE]
    assert healer._busy == {}
    await stream.aclose()
    assert scripted.closed  # the watch is closed before aclose returns


async def test_a_watch_that_fails_raises_its_error_after_its_items(monkeypatch):
    """The watch's own error ends the stream with that error, once its items are out."""
    scripted = ScriptedWatch([NOTICE], error=RuntimeError("the watch broke"))
    monkeypatch.setattr(watching, "watch", scripted)
    stream = heal_watch(None, healer_of(FakeRunner(health=[], waits=[])))
    assert await anext(stream) == NOTICE
    with pytest.raises(RuntimeError, match="the watch broke"):
        await anext(stream)


async def test_leaving_the_stream_closes_the_watch_and_cancels_the_heals(monkeypatch):
    """Closing the stream early closes the watch and cancels a heal under way."""
    gate = asyncio.Event()

    async def stuck(seconds: float) -> None:
        await gate.wait()

    scripted = ScriptedWatch([dict(unhealthy())])
    monkeypatch.setattr(watching, "watch", scripted)
    healer = Healer(FakeRunner(health=["unhealthy"], waits=[True]), RULES, sleep=stuck)
    stream = heal_watch(None, healer)
    assert (await anext(stream))["kind"] == "unhealthy"
    await asyncio.sleep(0)  # the heal starts and waits on its grace
    (task,) = healer._busy.values()
    await stream.aclose()
    assert scripted.closed
    assert task.cancelled()


def request(tool: str, actor: str | None) -> ApprovalRequest:
    """Return an approval request of ``tool`` by ``actor``."""
    return ApprovalRequest(
        tool=tool, risk="high", arguments={}, summary=None, actor=actor, reason="why"
    )


async def test_the_heal_approver_says_yes_only_to_the_healers_own_restarts():
    """Pre-approved: the healer's restart is yes without asking; the rest go to the approver."""
    asked: list[tuple[str, str | None]] = []

    async def person(req: ApprovalRequest) -> bool:
        asked.append((req.tool, req.actor))
        return False

    rules = RULES.model_copy(update={"preapproved": True})
    approve = heal_approver(person, rules)
    assert approve is not None
    assert await approve(request("docker_restart_container", "operator:watch-heal")) is True
    assert asked == []
    assert await approve(request("docker_restart_container", "somebody")) is False
    assert await approve(request("docker_stop_container", "operator:watch-heal")) is False
    assert asked == [
        ("docker_restart_container", "somebody"),
        ("docker_stop_container", "operator:watch-heal"),
    ]


async def test_the_heal_approver_without_a_person_refuses_the_rest():
    """Pre-approved with no approver: the healer's restart is yes, anything else unavailable."""
    approve = heal_approver(None, RULES.model_copy(update={"preapproved": True}))
    assert approve is not None
    assert await approve(request("docker_restart_container", "operator:watch-heal")) is True
    with pytest.raises(ApprovalUnavailable, match="no approver is configured"):
        await approve(request("docker_kill_container", "operator:watch-heal"))


def test_without_preapproved_the_approver_is_the_one_given():
    """Not pre-approved: the approver is returned unchanged (None stays None)."""

    async def person(req: ApprovalRequest) -> bool:
        return True

    assert heal_approver(person, RULES) is person
    assert heal_approver(None, RULES) is None
