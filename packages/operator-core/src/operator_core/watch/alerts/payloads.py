"""The bodies each kind of sink accepts, made from ``Alert``s.

* ``webhook``: one JSON object per alert, the alert itself (``alert_id`` is stable across
  an incident's firing, updates and resolve, so a receiver can deduplicate a retried POST)
  with ``source`` and ``version``;
* ``alertmanager``: Prometheus Alertmanager's API v2 (``POST /api/v2/alerts``): a list of
  postable alerts, ``labels`` (``alertname``, ``severity``, ``instance``, ``host``,
  ``container``, ``incident_id``...: the same labels are the same alert, so a re-post
  refreshes it), ``annotations``, ``startsAt``, and ``endsAt`` when it resolved;
* ``slack``: a Slack-compatible incoming webhook's ``{"text": ...}`` (Mattermost,
  Rocket.Chat, Discord's ``/slack`` endpoint take it too), with ``&``, ``<`` and ``>``
  escaped so text from a container can neither ping a channel nor forge a link.
"""

from __future__ import annotations

import json
import re
from typing import NotRequired, TypedDict

from operator_core.watch.alerts.book import Alert

__all__ = [
    "ALERTMANAGER_PATH",
    "PostableAlert",
    "alertmanager_alert",
    "alertmanager_body",
    "slack_body",
    "slack_text",
    "webhook_body",
]

#: Where Alertmanager takes alerts (added to a sink's URL that does not end with it).
ALERTMANAGER_PATH = "/api/v2/alerts"
_ALERTNAMES = {
    "died": "ContainerDied",
    "oom_killed": "ContainerOOMKilled",
    "unhealthy": "ContainerUnhealthy",
    "restart_loop": "ContainerRestartLoop",
    "escalated": "HealEscalated",
    "heal_failed": "HealFailed",
    "heal_denied": "HealDenied",
    "unresponsive": "EngineUnresponsive",
    "disconnected": "EngineEventsDisconnected",
}
_LABEL_NAME = re.compile(r"[^a-zA-Z0-9_]")
_ICONS = {
    "firing": ":red_circle:",
    "update": ":large_orange_circle:",
    "resolved": ":white_check_mark:",
}


class PostableAlert(TypedDict):
    """One alert as Alertmanager's API v2 takes it (``POST /api/v2/alerts``)."""

    labels: dict[str, str]
    annotations: dict[str, str]
    startsAt: str
    #: When it resolved (a firing alert has none).
    endsAt: NotRequired[str]


def _json(value: object) -> bytes:
    return json.dumps(value, allow_nan=False, separators=(",", ":")).encode()


def webhook_body(alert: Alert) -> bytes:
    """Return the generic webhook's body: the alert as JSON, with its status."""
    return _json({"source": "operator-core", "version": 1, **alert})


def _alertname(kind: str) -> str:
    """Return the alertname of a kind: ``ContainerDied``..., or the kind in CamelCase."""
    return _ALERTNAMES.get(kind) or "Operator" + "".join(p.title() for p in kind.split("_"))


def alertmanager_alert(alert: Alert) -> PostableAlert:
    """Return ``alert`` as one Alertmanager v2 postable alert."""
    labels = {
        "alertname": _alertname(alert["kind"]),
        "severity": alert["severity"],
        "incident_id": alert["alert_id"],
        "instance": alert["host"] or alert["engine_id"] or "local",
        "host": alert["host"],
        "engine_id": alert["engine_id"],
        "container": alert["name"],
        "container_id": alert["container_id"],
        "source": "operator-core",
    }
    annotations = {
        "summary": alert["summary"],
        "description": str(alert["item"].get("message") or alert["summary"]),
        "exit_code": alert["exit_code"],
        "count": alert["count"],
    }
    postable: PostableAlert = {
        "labels": {k: str(v) for k, v in labels.items() if v not in (None, "")},
        "annotations": {k: str(v) for k, v in annotations.items() if v not in (None, "")},
        "startsAt": alert["since"],
    }
    for key, value in alert["labels"].items():
        name = "label_" + _LABEL_NAME.sub("_", key)
        postable["labels"].setdefault(name, value)
    if alert["status"] == "resolved":
        postable["endsAt"] = max(alert["time"], alert["since"])
    return postable


def alertmanager_body(alerts: list[Alert]) -> bytes:
    """Return the body of ``POST /api/v2/alerts`` for ``alerts``."""
    return _json([alertmanager_alert(alert) for alert in alerts])


def _escape(text: str) -> str:
    """Return text as Slack shows it literally: ``&``, ``<``, ``>`` escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_text(alert: Alert) -> str:
    """Return the one message a Slack-compatible webhook shows for ``alert``."""
    icon = _ICONS.get(alert["status"], ":information_source:")
    state = alert["status"].upper()
    return f"{icon} *{state}* {_escape(alert['summary'])} (since {alert['since']})"


def slack_body(alert: Alert) -> bytes:
    """Return the body of a Slack-compatible incoming webhook POST for ``alert``."""
    return _json({"text": slack_text(alert)})
