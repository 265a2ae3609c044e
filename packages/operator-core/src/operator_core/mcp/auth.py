"""The bearer token of the MCP server over HTTP: where it comes from, and the check.

``operator mcp --transport streamable-http`` on an address other than loopback answers
only requests that carry ``Authorization: Bearer <token>``. The token comes from, in
this order: ``--token-file FILE``, the environment variable ``OPERATOR_MCP_TOKEN``, a
Docker secret at ``/run/secrets/operator_mcp_token``. It is never taken from the command
line (every local user reads that with ``ps``).

The check (``BearerAuth``, an ASGI middleware) compares SHA-256 digests of the presented
and the expected token with ``hmac.compare_digest``: the time it takes says nothing about
how much of a guess was right, nor about the token's length. A request without the
header, or with a wrong token, gets ``401`` and ``WWW-Authenticate: Bearer`` (RFC 6750),
and never reaches the MCP server. The token itself is never logged, shown or recorded:
``BearerToken`` prints as ``[REDACTED]``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import stat
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping
from pathlib import Path
from typing import Final

from operator_core.errors import InvalidInput

__all__ = [
    "DOCKER_SECRET",
    "MIN_TOKEN_LENGTH",
    "TOKEN_ENV",
    "ASGIApp",
    "BearerAuth",
    "BearerToken",
    "Message",
    "Receive",
    "Scope",
    "Send",
    "load_token",
    "token_advice",
]

# The ASGI interface, its values read as what they are (starlette's own aliases say Any):
# a starlette or SDK app is one of these, and so is the middleware around it.
#: A connection's scope, or one event sent or received on it.
Scope = MutableMapping[str, object]
Message = MutableMapping[str, object]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
#: An ASGI application.
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

logger = logging.getLogger(__name__)

#: The environment variable that may carry the token.
TOKEN_ENV: Final = "OPERATOR_MCP_TOKEN"  # noqa: S105 (a variable's name, not a token)
#: Where Docker (compose or swarm ``secrets:``) puts a secret named ``operator_mcp_token``.
DOCKER_SECRET: Final = Path("/run/secrets/operator_mcp_token")
#: A token shorter than this is refused: it could be guessed.
MIN_TOKEN_LENGTH: Final = 16
#: The most bytes read from a token file (a token is a line, not a document).
_MAX_TOKEN_FILE: Final = 4096
_REALM: Final = 'Bearer realm="operator-core"'


def token_advice() -> str:
    """Return how a person gives the server a token (for errors and help)."""
    return (
        "write a token to a file (`openssl rand -hex 32 > mcp.key; chmod 600 mcp.key`) and "
        f"give its path to the option --token-file, or set {TOKEN_ENV}, or give the "
        f"container a Docker secret named operator_mcp_token ({DOCKER_SECRET}); clients "
        "then send the header Authorization with the value Bearer and the token"
    )


class BearerToken:
    """A token the server requires; it never shows its value (``repr`` is redacted)."""

    __slots__ = ("_digest", "source")

    def __init__(self, value: str, source: str) -> None:
        self._digest = hashlib.sha256(value.encode("utf-8")).digest()
        #: Where it came from (``the token file PATH``, ``$OPERATOR_MCP_TOKEN``...), for messages.
        self.source = source

    def __repr__(self) -> str:
        return f"BearerToken([REDACTED], source={self.source!r})"

    def matches(self, presented: bytes) -> bool:
        """Whether ``presented`` is the token, compared in constant time (digests)."""
        return hmac.compare_digest(hashlib.sha256(presented).digest(), self._digest)


def _checked(value: str, source: str) -> BearerToken:
    """Return ``value`` (one line, trailing newline dropped) as a token, or refuse it."""
    value = value.removesuffix("\n").removesuffix("\r")
    if not value:
        raise InvalidInput(f"the bearer token from {source} is empty; {token_advice()}")
    if not all("!" <= char <= "~" for char in value):
        raise InvalidInput(
            f"the bearer token from {source} has spaces, control or non-ASCII characters, "
            "which an HTTP header cannot carry; use letters, digits and punctuation "
            "(e.g. `openssl rand -hex 32`)"
        )
    if len(value) < MIN_TOKEN_LENGTH:
        raise InvalidInput(
            f"the bearer token from {source} is shorter than {MIN_TOKEN_LENGTH} characters "
            "and could be guessed; use e.g. `openssl rand -hex 32`"
        )
    return BearerToken(value, source)


def _read_token_file(path: Path, source: str) -> str:
    """Return the text of a token file, refusing one that cannot be read or is too big."""
    try:
        with path.open("rb") as handle:
            data = handle.read(_MAX_TOKEN_FILE + 1)
    except OSError as exc:
        raise InvalidInput(f"cannot read the bearer token from {source}: {exc.strerror}") from exc
    if len(data) > _MAX_TOKEN_FILE:
        raise InvalidInput(f"{source} is not a token file (over {_MAX_TOKEN_FILE} bytes)")
    try:
        return data.decode("ascii")
    except UnicodeDecodeError as exc:
        raise InvalidInput(
            f"the bearer token from {source} is not ASCII; use e.g. `openssl rand -hex 32`"
        ) from exc


def _warn_if_others_read(path: Path) -> None:
    """Log a warning when users other than the owner may read the token file."""
    mode = path.stat().st_mode
    if mode & (stat.S_IRGRP | stat.S_IROTH):
        logger.warning(
            "the token file %s is readable by other users of this machine (mode %o); "
            "`chmod 600 %s` keeps it to its owner",
            path,
            stat.S_IMODE(mode),
            path,
        )


def load_token(
    token_file: Path | None,
    environ: Mapping[str, str] | None = None,
    secret: Path | None = None,
) -> BearerToken | None:
    """Return the token the server requires, or None when none is given anywhere.

    ``--token-file`` first, then ``$OPERATOR_MCP_TOKEN``, then the Docker secret file
    (``secret``, else ``DOCKER_SECRET``, when it exists). A token that is given but
    unusable (empty, unreadable, too short, not one header-safe line) is refused with
    InvalidInput, never silently ignored. A token file other users may read is used,
    with a warning (a bind-mounted file in a container often is).
    """
    if token_file is not None:
        source = f"the token file {token_file}"
        token = _checked(_read_token_file(token_file, source), source)
        _warn_if_others_read(token_file)
        return token
    env = os.environ if environ is None else environ
    if TOKEN_ENV in env:
        return _checked(env[TOKEN_ENV], f"${TOKEN_ENV}")
    secret = DOCKER_SECRET if secret is None else secret
    if secret.exists():
        source = f"the Docker secret {secret}"
        return _checked(_read_token_file(secret, source), source)
    return None


def _presented(scope: Scope) -> bytes | None:
    """Return the credentials of the one ``Authorization: Bearer`` header, else None."""
    values = [value for name, value in _headers(scope) if name.lower() == b"authorization"]
    if len(values) != 1:
        return None
    scheme, _, credentials = values[0].strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return credentials.strip()


def _headers(scope: Scope) -> list[tuple[bytes, bytes]]:
    """Return the scope's headers: its ``[name, value]`` byte pairs (anything else skipped)."""
    found = scope.get("headers")
    text = isinstance(found, str | bytes)
    pairs: Iterable[object] = found if isinstance(found, Iterable) and not text else ()
    return [
        (pair[0], pair[1])
        for pair in pairs
        if isinstance(pair, list | tuple)
        and len(pair) == 2
        and isinstance(pair[0], bytes)
        and isinstance(pair[1], bytes)
    ]


