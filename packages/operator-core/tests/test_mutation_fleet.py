"""The fleet's promises, each pinned whole (issue 20: mutants of fleet/ that survived).

``FleetExecutor`` routes a call to the host it names and adds ``host`` to what comes back;
a fleet listing with no host answering is one error naming every host; ``Fleet.check``
reports each host in full; a host's ``endpoint`` is how the Engine API client reaches it,
labelled with the host's name. Hosts are fakes: no engine, no process, no network.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from docker_contexts import write_context
from operator_core.errors import EngineUnreachable, InvalidInput, InventoryError, OperatorError
from operator_core.fleet import Fleet, FleetExecutor, inventory_from_dict
from operator_core.fleet.inventory import TLSFiles


class Host:
    """A host's executor: lists one container named after it, or fails with ``error``."""

    def __init__(self, name: str, error: OperatorError | None = None) -> None:
        self.name = name
        self.error = error
        self.calls: list[tuple[str, tuple[object, ...], dict[str, object]]] = []

    async def list_containers(self, **filters: object) -> dict[str, Any]:
        self.calls.append(("list_containers", (), dict(filters)))
        if self.error is not None:
            raise self.error
        return {"containers": [{"id": f"{self.name}-1", "name": "web"}], "count": 1}

    async def restart_container(self, *args: object, **kwargs: object) -> dict[str, Any]:
        self.calls.append(("restart_container", args, dict(kwargs)))
        return {"id": f"{self.name}-1", "action": "restart"}

    async def get_container_logs(self, *args: object, **kwargs: object) -> str:
        self.calls.append(("get_container_logs", args, dict(kwargs)))
        return f"logs of {self.name}"

    def call_bound(self, method: str, arguments: Mapping[str, object]) -> float:
        """Return this host's bound of ``method``: its base, more for a restart's timeout."""
        base = {"a": 11.0, "b": 22.0}.get(self.name, 33.0)
        timeout = arguments.get("timeout", 0)
        extra = (
            float(timeout) if method == "restart_container" and isinstance(timeout, int) else 0.0
        )
        return base + extra


def fleet_of(hosts: dict[str, Host], default: str | None = None) -> FleetExecutor:
    """Return a FleetExecutor over ``hosts`` (the first is the default unless named)."""
    data = {
        "default": default or next(iter(hosts)),
        "hosts": {
            name: {"url": f"unix:///{name}.sock", "labels": {"name": name}} for name in hosts
        },
    }
    fleet = Fleet(
        inventory_from_dict(data),
        client_factory=lambda entry: None,  # type: ignore[arg-type,return-value]
        executor_factory=lambda entry, client: hosts[entry.name],  # type: ignore[arg-type,return-value]
    )
    return FleetExecutor(fleet)


def unreachable(host: str) -> EngineUnreachable:
    """Return the error of a host that cannot be reached."""
    return EngineUnreachable(f"could not reach {host}")


# --- FleetExecutor --------------------------------------------------------------------------


async def test_a_listing_on_one_named_host_asks_only_it_and_names_it_on_each_entry() -> None:
    """host="b" lists b's containers (not the default host's), each with host b, no errors."""
    hosts = {"a": Host("a"), "b": Host("b")}
    result = await fleet_of(hosts).list_containers(host="b", all=True)
    assert result == {
        "containers": [{"id": "b-1", "name": "web", "host": "b"}],
        "count": 1,
        "host_errors": [],
    }
    assert hosts["b"].calls == [("list_containers", (), {"all": True})]
    assert hosts["a"].calls == []


async def test_a_fleet_listing_with_some_hosts_answering_is_a_result_not_an_error() -> None:
    """One dead host of two: the other's containers come back, the dead one in host_errors."""
    hosts = {"a": Host("a"), "b": Host("b", unreachable("b"))}
    result = await fleet_of(hosts).list_containers()
    assert [c["host"] for c in result["containers"]] == ["a"]
    assert result["host_errors"] == [
        {"host": "b", "type": "engine_unreachable", "message": "could not reach b"}
    ]


async def test_a_fleet_listing_with_no_host_answering_is_one_error_naming_each_host() -> None:
    """Every host dead: EngineUnreachable saying, for each host, its error's type and words."""
    hosts = {"a": Host("a", unreachable("a")), "b": Host("b", unreachable("b"))}
    with pytest.raises(EngineUnreachable) as caught:
        await fleet_of(hosts).list_containers()
    assert str(caught.value) == (
        "no host of the fleet answered: a: engine_unreachable: could not reach a; "
        "b: engine_unreachable: could not reach b"
    )


async def test_the_error_of_a_fleet_with_no_host_answering_is_bounded() -> None:
    """Five hosts failing with long messages: the one error is cut at 1000 characters."""
    names = [f"h{i}" for i in range(5)]
    hosts = {name: Host(name, EngineUnreachable(name + "x" * 400)) for name in names}
    with pytest.raises(EngineUnreachable) as caught:
        await fleet_of(hosts).list_containers()
    said = str(caught.value)
    assert len(said) == 1000
    assert said.startswith("no host of the fleet answered: h0: engine_unreachable: h0xxx")


