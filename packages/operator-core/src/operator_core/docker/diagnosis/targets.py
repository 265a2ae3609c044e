"""The containers a log search reads: named ones, or those a listing's filters select.

Each is inspected once for its id, name and whether it has a TTY (whose log is one raw
stream, not stdout and stderr frames).
"""

from __future__ import annotations

from dataclasses import dataclass

from operator_core.docker._engine import reads
from operator_core.docker._engine.api import EngineClient
from operator_core.docker.containers.discovery import ContainerFilters

__all__ = ["Target", "chosen_targets"]


@dataclass(frozen=True)
class Target:
    """A container to search: its id, name and whether its log is a TTY's (one stream)."""

    id: str
    name: str
    tty: bool


def _target(raw: dict[str, object]) -> Target:
    """Return the container an inspect answered about."""
    config = raw.get("Config")
    tty = isinstance(config, dict) and bool(config.get("Tty"))
    return Target(str(raw.get("Id") or ""), str(raw.get("Name") or "").lstrip("/"), tty)


async def chosen_targets(
    api: EngineClient, refs: list[str] | None, chosen: ContainerFilters
) -> tuple[list[Target], list[str]]:
    """Return the containers to search and the refs that name none (an inspect each).

    Without refs, the listing's filters are the search's labels and Compose project and
    service (no name, status or health, which would need a re-check after the read). A
    container removed between the listing and its inspect is left out.
    """
    if refs is None:
        ids = await reads.list_ids(api, include_stopped=True, filters=chosen.api_filters())
        found, _ = await reads.inspect_many(api, ids)
        return [_target(found[cid]) for cid in ids if cid in found], []
    found, missing = await reads.inspect_many(api, refs)
    return [_target(found[ref]) for ref in refs if ref in found], missing
