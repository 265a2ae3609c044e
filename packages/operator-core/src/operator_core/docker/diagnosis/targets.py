"""The containers a log search reads: named ones, or those a listing's filters select.

Each is inspected once for its id, name and whether it has a TTY (whose log is one raw
stream, not stdout and stderr frames).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from operator_core.docker._engine.api import EngineClient, Params, as_list
from operator_core.docker.containers.discovery import ContainerFilters
from operator_core.errors import ContainerNotFound

__all__ = ["Target", "chosen_targets"]


@dataclass(frozen=True)
class Target:
    """A container to search: its id, name and whether its log is a TTY's (one stream)."""

    id: str
    name: str
    tty: bool


async def _inspect(api: EngineClient, ref: str) -> Target | None:
    """Return the container ``ref`` names, None if there is none."""
    try:
        raw = await api.get_object(f"/containers/{ref}/json")
    except ContainerNotFound:
        return None
    config = raw.get("Config")
    tty = isinstance(config, dict) and bool(config.get("Tty"))
    return Target(str(raw.get("Id") or ""), str(raw.get("Name") or "").lstrip("/"), tty)


def _filters(chosen: ContainerFilters) -> dict[str, list[str]]:
    """Return a listing's ``filters`` from the ``key=value`` filters docker takes."""
    found: dict[str, list[str]] = {}
    for spec in chosen.docker_args():
        key, _, value = spec.partition("=")
        found.setdefault(key, []).append(value)
    return found


async def chosen_targets(
    api: EngineClient, refs: list[str] | None, chosen: ContainerFilters
) -> tuple[list[Target], list[str]]:
    """Return the containers to search and the refs that name none (an inspect each).

    Without refs, the listing's filters are the search's labels and Compose project and
    service (no name, status or health, which would need a re-check after the read).
    """
    if refs is None:
        params: Params = {"all": True}
        if filters := _filters(chosen):
            params = {**params, "filters": filters}
        listed = as_list(await api.get("/containers/json", params), "GET /containers/json")
        refs = [str(item.get("Id")) for item in listed if isinstance(item, dict)]
        found = await asyncio.gather(*(_inspect(api, ref) for ref in refs))
        return [snap for snap in found if snap is not None], []
    found = await asyncio.gather(*(_inspect(api, ref) for ref in refs))
    missing = [ref for ref, snap in zip(refs, found, strict=True) if snap is None]
    return [snap for snap in found if snap is not None], missing
