"""Answer every JSON-RPC message the MCP SDK cannot read, so no client waits forever.

The SDK's stdio transport hands the server an exception for a line it cannot parse or
validate (``"jsonrpc": "1.0"``, a batch array, a lone surrogate, nesting past its
parser's limit, not JSON at all), and the server only logs it: a client that sent an
id then waits for an answer that never comes. ``AnsweringReadStream`` sits between the
transport and the server: each such exception becomes a JSON-RPC error on the write
stream, ``-32700`` (parse error) or ``-32600`` (invalid request), carrying the request's
id when one can be read (``null`` otherwise, as JSON-RPC says); every other message
passes through untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Generic, Protocol, TypeVar

import anyio
import mcp_types as types
from mcp.shared.message import SessionMessage
from pydantic import ValidationError

__all__ = ["AnsweringReadStream", "Receiving", "Sending", "rejections"]

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)

#: The longest line whose id is looked for after the SDK refused it (bigger: id null).
_ID_SCAN_MAX = 1 << 20
#: The most errors sent for one batch array (one per request id found in it).
_BATCH_ANSWERS_MAX = 100


def rejections(exc: Exception) -> list[types.JSONRPCError]:
    """Return the JSON-RPC errors that answer the message ``exc`` was raised for.

    A message that is not valid JSON gets ``-32700``; valid JSON that is not a single
    JSON-RPC 2.0 message gets ``-32600``. A batch gets one error per request id in it.
    """
    if not isinstance(exc, ValidationError):
        return [_error(None, types.PARSE_ERROR, f"Parse error: {type(exc).__name__}")]
    errors = exc.errors(include_url=False)
    for error in errors:
        if error.get("type") == "json_invalid":
            reason = str(error.get("msg", "invalid JSON")).removeprefix("Invalid JSON: ")
            given = error.get("input")
            return [_error(_id_in_text(given), types.PARSE_ERROR, f"Parse error: {reason}")]
    given = _whole_message(errors)
    if isinstance(given, list):
        ids = [_id_of(item) for item in given[:_BATCH_ANSWERS_MAX]]
        found: list[str | int | None] = [each for each in ids if each is not None] or [None]
        message = "Invalid Request: batches are not supported; send one message per line"
        return [_error(each, types.INVALID_REQUEST, message) for each in found]
    return [
        _error(
            _id_of(given),
            types.INVALID_REQUEST,
            'Invalid Request: not a JSON-RPC 2.0 message (it needs "jsonrpc": "2.0", a '
            '"method" and, for a request, an integer or string "id")',
        )
    ]


def _whole_message(errors: Sequence[Mapping[str, object]]) -> object:
    """Return the decoded message a validation failure was about, as well as it can be found.

    Each error carries the value it concerns: a field's for a wrong field, the whole
    message for a missing field (a request has no ``result``, so the response member of
    the union always reports one) or for a message of the wrong type (a batch array).
    """
    wholes = [e.get("input") for e in errors if isinstance(e.get("input"), dict | list)]
    with_id = [whole for whole in wholes if isinstance(whole, dict) and "id" in whole]
    return (with_id or wholes or [None])[0]


def _error(request_id: str | int | None, code: int, message: str) -> types.JSONRPCError:
    """Return one JSON-RPC error answering ``request_id``."""
    return types.JSONRPCError(
        jsonrpc="2.0", id=request_id, error=types.ErrorData(code=code, message=message)
    )


def _id_of(message: object) -> str | int | None:
    """Return the id of a decoded message if it is one JSON-RPC allows and we can echo."""
    if not isinstance(message, dict):
        return None
    found = message.get("id")
    if isinstance(found, bool) or not isinstance(found, str | int):
        return None
    if isinstance(found, str):
        try:
            found.encode("utf-8")  # a lone surrogate cannot be sent back
        except UnicodeEncodeError:
            return None
        return found[:200]
    return found if -(2**63) <= found < 2**63 else None


def _id_in_text(text: object) -> str | int | None:
    """Return the id of a line the SDK's parser refused, read by the standard library's.

    Python's parser accepts what the SDK's refuses (lone surrogates) and nests deeper;
    too deep even for it, or too long to scan, the id stays unknown.
    """
    if not isinstance(text, str) or len(text) > _ID_SCAN_MAX:
        return None
    try:
        return _id_of(json.loads(text))
    except (ValueError, RecursionError):
        return None


class Receiving(Protocol[T_co]):
    """What ``AnsweringReadStream`` wraps: a transport's read stream (anyio's, the SDK's)."""

    async def receive(self) -> T_co:
        """Return the next item (a message, or the exception reading one raised)."""
        ...

    async def aclose(self) -> None:
        """Close the stream."""
        ...


class Sending(Protocol):
    """Where ``AnsweringReadStream`` answers: the transport's write stream."""

    async def send(self, item: SessionMessage, /) -> None:
        """Send ``item`` to the client."""
        ...


class AnsweringReadStream(Generic[T]):
    """The transport's read stream, with unreadable messages answered on ``write_stream``.

    Iterating yields the messages the SDK read; an exception in their place is answered
    (see ``rejections``) and skipped. ``last_context`` is the wrapped stream's (the SDK
    restores the sender's context from it).
    """

    def __init__(self, inner: Receiving[T | Exception], write_stream: Sending) -> None:
        self._inner = inner
        self._write = write_stream

    @property
    def last_context(self) -> object:
        """The sender's context of the last message received (from the wrapped stream)."""
        return getattr(self._inner, "last_context", None)

    async def receive(self) -> T:
        """Return the next readable message, having answered any unreadable ones before it."""
        while True:
            item = await self._inner.receive()
            if not isinstance(item, Exception):
                return item
            for error in rejections(item):
                await self._write.send(SessionMessage(error))

    async def aclose(self) -> None:
        """Close the wrapped stream."""
        await self._inner.aclose()

    def __aiter__(self) -> AnsweringReadStream[T]:
        return self

    async def __anext__(self) -> T:
        try:
            return await self.receive()
        except anyio.EndOfStream:
            raise StopAsyncIteration from None

    async def __aenter__(self) -> AnsweringReadStream[T]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> bool | None:
        await self.aclose()
        return None
