"""The audit record of a tool call, built in one place from what its stages decided.

``build_record`` folds a call's ``Ledger`` (``runner.stages``) into an ``AuditRecord``:
the pending record written before an action runs and the final one alike. Arguments are
stored redacted (``stored_arguments``), including those that failed validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import cast

from operator_core.audit.record import AuditRecord, arguments_value, json_state
from operator_core.audit.redact import REDACTED, redact_arguments, redact_value
from operator_core.policy.target import Target
from operator_core.runner.envelope import result_excerpt
from operator_core.runner.stages import (
    Acted,
    Admitted,
    Approved,
    Begun,
    Ended,
    Found,
    Judged,
    Read,
    Resolved,
    Stage,
    Validated,
    last,
)
from operator_core.tools.bounds import finite, loads, shape_problem
from operator_core.tools.spec import ToolSpec
from operator_core.words import JSONObject, JSONValue

__all__ = ["build_record", "given_arguments", "stored_arguments", "target_reference"]


def build_record(
    entries: tuple[Stage, ...], envelope: Mapping[str, object], now: float
) -> AuditRecord:
    """Return the audit record of a call whose stages decided ``entries`` (first: ``Begun``).

    ``envelope`` is what the call returns (its result is kept, as an excerpt, when it is
    ok); ``now`` the monotonic clock (the duration is from ``Begun.started``). A call not
    ended yet must have been admitted: its record is then ``pending``.
    """
    begun = entries[0]
    assert isinstance(begun, Begun)  # noqa: S101 - a ledger starts with the call
    found, valid = last(entries, Found), last(entries, Validated)
    resolved, judged, ended = last(entries, Resolved), last(entries, Judged), last(entries, Ended)
    admitted, acted = last(entries, Admitted), last(entries, Acted)
    if ended is None and admitted is None:
        raise AssertionError("a call's record is written once it was admitted or has ended")
    spec = found.spec if found else None
    args = valid.args if valid else None
    seen = resolved.facts.target if resolved else _read(entries)
    container = seen if seen is not None and seen.kind == "container" else None
    when = admitted.at if admitted is not None else begun.wall
    return AuditRecord(
        id=begun.id,
        time=datetime.fromtimestamp(when, UTC).isoformat(),
        ts=when,
        actor=begun.actor,
        reason=redact_value(str(begun.reason)) if begun.reason else None,
        tool=begun.tool,
        risk=spec.risk.value if spec else None,
        arguments=arguments_value(stored_arguments(begun, spec, args)),
        container=target_reference(begun, spec, args),
        container_id=container.id if container else None,
        container_name=container.name if container else None,
        target_kind=seen.kind if seen else None,
        target_id=seen.id if seen else None,
        target_name=seen.name if seen else None,
        host=valid.host if valid else None,
        target_key=resolved.facts.key if resolved and resolved.facts.engine else None,
        decision=judged.decision if judged else "invalid",
        rule=_rule(entries),
        outcome=ended.outcome if ended else "pending",
        error=json_state(ended.error if ended else None),
        duration_ms=round((now - begun.started) * 1000, 3),
        before=json_state(resolved.before if resolved else None),
        after=json_state(acted.after if acted else None),
        result=json_state(_result(envelope, ended)),
    )


def _rule(entries: tuple[Stage, ...]) -> str | None:
    """Return the rule that decided: a denial's, else the approval's, else none."""
    judged, approved = last(entries, Judged), last(entries, Approved)
    if judged is not None and judged.rule:
        return judged.rule
    return approved.rule if approved is not None else None


def _result(envelope: Mapping[str, object], ended: Ended | None) -> dict[str, object] | None:
    """Return the result excerpt to keep: the envelope's, else what the end noted."""
    if envelope.get("ok"):
        return result_excerpt(envelope.get("result"))
    return ended.result if ended is not None else None


def _read(entries: tuple[Stage, ...]) -> Target | None:
    """Return the target a read result reported, or None."""
    read = last(entries, Read)
    return read.target if read is not None else None


def target_reference(
    begun: Begun, spec: ToolSpec | None, args: Mapping[str, object] | None
) -> str | None:
    """Return the reference to its target the agent gave (a name or id), if the tool takes one."""
    field = spec.target if spec else None
    given = args if args is not None else begun.raw
    value = given.get(field) if isinstance(given, dict) and field else None
    # Only text is kept (cut short): anything else an agent sent may be of any depth.
    return value[:256] if isinstance(value, str) else None


def stored_arguments(
    begun: Begun, spec: ToolSpec | None, args: Mapping[str, object] | None
) -> object:
    """Return the call's arguments as the audit trail keeps them: redacted.

    Validated arguments are stored redacted. Arguments that failed validation (or went to
    an unknown tool) are first parsed as validation parses them, so a JSON string is read
    as the object it holds and its ``env`` values are hidden like any others; a string
    that is not a JSON object is never stored, only its length. Values under keys the tool
    does not have are not stored at all (nothing says what they hold); for an unknown tool
    that is every value, so only its keys are kept.
    """
    if args is not None:
        return redact_arguments(args)
    raw = begun.raw
    problem = shape_problem(raw)
    if problem is not None:  # never walked: it could exhaust the recursion limit
        return f"[REDACTED: arguments that {problem}]"
    if isinstance(raw, str):
        parsed = _json_object(raw)
        if parsed is None:
            return f"[REDACTED: {len(raw)} chars]"
        raw = parsed
    if isinstance(raw, dict):
        known = spec.input_model.model_fields if spec is not None else {}
        raw = {
            str(key): _json_value(value) if key in known else REDACTED for key, value in raw.items()
        }
    # Parsed JSON, or what a Python caller passed: ``finite`` leaves a non-JSON value as is.
    return redact_arguments(finite(cast("JSONValue", raw)))


def given_arguments(begun: Begun, args: Mapping[str, object] | None) -> object:
    """Return the call's arguments as given, read as ``stored_arguments`` reads them.

    Unknown keys' values are kept here (they are what an error may quote, and what the
    stored form hides whole); arguments too deep or too large to walk are left out.
    """
    if args is not None:
        return args
    raw = begun.raw
    if shape_problem(raw) is not None:
        return None
    if isinstance(raw, str):
        raw = _json_object(raw)
    if isinstance(raw, dict):
        return {str(key): _json_value(value) for key, value in raw.items()}
    return raw


def _json_object(text: str) -> JSONObject | None:
    """Return the object a JSON string holds ("" is {}), as validation reads it, or None."""
    if not text.strip():
        return {}
    try:
        parsed = loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _json_value(value: object) -> object:
    """Return a JSON list or object sent as a string (``command``, ``env``) parsed, else as is.

    So a command list sent as a string is redacted word by word, as a list is.
    """
    if isinstance(value, str) and value.lstrip()[:1] in ("[", "{"):
        try:
            parsed = loads(value)
        except ValueError:
            return value
        if isinstance(parsed, list | dict):
            return parsed
    return value
