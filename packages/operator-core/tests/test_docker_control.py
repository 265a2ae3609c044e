"""Unit tests of networks, signals, pause, discovery and waiting with the client mocked."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Iterator
from typing import Any
from unittest.mock import MagicMock, patch

import pytest
from python_on_whales.components.container.models import ContainerInspectResult
from python_on_whales.exceptions import DockerException, NoSuchContainer, NoSuchNetwork

from operator_core.docker import DockerActionExecutor
from operator_core.docker._engine.state import snapshot
from operator_core.errors import (
    ContainerNotFound,
    ContainerStateError,
    EngineError,
    EngineUnreachable,
    InvalidInput,
    NetworkNotFound,
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


async def test_connect_attaches_and_reports_networks_after(client, executor) -> None:
    """Connect resolves the network, connects by ids with the alias, and reports the read after."""
    fake_cli(client, {"network inspect": network_json()})
    client.container.inspect.side_effect = [
        container(networks=("bridge",)),
        container(networks=("backend", "bridge"), aliases={"backend": ["api"]}),
    ]
    result = await executor.connect_container_to_network("web", "backend", alias="api")
    client.network.connect.assert_called_once_with(NID, CID, alias="api")
    assert result == {
        "container_id": CID,
        "name": "web",
        "network": "backend",
        "network_id": NID,
        "connected": True,
        "aliases": ["api"],
        "networks": ["backend", "bridge"],
        "changed": True,
    }


async def test_connect_already_connected_is_unchanged(client, executor) -> None:
    """A container already on the network (with the alias asked) is left alone, changed false."""
    fake_cli(client, {"network inspect": network_json()})
    client.container.inspect.return_value = container(
        networks=("backend",), aliases={"backend": ["api", "0123456789ab"]}
    )
    result = await executor.connect_container_to_network("web", "backend", alias="api")
    client.network.connect.assert_not_called()
    assert (result["changed"], result["connected"]) == (False, True)


async def test_connect_already_connected_without_the_alias_is_refused(client, executor) -> None:
    """Claiming success for a connection that lacks the alias asked for would be a lie."""
    fake_cli(client, {"network inspect": network_json()})
    client.container.inspect.return_value = container(networks=("backend",))
    with pytest.raises(ContainerStateError, match="without the alias 'api'"):
        await executor.connect_container_to_network("web", "backend", alias="api")
    client.network.connect.assert_not_called()


async def test_connect_matches_the_network_by_id(client, executor) -> None:
    """A network given by id is matched to the container's endpoint by its NetworkID."""
    fake_cli(client, {"network inspect": network_json("backend")})
    raw = container(networks=("backend",)).model_dump(by_alias=True, exclude_none=True)
    raw["NetworkSettings"]["Networks"]["backend"]["NetworkID"] = NID
    client.container.inspect.return_value = ContainerInspectResult.model_validate(raw)
    result = await executor.connect_container_to_network("web", NID[:12])
    assert result["changed"] is False
    client.network.connect.assert_not_called()


async def test_connect_missing_container_is_named_before_the_network(client, executor) -> None:
    """A missing container raises ContainerNotFound naming it; the network is not even read."""
    client.container.inspect.side_effect = failure(NoSuchContainer, "No such container: ghost")
    with pytest.raises(ContainerNotFound) as caught:
        await executor.connect_container_to_network("ghost", "backend")
    assert caught.value.reference == "ghost"
    client.cli.assert_not_called()


async def test_connect_missing_network_is_named(client, executor) -> None:
    """A missing network raises NetworkNotFound naming it, and nothing is connected."""
    fake_cli(client, {"network inspect": failure(NoSuchNetwork, "network nowhere not found")})
    client.container.inspect.return_value = container()
    with pytest.raises(NetworkNotFound) as caught:
        await executor.connect_container_to_network("web", "nowhere")
    assert caught.value.reference == "nowhere"
    assert "nowhere" in str(caught.value)
    client.network.connect.assert_not_called()


async def test_connect_race_with_another_connect_is_unchanged(client, executor) -> None:
    """If connect fails because someone connected it meanwhile, that is success, changed false."""
    fake_cli(client, {"network inspect": network_json()})
    client.container.inspect.side_effect = [
        container(networks=("bridge",)),
        container(networks=("backend", "bridge")),
    ]
    client.network.connect.side_effect = failure(DockerException, "endpoint already exists")
    result = await executor.connect_container_to_network("web", "backend")
    assert (result["changed"], result["connected"]) == (False, True)


