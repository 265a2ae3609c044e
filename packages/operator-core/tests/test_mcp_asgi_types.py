"""``BearerAuth`` reads the ASGI scope as the values it holds (typed ``object``, not ``Any``).

The headers are ``[name, value]`` byte pairs in any iterable; an entry of another shape
is skipped, never trusted and never a crash.
"""

from __future__ import annotations

from collections.abc import Iterator

from operator_core.mcp.auth import BearerAuth, BearerToken, Message, Receive, Scope, Send

TOKEN = "t" * 32


async def _status(scope: Scope) -> int:
    """Return the status BearerAuth answers ``scope`` with (200: the app was reached)."""
    sent: list[Message] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await BearerAuth(app, BearerToken(TOKEN, "test"))(scope, receive, send)
    status = sent[0]["status"]
    assert isinstance(status, int)
    return status


def _scope(headers: object) -> Scope:
    return {"type": "http", "method": "POST", "path": "/mcp", "headers": headers}


async def test_the_token_gets_through_from_any_iterable_of_pairs():
    """A list, a tuple or a generator of pairs: the one Authorization header is read."""
    pair = (b"authorization", f"Bearer {TOKEN}".encode())

    def pairs() -> Iterator[tuple[bytes, bytes]]:
        yield pair

    for headers in ([pair], (list(pair),), pairs()):
        assert await _status(_scope(headers)) == 200


async def test_a_malformed_header_entry_is_skipped_not_trusted():
    """Entries that are not two byte strings are not read as headers; no headers: 401."""
    token = f"Bearer {TOKEN}"
    assert await _status(_scope([("authorization", token)])) == 401
    assert await _status(_scope([(b"authorization",)])) == 401
    assert await _status(_scope(b"authorization")) == 401
    assert await _status(_scope(None)) == 401
    mixed = [None, (b"authorization", token.encode())]
    assert await _status(_scope(mixed)) == 200
