"""The fleet inventory and ``Fleet`` with fake hosts (the lab's engines: integration)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from python_on_whales import DockerClient

from docker_contexts import write_context
from operator_core.errors import (
    EngineUnreachable,
    InvalidInput,
    InventoryError,
    OperationTimeout,
    OperatorError,
)
from operator_core.fleet import (
    Fleet,
    host_error,
    inventory_from_dict,
    load_inventory,
    resolve_inventory_path,
)

THREE = {
    "default": "a",
    "hosts": {
        "a": {"url": "unix:///run/a.sock"},
        "b": {"url": "ssh://ops@b.example", "labels": {"env": "prod"}},
        "c": {"context": "staging", "deadline_s": 5},
    },
}


def test_inventory_keeps_hosts_in_order_with_their_settings():
    """Hosts keep the file's order; labels, context and deadline are read as given."""
    inventory = inventory_from_dict(THREE)
    assert inventory.names == ("a", "b", "c")
    assert inventory.default == "a"
    assert dict(inventory.host("b").labels) == {"env": "prod"}
    assert inventory.host("c").context == "staging"
    assert inventory.host("c").deadline_s == 5.0
    assert inventory.host("c").address == "context staging"


def test_one_host_needs_no_default():
    """With a single host, it is the default."""
    inventory = inventory_from_dict({"hosts": {"only": {"url": "unix:///x.sock"}}})
    assert inventory.default == "only"


@pytest.mark.parametrize(
    ("data", "fault"),
    [
        ({"hosts": {}}, "no host is defined"),
        ({"hosts": {"a": {"url": "unix:///a"}, "b": {"url": "unix:///b"}}}, "default: missing"),
        ({"default": "z", "hosts": {"a": {"url": "unix:///a"}}}, "'z' is not a host here"),
        ({"hosts": {"-bad": {"url": "unix:///a"}}}, "rename it"),
        ({"hosts": {"a b": {"url": "unix:///a"}}}, "rename it"),
        ({"hosts": {"a": {}}}, "give exactly one of url"),
        ({"hosts": {"a": {"url": "unix:///a", "context": "x"}}}, "give exactly one of url"),
        ({"hosts": {"a": {"url": "http://a"}}}, "must start with unix://"),
        ({"hosts": {"a": {"url": "unix:///a", "tls": {"ca": "x.pem"}}}}, "tcp:// url only"),
        ({"hosts": {"a": {"url": "tcp://a:2376", "tls": {"ca": "nope.pem"}}}}, "no such file"),
        ({"hosts": {"a": {"url": "unix:///a", "labels": {"env": 3}}}}, "table of strings"),
        ({"hosts": {"a": {"url": "unix:///a", "deadline_s": 0}}}, "above 0"),
        ({"hosts": {"a": {"url": "unix:///a", "deadline_s": True}}}, "above 0"),
        ({"hosts": {"a": {"url": "unix:///a", "colour": "red"}}}, "hosts.a.colour: unknown key"),
        ({"host": {}, "hosts": {"a": {"url": "unix:///a"}}}, "host: unknown key"),
    ],
)
def test_a_malformed_inventory_is_refused_with_its_fix(data, fault):
    """Each fault is named with what to do about it; nothing is guessed."""
    with pytest.raises(InventoryError) as caught:
        inventory_from_dict(data)
    assert fault in str(caught.value)


def test_every_fault_is_listed_at_once():
    """Two bad hosts give two lines, so one edit fixes the file."""
    data = {"default": "a", "hosts": {"a": {}, "b": {"url": "http://b"}}}
    with pytest.raises(InventoryError) as caught:
        inventory_from_dict(data)
    assert "2 problem(s)" in str(caught.value)


def test_tls_files_are_found_next_to_the_inventory(tmp_path: Path):
    """Relative TLS paths start at the inventory file's folder and become absolute."""
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    (tmp_path / "inv.toml").write_text(
        '[hosts.build]\nurl = "tcp://build:2376"\n'
        'tls = { ca = "ca.pem", cert = "cert.pem", key = "key.pem" }\n'
    )
    host = load_inventory(tmp_path / "inv.toml").host("build")
    assert host.tls is not None
    assert host.tls.ca == tmp_path / "ca.pem"
    cmd = [str(part) for part in host.client().client_config.docker_cmd]
    assert cmd[cmd.index("--tlscacert") + 1] == str(tmp_path / "ca.pem")
    assert "--tlsverify" in cmd


def test_a_host_client_reaches_it_as_the_docker_cli_would():
    """A url becomes --host, a context --context: the docker CLI does the transport."""
    inventory = inventory_from_dict(THREE)
    ssh = inventory.host("b").client()
    assert isinstance(ssh, DockerClient)
    assert "ssh://ops@b.example" in ssh.client_config.docker_cmd
    assert "staging" in inventory.host("c").client().client_config.docker_cmd


