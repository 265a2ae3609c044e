"""From what a caller gives ``DockerActionExecutor`` to the Endpoint and the client it uses.

``endpoint_for(client=, host=, context=, endpoint=)`` takes at most one of them (none: the
docker CLI's own default, see ``resolve_endpoint``); a python-on-whales ``DockerClient``
is read into an Endpoint (its host, TLS files or context; a ``podman`` client means
Podman's Docker-compatible socket). ``engine_client(endpoint)`` builds the
``EngineClient`` that reaches it; ``cli_client(endpoint)`` the python-on-whales client for
what is still done with the docker CLI.
"""

from __future__ import annotations

import os
from pathlib import Path

from python_on_whales import DockerClient

from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.endpoint import (
    Endpoint,
    TLSFiles,
    api_target,
    resolve_endpoint,
)
from operator_core.errors import InvalidInput

__all__ = ["cli_client", "endpoint_for", "endpoint_from_client", "engine_client", "podman_socket"]


def podman_socket() -> str:
    """Podman's API socket (``podman system service``): root's, or the user's runtime one."""
    if os.geteuid() == 0:
        return "unix:///run/podman/podman.sock"
    runtime = os.environ.get("XDG_RUNTIME_DIR") or f"/run/user/{os.geteuid()}"
    return f"unix://{runtime}/podman/podman.sock"


def endpoint_for(
    client: DockerClient | None = None,
    *,
    host: str | None = None,
    context: str | None = None,
    endpoint: Endpoint | None = None,
) -> Endpoint:
    """Return the Endpoint named by the one of these given (none: the environment's).

    InvalidInput for more than one, or for a bad one; nothing is connected to.
    """
    given = [
        name
        for name, value in (
            ("client", client),
            ("host", host),
            ("context", context),
            ("endpoint", endpoint),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise InvalidInput(
            f"give one of host=URL, context=NAME or endpoint=..., not {' and '.join(given)}"
        )
    if endpoint is not None:
        if not isinstance(endpoint, Endpoint):
            raise InvalidInput(f"endpoint must be an Endpoint, not {type(endpoint).__name__}")
        return endpoint
    if client is not None:
        return endpoint_from_client(client)
    return resolve_endpoint(host, context)


def endpoint_from_client(client: DockerClient) -> Endpoint:
    """Return the Endpoint a python-on-whales client reaches.

    Its host (with its TLS files), its context, Podman's socket for a ``podman`` client,
    else the environment's default.
    """
    config = client.client_config
    if config.client_call and Path(str(config.client_call[0])).name == "podman":
        return resolve_endpoint(config.host or podman_socket())
    if config.context is not None:
        return resolve_endpoint(context=str(config.context))
    tls = None
    if config.tls or config.tlsverify:
        tls = TLSFiles(
            _path(config.tlscacert),
            _path(config.tlscert),
            _path(config.tlskey),
            verify=bool(config.tlsverify),
        )
    if config.host is not None:
        return resolve_endpoint(str(config.host), tls=tls)
    return resolve_endpoint(tls=tls)


def _path(value: object) -> Path | None:
    return Path(str(value)).expanduser() if value is not None else None


def engine_client(endpoint: Endpoint, *, deadline: float | None = None) -> EngineClient:
    """Return the API client that reaches ``endpoint`` (nothing is connected yet)."""
    target = api_target(endpoint)
    return EngineClient(
        target.url, label=endpoint.label or None, connector=target.connector, deadline=deadline
    )


def cli_client(endpoint: Endpoint) -> DockerClient:
    """Return a python-on-whales client reaching ``endpoint`` as the docker CLI would."""
    if endpoint.context is not None:
        return DockerClient(context=endpoint.context)
    if endpoint.tls is None:
        return DockerClient(host=endpoint.url)
    return DockerClient(
        host=endpoint.url,
        tls=True,
        tlsverify=endpoint.tls.verify,
        tlscacert=endpoint.tls.ca,
        tlscert=endpoint.tls.cert,
        tlskey=endpoint.tls.key,
    )
