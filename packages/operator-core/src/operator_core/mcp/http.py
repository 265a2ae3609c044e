"""The MCP server over streamable HTTP, bounded: sessions, slow clients, token, TLS.

What a client can hold on the server is bounded:

* sessions: at most ``max_sessions`` (100) live at once; one with no request in flight
  for ``session_idle_timeout`` (10 minutes) is closed, and its id then answers 404 (the
  client initializes again). While the server is full, a request that would open a new
  session gets ``503`` with a JSON-RPC error ("Too many open sessions"); open sessions
  are unaffected and room frees up as they end or expire (the MCP SDK's own bounds,
  which default to 10,000 sessions and 30 minutes);
* reading a request: its headers must be complete within ``header_timeout`` (10 s) of
  the first byte (or of the connection, for a client that sends nothing), and its body
  within ``body_timeout`` (10 s) of the headers; otherwise the connection is closed.
  uvicorn bounds only the wait between two requests of a keep-alive connection, so
  ``ReadDeadlineProtocol`` (its HTTP/1.1 protocol with these two deadlines) serves;
* a body: 4 MiB at most (the SDK answers 413).

The Host and Origin checks against DNS rebinding stay on whatever the bind address:
``allowed_hosts`` lists the names a client may call the server by. ``BearerAuth``
(``operator_core.mcp.auth``) wraps the whole app when a token is given; ``tls`` serves
HTTPS with a certificate and key.
"""

from __future__ import annotations

import asyncio
import fcntl
import ipaddress
import logging
import math
import socket
import struct
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import h11
import uvicorn
from mcp.server.lowlevel.server import Server
from mcp.server.transport_security import TransportSecuritySettings
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from uvicorn.protocols.http.h11_impl import H11Protocol

from operator_core.limits import HTTP_MAX_SESSIONS, HTTP_READ_TIMEOUT_S, HTTP_SESSION_IDLE_S
from operator_core.mcp.auth import ASGIApp, BearerAuth, BearerToken

__all__ = [
    "HEALTH_PATH",
    "LOOPBACK_NAMES",
    "HttpLimits",
    "HttpOptions",
    "ReadDeadlineProtocol",
    "RefusalThrottle",
    "allowed_hosts",
    "http_app",
    "http_server",
    "read_deadline_protocol",
    "serve_http",
    "transport_security",
]

logger = logging.getLogger(__name__)

#: The names a client on this machine calls a loopback server by (always allowed).
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")
_SIOCGIFADDR = 0x8915  # Linux: an interface's IPv4 address
_IF_INET6 = Path("/proc/net/if_inet6")
#: The health check's path (``GET``; no token asked).
HEALTH_PATH = "/healthz"
_MANAGER_LOGGER = "mcp.server.streamable_http_manager"
_REFUSAL = "Refusing to open a new session"
_GRACE = 5  # seconds a stopping server waits for open connections


@dataclass(frozen=True)
class HttpLimits:
    """What one client can hold on the server (see the module docstring)."""

    max_sessions: int = HTTP_MAX_SESSIONS
    session_idle_timeout: float = HTTP_SESSION_IDLE_S
    header_timeout: float = HTTP_READ_TIMEOUT_S
    body_timeout: float = HTTP_READ_TIMEOUT_S


@dataclass(frozen=True)
class HttpOptions:
    """Where and how the HTTP server listens. ``token`` None: no token is asked."""

    host: str = "127.0.0.1"
    port: int = 8765
    token: BearerToken | None = None
    tls: tuple[Path, Path] | None = None  # (certificate, key)
    extra_hosts: tuple[str, ...] = ()
    limits: HttpLimits = field(default_factory=HttpLimits)

    @property
    def url(self) -> str:
        """The URL a client on this machine uses (``http[s]://host:port/mcp``)."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{shown}:{self.port}/mcp"


class ReadDeadlineProtocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request is read too slowly.

    A request's headers must be complete ``header_timeout`` seconds after the
    connection opens or after the first byte of a request that follows another; its
    body must be complete ``body_timeout`` seconds after its headers. A request read
    whole (and a response streaming out, such as an SSE stream) has no deadline here.
    """

    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 10.0

    _reading: object = None  # the h11 state a deadline is armed for (IDLE: headers)
    _deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Start the connection, with the deadline for its first request's headers."""
        super().connection_made(transport)
        self._follow_reading()

    def data_received(self, data: bytes) -> None:
        """Read ``data``, then follow the request into its next part (or done)."""
        super().data_received(data)
        self._follow_reading()

    def on_response_complete(self) -> None:
        """Finish a response; the next request's deadline waits for its first byte."""
        super().on_response_complete()
        # Between two requests uvicorn's keep-alive timeout rules; the next request's
        # header deadline starts with its first byte.
        self._disarm()
        if self.conn.their_state is h11.SEND_BODY:
            self._follow_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        """Forget the deadline of a connection that is gone."""
        self._disarm()
        super().connection_lost(exc)

    def _follow_reading(self) -> None:
        """Arm the deadline of the part of the request being read, or disarm when read."""
        state = self.conn.their_state
        if state is self._reading:
            return
        self._disarm()
        if state is h11.IDLE or state is h11.SEND_BODY:
            bound = self.header_timeout if state is h11.IDLE else self.body_timeout
            self._reading = state
            self._deadline = self.loop.call_later(bound, self._read_too_slow, bound)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline = None
        self._reading = None

    def _read_too_slow(self, bound: float) -> None:
        part = "headers" if self._reading is h11.IDLE else "body"
        self._deadline = None
        logger.info(
            "closing the connection of %s: request %s not complete within %gs",
            f"{self.client[0]}:{self.client[1]}" if self.client else "a client",
            part,
            bound,
        )
        self.transport.close()


