"""Find containers: listings and batch reads, the inspects sent together over the pool."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from operator_core.docker._engine import reads as _reads
from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.fields import obj, text
from operator_core.docker._engine.state import (
    COMPOSE_PROJECT_LABEL,
    COMPOSE_SERVICE_LABEL,
    Snapshot,
    from_json,
)
from operator_core.errors import InvalidInput
from operator_core.limits import MAX_BATCH
from operator_core.results import (
    ContainerList,
    ContainerSummary,
    FoundContainer,
    InspectManyResult,
)
from operator_core.validate import (
    CONTROL_CHARACTERS,
    NAME_PART_PATTERN,
    validate_label_filters,
    validate_reference,
)
from operator_core.words import HEALTHS, STATUSES

__all__ = [
    "ContainerFilters",
    "DiscoveryActions",
    "container_filters",
    "has_upper_dir",
    "summary",
]

_MAX_UPPER_DIRS = 8
_MAX_TEXT = 1024
_NAME_PART = re.compile(NAME_PART_PATTERN, re.ASCII)


def summary(snap: Snapshot) -> ContainerSummary:
    """Return what an agent needs to choose a container, from one read."""
    return {
        **snap.names(),
        "id": snap.id,
        "image": snap.image,
        "status": snap.status,
        "health": snap.health,
        "exit_code": None if snap.active else snap.exit_code,
        "started_at": snap.started_at,
        "finished_at": snap.finished_at,
        "restart_count": snap.restart_count,
        "labels": snap.labels,
        "compose_project": snap.compose_project,
        "compose_service": snap.compose_service,
        "networks": snap.networks,
    }


def _text(value: object, what: str) -> str:
    """Return ``value`` if it is a non-empty one-line string, else raise InvalidInput."""
    if not isinstance(value, str):
        raise InvalidInput(f"{what} must be a string, got {type(value).__name__}")
    if value == "" or len(value) > _MAX_TEXT or CONTROL_CHARACTERS.search(value):
        raise InvalidInput(f"{what} must be 1 to {_MAX_TEXT} characters without control characters")
    return value


def _choice(value: object, what: str, allowed: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``allowed``, else raise InvalidInput."""
    if not isinstance(value, str) or value not in allowed:
        raise InvalidInput(f"{what} must be one of {', '.join(allowed)}; got {value!r}")
    return value


@dataclass(frozen=True)
class ContainerFilters:
    """Validated listing filters, as docker takes them and as a read is checked against."""

    name: str | None
    labels: tuple[str, ...]
    status: str | None
    health: str | None

    def docker_args(self) -> list[str]:
        """Return the ``--filter`` values for ``docker container ls``."""
        specs = [f"label={spec}" for spec in self.labels]
        specs += [f"{key}={value}" for key, value in self._single() if value is not None]
        return specs

    def api_filters(self) -> dict[str, list[str]]:
        """Return the ``filters`` of ``GET /containers/json`` (each key: values, all must hold)."""
        found: dict[str, list[str]] = {"label": list(self.labels)} if self.labels else {}
        for key, value in self._single():
            if value is not None:
                found[key] = [value]
        return found

    def _single(self) -> list[tuple[str, str | None]]:
        """Return the filters that take one value.

        ``health=none`` is left to ``keeps``: Podman's engine matches nothing with it.
        """
        health = None if self.health == "none" else self.health
        return [("name", self.name), ("status", self.status), ("health", health)]

    def keeps(self, snap: Snapshot) -> bool:
        """Whether a container, as read after the listing, still matches.

        docker treats ``name`` as a regular expression; here it is a literal substring.
        """
        if self.name is not None and self.name not in snap.name:
            return False
        if self.status is not None and snap.status != self.status:
            return False
        return self.health is None or (snap.health or "none") == self.health


def container_filters(
    name: object,
    label: object,
    status: object,
    health: object,
    compose_project: object,
    compose_service: object,
) -> ContainerFilters:
    """Validate the listing filters; raise InvalidInput on the first bad one."""
    if name is not None and (not isinstance(name, str) or _NAME_PART.fullmatch(name) is None):
        raise InvalidInput(
            f"name filter must be part of a container name (ASCII letters, digits, '_', '.', "
            f"'-'), got {name!r}"
        )
    labels = validate_label_filters(label)
    for key, value in (
        (COMPOSE_PROJECT_LABEL, compose_project),
        (COMPOSE_SERVICE_LABEL, compose_service),
    ):
        if value is not None:
            labels.append(f"{key}={_text(value, key.rsplit('.', 1)[-1])}")
    return ContainerFilters(
        name=name,
        labels=tuple(labels),
        status=None if status is None else _choice(status, "status", STATUSES),
        health=None if health is None else _choice(health, "health", HEALTHS),
    )


