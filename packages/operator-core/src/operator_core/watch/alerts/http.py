"""``post_json``: one bounded HTTP/1.1 POST on the event loop (no thread, no dependency).

The whole exchange (connect, TLS, request, status line) is under one timeout and can be
cancelled at any point, so closing the watch never waits on a receiver. Only the status
line is read; the rest of the answer is never read nor shown (a receiver may echo the
request, and the request's URL is a secret). Redirects are not followed.
"""

from __future__ import annotations

import asyncio
import ssl
from urllib.parse import quote, urlsplit

from operator_core import __version__

__all__ = ["SendFailed", "post_json"]

#: What stays as it is in a request target; anything else (a non-ASCII character of a
#: sink's path) is sent percent-encoded as UTF-8, as a browser would.
_TARGET_SAFE = "/?&=%:@!$'()*+,;[]~"


class SendFailed(Exception):
    """A POST did not get a 2xx answer; ``retry`` says whether trying again may help.

    The message never holds the URL (the sink's caller names it as ``shown_url``).
    Internal to the alert dispatcher: it never leaves ``operator_core.watch.alerts``.
    """

    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


def _request(url: str, body: bytes, token: str | None) -> tuple[str, int, bool, bytes]:
    """Return (host, port, tls, request bytes) of a JSON POST of ``body`` to ``url``."""
    parts = urlsplit(url)
    tls = parts.scheme == "https"
    host = parts.hostname or ""
    port = parts.port or (443 if tls else 80)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    target = quote(target, safe=_TARGET_SAFE)
    shown_host = f"[{host}]" if ":" in host else _ascii_host(host)
    lines = [
        f"POST {target} HTTP/1.1",
        f"Host: {shown_host}" + (f":{parts.port}" if parts.port else ""),
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        f"User-Agent: operator-core/{__version__}",
        "Connection: close",
    ]
    if token is not None:
        lines.append(f"Authorization: Bearer {token}")
    return host, port, tls, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def _ascii_host(host: str) -> str:
    """Return a host name as the Host header carries it (IDNA for a non-ASCII name)."""
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise SendFailed("the sink's host name is not a valid IDNA name", retry=False) from None


def _status(line: bytes) -> int:
    """Return the status code of an HTTP status line; SendFailed when it is not one."""
    words = line.split(None, 2)
    if len(words) < 2 or not words[0].startswith(b"HTTP/") or not words[1].isdigit():
        raise SendFailed("the receiver did not answer HTTP", retry=True)
    return int(words[1])


async def post_json(
    url: str,
    body: bytes,
    *,
    token: str | None,
    timeout_s: float,
    context: ssl.SSLContext | None = None,
) -> int:
    """POST ``body`` (JSON) to ``url``; return the 2xx status, or raise SendFailed.

    An https URL is verified with ``context`` (default: the system's CAs). Connection
    errors, timeouts, TLS failures, 408, 429 and 5xx may pass (``retry``); other answers
    (400, 401, 404, a redirect) will not.
    """
    host, port, tls, request = _request(url, body, token)
    if tls and context is None:
        context = ssl.create_default_context()
    writer: asyncio.StreamWriter | None = None
    try:
        async with asyncio.timeout(timeout_s):
            reader, writer = await asyncio.open_connection(
                host, port, ssl=context if tls else None, server_hostname=host if tls else None
            )
            writer.write(request)
            await writer.drain()
            code = _status(await reader.readuntil(b"\n"))
    except TimeoutError:
        raise SendFailed(f"no answer within {timeout_s:g}s", retry=True) from None
    except (asyncio.IncompleteReadError, asyncio.LimitOverrunError):
        raise SendFailed("the receiver closed without an HTTP answer", retry=True) from None
    except OSError as exc:  # refused, reset, unreachable, DNS, TLS (ssl.SSLError)
        raise SendFailed(f"{type(exc).__name__}: {exc.strerror or exc}", retry=True) from None
    finally:
        if writer is not None:
            writer.close()
    if 200 <= code < 300:
        return code
    raise SendFailed(f"the receiver answered HTTP {code}", retry=code in (408, 429) or code >= 500)