async def test_connect_failure_is_an_engine_error(client, executor) -> None:
    """A connect the engine refuses (and that did not happen) raises EngineError with its reason."""
    fake_cli(client, {"network inspect": network_json()})
    client.container.inspect.return_value = container(networks=("bridge",))
    client.network.connect.side_effect = failure(
        DockerException, "Error response from daemon: container sharing network namespace"
    )
    with pytest.raises(EngineError, match="sharing network namespace"):
        await executor.connect_container_to_network("web", "backend")


async def test_disconnect_detaches_with_force(client, executor) -> None:
    """Disconnect passes force through and reports the container's networks after."""
    fake_cli(client, {"network inspect": network_json()})
    client.container.inspect.side_effect = [
        container(networks=("backend", "bridge")),
        container(networks=("bridge",)),
    ]
    result = await executor.disconnect_container_from_network("web", "backend", force=True)
    client.network.disconnect.assert_called_once_with(NID, CID, force=True)
    assert (result["changed"], result["connected"], result["networks"]) == (
        True,
        False,
        ["bridge"],
    )


async def test_disconnect_not_connected_is_unchanged(client, executor) -> None:
    """Disconnecting a container that is not on the network succeeds with changed false."""
    fake_cli(client, {"network inspect": network_json()})
    client.container.inspect.return_value = container(networks=("bridge",))
    result = await executor.disconnect_container_from_network("web", "backend")
    client.network.disconnect.assert_not_called()
    assert result["changed"] is False


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
    ("given", "sent"), [("SIGHUP", "SIGHUP"), ("hup", "SIGHUP"), (1, "SIGHUP"), ("9", "SIGKILL")]
)
async def test_kill_sends_the_validated_signal(client, executor, given, sent) -> None:
    """Names with or without SIG and numbers reach docker as the engine's signal name."""
    client.container.inspect.side_effect = [container(), container()]
    result = await executor.kill_container("web", given)
    client.container.kill.assert_called_once_with(CID, signal=sent)
    assert (result["signal"], result["signal_sent"], result["changed"]) == (sent, True, True)
    assert result["state"] == "running"


async def test_kill_reports_the_state_after(client, executor) -> None:
    """After SIGKILL the result carries the exited state and exit code the engine reports."""
    client.container.inspect.side_effect = [container(), container(status="exited", exit_code=137)]
    result = await executor.kill_container("web")
    assert result == {
        "container_id": CID,
        "name": "web",
        "state": "exited",
        "signal": "SIGKILL",
        "signal_sent": True,
        "previous_state": "running",
        "running": False,
        "exit_code": 137,
        "reason": None,
        "changed": True,
    }


async def test_kill_stopped_container_sends_nothing(client, executor) -> None:
    """A stopped container has no process: success, signal_sent/changed false, and the reason."""
    client.container.inspect.return_value = container(status="exited", exit_code=0)
    result = await executor.kill_container("web", "SIGTERM")
    client.container.kill.assert_not_called()
    assert (result["signal_sent"], result["changed"], result["state"]) == (False, False, "exited")
    assert "no process to signal" in result["reason"]


async def test_kill_racing_an_exit_sends_nothing(client, executor) -> None:
    """A container that exits between the read and the kill is reported as not signalled."""
    client.container.inspect.side_effect = [container(), container(status="exited")]
    client.container.kill.side_effect = failure(DockerException, "Container abc is not running")
    result = await executor.kill_container("web")
    assert (result["signal_sent"], result["state"]) == (False, "exited")