class RefusalThrottle(logging.Filter):
    """Let one "Refusing to open a new session" warning of the SDK through per interval.

    A client hammering a full server would otherwise write a warning per request to the
    log; the next one let through says how many were held back.
    """

    def __init__(self, interval: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval = interval
        self.clock = clock
        self._next = -math.inf
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        """Return whether ``record`` is written (every other message always is)."""
        if not str(record.msg).startswith(_REFUSAL):
            return True
        now = self.clock()
        if now < self._next:
            self._held += 1
            return False
        if self._held:
            record.msg = f"{record.msg} ({self._held} more refused since the last warning)"
        self._held, self._next = 0, now + self.interval
        return True


def _throttle_refusals() -> None:
    """Put one ``RefusalThrottle`` on the SDK's session manager logger (once)."""
    manager_log = logging.getLogger(_MANAGER_LOGGER)
    if not any(isinstance(each, RefusalThrottle) for each in manager_log.filters):
        manager_log.addFilter(RefusalThrottle())


def read_deadline_protocol(limits: HttpLimits) -> type[ReadDeadlineProtocol]:
    """Return ``ReadDeadlineProtocol`` with the header and body deadlines of ``limits``."""
    return type(
        "BoundedReadProtocol",
        (ReadDeadlineProtocol,),
        {"header_timeout": limits.header_timeout, "body_timeout": limits.body_timeout},
    )


def _ipv4_addresses() -> list[str]:
    """Return the IPv4 address of each network interface of this machine (Linux)."""
    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            request = struct.pack("256s", name.encode()[:15])
            try:
                answer = fcntl.ioctl(probe.fileno(), _SIOCGIFADDR, request)
            except OSError:  # an interface without an IPv4 address
                continue
            found.append(socket.inet_ntoa(answer[20:24]))
    return found


def _ipv6_addresses() -> list[str]:
    """Return this machine's IPv6 addresses, bracketed as in a URL (Linux)."""
    try:
        lines = _IF_INET6.read_text().splitlines()
    except OSError:  # no IPv6 here
        return []
    return [f"[{ipaddress.IPv6Address(int(line.split()[0], 16))}]" for line in lines if line]


def allowed_hosts(host: str, extra: Iterable[str] = ()) -> list[str]:
    """Return the names a client may call the server by, bound to ``host``.

    Always the loopback names (a client on this machine); a specific address also by
    itself; the unspecified address (0.0.0.0, ::) also by this machine's host name and
    each of its addresses. ``extra``: names given with ``--allow-host`` (a DNS name, a
    swarm service name, the address of a port a container publishes).
    """
    names = list(LOOPBACK_NAMES)
    address = ipaddress.ip_address(host)
    if address.is_unspecified:
        names += [socket.gethostname(), socket.getfqdn(), *_ipv4_addresses(), *_ipv6_addresses()]
    else:
        names.append(f"[{address}]" if address.version == 6 else str(address))
    names += list(extra)
    return list(dict.fromkeys(name for name in names if name))


def transport_security(hosts: Iterable[str]) -> TransportSecuritySettings:
    """Return the Host/Origin checks allowing ``hosts`` (on any port, http or https)."""
    hosts = list(hosts)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *(f"{name}:*" for name in hosts)],
        allowed_origins=[
            f"{scheme}://{name}{port}"
            for scheme in ("http", "https")
            for name in hosts
            for port in ("", ":*")
        ],
    )


async def _health(request: Request) -> JSONResponse:
    """Answer a health check: the server is up and serving (no token asked, nothing told)."""
    return JSONResponse({"ok": True})


def http_app(server: Server[object], options: HttpOptions) -> ASGIApp:
    """Return the ASGI app serving ``server`` at ``/mcp`` with ``options``' bounds and token.

    ``GET /healthz`` answers ``{"ok": true}`` without the token, for a container's or an
    orchestrator's health check; it tells nothing about the engine or the policy.
    """
    app: ASGIApp = server.streamable_http_app(
        custom_starlette_routes=[Route(HEALTH_PATH, _health, methods=["GET"])],
        host=options.host,
        transport_security=transport_security(allowed_hosts(options.host, options.extra_hosts)),
        max_sessions=options.limits.max_sessions,
        session_idle_timeout=options.limits.session_idle_timeout,
    )
    if options.token is None:
        return app
    return BearerAuth(app, options.token, open_paths=frozenset({HEALTH_PATH}))


def http_server(server: Server[object], options: HttpOptions) -> uvicorn.Server:
    """Return the uvicorn server for ``server``: our protocol, TLS when asked, no access log.

    Stopping it waits at most ``_GRACE`` seconds for open streams (an SSE stream a client
    keeps open would otherwise hold the shutdown).
    """
    _throttle_refusals()
    cert, key = options.tls if options.tls is not None else (None, None)
    config = uvicorn.Config(
        http_app(server, options),
        host=options.host,
        port=options.port,
        http=read_deadline_protocol(options.limits),
        ws="none",
        log_level="warning",
        access_log=False,
        lifespan="on",
        ssl_certfile=cert,
        ssl_keyfile=key,
        timeout_graceful_shutdown=_GRACE,
    )
    return uvicorn.Server(config)


async def serve_http(
    server: Server[object], options: HttpOptions, *, sock: socket.socket | None = None
) -> None:
    """Serve ``server`` at ``options.url`` until stopped.

    ``sock``: a socket already bound to ``host:port`` (so a busy port is found, and said,
    before anything starts); without it the server binds the port itself.
    """
    await http_server(server, options).serve(sockets=[sock] if sock is not None else None)
