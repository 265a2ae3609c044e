"""Lean tool answers: what an agent reads back from a tool, and nothing it pays for twice.

An agent pays for every byte of a result. Three rules shape a tool's answer (the Python
API, ``DockerActionExecutor``, keeps its full results):

* **one id**: an object carrying both ``container_id`` and ``id`` (the same full id)
  keeps ``id`` only, and ``short_id`` goes where ``id`` is; ids are short (12
  characters, as docker shows them, which every tool takes) except an inspect's own id;
* **nothing the agent sent, nothing said twice**: a dry run does not echo the tool and
  its arguments, a log read its tail and stream; an inspect's ``restarts`` block does not
  restate ``restart_count`` or the state's ``restarting`` and ``started_at``; a
  read-only tool's answer has no ``audit_id`` (the record is still written); a list
  entry's ``truncated: false`` goes (the answer's ``truncated`` says);
* **no empty fields**: a field that is null, ``[]`` or ``{}`` is left out (absent means
  none);
* **compact lists**: a listing's entries keep the fields an agent needs to choose its
  next call (``COMPACT``), with short ids and no empty values; ``fields`` asks for more
  of them, ``verbose`` for every field, full ids and empty values included;
* **current tasks**: a service's task list keeps the tasks meant to run now; the
  history of ended tasks becomes one ``ended`` summary (how many, how many failed, the
  newest error and exit code). ``verbose`` or ``desired_state`` gives every task.

``fields`` and ``verbose`` are taken off the arguments before the runner sees them
(``split_options``), so validation, the policy and the audit trail see the call as ever.
"""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import ValidationError

from operator_core.docker.swarm.results import NodeEntry, ServiceSummary, TaskEntry
from operator_core.errors import InvalidArguments, Problem
from operator_core.results import ContainerSummary
from operator_core.tools.inputs import AnswerOptions
from operator_core.tools.registry import REGISTRY
from operator_core.words import JSONObject, json_object

__all__ = [
    "COMPACT",
    "SHORT_ID",
    "Listing",
    "lean_envelope",
    "lean_result",
    "option_schema",
    "split_options",
]

#: How many characters of a 64-hex id a compact entry keeps (docker's own short id).
SHORT_ID = 12


class Listing(TypedDict):
    """How a listing tool's answer is compacted: its list, default fields, all fields."""

    key: str
    compact: tuple[str, ...]
    known: frozenset[str]


def _listing(key: str, compact: tuple[str, ...], entry: type) -> Listing:
    """Return a listing whose fields are those of the TypedDict ``entry`` (plus host)."""
    known = frozenset(entry.__annotations__) | {"host", "id"}
    return {"key": key, "compact": compact, "known": known}


_CONTAINER_FIELDS: tuple[str, ...] = (
    "name",
    "id",
    "host",
    "image",
    "status",
    "health",
    "exit_code",
)
_CONTAINER_FIELDS += ("compose_project", "compose_service")
_SERVICE_FIELDS: tuple[str, ...] = ("name", "service_id", "mode", "image", "replicas_desired")
_SERVICE_FIELDS += ("replicas_running", "update_state")
_TASK_FIELDS: tuple[str, ...] = (
    "task_id",
    "slot",
    "node",
    "desired_state",
    "state",
    "error",
    "exit_code",
)
_TASK_FIELDS += ("updated_at",)

#: The listing tools: the fields each entry keeps by default.
COMPACT: dict[str, Listing] = {
    "docker_list_containers": _listing(
        "containers",
        _CONTAINER_FIELDS,
        ContainerSummary,
    ),
    "docker_list_services": _listing(
        "services",
        _SERVICE_FIELDS,
        ServiceSummary,
    ),
    "docker_list_service_tasks": _listing(
        "tasks",
        _TASK_FIELDS,
        TaskEntry,
    ),
    "docker_list_nodes": _listing(
        "nodes",
        ("hostname", "node_id", "role", "availability", "status", "tasks_running"),
        NodeEntry,
    ),
}

