"""Reads of many containers over the Engine API: one listing, then the inspects at once.

A listing is one ``GET /containers/json`` and then one ``GET /containers/{id}/json`` per
container, sent together over the client's pool (at most ``PARALLEL_READS`` at a time),
so it costs about one round trip more than the listing whatever the number. A container
gone between the listing and its read is left out, as ``missing``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence

from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.fields import objects, text
from operator_core.errors import ContainerNotFound

__all__ = ["PARALLEL_READS", "inspect_many", "list_ids"]

#: The most inspects one batch has in flight on the engine at once.
PARALLEL_READS = 8


async def list_ids(
    api: EngineClient, *, include_stopped: bool, filters: Mapping[str, list[str]]
) -> list[str]:
    """Return the full ids of the containers the engine lists, newest first."""
    params: dict[str, str | bool | dict[str, list[str]]] = {"all": include_stopped}
    if filters:
        params["filters"] = dict(filters)
    listed = await api.get_list("/containers/json", params)
    return [found for item in objects(listed) if (found := text(item.get("Id")))]


async def inspect_many(
    api: EngineClient, references: Sequence[str]
) -> tuple[dict[str, dict[str, object]], list[str]]:
    """Inspect ``references`` at once; return the answers by reference and those missing.

    Any failure other than a missing container (an unreachable engine, an ambiguous id
    prefix) is raised.
    """
    gate = asyncio.Semaphore(PARALLEL_READS)

    async def one(ref: str) -> dict[str, object] | None:
        async with gate:
            try:
                return await api.get_object(f"/containers/{ref}/json")
            except ContainerNotFound:
                return None

    answers = await asyncio.gather(*(one(ref) for ref in references))
    found = {ref: data for ref, data in zip(references, answers, strict=True) if data is not None}
    return found, [ref for ref in references if ref not in found]
