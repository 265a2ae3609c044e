"""Rate limits on mutating actions, per container and overall, over sliding windows."""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence

from operator_core.policy.matching import Verdict
from operator_core.policy.model import RateLimit

__all__ = ["RateLimiter"]


class RateLimiter:
    """Counts mutating actions against the policy's ``rate_limits``.

    ``check`` only looks; ``acquire`` looks and, when every limit has room, counts the
    action against all of them at once (no await in between, so concurrent callers on
    one event loop cannot both take the last slot). ``clock`` is injectable for tests.

    Those counts are this process's. ``judge`` decides from a list of past actions
    instead: the runner hands it the audit trail's, read in the same SQLite transaction
    that records the action, which is how the limits hold across processes running at
    the same time (a JSONL or in-memory trail has no such transaction).
    """

    def __init__(
        self, limits: Sequence[RateLimit], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = list(limits)
        self._clock = clock
        self._hits: dict[tuple[int, str], deque[float]] = {}

    def check(self, tool: str, container_id: str) -> Verdict | None:
        """Return the first limit that has no room for this action, or None."""
        now = self._clock()
        for index, limit in enumerate(self._limits):
            if not limit.applies_to(tool):
                continue
            hits = self._window(index, limit, container_id, now)
            if len(hits) >= limit.max:
                return _denial(index, limit, tool, container_id, hits[0] + limit.window_s - now)
        return None

    def acquire(self, tool: str, container_id: str) -> Verdict | None:
        """Count the action against every limit it falls under, unless one has no room."""
        denial = self.check(tool, container_id)
        if denial is not None:
            return denial
        now = self._clock()
        for index, limit in enumerate(self._limits):
            if limit.applies_to(tool):
                self._window(index, limit, container_id, now).append(now)
        return None

    def remember(self, tool: str, container_id: str, seconds_ago: float) -> None:
        """Count an action that ran ``seconds_ago`` (e.g. read back from the audit trail).

        Call it oldest first; it counts against every limit whose window still holds it.
        """
        now = self._clock()
        at = now - max(0.0, seconds_ago)
        for index, limit in enumerate(self._limits):
            if limit.applies_to(tool):
                hits = self._window(index, limit, container_id, now)
                if at > now - limit.window_s and (not hits or hits[-1] <= at):
                    hits.append(at)

    def counts(self, tool: str) -> bool:
        """Whether any limit counts calls of ``tool``."""
        return any(limit.applies_to(tool) for limit in self._limits)

    def judge(
        self,
        tool: str,
        container_id: str,
        past: Iterable[tuple[str, str | None, float]],
        now: float,
    ) -> Verdict | None:
        """Return the first limit with no room for this action, given ``past`` actions.

        ``past`` holds ``(tool, container_id, time)`` with times on the clock of ``now``
        (e.g. the wall-clock times of the audit trail). Counts nothing here.
        """
        entries = list(past)
        for index, limit in enumerate(self._limits):
            if not limit.applies_to(tool):
                continue
            start = now - limit.window_s
            times = sorted(
                at
                for name, cid, at in entries
                if at > start
                and limit.applies_to(name)
                and (limit.per == "all" or cid == container_id)
            )
            if len(times) >= limit.max:
                wait = times[-limit.max] + limit.window_s - now
                return _denial(index, limit, tool, container_id, wait)
        return None

    @property
    def longest_window_s(self) -> float:
        """The longest window of any limit (0 when there are none)."""
        return max((limit.window_s for limit in self._limits), default=0.0)

    def _window(self, index: int, limit: RateLimit, container_id: str, now: float) -> deque[float]:
        """Return the hits of one limit (for one container, or overall) still in its window."""
        key = (index, container_id if limit.per == "container" else "*")
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - limit.window_s:
            hits.popleft()
        return hits


def _denial(index: int, limit: RateLimit, tool: str, container_id: str, wait: float) -> Verdict:
    """Return the verdict of a full limit."""
    tools = ", ".join(limit.tools) if limit.tools else "any mutating tool"
    where = f"on container {container_id[:12]}" if limit.per == "container" else "overall"
    retry = max(1, math.ceil(wait))
    return Verdict(
        f"rate_limits[{index}]",
        f"rate limit reached: at most {limit.max} action(s) of {tools} {where} per "
        f"{limit.window_s:g}s, and that many already ran; {tool} was not run. The next is "
        f"allowed in {retry}s. If a container keeps failing, report it to a person instead "
        "of retrying.",
        {
            "max": limit.max,
            "window_s": limit.window_s,
            "per": limit.per,
            "tools": limit.tools,
            "retry_after_s": retry,
        },
    )
