"""The input of every tool, one pydantic model each: types, bounds, defaults, descriptions.

Field names are the executor method's parameter names, so a validated model is passed
to the method as keyword arguments unchanged. Models are lenient where models (the AI
kind) are sloppy and strict where sloppiness is dangerous:

* a number sent as a string (``"10"``) is taken; a bool where a number belongs is not;
* a list or an object sent as a JSON string (``'["ls", "-l"]'``) is parsed;
* an unknown key is an error, never ignored;
* a value the executor would refuse (a signal, an exec user, workdir or env) is refused
  here by the executor's own check, so the runner reports it before any policy step
  (resolving the container, asking for approval).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from operator_core.errors import InvalidInput
from operator_core.limits import (
    DEFAULT_EVENT_LIMIT,
    DEFAULT_EXEC_TIMEOUT_S,
    DEFAULT_GRACE_S,
    DEFAULT_MAX_MATCHES,
    DEFAULT_SEARCH_TAIL,
    DEFAULT_TAIL,
    DEFAULT_WAIT_S,
    MAX_BATCH,
    MAX_CONTEXT_LINES,
    MAX_EVENT_LIMIT,
    MAX_EXEC_TIMEOUT_S,
    MAX_GRACE_S,
    MAX_MATCHES,
    MAX_PATTERN_LENGTH,
    MAX_SEARCH_CONTAINERS,
    MAX_SEARCH_TAIL,
    MAX_STATS_REFS,
    MAX_TAIL,
    MAX_WAIT_S,
)
from operator_core.tools.bounds import loads
from operator_core.tools.params import NO_BOOL, LabelFilters
from operator_core.validate import (
    REFERENCE_PATTERN,
    validate_command,
    validate_env,
    validate_signal,
    validate_user,
    validate_workdir,
)
from operator_core.words import EVENT_TYPES, Condition, EventType, HealthFilter, Status, Stream

__all__ = [
    "AnswerOptions",
    "ConnectNetworkInput",
    "ContainerInput",
    "DisconnectNetworkInput",
    "EventsInput",
    "ExecInput",
    "InspectManyInput",
    "KillInput",
    "ListInput",
    "LogsInput",
    "SearchLogsInput",
    "StatsInput",
    "StopInput",
    "WaitInput",
]

# Bounds and defaults are the executor's own (operator_core.limits), never tighter or
# looser copies: a call the executor would take is never refused here, and vice versa.


def _executor_check(check: Callable[[object], object]) -> AfterValidator:
    """Return a validator running the executor's ``check``; its InvalidInput is a ValueError.

    The value is kept as sent (the executor normalises it again); None passes unchecked.
    The executor's messages name a bad env key, never a value.
    """

    def run(value: object) -> object:
        if value is None:
            return value
        try:
            check(value)
        except InvalidInput as exc:
            raise ValueError(str(exc)) from None
        return value

    return AfterValidator(run)


def _from_json(kind: type, example: str) -> BeforeValidator:
    """Return a validator that parses a JSON string into ``kind`` (a list or a dict)."""

    def parse(value: object) -> object:
        if not isinstance(value, str):
            return value
        try:
            parsed = loads(value)
        except json.JSONDecodeError:
            raise ValueError(
                f"expected a JSON {kind.__name__} such as {example}, got a plain string"
            ) from None
        except ValueError as exc:  # too large, too deep or NaN, refused before parsing
            raise ValueError(f"expected a JSON {kind.__name__} such as {example}: {exc}") from None
        if not isinstance(parsed, kind):
            raise ValueError(f"expected a JSON {kind.__name__} such as {example}")
        return parsed

    return BeforeValidator(parse)


ContainerRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        pattern=REFERENCE_PATTERN,
        description="Container name or id (or a unique id prefix).",
    ),
]
NetworkRef = Annotated[
    str,
    Field(
        min_length=1,
        max_length=256,
        pattern=REFERENCE_PATTERN,
        description="Network name or id.",
    ),
]
NameRef = Annotated[
    str,
    Field(min_length=1, max_length=256, pattern=REFERENCE_PATTERN),
]
GraceSeconds = Annotated[
    int,
    Field(
        ge=0,
        le=MAX_GRACE_S,
        description="Seconds after the stop signal until SIGKILL.",
    ),
    NO_BOOL,
]
OptionalText = Annotated[str | None, Field(max_length=256)]


class _Input(BaseModel):
    """Base of every tool input: unknown keys and non-finite numbers are refused."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ContainerInput(_Input):
    """A tool that needs only a container."""

    container_id: ContainerRef


