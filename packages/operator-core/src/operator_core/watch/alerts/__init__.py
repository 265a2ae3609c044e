"""Alerts where people look: the watch's incidents sent to webhooks, Alertmanager, Slack.

``build_dispatcher(policy.alerts)`` returns an ``AlertDispatcher``; ``offer(item)`` each
incident, notice and heal report of the watch (it never blocks). ``AlertBook`` decides what
is an alert and notifies each incident once (and its resolve once); ``payloads`` makes the
bodies each kind of sink accepts.
"""

from operator_core.watch.alerts.book import Alert, AlertBook, AlertStatus, Severity
from operator_core.watch.alerts.dispatch import (
    AlertDispatcher,
    Poster,
    SinkStats,
    SinkTarget,
    build_dispatcher,
)
from operator_core.watch.alerts.http import SendFailed, post_json
from operator_core.watch.alerts.payloads import (
    ALERTMANAGER_PATH,
    alertmanager_alert,
    alertmanager_body,
    slack_body,
    slack_text,
    webhook_body,
)
from operator_core.watch.alerts.receiver import AlertReceiver, Received

__all__ = [
    "ALERTMANAGER_PATH",
    "Alert",
    "AlertBook",
    "AlertDispatcher",
    "AlertReceiver",
    "AlertStatus",
    "Poster",
    "Received",
    "SendFailed",
    "Severity",
    "SinkStats",
    "SinkTarget",
    "alertmanager_alert",
    "alertmanager_body",
    "build_dispatcher",
    "post_json",
    "slack_body",
    "slack_text",
    "webhook_body",
]
