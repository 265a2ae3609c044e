"""Unit tests of the event stream over the Engine API: the watch's follow, and its bounds.

One streamed ``GET /events`` per followed engine (no process): events split across chunks
come out whole, the stream has no deadline, leaving it closes the response, and a window
read past its deadline closes its stream and returns what came.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
import time_machine

from engine_fakes import Reply, fake_client, refused
from operator_core.docker import DockerActionExecutor
from operator_core.docker.diagnosis import events as events_module
from operator_core.docker.diagnosis.events import EventStreamEnded
from operator_core.errors import EngineUnreachable, InvalidInput
from operator_core.results import Event
from operator_core.testing import record_requests

BASE = 1_795_946_400_000_000_000  # 2026-11-29T10:00:00Z


def event(action: str, nanos: int = 0) -> bytes:
    """Return one event line as the engine streams it."""
    raw = {
        "Type": "container",
        "Action": action,
        "Actor": {"ID": "c1", "Attributes": {"name": "web"}},
        "time": (BASE + nanos) // 1_000_000_000,
        "timeNano": BASE + nanos,
    }
    return json.dumps(raw).encode() + b"\n"


class Events:
    """An engine whose ``GET /events`` answers ``reply`` (recording each request's query)."""

    def __init__(self, reply: Reply | Exception) -> None:
        self.reply = reply
        self.params: list[dict[str, str]] = []

    def __call__(self, method: str, path: str, params: dict[str, str], body: object) -> Reply:
        assert (method, path) == ("GET", "/events")
        self.params.append(params)
        if isinstance(self.reply, Exception):
            raise self.reply
        return self.reply


async def drain(stream: AsyncIterator[Event], seen: list[str] | None = None) -> None:
    """Read ``stream`` to its end, keeping each event's action in ``seen``."""
    async for item in stream:
        if seen is not None:
            seen.append(item["action"])


def executor_for(engine: Events, **options: float) -> DockerActionExecutor:
    """Return an executor whose engine is ``engine``."""
    api, _ = fake_client(engine)
    return DockerActionExecutor(api=api, **options)


async def test_follow_yields_whole_events_from_lines_split_across_chunks():
    """A line cut between two chunks is one event; the stream's end is EventStreamEnded."""
    first, second = event("start"), event("die", nanos=5)
    engine = Events(Reply([first[:30], first[30:] + second[:10], second[10:]]))
    stream = executor_for(engine).follow_events(
        "1795946400.5", types=["container"], actions=["die", "start"]
    )
    seen: list[str] = []
    with pytest.raises(EventStreamEnded, match="closed"):
        await drain(stream, seen)
    assert seen == ["start", "die"]
    (params,) = engine.params
    assert params["since"] == "1795946400.5"  # a unix time goes as given
    assert json.loads(params["filters"]) == {"type": ["container"], "event": ["die", "start"]}


@time_machine.travel(datetime(2026, 11, 29, 10, 0, tzinfo=UTC), tick=False)
async def test_follow_from_a_duration_asks_for_the_unix_time_it_names():
    """``since="10m"`` is sent as the unix time ten minutes before now (the engine's form)."""
    engine = Events(Reply([]))
    with pytest.raises(EventStreamEnded):
        async for _ in executor_for(engine).follow_events("10m"):
            pass
    assert engine.params[0] == {"since": "1795945800.000000000"}


async def test_follow_has_no_deadline_and_leaving_it_closes_the_stream():
    """A quiet stream outlives the call deadline; closing the follow closes the response."""
    reply = Reply([event("start")], hang=True)
    executor = executor_for(Events(reply), call_deadline=0.05)
    stream = executor.follow_events()
    assert (await anext(stream))["action"] == "start"
    waiting = asyncio.ensure_future(anext(stream))
    await asyncio.sleep(0.2)  # four call deadlines: still following
    assert not waiting.done()
    waiting.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await waiting
    await stream.aclose()
    assert reply.closed


async def test_follow_a_line_past_the_limit_ends_the_stream(monkeypatch):
    """An event line over the follow's limit ends the stream (the watch restarts it)."""
    monkeypatch.setattr(events_module, "_FOLLOW_LINE_LIMIT", 100)
    reply = Reply([b"x" * 150], hang=True)
    with pytest.raises(EventStreamEnded, match="over 100 bytes"):
        async for _ in executor_for(Events(reply)).follow_events():
            pass
    assert reply.closed


async def test_follow_of_an_engine_that_cannot_be_reached_is_engine_unreachable():
    """A refused connection is EngineUnreachable, which the watch reports and retries."""
    engine = Events(ConnectionRefusedError(111, "Connection refused"))
    with pytest.raises(EngineUnreachable):
        async for _ in executor_for(engine).follow_events():
            pass


async def test_follow_bad_filters_make_no_request():
    """A bad type is InvalidInput at the first step, before any request."""
    engine = Events(Reply([]))
    with record_requests() as requests, pytest.raises(InvalidInput):
        async for _ in executor_for(engine).follow_events(types=["bogus"]):
            pass
    assert requests == []


async def test_a_window_read_past_its_deadline_closes_the_stream_and_keeps_what_came():
    """An engine that stops sending mid-window: the read ends before the call's deadline.

    The events that came are kept, ``deadline`` is in its truncation, the response closed.
    """
    reply = Reply([event("start"), event("die", nanos=1)], hang=True)
    executor = executor_for(Events(reply), call_deadline=0.4)
    result = await executor.get_events("1h")
    assert [e["action"] for e in result["events"]] == ["start", "die"]
    assert result["truncation"] == ["deadline"]
    assert reply.closed


async def test_a_window_read_stops_at_the_read_cap(monkeypatch):
    """Past MAX_EVENT_READ_BYTES the stream is closed: ``read_cap``, the events so far kept."""
    monkeypatch.setattr(events_module, "MAX_EVENT_READ_BYTES", 3 * len(event("start")))
    reply = Reply([event("start", nanos=i) for i in range(10)], hang=True)
    result = await executor_for(Events(reply)).get_events("1h", limit=100)
    assert result["count"] == 3
    assert result["truncation"] == ["read_cap"]
    assert reply.closed


async def test_a_window_read_the_engine_refuses_is_an_engine_error():
    """A 500 from the engine is an EngineError with its reason."""
    from operator_core.errors import EngineError

    with pytest.raises(EngineError, match="boom"):
        await executor_for(Events(refused(500, "boom"))).get_events("1h")
