"""Every kind of host over the Engine API: TLS (the spare engine 98), ssh (the lab's eng3).

The TLS engine is the lab's spare 98 (``lab.sh spare 98 --tls``: a tcp:// listener with
--tlsverify, its certificates from the lab's own CA); no other test uses it. The ssh host
is the lab's ssh:// engine, reached through one ssh master per client (``SSHBridge``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
from pathlib import Path

import pytest

from operator_core.docker import (
    DockerActionExecutor,
    TLSFiles,
    engine_client,
    record_requests,
    resolve_endpoint,
)
from operator_core.errors import EngineError, EngineUnreachable
from operator_core.fleet import Inventory

LAB = Path(__file__).resolve().parents[4] / "scripts" / "lab.sh"
TLS_DIR = Path("/run/operator-lab/tls")
SPARE = "98"


@pytest.fixture(scope="module")
def tls_engine(request: pytest.FixtureRequest) -> str:
    """The spare engine 98's TLS URL (tcp://127.0.0.1:PORT), started with its listener."""
    started = subprocess.run(
        ["bash", str(LAB), "spare", SPARE, "--tls"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if started.returncode != 0:
        problem = f"lab.sh spare {SPARE} --tls failed: {started.stderr.strip()[-500:]}"
        if request.config.getoption("--require-engine"):
            pytest.fail(problem)
        pytest.skip(problem)
    return started.stdout.strip().splitlines()[-2]


def _tls(**changes: object) -> TLSFiles:
    files = {"ca": TLS_DIR / "ca.pem", "cert": TLS_DIR / "cert.pem", "key": TLS_DIR / "key.pem"}
    return TLSFiles(**{**files, **changes})  # type: ignore[arg-type]


async def test_a_tls_engine_answers_over_the_api_with_the_labs_certificates(tls_engine):
    """tcp:// with the CA and client certificate: the spare engine's own /info, one request."""
    executor = DockerActionExecutor(endpoint=resolve_endpoint(tls_engine, tls=_tls()))
    try:
        with record_requests() as sent:
            info = await executor._api.get("/info")
        assert isinstance(info, dict)
        assert info["Name"] == f"lab-eng{SPARE}"
        assert [request[:2] for request in sent] == [("GET", "/info")]
    finally:
        await executor.aclose()


async def test_a_tls_engine_refuses_a_client_without_a_certificate(tls_engine):
    """--tlsverify: a client that shows no certificate is turned away, as an engine error."""
    client = engine_client(resolve_endpoint(tls_engine, tls=_tls(cert=None, key=None)))
    try:
        with pytest.raises(EngineError):
            await client.get("/info")
    finally:
        await client.close()


async def test_a_tls_engine_is_not_trusted_without_its_ca(tls_engine):
    """Verification on and the system's CAs only: the lab's server certificate is refused."""
    client = engine_client(resolve_endpoint(tls_engine, tls=_tls(ca=None)))
    try:
        with pytest.raises(EngineError):
            await client.get("/info")
    finally:
        await client.close()


def _ssh_host(lab: Inventory) -> str:
    for entry in lab.hosts.values():
        if entry.url is not None and entry.url.startswith("ssh://"):
            return entry.url
    raise AssertionError("the lab lists no ssh:// host")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_an_ssh_host_is_reached_through_one_ssh_connection_reused(lab):
    """Ten calls to the ssh host: one ssh master, one dial-stdio session.

    The pool's connection is reused; closing the client ends the master and removes its
    folder.
    """
    client = engine_client(resolve_endpoint(_ssh_host(lab)))
    try:
        for _ in range(10):
            info = await client.get("/info")
            assert isinstance(info, dict)
            assert info["Name"] == "lab-eng3"
        bridge = client._docker.connector.bridge  # type: ignore[union-attr]
        assert bridge.sessions_started == 1
        master = bridge.master_pid
        assert master is not None
        assert _alive(master)
        socket = bridge.socket_url
    finally:
        await client.close()
    assert not _alive(master)
    assert not Path(socket.removeprefix("unix://")).parent.exists()


async def test_a_cancelled_stream_over_ssh_ends_its_session(lab):
    """A followed /events cancelled: its connection is closed, and its session ends.

    The connection is not pooled, so its dial-stdio session ends; the next call opens a
    new one and works.
    """
    client = engine_client(resolve_endpoint(_ssh_host(lab)))
    try:
        await client.get("/info")
        connector = client._docker.connector  # type: ignore[union-attr]
        bridge = connector.bridge
        assert (bridge.sessions_started, bridge.open_sessions) == (1, 1)

        async def follow() -> None:
            async for _ in client.stream("GET", "/events"):
                pass

        task = asyncio.create_task(follow())
        async with asyncio.timeout(30):
            # Polled: neither aiohttp nor the bridge signals these moments.
            while not connector._acquired:  # noqa: ASYNC110 - the connection carries the stream
                await asyncio.sleep(0.01)
            task.cancel()
            with pytest.raises(asyncio.CancelledError):
                await task
            while bridge.open_sessions:  # noqa: ASYNC110
                await asyncio.sleep(0.01)
        info = await client.get("/info")
        assert isinstance(info, dict)
        assert info["Name"] == "lab-eng3"
        assert bridge.sessions_started == 2
    finally:
        await client.close()


async def test_an_ssh_host_that_refuses_is_unreachable_with_ssh_words():
    """ssh:// to a port nobody listens on: EngineUnreachable carrying what ssh said."""
    client = engine_client(resolve_endpoint("ssh://127.0.0.1:1"))
    try:
        with pytest.raises(EngineUnreachable, match="over ssh"):
            await client.get("/info")
    finally:
        await client.close()
