"""``operator heal list`` and ``operator heal clear``: the healer's escalations, for a person.

An escalated container (or Swarm service) is never acted on again by any watch sharing
the store (``--history-db``) until a person clears it. ``clear`` takes ``CONTAINER`` or
``HOST/CONTAINER`` (a name, or an ID or a 12+ character prefix of one, as the escalation
recorded it) and forgets its escalation, failed heals, restarts and backoff; nothing is
asked of any engine. Also here: ``check_heal_start``, which refuses ``watch --heal`` when
its restarts would need an approval nobody can give.
"""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from operator_core.cli.advice import did_you_mean
from operator_core.cli.app import ERR, OUT, JsonOption, fail, settings_of
from operator_core.errors import InvalidInput, OperatorError
from operator_core.policy import Policy
from operator_core.present.views import print_json
from operator_core.tools.registry import REGISTRY
from operator_core.watch.heal.state import Escalation, HealStore

__all__ = ["check_heal_start", "find_escalation", "heal_app"]

heal_app = typer.Typer(help="The healer's escalations (operator watch --heal): list, clear.")


def check_heal_start(policy: Policy, source: str, *, yes: bool, interactive: bool) -> None:
    """Refuse (InvalidInput) a healer whose restarts need an approval nobody can give.

    They need one when the policy wants approval for ``docker_restart_container`` and the
    ``[heal]`` section does not pre-approve them; nobody can give it without ``--yes`` and
    without a terminal to ask on.
    """
    if not policy.heal.restart_unhealthy:
        raise InvalidInput(
            f"the policy ({source}) heals nothing: set restart_unhealthy = true in its [heal] "
            'section (and mode = "execute")'
        )
    needs = policy.needs_approval(REGISTRY["docker_restart_container"])
    if needs and not policy.heal.preapproved and not yes and not interactive:
        raise InvalidInput(
            f"watch --heal would ask a person to approve each restart (the policy ({source}) "
            "wants approval for docker_restart_container), and nobody can answer: no terminal, "
            "no --yes. Set preapproved = true in its [heal] section to pre-approve the "
            "healer's own restarts, or pass --yes"
        )


def find_escalation(escalations: list[Escalation], target: str) -> Escalation:
    """Return the one escalation ``target`` (``CONTAINER`` or ``HOST/CONTAINER``) names.

    InvalidInput (with the nearest names) when none does, or naming each when several do.
    """
    host, _, wanted = target.rpartition("/")
    wanted = wanted.strip()
    if not wanted:
        raise InvalidInput(f"{target!r} names no container: write CONTAINER or HOST/CONTAINER")
    found = [
        entry
        for entry in escalations
        if (not host or entry["host"] == host)
        and (
            entry["name"] == wanted
            or entry["container_id"] == wanted
            or (len(wanted) >= 12 and entry["container_id"].startswith(wanted))
        )
    ]
    if len(found) == 1:
        return found[0]
    if not found:
        names = [_target(entry) for entry in escalations]
        near = did_you_mean(target, names) if names else ""
        if near.startswith("`operator docker ps"):
            near = "`operator heal list` lists them."
        raise InvalidInput(f"no escalated container is {target!r}. {near}".rstrip())
    raise InvalidInput(
        f"{target!r} names {len(found)} escalations ({', '.join(map(_target, found))}): "
        "write HOST/CONTAINER or the container's ID"
    )


def _target(entry: Escalation) -> str:
    """Return how a person names an escalation: HOST/NAME, or the name (or ID) alone."""
    name = entry["name"] or entry["container_id"]
    return f"{entry['host']}/{name}" if entry["host"] else name


@heal_app.command("list")
def list_escalations(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List the escalated containers and services (no watch heals them until cleared)."""
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        store = HealStore(settings.history_db)
        try:
            escalations = store.escalations()
        finally:
            store.close()
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(OUT, {"ok": True, "result": {"escalations": escalations}})
        return
    if not escalations:
        ERR.print("no escalations: the healer may act on every opted-in container")
    for entry in escalations:
        OUT.print(escape(f"{entry['since']} {_target(entry)}: {entry['why']}"), soft_wrap=True)


@heal_app.command("clear")
def clear(
    ctx: typer.Context,
    target: Annotated[str, typer.Argument(help="CONTAINER or HOST/CONTAINER (name or ID).")],
    as_json: JsonOption = False,
) -> None:
    """Clear an escalation: the healer acts on that container again, with a fresh count."""
    settings = settings_of(ctx)
    as_json = as_json or settings.json
    try:
        store = HealStore(settings.history_db)
        try:
            entry = find_escalation(store.escalations(), target)
            store.clear(entry["engine_id"], entry["container_id"])
        finally:
            store.close()
    except OperatorError as exc:
        fail(exc, as_json=as_json)
    if as_json:
        print_json(OUT, {"ok": True, "result": {"cleared": entry}})
        return
    ERR.print(
        escape(
            f"cleared the escalation of {_target(entry)} (since {entry['since']}): "
            "the healer acts on it again, its failed heals forgotten"
        )
    )
