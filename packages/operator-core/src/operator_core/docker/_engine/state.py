"""A container's state as read once from the engine, in JSON-able form."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from python_on_whales import DockerClient

from operator_core.docker._engine import cli as _engine
from operator_core.docker._engine.api import EngineClient
from operator_core.docker._engine.fields import engine_time, flag, number, obj, strings, text
from operator_core.errors import InvalidInput
from operator_core.results import (
    ActionIdentity,
    ContainerIdentity,
    ContainerState,
    RestartHistory,
)
from operator_core.validate import validate_signal

__all__ = [
    "COMPOSE_PROJECT_LABEL",
    "COMPOSE_SERVICE_LABEL",
    "Snapshot",
    "fetch",
    "from_json",
    "iso",
    "read",
    "snapshot",
]

#: The labels docker compose puts on every container it makes.
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
COMPOSE_SERVICE_LABEL = "com.docker.compose.service"


def iso(moment: datetime | None) -> str | None:
    """Return ``moment`` as ISO 8601, or None where the engine has none (it says year 1)."""
    if moment is None or moment.year <= 1:
        return None
    return moment.isoformat()


@dataclass(frozen=True)
class Snapshot:
    """What one ``docker inspect`` said about a container."""

    id: str
    name: str
    image: str | None
    status: str
    running: bool
    paused: bool
    restarting: bool
    oom_killed: bool
    exit_code: int | None
    started_at: str | None
    finished_at: str | None
    health: str | None
    restart_count: int
    networks: list[str] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    has_healthcheck: bool = False
    restart_policy: str | None = None
    #: ``Config.StopSignal`` in the engine's spelling (``SIGKILL`` for ``9`` or ``kill``);
    #: None when the container has none, and the engine sends SIGTERM.
    stop_signal: str | None = None

    @property
    def compose_project(self) -> str | None:
        """The docker compose project the container belongs to, from its labels."""
        return self.labels.get(COMPOSE_PROJECT_LABEL)

    @property
    def compose_service(self) -> str | None:
        """The docker compose service the container runs, from its labels."""
        return self.labels.get(COMPOSE_SERVICE_LABEL)

    @property
    def active(self) -> bool:
        """Whether the engine counts the container as up: running, paused or restarting.

        A restarting container (a crash loop waiting out its back-off) has no process.
        """
        return self.running or self.paused or self.restarting

    def names(self) -> ContainerIdentity:
        """Return the identity block every result about the container starts with."""
        return {"container_id": self.id, "name": self.name}

    def identity(self) -> ActionIdentity:
        """Return the fields an action's result starts with: id, name and status."""
        return {"container_id": self.id, "name": self.name, "state": self.status}

    def state_dict(self) -> ContainerState:
        """Return the ``state`` block of an inspect result."""
        return {
            "status": self.status,
            "running": self.running,
            "paused": self.paused,
            "restarting": self.restarting,
            "oom_killed": self.oom_killed,
            "exit_code": self.exit_code,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "health": self.health,
        }

    def restart_history(self) -> RestartHistory:
        """Return what the engine keeps of the container's restarts (see RestartHistory)."""
        # A restarting container keeps its last exit (the engine counts it as running).
        # A created one that never ran has no exit: its 0 is the engine's blank (a start
        # that failed leaves a non-zero code, which is kept).
        ran = self.started_at is not None or self.exit_code not in (0, None)
        stopped = self.restarting or (ran and not (self.running or self.paused))
        return {
            "count": self.restart_count,
            "policy": self.restart_policy,
            "restarting": self.restarting,
            "last_exit_code": self.exit_code if stopped else None,
            "last_oom_killed": self.oom_killed and stopped,
            "last_started_at": self.started_at,
            "last_finished_at": self.finished_at,
        }


