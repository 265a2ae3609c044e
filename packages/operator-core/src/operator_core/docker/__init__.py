"""Docker actions for operator agents: ``DockerActionExecutor``."""

from operator_core.docker._engine.cli import helper_reason
from operator_core.docker.actions import DockerActionExecutor
from operator_core.docker.bounded import run_on_client

__all__ = ["DockerActionExecutor", "helper_reason", "run_on_client"]
