"""``post_json`` and ``AlertReceiver`` pinned: the exact request, each answer, each failure.

A scripted asyncio server on 127.0.0.1 answers (or not) as each test says; nothing leaves
the machine.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime

import pytest
import time_machine

from operator_core import __version__
from operator_core.watch.alerts import AlertReceiver, SendFailed, post_json
from operator_core.watch.alerts.http import _request

Answer = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    """A one-line HTTP server: records each request's bytes and answers with ``answer``."""

    def __init__(self, answer: Answer) -> None:
        self.answer, self.requests = answer, []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        self.requests.append(head + await reader.readexactly(length))
        await self.answer(reader, writer)
        writer.close()


def status(line: bytes) -> Answer:
    """An answer that sends ``line`` and closes."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(line)
        await writer.drain()

    return answer


async def serve(answer: Answer) -> AsyncIterator[Server]:
    """Run a Server on an ephemeral port for the test's duration."""
    server = Server(answer)
    listening = await asyncio.start_server(server.handle, "127.0.0.1", 0)
    server.port = listening.sockets[0].getsockname()[1]
    async with listening:
        yield server


async def post_to(answer: Answer, path: str = "/a/b?x=1", token: str | None = "tok") -> int:  # noqa: S107 (a fake)
    """POST b'{"a":1}' to a server answering ``answer``; return the status."""
    async for server in serve(answer):
        return await post_json(
            f"http://127.0.0.1:{server.port}{path}", b'{"a":1}', token=token, timeout_s=30
        )
    raise AssertionError("no server")


async def test_the_request_is_exactly_one_json_post_with_its_headers():
    """Request line with path and query, Host with port, type, length, agent, close, token."""
    async for server in serve(status(b"HTTP/1.1 202 Accepted\r\n\r\n")):
        url = f"http://127.0.0.1:{server.port}/a/b?x=1"
        assert await post_json(url, b'{"a":1}', token="tok", timeout_s=30) == 202  # noqa: S106 (a fake)
        (request,) = server.requests
        assert request == (
            b"POST /a/b?x=1 HTTP/1.1\r\n"
            + f"Host: 127.0.0.1:{server.port}\r\n".encode()
            + b"Content-Type: application/json\r\n"
            b"Content-Length: 7\r\n"
            + f"User-Agent: operator-core/{__version__}\r\n".encode()
            + b"Connection: close\r\n"
            b"Authorization: Bearer tok\r\n"
            b'\r\n{"a":1}'
        )


async def test_without_a_token_there_is_no_authorization_and_an_empty_path_is_slash():
    """No token: no Authorization header; no path: '/'."""
    async for server in serve(status(b"HTTP/1.0 200 OK\r\n\r\n")):
        url = f"http://127.0.0.1:{server.port}"
        assert await post_json(url, b"{}", token=None, timeout_s=30) == 200
        assert server.requests[0].startswith(b"POST / HTTP/1.1\r\n")
        assert b"Authorization" not in server.requests[0]


def test_default_ports_and_ipv6_hosts():
    """http: port 80, https: 443 and TLS; an IPv6 host is bracketed in Host."""
    host, port, tls, request = _request("https://[::1]/x", b"{}", None)
    assert (host, port, tls) == ("::1", 443, True)
    assert b"\r\nHost: [::1]\r\n" in request
    host, port, tls, request = _request("http://example.org/p?q=2&r", b"{}", None)
    assert (host, port, tls) == ("example.org", 80, False)
    assert request.startswith(b"POST /p?q=2&r HTTP/1.1\r\nHost: example.org\r\n")
    assert _request("https://[::1]:8443", b"{}", None)[3].split(b"\r\n")[1] == b"Host: [::1]:8443"


