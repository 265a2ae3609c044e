"""``DockerActionExecutor``: every action an operator agent can take on a container.

Each action is an ``async`` method that validates its arguments before any docker
process starts, runs the blocking python-on-whales calls in ``loop.run_in_executor(None,
...)`` (see ``operator_core.docker._engine.cli.run_bounded``), is bounded in time, raises only
``operator_core.errors`` exceptions and returns a JSON-able dict.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping

from python_on_whales import DockerClient

from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.endpoint import Endpoint
from operator_core.docker._engine.reach import endpoint_for, engine_client
from operator_core.docker.containers.control import SignalActions
from operator_core.docker.containers.discovery import DiscoveryActions
from operator_core.docker.containers.execution import ExecActions, exec_deadline
from operator_core.docker.containers.lifecycle import STOP_MARGIN_S, LifecycleActions
from operator_core.docker.containers.logs import LogActions
from operator_core.docker.containers.networks import NetworkActions
from operator_core.docker.containers.waiting import WaitActions
from operator_core.docker.diagnosis.events import EventActions, FollowActions
from operator_core.docker.diagnosis.search import SearchActions
from operator_core.docker.diagnosis.stats import StatsActions
from operator_core.docker.engine_identity import IdentityActions
from operator_core.docker.swarm import swarm_bound
from operator_core.docker.swarm.nodes import NodeActions
from operator_core.docker.swarm.services import ServiceActions
from operator_core.docker.swarm.tasks import TaskActions
from operator_core.docker.swarm.updates import ServiceUpdateActions
from operator_core.errors import InvalidInput
from operator_core.limits import (
    DEFAULT_CALL_DEADLINE_S,
    DEFAULT_EXEC_TIMEOUT_S,
    DEFAULT_GRACE_S,
    MAX_CALL_DEADLINE_S,
    MAX_EXEC_TIMEOUT_S,
)
from operator_core.validate import validate_grace, validate_seconds

__all__ = ["DockerActionExecutor"]


class DockerActionExecutor(
    LifecycleActions,
    LogActions,
    ExecActions,
    NetworkActions,
    SignalActions,
    DiscoveryActions,
    WaitActions,
    EventActions,
    FollowActions,
    StatsActions,
    ServiceActions,
    TaskActions,
    ServiceUpdateActions,
    NodeActions,
    SearchActions,
    IdentityActions,
):
    """Async, bounded, truthful actions on Docker containers and swarm services and nodes.

    The swarm actions (services, tasks, nodes) need a swarm manager's engine.

    The engine is reached over its API (``EngineClient``, one connection pool per
    executor), named by at most one of: ``host``, its URL (``unix:///var/run/docker.sock``,
    ``tcp://h:2376`` - TLS only through an ``endpoint`` or a context -, ``ssh://me@h``);
    ``context``, a docker context's name (read from the context store, no ``docker``
    process); ``endpoint``, an ``Endpoint`` (the fleet's, from its inventory); ``client``, a
    python-on-whales ``DockerClient`` (its host, TLS files or context are read). With none,
    the docker CLI's default: ``$DOCKER_HOST``, ``$DOCKER_CONTEXT``, the current context,
    the local socket. A bad one is an InvalidInput, before any connection. ``api`` hands in
    a ready ``EngineClient`` (a fake in tests). The docker CLI (python-on-whales) still
    serves the actions not yet on the API, reaching the same engine. ``aclose()`` closes
    the connection pool (and an ssh host's connection). ``call_deadline`` bounds each call that
    has no grace period of its own; stop and restart are bounded by their grace period
    plus a margin. ``clock`` measures how long a stop took (tests pass a fake one).
    """

    def __init__(
        self,
        client: DockerClient | None = None,
        *,
        host: str | None = None,
        context: str | None = None,
        endpoint: Endpoint | None = None,
        api: EngineClient | None = None,
        call_deadline: float = DEFAULT_CALL_DEADLINE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.endpoint = endpoint_for(client, host=host, context=context, endpoint=endpoint)
        self._api = api if api is not None else engine_client(self.endpoint)
        self._call_deadline = validate_seconds(
            call_deadline, "call_deadline", maximum=MAX_CALL_DEADLINE_S, positive=True
        )
        self._clock = clock

    def call_bound(self, method: str, arguments: Mapping[str, object]) -> float:
        """Return the most seconds a call of ``method`` with ``arguments`` may take.

        The documented bounds: stop and restart, the grace period plus ``STOP_MARGIN_S``
        (30 s); exec, its timeout plus 15 s (its clean-up's ``CLEANUP_DEADLINE_S`` and an
        engine probe's ``ENGINE_PROBE_S``, after a timeout) plus the call deadline; a
        swarm change (scale, restart, rollback, availability), its convergence timeout plus
        two call deadlines (``swarm_bound``); anything else, the call deadline (30 s by
        default). The tool layer runs a whole
        tool call (resolving the container, the action, reading its state after) within
        this bound. Arguments it cannot read count as the defaults.
        """
        try:
            if method in ("stop_container", "restart_container"):
                return validate_grace(arguments.get("timeout", DEFAULT_GRACE_S)) + STOP_MARGIN_S
            if method == "execute_command":
                limit = validate_seconds(
                    arguments.get("timeout", DEFAULT_EXEC_TIMEOUT_S),
                    "timeout",
                    maximum=MAX_EXEC_TIMEOUT_S,
                )
                return exec_deadline(limit, self._call_deadline)
            bound = swarm_bound(method, arguments, self._call_deadline)
            if bound is not None:
                return bound
        except InvalidInput:
            pass
        return self._call_deadline
