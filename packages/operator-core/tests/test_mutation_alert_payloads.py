"""The sinks' bodies pinned exactly: webhook JSON, Alertmanager postable alerts, Slack text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alert_items import CID, heal_report, incident, notice
from operator_core.watch.alerts import (
    Alert,
    AlertBook,
    alertmanager_alert,
    alertmanager_body,
    slack_body,
    slack_text,
    webhook_body,
)


def alert_of(item: dict[str, Any], book: AlertBook | None = None) -> Alert:
    """The one alert ``item`` makes."""
    (alert,) = (book or AlertBook()).alerts_of(item)
    return alert


def test_the_webhook_body_is_compact_json_of_the_alert_with_source_and_version():
    """``{"source":"operator-core","version":1, ...the alert}``, without spaces."""
    alert = alert_of(incident("died", exit_code=3))
    body = webhook_body(alert)
    assert body.startswith(b'{"source":"operator-core","version":1,"alert_id":"died-1",')
    compact = json.dumps({"source": "operator-core", "version": 1, **alert}, separators=(",", ":"))
    assert body == compact.encode()


def test_a_body_that_is_not_valid_json_is_refused_not_sent():
    """NaN is not JSON: the body is not made (a receiver would choke on it)."""
    alert = alert_of(incident("died"))
    alert["item"]["ratio"] = float("nan")
    with pytest.raises(ValueError, match="JSON"):
        webhook_body(alert)


def test_a_firing_incident_is_exactly_this_postable_alert():
    """Labels (alertname, severity, ids, where, container labels), annotations, startsAt."""
    item = incident(
        "oom_killed", exit_code=137, count=2, labels={"com.example/team": "pay", "": "x"}
    )
    assert alertmanager_alert(alert_of(item)) == {
        "labels": {
            "alertname": "ContainerOOMKilled",
            "severity": "critical",
            "incident_id": "oom_killed-1",
            "instance": "eng1",
            "host": "eng1",
            "engine_id": "ENG1:ID",
            "container": "web",
            "container_id": CID,
            "source": "operator-core",
            "label_com_example_team": "pay",
            "label_": "x",
        },
        "annotations": {
            "summary": "oom_killed (eng1, web): eng1: web oom_killed",
            "description": "eng1: web oom_killed",
            "exit_code": "137",
            "count": "2",
        },
        "startsAt": "2026-11-29T10:00:00.000Z",
    }


def test_empty_values_are_left_out_and_instance_falls_back():
    """No host: instance is the engine ID, else 'local'; None and '' values are not sent."""
    item = incident("died", host=None, name=None, message=None)
    postable = alertmanager_alert(alert_of(item))
    assert postable["labels"]["instance"] == "ENG1:ID"
    assert "host" not in postable["labels"]
    assert "container" not in postable["labels"]
    assert postable["annotations"] == {
        "summary": f"died ({CID[:12]}): died",
        "description": f"died ({CID[:12]}): died",
    }
    bare = alertmanager_alert(alert_of(incident("died", host=None, engine_id=None)))
    assert bare["labels"]["instance"] == "local"
    assert "engine_id" not in bare["labels"]


def test_two_container_labels_that_clean_to_one_name_keep_the_first():
    """Label names are made [a-zA-Z0-9_]; where two become one, the first one's value stays."""
    alert = alert_of(incident("died"))
    alert["labels"] = {"a.b": "first", "a_b": "second", "c-d": "x"}
    labels = alertmanager_alert(alert)["labels"]
    assert (labels["label_a_b"], labels["label_c_d"]) == ("first", "x")


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        ("died", "ContainerDied"),
        ("unhealthy", "ContainerUnhealthy"),
        ("restart_loop", "ContainerRestartLoop"),
        ("engine_stopped", "OperatorEngineStopped"),
        ("restarted_by_operator", "OperatorRestartedByOperator"),
    ],
)
def test_each_kind_has_its_alertname(kind, name):
    """Known kinds have their names; another kind is 'Operator' and the kind in CamelCase."""
    assert alertmanager_alert(alert_of(incident(kind)))["labels"]["alertname"] == name


@pytest.mark.parametrize(
    ("item", "name"),
    [
        (heal_report("escalated"), "HealEscalated"),
        (heal_report("heal_failed"), "HealFailed"),
        (heal_report("heal_denied"), "HealDenied"),
        (notice("unresponsive", "10:00:00"), "EngineUnresponsive"),
        (notice("disconnected", "10:00:00"), "EngineEventsDisconnected"),
    ],
)
def test_heal_and_host_alerts_have_their_alertnames(item, name):
    """Escalations, heal failures and host episodes are named for Alertmanager's routes."""
    assert alertmanager_alert(alert_of(item))["labels"]["alertname"] == name


def test_a_resolved_alert_ends_at_its_resolve_and_never_before_it_started():
    """The end (endsAt) is the resolve's time, never before the start; none while firing."""
    book = AlertBook()
    fired = alert_of(incident("unhealthy"), book)
    assert "endsAt" not in alertmanager_alert(fired)
    resolve = incident("unhealthy", status="resolved", time="2026-11-29T10:09:00Z")
    resolved = alert_of(resolve, book)
    assert alertmanager_alert(resolved)["endsAt"] == "2026-11-29T10:09:00.000Z"
    assert alertmanager_alert(resolved)["startsAt"] == "2026-11-29T10:00:00.000Z"
    early = dict(resolved, time="2026-11-29T09:00:00.000Z")
    assert alertmanager_alert(early)["endsAt"] == "2026-11-29T10:00:00.000Z"  # type: ignore[arg-type]


def test_the_alertmanager_body_is_a_compact_list():
    """One POST carries a JSON list of postable alerts, in order, without spaces."""
    first, second = alert_of(incident("died")), alert_of(incident("oom_killed"))
    body = alertmanager_body([first, second])
    assert body.startswith(b'[{"labels":{"alertname":"ContainerDied",')
    assert json.loads(body) == [alertmanager_alert(first), alertmanager_alert(second)]


@pytest.mark.parametrize(
    ("status", "icon"),
    [
        ("firing", ":red_circle:"),
        ("update", ":large_orange_circle:"),
        ("resolved", ":white_check_mark:"),
        ("info", ":information_source:"),
    ],
)
def test_slack_text_is_icon_state_summary_and_since(status, icon):
    """``<icon> *STATE* <summary> (since <start>)``, one per status."""
    alert = alert_of(incident("died"))
    alert["status"] = status
    assert slack_text(alert) == (
        f"{icon} *{status.upper()}* died (eng1, web): eng1: web died "
        "(since 2026-11-29T10:00:00.000Z)"
    )


def test_slack_escapes_what_would_ping_or_link():
    """&, < and > are sent as entities, so <!channel> and <url|text> show literally."""
    alert = alert_of(incident("died", message="<!channel> & <http://x|y>"))
    assert slack_text(alert) == (
        ":red_circle: *FIRING* died (eng1, web): &lt;!channel&gt; &amp; &lt;http://x|y&gt; "
        "(since 2026-11-29T10:00:00.000Z)"
    )
    assert (
        slack_body(alert) == json.dumps({"text": slack_text(alert)}, separators=(",", ":")).encode()
    )
    assert slack_body(alert).startswith(b'{"text":":red_circle: *FIRING* ')
