"""The ``[swarm]`` section of a policy, as a model (see ``operator_core.policy.swarm``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from operator_core.limits import MAX_REPLICAS
from operator_core.policy._strict import Strict, parse_label

__all__ = ["ProtectedSwarmObjects", "SwarmRules"]


class ProtectedSwarmObjects(Strict):
    """Services (or nodes) no mutating tool may act on: by name or id, pattern or label."""

    names: list[str] = Field(default_factory=list)
    patterns: list[str] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)

    @field_validator("names", "patterns")
    @classmethod
    def _not_empty(cls, values: list[str]) -> list[str]:
        """Refuse empty names and patterns (they would match nothing, silently)."""
        if any(not value.strip() for value in values):
            raise ValueError("empty name or pattern")
        return values

    @field_validator("labels")
    @classmethod
    def _labels(cls, values: list[str]) -> list[str]:
        """Refuse labels that are not ``key`` or ``key=value``."""
        for text in values:
            parse_label(text)
        return values


class SwarmRules(Strict):
    """The ``[swarm]`` section: protected services and nodes, replica bounds, managers."""

    min_replicas: int = Field(default=0, ge=0, le=MAX_REPLICAS)
    max_replicas: int | None = Field(default=None, ge=0, le=MAX_REPLICAS)
    protect_managers: bool = True
    #: What a drain that would move a protected service's tasks gets: denied, or asked.
    drain_protected: Literal["deny", "approval"] = "deny"
    protected_services: ProtectedSwarmObjects = Field(default_factory=ProtectedSwarmObjects)
    protected_nodes: ProtectedSwarmObjects = Field(default_factory=ProtectedSwarmObjects)

    @model_validator(mode="after")
    def _ordered(self) -> SwarmRules:
        """Refuse a max_replicas below min_replicas (no scale could ever pass)."""
        if self.max_replicas is not None and self.max_replicas < self.min_replicas:
            raise ValueError(
                f"max_replicas ({self.max_replicas}) is below min_replicas ({self.min_replicas})"
            )
        return self
