"""What ``watch`` follows (``watch.sources``): an executor that follows events, or a fleet.

Typed by protocols (``Followed``, ``Hosts``) rather than ``Any``, and checked before any
host is followed: a source, or a fleet host's executor, that cannot follow events is
``InvalidInput``.
"""

from __future__ import annotations

import pytest

from operator_core.errors import InvalidInput
from operator_core.watch.sources import followed_hosts


class _Engine:
    """Just what the watch reads of one engine."""

    async def engine_identity(self, *, refresh: bool = False):
        return {"engine_id": "E"}

    async def get_events(self, since, *, limit):
        return {"events": []}

    async def list_containers(self, all=False):
        return {"containers": [], "count": 0}

    async def follow_events(self, since=None, *, types=None, actions=None):
        yield {}


class _Fleet:
    def __init__(self, executors: dict[str, object]) -> None:
        self._executors = executors

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._executors)

    def executor(self, host: str | None = None) -> object:
        return self._executors[host or next(iter(self._executors))]


def test_one_engine_is_followed_as_the_one_host():
    """An executor that follows events is the single host (named None)."""
    engine = _Engine()
    assert followed_hosts(engine) == [(None, engine)]


def test_a_fleet_is_followed_host_by_host_in_order():
    """Every host of a fleet, in its order, with its own executor."""
    one, two = _Engine(), _Engine()
    assert followed_hosts(_Fleet({"eng1": one, "eng2": two})) == [("eng1", one), ("eng2", two)]


def test_what_cannot_follow_events_is_refused_before_anything_is_followed():
    """A source that is neither, or a fleet host whose executor cannot follow: InvalidInput."""
    with pytest.raises(InvalidInput, match="DockerActionExecutor or a Fleet"):
        followed_hosts(object())  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="'eng2'"):
        followed_hosts(_Fleet({"eng1": _Engine(), "eng2": object()}))