def test_a_sink_url_with_non_ascii_characters_is_sent_encoded_not_a_crash():
    """A path or query beyond ASCII is percent-encoded UTF-8, a host name IDNA-encoded.

    Before, such a URL (which the policy accepts) raised UnicodeEncodeError in the
    sending task: an error of ours that stopped the whole watch at the next offer.
    """
    host, _, _, request = _request("http://bücher.example/café/€?q=é&r=%20", b"{}", None)
    assert host == "bücher.example"
    assert request.startswith(
        b"POST /caf%C3%A9/%E2%82%AC?q=%C3%A9&r=%20 HTTP/1.1\r\nHost: xn--bcher-kva.example\r\n"
    )
    kept = "/a/b_c-d.e~f?x=1&y=[2]:3@4!5$6'7(8)9*0+1,2;3"
    assert _request(f"http://h{kept}", b"{}", None)[3].startswith(f"POST {kept} ".encode())


def test_a_host_name_idna_cannot_encode_is_refused_for_good():
    """A host label IDNA refuses (over 63 characters): SendFailed, not retried."""
    with pytest.raises(SendFailed) as caught:
        _request("http://" + "ü" * 64 + ".example/", b"{}", None)
    assert str(caught.value) == "the sink's host name is not a valid IDNA name"
    assert caught.value.retry is False


@pytest.mark.parametrize("code", [200, 204, 299])
async def test_any_2xx_is_delivered(code):
    """The status of a 2xx answer is returned."""
    assert await post_to(status(f"HTTP/1.1 {code} X\r\n\r\n".encode())) == code


async def test_a_status_line_without_a_reason_phrase_is_http():
    """'HTTP/1.1 204' (the reason phrase may be left out) is a 204; extra words do not count."""
    assert await post_to(status(b"HTTP/1.1 204\r\n\r\n")) == 204
    assert await post_to(status(b"HTTP/1.1 201 Created and more\r\n\r\n")) == 201


@pytest.mark.parametrize(
    ("code", "retry"),
    [(199, False), (300, False), (301, False), (400, False), (404, False), (407, False),
     (408, True), (429, True), (499, False), (500, True), (503, True)],
)  # fmt: skip
async def test_other_answers_fail_saying_the_code_and_whether_to_retry(code, retry):
    """408, 429 and 5xx may pass (retry); redirects and other 4xx will not."""
    with pytest.raises(SendFailed) as caught:
        await post_to(status(f"HTTP/1.1 {code} X\r\n\r\n".encode()))
    assert (str(caught.value), caught.value.retry) == (f"the receiver answered HTTP {code}", retry)


@pytest.mark.parametrize(
    "line", [b"hello there\r\n", b"HTTP/1.1\r\n", b"HTTP/1.1 abc\r\n", b"FTP/1 200 OK\r\n"]
)
async def test_an_answer_that_is_not_http_may_pass(line):
    """A status line that is not HTTP's: SendFailed, retry."""
    with pytest.raises(SendFailed) as caught:
        await post_to(status(line))
    assert (str(caught.value), caught.value.retry) == ("the receiver did not answer HTTP", True)


async def test_a_receiver_that_closes_without_answering_may_pass():
    """Closed before a status line (or one longer than the stream's limit): retry."""
    for answer in (status(b""), status(b"HTTP/1.1 200" + b"x" * 70000)):
        with pytest.raises(SendFailed) as caught:
            await post_to(answer)
        assert str(caught.value) == "the receiver closed without an HTTP answer"
        assert caught.value.retry is True


async def test_a_receiver_that_never_answers_times_out():
    """No answer within timeout_s: SendFailed saying the bound, retry."""
    never = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await never.wait()

    async for server in serve(silent):
        with pytest.raises(SendFailed) as caught:
            await post_json(f"http://127.0.0.1:{server.port}/", b"{}", token=None, timeout_s=0.05)
        assert (str(caught.value), caught.value.retry) == ("no answer within 0.05s", True)
        never.set()


