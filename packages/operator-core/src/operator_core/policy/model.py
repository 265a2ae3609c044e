"""``Policy``: what an agent may do, loaded from TOML or built in code, strictly checked.

A policy file looks like this (every key optional; the defaults are the safe ones)::

    mode = "execute"              # "observe" (default): read-only tools only
    dry_run = false               # true: mutating tools report what they would do
    protect_self = true           # the operator's own container is never acted on
    max_concurrent_actions = 4    # mutating actions running at once, overall
    allow_alias_sharing = false   # true: a network alias may be another container's name
    toolsets = ["containers"]     # offer only these ("containers", "diagnosis", "swarm")

    [protected]                   # no mutating tool acts on these
    names = ["db", "3f2a9c1d4e5f"]        # exact names, or ids (full or a 12+ hex prefix)
    patterns = ["prod-*"]                 # shell-style globs on the name
    labels = ["tier=critical", "keep"]    # "key" or "key=value"

    [scope]                       # when set, only containers with ALL these labels change
    require_labels = ["tier=web"]
    require_host_labels = ["env=staging"]   # in a fleet: only hosts with ALL these labels

    [hosts.edge-1]                # in a fleet: this host's own mode, and more protection
    mode = "observe"
    protected = { names = ["gateway"] }

    [approval]                    # which calls need a yes from the approval callback
    risks = ["high"]              # by risk (default ["high"])
    tools = { docker_execute_command = true }   # per tool, overriding risk and tool default
    timeout_s = 300

    [swarm]                       # swarm services and nodes (operator_core.policy.swarm)
    max_replicas = 20             # also min_replicas, protect_managers = true,
                                  # drain_protected = "deny" (or "approval"),
                                  # [swarm.protected_services], [swarm.protected_nodes]

    [retention]                   # how long records are kept (operator_core.audit.retention)
    audit_max_age_days = 30       # also audit_max_rows, history_max_age_days (7),
                                  # history_max_rows (1000000), prune_every_s (3600)
    [heal]                        # operator watch --heal (operator_core.policy.heal_rules)
    restart_unhealthy = true      # also preapproved, require_labels, max_restarts, ...
    [alerts.oncall]               # where `operator watch` sends alerts (policy.alert_rules)
    kind = "slack"                # or "webhook", "alertmanager"; url and token are secrets
    url = "https://hooks.slack.com/services/..."

    [[rate_limits]]               # at most `max` actions per `window_s`, sliding window
    tools = ["docker_restart_container"]   # omitted: every mutating tool
    per = "container"             # or "all"
    max = 3
    window_s = 600

Any unknown key, wrong type or bad value is a ``PolicyError`` naming each fault; nothing
falls back to a permissive default.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, Field, ValidationError, field_validator

from operator_core.audit.retention import RetentionRules
from operator_core.errors import PolicyError
from operator_core.policy._strict import Strict, check_labels, explain, parse_label
from operator_core.policy.alert_rules import AlertSink
from operator_core.policy.heal_rules import HealRules
from operator_core.policy.swarm_rules import SwarmRules
from operator_core.validate import REFERENCE_PATTERN
from operator_core.words import ToolsetName

if TYPE_CHECKING:
    from operator_core.tools.spec import ToolSpec

__all__ = [
    "ApprovalRules",
    "HealRules",
    "HostPolicy",
    "Policy",
    "ProtectedContainers",
    "RateLimit",
    "Scope",
    "load_policy",
    "parse_label",
    "policy_from_dict",
]

RiskName = Literal["low", "medium", "high"]


def _check_tools(names: Iterable[str] | None) -> None:
    """Refuse tool names that no tool has."""
    from operator_core.tools.registry import REGISTRY  # tools/ loads only when names are given

    for name in names or ():
        if name not in REGISTRY:
            raise ValueError(f"no tool named {name!r}; tools: {', '.join(REGISTRY)}")


def _known_tools(tools: dict[str, bool]) -> dict[str, bool]:
    """Return ``tools`` once each names a tool (``_check_tools``)."""
    _check_tools(tools)
    return tools


def _high_only() -> list[RiskName]:
    """Return the default approval risks: high only."""
    return ["high"]


LabelList = Annotated[list[str], AfterValidator(check_labels)]


def _fix(value: str, allowed: re.Pattern[str]) -> str:
    """Return how to write ``value`` so that it can match: stripped of blanks and '/'."""
    fixed = value.strip().lstrip("/")
    return f"; write {fixed!r}" if fixed and allowed.fullmatch(fixed) else ""


def _container_name(value: str) -> str:
    """Return a protected name or id as the engine spells it, or refuse one that can't match.

    ``/pg`` (as ``docker inspect`` prints a name) is taken as ``pg``; a name with blanks or
    characters no container name has would protect nothing, silently, so it is refused.
    """
    name = value[1:] if value.startswith("/") else value
    if not name.strip():
        raise ValueError("empty name or pattern")
    if not _NAME.fullmatch(name):
        raise ValueError(
            f"no container name can match {value!r} (names are ASCII letters, digits, "
            f"'_', '.', '-', led by a letter or digit){_fix(value, _NAME)}"
        )
    return name


def _name_pattern(value: str) -> str:
    """Return a glob on container names (leading '/' dropped), or refuse one that can't match."""
    pattern = value[1:] if value.startswith("/") else value
    if not pattern.strip():
        raise ValueError("empty name or pattern")
    if not _PATTERN.fullmatch(pattern):
        raise ValueError(
            f"no container name can match the pattern {value!r} (use ASCII letters, "
            f"digits, '_', '.', '-' and the wildcards * ? [...], led by a letter, a digit "
            f"or a wildcard){_fix(value, _PATTERN)}"
        )
    return pattern


