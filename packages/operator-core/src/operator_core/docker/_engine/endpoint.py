"""Where an engine is and how to reach it: ``Endpoint``, resolved from a URL or a docker context.

``resolve_endpoint(host=..., context=..., tls=...)`` turns what a user or an inventory says
into an ``Endpoint`` without connecting and without running ``docker``:

* neither: ``$DOCKER_HOST`` (with ``$DOCKER_TLS_VERIFY``/``$DOCKER_CERT_PATH``), else
  ``$DOCKER_CONTEXT``, else the current context of ``$DOCKER_CONFIG/config.json``
  (``~/.docker``), else ``unix:///var/run/docker.sock`` - the docker CLI's own order;
* ``host``: ``unix:///path``, ``tcp://host[:port]`` (with ``tls``: TLS, port 2376 by
  default, else 2375), ``ssh://[user@]host[:port]`` (kept in ``Endpoint.ssh``; see
  ``operator_core.docker._engine.ssh``), ``npipe://`` (Windows);
* ``context``: read from the docker context store
  (``$DOCKER_CONFIG/contexts/meta/<sha256(name)>/meta.json``, TLS files under
  ``contexts/tls/<sha256(name)>/docker/``).

Podman is reached by its Docker-compatible socket (``podman system service``), as a
``unix://`` URL. Anything malformed is an ``InvalidInput`` naming the fault, before any
connection is attempted.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import ssl
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import urlsplit

import aiohttp

from operator_core.docker._engine.ssh import BridgeConnector, SSHBridge
from operator_core.errors import InvalidInput
from operator_core.redaction import redact_text

__all__ = [
    "DEFAULT_SOCKET",
    "ApiTarget",
    "Endpoint",
    "TLSFiles",
    "api_target",
    "context_store",
    "resolve_endpoint",
    "ssl_context",
    "url_problem",
]

#: The engine a call reaches when nothing names one (the docker CLI's default).
DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_SCHEMES = ("unix", "tcp", "ssh", "npipe")
_SOCKETS = {"unix": DEFAULT_SOCKET, "npipe": "npipe:////./pipe/docker_engine"}
#: A host as a URL names it: a DNS name or an IPv4 or IPv6 address (brackets removed).
_HOST_CHARS = re.compile(r"[A-Za-z0-9._-]+|[0-9A-Fa-f:.]+", re.ASCII)
_USER_CHARS = re.compile(r"[A-Za-z0-9._-]+", re.ASCII)
#: Docker's own rule for context names.
_CONTEXT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]*", re.ASCII)


@dataclass(frozen=True)
class TLSFiles:
    """The TLS files of a ``tcp://`` host (absolute paths) and whether to verify the server."""

    ca: Path | None = None
    cert: Path | None = None
    key: Path | None = None
    verify: bool = True


@dataclass(frozen=True)
class Endpoint:
    """One engine's address: ``url`` to connect to, its TLS files, its ssh target, its label.

    ``url`` is ``unix:///...``, ``tcp://host:port`` or ``npipe://...``; for an ssh host it
    is the ``ssh://`` URL itself and ``ssh`` holds it too (the connection goes through a
    local socket that ``ssh.SSHBridge`` serves). ``label`` is what to show people: the URL
    or ``context NAME``, redacted.
    """

    url: str
    tls: TLSFiles | None = None
    ssh: str | None = None
    label: str = ""
    #: The docker context it was read from, if any (for the CLI actions not on the API).
    context: str | None = None

    @property
    def scheme(self) -> str:
        """The URL's scheme: unix, tcp, ssh or npipe."""
        return self.url.split("://", 1)[0]


@dataclass(frozen=True)
class ApiTarget:
    """What the API client is built from: a base URL and a connector factory.

    ``url`` is what its requests name; ``connector`` builds the aiohttp connector that
    reaches the engine (None: aiodocker's own, from ``url``).
    """

    url: str
    connector: Callable[[], aiohttp.BaseConnector] | None = None


