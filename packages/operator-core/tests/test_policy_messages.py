"""What the policy tells an agent, word for word: denial messages, details and facts.

An agent acts on these texts (what was refused, why, when to retry, whom to ask), and the
audit trail keeps them, so each is pinned whole rather than by a fragment.
"""

from __future__ import annotations

import pytest

from operator_core.policy import (
    ApprovalRequest,
    Guard,
    Policy,
    RateLimit,
    RateLimiter,
    TargetFacts,
)
from operator_core.policy.guard import AUTO
from operator_core.tools import get_tool
from tool_fakes import FakeClock

CID = "0123456789abcdef" * 4
WEB = TargetFacts.of(
    "container", CID, "web", labels={"tier": "db"}, status="running", health="healthy"
)
WEB_SUMMARY = {
    "kind": "container",
    "id": CID,
    "short_id": "0123456789ab",
    "name": "web",
    "status": "running",
    "health": "healthy",
}
RESTART = get_tool("docker_restart_container")


def _request(container: dict[str, str] | None = None) -> ApprovalRequest:
    """Return an approval request for a restart of ``container``."""
    return ApprovalRequest(
        tool=RESTART.name,
        risk="high",
        arguments={"container_id": "web"},
        summary=container,
        actor="agent",
        reason="unhealthy",
    )


def test_facts_are_read_whole_from_an_inspect_result():
    """Every fact the policy judges comes from the inspect result, the name without its '/'."""
    data = {
        "id": CID,
        "name": "/web",
        "image": "nginx:1",
        "labels": {"tier": "db"},
        "state": {"status": "running", "health": "healthy"},
    }
    facts = TargetFacts.from_inspect(data)
    assert facts == TargetFacts.of(
        "container",
        CID,
        "web",
        labels={"tier": "db"},
        status="running",
        health="healthy",
        image="nginx:1",
    )
    assert facts.summary() == WEB_SUMMARY
    bare = TargetFacts.from_inspect({"id": CID})
    assert (bare.name, bare.labels, bare.status) == ("", {}, None)
    assert (bare.health, bare.image) == (None, None)


def test_observe_mode_denial_says_what_to_do_instead():
    """In observe mode the agent is told what ran, what did not, and what it may do."""
    verdict = Guard(Policy(), own_container_id=None).check_mode(RESTART)
    assert verdict is not None
    assert (verdict.rule, verdict.details) == ("mode.observe", {"section": 'mode = "observe"'})
    assert verdict.message == (
        "the policy is in observe mode: only read-only tools run, and docker_restart_container "
        "changes containers, so it was not run. Use read-only tools (list, inspect, logs, "
        "wait) and report what you would do; a person can switch the policy to execute mode."
    )


@pytest.mark.parametrize(
    ("protected", "rule", "why"),
    [
        ({"names": ["web"]}, "protected.names", "is protected by name ('web')"),
        ({"patterns": ["w*"]}, "protected.patterns", "is protected by pattern 'w*'"),
        ({"labels": ["tier=db"]}, "protected.labels", "is protected by label 'tier=db'"),
    ],
)
def test_protection_denial_names_the_container_the_rule_and_the_advice(protected, rule, why):
    """A protected container's denial names it (short id), the rule that matched, the advice."""
    guard = Guard(Policy(mode="execute", protected=protected), own_container_id=None)
    verdict = guard.check_target(WEB)
    assert verdict is not None
    assert verdict.rule == rule
    assert verdict.message == (
        f"container 'web' (0123456789ab) {why}; the policy lets no tool change it, so "
        "nothing was done. Leave this container alone or ask a person."
    )
    assert verdict.details == {"target": WEB_SUMMARY}


def test_own_container_and_scope_denials_say_why():
    """The operator's own container, and one lacking the opt-in labels, are refused with why."""
    own = Guard(Policy(mode="execute"), own_container_id=CID[:12]).check_target(WEB)
    assert own is not None
    assert own.rule == "protected.self"
    assert own.message.startswith(
        "container 'web' (0123456789ab) is the operator's own container; it never acts on itself; "
    )
    scoped = Policy(mode="execute", scope={"require_labels": ["autoheal=true", "tier=db"]})
    verdict = Guard(scoped, own_container_id=None).check_target(WEB)
    assert verdict is not None
    assert verdict.rule == "scope.require_labels"
    assert verdict.message.startswith(
        "container 'web' (0123456789ab) is outside the policy's scope: it lacks the "
        "label(s) 'autoheal=true' that opt a container in; "
    )


