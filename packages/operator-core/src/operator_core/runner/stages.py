"""What each stage of a tool call decided: frozen records, kept in order in a ``Ledger``.

A call goes: begin → find the tool → validate → (mutating) resolve → judge → approve →
admit → act → end. Each stage returns a frozen record of what it decided; the runner
notes it in the call's ``Ledger``, which only ever grows. The audit record is built from
the ledger in one place (``runner.record.build_record``): nothing is set on a record
after it is built, and no default stands in for a decision not yet made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from operator_core.audit.record import Decision, Outcome, new_record_id
from operator_core.policy.target import Target, TargetFacts
from operator_core.tools.spec import ToolSpec

__all__ = [
    "Acted",
    "Admitted",
    "Approved",
    "Begun",
    "Ended",
    "Found",
    "Judged",
    "Ledger",
    "Read",
    "Resolved",
    "Stage",
    "Validated",
    "last",
]


@dataclass(frozen=True)
class Begun:
    """A call as it came in: its record id, what was asked, by whom, and when."""

    tool: str
    raw: Any
    actor: str | None
    reason: str | None
    #: The monotonic clock at the start (for the duration) and the wall clock (its time).
    started: float
    wall: float
    id: str = field(default_factory=new_record_id)


@dataclass(frozen=True)
class Found:
    """The tool the call names (the runner's spec of it)."""

    spec: ToolSpec


@dataclass(frozen=True)
class Validated:
    """The call's arguments as validated, and the fleet host it goes to (None: no fleet)."""

    args: dict[str, Any]
    host: str | None


@dataclass(frozen=True)
class Resolved:
    """The target as the engine has it: facts for the policy, state for the audit trail."""

    facts: TargetFacts
    before: dict[str, Any]


@dataclass(frozen=True)
class Judged:
    """What the policy decided (``undecided`` until it could), and the rule that said so."""

    decision: Decision
    rule: str | None = None


@dataclass(frozen=True)
class Approved:
    """The approver said yes."""

    rule: str = "approval.granted"


@dataclass(frozen=True)
class Admitted:
    """The action was counted against the rate limits at wall-clock time ``at``.

    The record's time is this: rate-limit windows count from when the action ran.
    """

    at: float


@dataclass(frozen=True)
class Acted:
    """The target's state read after the action (even when the action failed)."""

    after: dict[str, Any]


@dataclass(frozen=True)
class Read:
    """The container a read tool's result reported (inspect, logs, wait)."""

    target: Target


@dataclass(frozen=True)
class Ended:
    """How the call ended; ``result`` is the excerpt to keep when the envelope has none."""

    outcome: Outcome
    error: dict[str, Any] | None = None
    result: dict[str, Any] | None = None


Stage = Begun | Found | Validated | Resolved | Judged | Approved | Admitted | Acted | Read | Ended
S = TypeVar("S", Begun, Found, Validated, Resolved, Judged, Approved, Admitted, Acted, Read, Ended)


class Ledger:
    """The stage records of one call, in the order they were decided: it only grows."""

    def __init__(self, begun: Begun) -> None:
        self._entries: list[Stage] = [begun]

    @property
    def begun(self) -> Begun:
        """The call as it came in."""
        first = self._entries[0]
        assert isinstance(first, Begun)  # noqa: S101 - the constructor's argument
        return first

    @property
    def entries(self) -> tuple[Stage, ...]:
        """Every record so far, in order."""
        return tuple(self._entries)

    def note(self, entry: S) -> S:
        """Add what a stage decided; return it."""
        self._entries.append(entry)
        return entry

    def last(self, kind: type[S]) -> S | None:
        """Return the latest record of ``kind``, or None."""
        return last(self._entries, kind)


def last(entries: tuple[Stage, ...] | list[Stage], kind: type[S]) -> S | None:
    """Return the latest of ``entries`` of ``kind``, or None."""
    for entry in reversed(entries):
        if isinstance(entry, kind):
            return entry
    return None