def test_unreadable_and_non_toml_files_are_inventory_errors(tmp_path: Path):
    """A missing file and broken TOML are InventoryError, which is a ValueError (exit 2)."""
    with pytest.raises(InventoryError, match="cannot read"):
        load_inventory(tmp_path / "missing.toml")
    (tmp_path / "bad.toml").write_text("hosts = [")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_inventory(tmp_path / "bad.toml")


def test_the_inventory_path_comes_from_option_then_environment_then_user_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    """--inventory wins over OPERATOR_INVENTORY, which wins over the user's file."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    monkeypatch.delenv("OPERATOR_INVENTORY", raising=False)
    assert resolve_inventory_path(None) is None
    user = tmp_path / "operator-core" / "inventory.toml"
    user.parent.mkdir()
    user.write_text("")
    assert resolve_inventory_path(None) == user
    monkeypatch.setenv("OPERATOR_INVENTORY", "/env.toml")
    assert resolve_inventory_path(None) == Path("/env.toml")
    assert resolve_inventory_path("/opt.toml") == Path("/opt.toml")


class FakeHost:
    """An executor whose listing answers, fails or hangs until released."""

    def __init__(self, name: str, behaviour: str = "ok") -> None:
        self.name = name
        self.behaviour = behaviour
        self.calls: list[dict[str, Any]] = []
        self.entered = asyncio.Event()
        self.answered = asyncio.Event()
        self.release = asyncio.Event()

    async def list_containers(self, **filters: Any) -> dict[str, Any]:
        if filters.get("status") == "bogus":
            raise InvalidInput("status must be one of ...")
        self.calls.append(filters)
        self.entered.set()
        if self.behaviour == "dead":
            raise EngineUnreachable("could not reach the Docker engine: Cannot connect")
        if self.behaviour == "hung":
            await self.release.wait()  # until "its deadline passes"
            raise OperationTimeout("list containers did not finish within its deadline of 5s")
        self.answered.set()
        return {"containers": [{"id": f"{self.name}1", "name": "web"}], "count": 1}


def fleet_of(**behaviours: str) -> tuple[Fleet, dict[str, FakeHost]]:
    """Return a fleet over fake hosts named after ``behaviours``' keys."""
    hosts = {name: FakeHost(name, b) for name, b in behaviours.items()}
    data = {
        "default": next(iter(hosts)),
        "hosts": {name: {"url": f"unix:///{name}.sock"} for name in hosts},
    }
    fleet = Fleet(
        inventory_from_dict(data),
        client_factory=lambda entry: None,
        executor_factory=lambda entry, client: hosts[entry.name],
    )
    return fleet, hosts


async def test_a_fleet_listing_covers_every_host_and_names_each_entrys_host():
    """The same name on two hosts is two containers, each with its host."""
    fleet, hosts = fleet_of(a="ok", b="ok")
    result = await fleet.list_containers(all=True)
    assert [(c["host"], c["id"]) for c in result["containers"]] == [("a", "a1"), ("b", "b1")]
    assert result["count"] == 2
    assert result["host_errors"] == []
    assert hosts["b"].calls == [{"all": True}]


async def test_a_dead_host_is_reported_and_the_others_still_answer():
    """A failing host is one entry of host_errors with its type; the rest are listed."""
    fleet, _ = fleet_of(a="ok", dead="dead")
    result = await fleet.list_containers()
    assert [c["host"] for c in result["containers"]] == ["a"]
    assert result["host_errors"] == [
        {
            "host": "dead",
            "type": "engine_unreachable",
            "message": "could not reach the Docker engine: Cannot connect",
        }
    ]


async def test_a_hung_host_does_not_hold_the_others_back():
    """The others answer while one host hangs; once its deadline passes it is a timeout."""
    fleet, hosts = fleet_of(a="ok", hung="hung")
    listing = asyncio.ensure_future(fleet.list_containers())
    await hosts["hung"].entered.wait()
    await hosts["a"].answered.wait()
    assert not listing.done()
    hosts["hung"].release.set()
    result = await listing
    assert [c["host"] for c in result["containers"]] == ["a"]
    assert [(e["host"], e["type"]) for e in result["host_errors"]] == [("hung", "timeout")]


async def test_bad_filters_are_the_callers_fault_not_a_hosts():
    """InvalidInput is raised, not spread over host_errors."""
    fleet, _ = fleet_of(a="ok", b="ok")
    with pytest.raises(InvalidInput):
        await fleet.list_containers(status="bogus")


async def test_a_bug_is_never_disguised_as_a_host_error():
    """An exception that is not an OperatorError propagates."""
    fleet, hosts = fleet_of(a="ok")

    async def broken(**filters: Any) -> dict[str, Any]:
        raise KeyError("oops")

    hosts["a"].list_containers = broken  # type: ignore[method-assign]
    with pytest.raises(KeyError):
        await fleet.list_containers()