def test_no_own_container_when_self_protection_is_off():
    """protect_self = false: the own container is not protected and /proc is never read."""
    guard = Guard(Policy(mode="execute", protect_self=False), own_container_id=AUTO)
    assert guard.own_container_ids == frozenset()
    assert guard.check_target(WEB) is None


@pytest.mark.parametrize(
    ("limit", "words"),
    [
        (
            RateLimit(
                tools=["docker_restart_container", "docker_stop_container"], max=2, window_s=90
            ),
            "at most 2 action(s) of docker_restart_container, docker_stop_container on "
            "container 0123456789ab per 90s",
        ),
        (
            RateLimit(per="all", max=2, window_s=0.5),
            "at most 2 action(s) of any mutating tool overall per 0.5s",
        ),
    ],
)
def test_rate_limit_denial_says_what_ran_and_when_to_retry(limit, words):
    """A full limit: which limit, how many ran, that this tool did not, and when to retry."""
    clock = FakeClock()
    limiter = RateLimiter([limit], clock)
    for _ in range(2):
        assert limiter.acquire("docker_restart_container", CID) is None
    clock.advance(0.25)
    verdict = limiter.check("docker_restart_container", CID)
    assert verdict is not None
    assert verdict.rule == "rate_limits[0]"
    retry = 90 if limit.per == "container" else 1  # whole seconds, at least 1
    assert verdict.message == (
        f"rate limit reached: {words}, and that many already ran; docker_restart_container "
        f"was not run. The next is allowed in {retry}s. If a container keeps failing, report "
        "it to a person instead of retrying."
    )
    assert verdict.details == {
        "max": 2,
        "window_s": limit.window_s,
        "per": limit.per,
        "tools": limit.tools,
        "retry_after_s": retry,
    }


def test_guard_rate_denial_carries_the_container():
    """The runner's rate check adds the container's summary to the limit's details."""
    guard = Guard(
        Policy(mode="execute", rate_limits=[{"max": 1, "window_s": 60}]), own_container_id=None
    )
    assert guard.take_rate(RESTART, WEB) is None
    verdict = guard.check_rate(RESTART, WEB)
    assert verdict is not None
    assert verdict.details["target"] == WEB_SUMMARY
    assert verdict.details["retry_after_s"] == 60
    assert verdict.message.startswith("rate limit reached: at most 1 action(s)")


async def test_approval_denials_say_what_was_not_run_and_why():
    """Declined, timed out, failing and unavailable approvals each say so, naming the call."""

    async def no(request):
        return False

    async def broken(request):
        raise RuntimeError("boom")

    declined = await Guard(Policy(), approver=no, own_container_id=None).approve(
        RESTART, _request({"name": "web"})
    )
    assert declined is not None
    assert declined.message == (
        "the approver declined docker_restart_container on container 'web'; it was not run. "
        "Do not retry it without new information."
    )
    failed = await Guard(Policy(), approver=broken, own_container_id=None).approve(
        RESTART, _request()
    )
    assert failed is not None
    assert failed.message == (
        "the approver failed (RuntimeError) on docker_restart_container; it was not run"
    )
    nobody = await Guard(Policy(), own_container_id=None).approve(RESTART, _request())
    assert nobody is not None
    assert nobody.message == (
        "docker_restart_container (high risk) needs approval under the policy, but nobody "
        "can be asked: no approver is configured. It was not run; do not retry it unchanged. "
        "Tell a person what you would run and why: they can run it themselves, or waive "
        "approval for this tool in the policy's [approval] section."
    )


async def test_approval_timeout_says_how_long_it_waited():
    """An approver that does not answer in time: denied, the wait in the message."""
    import asyncio

    async def silent(request):
        await asyncio.Event().wait()
        return True

    policy = Policy(approval={"timeout_s": 0.05})
    verdict = await Guard(policy, approver=silent, own_container_id=None).approve(
        RESTART, _request({"name": "web"})
    )
    assert verdict is not None
    assert (verdict.rule, verdict.message) == (
        "approval.timeout",
        "no approval for docker_restart_container on container 'web' within 0.05s; it was not run",
    )