#: A container name or id as the engine has it (``REFERENCE_PATTERN``, ASCII only).
_NAME = re.compile(REFERENCE_PATTERN, re.ASCII)
#: A glob over such names: name characters and fnmatch's ``* ? [ ] !``, not led by '_.-'.
_PATTERN = re.compile(r"[A-Za-z0-9*?\[][A-Za-z0-9_.*?!\[\]-]*", re.ASCII)

NameList = list[Annotated[str, AfterValidator(_container_name)]]
PatternList = list[Annotated[str, AfterValidator(_name_pattern)]]


class ProtectedContainers(Strict):
    """Containers no mutating tool may act on.

    Names and patterns are refused at load when no container name could match them
    (blanks, characters outside Docker's name alphabet); a leading '/' is dropped.
    """

    names: NameList = Field(default_factory=list)
    patterns: PatternList = Field(default_factory=list)
    labels: LabelList = Field(default_factory=list)


class Scope(Strict):
    """When ``require_labels`` is set, only containers carrying all of them may change.

    In a fleet, ``require_host_labels`` limits mutating tools to hosts whose inventory
    labels include all of them (``env=staging``).
    """

    require_labels: LabelList = Field(default_factory=list)
    require_host_labels: LabelList = Field(default_factory=list)


class HostPolicy(Strict):
    """A ``[hosts.NAME]`` section: that host's mode, and containers protected there too.

    ``mode`` replaces the policy's own on that host (``observe`` for prod while staging
    executes); ``protected`` adds to the policy's protected containers, never removes.
    """

    mode: Literal["observe", "execute"] | None = None
    protected: ProtectedContainers = Field(default_factory=ProtectedContainers)


class ApprovalRules(Strict):
    """Which calls need approval: by risk, overridden per tool."""

    risks: list[RiskName] = Field(default_factory=_high_only)
    tools: Annotated[dict[str, bool], AfterValidator(_known_tools)] = Field(default_factory=dict)
    timeout_s: float = Field(default=300.0, gt=0, le=86400)


class RateLimit(Strict):
    """At most ``max`` mutating actions per ``window_s`` seconds, per container or overall.

    Every action that was let through counts, even one that then failed (a failing
    restart loop flaps a service as much as a working one); denied calls and dry runs
    do not count.

    Limits hold within a process, across processes run one after another that share an
    audit trail (each starts from the trail's recent actions), and, with a SQLite trail,
    across processes running at the same time (each action is decided and recorded in
    one transaction). With a JSONL trail, concurrent processes each count only what was
    in the trail when they started, so together they can exceed a limit.
    """

    tools: list[str] | None = None
    per: Literal["container", "all"] = "container"
    max: int = Field(ge=1, le=100000)
    window_s: float = Field(gt=0, le=7 * 86400)

    @field_validator("tools")
    @classmethod
    def _mutating(cls, names: list[str] | None) -> list[str] | None:
        """Refuse unknown tools and read-only ones (reads are never rate limited)."""
        _check_tools(names)
        from operator_core.tools.registry import REGISTRY  # tools/ loads only when names are given

        reads = [name for name in names or () if REGISTRY[name].read_only]
        if reads:
            raise ValueError(f"read-only tools are not rate limited: {', '.join(reads)}")
        return names

    def applies_to(self, tool: str) -> bool:
        """Whether this limit counts calls of ``tool``."""
        return self.tools is None or tool in self.tools


