"""Which tools an agent is offered: those the policy in force lets run, in the chosen toolsets.

A tool is offered when

* its toolset (``containers``, ``diagnosis``, ``swarm``) is chosen, on the command line
  (``operator mcp --toolsets ...``) and in the policy (``toolsets = [...]``): both given,
  a tool must be in both; neither given, every toolset is;
* some host lets it run: a mutating tool is not offered in observe mode, nor in a fleet
  where every host's section (``[hosts.NAME] mode``) says observe.

``everything`` offers every tool (for inspection: the calls are judged as ever). A tool
left out is still answered when called: ``hidden`` says why it is not offered, and the
policy's own denial says why it cannot run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, get_args

from operator_core.errors import InvalidInput, PolicyDenied
from operator_core.tools.diagnosis import DIAGNOSIS_TOOLS
from operator_core.tools.spec import ToolsetName, ToolSpec
from operator_core.tools.swarm import SWARM_TOOLS

if TYPE_CHECKING:
    from operator_core.policy import Policy

__all__ = ["TOOLSETS", "Offer", "offer", "parse_toolsets", "toolset_of"]

#: Every toolset, by name.
TOOLSETS: tuple[ToolsetName, ...] = get_args(ToolsetName)

_SETS: dict[str, ToolsetName] = {
    **{spec.name: "diagnosis" for spec in DIAGNOSIS_TOOLS},
    **{spec.name: "swarm" for spec in SWARM_TOOLS},
}


def toolset_of(tool: str) -> ToolsetName:
    """Return the toolset ``tool`` belongs to (a container tool unless said otherwise)."""
    return _SETS.get(tool, "containers")


def parse_toolsets(given: Iterable[str]) -> frozenset[ToolsetName] | None:
    """Return the toolsets named in ``given`` (comma lists allowed); None when none given.

    Raises InvalidInput naming an unknown toolset and the known ones.
    """
    names = [part.strip() for item in given for part in item.split(",") if part.strip()]
    unknown = sorted(set(names) - set(TOOLSETS))
    if unknown:
        raise InvalidInput(
            f"unknown toolset {', '.join(unknown)}; the toolsets are {', '.join(TOOLSETS)}"
        )
    return frozenset(name for name in TOOLSETS if name in names) if names else None


@dataclass(frozen=True)
class Offer:
    """The tools offered, and why each other tool is not."""

    specs: tuple[ToolSpec, ...]
    hidden: Mapping[str, str] = field(default_factory=dict)

    def denial(self, tool: str) -> PolicyDenied | None:
        """Return the denial of a call to a tool left out for its toolset (None: offered)."""
        why = self.hidden.get(tool)
        if why is None or not why.startswith("toolset"):
            return None
        return PolicyDenied("toolsets", f"{tool} is not offered: {why}", {"tool": tool})


def offer(
    specs: Iterable[ToolSpec],
    policy: Policy,
    *,
    hosts: Iterable[str] = (),
    toolsets: frozenset[ToolsetName] | None = None,
    everything: bool = False,
) -> Offer:
    """Return the tools of ``specs`` to offer under ``policy`` (see the module's rules).

    ``hosts``: the fleet's host names (none: one engine, the policy's own mode).
    """
    chosen = _chosen(toolsets, policy)
    names = tuple(hosts)
    offered: list[ToolSpec] = []
    hidden: dict[str, str] = {}
    for spec in specs:
        why = None if everything else _why_not(spec, policy, names, chosen, toolsets)
        if why is None:
            offered.append(spec)
        else:
            hidden[spec.name] = why
    return Offer(tuple(offered), hidden)


def _chosen(
    toolsets: frozenset[ToolsetName] | None, policy: Policy
) -> frozenset[ToolsetName] | None:
    """Return the toolsets both the command line and the policy choose (None: every one)."""
    from_policy = frozenset(policy.toolsets) if policy.toolsets is not None else None
    if toolsets is None:
        return from_policy
    return toolsets if from_policy is None else toolsets & from_policy


def _why_not(
    spec: ToolSpec,
    policy: Policy,
    hosts: tuple[str, ...],
    chosen: frozenset[ToolsetName] | None,
    command_line: frozenset[ToolsetName] | None,
) -> str | None:
    """Return why ``spec`` is not offered, or None when it is."""
    kind = toolset_of(spec.name)
    if chosen is not None and kind not in chosen:
        where = "--toolsets" if command_line is not None and kind not in command_line else ""
        where = where or "the policy's toolsets"
        picked = ", ".join(sorted(chosen)) or "none"
        return f"toolset {kind!r} is not chosen ({where}; chosen: {picked})"
    if spec.read_only:
        return None
    if not hosts:
        return None if policy.allows(spec) else 'the policy is in observe mode (mode = "observe")'
    if any(policy.for_host(host).allows(spec) for host in hosts):
        return None
    return "observe mode on every host of the fleet (mode and [hosts.*] sections)"