def test_auto_reads_as_auto():
    """The AUTO marker shows as AUTO in signatures and reprs."""
    assert repr(AUTO) == "AUTO"


def test_an_invalid_policy_lists_every_fault_where_what_and_given():
    """One line per fault: its place (dotted, [i] for items), what is wrong, what was given.

    Values are quoted when short (scalars, lists up to 80 characters), never for a missing
    or unknown key; pydantic's "Value error, " prefix is dropped.
    """
    from operator_core.errors import PolicyError
    from operator_core.policy import policy_from_dict
    from operator_core.tools.registry import REGISTRY

    long = ["docker_inspect_container", "docker_list_containers", "docker_get_container_logs"]
    data = {
        "mode": "exec",
        "mood": 1,
        "approval": {"risks": ["hgh"], "tools": {"docker_stopp": True}},
        "rate_limits": [
            {"max": 3},
            {"max": 3, "window_s": 60, "tools": long},
            {"max": 3, "window_s": 60, "tools": ["docker_inspect_container"]},
        ],
    }
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(data, "p.toml")
    assert str(caught.value).splitlines() == [
        "p.toml: invalid policy (7 problem(s)):",
        "  - mode: Input should be 'observe' or 'execute' (got 'exec')",
        "  - approval.risks[0]: Input should be 'low', 'medium' or 'high' (got 'hgh')",
        f"  - approval.tools: no tool named 'docker_stopp'; tools: {', '.join(REGISTRY)}",
        "  - rate_limits[0].window_s: Field required",
        f"  - rate_limits[1].tools: read-only tools are not rate limited: {', '.join(long)}",
        "  - rate_limits[2].tools: read-only tools are not rate limited: "
        "docker_inspect_container (got ['docker_inspect_container'])",
        "  - mood: unknown key (check its spelling and section)",
    ]
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(["x"])
    assert str(caught.value) == "<policy>: a policy is a table of settings, got list"
    with pytest.raises(PolicyError) as caught:
        Policy(mode="x")
    assert str(caught.value).startswith("Policy(...): invalid policy (1 problem(s)):\n")
    with pytest.raises(TypeError):
        Policy("execute")  # a positional setting is an error, never silently dropped


def test_an_approval_request_reads_as_one_sentence_with_secrets_hidden():
    """describe(): who (or "An agent"), which tool and risk, on what, with which arguments.

    Arguments and reason are redacted, values JSON has no form for are shown as text.
    """
    from datetime import UTC, datetime

    request = ApprovalRequest(
        tool="docker_restart_container",
        risk="high",
        arguments={
            "container_id": "web",
            "env": {"TOKEN": "s3cret"},
            "at": datetime(2026, 1, 2, tzinfo=UTC),
        },
        summary={"name": "web", "status": "running"},
        actor=None,
        reason="flapping; password=hunter2",
    )
    assert request.describe() == (
        "An agent wants to run docker_restart_container (high risk) on container 'web' "
        '(now running) with {"container_id": "web", "at": "2026-01-02 00:00:00+00:00", '
        '"env": {"TOKEN": "[REDACTED]"}}. Reason given: flapping; password=[REDACTED].'
    )
    bare = ApprovalRequest(
        tool="t", risk="low", arguments={}, summary=None, actor="bob", reason=None
    )
    assert bare.describe() == "bob wants to run t (low risk) with {}."


def test_an_approval_request_cuts_long_arguments_and_reasons_at_its_limit():
    """shown(limit): arguments up to ``limit`` characters whole, longer ones cut and marked."""

    def request(arguments, reason=None):
        return ApprovalRequest(
            tool="t", risk="low", arguments=arguments, summary=None, actor=None, reason=reason
        )

    assert request({"a": "x"}).shown(10) == ('{"a": "x"}', None)
    assert request({"a": "xx"}).shown(10) == ('{"a": "xx"...[cut]', None)
    assert request({}, "r" * 700).shown() == ("{}", "r" * 600)
    long = request({"a": "x" * 700}).describe()
    assert long.endswith("xxx...[cut].")
    assert len(long) == len("An agent wants to run t (low risk) with .") + 600 + len("...[cut]")


