"""The shape Alertmanager's API v2 accepts at ``POST /api/v2/alerts``, checked without network.

Written from Alertmanager's OpenAPI spec (api/v2/openapi.yaml): the body is
``postableAlerts``, an array of ``postableAlert``, which is ``alert`` (``labels``: a
``labelSet``, required; ``generatorURL``: a URI) plus ``startsAt`` and ``endsAt``
(date-time) and ``annotations`` (a ``labelSet``). A ``labelSet`` maps strings to strings.
Alertmanager also validates each alert on receipt (types.Alert.Validate): at least one
label, label names matching ``[a-zA-Z_][a-zA-Z0-9_]*``, and ``endsAt`` not before
``startsAt``. The spec allows no other fields of a postable alert.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

__all__ = ["postable_alerts_problems"]

_KNOWN = {"labels", "annotations", "startsAt", "endsAt", "generatorURL"}
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_DATE_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)")


def _label_set(value: Any, where: str, *, names: bool) -> list[str]:
    """Return the problems of a labelSet (string to string; label names when ``names``)."""
    if not isinstance(value, dict):
        return [f"{where} is not an object"]
    problems = []
    for key, item in value.items():
        if not isinstance(item, str):
            problems.append(f"{where}.{key} is not a string")
        if names and not _LABEL_NAME.fullmatch(key):
            problems.append(f"{where}: {key!r} is not a valid label name")
    return problems


def _date_time(value: Any, where: str) -> tuple[list[str], datetime | None]:
    if not isinstance(value, str) or not _DATE_TIME.fullmatch(value):
        return [f"{where} is not an RFC 3339 date-time: {value!r}"], None
    return [], datetime.fromisoformat(value)


def _alert_problems(alert: Any, where: str) -> list[str]:
    if not isinstance(alert, dict):
        return [f"{where} is not an object"]
    problems = [f"{where}.{key} is not a field of postableAlert" for key in alert.keys() - _KNOWN]
    if "labels" not in alert:
        problems.append(f"{where}.labels is required")
    else:
        problems += _label_set(alert["labels"], f"{where}.labels", names=True)
        if not alert["labels"]:
            problems.append(f"{where}.labels is empty")
    if "annotations" in alert:
        problems += _label_set(alert["annotations"], f"{where}.annotations", names=True)
    moments = {}
    for key in ("startsAt", "endsAt"):
        if key in alert:
            found, moments[key] = _date_time(alert[key], f"{where}.{key}")
            problems += found
    starts, ends = moments.get("startsAt"), moments.get("endsAt")
    if starts is not None and ends is not None and ends < starts:
        problems.append(f"{where}: endsAt is before startsAt")
    if "generatorURL" in alert and not urlsplit(str(alert["generatorURL"])).scheme:
        problems.append(f"{where}.generatorURL is not a URI")
    return problems


def postable_alerts_problems(body: Any) -> list[str]:
    """Return why ``body`` is not a valid ``postableAlerts`` (empty when it is)."""
    if not isinstance(body, list):
        return ["the body is not an array"]
    return [problem for i, alert in enumerate(body) for problem in _alert_problems(alert, f"[{i}]")]
