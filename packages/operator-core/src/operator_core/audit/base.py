"""What every audit sink does, the query filter they share, and the in-memory sink."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NamedTuple, Protocol, TypeVar, runtime_checkable

from operator_core.audit.record import AuditRecord, to_epoch

__all__ = [
    "MIN_ID_PREFIX",
    "AdmittingSink",
    "AuditQuery",
    "AuditSink",
    "Filter",
    "FilterValue",
    "MemoryAuditSink",
    "Moment",
    "TrailEntry",
    "is_container",
    "passes",
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
    ``id`` selects one record by its id, ``id_prefix`` those whose id starts so.
    ``host`` keeps the calls that went to that fleet host.
    """

    since: Moment | None = None
    until: Moment | None = None
    container: str | None = None
    tool: str | None = None
    tools: Collection[str] | None = None
    outcome: str | None = None
    decision: str | None = None
    actor: str | None = None
    host: str | None = None
    limit: int | None = 1000
    id: str | None = None
    id_prefix: str | None = None

    def filters(self) -> list[Filter]:
        """Return the query's filters, the one definition of them that every sink applies.

        Memory and JSONL sinks evaluate them in Python (``passes``); the SQLite sink turns
        each into SQL, its ``container`` filter calling ``is_container`` itself.
        """
        filters = [
            Filter("ts", "min", None if self.since is None else to_epoch(self.since)),
            Filter("ts", "max", None if self.until is None else to_epoch(self.until)),
            Filter("container", "container", self.container),
            Filter("tool", "in", None if self.tools is None else tuple(sorted(self.tools))),
            Filter("tool", "eq", self.tool),
            Filter("outcome", "eq", self.outcome),
            Filter("decision", "eq", self.decision),
            Filter("actor", "eq", self.actor),
            Filter("id", "eq", self.id),
            Filter("id", "prefix", self.id_prefix),
            Filter("host", "eq", self.host),
        ]
        return [rule for rule in filters if rule.value is not None]

    def matches(self, record: AuditRecord) -> bool:
        """Whether ``record`` passes every filter."""
        return all(passes(record, rule) for rule in self.filters())


FilterOp = Literal["min", "max", "eq", "in", "prefix", "container"]
#: What a filter compares with: a time (epoch seconds), a text, the texts of ``in``; None:
#: not given (the query leaves such a filter out).
FilterValue = float | str | tuple[str, ...] | None


@dataclass(frozen=True)
class Filter:
    """One filter of a query: ``field`` of a record compared by ``op`` with ``value``."""

    field: str
    op: FilterOp
    value: FilterValue

    def operands(self) -> list[float | str]:
        """Return what the filter compares with, as a list (``in``: each text)."""
        if self.value is None:
            return []
        return list(self.value) if isinstance(self.value, tuple) else [self.value]


def passes(record: AuditRecord, rule: Filter) -> bool:
    """Whether ``record`` passes ``rule``."""
    value = rule.value
    if rule.op == "container" and isinstance(value, str):
        return is_container(value, record.container, record.container_name, record.container_id)
    have: object = getattr(record, rule.field)
    if rule.op == "in":
        return have in rule.operands()
    if have is None:
        return False
    if rule.op in ("min", "max") and isinstance(have, float) and isinstance(value, float):
        return have >= value if rule.op == "min" else have <= value
    if rule.op == "prefix" and isinstance(have, str) and isinstance(value, str):
        return have.startswith(value)
    if rule.op == "eq":
        return have == value
    raise AssertionError(f"audit filter {rule} does not fit the field it filters")


#: The shortest id prefix that selects a container (shorter ones are names or nothing).
MIN_ID_PREFIX = 6


def is_container(
    ref: str, container: str | None, container_name: str | None, container_id: str | None
) -> bool:
    """Whether a record concerns container ``ref``: its reference, name, id or id prefix."""
    if ref in (container, container_name, container_id):
        return True
    return bool(container_id and len(ref) >= MIN_ID_PREFIX and container_id.startswith(ref))


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
    """One recorded call as ``AdmittingSink.admit`` hands it to its judge.

    ``key`` is the key rate limits count by: the record's ``target_key`` (the engine's or
    swarm's ID and the object's), else for an older record the id, or ``id@host`` in a
    fleet (``policy.target.target_key``).
    """

    tool: str
    key: str | None
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
