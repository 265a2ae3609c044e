"""Unit tests of the watch's following: reconnects, replays, probes, the state read at connect.

The incident rules themselves are tested in test_incidents.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from operator_core.cli.commands.watch import format_item
from operator_core.docker.diagnosis.events import EventStreamEnded
from operator_core.errors import EngineUnreachable, InvalidInput
from operator_core.present.terminal import SafeConsole
from operator_core.results import Event
from operator_core.watch import IncidentDetector, watch

CID = "c" * 64


def ev(action: str, second: float, *, code: int | None = None, detail: str | None = None) -> Event:
    """Return a container event of ``web`` at ``second`` past 10:00:00."""
    whole, frac = divmod(round(second * 1e9), 10**9)
    return Event(
        time=f"2026-11-29T10:{whole // 60:02d}:{whole % 60:02d}.{frac:09d}Z",
        type="container",
        action=action,
        detail=detail,
        actor_id=CID,
        actor_name="web",
        exit_code=code,
        attributes={"name": "web", "autoheal": "true"},
    )


def kinds(detector: IncidentDetector, *events: Event) -> list[str]:
    """Return the kinds of incident ``events`` reveal, in order."""
    return [incident["kind"] for e in events for incident in detector.feed(e)]


# --- following and reconnecting ---------------------------------------------------------


class ScriptedEngine:
    """An executor whose event streams are scripted: each follow yields a batch, then ends."""

    def __init__(self, batches: list[list[Event]], probes: list[bool]) -> None:
        self.batches, self.probes = batches, probes
        self.since: list[str | None] = []
        self.probed: list[str] = []
        self.overrun: list[bool] = []
        self.gate = asyncio.Event()
        self.containers: list[dict[str, Any]] = []
        self.answering = asyncio.Event()
        self.answering.set()
        self.identities = 0

    async def engine_identity(self, *, refresh: bool = False) -> dict[str, Any]:
        self.identities += 1
        await self.answering.wait()
        return {
            "engine_id": "ENGINE-1",
            "engine_name": "e1",
            "cluster_id": None,
            "node_id": None,
            "manager": False,
        }

    async def list_containers(self, all: bool = False) -> dict[str, Any]:
        return {"containers": self.containers, "count": len(self.containers)}

    async def get_events(self, since: str, limit: int = 500) -> dict[str, Any]:
        self.probed.append(since)
        if self.probes and not self.probes.pop(0):
            raise EngineUnreachable("could not reach the Docker engine")
        full = self.overrun.pop(0) if self.overrun else False
        return {"events": [], "truncation": ["engine_buffer"] if full else []}

    async def follow_events(self, since: str | None = None, **_: Any) -> AsyncIterator[Event]:
        self.since.append(since)
        if not self.batches:
            await self.gate.wait()  # the last stream stays open
            return
        for event in self.batches.pop(0):
            yield event
        raise EventStreamEnded("the event stream ended: unexpected EOF")


async def collect(
    source: Any, count: int, sleeps: list[float], **options: Any
) -> list[dict[str, Any]]:
    """Return the first ``count`` items the watch yields; record its backoff sleeps."""

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    items: list[dict[str, Any]] = []

    async def take() -> None:
        async with contextlib.aclosing(
            watch(source, sleep=sleep, backoff_s=1, backoff_max_s=4, **options)
        ) as stream:
            async for item in stream:
                items.append(dict(item))
                if len(items) == count:
                    return

    # The bound only turns a hang (a missing item) into a failure that shows what came.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(take(), 30)
    return items


async def test_the_watch_reconnects_replays_from_the_last_event_and_skips_repeats():
    """A stream's end is said; backoff, reconnect, replay --since the last event, no repeats.

    After it ends the watch says so, backs off (1, 2, 4 s), reconnects and follows again
    from the last event's time; an event the replay sends again is not reported twice.
    """
    first = [ev("die", 1, code=3)]
    replay = [ev("die", 1, code=3), ev("die", 2, code=5)]
    engine = ScriptedEngine([first, replay], probes=[True, False, False, True])
    sleeps: list[float] = []
    with time_machine.travel(datetime(2026, 11, 29, 9, 59, tzinfo=UTC), tick=False):
        items = await collect(engine, 7, sleeps)
    assert [(i["kind"], i.get("exit_code")) for i in items] == [
        ("connected", None),
        ("died", 3),
        ("disconnected", None),
        ("disconnected", None),
        ("disconnected", None),
        ("reconnected", None),
        ("died", 5),
    ]
    assert sleeps[:3] == [1, 2, 4]
    assert sleeps[3:] in ([], [1])  # the replay's end, if seen yet, backs off from 1 again
    # From the moment before the first probe (09:59), then from the last event (10:00:01).
    assert engine.since[:2] == ["1795946340.000000000", "1795946401.000000000"]
    assert "unexpected EOF" in items[2]["message"]
    assert "could not reach" in items[3]["message"]


async def test_a_reconnect_says_when_the_engine_no_longer_holds_the_gap():
    """The probe reads from the last event seen; a full engine memory is said, not hidden.

    A Docker engine replays only its newest 256 events: when more came since the last
    event seen, incidents of the gap may be missing, and the reconnected notice says so.
    """
    engine = ScriptedEngine([[ev("die", 1, code=3)]], probes=[True, True])
    engine.overrun = [False, True]
    with time_machine.travel(datetime(2026, 11, 29, 10, 5, tzinfo=UTC), tick=False):
        items = await collect(engine, 4, [])
    assert [i["kind"] for i in items] == ["connected", "died", "disconnected", "reconnected"]
    assert "256" not in items[0]["message"]
    assert "may be missing" in items[3]["message"]
    assert engine.probed[1] == "2026-11-29T10:00:01.000000Z"


async def test_a_fleet_is_watched_host_by_host():
    """Each host has its own follower; incidents name their host."""

    class TwoHosts:
        names = ("a", "b")

        def __init__(self) -> None:
            self.engines = {
                "a": ScriptedEngine([[ev("oom", 1)]], [True]),
                "b": ScriptedEngine([[ev("die", 1, code=9)]], [True]),
            }

        def executor(self, name: str) -> ScriptedEngine:
            return self.engines[name]

    items = await collect(TwoHosts(), 8, [], detector=IncidentDetector(hold_s=0))
    incidents = {(i["host"], i["kind"]) for i in items if i["kind"] in ("died", "oom_killed")}
    assert incidents == {("a", "oom_killed"), ("b", "died")}


async def test_a_relative_since_is_one_moment_for_every_reconnect():
    """--since 10m replays from 09:50 after a reconnect too, not from 10 min before it.

    No event came before the stream ended, so the replay starts where the first follow
    did; counted again from the reconnect, the deaths of a long outage would be lost.
    """
    engine = ScriptedEngine([[]], probes=[True, True])
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)
        traveller.shift(3600)

    with time_machine.travel(datetime(2026, 11, 29, 10, 0, tzinfo=UTC), tick=False) as traveller:
        stream = watch(engine, since="10m", sleep=sleep, backoff_s=1, backoff_max_s=4)
        async with contextlib.aclosing(stream):
            kinds = [(await anext(stream))["kind"] for _ in range(3)]
    assert kinds == ["connected", "disconnected", "reconnected"]
    assert engine.since == ["1795945800.000000000", "1795945800.000000000"]


@pytest.mark.parametrize("since", ["soon", "", "1h-", 5])
async def test_a_bad_since_is_refused_before_any_host_is_followed(since):
    """A since that names no moment is InvalidInput, not a stream that keeps reconnecting."""
    engine = ScriptedEngine([], probes=[])
    with pytest.raises(InvalidInput, match="since"):
        await anext(watch(engine, since=since))
    assert engine.since == []


async def test_a_follower_that_breaks_raises_its_error_instead_of_going_quiet():
    """A bug in following a host (not an engine error) ends the watch with that error."""

    class Broken(ScriptedEngine):
        async def follow_events(self, since: str | None = None, **_: Any) -> AsyncIterator[Event]:
            raise RuntimeError("a bug while following")
            yield  # an async generator, as the executor's is

    stream = watch(Broken([], probes=[True]))
    async with contextlib.aclosing(stream):
        assert (await anext(stream))["kind"] == "connected"
        with pytest.raises(RuntimeError, match="a bug while following"):
            # The bound only turns a hang (the bug this pins) into a failure.
            await asyncio.wait_for(anext(stream), 60)


async def test_watch_refuses_a_source_it_cannot_follow():
    """Anything but an executor or a fleet is InvalidInput."""
    with pytest.raises(InvalidInput):
        await collect(object(), 1, [])


# --- what the watch reads and probes besides the events -------------------------------------


def kill_then_die(second: float) -> list[Event]:
    """The events of a container killed (signal 15) and dying at ``second``."""
    kill = ev("kill", second)
    kill["attributes"] = {**kill["attributes"], "signal": "15"}
    return [kill, ev("die", second + 0.5, code=137)]


async def test_deaths_held_when_the_stream_ends_are_said_as_the_engine_stopping():
    """Kill, die, then the stream ends (a daemon shutting down): engine_stopped, not died.

    It is said before the disconnected notice, and every notice carries the engine's ID.
    """
    engine = ScriptedEngine([kill_then_die(1)], probes=[True])
    items = await collect(engine, 3, [])
    assert [(i["kind"], i.get("status")) for i in items] == [
        ("connected", None),
        ("engine_stopped", "info"),
        ("disconnected", None),
    ]
    assert items[0]["engine_id"] == "ENGINE-1"
    assert items[1]["engine_id"] == "ENGINE-1"


async def test_a_container_already_unhealthy_when_the_watch_starts_is_an_incident():
    """The containers are listed at connect: one already unhealthy is an incident at once."""
    engine = ScriptedEngine([], probes=[True])
    engine.containers = [
        {
            "id": CID,
            "container_id": CID,
            "name": "web",
            "status": "running",
            "health": "unhealthy",
            "restart_count": 0,
            "exit_code": None,
            "finished_at": None,
            "started_at": "2026-11-29T09:00:00Z",
            "labels": {"autoheal": "true"},
        }
    ]
    items = await collect(engine, 2, [])
    assert [(i["kind"], i.get("status")) for i in items] == [
        ("unhealthy", "firing"),
        ("connected", None),
    ]
    assert items[0]["message"] == "web is unhealthy"


async def test_a_hung_engine_is_unresponsive_then_responsive_while_others_flow():
    """An engine that stops answering is said unresponsive; others' incidents keep coming.

    Host a's probes hang until the test lets them answer; host b's death, which comes only
    after a was said unresponsive, is still reported; then a answers: responsive.
    """
    hung = ScriptedEngine([], probes=[True])
    other = ScriptedEngine([], probes=[True])
    go = asyncio.Event()

    async def follow_b(since: str | None = None, **_: Any) -> AsyncIterator[Event]:
        await go.wait()
        yield ev("die", 1, code=4)
        await asyncio.Event().wait()

    other.follow_events = follow_b  # type: ignore[method-assign]

    class TwoHosts:
        names = ("a", "b")

        def executor(self, name: str) -> ScriptedEngine:
            return hung if name == "a" else other

    seen: list[tuple[str | None, str]] = []

    async def take() -> None:
        stream = watch(TwoHosts(), probe_every_s=0.01, unresponsive_s=0.05)
        async with contextlib.aclosing(stream):
            async for item in stream:
                seen.append((item["host"], item["kind"]))
                if seen.count(("a", "connected")) and seen.count(("b", "connected")):
                    hung.answering.clear()  # from now on a's probes get no answer
                if item["kind"] == "unresponsive":
                    go.set()
                if item["kind"] == "died":
                    hung.answering.set()
                if item["kind"] == "responsive":
                    return

    with contextlib.suppress(TimeoutError):  # a bound on a hang; the asserts say what was missing
        await asyncio.wait_for(take(), 30)
    assert ("a", "unresponsive") in seen
    assert seen.index(("a", "unresponsive")) < seen.index(("b", "died"))
    assert seen.index(("b", "died")) < seen.index(("a", "responsive"))
    assert ("b", "unresponsive") not in seen


async def test_bad_probe_timing_is_refused():
    """A probe interval longer than the silence that makes an engine unresponsive: refused."""
    with pytest.raises(InvalidInput, match="probe"):
        await anext(watch(ScriptedEngine([], []), probe_every_s=20, unresponsive_s=10))


# --- the human lines ---------------------------------------------------------------------


def test_every_human_line_names_its_host_and_container():
    r"""A heal report whose message names neither gets both; an incident's message has them.

    Control characters a container or engine put in a text reach the terminal only shown
    (``\x1b``), never raw: the CLI's console makes them safe, as for every command.
    """
    report = {
        "kind": "heal_denied",
        "host": "eng2",
        "container_id": CID,
        "name": "web",
        "time": "2026-11-29T10:00:01Z",
        "message": "the policy refused the restart (approval.unavailable)\x1b[2J",
    }
    line = format_item(report)
    assert "eng2: web: the policy refused the restart" in line
    console = SafeConsole(file=io.StringIO(), width=200, color_system=None)
    console.print(line)
    shown = console.file.getvalue()  # type: ignore[attr-defined]
    assert "\x1b" not in shown
    assert "(approval.unavailable)\\x1b[2J" in shown
    incident = {
        "kind": "restart_loop",
        "status": "resolved",
        "incident_id": "x",
        "host": "eng2",
        "name": "web",
        "time": "2026-11-29T10:10:01Z",
        "message": "eng2: web was removed",
    }
    assert "restart_loop resolved eng2: web was removed" in format_item(incident)
