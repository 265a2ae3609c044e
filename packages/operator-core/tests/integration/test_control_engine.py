"""Networks, signals, pause, discovery and waiting against a real Docker engine."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from python_on_whales import DockerClient
from python_on_whales.exceptions import DockerException

from operator_core.docker import DockerActionExecutor
from operator_core.errors import (
    ContainerNotFound,
    ContainerStateError,
    InvalidInput,
    NetworkNotFound,
)
from operator_core.testing import (
    IGNORES_SIGTERM,
    TEST_IMAGE,
    TEST_LABEL,
    count_docker_processes,
    record_requests,
    unique_name,
)

HTTPD = ("httpd", "-f", "-p", "8080", "-h", "/www")
#: PID 1 that prints "hup" on SIGHUP and keeps running.
TRAPS_HUP = ("sh", "-c", 'trap "echo hup" HUP; while true; do sleep 0.1; done')
#: Healthy once /tmp/ok exists; one failed check makes it unhealthy.
HEALTH = {"health_cmd": "test -f /tmp/ok", "health_interval": 1, "health_retries": 1}


@pytest.fixture
def executor(engine: DockerClient) -> DockerActionExecutor:
    """An executor on the local engine."""
    return DockerActionExecutor(engine)


def _label(group: dict[str, str]) -> str:
    """Return the label filter selecting ``group``."""
    ((key, value),) = group.items()
    return f"{key}={value}"


def _http_get(engine: DockerClient, client: str, address: str) -> str:
    """GET / from the busybox httpd at ``address`` from inside container ``client``."""
    request = f"printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 2 {address} 8080"
    return str(engine.execute(client, ["sh", "-c", request]))


def _address(engine: DockerClient, name: str, network: str) -> str:
    """Return the IP address of container ``name`` on ``network``."""
    endpoints = engine.container.inspect(name).network_settings.networks or {}
    return str(endpoints[network].ip_address)


async def _until(check, seconds: float = 15.0) -> None:
    """Poll the coroutine function ``check`` until it returns true, or fail."""
    deadline = time.monotonic() + seconds
    while not await check():
        assert time.monotonic() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


# --- networks -------------------------------------------------------------------------------


async def test_connect_reaches_httpd_and_disconnect_cuts_it_off(
    containers, executor, engine
) -> None:
    """Connecting a client to the httpd's network lets it fetch the page; disconnecting stops it."""
    net_a, net_b = containers.network(), containers.network()
    web = containers.run(*HTTPD, networks=[net_a])
    client = containers.run(*IGNORES_SIGTERM)
    address = _address(engine, web, net_a)
    with pytest.raises(DockerException):
        _http_get(engine, client, address)

    joined = await executor.connect_container_to_network(client, net_a, alias="probe")
    assert (joined["changed"], joined["network"], joined["networks"]) == (
        True,
        net_a,
        sorted(["bridge", net_a]),
    )
    assert "probe" in joined["aliases"]
    assert "operator-core test page" in _http_get(engine, client, address)
    lookup = engine.execute(web, ["nslookup", "probe", "127.0.0.11"])
    assert "Name:\tprobe" in lookup, "the alias should reach the network's DNS"

    again = await executor.connect_container_to_network(client, net_a, alias="probe")
    second = await executor.connect_container_to_network(client, net_b)
    assert again["changed"] is False
    assert (second["changed"], second["networks"]) == (True, sorted(["bridge", net_a, net_b]))

    left = await executor.disconnect_container_from_network(client, net_a)
    assert (left["changed"], left["connected"]) == (True, False)
    assert left["networks"] == sorted(["bridge", net_b])
    with pytest.raises(DockerException):
        _http_get(engine, client, address)
    gone = await executor.disconnect_container_from_network(client, net_a)
    assert (gone["changed"], gone["networks"]) == (False, sorted(["bridge", net_b]))


async def test_connect_with_another_alias_is_refused(containers, executor) -> None:
    """A container already on the network without the alias asked for is a ContainerStateError."""
    network = containers.network()
    name = containers.run(*IGNORES_SIGTERM, networks=[network])
    with pytest.raises(ContainerStateError, match="without the alias 'other'"):
        await executor.connect_container_to_network(name, network, alias="other")