def snapshot(model: Any) -> Snapshot:
    """Return a Snapshot of a python-on-whales ``ContainerInspectResult`` (or a look-alike)."""
    state = model.state
    config = model.config
    health = getattr(state, "health", None)
    # Podman reports "" for a container without a health check; Docker has no Health.
    health_status = (getattr(health, "status", None) if health is not None else None) or None
    settings = model.network_settings
    networks = getattr(settings, "networks", None) if settings is not None else None
    return Snapshot(
        id=str(model.id),
        name=str(model.name or "").lstrip("/"),
        image=getattr(config, "image", None) if config is not None else None,
        status=str(state.status),
        running=bool(state.running),
        paused=bool(state.paused),
        restarting=bool(state.restarting),
        oom_killed=bool(state.oom_killed),
        exit_code=state.exit_code,
        started_at=iso(state.started_at),
        finished_at=iso(state.finished_at),
        health=health_status,
        restart_count=int(model.restart_count or 0),
        networks=sorted(networks or {}),
        labels=dict((getattr(config, "labels", None) if config is not None else None) or {}),
        has_healthcheck=health_status is not None or _configured_healthcheck(config),
        restart_policy=_restart_policy(getattr(model, "host_config", None)),
        stop_signal=_stop_signal(config),
    )


def _configured_healthcheck(config: object) -> bool:
    """Whether a container's config (its own or its image's) holds a health check."""
    check = getattr(config, "healthcheck", None) if config is not None else None
    test = list(getattr(check, "test", None) or []) if check is not None else []
    return bool(test) and test[0] != "NONE"


def _restart_policy(host_config: object) -> str | None:
    """Return the name of a container's restart policy (``no``, ``always``, ...), if known."""
    policy = getattr(host_config, "restart_policy", None) if host_config is not None else None
    name = getattr(policy, "name", None) if policy is not None else None
    return str(name) if name else None


def _stop_signal(config: object) -> str | None:
    """Return a container's stop signal as the engine names it, or None when it has none.

    The engine takes ``9``, ``KILL`` or ``sigkill`` alike; a value this cannot read is
    kept as it is.
    """
    raw = getattr(config, "stop_signal", None) if config is not None else None
    if raw is None or str(raw).strip() == "":
        return None
    try:
        return validate_signal(raw)
    except InvalidInput:
        return str(raw)


def read(client: DockerClient, reference: str) -> Snapshot:
    """Return a fresh snapshot of ``reference`` (one ``docker inspect``)."""
    return snapshot(_engine.inspect_model(client, reference))


def from_json(data: dict[str, object]) -> Snapshot:
    """Return a Snapshot of the engine's ``GET /containers/{id}/json`` answer."""
    state, config = obj(data.get("State")), obj(data.get("Config"))
    # Podman reports "" for a container without a health check; Docker has no Health.
    health = text(obj(state.get("Health")).get("Status")) or None
    check = config.get("Healthcheck")
    test = obj(check).get("Test")
    configured = isinstance(test, list) and bool(test) and test[0] != "NONE"
    policy = text(obj(obj(data.get("HostConfig")).get("RestartPolicy")).get("Name"))
    return Snapshot(
        id=text(data.get("Id")) or "",
        name=(text(data.get("Name")) or "").lstrip("/"),
        image=text(config.get("Image")),
        status=text(state.get("Status")) or "",
        running=flag(state.get("Running")),
        paused=flag(state.get("Paused")),
        restarting=flag(state.get("Restarting")),
        oom_killed=flag(state.get("OOMKilled")),
        exit_code=number(state.get("ExitCode")),
        started_at=iso(engine_time(state.get("StartedAt"))),
        finished_at=iso(engine_time(state.get("FinishedAt"))),
        health=health,
        restart_count=number(data.get("RestartCount")) or 0,
        networks=sorted(obj(obj(data.get("NetworkSettings")).get("Networks"))),
        labels=strings(config.get("Labels")),
        has_healthcheck=health is not None or configured,
        restart_policy=policy or None,
        stop_signal=_signal_name(text(config.get("StopSignal"))),
    )


def _signal_name(raw: str | None) -> str | None:
    """Return a stop signal as the engine names it (``SIGKILL``), None when there is none."""
    if raw is None or raw.strip() == "":
        return None
    try:
        return validate_signal(raw)
    except InvalidInput:
        return raw


async def fetch(api: EngineClient, reference: str) -> Snapshot:
    """Return a fresh snapshot of ``reference`` (one ``GET /containers/{ref}/json``)."""
    return from_json(await api.get_object(f"/containers/{reference}/json"))
