"""Our bugs surface as bugs; only what the engine side raises becomes an operator-core error."""

from __future__ import annotations

import logging
import subprocess
from typing import Any
from unittest.mock import MagicMock

import pytest
from python_on_whales.client_config import ClientNotFoundError
from python_on_whales.exceptions import DockerException

from operator_core.audit import MemoryAuditSink
from operator_core.docker import DockerActionExecutor
from operator_core.docker._engine import cli as _engine
from operator_core.docker._engine.acting import act_and_confirm
from operator_core.errors import (
    EngineError,
    EngineUnreachable,
    InvalidInput,
    OperationTimeout,
    OperatorError,
)
from operator_core.policy import ApprovalRequest, Guard, Policy
from operator_core.runner import ToolRunner
from operator_core.testing import inspect_result
from operator_core.tools import get_tool

REFUSED = DockerException(
    ["docker", "pause", "web"], 1, b"", b"Error response from daemon: container is paused\n"
)


class Unparsable:
    """What a python-on-whales update might hand back: an inspect result missing its fields."""


async def test_a_bug_in_our_parsing_propagates_as_itself(client: MagicMock) -> None:
    """An AttributeError raised while we read the engine's answer is not an EngineError.

    It used to come back as ``EngineError("unexpected failure talking to the engine")``,
    which told the agent to blame the engine for our bug.
    """
    client.container.inspect.return_value = Unparsable()
    executor = DockerActionExecutor()
    with pytest.raises(AttributeError):
        await executor.inspect_container("web")


async def test_the_runner_reports_our_bug_as_internal_and_logs_its_traceback(
    client: MagicMock, caplog: pytest.LogCaptureFixture
) -> None:
    """Through the tool layer the bug is an ``internal`` envelope, logged with its traceback."""
    client.container.inspect.return_value = Unparsable()
    run = ToolRunner(
        DockerActionExecutor(),
        policy=Policy(mode="execute"),
        audit=MemoryAuditSink(),
        own_container_id=None,
    )
    with caplog.at_level(logging.ERROR, logger="operator_core.runner"):
        envelope = await run.execute_tool("docker_inspect_container", {"container_id": "web"})
    assert envelope["ok"] is False
    assert envelope["error"]["type"] == "internal"
    assert "AttributeError" in envelope["error"]["message"]
    logged = [r.getMessage() for r in caplog.records if r.name == "operator_core.runner"]
    assert len(logged) == 1, logged
    assert "Traceback (most recent call last)" in logged[0]
    assert "operator_core/docker/" in logged[0]  # the frames say where the bug is
    assert "AttributeError" in logged[0]


@pytest.mark.parametrize(
    ("raised", "expected", "words"),
    [
        (REFUSED, EngineError, "container is paused"),
        (ClientNotFoundError(), EngineUnreachable, "not found on PATH"),
        (FileNotFoundError(2, "No such file or directory", "docker"), EngineUnreachable, "run"),
        (PermissionError(13, "Permission denied", "docker"), EngineError, "Permission denied"),
        (subprocess.TimeoutExpired(["docker", "ps"], 5.0), OperationTimeout, "5s"),
    ],
    ids=["docker-error", "no-cli", "cli-missing", "cli-not-executable", "process-timeout"],
)
async def test_engine_side_failures_are_still_translated(
    client: MagicMock, raised: Exception, expected: type[OperatorError], words: str
) -> None:
    """Docker's errors, a missing or unrunnable CLI and a process timeout become ours."""
    client.container.inspect.side_effect = raised
    with pytest.raises(expected, match=words) as caught:
        await DockerActionExecutor().inspect_container("web")
    assert caught.value.__cause__ is raised


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


async def test_a_bug_in_an_action_is_not_hidden_by_the_state_after(client: MagicMock) -> None:
    """A kill whose own code fails is not reported as 'someone else already stopped it'."""
    running, exited = inspect_result(status="running"), inspect_result(status="exited")
    client.container.inspect.side_effect = [running, exited, exited]
    client.container.kill.side_effect = TypeError("kill() got an unexpected keyword argument")
    with pytest.raises(TypeError):
        await DockerActionExecutor().kill_container("web")


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
