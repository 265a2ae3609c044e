"""The exceptions operator-core raises, and nothing else.

Every error that leaves the package is one of these; errors of python-on-whales and of
the docker CLI are translated at one boundary (``operator_core.docker._engine.cli``) with
``raise Ours(...) from exc`` so the original stays on ``__cause__``::

    OperatorError
    ├── InvalidInput (also a ValueError)        bad argument; nothing was run
    │   ├── UnknownTool                          no tool has this name (``suggestions``)
    │   └── InvalidArguments                     a tool call's arguments misfit (``problems``)
    ├── PolicyError (also a ValueError)         a malformed policy, refused at load
    ├── InventoryError (also a ValueError)      a malformed fleet inventory, refused at load
    ├── PolicyDenied                            the policy refused a tool call (``rule`` says which)
    │   └── ApprovalUnavailable                  an approver has nobody to ask
    ├── AuditError                              the audit trail could not record a call
    ├── HistoryError                            the watch's store could not be read or written
    ├── HealStateError                          the healer's store (leases, escalations) failed
    ├── EngineError                              the engine refused or failed
    │   ├── EngineUnreachable                    no engine answered at all
    │   ├── ContainerNotFound (also python-on-whales' NoSuchContainer)
    │   ├── NetworkNotFound (also python-on-whales' NoSuchNetwork)
    │   ├── ServiceNotFound (also python-on-whales' NoSuchService)
    │   ├── NodeNotFound                         no swarm node has this name or id
    │   ├── NotSwarmManager (also python-on-whales' NotASwarmManager)
    │   │                                        a swarm call on a worker or a non-swarm engine
    │   └── ContainerStateError                  wrong state for the action (exec in a stopped one)
    └── OperationTimeout (also a TimeoutError)   the call passed its own deadline

Only what the engine side raises is translated (python-on-whales' Docker errors, a
missing docker CLI, OS errors and timeouts of the docker process). Any other exception
(an AttributeError or KeyError in our own code) is a bug: it propagates unchanged, and the
tool layer reports it as ``internal`` and logs its traceback.

``InvalidInput`` is raised before any docker process starts. ``OperationTimeout`` names
the deadline that passed, which is the call's own bound and never a stop's grace period.
``InventoryError`` comes from ``operator_core.fleet.load_inventory``.
``PolicyError``, ``PolicyDenied`` and ``AuditError`` come from the tool layer (policy,
audit, ``operator_core.runner``), never from the executor. ``ApprovalUnavailable`` is
raised by an approval callback (the runner's ``approver``) when it has nobody to ask; the
runner turns it into a denial under the rule ``approval.unavailable``.
"""

from __future__ import annotations

from typing import NotRequired, TypedDict

from python_on_whales.exceptions import (
    DockerException,
    NoSuchContainer,
    NoSuchNetwork,
    NoSuchService,
    NotASwarmManager,
)

from operator_core.words import JSONObject, JSONValue

__all__ = [
    "ApprovalUnavailable",
    "AuditError",
    "ContainerNotFound",
    "ContainerStateError",
    "EngineError",
    "EngineUnreachable",
    "HealStateError",
    "HistoryError",
    "InvalidArguments",
    "InvalidInput",
    "InventoryError",
    "NetworkNotFound",
    "NodeNotFound",
    "NotSwarmManager",
    "OperationTimeout",
    "OperatorError",
    "PolicyDenied",
    "PolicyError",
    "Problem",
    "ServiceNotFound",
    "UnknownTool",
]


class OperatorError(Exception):
    """Base of every error operator-core raises."""


class InvalidInput(OperatorError, ValueError):
    """An argument is malformed or out of range; nothing was sent to the engine."""


class UnknownTool(InvalidInput):
    """No tool has the name asked for; ``suggestions`` holds the closest names."""

    def __init__(self, message: str, suggestions: list[str]) -> None:
        super().__init__(message)
        self.suggestions = suggestions


class Problem(TypedDict):
    """One fault of a tool call's arguments: the field, what is wrong, how to fix it."""

    field: str
    problem: str
    fix: str
    #: What was sent, for a scalar that is not a secret (a long text is cut).
    got: NotRequired[JSONValue]


class InvalidArguments(InvalidInput):
    """A tool call's arguments do not fit its schema; ``problems`` has one entry per fault."""

    def __init__(self, message: str, problems: list[Problem]) -> None:
        super().__init__(message)
        self.problems = problems


class PolicyError(OperatorError, ValueError):
    """A policy (file or code) is malformed: unknown key, wrong type, bad value."""