async def test_an_action_goes_to_the_named_host_and_its_result_names_that_host() -> None:
    """Restarting on host b runs on b only, with the call's arguments; the result has host b."""
    hosts = {"a": Host("a"), "b": Host("b")}
    fleet = fleet_of(hosts)
    result = await fleet.restart_container("web", host="b", timeout=3)
    assert result == {"host": "b", "id": "b-1", "action": "restart"}
    assert hosts["b"].calls == [("restart_container", ("web",), {"timeout": 3})]
    assert hosts["a"].calls == []


async def test_an_action_naming_no_host_goes_to_the_default_host() -> None:
    """No host argument: the inventory's default host acts (here b, not the first)."""
    hosts = {"a": Host("a"), "b": Host("b")}
    result = await fleet_of(hosts, default="b").restart_container("web")
    assert result == {"host": "b", "id": "b-1", "action": "restart"}
    assert hosts["a"].calls == []


async def test_a_result_that_is_not_a_mapping_comes_back_as_the_host_gave_it() -> None:
    """A host's text result is returned unchanged (no host key can be added to it)."""
    hosts = {"a": Host("a"), "b": Host("b")}
    assert await fleet_of(hosts).get_container_logs("web", host="b") == "logs of b"


def test_only_the_executors_public_methods_are_routed() -> None:
    """A private name or one the executor lacks is an AttributeError, not a routed call."""
    fleet = fleet_of({"a": Host("a")})
    for name in ("_call", "no_such_method", "routes_hosts_elsewhere"):
        with pytest.raises(AttributeError):
            getattr(fleet, name)
    assert fleet.restart_container.__name__ == "restart_container"


def test_the_bound_of_a_call_is_the_named_hosts_else_the_defaults() -> None:
    """call_bound asks the host named by the arguments, or the default host without one."""
    fleet = fleet_of({"a": Host("a"), "b": Host("b")}, default="b")
    assert fleet.call_bound("restart_container", {"host": "a"}) == 11.0
    assert fleet.call_bound("restart_container", {}) == 22.0
    assert fleet.call_bound("restart_container", {"host": None}) == 22.0
    # The host's own rule gets the method and the call's arguments.
    assert fleet.call_bound("restart_container", {"host": "a", "timeout": 5}) == 16.0
    assert fleet.call_bound("stop_container", {"host": "a", "timeout": 5}) == 11.0


def test_a_host_whose_executor_states_no_bound_has_none() -> None:
    """An executor without call_bound gives None (the tool layer then uses its own)."""

    class Plain:
        pass

    fleet = Fleet(
        inventory_from_dict({"hosts": {"a": {"url": "unix:///a.sock"}}}),
        client_factory=lambda entry: None,  # type: ignore[arg-type,return-value]
        executor_factory=lambda entry, client: Plain(),  # type: ignore[arg-type,return-value]
    )
    assert FleetExecutor(fleet).call_bound("restart_container", {}) is None


def test_the_fleet_executor_tells_its_hosts_default_and_labels() -> None:
    """names, default and host_labels are the inventory's."""
    fleet = fleet_of({"a": Host("a"), "b": Host("b")}, default="b")
    assert fleet.names == ("a", "b")
    assert fleet.default == "b"
    assert fleet.host_labels() == {"a": {"name": "a"}, "b": {"name": "b"}}
    assert fleet.routes_hosts is True


# --- Fleet.resolve and Fleet.check ----------------------------------------------------------


def test_an_unknown_host_name_is_shown_cut_to_80_characters() -> None:
    """A long unknown name is quoted in the error, cut at 80 characters."""
    fleet = fleet_of({"a": Host("a")}).fleet
    with pytest.raises(InvalidInput) as caught:
        fleet.resolve("z" * 200)
    said = str(caught.value)
    assert f"no host named {'z' * 80!r} in the inventory (<inventory>). Hosts: a." == said


def test_an_unknown_host_close_to_a_known_one_is_suggested() -> None:
    """'edg' for 'edge-123' (similarity 0.55) gets a 'Did you mean'; 'zz' gets none."""
    data = {
        "default": "edge-123",
        "hosts": {"edge-123": {"url": "unix:///e.sock"}, "db": {"url": "unix:///d.sock"}},
    }
    fleet = Fleet(inventory_from_dict(data))
    with pytest.raises(InvalidInput, match="Did you mean 'edge-123'"):
        fleet.resolve("edg")
    with pytest.raises(InvalidInput) as caught:
        fleet.resolve("zz")
    assert "Did you mean" not in str(caught.value)


class Info:
    """A docker client whose ``system.info()`` answers or fails."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.system = self

    def info(self) -> Any:
        if self.name == "dead":
            raise EngineUnreachable("could not reach the Docker engine: refused")
        return SimpleNamespace(server_version="27.1", containers_running=2, containers=5)


def ticking(*values: float) -> Iterator[float]:
    """Return a clock's readings, one per call."""
    yield from values