async def test_a_refused_connection_may_pass_and_never_names_the_url():
    """Nobody listening: SendFailed naming the OS error, not the URL; retry."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
    url = f"http://127.0.0.1:{port}/s3cr3t"
    with pytest.raises(SendFailed) as caught:
        await post_json(url, b"{}", token="tok", timeout_s=30)  # noqa: S106 (a fake)
    assert str(caught.value).startswith("ConnectionRefusedError: ")
    assert "s3cr3t" not in str(caught.value)
    assert caught.value.retry is True


async def test_https_to_a_plain_receiver_is_a_tls_failure():
    """An https URL is spoken TLS (system CAs by default): a plain answer fails, retry."""

    async def plain(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" * 20)  # at once, not TLS
        await writer.drain()
        writer.close()

    listening = await asyncio.start_server(plain, "127.0.0.1", 0)
    port = listening.sockets[0].getsockname()[1]
    async with listening:
        with pytest.raises(SendFailed) as caught:
            await post_json(f"https://127.0.0.1:{port}/", b"{}", token=None, timeout_s=30)
    assert str(caught.value).startswith("SSLError: ")
    assert caught.value.retry is True


def post(url: str, body: bytes, content_type: bool = True) -> int:
    """POST ``body`` with urllib (a plain client); return the status."""
    request = urllib.request.Request(url, data=body, method="POST")  # noqa: S310 (local)
    if content_type:
        request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 (local)
        return int(answer.status)


@time_machine.travel("2026-11-29T10:00:00Z", tick=False)
def test_the_receiver_records_each_post_and_answers_its_status():
    """Each POST: arrival time, path, headers, JSON body (or the text); the set status."""
    with AlertReceiver() as receiver:
        assert receiver.url == f"http://127.0.0.1:{receiver.port}"
        assert receiver.port != 0
        assert post(f"{receiver.url}/api/v2/alerts", b'[{"a":1}]') == 200
        receiver.status = 204
        assert post(f"{receiver.url}/x", b"not json \xff") == 204
        assert receiver.wait_for(lambda got: len(got) == 2, 30)
    first, second = receiver.received
    arrived = datetime(2026, 11, 29, 10, tzinfo=UTC).timestamp()
    assert (first.at, first.path, first.body) == (arrived, "/api/v2/alerts", [{"a": 1}])
    assert first.headers["Content-Type"] == "application/json"
    assert (second.path, second.body) == ("/x", "not json \ufffd")


def test_the_receiver_can_be_stopped_and_started_again_on_its_port():
    """stop(): refused; start(): the same port again; wait_for says False when not met."""
    receiver = AlertReceiver().start()
    port = receiver.port
    receiver.stop()
    receiver.stop()  # twice: nothing to do
    with pytest.raises(OSError, match="refused"):
        post(f"http://127.0.0.1:{port}/", b"{}")
    assert receiver.start() is receiver
    assert receiver.port == port
    assert post(f"{receiver.url}/", b"{}") == 200
    assert receiver.wait_for(lambda got: len(got) == 1, 30)
    assert receiver.wait_for(lambda got: len(got) == 2, 0.01) is False
    receiver.stop()


def test_a_tls_receiver_says_https():
    """Given a server TLS context the URL is https."""
    receiver = AlertReceiver(tls=ssl.create_default_context(ssl.Purpose.CLIENT_AUTH))
    assert receiver.url == "https://127.0.0.1:0"


def test_a_post_without_a_length_is_an_empty_body_and_the_answer_has_no_body():
    """No Content-Length: nothing is read (an empty text body); the answer says length 0."""
    with AlertReceiver() as receiver, socket.create_connection(("127.0.0.1", receiver.port)) as raw:
        raw.settimeout(30)
        raw.sendall(b"POST /bare HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while b"\r\n\r\n" not in answer:
            answer += raw.recv(4096)
        assert receiver.wait_for(lambda got: len(got) == 1, 30)
    assert answer.startswith(b"HTTP/1.0 200 ")
    assert b"\r\nContent-Length: 0\r\n" in answer
    assert (receiver.received[0].path, receiver.received[0].body) == ("/bare", "")


def test_stopping_a_receiver_never_started_does_nothing():
    """stop() before start() is harmless."""
    receiver = AlertReceiver()
    receiver.stop()
    assert receiver.received == []


def test_the_receivers_thread_never_holds_the_process_up():
    """The serving thread is a daemon: a test that forgets stop() still lets Python exit."""
    before = set(threading.enumerate())
    receiver = AlertReceiver().start()
    started = set(threading.enumerate()) - before
    receiver.stop()
    assert started
    assert all(thread.daemon for thread in started)