async def test_kill_refused_while_still_running_is_an_error(client, executor) -> None:
    """A kill the engine refuses on a container still live raises, translated."""
    client.container.inspect.side_effect = [
        container(status="restarting"),
        container(status="restarting"),
    ]
    client.container.kill.side_effect = failure(DockerException, "Container abc is restarting")
    with pytest.raises(ContainerStateError, match="is restarting"):
        await executor.kill_container("web")


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (40, "SIGRTMIN+6"),
        ("40", "SIGRTMIN+6"),
        (63, "SIGRTMAX-1"),
        ("SIGRTMIN+3", "SIGRTMIN+3"),
        ("rtmin+3", "SIGRTMIN+3"),
        ("SIGRTMAX-2", "SIGRTMAX-2"),
        ("SIGRTMIN+20", "SIGRTMAX-10"),
        ("SIGRTMAX-24", "SIGRTMIN+6"),
        ("SIGIOT", "SIGABRT"),
    ],
)
async def test_kill_accepts_real_time_signals(client, executor, given, sent) -> None:
    """Real-time signals (34 to 64, SIGRTMIN+n, SIGRTMAX-n) and aliases reach docker.

    They go out in the engine's own spelling: it knows SIGRTMIN+1..15 and SIGRTMAX-14..1.
    """
    client.container.inspect.side_effect = [container(), container()]
    result = await executor.kill_container("web", given)
    client.container.kill.assert_called_once_with(CID, signal=sent)
    assert result["signal"] == sent


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


async def test_pause_running_container(client, executor) -> None:
    """Pausing a running container pauses it by id and reports paused, changed."""
    client.container.inspect.side_effect = [container(), container(status="paused")]
    result = await executor.pause_container("web")
    client.container.pause.assert_called_once_with(CID)
    assert result == {
        "container_id": CID,
        "name": "web",
        "state": "paused",
        "paused": True,
        "changed": True,
    }


async def test_pause_paused_container_is_unchanged(client, executor) -> None:
    """Pausing a paused container runs nothing and says changed false."""
    client.container.inspect.return_value = container(status="paused")
    result = await executor.pause_container("web")
    client.container.pause.assert_not_called()
    assert (result["paused"], result["changed"]) == (True, False)


@pytest.mark.parametrize("status", ["exited", "created", "restarting", "dead"])
async def test_pause_not_running_container_is_a_state_error(client, executor, status) -> None:
    """Only a running container can be paused: anything else is a ContainerStateError."""
    client.container.inspect.return_value = container(status=status)
    with pytest.raises(ContainerStateError, match=f"is {status}"):
        await executor.pause_container("web")
    client.container.pause.assert_not_called()


async def test_pause_racing_another_pause_is_unchanged(client, executor) -> None:
    """A pause refused because someone paused it meanwhile is success with changed false."""
    client.container.inspect.side_effect = [container(), container(status="paused")]
    client.container.pause.side_effect = failure(DockerException, "Container abc is already paused")
    result = await executor.pause_container("web")
    assert (result["paused"], result["changed"]) == (True, False)


async def test_unpause_paused_container(client, executor) -> None:
    """Unpausing a paused container unpauses it by id and reports changed."""
    client.container.inspect.side_effect = [container(status="paused"), container()]
    result = await executor.unpause_container("web")
    client.container.unpause.assert_called_once_with(CID)
    assert (result["state"], result["paused"], result["changed"]) == ("running", False, True)


@pytest.mark.parametrize("status", ["running", "exited"])
async def test_unpause_not_paused_is_unchanged(client, executor, status) -> None:
    """Unpausing a container that is not paused, in any state, runs nothing: changed false."""
    client.container.inspect.return_value = container(status=status)
    result = await executor.unpause_container("web")
    client.container.unpause.assert_not_called()
    assert (result["state"], result["changed"]) == (status, False)


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


async def test_list_is_one_listing_and_one_batch_inspect(client, executor) -> None:
    """A listing is ``ls -q`` with docker's filters, then one inspect of every id, no more."""
    ids = [f"{i:064x}" for i in range(1, 4)]
    calls = listing(client, *(container(id=i, name=f"c{n}") for n, i in enumerate(ids)))
    result = await executor.list_containers(
        all=True,
        name="c",
        label=["tier", "team=ops"],
        status="running",
        health="none",
        compose_project="shop",
        compose_service="api",
    )
    # health=none is not sent: it is checked on the read (Podman's engine matches nothing).
    assert calls[0] == [
        "docker", "container", "ls", "--quiet", "--no-trunc", "--all",
        "--filter", "label=tier", "--filter", "label=team=ops",
        "--filter", "label=com.docker.compose.project=shop",
        "--filter", "label=com.docker.compose.service=api",
        "--filter", "name=c", "--filter", "status=running",
    ]  # fmt: skip
    assert calls[1] == ["docker", "container", "inspect", *ids]
    assert len(calls) == 2
    assert client.container.method_calls == []
    assert result["count"] == 3
    assert [c["name"] for c in result["containers"]] == ["c0", "c1", "c2"]