@pytest.mark.parametrize(
    ("members", "policy", "rule", "message"),
    [
        (
            [{"id": "ab" * 32, "name": "db", "labels": {}, "aliases": ["cache"]}],
            {"protected": {"names": ["db"]}},
            "alias.protected",
            "container 'db' (abababababab) answers to 'Cache' on network 'back' and is "
            "protected (protected.names); container 'web' may not take that name over, so "
            "nothing was done. Choose another alias.",
        ),
        (
            [],
            {"protected": {"patterns": ["Cach*"]}},
            "alias.protected",
            "the alias 'Cache' is a name the policy protects (protected.patterns); giving it "
            "to container 'web' on network 'back' would let it answer for the protected "
            "container, so nothing was done. Choose another alias.",
        ),
        (
            [{"id": "cd" * 32, "name": "cache", "labels": {}}],
            {},
            "alias.taken",
            "container 'cache' (cdcdcdcdcdcd) already answers to 'Cache' on network 'back'; "
            "a second container under that name would take part of its traffic, so nothing "
            "was done. Choose another alias (a person can set allow_alias_sharing = true in "
            "the policy).",
        ),
    ],
)
def test_an_alias_another_container_answers_to_is_refused_with_why(members, policy, rule, message):
    """An alias owned by a protected container, protected itself, or taken: refused, told why."""
    guard = Guard(Policy(mode="execute", **policy), own_container_id=None)
    verdict = guard.check_alias("Cache", WEB, "back", members)
    assert verdict is not None
    assert (verdict.rule, verdict.message) == (rule, message)
    assert verdict.details["target"] == WEB_SUMMARY
    if members:
        owner = members[0]
        assert verdict.details["owner"]["id"] == owner["id"]
        assert verdict.details["owner"]["name"] == owner["name"]


def test_an_alias_is_free_when_only_the_target_or_nobody_answers_to_it():
    """Re-giving a container its own alias, or a name nobody answers to, is allowed.

    A member answers to its name, its 12-character short id and its aliases, in any case.
    """
    guard = Guard(Policy(mode="execute"), own_container_id=None)
    own = [{"id": CID, "name": "web", "labels": {}, "aliases": ["cache"]}]
    assert guard.check_alias("cache", WEB, "back", own) is None
    other = [{"id": "ef" * 32, "name": None, "labels": {}}]
    assert guard.check_alias("cache", WEB, "back", other) is None
    by_id = guard.check_alias("EFEFEFEFEFEF", WEB, "back", other)
    assert by_id is not None
    assert by_id.rule == "alias.taken"
    assert by_id.message.startswith("container '' (efefefefefef) already answers")
    sharing = Guard(Policy(mode="execute", allow_alias_sharing=True), own_container_id=None)
    assert sharing.check_alias("EFEFEFEFEFEF", WEB, "back", other) is None


def test_an_alias_owner_that_is_the_operator_itself_is_protected():
    """The operator's own container keeps its names: no alias may take them over."""
    guard = Guard(Policy(mode="execute"), own_container_id="ab" * 32)
    members = [{"id": "ab" * 32, "name": "operator", "labels": {}, "aliases": ["ops"]}]
    verdict = guard.check_alias("ops", WEB, "back", members)
    assert verdict is not None
    assert verdict.message.startswith(
        "container 'operator' (abababababab) answers to 'ops' on network 'back' and is "
        "protected (protected.self)"
    )


def test_own_container_is_found_in_a_mountinfo_with_undecodable_bytes(tmp_path):
    """A mount path that is not UTF-8 (any byte is allowed there) does not hide our id."""
    from operator_core.policy import detect_own_container_ids

    cid = "f" * 64
    (tmp_path / "proc/self").mkdir(parents=True)
    ours = f"2 0 8:1 /var/lib/docker/containers/{cid}/hostname /etc/hostname rw - ext4 x rw\n"
    (tmp_path / "proc/self/mountinfo").write_bytes(
        b"1 0 0:1 /data/caf\xe9 /mnt/caf\xe9 rw - ext4 /dev/sda1 rw\n" + ours.encode()
    )
    assert detect_own_container_ids(tmp_path) == {cid}


