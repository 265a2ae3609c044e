"""The safety policy: what an agent may do to which containers, how often, with whose yes.

``Policy`` is the configuration (``load_policy`` reads TOML, ``policy_from_dict`` a dict;
``Policy(...)`` builds one in code); ``Guard`` applies it to tool calls.
"""

from operator_core.policy.alert_rules import AlertSink
from operator_core.policy.concurrency import ActionGate
from operator_core.policy.guard import AUTO, ApprovalRequest, Approver, AutoDetect, Guard
from operator_core.policy.heal_rules import DEFAULT_HEAL_LABEL
from operator_core.policy.limits import RateLimiter
from operator_core.policy.matching import Verdict, has_label
from operator_core.policy.model import (
    ApprovalRules,
    HealRules,
    HostPolicy,
    Policy,
    ProtectedContainers,
    RateLimit,
    Scope,
    load_policy,
    policy_from_dict,
)
from operator_core.policy.self_container import detect_own_container_ids
from operator_core.policy.target import Target, TargetFacts, TargetKind, TargetSummary

__all__ = [
    "AUTO",
    "DEFAULT_HEAL_LABEL",
    "ActionGate",
    "AlertSink",
    "ApprovalRequest",
    "ApprovalRules",
    "Approver",
    "AutoDetect",
    "Guard",
    "HealRules",
    "HostPolicy",
    "Policy",
    "ProtectedContainers",
    "RateLimit",
    "RateLimiter",
    "Scope",
    "Target",
    "TargetFacts",
    "TargetKind",
    "TargetSummary",
    "Verdict",
    "detect_own_container_ids",
    "has_label",
    "load_policy",
    "policy_from_dict",
]
