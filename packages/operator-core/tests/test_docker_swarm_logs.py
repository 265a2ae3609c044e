"""Unit tests of get_service_logs: a fake manager, a local process as the logs command."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any
from unittest.mock import MagicMock, patch

import pytest
import time_machine

from operator_core.docker import DockerActionExecutor
from operator_core.docker._engine import capture as _capture
from operator_core.errors import ServiceNotFound
from swarm_fakes import FakeSwarm

REAL_SPAWN = _capture._spawn
SID = "svcweb"


def line(second: int, slot: int, task: str, node: str, text: str) -> bytes:
    """Return one line as ``docker service logs --timestamps --no-resolve --no-trunc`` writes it."""
    when = f"2026-11-29T10:00:{second:02d}.000000000Z"
    return f"{when} {SID}.{slot}.{task}@{node}    | {text}\n".encode()


class Spawn:
    """Replaces the logs process with a Python one printing ``out``/``err`` and exiting ``code``."""

    def __init__(self) -> None:
        self.out = b""
        self.err = b""
        self.code = 0
        self.commands: list[list[str]] = []

    def __call__(self, command: list[str], pass_fds: Any) -> Any:
        self.commands.append(command)
        script = (
            f"import sys; sys.stdout.buffer.write({self.out!r}); "
            f"sys.stderr.buffer.write({self.err!r}); sys.exit({self.code})"
        )
        return REAL_SPAWN([sys.executable, "-c", script], ())


@pytest.fixture
def spawn(client: MagicMock) -> Iterator[Spawn]:
    """The manager faked, the logs process scripted."""
    swarm = FakeSwarm()
    swarm.add_service("web", 2)
    client.cli.side_effect = swarm
    double = Spawn()
    with patch("operator_core.docker._engine.capture._spawn", double):
        yield double


async def test_lines_come_in_time_order_with_their_task_and_node(executor, spawn):
    """Lines of two tasks are merged by time; each names its task, slot, node id and hostname."""
    spawn.out = line(3, 2, "t2", "n3", "second b") + line(1, 1, "t1", "n2", "first a")
    spawn.out += line(2, 1, "t1", "n2", "a | with a pipe")
    spawn.err = line(4, 2, "t2", "n3", "oops")
    result = await executor.get_service_logs("web", tail=10)
    texts = [(entry["text"], entry["stream"]) for entry in result["lines"]]
    assert texts == [
        ("first a", "stdout"),
        ("a | with a pipe", "stdout"),
        ("second b", "stdout"),
        ("oops", "stderr"),
    ]
    first = result["lines"][0]
    assert (first["task_id"], first["slot"], first["node_id"], first["node"]) == (
        "t1",
        1,
        "n2",
        "lab-eng2",
    )
    assert (result["truncated"], result["service_id"], result["name"]) == (False, SID, "web")
    command = spawn.commands[0]
    assert command[1:6] == ["service", "logs", "--timestamps", "--no-resolve", "--no-trunc"]
    assert command[-1] == SID


async def test_tail_keeps_the_newest_lines_of_all_tasks(executor, spawn):
    """The engine tails each task; the newest ``tail`` lines overall are kept, and said so."""
    spawn.out = b"".join(line(s, 1 + s % 2, f"t{s % 2}", "n2", f"l{s}") for s in range(6))
    result = await executor.get_service_logs("web", tail=3)
    assert [entry["text"] for entry in result["lines"]] == ["l3", "l4", "l5"]
    assert result["truncation"] == ["tail_cap"]


@time_machine.travel("2026-11-29T10:00:30Z", tick=False)
async def test_until_drops_later_lines_and_says_so(executor, spawn):
    """Lines after ``until`` are dropped here (the CLI has no --until for services)."""
    spawn.out = b"".join(line(s, 1, "t1", "n2", f"l{s}") for s in (1, 2, 20, 25))
    result = await executor.get_service_logs("web", until="2026-11-29T10:00:10Z")
    assert [entry["text"] for entry in result["lines"]] == ["l1", "l2"]
    assert "until_window" in result["truncation"]
    assert "--until" not in spawn.commands[0]


async def test_a_service_gone_before_the_logs_is_service_not_found(executor, spawn):
    """The CLI's 'no such task or service' for the logs read is ServiceNotFound."""
    spawn.err = b"Error: no such task or service: svcweb\n"
    spawn.code = 1
    with pytest.raises(ServiceNotFound):
        await executor.get_service_logs("web")


@pytest.fixture
def executor(client: MagicMock) -> DockerActionExecutor:
    """An executor over the mocked client."""
    return DockerActionExecutor()