async def test_a_failing_approver_is_logged_with_the_call_and_its_traceback(caplog):
    """An approver that raises: denied, and the log names the call and shows the traceback."""

    async def broken(request):
        raise RuntimeError("boom")

    guard = Guard(Policy(), approver=broken, own_container_id=None)
    await guard.approve(RESTART, _request({"name": "web"}))
    (logged,) = [m for m in caplog.messages if m.startswith("the approver failed")]
    assert logged.startswith(
        "the approver failed on docker_restart_container on container 'web'; denied:\n"
        "Traceback (most recent call last):"
    )


async def test_nobody_to_ask_keeps_the_approvers_reason_with_one_full_stop():
    """ApprovalUnavailable's reason is quoted once, its own final full stops dropped."""
    from operator_core.errors import ApprovalUnavailable

    async def unaskable(request):
        raise ApprovalUnavailable("  approvals go to the OPS-INBOX..  ")

    guard = Guard(Policy(), approver=unaskable, own_container_id=None)
    verdict = await guard.approve(RESTART, _request())
    assert verdict is not None
    assert "nobody can be asked: approvals go to the OPS-INBOX. It was not run" in verdict.message


def test_a_rate_denial_when_counting_carries_the_container():
    """take_rate refuses a full limit with the container's summary, counting nothing more."""
    guard = Guard(
        Policy(mode="execute", rate_limits=[{"max": 1, "window_s": 60}]), own_container_id=None
    )
    assert guard.take_rate(RESTART, WEB) is None
    verdict = guard.take_rate(RESTART, WEB)
    assert verdict is not None
    assert verdict.details["target"] == WEB_SUMMARY


def test_an_action_remembered_now_or_from_the_future_counts_from_now():
    """remember(0) and remember(-5) (a clock that moved back) both count as just now."""
    for seconds_ago in (0.0, -5.0):
        limiter = RateLimiter([RateLimit(max=1, window_s=60)], FakeClock())
        limiter.remember("docker_restart_container", CID, seconds_ago)
        verdict = limiter.check("docker_restart_container", CID)
        assert verdict is not None
        assert verdict.details["retry_after_s"] == 60


@pytest.mark.parametrize(("length", "shown"), [(76, True), (77, False)])
def test_a_faulty_list_is_quoted_only_up_to_80_characters(length, shown):
    """A list value in a policy fault is quoted when its repr fits in 80 characters."""
    from operator_core.errors import PolicyError
    from operator_core.policy import policy_from_dict

    tools = ["a" * length]
    assert len(repr(tools)) == length + 4
    with pytest.raises(PolicyError) as caught:
        policy_from_dict({"rate_limits": [{"max": 1, "window_s": 1, "tools": tools}]})
    assert (f"(got {tools!r})" in str(caught.value)) is shown


def test_an_empty_protected_name_is_a_fault_that_says_so():
    """An empty name in [protected] would match nothing useful: refused, and told why."""
    from operator_core.errors import PolicyError
    from operator_core.policy import policy_from_dict

    with pytest.raises(PolicyError) as caught:
        policy_from_dict({"protected": {"names": [""]}})
    assert str(caught.value).splitlines()[1] == (
        "  - protected.names[0]: empty name or pattern (got '')"
    )


@pytest.mark.parametrize(
    ("section", "value", "line"),
    [
        (
            "names",
            "//db",
            "  - protected.names[0]: no container name can match '//db' (names are ASCII "
            "letters, digits, '_', '.', '-', led by a letter or digit); write 'db' (got '//db')",
        ),
        (
            "names",
            "db x",
            "  - protected.names[0]: no container name can match 'db x' (names are ASCII "
            "letters, digits, '_', '.', '-', led by a letter or digit) (got 'db x')",
        ),
        ("names", "/", "  - protected.names[0]: empty name or pattern (got '/')"),
        ("patterns", " ", "  - protected.patterns[0]: empty name or pattern (got ' ')"),
    ],
)
def test_a_protected_name_that_cannot_match_says_how_to_write_it(section, value, line):
    """A name no container can have is refused, with the spelling that would match if any."""
    from operator_core.errors import PolicyError
    from operator_core.policy import policy_from_dict

    with pytest.raises(PolicyError) as caught:
        policy_from_dict({"protected": {section: [value]}})
    assert str(caught.value).splitlines()[1] == line


