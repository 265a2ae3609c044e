"""The container actions over the Engine API, with a fake client at the transport boundary.

Each test sets the engine's answers in a ``FakeApi`` and asserts on the result and on the
requests made (``record_requests``), never on a process.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api_fakes import CID, FakeApi, inspect_json
from operator_core.docker import DockerActionExecutor
from operator_core.errors import ContainerNotFound, ContainerStateError, InvalidInput
from operator_core.testing import record_requests


class Clock:
    """A monotonic clock moved by hand (a stop takes as long as a test says)."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def api() -> FakeApi:
    """A fake engine holding one running container, ``web``."""
    fake = FakeApi()
    fake.add(inspect_json())
    return fake


@pytest.fixture
def clock() -> Clock:
    """The executor's clock."""
    return Clock()


@pytest.fixture
def executor(api: FakeApi, clock: Clock) -> DockerActionExecutor:
    """An executor over the fake engine."""
    return DockerActionExecutor(api=api, clock=clock)


def becomes(api: FakeApi, doc: dict[str, object], then: Callable[[], None] | None = None):
    """Return a handler that makes the container ``doc`` (after running ``then``)."""

    def handler(method: str, path: str, query: dict[str, str], body: object) -> None:
        if then is not None:
            then()
        api.add(doc)

    return handler


async def test_stop_sends_the_grace_and_reads_a_sigkill_after_it(api, executor, clock) -> None:
    """Stop asks the engine with t=grace; 137 after the whole grace is killed, not graceful."""

    def take_grace() -> None:
        clock.now += 3

    api.on("POST", "/stop", becomes(api, inspect_json(status="exited", exit_code=137), take_grace))
    with record_requests() as seen:
        result = await executor.stop_container("web", timeout=3)
    assert [(r.method, r.path, r.params) for r in seen] == [
        ("GET", "/containers/web/json", {}),
        ("POST", f"/containers/{CID}/stop", {"t": "3"}),
        ("GET", f"/containers/{CID}/json", {}),
    ]
    assert (result["killed"], result["graceful_shutdown"], result["exit_code"]) == (
        True,
        False,
        137,
    )


async def test_stop_that_exits_0_in_the_grace_is_graceful(api, executor, clock) -> None:
    """A container that exits 0 before the grace ends shut down gracefully."""
    api.on("POST", "/stop", becomes(api, inspect_json(status="exited", exit_code=0)))
    result = await executor.stop_container("web", timeout=10)
    assert (result["graceful_shutdown"], result["killed"]) == (True, False)


async def test_start_of_a_paused_container_is_refused_without_a_start(api, executor) -> None:
    """A paused container is not started: ContainerStateError, and no POST was sent."""
    api.add(inspect_json(status="paused"))
    with record_requests() as seen, pytest.raises(ContainerStateError, match="unpause"):
        await executor.start_container("web")
    assert [r.method for r in seen] == ["GET"]


async def test_a_container_gone_before_the_act_is_named_as_asked(api, executor) -> None:
    """Removed between the read and the start: ContainerNotFound names 'web', not its id."""
    api.add(inspect_json(status="exited"))

    def gone(method: str, path: str, query: dict[str, str], body: object) -> None:
        raise ContainerNotFound(CID)

    api.on("POST", "/start", gone)
    with pytest.raises(ContainerNotFound) as caught:
        await executor.start_container("web")
    assert caught.value.reference == "web"


async def test_kill_racing_an_exit_reports_nothing_sent(api, executor) -> None:
    """The engine refuses the kill (409) but the container has exited: no signal sent, no error."""

    def refused(method: str, path: str, query: dict[str, str], body: object) -> None:
        api.add(inspect_json(status="exited", exit_code=0))
        raise ContainerStateError("Container web is not running")

    api.on("POST", "/kill", refused)
    result = await executor.kill_container("web", "SIGTERM")
    assert (result["signal_sent"], result["changed"], result["state"]) == (False, False, "exited")
    assert api.requests[1].params == {"signal": "SIGTERM"}


async def test_list_sends_the_filters_and_drops_containers_gone_meanwhile(api, executor) -> None:
    """The listing carries the filters as JSON; a container removed before its read is left out."""

    def listing(method: str, path: str, query: dict[str, str], body: object) -> list[object]:
        return [{"Id": CID}, {"Id": "gone"}]

    api.on("GET", "/containers/json", listing)
    result = await executor.list_containers(label="team=a", status="running")
    assert result["count"] == 1
    assert api.requests[0].params == {
        "all": "0",
        "filters": '{"label": ["team=a"], "status": ["running"]}',
    }


async def test_exec_exit_code_comes_from_the_exec_inspect(api, executor) -> None:
    """Stdout and stderr come apart from the frames; the exit code is the exec inspect's."""
    api.on("POST", f"/containers/{CID}/exec", lambda *_: {"Id": "e1"})
    api.on("GET", "/exec/e1/json", lambda *_: {"Running": False, "ExitCode": 3})
    api.frames_of["/exec/e1/start"] = [("stdout", b"out\n"), ("stderr", b"err\n")]
    with record_requests() as seen:
        result = await executor.execute_command("web", ["sh", "-c", "x"], env={"TOKEN": "s3cret"})
    assert (result["exit_code"], result["stdout"], result["stderr"]) == (3, "out\n", "err\n")
    assert "s3cret" not in repr(seen)


