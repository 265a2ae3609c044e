"""Unit tests of get_service_logs: a fake manager behind the API, its log as frames."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import time_machine

from engine_fakes import Reply, fake_client, frame, refused
from operator_core.docker import DockerActionExecutor
from operator_core.errors import ServiceNotFound
from swarm_fakes import FakeSwarm

SID = "svcweb"
#: The tasks ``FakeSwarm.add_service("web", 2)`` makes: slot 1 on n2, slot 2 on n3.
T1, T2 = "task001", "task002"


def line(second: int, task: str, node: str, text: str) -> bytes:
    """Return one line as the engine writes a service's log with timestamps and details."""
    when = f"2026-11-29T10:00:{second:02d}.000000000Z"
    details = f"com.docker.swarm.node.id={node},com.docker.swarm.service.id={SID}"
    return f"{when} {details},com.docker.swarm.task.id={task} {text}\n".encode()


class Logs:
    """The manager faked; the service's log scripted as ``out``/``err`` (or a refusal)."""

    def __init__(self, swarm: FakeSwarm) -> None:
        self.swarm = swarm
        self.out = b""
        self.err = b""
        self.missing = False
        self.requests: list[tuple[str, dict[str, str]]] = []

    def __call__(self, method: str, path: str, params: dict[str, str], body: Any) -> Reply:
        if not path.endswith("/logs"):
            return self.swarm(method, path, params, body)
        self.requests.append((path, params))
        if self.missing:
            raise refused(404, f"no such task or service: {SID}")
        return Reply([frame(1, self.out), frame(2, self.err)])


@pytest.fixture
def spawn() -> Iterator[Logs]:
    """The manager faked, the log scripted."""
    swarm = FakeSwarm()
    swarm.add_service("web", 2)
    return Logs(swarm)


@pytest.fixture
def executor(spawn: Logs) -> DockerActionExecutor:
    """An executor whose engine is the scripted manager."""
    api, _ = fake_client(spawn)
    return DockerActionExecutor(api=api)


async def test_lines_come_in_time_order_with_their_task_and_node(executor, spawn):
    """Lines of two tasks are merged by time; each names its task, slot, node id and hostname."""
    spawn.out = line(3, T2, "n3", "second b") + line(1, T1, "n2", "first a")
    spawn.out += line(2, T1, "n2", "a | with a pipe")
    spawn.err = line(4, T2, "n3", "oops")
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
        T1,
        1,
        "n2",
        "lab-eng2",
    )
    assert (result["truncated"], result["service_id"], result["name"]) == (False, SID, "web")
    ((path, params),) = spawn.requests
    assert path == f"/services/{SID}/logs"
    assert {key: params[key] for key in ("timestamps", "details", "tail")} == {
        "timestamps": "1",
        "details": "1",
        "tail": "10",
    }


async def test_tail_keeps_the_newest_lines_of_all_tasks(executor, spawn):
    """The engine tails each task; the newest ``tail`` lines overall are kept, and said so."""
    spawn.out = b"".join(line(s, (T1, T2)[s % 2], "n2", f"l{s}") for s in range(6))
    result = await executor.get_service_logs("web", tail=3)
    assert [entry["text"] for entry in result["lines"]] == ["l3", "l4", "l5"]
    assert result["truncation"] == ["tail_cap"]


@time_machine.travel("2026-11-29T10:00:30Z", tick=False)
async def test_until_drops_later_lines_and_says_so(executor, spawn):
    """Lines after ``until`` are dropped here (the engine takes no until for services)."""
    spawn.out = b"".join(line(s, T1, "n2", f"l{s}") for s in (1, 2, 20, 25))
    result = await executor.get_service_logs(
        "web", since="2026-11-29T10:00:00.5Z", until="2026-11-29T10:00:10Z"
    )
    assert [entry["text"] for entry in result["lines"]] == ["l1", "l2"]
    assert "until_window" in result["truncation"]
    ((_, params),) = spawn.requests
    assert "until" not in params
    assert params["since"] == "1795946400.500000000"  # a unix time, as the engine takes it


async def test_a_service_gone_before_the_logs_is_service_not_found(executor, spawn):
    """The engine's 'no such task or service' for the logs read is ServiceNotFound("web")."""
    spawn.missing = True
    with pytest.raises(ServiceNotFound) as caught:
        await executor.get_service_logs("web")
    assert caught.value.reference == "web"


async def test_details_are_split_before_they_are_unquoted(executor, spawn):
    """The engine sorts details by key and URL-quotes each: a comma in a value is ``%2C``.

    So the pairs are split at commas first, then unquoted: a user's detail before the
    swarm's, with a quoted comma, still leaves the task and node found.

    A line whose first word is no details (an engine without them) keeps its whole text.
    """
    when = "2026-11-29T10:00:01.000000000Z"
    details = f"app=a%2Cb,com.docker.swarm.node.id=n3,com.docker.swarm.service.id={SID}"
    spawn.out = f"{when} {details},com.docker.swarm.task.id={T2} hello world\n".encode()
    spawn.out += b"2026-11-29T10:00:02.000000000Z plain words\n"
    result = await executor.get_service_logs("web")
    first, second = result["lines"]
    assert (first["text"], first["task_id"], first["slot"], first["node"]) == (
        "hello world",
        T2,
        2,
        "lab-eng3",
    )
    assert (second["text"], second["task_id"]) == ("plain words", None)