def api_target(endpoint: Endpoint) -> ApiTarget:
    """Return how an aiodocker client reaches ``endpoint``; nothing is connected yet.

    ``unix://``/``tcp://``: aiodocker's own connector. TLS: ``https://host:port`` with a
    connector carrying ``ssl_context(tls)``. ``ssh://``: a ``BridgeConnector`` whose
    ``SSHBridge`` (one per connector, so one per client) starts on the first request.
    """
    if endpoint.ssh is not None:
        target = endpoint.ssh
        return ApiTarget("http://localhost", lambda: BridgeConnector(SSHBridge(target)))
    if endpoint.tls is not None:
        tls = endpoint.tls
        address = endpoint.url.removeprefix("tcp://")
        return ApiTarget(f"https://{address}", lambda: aiohttp.TCPConnector(ssl=ssl_context(tls)))
    if endpoint.scheme == "tcp":
        # Plain HTTP, said so: aiodocker would otherwise read DOCKER_TLS_VERIFY for itself.
        address = endpoint.url.removeprefix("tcp://")
        return ApiTarget(f"http://{address}", aiohttp.TCPConnector)
    return ApiTarget(endpoint.url)


def ssl_context(tls: TLSFiles) -> ssl.SSLContext:
    """Return the client TLS context for ``tls``: its CA, its client certificate, verification."""
    context = ssl.create_default_context(cafile=str(tls.ca) if tls.ca else None)
    if tls.cert is not None and tls.key is not None:
        context.load_cert_chain(str(tls.cert), str(tls.key))
    if not tls.verify:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def resolve_endpoint(
    host: str | None = None, context: str | None = None, tls: TLSFiles | None = None
) -> Endpoint:
    """Return the Endpoint that ``host`` or ``context`` (or the environment) names.

    Raises InvalidInput for both given, a malformed URL, TLS with a non-tcp URL, or a
    context that is not in the store. Nothing is connected to.
    """
    if host is not None and context is not None:
        raise InvalidInput("give a host URL or a docker context, not both")
    if context is not None:
        if tls is not None:
            raise InvalidInput("a docker context carries its own TLS files; give no tls with it")
        return _from_context(context)
    if host is not None:
        return _from_url(host, tls, label=host)
    return _from_environment(tls)


def _from_url(url: str, tls: TLSFiles | None, *, label: str) -> Endpoint:
    """Return the Endpoint of a URL of a known scheme, checked; InvalidInput otherwise."""
    shown = _shown(url)
    if not isinstance(url, str) or "://" not in url or url.split("://", 1)[0] not in _SCHEMES:
        raise InvalidInput(
            f"engine URL {shown}: must start with unix://, tcp://, ssh:// or npipe://, "
            "e.g. unix:///var/run/docker.sock or ssh://me@server"
        )
    problem = url_problem(url)
    if problem is not None:
        raise InvalidInput(f"engine URL {shown}: {problem}")
    scheme = url.split("://", 1)[0]
    if tls is not None and scheme != "tcp":
        raise InvalidInput(f"engine URL {shown}: TLS goes with a tcp:// URL only")
    if scheme == "tcp":
        parts = urlsplit(url)
        port = parts.port or (2376 if tls is not None else 2375)
        address = parts.netloc.rsplit(":", 1)[0] if parts.port else parts.netloc
        url = f"tcp://{address}:{port}{parts.path.rstrip('/')}"
    return Endpoint(
        url=url, tls=tls, ssh=url if scheme == "ssh" else None, label=redact_text(label)[:200]
    )


def _shown(value: object) -> str:
    """Return ``value`` as it may appear in a message: redacted, cut, quoted."""
    return repr(redact_text(str(value))[:200])


def url_problem(url: str) -> str | None:
    """Return what makes ``url`` (of a known scheme) one docker cannot use, or None.

    Refused before any connection, so that it never fails at call time with a stranger's
    words: blanks and control characters (options trailing a URL), a query or a fragment,
    a port outside 1-65535, a host or user starting with ``-`` (ssh would read an option),
    an ``ssh://`` path or password, a ``unix://`` or ``npipe://`` URL without a path.
    """
    if any(char.isspace() or not char.isprintable() for char in url):
        return "holds a blank or a control character (nothing may follow the URL)"
    if "?" in url or "#" in url:
        return "has a query or a fragment ('?', '#'); docker takes neither"
    parts = urlsplit(url)
    if parts.scheme in ("unix", "npipe"):
        if parts.path in ("", "/") or (parts.scheme == "unix" and parts.netloc):
            return f"names no socket by its absolute path; e.g. {_SOCKETS[parts.scheme]}"
        return None
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0 or (parts.netloc.endswith(":") and port is None):
        return "has a port that is not a number from 1 to 65535"
    host, user = parts.hostname or "", parts.username or ""
    if not host:
        return "names no host"
    if host.startswith("-") or user.startswith("-"):
        return "has a host or user starting with '-' (ssh would read it as an option)"
    if _HOST_CHARS.fullmatch(host) is None or (user and _USER_CHARS.fullmatch(user) is None):
        return "has a host or user that is not a plain name or address"
    if parts.scheme == "ssh" and (parts.password is not None or parts.path):
        return "ssh:// takes [user@]host[:port] only: no password, no path"
    if parts.scheme == "tcp" and (user or parts.password is not None):
        return "tcp:// takes no user or password (use tls = { ... })"
    return None


