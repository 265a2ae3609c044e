"""``HistoryRecorder``: the watch's hook into the event history (``watch(..., recorder=...)``).

The watch calls it per followed engine: ``resume`` once (where the history's cursor says to
follow again from, so a restarted watch replays what happened while it was down instead of
starting at "now"), ``started`` each time the stream (re)starts, ``record`` for every batch
of events received, ``stopped`` when the stream ends. A heartbeat marks the open intervals
alive every ``HEARTBEAT_S`` seconds, so a reader knows how far a quiet engine's history
reaches and a watch killed outright leaves an interval that ends where it stopped.

A store that fails (disk full, locked too long) never stops the watch: the failure is
logged, the engine's interval ends there (the history does not claim what it missed), and
the next event recorded opens a new one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from typing import Protocol

from operator_core.errors import HistoryError
from operator_core.results import Event
from operator_core.watch.history import (
    RECORDED_ACTIONS,
    RECORDED_TYPES,
    Cursor,
    HistoryStore,
    ns_of,
)

__all__ = ["HEARTBEAT_S", "EventRecorder", "HistoryRecorder"]

log = logging.getLogger(__name__)

#: How often the open recording intervals are marked alive.
HEARTBEAT_S = 5.0


class EventRecorder(Protocol):
    """What ``watch`` records through; ``types``/``actions`` widen what it follows."""

    types: Sequence[str]
    actions: Sequence[str]

    async def resume(self, engine_id: str) -> Cursor | None:
        """Return where to follow ``engine_id`` from when no ``since`` was given."""
        ...

    async def started(self, host: str | None, engine_id: str, start: float) -> None:
        """Say the stream of ``engine_id`` delivers every event from ``start`` (unix s) on."""
        ...

    async def record(self, host: str | None, engine_id: str, events: Sequence[Event]) -> None:
        """Keep ``events``, received from ``engine_id``."""
        ...

    async def stopped(self, engine_id: str) -> None:
        """Say the stream of ``engine_id`` ended."""
        ...


class HistoryRecorder:
    """Records the watch's events into ``store``; see the module's docstring."""

    types: Sequence[str] = RECORDED_TYPES
    actions: Sequence[str] = RECORDED_ACTIONS

    def __init__(
        self,
        store: HistoryStore,
        *,
        heartbeat_s: float = HEARTBEAT_S,
    ) -> None:
        self.store = store
        self._heartbeat_s = heartbeat_s
        self._open: dict[str, int] = {}
        self._beating: asyncio.Task[None] | None = None

    async def resume(self, engine_id: str) -> Cursor | None:
        """Return the store's cursor of ``engine_id`` (None when it has none or fails)."""
        try:
            return await self.store.cursor(engine_id)
        except HistoryError as exc:
            log.warning("history: no resume cursor for engine %s: %s", engine_id, exc)
            return None

    async def started(self, host: str | None, engine_id: str, start: float) -> None:
        """Open a recording interval of ``engine_id`` from ``start`` (unix s)."""
        await self.stopped(engine_id)
        try:
            self._open[engine_id] = await self.store.open_interval(host, engine_id, start)
        except HistoryError as exc:
            log.warning("history: not recording engine %s: %s", engine_id, exc)
        if self._beating is None or self._beating.done():
            self._beating = asyncio.create_task(self._heartbeat())

    async def record(self, host: str | None, engine_id: str, events: Sequence[Event]) -> None:
        """Store ``events``; after a failure, reopen the interval at the first one stored."""
        if not events:
            return
        if engine_id not in self._open:
            await self.started(host, engine_id, ns_of(events[0]["time"]) / 1e9)
        try:
            await self.store.record(host, engine_id, events, self._open.get(engine_id))
        except HistoryError as exc:
            count = len(events)
            log.warning("history: %d event(s) of engine %s not recorded: %s", count, engine_id, exc)
            self._open.pop(engine_id, None)

    async def stopped(self, engine_id: str) -> None:
        """Close the open interval of ``engine_id``, if any."""
        interval = self._open.pop(engine_id, None)
        if interval is None:
            return
        try:
            await self.store.close_interval(interval)
        except HistoryError as exc:
            log.warning("history: interval of engine %s left open: %s", engine_id, exc)

    async def aclose(self) -> None:
        """Stop the heartbeat and close every open interval (the watch is stopping)."""
        if self._beating is not None:
            self._beating.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._beating
        for engine_id in list(self._open):
            await self.stopped(engine_id)

    async def _heartbeat(self) -> None:
        """Mark the open intervals alive every ``heartbeat_s`` seconds."""
        while True:
            await asyncio.sleep(self._heartbeat_s)
            if not self._open:
                continue
            try:
                await self.store.heartbeat(list(self._open.values()))
            except HistoryError as exc:
                log.warning("history: heartbeat not recorded: %s", exc)