class BearerAuth:
    """ASGI middleware: an HTTP request gets through only with the bearer token.

    Lifespan (and any other non-HTTP scope) passes untouched, and so does a ``GET`` of
    one of ``open_paths`` (a health check). Refusals are ``401`` with
    ``WWW-Authenticate`` and a JSON-RPC error body, as an MCP client expects.
    """

    def __init__(
        self, app: ASGIApp, token: BearerToken, open_paths: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.token = token
        self.open_paths = open_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass a request with the token (and every non-HTTP scope) on; refuse the rest."""
        is_open = scope.get("method") == "GET" and scope.get("path") in self.open_paths
        if scope["type"] != "http" or is_open:
            await self.app(scope, receive, send)
            return
        presented = _presented(scope)
        if presented is not None and self.token.matches(presented):
            await self.app(scope, receive, send)
            return
        if presented is None:
            challenge, message = _REALM, "Unauthorized: send Authorization: Bearer <token>"
        else:
            challenge = f'{_REALM}, error="invalid_token"'
            message = "Unauthorized: the bearer token is not the server's"
        await _refuse(send, challenge, message)


async def _refuse(send: Send, challenge: str, message: str) -> None:
    """Send a 401 carrying ``challenge`` and a JSON-RPC error saying ``message``."""
    body = json.dumps(
        {"jsonrpc": "2.0", "id": None, "error": {"code": -32001, "message": message}}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 401,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"www-authenticate", challenge.encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
