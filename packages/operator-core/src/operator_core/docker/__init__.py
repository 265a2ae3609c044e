"""Docker actions for operator agents: ``DockerActionExecutor``, over the Engine API.

Where an engine is (``Endpoint``, ``resolve_endpoint``) and how it is reached
(``engine_client``, ``api_target``, ``SSHBridge`` for ``ssh://``) are public here too.
"""

from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.cli import helper_reason
from operator_core.docker._engine.endpoint import (
    DEFAULT_SOCKET,
    ApiTarget,
    Endpoint,
    TLSFiles,
    api_target,
    resolve_endpoint,
    url_problem,
)
from operator_core.docker._engine.reach import (
    cli_client,
    endpoint_for,
    endpoint_from_client,
    engine_client,
    podman_socket,
)
from operator_core.docker._engine.recorder import Request, record_requests
from operator_core.docker._engine.ssh import BridgeConnector, SSHBridge, ssh_arguments
from operator_core.docker.actions import DockerActionExecutor
from operator_core.docker.bounded import run_on_client

__all__ = [
    "DEFAULT_SOCKET",
    "ApiTarget",
    "BridgeConnector",
    "DockerActionExecutor",
    "Endpoint",
    "EngineClient",
    "Request",
    "SSHBridge",
    "TLSFiles",
    "api_target",
    "cli_client",
    "endpoint_for",
    "endpoint_from_client",
    "engine_client",
    "helper_reason",
    "podman_socket",
    "record_requests",
    "resolve_endpoint",
    "run_on_client",
    "ssh_arguments",
    "url_problem",
]
