"""Docker actions for operator agents: ``DockerActionExecutor``, over the Engine API."""

from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.cli import helper_reason
from operator_core.docker._engine.endpoint import Endpoint, TLSFiles, resolve_endpoint
from operator_core.docker._engine.recorder import Request, record_requests
from operator_core.docker.actions import DockerActionExecutor
from operator_core.docker.bounded import run_on_client

__all__ = [
    "DockerActionExecutor",
    "Endpoint",
    "EngineClient",
    "Request",
    "TLSFiles",
    "helper_reason",
    "record_requests",
    "resolve_endpoint",
    "run_on_client",
]
