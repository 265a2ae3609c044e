"""``operator mcp --transport streamable-http``'s options: address, token, TLS, bounds.

``--bind ADDR[:PORT]`` takes an IP address (``127.0.0.1``, ``0.0.0.0``, ``192.0.2.2``,
``::``, ``[::1]:9000``) or ``localhost``; any address that is not loopback (the
unspecified ``0.0.0.0`` and ``::`` included) needs a bearer token, and the server
refuses to start without one, saying how to give one. A token given on loopback is
required too. Everything is checked before the port is bound: a bad option changes
nothing and starts nothing.
"""

from __future__ import annotations

import ipaddress
import re
import ssl
from pathlib import Path
from typing import TYPE_CHECKING

from operator_core.errors import InvalidInput
from operator_core.mcp.auth import BearerToken, load_token, token_advice

if TYPE_CHECKING:
    from operator_core.mcp.http import HttpLimits, HttpOptions

__all__ = ["DEFAULT_PORT", "check_tls", "http_options", "parse_bind", "refuse_http_only"]

DEFAULT_PORT = 8765
#: A name --allow-host accepts: a DNS name or a bracketed IPv6 address.
_HOST_NAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,252})|\[[0-9A-Fa-f:.]{2,45}\]")


def _split(bind: str) -> tuple[str, str | None]:
    """Return the address and the port text of ``ADDR``, ``ADDR:PORT``, ``[V6]:PORT``."""
    if bind.startswith("["):
        address, _, rest = bind[1:].partition("]")
        if rest and not rest.startswith(":"):
            raise InvalidInput(f"--bind {bind!r}: expected [IPV6] or [IPV6]:PORT")
        return address, rest[1:] if rest else None
    if bind.count(":") == 1:
        address, _, port = bind.partition(":")
        return address, port
    return bind, None


def parse_bind(bind: str | None, port: int | None) -> tuple[str, int]:
    """Return the address and port to listen on, from ``--bind`` and ``--port``.

    The port may be in ``--bind`` or given with ``--port`` (not both, unless equal);
    ``localhost`` means 127.0.0.1. A host name is refused: which address it names is up
    to the resolver, and the server must know whether it is loopback.
    """
    address, port_text = _split(bind or "127.0.0.1")
    if address == "localhost":
        address = "127.0.0.1"
    try:
        host = str(ipaddress.ip_address(address))
    except ValueError:
        raise InvalidInput(
            f"--bind {bind!r}: give an IP address (127.0.0.1, 0.0.0.0, ::, an address of "
            "this machine) or localhost, optionally with :PORT"
        ) from None
    if port_text is None:
        return host, port if port is not None else DEFAULT_PORT
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise InvalidInput(f"--bind {bind!r}: the port must be a number from 1 to 65535")
    if port is not None and port != int(port_text):
        raise InvalidInput(f"--bind {bind!r} and --port {port} name two ports; give one")
    return host, int(port_text)


def check_tls(cert: Path | None, key: Path | None) -> tuple[Path, Path] | None:
    """Return (certificate, key) after loading them once, or None when neither is given."""
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise InvalidInput("TLS needs both --tls-cert FILE and --tls-key FILE")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise InvalidInput(
            f"--tls-cert {cert} with --tls-key {key} cannot serve TLS: {exc.reason or exc}"
        ) from exc
    except OSError as exc:
        raise InvalidInput(f"cannot read the TLS certificate or key: {exc}") from exc
    return cert, key


def _allowed_hosts(names: list[str]) -> tuple[str, ...]:
    """Return the ``--allow-host`` names, refusing what is not a host name."""
    for name in names:
        if not _HOST_NAME.fullmatch(name):
            raise InvalidInput(
                f"--allow-host {name!r}: give a host name or address a client uses in its "
                "URL (e.g. ops.example.org, 192.0.2.2, [fd00::2]), without port or scheme"
            )
    return tuple(names)


def _token_for(host: str, token: BearerToken | None) -> BearerToken | None:
    """Return ``token``; refuse a non-loopback ``host`` without one."""
    if token is None and not ipaddress.ip_address(host).is_loopback:
        raise InvalidInput(
            f"refusing to listen on {host} without a bearer token (any machine that "
            f"reaches that address could act on your containers). To give one, {token_advice()}"
        )
    return token


def http_options(
    *,
    bind: str | None,
    port: int | None,
    token_file: Path | None,
    tls: tuple[Path | None, Path | None],
    allow_hosts: list[str],
    limits: HttpLimits,
) -> HttpOptions:
    """Return the server's HTTP options from the command line, every rule checked."""
    from operator_core.mcp.http import HttpOptions

    host, chosen_port = parse_bind(bind, port)
    extra = _allowed_hosts(allow_hosts)
    token = _token_for(host, load_token(token_file))
    return HttpOptions(
        host=host,
        port=chosen_port,
        token=token,
        tls=check_tls(*tls),
        extra_hosts=extra,
        limits=limits,
    )


def refuse_http_only(given: dict[str, object]) -> None:
    """Refuse HTTP options given to the stdio transport (they would do nothing)."""
    named = [name for name, value in given.items() if value not in (None, [], ())]
    if named:
        raise InvalidInput(
            "stdio has no address, token or TLS (the client starts the server), so these "
            f"options only apply to --transport streamable-http: {', '.join(named)}"
        )
