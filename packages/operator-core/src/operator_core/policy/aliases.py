"""Which network alias a container may take: never a name another container answers to.

Docker's embedded DNS answers a name on a network with every container that has it as its
name or alias there, case-insensitively. An agent that connects an in-scope container to a
network under the alias ``pg``, where ``pg`` is a protected database, would have ``pg``
resolve to its container too: a takeover of the protected service's traffic. So an alias
is refused when it is

* the name, short id or alias of a protected container (or the operator's own) on that
  network (``alias.protected``), or a name the policy protects by name or pattern, on
  that network or not (the protected container may join it, or start, later);
* the name, short id or alias of any other container on that network (``alias.taken``),
  unless the policy sets ``allow_alias_sharing = true``.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Any

from operator_core.policy.matching import Verdict, protection
from operator_core.policy.model import Policy, ProtectedContainers
from operator_core.policy.target import TargetFacts

__all__ = ["alias_verdict"]


def _answers_to(member: dict[str, Any]) -> set[str]:
    """Return the names ``member`` answers to on its network, lower-cased as DNS compares."""
    names = {str(member.get("name") or ""), str(member.get("id") or "")[:12]}
    names.update(str(alias) for alias in member.get("aliases") or ())
    return {name.lower() for name in names if name}


def _lowered(policy: Policy) -> Policy:
    """Return ``policy`` with its protected names and patterns lower-cased, as DNS compares.

    An alias ``Cache`` answers for a container named ``cache`` (and ``CACHE``), so a name
    the policy protects is matched against an alias whatever the case of either.
    """
    mine = policy.protected
    protected = ProtectedContainers.model_construct(
        names=[name.lower() for name in mine.names],
        patterns=[pattern.lower() for pattern in mine.patterns],
        labels=mine.labels,
    )
    return policy.model_copy(update={"protected": protected})


def alias_verdict(
    policy: Policy,
    own_ids: Collection[str],
    alias: str,
    target: TargetFacts,
    network: str,
    members: Iterable[dict[str, Any]],
) -> Verdict | None:
    """Return why ``target`` may not take ``alias`` on ``network``, or None when it may.

    ``members`` are the containers attached to the network (``network_members``).
    """
    wanted = alias.lower()
    where = f"on network {network!r}"
    owners = [
        TargetFacts.of("container", str(m["id"]), str(m.get("name") or ""), labels=m["labels"])
        for m in members
        if m.get("id") != target.id and wanted in _answers_to(m)
    ]
    for facts in owners:
        guarded = protection(policy, facts, own_ids)
        if guarded is not None:
            return Verdict(
                "alias.protected",
                f"container {facts.name!r} ({facts.id[:12]}) answers to {alias!r} {where} "
                f"and is protected ({guarded.rule}); container {target.name!r} may not take "
                "that name over, so nothing was done. Choose another alias.",
                {"owner": facts.summary()},
            )
    protected_name = protection(_lowered(policy), TargetFacts.of("container", "", wanted), ())
    if protected_name is not None:
        return Verdict(
            "alias.protected",
            f"the alias {alias!r} is a name the policy protects ({protected_name.rule}); "
            f"giving it to container {target.name!r} {where} would let it answer for the "
            "protected container, so nothing was done. Choose another alias.",
        )
    if owners and not policy.allow_alias_sharing:
        facts = owners[0]
        return Verdict(
            "alias.taken",
            f"container {facts.name!r} ({facts.id[:12]}) already answers to {alias!r} "
            f"{where}; a second container under that name would take part of its traffic, "
            "so nothing was done. Choose another alias (a person can set "
            "allow_alias_sharing = true in the policy).",
            {"owner": facts.summary()},
        )
    return None