def test_executors_are_built_once_per_host_and_unknown_hosts_are_refused():
    """executor(None) is the default host's; an unknown name says which exist."""
    built: list[str] = []
    fleet = Fleet(
        inventory_from_dict(THREE),
        client_factory=lambda entry: entry.name,
        executor_factory=lambda entry, client: built.append(client) or client,
    )
    assert fleet.executor() == "a"
    assert fleet.executor("a") == "a"
    assert fleet.executor("c") == "c"
    assert built == ["a", "c"]
    with pytest.raises(InvalidInput, match="Did you mean 'b'") as caught:
        fleet.executor("bb")
    assert "Hosts: a, b, c" in str(caught.value)


class Closable:
    """A host's executor that notes when it is closed."""

    def __init__(self) -> None:
        self.closed = 0

    async def aclose(self) -> None:
        self.closed += 1


async def test_leaving_an_async_with_closes_every_built_executor_once():
    """``async with Fleet(...)`` closes each host's executor built inside it, and only once.

    An executor left open keeps its connection pool until the loop is gone ("Event loop is
    closed" at exit); one built after leaving is a new one, closed by the next leave.
    """
    built: dict[str, Closable] = {}

    def make(entry: Any, client: Any) -> Any:
        built[entry.name] = Closable()
        return built[entry.name]

    fleet = Fleet(
        inventory_from_dict(THREE), client_factory=lambda e: e.name, executor_factory=make
    )
    async with fleet as entered:
        assert entered is fleet
        fleet.executor("a")
        fleet.executor("b")
    assert {name: ex.closed for name, ex in built.items()} == {"a": 1, "b": 1}
    await fleet.aclose()
    assert {name: ex.closed for name, ex in built.items()} == {"a": 1, "b": 1}


async def test_a_default_executor_is_bounded_by_its_hosts_deadline(tmp_path, monkeypatch):
    """Each host's executor carries the host's deadline_s as its call deadline."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    write_context(tmp_path, "staging", "tcp://staging.example:2375")
    fleet = Fleet(inventory_from_dict(THREE))
    assert fleet.executor("c")._call_deadline == 5.0
    assert fleet.executor("a")._call_deadline == 30.0


class FakeSystem:
    """A client whose ``system.info()`` answers, fails or blocks."""

    def __init__(self, behaviour: str, gate: threading.Event) -> None:
        self.behaviour = behaviour
        self.gate = gate
        self.system = self

    def info(self) -> Any:
        if self.behaviour == "dead":
            raise EngineUnreachable("could not reach the Docker engine: refused")
        if self.behaviour == "hung":
            self.gate.wait(10)
        return SimpleNamespace(server_version="27.0", containers_running=2, containers=5)


async def test_check_reports_each_host_and_a_hung_one_within_its_deadline():
    """A reachable host has version, counts and latency; a dead and a hung one their error."""
    gate = threading.Event()
    ticks = iter(range(100))
    data = {
        "default": "up",
        "hosts": {
            "up": {"url": "unix:///up.sock"},
            "dead": {"url": "unix:///dead.sock"},
            "hung": {"url": "unix:///hung.sock", "deadline_s": 0.05},
        },
    }
    fleet = Fleet(
        inventory_from_dict(data),
        client_factory=lambda entry: FakeSystem(entry.name, gate),
        clock=lambda: float(next(ticks)),
    )
    try:
        report = await fleet.check()
    finally:
        gate.set()
    up, dead, hung = report["hosts"]
    assert report["reachable"] == 1
    assert up["reachable"] is True
    assert (up["engine_version"], up["containers_running"], up["containers_total"]) == (
        "27.0",
        2,
        5,
    )
    assert up["latency_ms"] > 0
    assert up["error"] is None
    assert dead["error"]["type"] == "engine_unreachable"
    assert dead["latency_ms"] is None
    assert hung["reachable"] is False
    assert hung["error"]["type"] == "timeout"


def test_fleet_errors_are_operator_errors():
    """InventoryError sits in the one exception tree."""
    assert issubclass(InventoryError, OperatorError)


def test_an_ssh_failure_is_said_in_ssh_s_own_words():
    """Docker's long sentence about its connection helper is cut down to what ssh said."""
    said = (
        "could not reach the Docker engine: error during connect: Get "
        '"http://docker.example.com/v1.50/info": command [ssh -o ConnectTimeout=30 -T -l ops '
        "-p 1 -- 127.0.0.1 docker system dial-stdio] has exited with exit status 255, make "
        "sure the URL is valid, and Docker 18.09 or later is installed on the remote host: "
        "stderr=ssh: connect to host 127.0.0.1 port 1: Connection refused\n"
    )
    entry = host_error("edge", EngineUnreachable(said))
    assert entry["message"] == (
        "the connection helper (ssh) exited 255: ssh: connect to host 127.0.0.1 port 1: "
        "Connection refused"
    )
    assert host_error("a", EngineUnreachable("x" * 500))["message"] == "x" * 300