async def test_network_errors_name_what_is_missing(containers, executor) -> None:
    """A missing network is NetworkNotFound, a missing container ContainerNotFound, each named."""
    network = containers.network()
    name = containers.run(*IGNORES_SIGTERM)
    ghost_net, ghost = unique_name("opc-no-net"), unique_name("opc-no-ctr")
    with pytest.raises(NetworkNotFound, match=ghost_net):
        await executor.connect_container_to_network(name, ghost_net)
    with pytest.raises(NetworkNotFound, match=ghost_net):
        await executor.disconnect_container_from_network(name, ghost_net)
    with pytest.raises(ContainerNotFound, match=ghost):
        await executor.connect_container_to_network(ghost, network)
    with pytest.raises(ContainerNotFound, match=ghost):
        await executor.disconnect_container_from_network(ghost, ghost_net)


async def test_stopped_container_can_be_connected(containers, executor, engine) -> None:
    """The engine connects a stopped container; its networks say so after."""
    network = containers.network()
    name = containers.run(*IGNORES_SIGTERM)
    engine.container.kill(name)
    result = await executor.connect_container_to_network(name, network)
    assert (result["changed"], result["connected"]) == (True, True)
    assert network in result["networks"]


# --- signals and pause ----------------------------------------------------------------------


async def test_sighup_reaches_a_trap_and_it_keeps_running(containers, executor, engine) -> None:
    """SIGHUP (given as a number) is delivered: the trap prints and the container stays up."""
    name = containers.run(*TRAPS_HUP)
    result = await executor.kill_container(name, 1)
    assert (result["signal"], result["signal_sent"], result["state"]) == ("SIGHUP", True, "running")
    assert result["exit_code"] is None

    async def printed() -> bool:
        return "hup" in engine.container.logs(name)

    await _until(printed, 5)


async def test_sigkill_leaves_the_container_exited_137(containers, executor) -> None:
    """The default SIGKILL ends the container; the result already reads exited with 137."""
    name = containers.run(*IGNORES_SIGTERM)
    result = await executor.kill_container(name)
    assert (result["signal"], result["state"], result["exit_code"]) == ("SIGKILL", "exited", 137)
    assert (result["previous_state"], result["changed"]) == ("running", True)


async def test_kill_on_stopped_container_sends_nothing(containers, executor, engine) -> None:
    """Killing an exited container is a success with signal_sent false and the reason."""
    name = containers.run("sh", "-c", "exit 3")
    engine.container.wait(name)
    result = await executor.kill_container(name, "SIGTERM")
    assert (result["signal_sent"], result["changed"], result["state"]) == (False, False, "exited")
    assert result["exit_code"] == 3
    assert "no process to signal" in result["reason"]


async def test_signalling_a_paused_container_resumes_it(containers, executor, engine) -> None:
    """The engine resumes a paused container it signals: paused before, running after."""
    name = containers.run(*TRAPS_HUP)
    engine.container.pause(name)
    result = await executor.kill_container(name, "HUP")
    assert (result["previous_state"], result["state"], result["signal_sent"]) == (
        "paused",
        "running",
        True,
    )


#: PID 1 that prints which real-time signal (37, 40, 50) reached it, and keeps running.
TRAPS_REALTIME = (
    "sh",
    "-c",
    'trap "echo rt37" 37; trap "echo rt40" 40; trap "echo rt50" 50; while true; do sleep 0.1; done',
)


async def test_real_time_signals_are_delivered(containers, executor, engine) -> None:
    """A number (40) and the names SIGRTMIN+3 and SIGRTMAX-14 reach the container's traps."""
    name = containers.run(*TRAPS_REALTIME)
    sent = [
        (await executor.kill_container(name, signal))["signal"]
        for signal in (40, "SIGRTMIN+3", "SIGRTMAX-14")
    ]
    assert sent == ["SIGRTMIN+6", "SIGRTMIN+3", "SIGRTMAX-14"]

    async def all_printed() -> bool:
        logs = engine.container.logs(name)
        return all(f"rt{number}" in logs for number in (37, 40, 50))

    await _until(all_printed, 10)
    assert (await executor.inspect_container(name))["state"]["running"] is True


async def test_pause_and_unpause_are_idempotent(containers, executor, engine) -> None:
    """Pause twice and unpause twice: the second of each changes nothing; the engine agrees."""
    name = containers.run(*IGNORES_SIGTERM)
    first = await executor.pause_container(name)
    assert engine.container.inspect(name).state.paused is True
    second = await executor.pause_container(name)
    resumed = await executor.unpause_container(name)
    assert engine.container.inspect(name).state.paused is False
    again = await executor.unpause_container(name)
    assert [first["changed"], second["changed"], resumed["changed"], again["changed"]] == [
        True,
        False,
        True,
        False,
    ]
    assert (first["state"], second["paused"], resumed["state"]) == ("paused", True, "running")


