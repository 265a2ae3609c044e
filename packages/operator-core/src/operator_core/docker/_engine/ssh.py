"""An ``ssh://`` engine behind a local unix socket: one ssh connection per host, reused.

The docker CLI reaches ``ssh://[user@]host[:port]`` by running ``docker system
dial-stdio`` on the host over ssh, which connects to whatever engine the remote side's
docker is set to (its ``DOCKER_HOST``, its context). ``SSHBridge`` does the same for the
Engine API client: on first use it starts ONE ssh master connection (``ControlMaster``,
its control socket in a private folder) and serves a local unix socket; each connection
the client opens on that socket is carried by ``ssh ... docker system dial-stdio`` over
the master (a multiplexed session, no new handshake). The client's connection pool keeps
its connections, so steady calls start nothing. ``close()`` closes the socket, ends every
session and the master, and removes the folder.

The system ``ssh`` is used, so the user's ssh configuration (keys, known hosts, proxies,
``~/.ssh/config`` host aliases) applies as it does for the docker CLI.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import os
import shutil
import signal
import tempfile
from collections.abc import Awaitable
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp
from aiohttp.client_proto import ResponseHandler
from aiohttp.client_reqrep import ClientRequest
from aiohttp.tracing import Trace

from operator_core.errors import EngineUnreachable, InvalidInput
from operator_core.redaction import redact_text

__all__ = ["SSH_CONNECT_TIMEOUT_S", "BridgeConnector", "SSHBridge", "ssh_arguments"]

#: How long the ssh master may take to log in before the host counts as unreachable.
SSH_CONNECT_TIMEOUT_S = 20.0
_PUMP_CHUNK = 65536


def ssh_arguments(target: str) -> list[str]:
    """Return ssh's options and destination for ``ssh://[user@]host[:port]`` (no command).

    InvalidInput for anything but such a URL (the endpoint's ``url_problem`` has refused
    options in disguise already; ``--`` ends ssh's options all the same).
    """
    parts = urlsplit(target)
    if parts.scheme != "ssh" or not parts.hostname:
        raise InvalidInput(f"not an ssh:// URL: {redact_text(target)[:200]!r}")
    args = ["-o", "BatchMode=yes"]
    if parts.port is not None:
        args += ["-p", str(parts.port)]
    if parts.username:
        args += ["-l", parts.username]
    return [*args, "--", parts.hostname]


class SSHBridge:
    """A local unix socket whose connections reach an ssh host's engine (see module doc)."""

    def __init__(self, target: str, *, ssh: str = "ssh") -> None:
        self._target = target
        self._destination = ssh_arguments(target)
        self._ssh = ssh
        self._folder: Path | None = None
        self._master: asyncio.subprocess.Process | None = None
        self._server: asyncio.Server | None = None
        self._sessions: set[asyncio.Task[None]] = set()
        self._lock = asyncio.Lock()
        #: How many connections the bridge has carried (each one ``dial-stdio`` session).
        self.sessions_started = 0

    @property
    def open_sessions(self) -> int:
        """How many connections the bridge carries now."""
        return len(self._sessions)

    @property
    def master_pid(self) -> int | None:
        """The ssh master's process id while it runs, else None."""
        master = self._master
        return master.pid if master is not None and master.returncode is None else None

    @property
    def socket_url(self) -> str | None:
        """The local socket's ``unix://`` URL while the bridge is open, else None."""
        if self._server is None or self._folder is None:
            return None
        return f"unix://{self._folder / 'docker.sock'}"

    def _control(self) -> list[str]:
        """The option naming the master's control socket (in the private folder)."""
        return ["-o", f"ControlPath={self._folder or ''}/cm"]

    async def open(self) -> str:
        """Start the master connection and the local socket once; return the socket's URL."""
        async with self._lock:
            if self._server is not None and self._server.is_serving() and self.socket_url:
                return self.socket_url
            await self._teardown()
            self._folder = Path(tempfile.mkdtemp(prefix="operator-ssh-"))
            # A process that ends without closing its clients leaves no ssh master behind.
            atexit.register(self._at_exit)
            try:
                await self._start_master()
                self._server = await asyncio.start_unix_server(
                    self._serve, path=str(self._folder / "docker.sock")
                )
            except BaseException:
                await self._teardown()
                raise
            return f"unix://{self._folder / 'docker.sock'}"

    async def _start_master(self) -> None:
        """Log in once (``ControlMaster=yes``, in the background); EngineUnreachable if not."""
        self._master = await asyncio.create_subprocess_exec(
            self._ssh,
            "-nNT",
            "-o",
            "ControlMaster=yes",
            "-o",
            "ControlPersist=no",
            "-o",
            f"ConnectTimeout={int(SSH_CONNECT_TIMEOUT_S)}",
            *self._control(),
            *self._destination,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        check = [self._ssh, "-O", "check", *self._control(), *self._destination]
        async with asyncio.timeout(SSH_CONNECT_TIMEOUT_S + 5):
            while True:
                if self._master.returncode is not None:
                    raise EngineUnreachable(await self._master_failure())
                probe = await asyncio.create_subprocess_exec(
                    *check,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=asyncio.subprocess.DEVNULL,
                    stderr=asyncio.subprocess.DEVNULL,
                )
                if await probe.wait() == 0:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._master.wait(), 0.05)

    async def _master_failure(self) -> str:
        """What ssh said when its master connection ended, redacted and cut."""
        said = b""
        if self._master is not None and self._master.stderr is not None:
            said = await self._master.stderr.read(4000)
        text = redact_text(said.decode(errors="replace").strip())[:500]
        return f"cannot reach {redact_text(self._target)[:200]} over ssh: {text or 'ssh failed'}"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Carry one client connection over ``docker system dial-stdio`` on the master.

        A session cancelled by ``close()`` ends quietly: the server's task must not end
        with a CancelledError that asyncio would report as a failure.
        """
        task = asyncio.current_task()
        if task is not None:
            self._sessions.add(task)
        self.sessions_started += 1
        proc: asyncio.subprocess.Process | None = None
        try:
            proc = await asyncio.create_subprocess_exec(
                self._ssh,
                "-T",
                "-o",
                "ControlMaster=no",
                *self._control(),
                *self._destination,
                "docker",
                "system",
                "dial-stdio",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
            )
            await _carry(reader, writer, proc)
        except asyncio.CancelledError:
            pass  # close() ends the sessions; nothing else cancels a server's task
        finally:
            if task is not None:
                self._sessions.discard(task)
            await _end(proc)
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    def _at_exit(self) -> None:
        """At interpreter exit: end the master and remove the folder (no loop is left)."""
        master, folder = self._master, self._folder
        if master is not None and master.returncode is None:
            with contextlib.suppress(OSError):
                os.kill(master.pid, signal.SIGTERM)
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)

    def stop_now(self) -> None:
        """Stop at once, without waiting (a pool dropped from a finished loop).

        Closes the socket, cancels the sessions, terminates the master, removes the folder.
        """
        if self._server is not None:
            self._server.close()
        for task in list(self._sessions):
            task.cancel()
        if self._master is not None and self._master.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self._master.terminate()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)

    async def close(self) -> None:
        """Close the socket, end every session and the master, remove the private folder."""
        async with self._lock:
            await self._teardown()

    async def _teardown(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._sessions):
            if not task.cancelling():
                task.cancel()
        if self._sessions:
            await asyncio.gather(*self._sessions, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        await _end(self._master)
        self._master = None
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None
        atexit.unregister(self._at_exit)


async def _carry(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, proc: asyncio.subprocess.Process
) -> None:
    """Copy bytes both ways between a client connection and ``proc`` until either side ends.

    An HTTP client never half-closes: the session ends when either side ends (the engine
    closed the connection, or the client hung up: a cancelled call, a closed stream), and
    then both directions stop.
    """
    if proc.stdin is None or proc.stdout is None:  # pragma: no cover - PIPE given
        return
    pumps = {
        asyncio.create_task(_pump(reader, proc.stdin)),
        asyncio.create_task(_pump(proc.stdout, writer)),
    }
    try:
        done, _ = await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            finished.result()
    finally:
        for pump in pumps:
            pump.cancel()
        await asyncio.gather(*pumps, return_exceptions=True)


async def _pump(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
    """Copy ``source`` to ``sink`` until end of file, then close ``sink``'s writing side."""
    try:
        while chunk := await source.read(_PUMP_CHUNK):
            sink.write(chunk)
            await sink.drain()
    except (ConnectionError, BrokenPipeError):
        return
    with contextlib.suppress(OSError, RuntimeError):
        if sink.can_write_eof():
            sink.write_eof()
        else:
            sink.close()


async def _end(proc: asyncio.subprocess.Process | None) -> None:
    """Terminate ``proc`` if it runs, and reap it (KILL after 2 s)."""
    if proc is None or proc.returncode is not None:
        if proc is not None:
            await proc.wait()
        return
    with contextlib.suppress(ProcessLookupError):
        proc.terminate()
    try:
        async with asyncio.timeout(2):
            await proc.wait()
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()


class BridgeConnector(aiohttp.UnixConnector):
    """An aiohttp connector whose connections go through an ``SSHBridge``.

    The bridge starts with the first connection (not at construction: building a client
    connects to nothing) and is reused by every later one; closing the connector closes
    the bridge: its socket, its sessions and its ssh master.
    """

    def __init__(self, bridge: SSHBridge) -> None:
        super().__init__(path="")
        self._bridge = bridge
        self._closing = False

    @property
    def bridge(self) -> SSHBridge:
        """The bridge this connector's connections go through."""
        return self._bridge

    async def _create_connection(
        self, req: ClientRequest, traces: list[Trace], timeout: aiohttp.ClientTimeout
    ) -> ResponseHandler:
        self._path = (await self._bridge.open()).removeprefix("unix://")
        return await super()._create_connection(req, traces, timeout)

    def _close(self, *, abort_ssl: bool = False) -> list[Awaitable[object]]:
        """Close the pool's connections; stop the bridge at once unless ``close`` waits for it."""
        waiters = super()._close(abort_ssl=abort_ssl)
        if not self._closing:
            self._bridge.stop_now()
        return waiters

    def close(self, *, abort_ssl: bool = False) -> Awaitable[None]:
        """Close the pool's connections, then the bridge (awaited)."""
        self._closing = True
        closing = super().close(abort_ssl=abort_ssl)

        async def both() -> None:
            await closing
            await self._bridge.close()

        return both()
