"""The policy's rules about hosts, for ``operator policy check|show``: sections, one host's view.

``hosts_summary`` lists the ``[hosts.NAME]`` sections; ``host_view`` says how the policy
applies on one host (its mode and who set it, its inventory labels, whether the scope's
host labels let anything change there); ``fleet_warnings`` checks the sections against
the inventory in force (unknown names refused, exactly as a runner on that fleet refuses
them) or, without an inventory, warns that mutating calls will be refused. The ``*_text``
functions put each in words for the summary panel.
"""

from __future__ import annotations

from collections.abc import Mapping

from operator_core.cli.render.policy_summary import (
    HostSection,
    HostView,
    RateLimitSummary,
    ScopeSummary,
    ToolRow,
    hosts_summary,
)
from operator_core.errors import InvalidInput
from operator_core.fleet import Inventory
from operator_core.policy import Policy, has_label
from operator_core.tools import REGISTRY

__all__ = [
    "HostSection",
    "HostView",
    "fleet_warnings",
    "host_view",
    "hosts_summary",
    "hosts_text",
    "limits_text",
    "mark_denials",
    "scope_text",
]


def host_view(policy: Policy, host: str, inventory: Inventory | None) -> HostView:
    """Return how ``policy`` applies on ``host`` (labels and scope from ``inventory``)."""
    labels = dict(inventory.host(host).labels) if inventory is not None else None
    required = policy.scope.require_host_labels
    missing = [label for label in required if labels is not None and not has_label(labels, label)]
    return {
        "name": host,
        "section": host in policy.hosts,
        "mode_set_by": policy.mode_section(host),
        "labels": labels,
        "in_scope": None if not required or labels is None else not missing,
        "missing_labels": missing,
    }


def fleet_warnings(policy: Policy, inventory: Inventory | None, host: str | None) -> list[str]:
    """Check the policy's host rules against ``inventory``; return what a person should know.

    With an inventory, a ``[hosts.NAME]`` naming none of its hosts is a PolicyError (as a
    runner on that fleet refuses it) and so is a ``host`` it lacks (InvalidInput, from the
    inventory). Without one nothing can be checked, and mutating calls would be refused
    (``hosts.no_inventory``): both are said.
    """
    if inventory is not None:
        policy.check_hosts(inventory.names)
        if host is not None and host not in inventory.hosts:
            raise InvalidInput(
                f"--host {host!r} is not a host of the inventory {inventory.source}; "
                f"use one of {', '.join(inventory.names)}"
            )
        return []
    rules = policy.host_rules()
    if not rules:
        return []
    return [
        f"no inventory to check {', '.join(rules)} against (give --inventory FILE); "
        "without one every mutating call is refused (hosts.no_inventory), reads run"
    ]


def mark_denials(tools: list[ToolRow], host: HostView | None) -> None:
    """Say in each tool row what denies it: ``denied_by`` is "mode", the host scope or None.

    On a host without the scope's host labels no tool changes a container, as the guard
    judges it (``scope.require_host_labels``): those rows say so, approval and dry run
    then moot. A service spans the swarm and a node is judged by its own host, so their
    tools are not denied by the host they are reached through.
    """
    outside = host is not None and host["in_scope"] is False
    for tool in tools:
        tool["denied_by"] = None if tool["allowed"] else "mode"
        on_containers = REGISTRY[tool["tool"]].target_kind == "container"
        if outside and tool["allowed"] and not tool["read_only"] and on_containers:
            tool["allowed"], tool["dry_run"], tool["needs_approval"] = False, False, False
            if "approval" in tool:  # which calls need approval: none, as none run
                tool["approval"] = None
            tool["denied_by"] = "scope.require_host_labels"


def _words(items: list[str]) -> str:
    """Return a list as comma-separated text, or 'none'."""
    return ", ".join(items) if items else "none"


def _protected(kept: Mapping[str, list[str]]) -> str:
    """Return what a host's section protects in addition: 'names gateway; labels keep'."""
    return "; ".join(f"{key} {', '.join(values)}" for key, values in kept.items() if values)


def hosts_text(hosts: Mapping[str, HostSection]) -> str:
    """Return the ``[hosts.NAME]`` sections on one line: each host's mode and protection."""
    parts = []
    for name, section in hosts.items():
        mode = section["mode"] or "the policy's mode"
        added = _protected(section["protected"])
        parts.append(f"{name}: {mode}" + (f", also protects {added}" if added else ""))
    return "; ".join(parts) or "none (every host follows the rules above)"


def scope_text(scope: ScopeSummary, host: HostView | None) -> str:
    """Return the scope in words: labels containers and hosts need (and this host's fit)."""
    parts = []
    if scope["require_labels"]:
        parts.append(f"only containers labelled {', '.join(scope['require_labels'])}")
    if scope["require_host_labels"]:
        fit = ""
        if host is not None and host["in_scope"] is not None:
            lacks = f"lacks {', '.join(host['missing_labels'])}: no container changes there"
            fit = f"; {host['name']} {'has them' if host['in_scope'] else lacks}"
        parts.append(f"only hosts labelled {', '.join(scope['require_host_labels'])}{fit}")
    return "; ".join(parts) or "any container not protected"


def limits_text(rate_limits: list[RateLimitSummary]) -> str:
    """Return the ``[[rate_limits]]`` in words: how many per window, counted per what."""
    parts = [
        f"{limit['max']} per {limit['window_s']:g}s per {limit['per']} "
        f"({_words(limit['tools']) if limit['tools'] else 'every mutating tool'})"
        for limit in rate_limits
    ]
    return "; ".join(parts) or "none"
