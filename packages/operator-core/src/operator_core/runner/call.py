"""``Call``: what is known about one tool call as it goes, for its audit record."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from operator_core.audit.record import Decision, Outcome, new_record_id
from operator_core.policy.target import Target, TargetFacts
from operator_core.tools.spec import ToolSpec

__all__ = ["Call"]


@dataclass
class Call:
    """One tool call in flight: filled in step by step, then written to the audit trail."""

    tool: str
    raw: Any
    actor: str | None
    reason: str | None
    id: str = field(default_factory=new_record_id)
    started: float = 0.0
    wall: float = 0.0
    #: Wall-clock time a mutating action was admitted (after any approval), or None.
    #: The record's time is this once set: rate-limit windows count from it.
    admitted: float | None = None
    spec: ToolSpec | None = None
    args: dict[str, Any] | None = None
    facts: TargetFacts | None = None
    #: The fleet host the call acts on (None: not a fleet, or a list of every host).
    host: str | None = None
    decision: Decision = "invalid"
    outcome: Outcome = "failed"
    rule: str | None = None
    error: dict[str, Any] | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    resolved: dict[str, str] = field(default_factory=dict)
    #: The result excerpt to keep when the envelope has none (an action under way when
    #: the call was cancelled, which completed).
    result: dict[str, Any] | None = None
    #: Whether the final record was written already (a cancelled action's, under its lock).
    final_recorded: bool = False

    def target_reference(self) -> str | None:
        """Return the container reference the agent gave, if the tool takes one."""
        target = self.spec.target if self.spec else None
        args = self.args if self.args is not None else self.raw
        value = args.get(target) if isinstance(args, dict) and target else None
        # Only text is kept (cut short): anything else an agent sent may be of any depth.
        return value[:256] if isinstance(value, str) else None

    def read_target(self) -> Target | None:
        """Return the target a read result reported (``note_result``), or None."""
        found_id = self.resolved.get("id")
        if found_id is None or self.spec is None:
            return None
        return Target(self.spec.target_kind, found_id, self.resolved.get("name", ""), self.host)

    def note_result(self, result: Any) -> None:
        """Remember the container id and name a read result reports (inspect, logs, wait)."""
        if not isinstance(result, dict):
            return
        found_id = result.get("id") or result.get("container_id")
        if isinstance(found_id, str):
            self.resolved["id"] = found_id
        if isinstance(result.get("name"), str):
            self.resolved["name"] = result["name"]
