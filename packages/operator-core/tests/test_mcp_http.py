"""The MCP server over real HTTP: token, TLS, Host checks, bounded sessions, slow clients.

Each test serves a fake-engine server on 127.0.0.1 (ephemeral port) in its own event
loop and talks to it with a real HTTP client (httpx2, the MCP SDK's) or raw sockets.
Waits are ordered by what the server does (a close, an answer); the ``asyncio.timeout``
around them only keeps a broken rule from hanging the suite.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import ssl
from typing import Any
from urllib.parse import urlsplit

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from typer.testing import CliRunner

from http_serving import INIT, MCP_HEADERS, TOKEN, self_signed, serving
from operator_core.cli import app
from operator_core.mcp.auth import BearerToken
from operator_core.mcp.http import HttpLimits, HttpOptions, RefusalThrottle

HANG_GUARD = 60  # seconds: far past every bound under test; only a broken rule reaches it
WITH_TOKEN = HttpOptions(token=BearerToken(TOKEN, "test"))
WIDE = {"COLUMNS": "200"}


async def _init(http: httpx2.AsyncClient, url: str, **headers: str) -> httpx2.Response:
    """POST an initialize request with ``headers`` added."""
    return await http.post(url, json=INIT, headers={**MCP_HEADERS, **headers})


def _bearer(token: str = TOKEN) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


async def test_without_the_token_a_request_gets_401_with_a_bearer_challenge():
    """No Authorization header: 401, WWW-Authenticate Bearer, a JSON-RPC error body."""
    async with serving(WITH_TOKEN) as url, httpx2.AsyncClient() as http:
        answer = await _init(http, url)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == 'Bearer realm="operator-core"'
    assert answer.json()["error"]["code"] == -32001
    assert "mcp-session-id" not in answer.headers


@pytest.mark.parametrize(
    "authorization",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", "Bearer", f"Basic {TOKEN}", TOKEN],
    ids=["longer", "shorter", "empty", "basic-scheme", "no-scheme"],
)
async def test_a_wrong_token_gets_401_and_opens_no_session(authorization):
    """A wrong token (or scheme) is refused with 401 before the MCP server sees it."""
    async with serving(WITH_TOKEN) as url, httpx2.AsyncClient() as http:
        answer = await _init(http, url, authorization=authorization)
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith('Bearer realm="operator-core"')
    assert "mcp-session-id" not in answer.headers


async def test_two_authorization_headers_are_refused():
    """A request carrying the right token and another is refused (one credential only)."""
    async with serving(WITH_TOKEN) as url, httpx2.AsyncClient() as http:
        answer = await http.post(
            url,
            json=INIT,
            headers=[
                *MCP_HEADERS.items(),
                ("authorization", f"Bearer {TOKEN}"),
                ("authorization", "Bearer other-other-other-other"),
            ],
        )
    assert answer.status_code == 401


async def test_with_the_token_initialize_answers_200_and_a_session():
    """The right bearer token (scheme in any case) gets the MCP server's answer."""
    async with serving(WITH_TOKEN) as url, httpx2.AsyncClient() as http:
        answer = await _init(http, url, authorization=f"bearer {TOKEN}")
    assert answer.status_code == 200
    assert answer.headers["mcp-session-id"]
    assert '"serverInfo"' in answer.text


async def test_the_sdk_client_lists_tools_over_http_with_the_header():
    """An MCP client configured with the header uses every tool over HTTP."""
    async with (
        serving(WITH_TOKEN) as url,
        httpx2.AsyncClient(headers=_bearer()) as http,
        Client(streamable_http_client(url, http_client=http)) as client,
    ):
        tools = (await client.list_tools()).tools
        result = await client.call_tool("docker_inspect_container", {"container_id": "web"})
    assert "docker_list_containers" in {tool.name for tool in tools}
    assert result.is_error is False


@pytest.mark.parametrize("bind", ["127.0.0.1", "0.0.0.0", "::"])  # noqa: S104 (allowed names)
async def test_the_host_check_stays_with_a_token_on_any_bind(bind):
    """A right token with a Host this server is not called by: refused (DNS rebinding)."""
    options = HttpOptions(host=bind, token=BearerToken(TOKEN, "test"))
    async with serving(options) as url, httpx2.AsyncClient() as http:
        port = urlsplit(url).port
        answer = await _init(http, url, host=f"evil.example:{port}", **_bearer())
        allowed = await _init(http, url, host=f"localhost:{port}", **_bearer())
    assert answer.status_code == 421
    assert allowed.status_code == 200


