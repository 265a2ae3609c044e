"""The log search's readers together never read past its read cap (issue 20).

Each reader draws its allowance from the shared budget before it reads and gives back
what it did not read, so readers running at once can never hold more than the cap. Before,
each took a share of what was left when it started and counted it only when done: 4
containers read 3,248,500 bytes under a 3,000,000 cap.
"""

from __future__ import annotations

import asyncio
import time
from types import SimpleNamespace
from typing import Any

import pytest

from operator_core.docker.diagnosis import search as search_module
from operator_core.docker.diagnosis.reading import Pumped
from operator_core.docker.diagnosis.search import (
    SEARCH_READERS,
    _Budget,
    _Plan,
    _search_all,
    compile_pattern,
)

CAP = 3_000_000
CHUNK = 65536


class EndlessLogs:
    """A stand-in for ``pump`` over logs longer than any cap: counts every byte read.

    It reads as the real one does (``CHUNK`` at a time, never past ``max_read``) and holds
    the first ``SEARCH_READERS`` readers until all have read, so that they overlap.
    """

    def __init__(self) -> None:
        self.read: list[int] = []
        self.together = asyncio.Event()

    async def __call__(self, pieces: Any, sinks: Any, *, max_read: int, **_: Any) -> Pumped:
        total = 0
        while total < max_read:
            total += min(CHUNK, max_read - total)
        self.read.append(total)
        if len(self.read) >= SEARCH_READERS:
            self.together.set()
        if len(self.read) <= SEARCH_READERS:
            await self.together.wait()
        return Pumped("read_cap", total)


class NoEngine:
    """The client a reader asks for its log's frames (``pump`` is faked: never read)."""

    def frames(self, *_: Any, **__: Any) -> object:
        return object()


def _plan() -> _Plan:
    return _Plan(compile_pattern("x", regex=False, ignore_case=False), "x", False, 10, 0, 5, None)


@pytest.mark.parametrize("containers", [4, 7, 20])
async def test_readers_together_never_read_past_the_cap(monkeypatch, containers):
    """N containers with endless logs: the bytes read, added up, stay within the cap."""
    logs = EndlessLogs()
    monkeypatch.setattr(search_module, "pump", logs)
    snaps = [SimpleNamespace(id=f"c{i}", name=f"c{i}", tty=False) for i in range(containers)]
    budget = _Budget(5, bytes_left=CAP)
    _, searched, not_searched, _ = await _search_all(
        NoEngine(), snaps, _plan(), budget, time.monotonic() + 3600
    )
    assert len(logs.read) >= SEARCH_READERS + 1  # a reader started while three held shares
    assert sum(logs.read) <= CAP
    assert budget.bytes_left == CAP - sum(logs.read)
    assert "read_cap" in budget.reasons
    assert len(searched) + len(not_searched) == containers


def test_a_reader_gives_back_what_it_did_not_read():
    """A short log leaves the rest of its allowance to the next reader."""
    budget = _Budget(5, bytes_left=9000)
    share = budget.reserve()
    assert share == 3000
    assert budget.bytes_left == 6000
    budget.settle(share, 100)
    assert budget.bytes_left == 8900


def test_the_last_bytes_go_to_one_reader_then_none_is_left():
    """Under SEARCH_READERS bytes left: one reader takes them all; then read_cap, no read."""
    budget = _Budget(5, bytes_left=2)
    assert budget.reserve() == 2
    assert budget.reserve() == 0
    assert budget.reasons == {"read_cap"}
