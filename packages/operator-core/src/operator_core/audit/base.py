"""What every audit sink does, the query filter they share, and the in-memory sink."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple, Protocol, TypeVar, runtime_checkable

from operator_core.audit.record import AuditRecord, to_epoch

__all__ = [
    "AdmittingSink",
    "AuditQuery",
    "AuditSink",
    "MemoryAuditSink",
    "Moment",
    "TrailEntry",
    "select",
]

Moment = float | int | str | datetime
V = TypeVar("V")


@dataclass(frozen=True)
class AuditQuery:
    """Filters for reading the trail; every one given must match. Newest first.

    ``container`` matches the reference the agent gave, the resolved name, the full id
    or a prefix of it. ``since``/``until`` take epoch seconds, datetimes or ISO strings.
    ``tools`` keeps records of any of the tools named (``tool``: of that one tool).
    """

    since: Moment | None = None
    until: Moment | None = None
    container: str | None = None
    tool: str | None = None
    tools: Collection[str] | None = None
    outcome: str | None = None
    decision: str | None = None
    actor: str | None = None
    limit: int | None = 1000

    def matches(self, record: AuditRecord) -> bool:
        """Whether ``record`` passes every filter."""
        return (
            (self.since is None or record.ts >= to_epoch(self.since))
            and (self.until is None or record.ts <= to_epoch(self.until))
            and (self.container is None or _is_container(record, self.container))
            and (self.tools is None or record.tool in self.tools)
            and all(
                wanted is None or getattr(record, field) == wanted
                for field, wanted in (
                    ("tool", self.tool),
                    ("outcome", self.outcome),
                    ("decision", self.decision),
                    ("actor", self.actor),
                )
            )
        )


def _is_container(record: AuditRecord, ref: str) -> bool:
    """Whether ``record`` concerns the container ``ref`` (name, reference, id or id prefix)."""
    if ref in (record.container, record.container_name, record.container_id):
        return True
    return bool(record.container_id and len(ref) >= 6 and record.container_id.startswith(ref))


def select(records: Iterable[AuditRecord], query: AuditQuery) -> list[AuditRecord]:
    """Return the records matching ``query``, newest first, at most ``query.limit``."""
    found = sorted((r for r in records if query.matches(r)), key=lambda r: r.ts, reverse=True)
    return found if query.limit is None else found[: query.limit]


class AuditSink(Protocol):
    """Where records go. ``write`` returns only once the record is durably stored."""

    async def write(self, record: AuditRecord) -> None:
        """Store ``record``, replacing an earlier one with the same id (pending → final)."""
        ...

    def query(self, query: AuditQuery | None = None) -> list[AuditRecord]:
        """Return the stored records matching ``query`` (default: the latest 1000)."""
        ...

    async def close(self) -> None:
        """Release files and threads; writing afterwards is an error."""
        ...


class TrailEntry(NamedTuple):
    """One recorded call as ``AdmittingSink.admit`` hands it to its judge."""

    tool: str
    container_id: str | None
    ts: float


@runtime_checkable
class AdmittingSink(Protocol):
    """A sink that can decide on a call and record it in one step no other writer splits."""

    async def admit(
        self,
        record: AuditRecord,
        recent: AuditQuery,
        judge: Callable[[list[TrailEntry]], V | None],
    ) -> V | None:
        """Store ``record`` unless ``judge`` objects to the entries ``recent`` selects.

        Other writers (other processes too) wait meanwhile, so two admissions never judge
        the same entries. Return what ``judge`` returned (None: ``record`` was stored).
        """
        ...


class MemoryAuditSink:
    """Keeps records in a dict: for tests and throwaway runs (nothing survives the process)."""

    def __init__(self) -> None:
        self._records: dict[str, AuditRecord] = {}

    async def write(self, record: AuditRecord) -> None:
        """Keep ``record`` (a later write with the same id replaces it)."""
        self._records[record.id] = record

    def query(self, query: AuditQuery | None = None) -> list[AuditRecord]:
        """Return the kept records matching ``query``."""
        return select(self._records.values(), query or AuditQuery())

    async def close(self) -> None:
        """Nothing to release."""
