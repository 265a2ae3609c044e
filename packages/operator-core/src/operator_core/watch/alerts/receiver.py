"""``AlertReceiver``: a local HTTP receiver that records what alert sinks POST to it.

For tests and for trying a policy's ``[alerts]`` before pointing it at a real Slack or
Alertmanager: it listens on 127.0.0.1 (an ephemeral port unless one is given), answers
every POST with ``status`` (200 unless told otherwise), and keeps each request's arrival
time, path, headers and JSON body. ``stop()`` and ``start()`` again (on the same port)
make an outage. Given a server ``tls`` context it speaks https. It runs in a thread of
its own, so a synchronous test can use it too.
"""

from __future__ import annotations

import json
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from operator_core.words import JSONValue

__all__ = ["AlertReceiver", "Received"]


@dataclass(frozen=True)
class Received:
    """One POST: when it arrived (wall clock, unix seconds), where, its headers and body."""

    at: float
    path: str
    headers: dict[str, str]
    body: JSONValue


class AlertReceiver:
    """Records POSTs on 127.0.0.1; ``url`` says where; ``status`` is the answer given."""

    def __init__(self, port: int = 0, tls: ssl.SSLContext | None = None) -> None:
        self.port, self.tls = port, tls
        self.status = 200
        self.received: list[Received] = []
        self._changed = threading.Condition()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        """The receiver's base URL (https with a ``tls`` server context)."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> AlertReceiver:
        """Listen (again, on the same port once it had one); return self."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = raw.decode("utf-8", "replace")
                receiver._record(Received(time.time(), self.path, dict(self.headers), body))
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                """Say nothing (a test's output stays its own)."""

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        if self.tls is not None:
            self._server.socket = self.tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        """Stop listening: connections are refused until ``start()``."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _record(self, request: Received) -> None:
        with self._changed:
            self.received.append(request)
            self._changed.notify_all()

    def wait_for(self, done: Callable[[list[Received]], bool], timeout_s: float) -> bool:
        """Block until ``done(received)`` holds or ``timeout_s`` passed; return whether it held."""
        with self._changed:
            return self._changed.wait_for(lambda: done(list(self.received)), timeout=timeout_s)

    def __enter__(self) -> AlertReceiver:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
