"""Pins issue 9 item 10: on a hung engine a whole tool call fits one bound, and says why.

The engine here is real, reached through ``HungEngine``: a socket that forwards to it
until the action's request, then never answers again (a daemon that wedges mid-action,
after the container was found and judged). A bound is measured with the monotonic clock
against the one the executor states (``call_bound``); the slack covers process start-up
on a loaded machine, never a second bound.
"""

from __future__ import annotations

import os
import time

import pytest
from python_on_whales import DockerClient

from operator_core.audit import MemoryAuditSink
from operator_core.deadline import Deadline, within
from operator_core.docker import DockerActionExecutor
from operator_core.docker.containers.execution import CLEANUP_DEADLINE_S, ENGINE_PROBE_S
from operator_core.errors import OperationTimeout
from operator_core.policy import Policy
from operator_core.runner import ToolRunner
from operator_core.runner.core import AFTER_TIMEOUT_READ_S
from operator_core.testing.hung_engine import HungEngine

#: The local engine's socket (DOCKER_HOST when it names one).
ENGINE_SOCKET = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock").removeprefix("unix://")
#: What a call may take beyond its bound: starting processes, writing the audit record,
#: on a loaded machine. Less than the second bound (3 s) these tests exist to catch.
SLACK_S = 2.5
CALL_DEADLINE_S = 3.0


def _runner(
    engine: HungEngine, call_deadline: float = CALL_DEADLINE_S
) -> tuple[ToolRunner, DockerActionExecutor]:
    """Return a runner in execute mode, no approval, over the hanging engine."""
    executor = DockerActionExecutor(DockerClient(host=engine.host), call_deadline=call_deadline)
    runner = ToolRunner(
        executor,
        policy=Policy(
            mode="execute",
            approval={"risks": [], "tools": {"docker_execute_command": False}},
        ),
        audit=MemoryAuditSink(),
        own_container_id=None,
    )
    return runner, executor


async def test_an_action_and_the_state_after_it_share_one_bound(containers):
    """A kill on an engine that wedges at the kill: timeout within one bound, not two.

    It used to take the kill's bound and then another for reading the state after it
    (on the CLI, a stop with grace 1 took 63 s against the documented 31 s).
    """
    name = containers.run("sleep", "300")
    with HungEngine(upstream=ENGINE_SOCKET, hang_on=b"/kill") as engine:
        runner, executor = _runner(engine)
        bound = executor.call_bound("kill_container", {"container_id": name})
        began = time.monotonic()
        envelope = await runner.execute_tool("docker_kill_container", {"container_id": name})
        elapsed = time.monotonic() - began
        assert engine.hung.is_set()
    assert envelope["ok"] is False
    assert envelope["error"]["type"] == "timeout"
    assert bound == CALL_DEADLINE_S
    assert elapsed < bound + SLACK_S, f"{elapsed:.1f}s for a bound of {bound:g}s"
    (record,) = runner.audit.query()
    assert record.outcome == "failed"
    assert "deadline had passed" in record.after["unavailable"]  # type: ignore[index]
    assert containers.client.container.inspect(name).state.running is True  # never reached


async def test_an_exec_the_engine_never_answers_is_not_a_command_timeout(containers):
    """An exec whose engine wedges at the exec: a timeout saying the engine did not answer.

    It came back ok with ``timed_out`` true, as if the command had been too slow. The
    call ends once the command's timeout, the clean-up's and the probe's have passed and
    a short read of the state after (not the rest of its 46 s bound).
    """
    name = containers.run("sleep", "300")
    with HungEngine(upstream=ENGINE_SOCKET, hang_on=b"/exec") as engine:
        runner, executor = _runner(engine, call_deadline=30.0)
        arguments = {"container_id": name, "command": ["true"], "timeout": 1}
        bound = executor.call_bound("execute_command", arguments)
        began = time.monotonic()
        envelope = await runner.execute_tool("docker_execute_command", arguments)
        elapsed = time.monotonic() - began
    assert envelope["ok"] is False, envelope
    assert envelope["error"]["type"] == "timeout"
    assert envelope["error"]["details"]["reason"] == "engine_not_answering"
    assert "did not answer" in envelope["error"]["message"]
    assert bound == 1 + CLEANUP_DEADLINE_S + ENGINE_PROBE_S + 30.0
    expected = 1 + CLEANUP_DEADLINE_S + ENGINE_PROBE_S + AFTER_TIMEOUT_READ_S
    assert elapsed < expected + SLACK_S, f"{elapsed:.1f}s, expected {expected:g}s"


async def test_an_executor_call_ends_by_the_shared_deadline_on_a_silent_engine(engine):
    """Under a shared deadline an inspect of a wedged engine ends by it, not its own 30 s."""
    del engine  # only to require the docker CLI, as CI has it
    with HungEngine() as hung:
        executor = DockerActionExecutor(DockerClient(host=hung.host))
        began = time.monotonic()
        with within(Deadline(1.0)), pytest.raises(OperationTimeout):
            await executor.inspect_container("anything")
        assert time.monotonic() - began < 1.0 + SLACK_S
        with within(Deadline(0.0)), pytest.raises(OperationTimeout, match="nothing was run"):
            await executor.inspect_container("anything")