async def test_pausing_a_stopped_container_is_a_state_error(containers, executor, engine) -> None:
    """Pausing an exited container raises ContainerStateError; unpausing it changes nothing."""
    name = containers.run("sh", "-c", "exit 0")
    engine.container.wait(name)
    with pytest.raises(ContainerStateError, match="only a running container"):
        await executor.pause_container(name)
    result = await executor.unpause_container(name)
    assert (result["state"], result["changed"]) == ("exited", False)


# --- discovery ------------------------------------------------------------------------------


async def test_list_filters(containers, executor, engine, group) -> None:
    """Label, name, status, health and compose filters each select the right containers."""
    compose = {"com.docker.compose.project": "shop", "com.docker.compose.service": "api"}
    api = containers.run(*IGNORES_SIGTERM, labels={**group, **compose, "tier": "front"})
    worker = containers.run(*IGNORES_SIGTERM, labels={**group, "tier": "back"})
    failed = containers.run("sh", "-c", "echo oops >&2; exit 3", labels=group)
    checked = containers.run(*IGNORES_SIGTERM, labels=group, **HEALTH)
    engine.container.wait(failed)
    mine = _label(group)

    async def names(**filters: object) -> list[str]:
        listed = await executor.list_containers(label=[mine, *filters.pop("labels", [])], **filters)
        return sorted(entry["name"] for entry in listed["containers"])

    assert await names() == sorted([api, worker, checked])
    assert await names(all=True) == sorted([api, worker, failed, checked])
    assert await names(labels=["tier"]) == sorted([api, worker])
    assert await names(labels=["tier=back"]) == [worker]
    assert await names(name=api[-8:]) == [api]
    assert await names(status="exited") == [failed]
    assert await names(compose_project="shop") == [api]
    assert await names(compose_project="shop", compose_service="db") == []
    assert await names(health="none") == sorted([api, worker])

    async def unhealthy() -> bool:
        return await names(health="unhealthy") == [checked]

    await _until(unhealthy)
    engine.execute(checked, ["touch", "/tmp/ok"])

    async def healthy() -> bool:
        return await names(health="healthy") == [checked]

    await _until(healthy)


async def test_list_entry_fields(containers, executor, group) -> None:
    """An entry carries image, status, health, labels, compose fields, networks and started_at."""
    network = containers.network()
    compose = {"com.docker.compose.project": "shop", "com.docker.compose.service": "api"}
    name = containers.run(*IGNORES_SIGTERM, labels={**group, **compose}, networks=[network])
    (entry,) = (await executor.list_containers(label=_label(group)))["containers"]
    assert entry["name"] == name
    assert len(entry["id"]) == 64
    assert (entry["image"], entry["status"], entry["health"]) == (TEST_IMAGE, "running", None)
    assert (entry["compose_project"], entry["compose_service"]) == ("shop", "api")
    assert entry["labels"][TEST_LABEL] == "1"
    assert entry["networks"] == [network]
    assert entry["started_at"] is not None


async def test_list_costs_the_same_for_1_and_50_containers(containers, executor, group) -> None:
    """A listing is one list request whatever it finds, then one inspect per container."""
    one, fifty = {"opc.size": "1"}, {"opc.size": "50"}
    containers.run(*IGNORES_SIGTERM, labels={**group, **one})
    with ThreadPoolExecutor(8) as pool:
        list(
            pool.map(
                lambda _: containers.run(*IGNORES_SIGTERM, labels={**group, **fifty}), range(50)
            )
        )
    measured = {}
    for size, label in (("0", "opc.size=none"), ("1", "opc.size=1"), ("50", "opc.size=50")):
        began = time.monotonic()
        with count_docker_processes() as processes, record_requests() as requests:
            listed = await executor.list_containers(label=[_label(group), label])
        assert processes.count == 0
        lists = sum(r.path == "/containers/json" for r in requests)
        measured[size] = (listed["count"], lists, len(requests) - lists)
        print(f"list of {size}: {len(requests)} requests, {time.monotonic() - began:.2f}s")
    # One listing; then the inspects, sent together over the pool.
    assert measured["0"] == (0, 1, 0)
    assert measured["1"] == (1, 1, 1)
    assert measured["50"] == (50, 1, 50)


async def test_inspect_containers_with_a_missing_one(containers, executor) -> None:
    """One inspect per reference, no process; a missing reference is listed, not an error."""
    first = containers.run(*IGNORES_SIGTERM)
    second = containers.run("sh", "-c", "exit 3")
    ghost = unique_name("opc-no-ctr")
    with count_docker_processes() as processes, record_requests() as requests:
        result = await executor.inspect_containers([first, ghost, second])
    assert processes.count == 0
    assert sorted(r.path for r in requests) == sorted(
        f"/containers/{ref}/json" for ref in (first, ghost, second)
    )
    assert [entry["reference"] for entry in result["containers"]] == [first, second]
    assert result["containers"][0]["status"] == "running"
    assert result["missing"] == [ghost]