async def test_list_entry_carries_what_an_agent_chooses_by(client, executor) -> None:
    """Each entry has id, name, image, status, health, labels, compose fields, networks, times."""
    labels = {"com.docker.compose.project": "shop", "com.docker.compose.service": "api"}
    listing(client, container(health="healthy", labels=labels, networks=("shop_default",)))
    (entry,) = (await executor.list_containers())["containers"]
    assert entry == {
        "container_id": CID,
        "name": "web",
        "id": CID,
        "image": "operator-core/busybox:test",
        "status": "running",
        "health": "healthy",
        "exit_code": None,
        "started_at": "2026-11-29T10:00:00+00:00",
        "finished_at": None,
        "restart_count": 0,
        "labels": labels,
        "compose_project": "shop",
        "compose_service": "api",
        "networks": ["shop_default"],
    }


async def test_list_with_no_match_runs_no_inspect(client, executor) -> None:
    """When nothing matches, the listing costs one process and returns an empty list."""
    calls = listing(client)
    result = await executor.list_containers(label="nothing=here")
    assert result == {"containers": [], "count": 0}
    assert len(calls) == 1


async def test_list_drops_entries_that_no_longer_match(client, executor) -> None:
    """A container whose state changed between ls and inspect is dropped from a status filter."""
    listing(
        client, container(id="a" * 64, name="a"), container(id="b" * 64, name="b", status="exited")
    )
    result = await executor.list_containers(status="running")
    assert [c["name"] for c in result["containers"]] == ["a"]


async def test_list_name_is_a_literal_part_of_the_name(client, executor) -> None:
    """Docker treats the name filter as a regex ('.' matches any character); here it is literal."""
    listing(client, container(id="a" * 64, name="api.v1"), container(id="b" * 64, name="apixv1"))
    result = await executor.list_containers(name="api.v1")
    assert [c["name"] for c in result["containers"]] == ["api.v1"]


async def test_list_health_none_means_no_health_check(client, executor) -> None:
    """``health="none"`` keeps containers without a health check and drops those with one."""
    listing(
        client, container(id="a" * 64, name="a"), container(id="b" * 64, name="b", health="healthy")
    )
    result = await executor.list_containers(health="none")
    assert [c["name"] for c in result["containers"]] == ["a"]


async def test_list_drops_containers_removed_before_the_inspect(client, executor) -> None:
    """A listed container gone by the time of the inspect is left out, not an error."""
    fake_cli(
        client,
        {
            "container ls": f"{CID}\n{'b' * 64}",
            "container inspect": failure(
                NoSuchContainer, f"Error: No such container: {'b' * 64}", as_json(container())
            ),
        },
    )
    result = await executor.list_containers()
    assert [c["id"] for c in result["containers"]] == [CID]


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


async def test_inspect_containers_reports_found_and_missing(client, executor) -> None:
    """One process reads all; found entries come in the order asked, missing ones are listed."""
    web, db = container(name="web"), container(id="d" * 64, name="db")
    fake_cli(
        client,
        {
            "container inspect": failure(
                NoSuchContainer,
                "Error response from daemon: No such container: ghost\n",
                as_json(db, web),
            )
        },
    )
    result = await executor.inspect_containers(["web", "ghost", "dddd", "web"])
    (args,), _ = client.cli.call_args
    assert args == ["docker", "container", "inspect", "web", "ghost", "dddd"]
    assert client.cli.call_count == 1
    assert [(c["reference"], c["name"]) for c in result["containers"]] == [
        ("web", "web"),
        ("dddd", "db"),
    ]
    assert result["missing"] == ["ghost"]


async def test_inspect_containers_all_missing(client, executor) -> None:
    """When no reference exists the result is empty found and every reference missing."""
    fake_cli(
        client,
        {
            "container inspect": failure(
                NoSuchContainer, "Error: No such container: a\nError: No such container: b", "[]"
            )
        },
    )
    result = await executor.inspect_containers(["a", "b"])
    assert result == {"containers": [], "missing": ["a", "b"]}


async def test_inspect_containers_empty_runs_nothing(client, executor) -> None:
    """An empty list of references is answered without a docker process."""
    assert await executor.inspect_containers([]) == {"containers": [], "missing": []}
    no_engine_call(client)