async def test_the_health_check_answers_without_the_token_and_only_it():
    """GET /healthz: 200 without a token (for a container health check); /mcp still 401."""
    async with serving(WITH_TOKEN) as url, httpx2.AsyncClient() as http:
        health_url = url.replace("/mcp", "/healthz")
        health = await http.get(health_url)
        posted = await http.post(health_url, json={})
        other = await http.get(url.replace("/mcp", "/healthz/../mcp"))
        mcp = await http.get(url, headers=MCP_HEADERS)
    assert (health.status_code, health.json()) == (200, {"ok": True})
    assert posted.status_code == 401
    assert other.status_code == 401
    assert mcp.status_code == 401


async def test_the_token_never_reaches_the_logs(caplog):
    """Right and wrong tokens appear in no log record, even at debug level."""
    caplog.set_level(logging.DEBUG)
    wrong = "w" * 32
    async with serving(WITH_TOKEN) as url, httpx2.AsyncClient() as http:
        await _init(http, url, **_bearer(wrong))
        await _init(http, url, **_bearer())
    assert caplog.records
    assert TOKEN not in caplog.text
    assert wrong not in caplog.text
    assert TOKEN not in repr(WITH_TOKEN)


async def test_tls_serves_https_with_the_token(tmp_path):
    """With a certificate and key the server speaks HTTPS; the token check still applies."""
    cert, key = self_signed(tmp_path)
    options = HttpOptions(token=BearerToken(TOKEN, "test"), tls=(cert, key))
    trust = ssl.create_default_context(cafile=str(cert))
    async with serving(options) as url:
        assert url.startswith("https://")
        async with httpx2.AsyncClient(verify=trust) as http:
            refused = await _init(http, url)
            answered = await _init(http, url, **_bearer())
        async with httpx2.AsyncClient() as plain:
            with pytest.raises(httpx2.TransportError):
                await _init(plain, url.replace("https://", "http://"), **_bearer())
    assert refused.status_code == 401
    assert answered.status_code == 200


async def test_a_full_server_refuses_a_new_session_until_one_ends():
    """At the session limit a new initialize gets 503 and a JSON-RPC error; a DELETE frees room."""
    options = HttpOptions(limits=HttpLimits(max_sessions=2))
    async with serving(options) as url, httpx2.AsyncClient() as http:
        first, second = await _init(http, url), await _init(http, url)
        full = await _init(http, url)
        session = {"mcp-session-id": first.headers["mcp-session-id"]}
        ended = await http.delete(url, headers={**MCP_HEADERS, **session})
        after = await _init(http, url)
    assert (first.status_code, second.status_code) == (200, 200)
    assert full.status_code == 503
    assert full.json()["error"]["message"] == "Too many open sessions"
    assert ended.status_code == 200
    assert after.status_code == 200


def _refusal() -> logging.LogRecord:
    return logging.LogRecord(
        "mcp", logging.WARNING, __file__, 1, "Refusing to open a new session: %d", (2,), None
    )


def test_refusal_warnings_are_throttled_and_counted():
    """One refusal warning per interval; the next one says how many were held back."""
    now = [100.0]
    throttle = RefusalThrottle(interval=60, clock=lambda: now[0])
    other = logging.LogRecord("mcp", logging.WARNING, __file__, 1, "other", (), None)
    assert throttle.filter(_refusal()) is True
    assert [throttle.filter(_refusal()) for _ in range(3)] == [False] * 3
    assert throttle.filter(other) is True
    now[0] += 60
    record = _refusal()
    assert throttle.filter(record) is True
    assert record.getMessage() == (
        "Refusing to open a new session: 2 (3 more refused since the last warning)"
    )


async def test_a_flood_on_a_full_server_logs_one_refusal(caplog):
    """Five refused initializes in a row: one warning in the log, not five."""
    caplog.set_level(logging.WARNING)
    full = HttpOptions(limits=HttpLimits(max_sessions=1))
    async with serving(full) as url, httpx2.AsyncClient() as http:
        answers = [(await _init(http, url)).status_code for _ in range(6)]
    refusals = [r for r in caplog.records if r.getMessage().startswith("Refusing to open")]
    assert answers == [200] + [503] * 5
    assert len(refusals) <= 1


