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
The four errors that are also python-on-whales' (``ContainerNotFound``, ``NetworkNotFound``,
``ServiceNotFound``, ``NotSwarmManager``) are loaded on first use, with python-on-whales:
importing this module (as ``operator_core.policy`` and ``operator_core.audit`` do) does not
load it.

``InventoryError`` comes from ``operator_core.fleet.load_inventory``.
``PolicyError``, ``PolicyDenied`` and ``AuditError`` come from the tool layer (policy,
audit, ``operator_core.runner``), never from the executor. ``ApprovalUnavailable`` is
raised by an approval callback (the runner's ``approver``) when it has nobody to ask; the
runner turns it into a denial under the rule ``approval.unavailable``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

if TYPE_CHECKING:
    from operator_core.errors._engine import (
        ContainerNotFound,
        NetworkNotFound,
        NotSwarmManager,
        ServiceNotFound,
    )

from operator_core.words import JSONValue

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

    def __init__(
        self, rule: str, message: str, details: Mapping[str, object] | None = None
    ) -> None:
        super().__init__(message)
        self.rule = rule
        self.details: dict[str, object] = dict(details or {})


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


class NodeNotFound(EngineError):
    """No swarm node has this name (hostname) or id; ``reference`` holds what was asked for."""

    def __init__(self, reference: str) -> None:
        super().__init__(f"no such node: {reference!r}")
        self.reference = reference


#: The errors that subclass python-on-whales' own, loaded with it on first use.
_ENGINE_ERRORS = frozenset(
    {"ContainerNotFound", "NetworkNotFound", "NotSwarmManager", "ServiceNotFound"}
)


def __getattr__(name: str) -> Any:
    """Load the errors that are also python-on-whales' when one is first asked for."""
    if name in _ENGINE_ERRORS:
        from operator_core.errors import _engine

        return getattr(_engine, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
