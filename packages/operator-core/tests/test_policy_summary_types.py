"""``policy_summary`` is typed section by section (issue 20: every public result a TypedDict).

Each section of the summary is built field by field from its model; these tests fail
when a model gains a field the summary (and its TypedDict) does not show.
"""

from __future__ import annotations

import json

from pydantic import BaseModel

from operator_core.audit.retention import RetentionRules
from operator_core.cli.render.policy_summary import (
    ApprovalSummary,
    HealSummary,
    PolicySummary,
    ProtectedSummary,
    RateLimitSummary,
    RetentionSummary,
    ScopeSummary,
    SwarmSummary,
    policy_summary,
)
from operator_core.policy import policy_from_dict
from operator_core.policy.alert_rules import AlertSinkView
from operator_core.policy.heal_rules import HealRules
from operator_core.policy.model import ApprovalRules, ProtectedContainers, RateLimit, Scope
from operator_core.policy.swarm_rules import ProtectedSwarmObjects, SwarmRules

_FULL = {
    "mode": "execute",
    "protected": {"names": ["db"], "patterns": ["prod-*"], "labels": ["keep"]},
    "scope": {"require_labels": ["team=a"], "require_host_labels": ["zone"]},
    "approval": {"risks": ["high"], "tools": {"docker_stop_container": True}},
    "rate_limits": [{"max": 3, "window_s": 60, "tools": ["docker_restart_container"]}],
    "swarm": {"max_replicas": 9, "protected_services": {"names": ["gw"]}},
    "heal": {"restart_unhealthy": True},
    "alerts": {"ops": {"kind": "webhook", "url": "https://hooks.example/secret/path"}},
}

#: A section's TypedDict, and the models whose fields it shows.
_SECTIONS: list[tuple[type, tuple[type[BaseModel], ...]]] = [
    (ProtectedSummary, (ProtectedContainers, ProtectedSwarmObjects)),
    (ScopeSummary, (Scope,)),
    (ApprovalSummary, (ApprovalRules,)),
    (RateLimitSummary, (RateLimit,)),
    (SwarmSummary, (SwarmRules,)),
    (RetentionSummary, (RetentionRules,)),
    (HealSummary, (HealRules,)),
]


def test_each_section_shows_every_field_of_its_model():
    """A section's TypedDict has exactly its model's fields (a new rule is never left out)."""
    for typed, models in _SECTIONS:
        for model in models:
            assert set(typed.__annotations__) == set(model.model_fields), (typed, model)


def test_the_summary_is_what_the_models_dump():
    """Built field by field, the sections equal the models' own dumps, and are JSON."""
    policy = policy_from_dict(_FULL)
    summary = policy_summary(policy, "p.toml")
    for key in ("protected", "scope", "approval", "swarm", "retention", "heal"):
        assert summary[key] == getattr(policy, key).model_dump(), key
    assert summary["rate_limits"] == [limit.model_dump() for limit in policy.rate_limits]
    assert set(summary) <= set(PolicySummary.__annotations__)
    assert json.loads(json.dumps(summary)) == summary


def test_an_alert_sink_is_shown_without_its_secret_path():
    """``AlertSink.describe`` gives every key of ``AlertSinkView``, the URL's path hidden."""
    shown = policy_from_dict(_FULL).alerts["ops"].describe()
    assert set(shown) == set(AlertSinkView.__annotations__)
    assert "secret" not in json.dumps(shown)