class Policy(Strict):
    """The whole policy; ``Policy()`` is observe mode with the operator's container protected."""

    mode: Literal["observe", "execute"] = "observe"
    dry_run: bool = False
    protect_self: bool = True
    max_concurrent_actions: int = Field(default=4, ge=1, le=256)
    allow_alias_sharing: bool = False
    protected: ProtectedContainers = Field(default_factory=ProtectedContainers)
    scope: Scope = Field(default_factory=Scope)
    approval: ApprovalRules = Field(default_factory=ApprovalRules)
    rate_limits: list[RateLimit] = Field(default_factory=list)
    swarm: SwarmRules = Field(default_factory=SwarmRules)
    hosts: dict[str, HostPolicy] = Field(default_factory=dict)
    heal: HealRules = Field(default_factory=HealRules)
    #: How long the audit trail and the history keep rows (``operator_core.audit.retention``).
    retention: RetentionRules = Field(default_factory=RetentionRules)
    alerts: dict[str, AlertSink] = Field(default_factory=dict)
    #: The toolsets an agent is offered (``operator_core.tools.offer``); None: every one.
    toolsets: list[ToolsetName] | None = None

    def for_host(self, host: str | None) -> Policy:
        """Return the policy in force on ``host``: its section's mode and added protections."""
        section = self.hosts.get(host) if host is not None else None
        if section is None:
            return self
        mine, theirs = self.protected, section.protected
        protected = ProtectedContainers.model_construct(
            names=[*mine.names, *theirs.names],
            patterns=[*mine.patterns, *theirs.patterns],
            labels=[*mine.labels, *theirs.labels],
        )
        update: dict[str, object] = {"protected": protected}
        if section.mode is not None:
            update["mode"] = section.mode
        return self.model_copy(update=update)

    def mode_section(self, host: str | None) -> str:
        """Return the key that sets the mode on ``host``: ``[hosts.NAME] mode``, else ``mode``.

        A host's own ``mode`` is not changed by ``--mode`` (which sets the policy's), so a
        denial names the key a person has to change.
        """
        section = self.hosts.get(host) if host is not None else None
        return f"[hosts.{host}] mode" if section and section.mode is not None else "mode"

    def check_hosts(self, names: Sequence[str]) -> None:
        """Refuse ``[hosts.NAME]`` sections naming no host of the fleet (``names``).

        Raises PolicyError naming the first unknown section, the others, and the fleet's
        hosts: a section for a host that is not there would silently apply to nothing.
        """
        unknown = [name for name in self.hosts if name not in names]
        if unknown:
            raise PolicyError(
                f"the policy has [hosts.{unknown[0]}] but the inventory's hosts are "
                f"{', '.join(names)}; rename or remove the section"
                + (f" (and {', '.join(unknown[1:])})" if unknown[1:] else "")
            )

    def host_rules(self) -> list[str]:
        """Return the rules that judge a call by its fleet host (only an inventory names one).

        ``[hosts.NAME]`` sections and ``scope.require_host_labels``: without an inventory
        no engine is a named host, so these cannot be applied and mutating calls are refused.
        """
        rules = [f"[hosts.{name}]" for name in self.hosts]
        if self.scope.require_host_labels:
            rules.append("scope.require_host_labels")
        return rules

    # The rules below are the one definition of what the policy says about a tool; the
    # guard enforces them and ``operator policy show`` describes them from the same code.

    def allows(self, spec: ToolSpec) -> bool:
        """Whether the mode lets ``spec`` run: read-only tools always, others in execute."""
        return spec.read_only or self.mode == "execute"

    def dry_runs(self, spec: ToolSpec) -> bool:
        """Whether a call of ``spec`` is only described, not run (a mutating tool, dry run)."""
        return spec.mutating and self.dry_run

    def needs_approval(self, spec: ToolSpec) -> bool:
        """Whether ``spec`` needs approval: per-tool setting, else its risk or its own flag."""
        if spec.name in self.approval.tools:
            return self.approval.tools[spec.name]
        return spec.requires_approval or spec.risk.value in self.approval.risks

    def rate_limits_of(self, spec: ToolSpec) -> list[RateLimit]:
        """Return the rate limits that count calls of ``spec`` (none for a read-only tool)."""
        if spec.read_only:
            return []
        return [limit for limit in self.rate_limits if limit.applies_to(spec.name)]


def policy_from_dict(data: object, source: str = "<policy>") -> Policy:
    """Return the policy ``data`` describes, or raise PolicyError naming every fault."""
    if not isinstance(data, dict):
        raise PolicyError(f"{source}: a policy is a table of settings, got {type(data).__name__}")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        raise PolicyError(explain(exc, source)) from None


def load_policy(path: str | Path) -> Policy:
    """Return the policy in the TOML file at ``path``, or raise PolicyError."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PolicyError(f"{file}: cannot read the policy file: {exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{file}: not valid TOML: {exc}") from None
    return policy_from_dict(data, str(file))
