"""The words results and arguments are made of: states, health values, streams, conditions.

Plain ``Literal`` types, shared by the executor, the tool layer's input models and the
command line, without importing the docker layer.
"""

from __future__ import annotations

from typing import Literal, TypeAlias, Union, get_args

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
    "JSONObject",
    "JSONValue",
    "Status",
    "Stream",
    "ToolsetName",
    "json_list",
    "json_object",
    "json_objects",
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

#: A value as JSON carries it (what ``json.loads`` returns): tool arguments, results on
#: the wire, audit records, alert payloads. Code that reads one narrows it first.
JSONValue: TypeAlias = Union[  # noqa: UP007 - a recursive alias needs the string form
    str, int, float, bool, list["JSONValue"], dict[str, "JSONValue"], None
]
#: A JSON object: the arguments of a tool call, a result, a record.
JSONObject: TypeAlias = dict[str, JSONValue]


def json_object(value: JSONValue) -> JSONObject:
    """Return ``value`` if it is a JSON object, else an empty one (a missing block)."""
    return value if isinstance(value, dict) else {}


def json_list(value: JSONValue) -> list[JSONValue]:
    """Return ``value`` if it is a JSON list, else an empty one (a missing list)."""
    return value if isinstance(value, list) else []


def json_objects(value: JSONValue) -> list[JSONObject]:
    """Return the objects of a JSON list (rows of a result); anything else is left out."""
    return [item for item in json_list(value) if isinstance(item, dict)]


#: The toolsets an agent may be offered (``operator_core.tools.offer``).
ToolsetName = Literal["containers", "diagnosis", "swarm"]
