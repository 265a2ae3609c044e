"""The ``[heal]`` section of a policy, as a model: what ``operator watch --heal`` may do.

A section looks like this (every key optional; the defaults are the safe ones)::

    [heal]
    restart_unhealthy = true      # act at all (default false)
    preapproved = true            # the healer's own restarts need no approval (default false)
    require_labels = ["org.operator-core.autoheal=true"]   # containers opt in (the default)
    grace_s = 30                  # unhealthy this long before the first restart
    max_attempts = 3              # failed heals within window_s, then escalate
    window_s = 3600
    max_restarts = 3              # restarts of one container within restart_window_s, at most
    restart_window_s = 600
    flap_window_s = 120           # healthy, then unhealthy again this soon: the heal failed
    lease_s = 120                 # how long a heal's lease lasts unless renewed
"""

from __future__ import annotations

from pydantic import ConfigDict, Field, field_validator

from operator_core.policy._strict import Strict

__all__ = ["DEFAULT_HEAL_LABEL", "HealRules"]

#: The label a container carries to opt in to healing: the project's own, never
#: ``autoheal=true`` (willfarrell/autoheal's), so two different healers never share one.
DEFAULT_HEAL_LABEL = "org.operator-core.autoheal=true"


def _default_labels() -> list[str]:
    return [DEFAULT_HEAL_LABEL]


class HealRules(Strict):
    """The ``[heal]`` section: what ``operator watch --heal`` may do about incidents.

    With ``restart_unhealthy`` a container that carries every ``require_labels`` label
    (default ``org.operator-core.autoheal=true``: containers opt in) and stays unhealthy
    for longer than ``grace_s`` is restarted (``stop_grace_s`` between its stop signal and
    SIGKILL) and then waited on until healthy, for up to ``confirm_timeout_s``. A heal that
    does not bring it back, or whose container turns unhealthy again within
    ``flap_window_s`` of being healthy (flapping), is a failed heal: tried again after
    ``backoff_s``, doubling up to ``backoff_max_s``; after ``max_attempts`` failed heals
    within ``window_s``, or once ``max_restarts`` restarts within ``restart_window_s`` are
    spent, the healer stops acting on that container (an escalation, kept in the watch's
    store until a person clears it), records why in the audit trail and reports it.

    ``preapproved`` says whether the healer's own restarts are approved in advance (they
    need no yes from a person even where ``[approval]`` would ask); it covers nothing
    else. A heal holds a lease on its container (``lease_s``, renewed while it runs) in
    the shared store, so two watches never heal one container. Every restart goes through
    the policy like any other call (mode, protection, scope, rate limits, audit).
    """

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    restart_unhealthy: bool = False
    preapproved: bool = False
    require_labels: list[str] = Field(default_factory=_default_labels)
    grace_s: float = Field(default=30.0, ge=0, le=3600)
    stop_grace_s: int = Field(default=10, ge=0, le=3600)
    confirm_timeout_s: float = Field(default=60.0, gt=0, le=1800)
    backoff_s: float = Field(default=10.0, gt=0, le=3600)
    backoff_max_s: float = Field(default=600.0, gt=0, le=86400)
    max_attempts: int = Field(default=3, ge=1, le=100)
    window_s: float = Field(default=3600.0, gt=0, le=7 * 86400)
    max_restarts: int = Field(default=3, ge=1, le=1000)
    restart_window_s: float = Field(default=600.0, gt=0, le=7 * 86400)
    flap_window_s: float = Field(default=120.0, ge=0, le=86400)
    lease_s: float = Field(default=120.0, ge=5, le=3600)

    @field_validator("require_labels")
    @classmethod
    def _labels(cls, values: list[str]) -> list[str]:
        """Refuse labels that are not ``key`` or ``key=value`` (as ``[scope]`` does)."""
        for text in values:
            key = text.partition("=")[0]
            if not key.strip() or key != key.strip():
                raise ValueError(f"label {text!r} needs a key: write 'key' or 'key=value'")
        return values
