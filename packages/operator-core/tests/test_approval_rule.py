"""One rule says which calls need approval; the runner and `operator policy show` both use it.

A scale or a rollback to 0 replicas needs approval whatever the tool's own setting, so
the display must not say a tool needs none when some call of it does (issue 20).
"""

from __future__ import annotations

from typing import Any

import pytest

from operator_core.cli.commands.policy import policy_summary
from operator_core.errors import PolicyError
from operator_core.policy import Guard, Policy, policy_from_dict
from operator_core.policy.approval import ALWAYS, approval_of, call_needs_approval
from operator_core.policy.swarm_rules import SwarmRules
from operator_core.policy.target import TargetFacts
from operator_core.tools import TOOLS, get_tool

EXECUTE_NO_RISK = {"mode": "execute", "approval": {"risks": []}}


def _shown(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Return `policy show`'s row per tool for the policy ``data``."""
    return {row["tool"]: row for row in policy_summary(policy_from_dict(data), "t")["tools"]}


def test_policy_show_says_a_scale_needs_approval_and_when():
    """docker_scale_service shows needs_approval=True (a scale to 0 is asked), with the call."""
    row = _shown(EXECUTE_NO_RISK)["docker_scale_service"]
    assert row["needs_approval"] is True
    assert row["approval"] == "a scale to 0 replicas"
    rollback = _shown(EXECUTE_NO_RISK)["docker_rollback_service"]
    assert rollback["needs_approval"] is True
    assert _shown(EXECUTE_NO_RISK)["docker_restart_container"]["needs_approval"] is False


def test_a_tool_shown_as_needing_no_approval_has_no_call_that_needs_it():
    """For each tool policy show says needs none of, no call (replicas 0 or not) is asked."""
    policy = policy_from_dict(EXECUTE_NO_RISK)
    shown = _shown(EXECUTE_NO_RISK)
    service = TargetFacts.of("service", "s1", "web", None, replicas=3, previous_replicas=0)
    for spec in TOOLS:
        if shown[spec.name]["needs_approval"]:
            continue
        for arguments in ({}, {"replicas": 0}, {"replicas": 2}, {"availability": "drain"}):
            asked = call_needs_approval(policy, spec, arguments, service)
            assert not asked, (spec.name, arguments)


def test_the_runner_and_the_display_read_one_table():
    """A scale to 3 is not asked, to 0 is; a tool approved always says ALWAYS in both."""
    policy = policy_from_dict(EXECUTE_NO_RISK)
    scale = get_tool("docker_scale_service")
    assert call_needs_approval(policy, scale, {"replicas": 0}) is True
    assert call_needs_approval(policy, scale, {"replicas": 3}) is False
    strict = policy_from_dict({"mode": "execute", "approval": {"tools": {scale.name: True}}})
    assert approval_of(strict, scale) == ALWAYS
    assert call_needs_approval(strict, scale, {"replicas": 3}) is True
    assert Guard(strict, own_container_id=None).needs_approval(scale) is True


def test_a_drain_is_shown_as_asked_only_when_the_swarm_rules_ask():
    """With risks [] a drain needs approval only under drain_protected = "approval"."""
    drain = "docker_set_node_availability"
    assert _shown(EXECUTE_NO_RISK)[drain]["needs_approval"] is False
    asking = {**EXECUTE_NO_RISK, "swarm": {"drain_protected": "approval"}}
    assert _shown(asking)[drain]["approval"] == "a drain that moves a protected service's tasks"


@pytest.mark.parametrize(
    ("build", "words"),
    [
        (lambda: SwarmRules(min_replicas=-1), "min_replicas"),
        (lambda: SwarmRules(max_replicas=1, min_replicas=2), "below min_replicas"),
        (lambda: SwarmRules(protected_services={"labels": ["=x"]}), "needs a key"),
        (lambda: Policy(swarm={"min_replicas": -1}), "swarm.min_replicas"),
    ],
)
def test_swarm_rules_built_in_code_raise_policy_error(build, words):
    """SwarmRules(...) with a bad value raises PolicyError naming it, not ValidationError."""
    with pytest.raises(PolicyError) as caught:
        build()
    assert words in str(caught.value)


def test_a_nested_fault_is_reported_once_at_its_full_location():
    """A bad nested table is one line at its dotted location, with the other faults."""
    with pytest.raises(PolicyError) as caught:
        policy_from_dict({"swarm": {"min_replicas": -1}, "mode": "never"})
    text = str(caught.value)
    assert "(2 problem(s))" in text
    assert "  - swarm.min_replicas:" in text
    assert "SwarmRules(...)" not in text


def test_an_alert_sink_built_in_code_never_quotes_its_secret_url():
    """AlertSink(...) raises PolicyError without the url it was given (hide_input_in_errors)."""
    from operator_core.policy import AlertSink

    secret = "https://hooks.slack.com/services/T000/B000/XXXXSECRETXXXX"  # noqa: S105
    with pytest.raises(PolicyError) as caught:
        AlertSink(kind="slack", url=secret, timeout_s="slow")
    assert "SECRET" not in str(caught.value)