def _upper_dirs(value: object) -> list[str]:
    """Validate the writable-layer paths to look for; drop repeats, keep the order."""
    if isinstance(value, str) or not isinstance(value, list | tuple):
        raise InvalidInput("upper_dirs must be a list of paths")
    if len(value) > _MAX_UPPER_DIRS:
        raise InvalidInput(f"at most {_MAX_UPPER_DIRS} upper_dirs per call, got {len(value)}")
    return list(dict.fromkeys(_text(item, "upper_dir") for item in value))


def has_upper_dir(data: dict[str, object], upper_dirs: Sequence[str]) -> bool:
    """Whether an inspect's writable layer (``GraphDriver.Data.UpperDir``) is in ``upper_dirs``.

    A relative path (``<layer>/diff``, as Docker mounts an overlay whose options would not
    fit a page) matches the end of the engine's absolute one.
    """
    mine = text(obj(obj(data.get("GraphDriver")).get("Data")).get("UpperDir"))
    if not mine:
        return False
    return any(mine == d or (not d.startswith("/") and mine.endswith("/" + d)) for d in upper_dirs)


def _references(refs: object) -> list[str]:
    """Validate a list of references; drop repeats, keep the order."""
    if isinstance(refs, str) or not isinstance(refs, list | tuple):
        raise InvalidInput("refs must be a list of container names or ids")
    if len(refs) > MAX_BATCH:
        raise InvalidInput(f"at most {MAX_BATCH} containers per call, got {len(refs)}")
    return list(dict.fromkeys(validate_reference(ref) for ref in refs))


class DiscoveryActions(ExecutorCore):
    """Find containers: listings and batch reads, the inspects sent together over the pool."""

    async def list_containers(
        self,
        all: bool = False,
        name: str | None = None,
        label: str | list[str] | None = None,
        status: str | None = None,
        health: str | None = None,
        compose_project: str | None = None,
        compose_service: str | None = None,
    ) -> ContainerList:
        """List containers (running ones unless ``all``) matching every filter given.

        ``name`` matches part of the name; ``label`` is ``key`` or ``key=value`` (or a list,
        all must match); ``status`` one of ``STATUSES`` (it lists stopped containers even
        without ``all``); ``health`` one of ``HEALTHS``. Costs one listing request and
        one inspect per container, sent together over the pool. Each entry is read
        after the listing and dropped if it no longer matches or is gone.
        """
        if not isinstance(all, bool):
            raise InvalidInput(f"all must be true or false, got {type(all).__name__}")
        chosen = container_filters(name, label, status, health, compose_project, compose_service)

        async def work() -> list[ContainerSummary]:
            filters = chosen.api_filters()
            ids = await _reads.list_ids(self._api, include_stopped=all, filters=filters)
            found, _ = await _reads.inspect_many(self._api, ids)
            snaps = [from_json(found[ref]) for ref in ids if ref in found]
            return [summary(snap) for snap in snaps if chosen.keeps(snap)]

        entries = await self._call("list containers", work)
        return {"containers": entries, "count": len(entries)}

    async def inspect_containers(self, refs: list[str]) -> InspectManyResult:
        """Read several containers, their inspects sent together over the pool.

        Returns ``containers`` (one entry per reference found, in the order asked, with the
        ``reference`` it answers) and ``missing`` (the references no container has).
        Repeated references are read once; an empty list makes no request.
        """
        wanted = _references(refs)

        async def work() -> InspectManyResult:
            answers, missing = await _reads.inspect_many(self._api, wanted)
            found: list[FoundContainer] = [
                {"reference": ref, **summary(from_json(answers[ref]))}
                for ref in wanted
                if ref in answers
            ]
            return {"containers": found, "missing": missing}

        if not wanted:
            return {"containers": [], "missing": []}
        return await self._call(f"inspect {len(wanted)} containers", work)

    async def containers_with_upper_dirs(self, upper_dirs: list[str]) -> list[str]:
        """Return the full ids of the running containers whose writable layer is listed.

        The operator reads its root filesystem's ``upperdir`` from ``/proc/self/mountinfo``
        (``policy.self_container``); only the engine knows which container owns it. Costs
        one listing and one inspect per running container, within the call deadline.
        """
        wanted = _upper_dirs(upper_dirs)

        async def work() -> list[str]:
            running = await _reads.list_ids(self._api, include_stopped=False, filters={})
            found, _ = await _reads.inspect_many(self._api, running)
            return [ref for ref in running if ref in found and has_upper_dir(found[ref], wanted)]

        if not wanted:
            return []
        return await self._call("find the container of a root filesystem layer", work)
