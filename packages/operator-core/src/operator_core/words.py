"""The words results and arguments are made of: states, health values, streams, conditions.

Plain ``Literal`` types, shared by the executor, the tool layer's input models and the
command line, without importing the docker layer.
"""

from __future__ import annotations

from typing import Literal, get_args

__all__ = [
    "AVAILABILITIES",
    "CONDITIONS",
    "DESIRED_STATES",
    "EVENT_TYPES",
    "HEALTHS",
    "STATUSES",
    "STREAMS",
    "Availability",
    "Condition",
    "DesiredState",
    "EventType",
    "HealthFilter",
    "Status",
    "Stream",
]

#: The states ``docker container ls --filter status=`` knows.
Status = Literal["created", "restarting", "running", "removing", "paused", "exited", "dead"]
STATUSES: tuple[str, ...] = get_args(Status)
#: The values ``docker container ls --filter health=`` knows; ``none``: no health check.
HealthFilter = Literal["starting", "healthy", "unhealthy", "none"]
HEALTHS: tuple[str, ...] = get_args(HealthFilter)
#: Which output of the logs to read: one of the two, or ``both`` (each line tagged).
Stream = Literal["both", "stdout", "stderr"]
STREAMS: tuple[str, ...] = get_args(Stream)
#: What ``wait_for_container`` can wait for.
Condition = Literal["running", "healthy", "exited", "removed"]
CONDITIONS: tuple[str, ...] = get_args(Condition)
#: The kinds of object the engine reports events for (``docker events --filter type=``).
EventType = Literal[
    "container", "image", "volume", "network", "daemon", "plugin", "service", "node", "secret",
    "config",
]  # fmt: skip
EVENT_TYPES: tuple[str, ...] = get_args(EventType)

#: What ``docker node update --availability`` takes.
Availability = Literal["active", "pause", "drain"]
AVAILABILITIES: tuple[str, ...] = get_args(Availability)
#: The desired states ``docker service ps --filter desired-state=`` knows.
DesiredState = Literal["running", "shutdown", "accepted"]
DESIRED_STATES: tuple[str, ...] = get_args(DesiredState)