class InventoryError(OperatorError, ValueError):
    """A fleet inventory (file or code) is malformed; the message names each fault and its fix."""


class PolicyDenied(OperatorError):
    """The policy refused a tool call; ``rule`` names the rule, ``details`` says more."""

    def __init__(self, rule: str, message: str, details: JSONObject | None = None) -> None:
        super().__init__(message)
        self.rule = rule
        self.details: JSONObject = details or {}


class ApprovalUnavailable(PolicyDenied):
    """An approver has nobody to ask (no terminal, a client without elicitation...).

    Raised by an approval callback instead of answering yes or no; the runner then denies
    the call under the rule ``approval.unavailable``. ``message`` says, for a person, why
    nobody can be asked ("this MCP client cannot ask its user"): the runner puts it in its
    denial together with what to do instead.
    """

    def __init__(self, message: str) -> None:
        super().__init__("approval.unavailable", message)


class AuditError(OperatorError):
    """The audit trail could not record a call (so a mutating action is not run)."""


class HistoryError(OperatorError):
    """The watch's store (its event history) could not be opened, read or written."""


class HealStateError(OperatorError):
    """The healer's store (leases, attempts, escalations) could not be read or written."""


class EngineError(OperatorError):
    """The engine or the docker CLI reported a failure."""


class EngineUnreachable(EngineError):
    """No Docker engine answered (no daemon, wrong host or context, no docker CLI)."""


class ContainerStateError(EngineError):
    """The container exists but is in a state the action cannot work with."""


class OperationTimeout(OperatorError, TimeoutError):
    """A call passed its own deadline; what the engine did meanwhile is unknown.

    ``reason`` tells a known cause apart: ``"engine_not_answering"`` when the engine, not
    the work asked of it, is what did not answer (an exec's command may not have run).
    """

    def __init__(self, message: str, *, reason: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


def _cli_details(
    cause: DockerException | None,
) -> tuple[list[str], int, bytes | None, bytes | None]:
    """Return the constructor arguments python-on-whales' exceptions expect."""
    if cause is None:
        return [], 1, None, None
    stdout = cause.stdout.encode() if cause.stdout is not None else None
    stderr = cause.stderr.encode() if cause.stderr is not None else None
    return list(cause.docker_command), cause.return_code, stdout, stderr


class ContainerNotFound(EngineError, NoSuchContainer):
    """No container has this name or id; ``reference`` holds what was asked for."""

    def __init__(self, reference: str, cause: DockerException | None = None) -> None:
        NoSuchContainer.__init__(self, *_cli_details(cause))
        self.reference = reference
        self.args = (f"no such container: {reference!r}",)

    def __str__(self) -> str:
        return str(self.args[0])


class NetworkNotFound(EngineError, NoSuchNetwork):
    """No network has this name or id; ``reference`` holds what was asked for."""

    def __init__(self, reference: str, cause: DockerException | None = None) -> None:
        NoSuchNetwork.__init__(self, *_cli_details(cause))
        self.reference = reference
        self.args = (f"no such network: {reference!r}",)

    def __str__(self) -> str:
        return str(self.args[0])


class ServiceNotFound(EngineError, NoSuchService):
    """No swarm service has this name or id; ``reference`` holds what was asked for."""

    def __init__(self, reference: str, cause: DockerException | None = None) -> None:
        NoSuchService.__init__(self, *_cli_details(cause))
        self.reference = reference
        self.args = (f"no such service: {reference!r}",)

    def __str__(self) -> str:
        return str(self.args[0])


class NodeNotFound(EngineError):
    """No swarm node has this name (hostname) or id; ``reference`` holds what was asked for."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"no such node: {reference!r}")
        self.reference = reference


class NotSwarmManager(EngineError, NotASwarmManager):
    """The engine is not a swarm manager, so it can neither show nor change the cluster.

    ``worker`` is True when the engine is a swarm worker (run the call on a manager), False
    when it is in no swarm at all (``docker swarm init`` or ``join`` first).
    """

    def __init__(self, worker: bool, cause: DockerException | None = None) -> None:
        NotASwarmManager.__init__(self, *_cli_details(cause))
        self.worker = worker
        where = (
            "this engine is a swarm worker; swarm calls must go to a manager of the swarm"
            if worker
            else "this engine is in no swarm (run `docker swarm init` or `docker swarm join`)"
        )
        self.args = (f"not a swarm manager: {where}",)

    def __str__(self) -> str:
        return str(self.args[0])