def test_a_secret_in_a_policy_fault_is_redacted_where_it_is_quoted():
    """A policy fault quotes the faulty value with its secret part hidden, in both places."""
    from operator_core.errors import PolicyError
    from operator_core.policy import policy_from_dict

    with pytest.raises(PolicyError) as caught:
        policy_from_dict({"scope": {"require_labels": ["=password=hunter2"]}})
    assert str(caught.value).splitlines()[1] == (
        "  - scope.require_labels: label '=password=[REDACTED]' needs a key: write 'key' or "
        "'key=value' (got ['=password=[REDACTED]'])"
    )


def test_a_protected_swarm_service_is_refused_with_what_to_do():
    """check_target on a protected service: the rule's words, the advice, the service."""
    from operator_core.policy.target import TargetFacts

    service = TargetFacts.of("service", CID, "db", replicas=1)
    policy = Policy(mode="execute", swarm={"protected_services": {"names": ["db"]}})
    verdict = Guard(policy, own_container_id=None).check_target(service)
    assert verdict is not None
    assert verdict.rule == "swarm.protected_services.names"
    assert verdict.message == (
        "service 'db' (0123456789ab) is protected by name ('db'); the policy lets no tool "
        "change it, so nothing was done. Leave this service alone or ask a person."
    )
    assert verdict.details == {"target": service.summary()}


def test_an_alias_owner_protected_by_label_keeps_its_name():
    """An owner protected by a label is judged by its labels too."""
    guard = Guard(Policy(mode="execute", protected={"labels": ["tier=db"]}), own_container_id=None)
    members = [{"id": "cd" * 32, "name": "pg", "labels": {"tier": "db"}, "aliases": ["db"]}]
    verdict = guard.check_alias("db", WEB, "back", members)
    assert verdict is not None
    assert "is protected (protected.labels)" in verdict.message


def test_a_host_section_adds_its_protections_and_mode_to_the_policy():
    """for_host: the host's names, patterns and labels join the policy's; its mode wins."""
    policy = Policy(
        mode="execute",
        protected={"names": ["db"], "patterns": ["prod-*"], "labels": ["keep"]},
        hosts={
            "h1": {
                "mode": "observe",
                "protected": {"names": ["cache"], "patterns": ["edge-*"], "labels": ["pin"]},
            },
            "h2": {},
        },
    )
    on_h1 = policy.for_host("h1")
    assert on_h1.mode == "observe"
    assert on_h1.protected.names == ["db", "cache"]
    assert on_h1.protected.patterns == ["prod-*", "edge-*"]
    assert on_h1.protected.labels == ["keep", "pin"]
    assert policy.for_host("h2").mode == "execute"
    assert policy.for_host(None) is policy
    assert policy.for_host("elsewhere") is policy


def test_facts_in_a_fleet_carry_their_host_and_hosts_scope_is_explained():
    """A fleet container's summary names its host; a host outside the scope is told why."""
    from operator_core.policy.matching import scope_violation

    facts = TargetFacts.from_inspect({"id": CID, "name": "/Xweb"}, host="h1")
    assert facts.name == "Xweb"  # only the leading '/' goes
    assert facts.summary()["host"] == "h1"
    policy = Policy(scope={"require_host_labels": ["env=prod", "zone"]})
    verdict = scope_violation(policy, facts, {"env": "dev"})
    assert verdict is not None
    assert (verdict.rule, verdict.message) == (
        "scope.require_host_labels",
        "host 'h1' is outside the policy's scope: it lacks the host label(s) 'env=prod', "
        "'zone' that let tools change containers there",
    )


def test_every_missing_opt_in_label_is_named():
    """All the labels a container lacks are listed, comma-separated."""
    from operator_core.policy.matching import scope_violation

    policy = Policy(scope={"require_labels": ["autoheal=true", "team", "tier=db"]})
    verdict = scope_violation(policy, WEB)
    assert verdict is not None
    assert verdict.message == (
        "container 'web' (0123456789ab) is outside the policy's scope: it lacks the "
        "label(s) 'autoheal=true', 'team' that opt a container in"
    )
