"""Unit tests of networks, signals, pause, discovery and waiting with the client mocked."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import MagicMock, patch

import pytest
from python_on_whales.components.container.models import ContainerInspectResult
from python_on_whales.exceptions import DockerException, NoSuchContainer

from operator_core.docker import DockerActionExecutor
from operator_core.docker._engine.state import snapshot
from operator_core.errors import (
    ContainerNotFound,
    InvalidInput,
)
from operator_core.testing import inspect_result

CID = "0123456789ab" * 5 + "cdef"
NID = "feedfacecafe" * 5 + "beef"


def container(
    *,
    aliases: dict[str, list[str]] | None = None,
    restart_policy: str | None = None,
    healthcheck: list[str] | None = None,
    **fields: Any,
) -> ContainerInspectResult:
    """Return an inspect result with network aliases, a restart policy and a health check."""
    raw = inspect_result(**fields).model_dump(by_alias=True, exclude_none=True)
    for network, names in (aliases or {}).items():
        raw["NetworkSettings"]["Networks"][network]["Aliases"] = names
    if restart_policy is not None:
        raw["HostConfig"] = {"RestartPolicy": {"Name": restart_policy}}
    if healthcheck is not None:
        raw["Config"]["Healthcheck"] = {"Test": healthcheck}
    return ContainerInspectResult.model_validate(raw)


def as_json(*models: ContainerInspectResult) -> str:
    """Return what ``docker container inspect`` prints for ``models``."""
    return json.dumps([m.model_dump(by_alias=True, mode="json", exclude_none=True) for m in models])


def failure(kind: type[DockerException], stderr: str, stdout: str = "") -> DockerException:
    """Return a python-on-whales error as its ``run`` raises it."""
    return kind(["docker"], 1, stdout.encode(), stderr.encode())


def fake_cli(client: MagicMock, answers: dict[str, Any]) -> None:
    """Answer raw CLI calls by sub-command (``container ls``, ``network inspect``, ...)."""

    def answer(args: list[str]) -> str:
        value = answers[" ".join(args[1:3])]
        if isinstance(value, BaseException):
            raise value
        return str(value(args) if callable(value) else value)

    client.cli.side_effect = answer


def network_json(name: str = "backend") -> str:
    """Return what ``docker network inspect`` prints for one network."""
    return json.dumps([{"Name": name, "Id": NID, "Driver": "bridge"}])


def no_engine_call(client: MagicMock) -> None:
    """Assert that nothing reached the engine."""
    assert client.cli.call_count == 0
    assert client.container.method_calls == []
    assert client.network.method_calls == []


# --- networks -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda ex: ex.connect_container_to_network("-rm", "net"), "container reference"),
        (lambda ex: ex.connect_container_to_network("web", "net work"), "network reference"),
        (lambda ex: ex.connect_container_to_network("web", "net", alias="a b"), "alias"),
        (lambda ex: ex.disconnect_container_from_network("web", "net", force="yes"), "force"),
    ],
)
async def test_network_bad_input_reaches_no_engine(client, executor, call, match) -> None:
    """Bad references, aliases or flags raise InvalidInput before any docker call."""
    with pytest.raises(InvalidInput, match=match):
        await call(executor)
    no_engine_call(client)


# --- signals and pause ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "signal",
    [
        "SIGFOO",
        "",
        999,
        True,
        1.5,
        None,
        0,
        "0",
        -1,
        "-9",
        32,
        33,
        65,
        "65",
        "SIGRTMIN-1",
        "SIGRTMIN+31",
        "SIGRTMAX+1",
        "SIGRTMIN+",
        "RTMID",
    ],
)
async def test_kill_bad_signal_reaches_no_engine(client, executor, signal) -> None:
    """An unknown or mistyped signal raises InvalidInput before any docker call.

    0, negative numbers, 32 and 33 (glibc's, which the engine refuses) and anything past
    SIGRTMAX (64) are refused, as are real-time names outside SIGRTMIN..SIGRTMAX.
    """
    with pytest.raises(InvalidInput):
        await executor.kill_container("web", signal)
    no_engine_call(client)


@pytest.mark.parametrize(
    "signal",
    [
        "\u00b2",  # superscript two: str.isdigit() is true, int() raised ValueError
        "\u0662",  # Arabic-Indic two: int() read it as 2, so it was sent as SIGINT
        " \u0669 ",
        "SIGRTMIN+\u0663",
        "\u017figterm",  # long s: str.upper() made it SIGTERM
        "9" * 5000,  # int() refuses past 4300 digits (ValueError)
    ],
)
async def test_kill_non_ascii_digits_and_names_are_invalid_input(client, executor, signal) -> None:
    """Signal numbers and names are ASCII: other digits or letters raise InvalidInput.

    Pins the ASCII-only digit check of validate_signal: with str.isdigit a superscript
    two was an internal ValueError and an Arabic-Indic two was accepted as SIGINT.
    """
    with pytest.raises(InvalidInput):
        await executor.kill_container("web", signal)
    no_engine_call(client)


# --- discovery ------------------------------------------------------------------------------


def listing(client: MagicMock, *models: ContainerInspectResult) -> list[list[str]]:
    """Make ``docker container ls`` list ``models`` and inspect answer them; return the calls."""
    calls: list[list[str]] = []

    def ls(args: list[str]) -> str:
        calls.append(args)
        return "\n".join(str(m.id) for m in models)

    def inspect(args: list[str]) -> str:
        calls.append(args)
        return as_json(*models)

    fake_cli(client, {"container ls": ls, "container inspect": inspect})
    return calls


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"all": "yes"}, "all"),
        ({"name": "web*"}, "name filter"),
        ({"name": ""}, "name filter"),
        ({"label": "=value"}, "key"),
        ({"label": "a key"}, "key"),
        ({"label": ""}, "label filter"),
        ({"label": ["ok", 3]}, "label filter"),
        ({"label": ["k"] * 33}, "at most"),
        ({"label": {"k": "v"}}, "label must be"),
        ({"status": "up"}, "status must be one of"),
        ({"health": "ok"}, "health must be one of"),
        ({"compose_project": ""}, "project"),
        ({"compose_service": "a\nb"}, "service"),
    ],
)
async def test_list_bad_filters_reach_no_engine(client, executor, kwargs, match) -> None:
    """Every malformed filter raises InvalidInput before any docker call."""
    with pytest.raises(InvalidInput, match=match):
        await executor.list_containers(**kwargs)
    no_engine_call(client)


async def test_inspect_containers_empty_runs_nothing(client, executor) -> None:
    """An empty list of references is answered without a docker process."""
    assert await executor.inspect_containers([]) == {"containers": [], "missing": []}
    no_engine_call(client)


@pytest.mark.parametrize(
    ("refs", "match"),
    [("web", "list"), (None, "list"), (["ok", "-x"], "starts with"), (["a"] * 1001, "at most")],
)
async def test_inspect_containers_bad_input_reaches_no_engine(
    client, executor, refs, match
) -> None:
    """Malformed reference lists raise InvalidInput before any docker call."""
    with pytest.raises(InvalidInput, match=match):
        await executor.inspect_containers(refs)
    no_engine_call(client)


def test_snapshot_reads_health_check_and_restart_policy() -> None:
    """has_healthcheck follows Config.Healthcheck (NONE disables it); restart policy is read."""
    assert snapshot(container(healthcheck=["CMD-SHELL", "true"])).has_healthcheck is True
    assert snapshot(container(healthcheck=["NONE"])).has_healthcheck is False
    assert snapshot(container()).has_healthcheck is False
    assert snapshot(container(health="starting")).has_healthcheck is True
    assert snapshot(container(restart_policy="always")).restart_policy == "always"
    assert snapshot(container()).restart_policy is None


# --- waiting --------------------------------------------------------------------------------


class SleepClock:
    """A clock that moves only when the wait sleeps, recording each pause."""

    def __init__(self) -> None:
        self.now = 0.0
        self.pauses: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.pauses.append(seconds)
        self.now += seconds


@pytest.fixture
def sleepy(client: MagicMock) -> Iterator[tuple[DockerActionExecutor, SleepClock]]:
    """An executor whose clock only moves when the wait sleeps (no real time passes)."""
    clock = SleepClock()
    with patch("operator_core.docker.containers.waiting.asyncio.sleep", clock.sleep):
        yield DockerActionExecutor(clock=clock), clock


def reads(client: MagicMock, *states: ContainerInspectResult | BaseException) -> None:
    """Make successive inspects return ``states``, the last one repeating."""
    queue = list(states)

    def read(_ref: str) -> ContainerInspectResult:
        item = queue.pop(0) if len(queue) > 1 else queue[0]
        if isinstance(item, BaseException):
            raise item
        return item

    client.container.inspect.side_effect = read


HC = ["CMD-SHELL", "test -f /tmp/ok"]
GONE = failure(NoSuchContainer, "Error: No such container: web")


async def test_wait_removed_on_missing_container_is_met(client, sleepy) -> None:
    """'removed' on a container that does not exist is met at once."""
    executor, _ = sleepy
    reads(client, GONE)
    result = await executor.wait_for_container("web", "removed", timeout=5)
    assert (result["met"], result["state"], result["polls"]) == (True, "removed", 1)
    assert result["container_id"] == "web"


@pytest.mark.parametrize("condition", ["running", "healthy", "exited"])
async def test_wait_on_missing_container_raises(client, sleepy, condition) -> None:
    """Waiting for anything but 'removed' on a container that does not exist: ContainerNotFound."""
    executor, _ = sleepy
    reads(client, GONE)
    with pytest.raises(ContainerNotFound):
        await executor.wait_for_container("web", condition, timeout=5)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"condition": "up"}, "condition must be one of"),
        ({"condition": None}, "condition must be one of"),
        ({"condition": "running", "timeout": -1}, "zero or more"),
        ({"condition": "running", "timeout": 3601}, "over the limit"),
        ({"condition": "running", "timeout": float("nan")}, "zero or more"),
        ({"condition": "running", "timeout": True}, "number of seconds"),
        ({"condition": "running", "timeout": "10"}, "number of seconds"),
    ],
)
async def test_wait_bad_input_reaches_no_engine(client, executor, kwargs, match) -> None:
    """A bad condition or timeout raises InvalidInput before any docker call."""
    with pytest.raises(InvalidInput, match=match):
        await executor.wait_for_container("web", **kwargs)
    no_engine_call(client)


_ACTIONS: list[Callable[[DockerActionExecutor], Any]] = [
    lambda ex: ex.kill_container("bad name"),
    lambda ex: ex.pause_container(""),
    lambda ex: ex.unpause_container(7),
    lambda ex: ex.wait_for_container("web/../x", "running", 1),
    lambda ex: ex.disconnect_container_from_network("web", ""),
]


@pytest.mark.parametrize("call", _ACTIONS)
async def test_bad_references_reach_no_engine(client, executor, call) -> None:
    """Every action refuses a malformed container or network reference before any docker call."""
    with pytest.raises(InvalidInput):
        await call(executor)
    no_engine_call(client)