class StopInput(ContainerInput):
    """Stop or restart a container."""

    timeout: GraceSeconds = DEFAULT_GRACE_S


class KillInput(ContainerInput):
    """Send a signal to a container."""

    signal: Annotated[
        str | int,
        Field(
            description="Signal name ('SIGTERM', 'SIGHUP', 'HUP') or number (15). "
            "Default SIGKILL ends the container at once."
        ),
        NO_BOOL,
        _executor_check(validate_signal),
    ] = "SIGKILL"


class LogsInput(ContainerInput):
    """Read a container's logs."""

    tail: Annotated[
        int,
        Field(ge=1, le=MAX_TAIL, description="How many last lines."),
        NO_BOOL,
    ] = DEFAULT_TAIL
    since: Annotated[
        OptionalText,
        Field(description="Only lines after: ISO 8601 or '10m', '2h'."),
    ] = None
    until: Annotated[
        OptionalText,
        Field(description="Only lines before: ISO 8601 or '5m'."),
    ] = None
    stream: Annotated[
        Stream,
        Field(description="'both' keeps stdout and stderr apart."),
    ] = "both"
    timestamps: Annotated[bool, Field(description="Each line's time.")] = True


class ExecInput(ContainerInput):
    """Run a command in a running container."""

    command: Annotated[
        list[Annotated[str, Field(max_length=65536)]],
        Field(
            min_length=1,
            max_length=256,
            description="The program and its arguments as a list, e.g. "
            '["cat", "/etc/hosts"]. No shell runs unless you ask for one: '
            '["sh", "-c", "ps | grep nginx"].',
        ),
        _from_json(list, '["ls", "-l", "/data"]'),
        _executor_check(validate_command),
    ]
    user: Annotated[
        OptionalText,
        Field(description="User (name or uid[:gid]); default the image's."),
        _executor_check(validate_user),
    ] = None
    workdir: Annotated[
        OptionalText,
        Field(description="Working directory."),
        _executor_check(validate_workdir),
    ] = None
    env: Annotated[
        dict[str, str] | None,
        Field(description="Extra environment; values never echoed or logged."),
        _from_json(dict, '{"LEVEL": "debug"}'),
        _executor_check(validate_env),
    ] = None
    timeout: Annotated[
        float,
        Field(
            gt=0,
            le=MAX_EXEC_TIMEOUT_S,
            description="Seconds it may run (then timed_out).",
        ),
        NO_BOOL,
    ] = DEFAULT_EXEC_TIMEOUT_S


class ConnectNetworkInput(ContainerInput):
    """Connect a container to a network."""

    network: NetworkRef
    alias: Annotated[
        NameRef | None,
        Field(
            description="Extra DNS name for the container on this network, spelt like a "
            "container name; it may not be the name or alias of another container there."
        ),
    ] = None


class DisconnectNetworkInput(ContainerInput):
    """Disconnect a container from a network."""

    network: NetworkRef
    force: Annotated[bool, Field(description="Even if the engine objects.")] = False


class ListInput(_Input):
    """List containers, optionally filtered."""

    all: Annotated[bool, Field(description="Include stopped containers.")] = False
    name: Annotated[OptionalText, Field(description="Name contains this.")] = None
    label: Annotated[LabelFilters, Field(description="Only with every one of these labels.")] = None
    status: Annotated[
        Status | None,
        Field(description="Only this state (stopped ones imply all=true)."),
    ] = None
    health: Annotated[
        HealthFilter | None,
        Field(description="Only this health."),
    ] = None
    compose_project: Annotated[OptionalText, Field(description="Only this Compose project.")] = None
    compose_service: Annotated[OptionalText, Field(description="Only this Compose service.")] = None