# --- waiting --------------------------------------------------------------------------------


async def test_wait_running_for_a_container_started_later(containers, executor, engine) -> None:
    """A wait for 'running' on a created container is met once something starts it."""
    name = unique_name()
    containers.names.append(name)
    engine.container.create(TEST_IMAGE, list(IGNORES_SIGTERM), name=name, labels={TEST_LABEL: "1"})

    async def start_later() -> None:
        await asyncio.sleep(0.7)
        await executor.start_container(name)

    starter = asyncio.create_task(start_later())
    result = await executor.wait_for_container(name, "running", timeout=10)
    await starter
    assert (result["met"], result["state"]) == (True, "running")
    # Started after 0.7 s, whenever the first poll came; met well before the 10 s timeout
    # (generous: the engine is shared and the machine may be loaded).
    assert 0.6 <= result["waited_s"] < 8


async def test_wait_healthy_follows_a_health_check_that_flips(containers, executor, engine) -> None:
    """Unhealthy first (a short wait times out as a result), then healthy once /tmp/ok exists."""
    name = containers.run(*IGNORES_SIGTERM, **HEALTH)
    check = engine.container.inspect(name).config.healthcheck
    assert check.test == ["CMD-SHELL", "test -f /tmp/ok"], "the health flags must reach the engine"
    assert check.interval == 1_000_000_000

    async def unhealthy() -> bool:
        return (await executor.inspect_container(name))["state"]["health"] == "unhealthy"

    await _until(unhealthy)
    short = await executor.wait_for_container(name, "healthy", timeout=1.5)
    assert (short["met"], short["health"]) == (False, "unhealthy")
    assert 1.5 <= short["waited_s"] < 1.5 + 5  # its timeout, plus slack for a loaded engine
    engine.execute(name, ["touch", "/tmp/ok"])
    result = await executor.wait_for_container(name, "healthy", timeout=20)
    assert (result["met"], result["health"], result["reason"]) == (True, "healthy", None)


async def test_wait_healthy_without_health_check_returns_at_once(containers, executor) -> None:
    """'healthy' on a container with no health check says so at once instead of waiting."""
    name = containers.run(*IGNORES_SIGTERM)
    began = time.monotonic()
    result = await executor.wait_for_container(name, "healthy", timeout=60)
    assert time.monotonic() - began < 30  # one poll (below); waiting would take the full 60 s
    assert (result["met"], result["polls"]) == (False, 1)
    assert "no health check" in result["reason"]


async def test_wait_running_settles_at_once_when_no_policy_will_restart(
    containers, executor, engine
) -> None:
    """'running' is settled at once (met false) for a container its policy will not restart.

    on-failure after exit 0, and always or unless-stopped once stopped by hand: the engine
    leaves each 'exited', never 'restarting', so the wait need not run out its timeout.
    """
    clean = containers.run("sh", "-c", "exit 0", restart="on-failure")
    always = containers.run(*IGNORES_SIGTERM, restart="always")
    unless = containers.run(*IGNORES_SIGTERM, restart="unless-stopped")
    engine.container.wait(clean)
    await asyncio.gather(
        executor.stop_container(always, timeout=0), executor.stop_container(unless, timeout=0)
    )
    for name, words in (
        (clean, "on-failure does not restart a container that exited 0"),
        (always, "restart policy always did not restart it"),
        (unless, "restart policy unless-stopped did not restart it"),
    ):
        began = time.monotonic()
        result = await executor.wait_for_container(name, "running", timeout=60)
        assert time.monotonic() - began < 30  # one poll (below); not the 60 s timeout
        assert (result["met"], result["polls"], result["state"]) == (False, 1, "exited")
        assert words in result["reason"]


async def test_wait_exited_reports_the_exit_code(containers, executor) -> None:
    """A wait for 'exited' is met when the command ends, with its exit code."""
    name = containers.run("sh", "-c", "sleep 1; echo oops >&2; exit 3")
    result = await executor.wait_for_container(name, "exited", timeout=15)
    assert (result["met"], result["state"], result["exit_code"]) == (True, "exited", 3)
    assert 0.5 <= result["waited_s"] < 10


