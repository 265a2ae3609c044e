"""Retention: how long the audit trail and the watch's event history keep their rows.

One rule for both stores, applied by the running services (``operator watch`` and
``operator mcp`` prune every ``prune_every_s``) and by a person (``operator audit prune``,
``operator history prune``):

* a row older than the store's ``max_age`` goes; with ``max_rows``, so do the oldest rows
  beyond that many (0 turns either bound off);
* an audit record still ``pending`` (an action under way, or cut short: ``runner.reconcile``
  settles it) never goes, and neither does one younger than ``AUDIT_FLOOR_S`` (7 days, the
  longest rate-limit window: rate limits count the recent records);
* rows go oldest first, in chunks of ``PRUNE_CHUNK`` per transaction, so writers that share
  the file wait for one chunk at most; an export (audit only) gets each chunk, fsynced,
  before the chunk is deleted.

A SQLite file does not shrink when rows go: freed pages are reused, so the disk a store
takes is bounded by its rows at their high-water mark (``scripts/measure_history.py``
measures the bytes per row).

The policy's ``[retention]`` section (every key optional)::

    [retention]
    audit_max_age_days = 30        # 0: keep forever (at least 7 when set)
    audit_max_rows = 0             # 0: no row bound
    history_max_age_days = 7
    history_max_rows = 1000000
    prune_every_s = 3600
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Literal, TypedDict

from pydantic import BaseModel, ConfigDict, Field, field_validator

from operator_core.errors import InvalidInput, OperatorError

__all__ = [
    "AUDIT_FLOOR_S",
    "CUTOFF_SQL",
    "DAY_S",
    "PRUNE_CHUNK",
    "Bound",
    "Cutoffs",
    "PruneResult",
    "RetentionRules",
    "cutoffs",
    "keep_pruning",
]

log = logging.getLogger(__name__)

DAY_S = 86400.0
#: Audit records younger than this are never pruned: the longest rate-limit window.
AUDIT_FLOOR_S = 7 * DAY_S
#: Rows deleted (and exported) per transaction.
PRUNE_CHUNK = 5000


class RetentionRules(BaseModel):
    """The policy's ``[retention]`` section: each store's bounds and how often to apply them."""

    model_config = ConfigDict(extra="forbid")

    audit_max_age_days: float = Field(default=30.0, ge=0, le=36500)
    audit_max_rows: int = Field(default=0, ge=0, le=10**9)
    history_max_age_days: float = Field(default=7.0, ge=0, le=36500)
    history_max_rows: int = Field(default=1_000_000, ge=0, le=10**9)
    prune_every_s: float = Field(default=3600.0, ge=60, le=7 * DAY_S)

    @field_validator("audit_max_age_days")
    @classmethod
    def _not_under_the_floor(cls, value: float) -> float:
        """An audit age bound under the rate-limit floor would lie: say so at load time."""
        if 0 < value * DAY_S < AUDIT_FLOOR_S:
            raise ValueError(
                "must be 0 (keep forever) or at least 7 days: rate limits count the "
                "records of the last 7 days"
            )
        return value

    def audit(self) -> Bound:
        """Return the audit trail's bound."""
        return Bound.of(self.audit_max_age_days * DAY_S, self.audit_max_rows)

    def history(self) -> Bound:
        """Return the event history's bound."""
        return Bound.of(self.history_max_age_days * DAY_S, self.history_max_rows)


@dataclass(frozen=True)
class Bound:
    """A store's bound: rows older than ``max_age_s`` go, and those beyond ``max_rows``."""

    max_age_s: float | None = None
    max_rows: int | None = None

    @classmethod
    def of(cls, max_age_s: float | None, max_rows: int | None) -> Bound:
        """Return a bound, 0 or None meaning no bound; InvalidInput for a negative one."""
        for value, what in ((max_age_s, "max age"), (max_rows, "max rows")):
            if value is not None and (isinstance(value, bool) or value < 0):
                raise InvalidInput(f"a retention {what} cannot be negative, got {value!r}")
        return cls(max_age_s or None, max_rows or None)

    def describe(self) -> str:
        """Return the bound for people: 'older than 7d, beyond 1000000 rows'."""
        parts = []
        if self.max_age_s is not None:
            unit, size = next(
                (u, n)
                for u, n in (("d", DAY_S), ("h", 3600.0), ("m", 60.0), ("s", 1.0))
                if self.max_age_s >= n or u == "s"
            )
            parts.append(f"older than {self.max_age_s / size:g}{unit}")
        if self.max_rows is not None:
            parts.append(f"beyond {self.max_rows} rows")
        return ", ".join(parts) or "none (keep forever)"


class PruneResult(TypedDict):
    """What one pruning of one store did."""

    store: Literal["audit", "history"]
    path: str
    bound: str
    removed: int
    kept: int
    exported: str | None


#: Stands for "no bound" in a cutoff: before every row, or after every row.
NEVER, ALWAYS = -1e300, 1e300


#: Which rows go, as SQL over a time column ``{t}`` with ``Cutoffs.params``' parameters.
CUTOFF_SQL = "({t} < ? OR {t} <= ?) AND {t} < ?"


@dataclass(frozen=True)
class Cutoffs:
    """Which rows go: ``(t < age OR t <= rows) AND t < floor``, ``t`` a row's time.

    ``age`` and ``floor`` are in seconds; ``rows`` is already in the time column's unit
    (the store read it from the column, and a nanosecond time does not survive a float).
    """

    age: float = NEVER
    rows: float = NEVER
    floor: float = ALWAYS

    def params(self, scale: float = 1.0) -> tuple[float, float, float]:
        """Return the parameters of ``CUTOFF_SQL``, in the column's unit (``scale`` per s)."""

        def at(value: float) -> float:
            return value if abs(value) >= ALWAYS else value * scale

        return (at(self.age), self.rows, at(self.floor))


def cutoffs(now: float, bound: Bound, nth_newest: float | None, floor_s: float = 0.0) -> Cutoffs:
    """Return the cutoffs of ``bound`` at ``now`` (seconds).

    ``nth_newest`` is the time (in the column's unit) of the newest row past ``max_rows``
    (the row at offset ``max_rows``, newest first), None when there are no more rows.
    Rows younger than ``floor_s`` stay whatever the bounds say.
    """
    return Cutoffs(
        age=NEVER if bound.max_age_s is None else now - bound.max_age_s,
        rows=NEVER if bound.max_rows is None or nth_newest is None else nth_newest,
        floor=now - floor_s if floor_s else ALWAYS,
    )


async def keep_pruning(
    prunes: Sequence[Callable[[], Awaitable[PruneResult]]],
    every_s: float,
    *,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Run each prune now and every ``every_s`` seconds, forever (until cancelled).

    A store that cannot be pruned this time (locked, its disk gone) is logged and tried
    again next time; a bug in our own code is not caught.
    """
    while True:
        for prune in prunes:
            try:
                done = await prune()
            except OperatorError as exc:
                log.warning("retention: pruning failed, trying again later: %s", exc)
                continue
            if done["removed"]:
                log.info(
                    "retention: %s pruned %d rows (%s), %d kept",
                    done["path"],
                    done["removed"],
                    done["bound"],
                    done["kept"],
                )
        await sleep(every_s)