def test_the_default_bounds_are_100_sessions_10_minutes_10_seconds():
    """Out of the box (library and CLI): 100 sessions (the SDK alone: 10,000), 600 s, 10 s."""
    limits = HttpOptions().limits
    assert (limits.max_sessions, limits.session_idle_timeout) == (100, 600)
    assert (limits.header_timeout, limits.body_timeout) == (10, 10)
    help_text = " ".join(CliRunner().invoke(app, ["mcp", "--help"], env=WIDE).output.split())
    for default in ("default: 100;", "default: 600.0;", "default: 10.0;"):
        assert default in help_text


async def test_an_idle_session_is_closed_and_its_room_given_back():
    """A session with no request for the idle timeout is closed: a new one fits, its id 404s."""
    options = HttpOptions(limits=HttpLimits(max_sessions=1, session_idle_timeout=0.2))
    async with serving(options) as url, httpx2.AsyncClient() as http:
        idle = await _init(http, url)
        async with asyncio.timeout(HANG_GUARD):
            await _admitted(http, url)  # refused (503) until the idle one is closed
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        gone = await http.post(
            url,
            json=ping,
            headers={**MCP_HEADERS, "mcp-session-id": idle.headers["mcp-session-id"]},
        )
    assert idle.status_code == 200
    assert gone.status_code == 404


async def _admitted(http: httpx2.AsyncClient, url: str) -> None:
    """Return once an initialize is admitted, asking again after each 503."""
    for _ in itertools.count():
        if (await _init(http, url)).status_code != 503:
            return
        await asyncio.sleep(0.05)


async def _open(url: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    parts = urlsplit(url)
    return await asyncio.open_connection(parts.hostname, parts.port)


async def _until_closed(reader: asyncio.StreamReader) -> bytes:
    """Return what the server sent before it closed the connection."""
    async with asyncio.timeout(HANG_GUARD):
        return await reader.read()


SLOW_HEADERS = HttpOptions(limits=HttpLimits(header_timeout=0.3, body_timeout=HANG_GUARD * 2))
SLOW_BODY = HttpOptions(limits=HttpLimits(header_timeout=HANG_GUARD * 2, body_timeout=0.3))


async def test_connections_that_send_half_their_headers_are_closed():
    """50 clients each send part of a request's headers and stop: the server closes all 50."""
    async with serving(SLOW_HEADERS) as url:
        opened = [await _open(url) for _ in range(50)]
        for _, writer in opened:
            writer.write(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty")
            await writer.drain()
        answers = await asyncio.gather(*(_until_closed(reader) for reader, _ in opened))
        for _, writer in opened:
            writer.close()
    assert answers == [b""] * 50


async def test_a_connection_that_sends_nothing_is_closed():
    """A client that connects and never sends a byte is closed after the header bound."""
    async with serving(SLOW_HEADERS) as url:
        reader, writer = await _open(url)
        assert await _until_closed(reader) == b""
        writer.close()


async def test_a_slow_second_request_on_a_kept_alive_connection_is_closed():
    """After one full request and answer, the next request's headers have the same bound."""
    async with serving(SLOW_HEADERS) as url:
        reader, writer = await _open(url)
        writer.write(b"GET /nothing HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        await writer.drain()
        status = await reader.readline()
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"GET /nothing HTTP/1.1\r\nHo")
        await writer.drain()
        await _until_closed(reader)
        writer.close()
    assert status.startswith(b"HTTP/1.1 404")


async def test_a_body_sent_too_slowly_is_cut_off():
    """Headers promising 100 bytes, then 10: the connection is closed, nothing is served."""
    async with serving(SLOW_BODY) as url:
        reader, writer = await _open(url)
        writer.write(
            b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Accept: application/json, text/event-stream\r\nContent-Length: 100\r\n\r\n"
            b'{"jsonrpc"'
        )
        await writer.drain()
        answer = await _until_closed(reader)
        writer.close()
    assert b"mcp-session-id" not in answer.lower()
    assert not answer.startswith(b"HTTP/1.1 200")


async def test_a_whole_request_is_served_whatever_the_bounds():
    """A request that arrives whole is answered even with tight read bounds."""
    tight = HttpOptions(limits=HttpLimits(header_timeout=0.3, body_timeout=0.3))
    async with serving(tight) as url, httpx2.AsyncClient() as http:
        answers: list[Any] = [await _init(http, url) for _ in range(3)]
    assert [answer.status_code for answer in answers] == [200, 200, 200]
