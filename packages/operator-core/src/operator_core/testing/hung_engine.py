"""A Docker engine socket that hangs, for tests and measurements of the bounds.

``HungEngine()`` listens on a unix socket in the temporary directory that accepts every
connection and never answers: a daemon that is wedged. Point a client at it with
``DockerClient(host=engine.host)`` (or ``operator --host``).

``HungEngine(upstream="/var/run/docker.sock", hang_on=b"/stop")`` forwards to
a real engine until a request holding ``hang_on`` arrives; that request never reaches
the engine, and from then on nothing is forwarded either way, on any connection: a daemon
that wedges in the middle of an action, after the container was found and judged.

Each runs in daemon threads and stops (closing every connection) when its block ends.
"""

from __future__ import annotations

import contextlib
import os
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType

__all__ = ["HungEngine"]

_CHUNK = 65536


class HungEngine:
    """A unix socket that answers nothing, or stops answering once ``hang_on`` is asked."""

    def __init__(
        self,
        directory: str | Path | None = None,
        *,
        upstream: str | None = None,
        hang_on: bytes | None = None,
    ) -> None:
        # A unix socket path must stay short (108 bytes): the temporary directory by default.
        where = Path(directory) if directory is not None else Path(tempfile.gettempdir())
        self.path = where / f"hung-{os.getpid()}-{id(self):x}.sock"
        self._upstream = upstream
        self._hang_on = hang_on
        self.hung = threading.Event()
        if upstream is None:
            self.hung.set()
        self._closing = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._server: socket.socket | None = None

    @property
    def host(self) -> str:
        """The ``DOCKER_HOST`` of this engine: ``unix:///...``."""
        return f"unix://{self.path}"

    def __enter__(self) -> HungEngine:
        server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        server.bind(str(self.path))
        server.listen(64)
        server.settimeout(0.2)
        self._server = server
        threading.Thread(
            target=self._accept, args=(server,), name="hung-engine", daemon=True
        ).start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._closing.set()
        with self._lock:
            held = [*self._sockets, *([self._server] if self._server else [])]
            self._sockets.clear()
        for each in held:
            with contextlib.suppress(OSError):
                each.close()
        with contextlib.suppress(OSError):
            self.path.unlink()

    def _keep(self, sock: socket.socket) -> None:
        """Hold ``sock`` open until the block ends."""
        with self._lock:
            self._sockets.append(sock)

    def _accept(self, server: socket.socket) -> None:
        """Accept connections until closed; hold each, or proxy it while not hung."""
        while not self._closing.is_set():
            try:
                client, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            self._keep(client)
            if self.hung.is_set() or self._upstream is None:
                continue  # accepted, never answered
            threading.Thread(target=self._proxy, args=(client,), daemon=True).start()

    def _proxy(self, client: socket.socket) -> None:
        """Forward ``client`` to the real engine until the hang starts."""
        upstream = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._keep(upstream)
        try:
            upstream.connect(str(self._upstream))
        except OSError:
            return
        threading.Thread(target=self._pump, args=(upstream, client, False), daemon=True).start()
        self._pump(client, upstream, True)

    def _pump(self, source: socket.socket, target: socket.socket, asking: bool) -> None:
        """Copy ``source`` to ``target``; a request holding ``hang_on`` starts the hang."""
        while not self._closing.is_set():
            try:
                data = source.recv(_CHUNK)
            except OSError:
                return
            if not data:
                return
            if asking and self._hang_on is not None and self._hang_on in data:
                self.hung.set()
            if self.hung.is_set():
                continue  # swallowed: the engine never hears it, the client never hears back
            try:
                target.sendall(data)
            except OSError:
                return