async def test_a_timed_out_exec_is_killed_inside_the_container(api, executor) -> None:
    """Past its timeout the exec's stream is closed and a second exec kills its processes."""
    made: list[object] = []

    def create(method: str, path: str, query: dict[str, str], body: object) -> dict[str, object]:
        made.append(body)
        return {"Id": f"e{len(made)}"}

    api.on("POST", f"/containers/{CID}/exec", create)
    api.on("GET", "/exec/e2/json", lambda *_: {"Running": False, "ExitCode": 0})
    api.frames_of["/exec/e1/start"] = [("stdout", b"started\n")]
    api.hanging.add("/exec/e1/start")
    api.frames_of["/exec/e2/start"] = [("stdout", b"killed=2 remaining=0\n")]
    result = await executor.execute_command("web", ["sleep", "100"], timeout=0.2)
    assert (result["timed_out"], result["exit_code"]) == (True, None)
    assert result["cleanup"] == {"killed": 2, "remaining": 0, "error": None}
    command, cleanup = made
    assert isinstance(command, dict)
    assert isinstance(cleanup, dict)
    marker = next(e for e in command["Env"] if e.startswith("OPERATOR_CORE_EXEC_ID="))
    assert cleanup["Cmd"][:2] == ["sh", "-c"]
    assert cleanup["Cmd"][-1] == marker.split("=", 1)[1]


async def test_logs_are_split_by_stream_and_tailed_by_the_engine(api, executor) -> None:
    """The engine is asked for the tail; its frames become lines of their own stream."""
    api.frames_of[f"/containers/{CID}/logs"] = [
        ("stdout", b"2026-11-29T10:00:01.000000000Z out\n"),
        ("stderr", b"2026-11-29T10:00:02.000000000Z err\n"),
    ]
    result = await executor.get_container_logs("web", tail=5)
    assert [(line["stream"], line["text"]) for line in result["lines"]] == [
        ("stdout", "out"),
        ("stderr", "err"),
    ]
    assert api.requests[-1].params["tail"] == "5"


async def test_engine_identity_is_read_from_info(api, executor) -> None:
    """GET /info gives the engine's ID and, in a swarm, its cluster and node."""
    info = {
        "ID": "E1",
        "Name": "eng",
        "Swarm": {
            "NodeID": "N1",
            "LocalNodeState": "active",
            "ControlAvailable": True,
            "Cluster": {"ID": "C1"},
        },
    }
    api.on("GET", "/info", lambda *_: info)
    found = await executor.engine_identity()
    assert found == {
        "engine_id": "E1",
        "engine_name": "eng",
        "cluster_id": "C1",
        "node_id": "N1",
        "manager": True,
    }


@pytest.mark.parametrize(
    "call",
    [
        lambda ex: ex.stop_container("web;rm", timeout=1),
        lambda ex: ex.kill_container("web", "SIGNOPE"),
        lambda ex: ex.execute_command("web", []),
        lambda ex: ex.get_container_logs("web", tail=0),
        lambda ex: ex.list_containers(status="sleepy"),
    ],
)
async def test_bad_input_makes_no_request(executor, call) -> None:
    """Malformed arguments raise InvalidInput before any request is made."""
    with record_requests() as seen, pytest.raises(InvalidInput):
        await call(executor)
    assert seen == []


async def test_connect_of_a_missing_container_names_it_and_reads_no_network(api, executor) -> None:
    """A missing container raises ContainerNotFound naming it; the network is not read."""
    with record_requests() as requests, pytest.raises(ContainerNotFound) as caught:
        await executor.connect_container_to_network("ghost", "backend")
    assert caught.value.reference == "ghost"
    assert not [r for r in requests if "/networks" in r.path]


async def test_inspect_of_only_missing_containers_finds_none(api, executor) -> None:
    """When no reference exists, nothing is found and every reference is missing."""
    result = await executor.inspect_containers(["a", "b"])
    assert result == {"containers": [], "missing": ["a", "b"]}


async def test_logs_of_a_missing_container_are_not_read(api, executor) -> None:
    """An inspect that finds no container raises ContainerNotFound; no log is requested."""
    with record_requests() as requests, pytest.raises(ContainerNotFound, match="ghost"):
        await executor.get_container_logs("ghost")
    assert not [r for r in requests if r.path.endswith("/logs")]


class CountingApi(FakeApi):
    """A fake engine that counts how often its pool is closed."""

    def __init__(self) -> None:
        super().__init__()
        self.closes = 0

    async def close(self) -> None:
        self.closes += 1


async def test_leaving_an_async_with_closes_the_executors_pool() -> None:
    """``async with DockerActionExecutor(...)`` closes its connection pool on leaving, once.

    Also when the block raises: the error goes on, the pool is closed.
    """
    api = CountingApi()
    async with DockerActionExecutor(api=api) as executor:
        assert isinstance(executor, DockerActionExecutor)
        assert api.closes == 0
    assert api.closes == 1
    with pytest.raises(RuntimeError, match="inside"):
        async with DockerActionExecutor(api=api):
            raise RuntimeError("inside")
    assert api.closes == 2