def _from_environment(tls: TLSFiles | None) -> Endpoint:
    """The docker CLI's default: DOCKER_HOST, DOCKER_CONTEXT, the current context, the socket."""
    named = os.environ.get("DOCKER_HOST")
    if named:
        if tls is None and os.environ.get("DOCKER_TLS_VERIFY") and named.startswith("tcp://"):
            certs = Path(os.environ.get("DOCKER_CERT_PATH") or _config_dir())
            tls = TLSFiles(certs / "ca.pem", certs / "cert.pem", certs / "key.pem")
        return _from_url(named, tls, label=named)
    if tls is not None:
        raise InvalidInput("TLS files need a tcp:// host URL")
    current = os.environ.get("DOCKER_CONTEXT") or _current_context()
    if current and current != "default":
        return _from_context(current)
    return Endpoint(url=DEFAULT_SOCKET, label=DEFAULT_SOCKET)


def _config_dir() -> Path:
    """The docker CLI's configuration folder: $DOCKER_CONFIG, else ~/.docker."""
    named = os.environ.get("DOCKER_CONFIG")
    return Path(named).expanduser() if named else Path.home() / ".docker"


def context_store() -> Path:
    """The docker context store's folder (``contexts`` under the CLI's configuration)."""
    return _config_dir() / "contexts"


def _current_context() -> str | None:
    """The ``currentContext`` of the CLI's config.json, when it names one."""
    try:
        config = json.loads((_config_dir() / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    current = config.get("currentContext") if isinstance(config, dict) else None
    return current if isinstance(current, str) and current else None


def _from_context(name: str) -> Endpoint:
    """Return the Endpoint the docker context ``name`` describes, read from its store."""
    if not isinstance(name, str) or _CONTEXT_NAME.fullmatch(name) is None:
        raise InvalidInput(
            f"docker context {_shown(name)}: a context name is letters, digits, '_', '.', "
            "'+' or '-', starting with a letter or digit"
        )
    label = f"context {name}"
    if name == "default":
        return _default_context(label)
    digest = hashlib.sha256(name.encode()).hexdigest()
    meta_file = context_store() / "meta" / digest / "meta.json"
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidInput(
            f"no docker context named {name!r} (looked in {context_store()}); "
            "`docker context ls` lists them"
        ) from None
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"docker context {name!r}: cannot read {meta_file}: {exc}") from None
    endpoint = _docker_endpoint(meta)
    if endpoint is None:
        raise InvalidInput(f"docker context {name!r}: {meta_file} has no docker endpoint")
    host = endpoint.get("Host") or DEFAULT_SOCKET
    tls = _context_tls(digest, host, endpoint.get("SkipTLSVerify") is True)
    return replace(_from_url(str(host), tls, label=label), context=name)


def _default_context(label: str) -> Endpoint:
    """The ``default`` context: DOCKER_HOST or the default socket."""
    named = os.environ.get("DOCKER_HOST")
    found = _from_url(named, None, label=label) if named else Endpoint(DEFAULT_SOCKET, label=label)
    return replace(found, context="default")


def _docker_endpoint(meta: object) -> dict[str, object] | None:
    """The ``Endpoints.docker`` table of a context's meta.json, when it has one."""
    if not isinstance(meta, dict):
        return None
    endpoints = meta.get("Endpoints")
    docker = endpoints.get("docker") if isinstance(endpoints, dict) else None
    return docker if isinstance(docker, dict) else None


def _context_tls(digest: str, host: object, skip_verify: bool) -> TLSFiles | None:
    """The TLS files a context keeps for its docker endpoint (only for a tcp:// host)."""
    if not isinstance(host, str) or not host.startswith("tcp://"):
        return None
    folder = context_store() / "tls" / digest / "docker"
    files = {name: folder / f"{name}.pem" for name in ("ca", "cert", "key")}
    found = {name: path if path.is_file() else None for name, path in files.items()}
    if not any(found.values()) and not skip_verify:
        return None
    return TLSFiles(found["ca"], found["cert"], found["key"], verify=not skip_verify)