async def test_wait_timeout_is_a_result(containers, executor) -> None:
    """A wait that runs out of time returns met false after about the timeout, no exception."""
    name = containers.run(*IGNORES_SIGTERM)
    began = time.monotonic()
    with record_requests() as processes:
        result = await executor.wait_for_container(name, "exited", timeout=1.5)
    took = time.monotonic() - began
    assert (result["met"], result["state"]) == (False, "running")
    assert 1.5 <= took < 1.5 + 8  # its timeout, plus slack for a loaded engine
    assert len(processes) == result["polls"]
    assert {r.path for r in processes} == {f"/containers/{name}/json"}


async def test_wait_removed(containers, executor, engine) -> None:
    """'removed' is met when the container is removed meanwhile, and at once when it never was."""
    name = containers.run(*IGNORES_SIGTERM)

    async def remove_later() -> None:
        await asyncio.sleep(0.5)
        await asyncio.to_thread(engine.container.remove, name, force=True)

    remover = asyncio.create_task(remove_later())
    result = await executor.wait_for_container(name, "removed", timeout=15)
    await remover
    assert (result["met"], result["state"]) == (True, "removed")
    assert len(result["container_id"]) == 64
    never = await executor.wait_for_container(unique_name("opc-no-ctr"), "removed", timeout=5)
    assert (never["met"], never["polls"]) == (True, 1)


async def test_wait_on_missing_container_is_not_found(engine, executor) -> None:
    """Waiting for exited, running or healthy on a missing container raises ContainerNotFound."""
    ghost = unique_name("opc-no-ctr")
    for condition in ("exited", "running", "healthy"):
        with pytest.raises(ContainerNotFound, match=ghost):
            await executor.wait_for_container(ghost, condition, timeout=5)


# --- costs and bad input --------------------------------------------------------------------


async def test_process_counts_per_method(containers, executor, group) -> None:
    """Each method makes a fixed, small number of API requests and no process."""
    network = containers.network()
    name = containers.run(*IGNORES_SIGTERM, labels=group)
    counts = {}
    for label, call in [
        ("connect", lambda: executor.connect_container_to_network(name, network)),
        ("connect (connected)", lambda: executor.connect_container_to_network(name, network)),
        ("disconnect", lambda: executor.disconnect_container_from_network(name, network)),
        ("disconnect (not)", lambda: executor.disconnect_container_from_network(name, network)),
        ("pause", lambda: executor.pause_container(name)),
        ("pause (paused)", lambda: executor.pause_container(name)),
        ("unpause", lambda: executor.unpause_container(name)),
        ("unpause (not)", lambda: executor.unpause_container(name)),
        ("list", lambda: executor.list_containers(label=_label(group))),
        ("inspect_containers", lambda: executor.inspect_containers([name, "opc-none"])),
        ("wait (met at once)", lambda: executor.wait_for_container(name, "running", 5)),
        ("kill", lambda: executor.kill_container(name)),
        ("kill (stopped)", lambda: executor.kill_container(name)),
    ]:
        with count_docker_processes() as processes, record_requests() as requests:
            await call()
        assert processes.count == 0, label
        counts[label] = len(requests)
    print(counts)
    assert counts == {
        "connect": 4,
        "connect (connected)": 2,
        "disconnect": 4,
        "disconnect (not)": 2,
        "pause": 3,
        "pause (paused)": 1,
        "unpause": 3,
        "unpause (not)": 1,
        "list": 2,
        "inspect_containers": 2,
        "wait (met at once)": 1,
        "kill": 3,
        "kill (stopped)": 1,
    }


async def test_bad_input_starts_no_docker_process(engine, executor) -> None:
    """Every malformed argument raises InvalidInput without a single docker process."""
    calls = [
        lambda: executor.connect_container_to_network("web", "-net"),
        lambda: executor.connect_container_to_network("web", "net", alias="bad alias"),
        lambda: executor.disconnect_container_from_network("web;rm", "net"),
        lambda: executor.disconnect_container_from_network("web", "net", force=1),
        lambda: executor.kill_container("web", "SIGNOPE"),
        lambda: executor.kill_container("web", 0),
        lambda: executor.pause_container(""),
        lambda: executor.unpause_container(None),
        lambda: executor.list_containers(status="sleeping"),
        lambda: executor.list_containers(health="fine"),
        lambda: executor.list_containers(label="=x"),
        lambda: executor.list_containers(name="a|b"),
        lambda: executor.inspect_containers("web"),
        lambda: executor.wait_for_container("web", "ready", 5),
        lambda: executor.wait_for_container("web", "running", -1),
        lambda: executor.wait_for_container("web", "running", 7200),
    ]
    with count_docker_processes() as processes:
        for call in calls:
            with pytest.raises(InvalidInput):
                await call()
    assert processes.count == 0
