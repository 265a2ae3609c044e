"""The swarm policy's rules pinned at their edges: protection by id, replica bounds, managers.

Each denial's rule, message and details are pinned whole, and each match at its limit
(an id prefix of exactly 12 characters matches, 11 does not).
"""

from __future__ import annotations

import pytest

from operator_core.policy.swarm import SwarmRules, swarm_call_verdict, swarm_protection
from operator_core.policy.target import TargetFacts

SID = "abcdef0123456789" * 4
WEB = TargetFacts.of("service", SID, "web", labels={"tier": "db"}, status="completed", replicas=3)
NODE = TargetFacts.of("node", SID, "eng1", status="active", role="manager")


def test_a_service_and_a_node_summarise_what_the_policy_judged():
    """A service shows its replicas, a node its role; neither has a health."""
    assert WEB.summary() == {
        "kind": "service",
        "id": SID,
        "short_id": SID[:12],
        "name": "web",
        "status": "completed",
        "replicas": 3,
    }
    assert NODE.summary() == {
        "kind": "node",
        "id": SID,
        "short_id": SID[:12],
        "name": "eng1",
        "status": "active",
        "role": "manager",
    }


@pytest.mark.parametrize(
    ("names", "protected"),
    [
        (["web"], True),
        ([SID], True),
        ([SID[:12]], True),
        ([SID[:12].upper()], True),  # ids compare in any case
        ([SID[:11]], False),  # too short to be an id: could be anyone's
        (["we"], False),
        (["abcdef"], False),  # a short name that begins the id is no match
    ],
)
def test_a_service_is_protected_by_its_name_or_an_id_of_twelve_or_more(names, protected):
    """Names match exactly; ids match whole or by a prefix of at least 12 characters."""
    rules = SwarmRules(protected_services={"names": names})
    verdict = swarm_protection(rules, WEB)
    assert (verdict is not None) is protected
    if verdict is not None:
        assert (verdict.rule, verdict.message) == (
            "swarm.protected_services.names",
            f"service 'web' ({SID[:12]}) is protected by name ({names[0]!r})",
        )


def test_protection_by_pattern_and_label_says_which():
    """A pattern or a label protects too, and the message names the one that matched."""
    by_pattern = swarm_protection(SwarmRules(protected_services={"patterns": ["w*"]}), WEB)
    assert by_pattern is not None
    assert (by_pattern.rule, by_pattern.message) == (
        "swarm.protected_services.patterns",
        f"service 'web' ({SID[:12]}) is protected by pattern 'w*'",
    )
    by_label = swarm_protection(SwarmRules(protected_nodes={"labels": ["keep"]}), NODE)
    assert by_label is None  # the node has no label 'keep'
    node = TargetFacts.of("node", SID, "eng1", labels={"keep": ""}, role="worker")
    verdict = swarm_protection(SwarmRules(protected_nodes={"labels": ["keep"]}), node)
    assert verdict is not None
    assert (verdict.rule, verdict.message) == (
        "swarm.protected_nodes.labels",
        f"node 'eng1' ({SID[:12]}) is protected by label 'keep'",
    )


@pytest.mark.parametrize(
    ("arguments", "rule", "message", "details"),
    [
        (
            {"replicas": 0},
            "swarm.min_replicas",
            "scaling service 'web' (abcdef012345) to 0 is below the policy's min_replicas (1); "
            "it was not scaled",
            {"replicas": 0, "min_replicas": 1},
        ),
        (
            {},  # no count given is a scale to 0
            "swarm.min_replicas",
            "scaling service 'web' (abcdef012345) to 0 is below the policy's min_replicas (1); "
            "it was not scaled",
            {"replicas": 0, "min_replicas": 1},
        ),
        (
            {"replicas": 6},
            "swarm.max_replicas",
            "scaling service 'web' (abcdef012345) to 6 is above the policy's max_replicas (5); "
            "it was not scaled",
            {"replicas": 6, "max_replicas": 5},
        ),
    ],
)
def test_a_scale_outside_the_bounds_is_refused_with_them(arguments, rule, message, details):
    """A scale below min_replicas or above max_replicas: refused, both numbers given."""
    rules = SwarmRules(min_replicas=1, max_replicas=5)
    verdict = swarm_call_verdict(rules, "scale_service", arguments, WEB)
    assert verdict is not None
    assert (verdict.rule, verdict.message, verdict.details) == (rule, message, details)


@pytest.mark.parametrize("replicas", [1, 5])
def test_a_scale_at_a_bound_is_allowed(replicas):
    """Both bounds are inclusive."""
    rules = SwarmRules(min_replicas=1, max_replicas=5)
    assert swarm_call_verdict(rules, "scale_service", {"replicas": replicas}, WEB) is None


@pytest.mark.parametrize("availability", ["drain", "pause"])
def test_a_manager_is_not_drained_or_paused_under_protect_managers(availability):
    """Draining or pausing a manager is refused, saying why and how to allow it."""
    verdict = swarm_call_verdict(
        SwarmRules(), "set_node_availability", {"availability": availability}, NODE
    )
    assert verdict is not None
    assert (verdict.rule, verdict.details) == (
        "swarm.protect_managers",
        {"availability": availability},
    )
    assert verdict.message == (
        f"node 'eng1' ({SID[:12]}) is a swarm manager, and the policy protects managers "
        f"from {availability}: the cluster's control plane would lose capacity; nothing "
        "was changed. Ask a person, or set protect_managers = false in [swarm]."
    )


def test_a_worker_or_an_activation_or_protect_managers_off_is_not_refused():
    """Only taking capacity from a manager under protect_managers is refused."""
    worker = TargetFacts.of("node", SID, "eng2", role="worker")
    drain = {"availability": "drain"}
    assert swarm_call_verdict(SwarmRules(), "set_node_availability", drain, worker) is None
    active = {"availability": "active"}
    assert swarm_call_verdict(SwarmRules(), "set_node_availability", active, NODE) is None
    off = SwarmRules(protect_managers=False)
    assert swarm_call_verdict(off, "set_node_availability", drain, NODE) is None
