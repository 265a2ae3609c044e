"""Record the Engine API requests made inside a block: what tests assert on.

``record_requests()`` replaces counting docker processes: "no process started" becomes
"no request made" (``record_requests() == []`` after the block), and a test that sees a
request it did not expect fails. Every request of every ``EngineClient`` passes through
``note``; it is kept in the recorder active in the current context (a contextvar, so a
task started inside the block records into it too). Outside a block nothing is kept.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import NamedTuple

__all__ = ["Request", "note", "record_requests"]


class Request(NamedTuple):
    """One request as it left for the engine: its method, path and query parameters."""

    method: str
    path: str
    params: dict[str, str]


_ACTIVE: ContextVar[list[Request] | None] = ContextVar("operator_core_requests", default=None)


def note(method: str, path: str, params: Mapping[str, str] | None) -> None:
    """Keep one request in the active recorder, if any."""
    seen = _ACTIVE.get()
    if seen is not None:
        seen.append(Request(method, path, dict(params or {})))


@contextmanager
def record_requests() -> Iterator[list[Request]]:
    """Yield the list of the requests made (by this task and those it starts) in the block."""
    seen: list[Request] = []
    token = _ACTIVE.set(seen)
    try:
        yield seen
    finally:
        _ACTIVE.reset(token)