class InspectManyInput(_Input):
    """Inspect several containers at once."""

    refs: Annotated[
        list[ContainerRef],
        Field(min_length=1, max_length=MAX_BATCH, description="Container names or ids."),
        _from_json(list, '["web", "db"]'),
    ]


class WaitInput(ContainerInput):
    """Wait for a container to reach a condition."""

    condition: Annotated[
        Condition,
        Field(description="What to wait for."),
    ]
    timeout: Annotated[
        float,
        Field(
            gt=0,
            le=MAX_WAIT_S,
            description="Seconds to wait (then met is false).",
        ),
        NO_BOOL,
    ] = DEFAULT_WAIT_S


_Moment = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        description="ISO 8601 or a duration ago ('30m', '2h', '1d').",
    ),
]


class EventsInput(_Input):
    """Read the engine's events in a window."""

    since: Annotated[_Moment, Field(description="From this moment.")]
    until: Annotated[_Moment | None, Field(description="Up to this moment (default now).")] = None
    container: Annotated[
        ContainerRef | None,
        Field(description="Only this container (may be removed)."),
    ] = None
    service: Annotated[ContainerRef | None, Field(description="Only this swarm service's.")] = None
    types: Annotated[
        list[EventType] | None,
        Field(max_length=len(EVENT_TYPES), description="Only these object kinds."),
        _from_json(list, '["container"]'),
    ] = None
    actions: Annotated[
        list[Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]] | None,
        Field(max_length=32, description="Only these: die, oom, kill, health_status..."),
        _from_json(list, '["die", "oom"]'),
    ] = None
    limit: Annotated[
        int,
        Field(ge=1, le=MAX_EVENT_LIMIT, description="At most this many, newest."),
        NO_BOOL,
    ] = DEFAULT_EVENT_LIMIT


class StatsInput(_Input):
    """Read a one-shot resource snapshot."""

    refs: Annotated[
        list[ContainerRef] | None,
        Field(
            max_length=MAX_STATS_REFS,
            description="Container names or ids (default: every running one).",
        ),
        _from_json(list, '["web", "db"]'),
    ] = None


class SearchLogsInput(_Input):
    """Search the logs of many containers at once."""

    pattern: Annotated[
        str,
        Field(
            min_length=1,
            max_length=MAX_PATTERN_LENGTH,
            description="A substring, or RE2 if regex.",
        ),
    ]
    refs: Annotated[
        list[ContainerRef] | None,
        Field(
            min_length=1,
            max_length=MAX_SEARCH_CONTAINERS,
            description="Container names or ids (default: by the filters).",
        ),
        _from_json(list, '["web", "db"]'),
    ] = None
    label: Annotated[LabelFilters, Field(description="Only with every one of these labels.")] = None
    compose_project: Annotated[OptionalText, Field(description="Only this Compose project.")] = None
    service: Annotated[OptionalText, Field(description="Only this Compose service.")] = None
    since: Annotated[_Moment | None, Field(description="Only lines after this moment.")] = None
    tail: Annotated[
        int,
        Field(ge=1, le=MAX_SEARCH_TAIL, description="Last lines searched per container."),
        NO_BOOL,
    ] = DEFAULT_SEARCH_TAIL
    regex: Annotated[bool, Field(description="pattern is RE2 (no backrefs).")] = False
    ignore_case: Annotated[bool, Field(description="Match regardless of case.")] = False
    context: Annotated[
        int,
        Field(ge=0, le=MAX_CONTEXT_LINES, description="Context lines around."),
        NO_BOOL,
    ] = 0
    max_matches: Annotated[
        int,
        Field(ge=1, le=MAX_MATCHES, description="Stop after this many matches."),
        NO_BOOL,
    ] = DEFAULT_MAX_MATCHES


# --- Lean answers (issue 21): how much of a listing comes back. Not an executor argument:
# the MCP server takes these off a listing call (``operator_core.tools.answers``).


class AnswerOptions(_Input):
    """How much of each entry a listing tool returns."""

    fields: Annotated[
        list[Annotated[str, Field(pattern=r"^[a-z_]{1,40}$")]] | None,
        Field(max_length=32, description="More fields, e.g. ['labels']."),
        _from_json(list, '["labels"]'),
    ] = None
    verbose: Annotated[bool, Field(description="Every field, full ids.")] = False