_ID_KEYS = frozenset({"id", "service_id", "node_id", "task_id"})
#: The answers whose own id stays full (a listing with verbose keeps every id full).
_FULL_IDS = frozenset({"docker_inspect_container", "docker_inspect_service"})
#: Ids shortened in any list's entries (a log search's matches, say).
_LONG_ID_KEYS = _ID_KEYS | {"container_id"}
_READS = frozenset(name for name, spec in REGISTRY.items() if spec.read_only)
_SHUTDOWN = "shutdown"
_FAILED = frozenset({"failed", "rejected", "orphaned"})


def option_schema() -> JSONObject:
    """Return the JSON Schema properties ``fields`` and ``verbose`` add to a listing tool."""
    from operator_core.tools.spec import clean_schema, lean_schema

    return json_object(lean_schema(clean_schema(AnswerOptions.model_json_schema()))["properties"])


def split_options(tool: str, arguments: Any) -> tuple[AnswerOptions | None, Any]:
    """Return a listing call's answer options and the arguments without them.

    Other tools (and arguments that are not an object) pass through untouched: the
    runner judges them. Raises InvalidArguments for a bad ``fields`` or ``verbose``.
    """
    listing = COMPACT.get(tool)
    if listing is None or not isinstance(arguments, dict):
        return None, arguments
    given = {key: arguments[key] for key in ("fields", "verbose") if key in arguments}
    rest = {key: value for key, value in arguments.items() if key not in given}
    try:
        options = AnswerOptions.model_validate(given)
    except ValidationError as exc:
        problem = _first(exc)
        message = f"Invalid arguments for {tool}: `{problem['field']}` {problem['problem']}"
        raise InvalidArguments(message, [problem]) from None
    unknown = sorted(set(options.fields or ()) - listing["known"])
    if unknown:
        choices = ", ".join(sorted(listing["known"]))
        message = f"Invalid arguments for {tool}: `fields` has no {', '.join(unknown)}"
        unknown_field: Problem = {
            "field": "fields",
            "problem": f"unknown {unknown}",
            "fix": f"use {choices}",
        }
        raise InvalidArguments(f"{message}. To fix: use some of {choices}", [unknown_field])
    return options, rest


def _first(exc: ValidationError) -> Problem:
    """Return pydantic's first complaint as a problem (field, problem, fix)."""
    error = exc.errors(include_url=False)[0]
    where = ".".join(str(part) for part in error["loc"]) or "arguments"
    fix = "give fields as a list of field names, verbose as true or false"
    return {"field": where, "problem": str(error["msg"]).lower(), "fix": fix}


def lean_envelope(
    tool: str, envelope: dict[str, Any], options: AnswerOptions | None, arguments: Any = None
) -> dict[str, Any]:
    """Return ``envelope`` with its result made lean (an error envelope is unchanged)."""
    if not envelope.get("ok") or "result" not in envelope:
        return envelope
    result = lean_result(tool, envelope["result"], options, arguments)
    verbose = options is not None and options.verbose
    lean = {**envelope, "result": result}
    if tool in _READS and not verbose:
        lean.pop("audit_id", None)  # a read's record is found by time and tool; not by the agent
    return lean


def lean_result(
    tool: str, result: Any, options: AnswerOptions | None = None, arguments: Any = None
) -> Any:
    """Return a tool's result as an agent gets it: one id, compact lists, current tasks."""
    result = _one_id(result)
    verbose = options is not None and options.verbose
    if verbose:
        return result
    result = _no_empties(result, full_id=tool in _FULL_IDS)
    if isinstance(result, dict):
        result = _unrepeated(result)
    listing = COMPACT.get(tool)
    if listing is None or not isinstance(result, dict):
        return result
    entries = result.get(listing["key"])
    if not isinstance(entries, list):
        return result
    lean = dict(result)
    if tool == "docker_list_service_tasks" and not _asked_state(arguments):
        entries, lean["ended"] = _current(entries)
        lean["count"] = len(entries)
    wanted = (*listing["compact"], *((options.fields or []) if options is not None else []))
    lean[listing["key"]] = [_compact(entry, wanted) for entry in entries]
    return lean


#: What an answer echoes of the call (the agent sent it): a dry run's tool and
#: arguments (and its ``changed: false``, ``approval_required: false``), a log read's
#: tail and stream.
_ECHOES = {"dry_run": ("tool", "arguments"), "tail_limit": ("tail_limit", "stream")}


