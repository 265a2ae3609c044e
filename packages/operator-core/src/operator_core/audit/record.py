"""``AuditRecord``: one tool call as the audit trail keeps it."""

from __future__ import annotations

import json
import math
import re
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationInfo, model_validator
from pydantic_core import to_jsonable_python

__all__ = [
    "AuditRecord",
    "Decision",
    "Outcome",
    "arguments_value",
    "json_state",
    "new_record_id",
    "to_epoch",
]

#: What the policy decided: ``invalid`` (never reached it), ``undecided`` (it could not
#: decide, e.g. the container does not exist), ``allowed``, ``denied`` or ``dry_run``.
Decision = Literal["invalid", "undecided", "allowed", "denied", "dry_run"]
#: How the call ended; ``pending`` is written before a mutating action runs and replaced
#: when it ends, so an action cut short by a crash still leaves its trace; a runner that
#: starts later marks such a record ``interrupted`` (see ``runner.reconcile``).
Outcome = Literal[
    "ok", "failed", "denied", "dry_run", "invalid", "pending", "cancelled", "interrupted"
]


def new_record_id() -> str:
    """Return a fresh record id (time-ordered prefix, random suffix)."""
    return f"{datetime.now(UTC):%Y%m%dT%H%M%S%f}-{uuid.uuid4().hex[:12]}"


def to_epoch(moment: float | int | str | datetime) -> float:
    """Return seconds since the epoch for an epoch number, a datetime or an ISO 8601 string."""
    if isinstance(moment, int | float):
        return float(moment)
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return when.timestamp()


class AuditRecord(BaseModel):
    """One tool call: who, why, what, on which container, what the policy said, how it ended.

    ``arguments``, ``reason``, ``error`` and ``result`` are redacted before they get here.
    ``before`` and ``after`` hold the container's state around a mutating action.
    ``time``/``ts`` say when the call started or, for a mutating action the policy let
    through, when it was admitted (after any approval): rate limits count from then.
    """

    # A non-finite number in a free-form field (arguments, result...) is kept as the
    # string "NaN", "Infinity" or "-Infinity": JSON has no such number, and pydantic's own
    # default writes null, which would say the value was absent.
    model_config = ConfigDict(extra="forbid", ser_json_inf_nan="strings")

    id: str = Field(default_factory=new_record_id)
    time: str
    ts: float = Field(allow_inf_nan=False)
    actor: str | None = None
    reason: str | None = None
    tool: str
    risk: str | None = None
    arguments: JsonValue = None
    #: The reference the agent gave (a container's, service's or node's name or id).
    container: str | None = None
    #: The container acted on or read (None when the target is a service or node).
    container_id: str | None = None
    container_name: str | None = None
    #: What the call acted on, of any kind (``policy.target.Target``): ``container``,
    #: ``service`` or ``node`` (None: no target, or a record written before kinds were kept).
    target_kind: Literal["container", "service", "node"] | None = None
    target_id: str | None = None
    target_name: str | None = None
    #: The fleet host the call went to (None: a single-engine runner, or a fleet-wide list).
    host: str | None = None
    #: What rate limits and locks counted the action by: ``engine:<ID>/<container id>`` or
    #: ``swarm:<cluster ID>/<service or node id>``, as the engine named itself (None:
    #: no target was resolved, or a record written before keys were kept).
    target_key: str | None = None
    decision: Decision
    rule: str | None = None
    outcome: Outcome
    error: dict[str, JsonValue] | None = None
    duration_ms: float | None = Field(default=None, allow_inf_nan=False)
    before: dict[str, JsonValue] | None = None
    after: dict[str, JsonValue] | None = None
    result: dict[str, JsonValue] | None = None

    @model_validator(mode="before")
    @classmethod
    def _valid_text(cls, data: object, info: ValidationInfo) -> object:
        """Replace lone surrogates (text that is not Unicode) with U+FFFD, everywhere.

        A Python caller can pass them in ``reason``, ``actor`` or a reference; neither
        JSON nor SQLite can store them, and every call must keep its record. Python
        values in the free-form fields are first read as JSON holds them
        (``_json_fields``); a record read from JSON (a trail) holds nothing else.
        """
        fields = _json_fields(data) if info.mode == "python" else data
        return _older(_scrub(fields))

    def to_json(self) -> str:
        """Return the record as one line of strict JSON (no NaN, no Infinity).

        A non-finite number is a string by then (``_scrub``); ``allow_nan=False`` makes
        sure no invalid JSON is ever written to the trail, whatever slips through.
        """
        data = self.model_dump(mode="json")
        return json.dumps(data, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


#: The fields that hold free-form JSON: what the call was given, how it ended, the state.
_FREE_FORM = ("arguments", "error", "before", "after", "result")


def arguments_value(arguments: object) -> JsonValue:
    """Return a call's (redacted) arguments as the trail keeps them: as JSON holds them.

    What JSON has no word for but writes as text is that text (a tuple is a list, a
    datetime its ISO 8601 form, a key its text); a value a Python caller passed that JSON
    cannot hold at all is named, not kept: it is the caller's input, and the call must
    keep its record all the same.
    """
    found: JsonValue = to_jsonable_python(arguments, fallback=_unwritable)
    return found


def json_state(value: Mapping[str, object] | None) -> dict[str, JsonValue] | None:
    """Return a state, an error or a result excerpt as the trail keeps it: as JSON holds it.

    These are the operator's own values: one JSON cannot hold is a bug, and raises
    ``pydantic_core.PydanticSerializationError``.
    """
    if value is None:
        return None
    found: dict[str, JsonValue] = to_jsonable_python(value)
    return found


def _json_fields(data: object) -> object:
    """Return a record's fields with the free-form ones read as JSON holds them.

    ``arguments`` as ``arguments_value`` reads them; ``error``, ``before``, ``after``
    and ``result`` (the operator's own values) strictly: one that JSON cannot hold is a
    bug, and fails the record (``pydantic.ValidationError``).
    """
    if not isinstance(data, Mapping):
        return data
    fields = dict(data)
    for key in _FREE_FORM:
        if fields.get(key) is not None:
            read = arguments_value if key == "arguments" else to_jsonable_python
            fields[key] = read(fields[key])
    return fields


def _unwritable(value: object) -> str:
    """Name a value JSON cannot hold (by its type only: its text may hold a secret)."""
    return f"[REDACTED: not JSON ({type(value).__name__})]"


def _older(data: object) -> object:
    """Read a record written before targets were kept: its container is its target.

    Its ``target_id`` and ``target_name`` are its ``container_id`` and ``container_name``
    (which then held a service's or node's id too); its kind was not kept and stays None.
    """
    if not isinstance(data, dict) or "target_id" in data or not data.get("container_id"):
        return data
    return {**data, "target_id": data["container_id"], "target_name": data.get("container_name")}


_NON_FINITE = {"nan": "NaN", "inf": "Infinity", "-inf": "-Infinity"}
_SURROGATE = re.compile("[\ud800-\udfff]")


def _scrub(value: object) -> object:
    """Return ``value`` with every lone surrogate in its strings replaced by U+FFFD.

    A non-finite float becomes its name as a string ("NaN", "Infinity", "-Infinity"),
    so the record in memory is the record stored, and never null.
    """
    if isinstance(value, float) and not math.isfinite(value):
        return _NON_FINITE[repr(value)]
    if isinstance(value, str):
        return _SURROGATE.sub("\ufffd", value) if _SURROGATE.search(value) else value
    if isinstance(value, dict):
        return {_scrub(key): _scrub(child) for key, child in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(child) for child in value]
    return value
