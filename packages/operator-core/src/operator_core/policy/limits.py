"""Rate limits on mutating actions, per container and overall, over sliding windows."""

from __future__ import annotations

import bisect
import math
import time
from collections.abc import Callable, Iterable, Sequence

from operator_core.policy.matching import Verdict
from operator_core.policy.model import RateLimit

__all__ = ["RateLimiter"]


class RateLimiter:
    """Counts mutating actions against the policy's ``rate_limits``.

    One sliding-window rule decides everything (``judge``): an action is refused by the
    first limit it falls under that already holds ``max`` actions (of the limit's tools,
    on the same container unless ``per = "all"``) in the last ``window_s`` seconds.

    ``judge`` applies it to a list of past actions: the runner hands it the audit trail's,
    read in the same SQLite transaction that records the action, which is how the limits
    hold across processes running at the same time. ``check`` applies it to this
    process's own actions (``acquire`` and ``remember`` add to them): ``check`` only
    looks; ``acquire`` looks and, when every limit has room, counts the action (no await
    in between, so concurrent callers on one event loop cannot both take the last slot).
    ``clock`` is injectable for tests.
    """

    def __init__(
        self, limits: Sequence[RateLimit], clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limits = list(limits)
        self._clock = clock
        #: This process's actions, ``(tool, container_id, time)``, oldest first.
        self._seen: list[tuple[float, str, str]] = []

    def check(self, tool: str, container_id: str) -> Verdict | None:
        """Return the first limit that has no room for this action, or None."""
        now = self._clock()
        self._forget(now)
        return self.judge(tool, container_id, self._entries(), now)

    def acquire(self, tool: str, container_id: str) -> Verdict | None:
        """Count the action against every limit it falls under, unless one has no room."""
        denial = self.check(tool, container_id)
        if denial is None and self.counts(tool):
            self._note(tool, container_id, self._clock())
        return denial

    def remember(self, tool: str, container_id: str, seconds_ago: float) -> None:
        """Count an action that ran ``seconds_ago`` (e.g. read back from the audit trail)."""
        if self.counts(tool):
            self._note(tool, container_id, self._clock() - max(0.0, seconds_ago))

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
                and (limit.per == "all" or _same_target(cid, container_id))
            )
            if len(times) >= limit.max:
                wait = times[-limit.max] + limit.window_s - now
                return _denial(index, limit, tool, container_id, wait)
        return None

    @property
    def longest_window_s(self) -> float:
        """The longest window of any limit (0 when there are none)."""
        return max((limit.window_s for limit in self._limits), default=0.0)

    def _entries(self) -> list[tuple[str, str | None, float]]:
        """Return this process's actions as ``judge`` takes them."""
        return [(tool, cid, at) for at, tool, cid in self._seen]

    def _note(self, tool: str, container_id: str, at: float) -> None:
        """Keep an action of this process, in time order."""
        bisect.insort(self._seen, (at, tool, container_id))

    def _forget(self, now: float) -> None:
        """Drop actions older than every window (they can no longer count)."""
        horizon = now - self.longest_window_s
        del self._seen[: bisect.bisect_right(self._seen, horizon, key=lambda seen: seen[0])]


def _same_target(past: str | None, key: str) -> bool:
    """Whether a past action's key names the target of ``key`` (``holder/id``).

    A record written before keys named the engine holds ``id`` or ``id@host``: it counts
    for that object id on any engine (counting too much is the safe side of a limit).
    """
    if past is None or "/" in past:
        return past == key
    return past.partition("@")[0] == key.rpartition("/")[2].partition("@")[0]


def _denial(index: int, limit: RateLimit, tool: str, container_id: str, wait: float) -> Verdict:
    """Return the verdict of a full limit."""
    tools = ", ".join(limit.tools) if limit.tools else "any mutating tool"
    shown = container_id.rpartition("/")[2].partition("@")[0][:12]  # the id of engine/id
    where = f"on container {shown}" if limit.per == "container" else "overall"
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