async def test_check_reports_every_field_of_a_reachable_and_a_dead_host() -> None:
    """Each host's entry, in inventory order, is whole; latency is the round trip in ms."""
    data = {
        "default": "up",
        "hosts": {"up": {"url": "unix:///up.sock"}, "dead": {"context": "far"}},
    }
    fleet = Fleet(
        inventory_from_dict(data),
        client_factory=lambda entry: Info(entry.name),  # type: ignore[arg-type,return-value]
        clock=lambda: 100.0,
    )
    report = await fleet.check()
    assert report == {
        "hosts": [
            {
                "host": "up",
                "address": "unix:///up.sock",
                "reachable": True,
                "engine_version": "27.1",
                "containers_running": 2,
                "containers_total": 5,
                "latency_ms": 0.0,
                "error": None,
            },
            {
                "host": "dead",
                "address": "context far",
                "reachable": False,
                "engine_version": None,
                "containers_running": None,
                "containers_total": None,
                "latency_ms": None,
                "error": {
                    "type": "engine_unreachable",
                    "message": "could not reach the Docker engine: refused",
                },
            },
        ],
        "reachable": 1,
    }


async def test_a_hosts_latency_is_its_round_trip_in_milliseconds_to_a_tenth() -> None:
    """Started at 100.0 s, answered at 100.0123456 s: 12.3 ms."""
    clock = ticking(100.0, 100.0123456)
    fleet = Fleet(
        inventory_from_dict({"hosts": {"up": {"url": "unix:///up.sock"}}}),
        client_factory=lambda entry: Info(entry.name),  # type: ignore[arg-type,return-value]
        clock=lambda: next(clock),
    )
    (entry,) = (await fleet.check())["hosts"]
    assert entry["latency_ms"] == 12.3


class Hung:
    """A docker client whose ``system.info()`` blocks until ``gate`` is set."""

    def __init__(self, gate: threading.Event) -> None:
        self.gate = gate
        self.system = self

    def info(self) -> Any:
        self.gate.wait(10)
        return SimpleNamespace(server_version="27.1", containers_running=0, containers=0)


async def test_a_hung_hosts_check_says_which_call_passed_its_deadline() -> None:
    """The timeout names the call: docker info on that host, and the host's deadline."""
    gate = threading.Event()
    data = {"hosts": {"slow": {"url": "unix:///slow.sock", "deadline_s": 0.01}}}
    fleet = Fleet(
        inventory_from_dict(data),
        client_factory=lambda entry: Hung(gate),  # type: ignore[arg-type,return-value]
    )
    try:
        (entry,) = (await fleet.check())["hosts"]
    finally:
        gate.set()
    assert entry["error"] is not None
    assert entry["error"]["type"] == "timeout"
    assert entry["error"]["message"].startswith(
        "docker info on slow did not finish within its deadline of 0.01s"
    )


# --- a host's endpoint ----------------------------------------------------------------------


def test_a_url_hosts_endpoint_is_its_url_with_tls_labelled_with_its_name(tmp_path: Path) -> None:
    """A tcp:// host with TLS: the API reaches its URL over its TLS files; the label names it."""
    for name in ("ca.pem", "cert.pem", "key.pem"):
        (tmp_path / name).write_text("x")
    data = {
        "hosts": {
            "build": {
                "url": "tcp://build.example",
                "tls": {"ca": "ca.pem", "cert": "cert.pem", "key": "key.pem"},
            }
        }
    }
    entry = inventory_from_dict(data, base=tmp_path).host("build")
    endpoint = entry.endpoint()
    assert endpoint.url == "tcp://build.example:2376"  # the TLS port: TLS was passed on
    assert endpoint.tls == TLSFiles(
        tmp_path / "ca.pem", tmp_path / "cert.pem", tmp_path / "key.pem"
    )
    assert endpoint.label == "build (tcp://build.example)"


def test_a_context_hosts_endpoint_comes_from_its_docker_context(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host given as a context is reached where the context says, labelled with its name."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    write_context(tmp_path, "staging", "tcp://staging.example:2375")
    entry = inventory_from_dict({"hosts": {"c": {"context": "staging"}}}).host("c")
    endpoint = entry.endpoint()
    assert (endpoint.url, endpoint.context) == ("tcp://staging.example:2375", "staging")
    assert endpoint.label == "c (context staging)"


def test_a_host_whose_context_is_gone_is_an_inventory_error_naming_the_host(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A context missing from the store: InventoryError starting with the host's entry."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path))
    entry = inventory_from_dict({"hosts": {"c": {"context": "gone"}}}).host("c")
    with pytest.raises(InventoryError) as caught:
        entry.endpoint()
    assert str(caught.value).startswith("hosts.c: no docker context named 'gone'")


async def test_a_fleets_own_executor_reaches_its_hosts_endpoint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without an executor_factory, each host's executor talks to that host's URL."""
    monkeypatch.delenv("DOCKER_HOST", raising=False)
    data = {
        "default": "a",
        "hosts": {"a": {"url": "unix:///run/a.sock"}, "b": {"url": "tcp://b:1"}},
    }
    async with Fleet(inventory_from_dict(data)) as fleet:
        endpoint = fleet.executor("b").endpoint  # type: ignore[attr-defined]
        assert (endpoint.url, endpoint.label) == ("tcp://b:1", "b (tcp://b:1)")