async def test_inspect_containers_other_failures_are_raised(client, executor) -> None:
    """A failure other than unknown containers (no engine) is not mistaken for 'missing'."""
    fake_cli(
        client,
        {
            "container inspect": failure(
                DockerException, "Cannot connect to the Docker daemon at unix:///x.sock", "[]"
            )
        },
    )
    with pytest.raises(EngineUnreachable):
        await executor.inspect_containers(["web"])


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


async def test_wait_healthy_is_met_after_polls(client, sleepy) -> None:
    """Polling continues through starting/unhealthy until healthy; met, with polls and time."""
    executor, _ = sleepy
    reads(
        client,
        container(health="starting", healthcheck=HC),
        container(health="unhealthy", healthcheck=HC),
        container(health="healthy", healthcheck=HC),
    )
    result = await executor.wait_for_container("web", "healthy", timeout=30)
    assert result == {
        "container_id": CID,
        "name": "web",
        "condition": "healthy",
        "met": True,
        "state": "running",
        "health": "healthy",
        "exit_code": None,
        "reason": None,
        "waited_s": 0.25,
        "polls": 3,
    }


async def test_wait_backs_off_and_never_sleeps_past_the_timeout(client, sleepy) -> None:
    """Pauses grow by 1.5x from 0.1 s to at most 2 s, and the last is cut to the time left."""
    executor, clock = sleepy
    reads(client, container())
    result = await executor.wait_for_container("web", "exited", timeout=10)
    assert clock.pauses[:3] == pytest.approx([0.1, 0.15, 0.225])
    assert max(clock.pauses) == 2.0
    assert sum(clock.pauses) == pytest.approx(10.0)
    assert (result["met"], result["waited_s"]) == (False, 10.0)
    assert "not exited within 10s; it is running" in result["reason"]


async def test_wait_timeout_zero_reads_once(client, sleepy) -> None:
    """timeout=0 is a single check: the answer now, without sleeping."""
    executor, clock = sleepy
    reads(client, container())
    result = await executor.wait_for_container("web", "running", timeout=0)
    assert (result["met"], result["polls"], clock.pauses) == (True, 1, [])


async def test_wait_healthy_without_health_check_settles_at_once(client, sleepy) -> None:
    """'healthy' on a container with no health check is met false after one read, with why."""
    executor, clock = sleepy
    reads(client, container())
    result = await executor.wait_for_container("web", "healthy", timeout=600)
    assert (result["met"], result["polls"], clock.pauses) == (False, 1, [])
    assert "no health check" in result["reason"]


async def test_wait_running_on_stopped_container_without_restart_policy(client, sleepy) -> None:
    """A stopped container that nothing will restart cannot become running: settled at once."""
    executor, _ = sleepy
    reads(client, container(status="exited", exit_code=3, restart_policy="no"))
    result = await executor.wait_for_container("web", "running", timeout=600)
    assert (result["met"], result["polls"], result["exit_code"]) == (False, 1, 3)
    assert "no restart policy" in result["reason"]


async def test_wait_running_keeps_waiting_when_a_restart_policy_applies(client, sleepy) -> None:
    """A container its restart policy will bring back is 'restarting': the wait goes on."""
    executor, _ = sleepy
    reads(
        client,
        container(status="restarting", exit_code=3, restart_policy="always"),
        container(status="restarting", exit_code=3, restart_policy="on-failure"),
        container(),
    )
    result = await executor.wait_for_container("web", "running", timeout=600)
    assert (result["met"], result["polls"]) == (True, 3)


@pytest.mark.parametrize(
    ("policy", "exit_code", "words"),
    [
        ("on-failure", 0, "on-failure does not restart a container that exited 0"),
        ("always", 137, "restart policy always did not restart it"),
        ("unless-stopped", 0, "restart policy unless-stopped did not restart it"),
        ("on-failure", 3, "ran out of retries"),
    ],
)
@pytest.mark.parametrize("condition", ["running", "healthy"])
async def test_wait_settles_at_once_for_a_container_its_policy_will_not_restart(
    client, sleepy, policy, exit_code, words, condition
) -> None:
    """An exited container under any restart policy stays down: settled after one read.

    The engine shows a container it will restart as 'restarting'; one left 'exited' exited
    0 under on-failure, was stopped by hand, ran out of retries or failed to start.
    """
    executor, clock = sleepy
    reads(
        client,
        container(status="exited", exit_code=exit_code, restart_policy=policy, healthcheck=HC),
    )
    result = await executor.wait_for_container("web", condition, timeout=600)
    assert (result["met"], result["polls"], clock.pauses) == (False, 1, [])
    assert words in result["reason"]
    assert f"will not become {condition} by itself" in result["reason"]


