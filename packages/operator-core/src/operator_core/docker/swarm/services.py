"""See swarm services: listings and one service's whole configuration.

Every call goes to a swarm manager; any other engine answers ``NotSwarmManager``.
"""

from __future__ import annotations

import re

from operator_core.docker._engine.core import ExecutorCore
from operator_core.docker._engine.fields import number, obj, objects, text
from operator_core.docker.swarm import _snapshot as _swarm
from operator_core.docker.swarm._view import change_config, service_summary
from operator_core.docker.swarm.results import (
    HealthCheck,
    PublishedPort,
    ServiceDetails,
    ServiceList,
    ServiceNetwork,
)
from operator_core.errors import InvalidInput
from operator_core.validate import NAME_PART_PATTERN, validate_label_filters, validate_service

__all__ = ["ServiceActions"]

_NAME_PART = re.compile(NAME_PART_PATTERN, re.ASCII)


def _name_filter(value: object) -> str | None:
    """Return a service name filter (part of a name), else raise InvalidInput."""
    if value is None:
        return None
    if not isinstance(value, str) or _NAME_PART.fullmatch(value) is None:
        raise InvalidInput(
            "name filter must be part of a service name (ASCII letters, digits, '_', '.', "
            f"'-'), got {value!r}"
        )
    return value


def _health_check(container: dict[str, object]) -> HealthCheck | None:
    """Return the health check a service sets, durations in seconds (None: it sets none)."""
    check = obj(container.get("Healthcheck"))
    words = check.get("Test")
    test = [str(word) for word in words] if isinstance(words, list) else []
    if not test:
        return None
    if test[0] == "NONE":
        return {"disabled": True}
    return {
        "test": test,
        "interval_s": _seconds(check.get("Interval")),
        "timeout_s": _seconds(check.get("Timeout")),
        "retries": number(check.get("Retries")),
        "start_period_s": _seconds(check.get("StartPeriod")),
    }


def _seconds(nanoseconds: object) -> float | None:
    """Return nanoseconds as seconds, or None (the engine's default applies)."""
    return round(nanoseconds / 1e9, 3) if isinstance(nanoseconds, int | float) else None


def _ports(endpoint: dict[str, object]) -> list[PublishedPort]:
    """Return the ports a service publishes."""
    ports = objects(endpoint.get("Ports")) or objects(obj(endpoint.get("Spec")).get("Ports"))
    return [
        {
            "protocol": text(port.get("Protocol")),
            "target_port": number(port.get("TargetPort")),
            "published_port": number(port.get("PublishedPort")),
            "publish_mode": text(port.get("PublishMode")),
        }
        for port in ports
    ]


def _networks(template: dict[str, object]) -> list[ServiceNetwork]:
    """Return the networks a service's tasks are attached to, with their aliases."""
    return [
        {"network_id": text(net.get("Target")), "aliases": _words(net.get("Aliases"))}
        for net in objects(template.get("Networks"))
    ]


def _words(value: object) -> list[str]:
    """Return a JSON list's items as text (null or not a list: none)."""
    return [str(item) for item in value] if isinstance(value, list) else []


def _details(snap: _swarm.ServiceSnap, tasks: list[_swarm.TaskSnap]) -> ServiceDetails:
    """Return ``inspect_service``'s result from one read of the service and its tasks."""
    template = obj(snap.spec.get("TaskTemplate"))
    container = obj(template.get("ContainerSpec"))
    status = snap.update
    return {
        **service_summary(snap, tasks),
        "update_status": None
        if status.state is None
        else {
            "state": status.state,
            "started_at": status.started_at,
            "completed_at": status.completed_at,
            "message": status.message,
        },
        "update_config": change_config(snap.spec.get("UpdateConfig")),
        "rollback_config": change_config(snap.spec.get("RollbackConfig")),
        "can_roll_back": snap.has_previous_spec,
        "previous_replicas": snap.previous_replicas,
        "health_check": _health_check(container),
        "ports": _ports(snap.endpoint),
        "networks": _networks(template),
        "constraints": _words(obj(template.get("Placement")).get("Constraints")),
    }


class ServiceActions(ExecutorCore):
    """List and inspect swarm services (on a manager)."""

    async def list_services(
        self, name: str | None = None, label: str | list[str] | None = None
    ) -> ServiceList:
        """List the swarm's services, by name, with their replicas desired and running.

        ``name`` matches the start of a service name (docker's own rule), ``label`` is
        ``key`` or ``key=value`` (or a list, all must match). ``replicas_running`` counts
        the tasks the swarm wants running that run now. Two requests whatever the number of
        services (the services, their tasks).
        """
        chosen = _name_filter(name)
        labels = validate_label_filters(label)
        filters: dict[str, list[str]] = {"label": labels} if labels else {}
        if chosen is not None:
            filters["name"] = [chosen]

        async def work() -> ServiceList:
            snaps = await _swarm.read_services(self._api, filters)
            tasks = await _swarm.read_tasks(self._api, [snap.id for snap in snaps], "running")
            entries = [
                service_summary(snap, [t for t in tasks if t.service_id == snap.id])
                for snap in snaps
            ]
            return {"services": entries, "count": len(entries)}

        return await self._call("list services", work)

    async def inspect_service(self, service: str) -> ServiceDetails:
        """Read one service's summary, update and rollback config, health check and more.

        Also its ports, networks and placement constraints; changes nothing.
        """
        ref = validate_service(service)

        async def work() -> ServiceDetails:
            snap = await _swarm.read_service(self._api, ref)
            return _details(snap, await _swarm.read_tasks(self._api, [snap.id], "running"))

        return await self._call(f"inspect service {ref}", work, service=ref)
