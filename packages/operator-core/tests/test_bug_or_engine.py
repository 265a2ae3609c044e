"""Our bugs surface as bugs; only what the engine side raises becomes an operator-core error."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from python_on_whales.exceptions import DockerException

from operator_core.docker import DockerActionExecutor
from operator_core.docker._engine import cli as _engine
from operator_core.docker._engine.acting import act_and_confirm
from operator_core.errors import (
    InvalidInput,
)
from operator_core.policy import ApprovalRequest, Guard, Policy
from operator_core.tools import get_tool

REFUSED = DockerException(
    ["docker", "pause", "web"], 1, b"", b"Error response from daemon: container is paused\n"
)


class Unparsable:
    """What a python-on-whales update might hand back: an inspect result missing its fields."""


def test_translate_refuses_what_is_not_from_the_engine() -> None:
    """Handing translate a KeyError is itself a bug: it says so instead of disguising it."""
    with pytest.raises(TypeError, match="KeyError"):
        _engine.translate(KeyError("State"))  # type: ignore[arg-type]


def test_act_and_confirm_looks_past_an_engine_refusal_when_the_change_happened() -> None:
    """The engine refused, but a fresh read shows the state wanted: reported, unchanged."""

    def act() -> None:
        raise REFUSED

    state, changed = act_and_confirm(act, lambda: "paused", lambda s: s == "paused")
    assert (state, changed) == ("paused", False)
    with pytest.raises(DockerException):
        act_and_confirm(act, lambda: "running", lambda s: s == "paused")


def test_act_and_confirm_lets_a_bug_through_without_reading_again() -> None:
    """A KeyError in ``act`` is no refusal: it propagates at once, even if ``done`` would hold."""
    reads: list[str] = []

    def act() -> None:
        raise KeyError("Id")

    def reread() -> str:
        reads.append("read")
        return "paused"

    with pytest.raises(KeyError):
        act_and_confirm(act, reread, lambda s: s == "paused")
    assert reads == []


REQUEST = ApprovalRequest(
    tool="docker_restart_container",
    risk="high",
    arguments={"container_id": "web"},
    summary={"name": "web"},
    actor="agent",
    reason="unhealthy",
)


async def test_an_approver_that_raises_denies_and_logs_its_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The call is denied under approval.error; the log has the traceback, secrets redacted."""

    async def broken_approver(request: Any) -> bool:
        raise RuntimeError("approver crashed with password=hunter2")

    guard = Guard(Policy(), approver=broken_approver, own_container_id=None)
    with caplog.at_level(logging.ERROR, logger="operator_core.policy"):
        verdict = await guard.approve(get_tool("docker_restart_container"), REQUEST)
    assert verdict is not None
    assert verdict.rule == "approval.error"
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "Traceback (most recent call last)" in logged
    assert "broken_approver" in logged
    assert "hunter2" not in logged


@pytest.mark.parametrize(
    "deadline",
    [0, 0.0, -1, -0.001, float("nan"), float("inf"), float("-inf"), 86401, "30", None, True],
)
def test_a_call_deadline_that_no_call_could_meet_is_refused(deadline: Any) -> None:
    """Zero, negative, NaN, infinite, absurd or non-numeric call deadlines raise InvalidInput."""
    with pytest.raises(InvalidInput, match="call_deadline"):
        DockerActionExecutor(call_deadline=deadline)


def test_a_small_positive_call_deadline_is_accepted() -> None:
    """Any finite deadline above zero, up to a day, is a deadline a call can have."""
    for deadline in (0.001, 1, 86400):
        DockerActionExecutor(call_deadline=deadline)