async def test_wait_exited_reports_the_exit_code(client, sleepy) -> None:
    """'exited' is met once the container stops, with its exit code."""
    executor, _ = sleepy
    reads(client, container(), container(status="exited", exit_code=3))
    result = await executor.wait_for_container("web", "exited", timeout=5)
    assert (result["met"], result["state"], result["exit_code"]) == (True, "exited", 3)


async def test_wait_counts_a_dead_container_as_stopped(client, sleepy) -> None:
    """A ``dead`` container has stopped: ``exited`` is met, ``running`` settles at once unmet.

    The engine marks a container it failed to remove ``dead``: it runs nothing and no
    restart policy brings it back, so neither wait may poll on until its timeout.
    """
    executor, _ = sleepy
    reads(client, container(), container(status="dead", exit_code=137))
    exited = await executor.wait_for_container("web", "exited", timeout=600)
    assert (exited["met"], exited["state"], exited["exit_code"]) == (True, "dead", 137)
    assert exited["polls"] == 2
    reads(client, container(status="dead", exit_code=137, restart_policy="always"))
    running = await executor.wait_for_container("web", "running", timeout=600)
    assert (running["met"], running["polls"]) == (False, 1)
    assert "container is dead (exit code 137)" in running["reason"]


async def test_wait_removed_on_missing_container_is_met(client, sleepy) -> None:
    """'removed' on a container that does not exist is met at once."""
    executor, _ = sleepy
    reads(client, GONE)
    result = await executor.wait_for_container("web", "removed", timeout=5)
    assert (result["met"], result["state"], result["polls"]) == (True, "removed", 1)
    assert result["container_id"] == "web"


async def test_wait_removed_follows_the_container_away(client, sleepy) -> None:
    """'removed' polls a live container until inspect says it is gone, keeping its id."""
    executor, _ = sleepy
    reads(client, container(), container(status="exited"), GONE)
    result = await executor.wait_for_container("web", "removed", timeout=5)
    assert (result["met"], result["polls"], result["container_id"]) == (True, 3, CID)


@pytest.mark.parametrize("condition", ["running", "healthy", "exited"])
async def test_wait_on_missing_container_raises(client, sleepy, condition) -> None:
    """Waiting for anything but 'removed' on a container that does not exist: ContainerNotFound."""
    executor, _ = sleepy
    reads(client, GONE)
    with pytest.raises(ContainerNotFound):
        await executor.wait_for_container("web", condition, timeout=5)


async def test_wait_exited_on_a_container_removed_meanwhile_is_met(client, sleepy) -> None:
    """A container removed during a wait for 'exited' has exited: met, state 'removed'."""
    executor, _ = sleepy
    reads(client, container(), GONE)
    result = await executor.wait_for_container("web", "exited", timeout=5)
    assert (result["met"], result["state"]) == (True, "removed")


async def test_wait_healthy_on_a_container_removed_meanwhile_is_not_met(client, sleepy) -> None:
    """A container removed during a wait for 'healthy' never will be: met false, said why."""
    executor, _ = sleepy
    reads(client, container(health="starting", healthcheck=HC), GONE)
    result = await executor.wait_for_container("web", "healthy", timeout=5)
    assert (result["met"], result["state"]) == (False, "removed")
    assert "removed while waiting" in result["reason"]


async def test_wait_does_not_block_the_event_loop(client, executor) -> None:
    """Other tasks keep running while a wait polls (real clock, real sleeps)."""
    reads(client, container())
    ticks = 0

    async def ticker() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    task = asyncio.create_task(ticker())
    result = await executor.wait_for_container("web", "exited", timeout=0.5)
    task.cancel()
    assert result["met"] is False
    # It waited its 0.5 s and returned; 5 s of slack for a loaded machine.
    assert 0.5 <= result["waited_s"] < 5.0
    # About 50 ticks in 0.5 s; a loop blocked by the wait ticks once at most.
    assert ticks >= 5


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
