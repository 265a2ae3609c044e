"""Docker actions for operator agents: ``DockerActionExecutor``."""

from operator_core.docker.actions import DockerActionExecutor
from operator_core.docker.bounded import run_on_client

__all__ = ["DockerActionExecutor", "run_on_client"]