def _unrepeated(result: dict[str, Any]) -> dict[str, Any]:
    """Return ``result`` without what it echoes of the call or says twice.

    An inspect's ``restarts`` block restates ``restart_count`` and the state's
    ``restarting`` and ``started_at``: those copies go.
    """
    dropped: set[str] = set()
    for marker, keys in _ECHOES.items():
        if marker in result and (marker != "dry_run" or result[marker] is True):
            dropped.update(keys)
    lean = {key: value for key, value in result.items() if key not in dropped}
    if lean.get("dry_run") is True:  # nothing changed, and no approval: absent says it
        for flag in ("changed", "approval_required"):
            if lean.get(flag) is False:
                lean.pop(flag)
    restarts, state = lean.get("restarts"), lean.get("state")
    if isinstance(restarts, dict) and isinstance(state, dict):
        if lean.get("restart_count") == restarts.get("count"):
            lean.pop("restart_count", None)
        said = {"restarting": "restarting", "last_started_at": "started_at"}
        lean["restarts"] = {
            key: value
            for key, value in restarts.items()
            if not (key in said and state.get(said[key]) == value)
        }
    return lean


def _asked_state(arguments: Any) -> bool:
    """Whether the call named a ``desired_state`` (then every task it asked for is shown)."""
    return isinstance(arguments, dict) and arguments.get("desired_state") is not None


def _one_id(value: Any) -> Any:
    """Return ``value`` where no object carries its id twice (``container_id`` and ``id``)."""
    if isinstance(value, list):
        return [_one_id(item) for item in value]
    if not isinstance(value, dict):
        return value
    twice = "id" in value and value.get("container_id") == value["id"]
    return {
        key: _one_id(item) for key, item in value.items() if not (twice and key == "container_id")
    }


def _no_empties(value: Any, *, full_id: bool = False, in_list: bool = False) -> Any:
    """Return ``value`` without empty fields (null, [], {}), its ids short.

    ``full_id``: the answer's own top-level id stays full (an inspect's). In a list's
    entries, ``truncated: false`` goes too (the answer's own ``truncated`` says it).
    """
    if isinstance(value, list):
        return [_no_empties(item, in_list=True) for item in value]
    if not isinstance(value, dict):
        return value
    kept: dict[str, Any] = {}
    for key, item in value.items():
        if item is None or item == [] or item == {} or (in_list and _unflagged(key, item)):
            continue
        if key == "short_id" and "id" in value:
            continue
        short = key in _LONG_ID_KEYS and isinstance(item, str) and not full_id
        kept[key] = item[:SHORT_ID] if short else _no_empties(item)
    return kept


def _unflagged(key: str, value: Any) -> bool:
    """Whether a list entry's field is a ``truncated`` flag that is false."""
    return key == "truncated" and value is False


def _compact(entry: Any, wanted: tuple[str, ...]) -> Any:
    """Return ``entry`` with only ``wanted`` fields, short ids and no empty values."""
    if not isinstance(entry, dict):
        return entry
    kept = {}
    for key in dict.fromkeys(wanted):
        value = entry.get(key)
        if value is None or value == [] or value == {}:
            continue
        short = key in _ID_KEYS and isinstance(value, str) and len(value) > SHORT_ID
        kept[key] = value[:SHORT_ID] if short else value
    return kept


def _current(tasks: list[Any]) -> tuple[list[Any], dict[str, Any]]:
    """Return the tasks meant to run now, and a summary of the ended ones (newest first)."""
    current = [t for t in tasks if not isinstance(t, dict) or t.get("desired_state") != _SHUTDOWN]
    ended = [t for t in tasks if isinstance(t, dict) and t.get("desired_state") == _SHUTDOWN]
    failed = [t for t in ended if t.get("state") in _FAILED or t.get("error")]
    summary: dict[str, Any] = {"count": len(ended), "failed": len(failed)}
    if failed:
        summary["last_error"] = failed[0].get("error")
        summary["last_exit_code"] = failed[0].get("exit_code")
    return current, summary
