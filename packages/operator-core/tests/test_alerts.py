"""Unit tests of the alerts: what is an alert (once), the sinks' payloads, the [alerts] section."""

from __future__ import annotations

import json
from typing import Any

import pytest

from alert_items import CID, heal_report, incident, notice
from alertmanager_schema import postable_alerts_problems
from operator_core.errors import PolicyError
from operator_core.policy import AlertSink, policy_from_dict
from operator_core.watch import IncidentDetector
from operator_core.watch.alerts import (
    AlertBook,
    alertmanager_body,
    slack_body,
    webhook_body,
)

SECRET_PATH = "/services/T0001/B0002/s3cr3tWebhookPath"  # noqa: S105 (a fake)


def statuses(book: AlertBook, *items: dict[str, Any]) -> list[tuple[str, str]]:
    """Return (kind, status) of the alerts ``items`` make, in order."""
    return [(a["kind"], a["status"]) for item in items for a in book.alerts_of(item)]


# --- what is an alert, and once ------------------------------------------------------------


def test_an_incident_fires_once_however_often_it_is_offered():
    """The same incident offered twice (a replay, a second report) is one firing alert."""
    book = AlertBook()
    died = incident("died", incident_id="i-1")
    assert statuses(book, died, died, dict(died, time="2026-11-29T10:00:09Z")) == [
        ("died", "firing")
    ]


def test_a_resolve_is_sent_only_for_an_alert_that_fired_and_keeps_its_identity():
    """A resolve of an unknown incident says nothing; one after a firing keeps its labels."""
    book = AlertBook()
    assert statuses(book, incident("unhealthy", status="resolved", incident_id="gone")) == []
    (fired,) = book.alerts_of(incident("unhealthy", incident_id="u-1"))
    (cleared,) = book.alerts_of(
        incident("unhealthy", status="resolved", incident_id="u-1", time="2026-11-29T10:05:00Z")
    )
    assert cleared["status"] == "resolved"
    assert (cleared["labels"], cleared["since"]) == (fired["labels"], fired["since"])
    assert cleared["time"] == "2026-11-29T10:05:00.000Z"
    assert book.alerts_of(incident("unhealthy", status="resolved", incident_id="u-1")) == []


def test_a_single_death_fires_and_never_stays_open():
    """A died or oom_killed alert has nothing to resolve: it is not kept open (nor refreshed)."""
    book = AlertBook()
    book.alerts_of(incident("died", incident_id="d"))
    book.alerts_of(incident("oom_killed", incident_id="o", count=644))
    book.alerts_of(incident("restart_loop", incident_id="l", count=4))
    assert [a["kind"] for a in book.open_alerts] == ["restart_loop"]


def test_an_update_is_sent_only_while_its_incident_is_open():
    """A loop's summary after its firing is an update; one for an unknown loop is dropped."""
    book = AlertBook()
    assert statuses(book, incident("restart_loop", status="update", incident_id="x")) == []
    loop = incident("restart_loop", incident_id="l", count=4)
    update = incident("restart_loop", status="update", incident_id="l", count=40)
    assert statuses(book, loop, update) == [("restart_loop", "firing"), ("restart_loop", "update")]


def test_what_somebody_asked_for_is_info_not_an_alert():
    """stopped/removed/restarted_by_operator/engine_stopped are info, even without a status."""
    book = AlertBook()
    kinds = ["stopped", "removed", "restarted_by_operator", "engine_stopped"]
    made = [book.alerts_of(dict(incident(kind), status=None))[0] for kind in kinds]
    assert {a["status"] for a in made} == {"info"}
    assert {a["severity"] for a in made} == {"info"}


def test_an_incident_of_the_first_watch_is_an_alert_with_a_stable_id():
    """An incident without the issue-16 fields (today's detector) fires, its id derived."""
    from operator_core.results import Event

    event = Event(
        time="2026-11-29T10:00:00.000000001Z",
        type="container",
        action="die",
        detail=None,
        actor_id=CID,
        actor_name="web",
        exit_code=3,
        attributes={"name": "web"},
    )
    (died,) = IncidentDetector().feed(event, "eng1")
    first, again = AlertBook().alerts_of(dict(died)), AlertBook().alerts_of(dict(died))
    assert [(a["kind"], a["status"]) for a in first] == [("died", "firing")]
    assert first[0]["alert_id"] == again[0]["alert_id"]


def test_escalations_and_heal_failures_fire_and_other_heal_reports_are_info():
    """An escalation is critical, heal_failed and heal_denied warn; started/skipped are info."""
    book = AlertBook()
    made = {
        kind: book.alerts_of(heal_report(kind))[0]
        for kind in ("escalated", "heal_failed", "heal_denied", "heal_started", "heal_skipped")
    }
    assert {k: (a["status"], a["severity"]) for k, a in made.items()} == {
        "escalated": ("firing", "critical"),
        "heal_failed": ("firing", "warning"),
        "heal_denied": ("firing", "warning"),
        "heal_started": ("info", "info"),
        "heal_skipped": ("info", "info"),
    }


def test_healed_resolves_the_containers_open_unhealthy_alert():
    """A heal that worked resolves that container's unhealthy alert (only that container's)."""
    book = AlertBook()
    book.alerts_of(incident("unhealthy", incident_id="mine"))
    book.alerts_of(incident("unhealthy", incident_id="other", container_id="d" * 64))
    made = book.alerts_of(heal_report("healed"))
    assert [(a["kind"], a["status"], a["alert_id"]) for a in made] == [
        ("healed", "info", made[0]["alert_id"]),
        ("unhealthy", "resolved", "mine"),
    ]
    assert [a["alert_id"] for a in book.open_alerts] == ["other"]


def test_an_unresponsive_engine_fires_once_per_episode():
    """Repeated unresponsive notices are one alert; responsive resolves it; a new one fires."""
    book = AlertBook()
    first = statuses(
        book,
        notice("unresponsive", "10:00:10"),
        notice("unresponsive", "10:00:15"),
        notice("responsive", "10:00:30"),
    )
    assert first == [("unresponsive", "firing"), ("unresponsive", "resolved")]
    again = statuses(book, notice("unresponsive", "10:05:00"), notice("connected", "10:05:01"))
    assert again == [("unresponsive", "firing"), ("connected", "info")]
    assert statuses(book, notice("reconnected", "10:06:00")) == []  # nothing was disconnected


def test_text_and_labels_from_a_container_are_redacted_and_made_safe():
    """Secret-looking labels and message parts are hidden; control characters are replaced."""
    item = incident(
        "died",
        name="web\x1b[2J",
        message="web died; DB_PASSWORD=hunter2 token=abcdef123456",
        labels={"DB_PASSWORD": "hunter2", "team": "pay\x07"},
    )
    (alert,) = AlertBook().alerts_of(item)
    text = json.dumps(alert)
    assert "hunter2" not in text
    assert "abcdef123456" not in text
    assert "\x1b" not in alert["summary"]
    assert alert["name"] == "web?[2J"
    assert alert["labels"] == {"DB_PASSWORD": "[REDACTED]", "team": "pay?"}


# --- payloads ------------------------------------------------------------------------------


def test_alertmanager_bodies_are_valid_postable_alerts_firing_and_resolved():
    """Firing and resolved bodies pass the v2 postableAlerts checks; resolve has endsAt."""
    book = AlertBook()
    fired = book.alerts_of(incident("unhealthy", incident_id="u", labels={"com.x/y": "1"}))
    cleared = book.alerts_of(incident("unhealthy", incident_id="u", status="resolved"))
    for alerts in (fired, cleared, [*fired, *cleared]):
        body = json.loads(alertmanager_body(alerts))
        assert postable_alerts_problems(body) == []
    firing, resolved = json.loads(alertmanager_body([*fired, *cleared]))
    assert "endsAt" not in firing
    assert resolved["endsAt"] >= resolved["startsAt"]
    assert firing["labels"] == resolved["labels"]  # one fingerprint: the same alert
    assert firing["labels"]["alertname"] == "ContainerUnhealthy"
    assert firing["labels"]["incident_id"] == "u"
    assert firing["labels"]["label_com_x_y"] == "1"
    assert (firing["labels"]["instance"], firing["labels"]["container"]) == ("eng1", "web")


def test_the_schema_check_catches_what_alertmanager_refuses():
    """The postableAlerts check itself fails on a missing label set and a bad label name."""
    assert postable_alerts_problems([{"annotations": {}}]) == ["[0].labels is required"]
    assert postable_alerts_problems([{"labels": {"a-b": "x"}, "startsAt": "yesterday"}]) == [
        "[0].labels: 'a-b' is not a valid label name",
        "[0].startsAt is not an RFC 3339 date-time: 'yesterday'",
    ]


def test_slack_text_cannot_ping_a_channel_or_forge_a_link():
    """Text from a container is escaped: <!channel> and <http://x|y> show literally."""
    (alert,) = AlertBook().alerts_of(
        incident("died", name="<!channel>", message="<http://x|y> & co")
    )
    body = json.loads(slack_body(alert))
    assert set(body) == {"text"}
    assert "<" not in body["text"]
    assert ">" not in body["text"]
    assert "&lt;!channel&gt;" in body["text"]
    assert "&amp; co" in body["text"]
    assert "*FIRING*" in body["text"]


def test_the_webhook_body_is_the_alert_with_its_status_and_stable_id():
    """The generic body says status, kind, host, container and the incident's stable id."""
    book = AlertBook()
    (alert,) = book.alerts_of(incident("died", incident_id="i-7", exit_code=3))
    body = json.loads(webhook_body(alert))
    assert (body["status"], body["alert_id"], body["kind"], body["exit_code"]) == (
        "firing",
        "i-7",
        "died",
        3,
    )
    assert (body["host"], body["name"], body["source"]) == ("eng1", "web", "operator-core")
    assert body["item"]["incident_id"] == "i-7"


# --- the [alerts] section ------------------------------------------------------------------


def sink(**given: Any) -> dict[str, Any]:
    """Return a policy with one Slack sink ``team`` (its URL path a secret), ``given`` added."""
    return {
        "alerts": {"team": {"kind": "slack", "url": f"https://hooks.example{SECRET_PATH}", **given}}
    }


def test_a_sink_loads_and_wants_the_kinds_and_statuses_it_names():
    """The kinds list filters; info and updates are off unless asked for."""
    rules = policy_from_dict(sink(kinds=["died"], updates=True)).alerts["team"]
    assert rules.wants("died", "firing")
    assert rules.wants("died", "update")
    assert not rules.wants("unhealthy", "firing")
    default = policy_from_dict(sink()).alerts["team"]
    assert not default.wants("stopped", "info")
    assert not default.wants("restart_loop", "update")
    assert AlertSink.model_validate({"kind": "webhook", "url": "http://x", "info": True}).wants(
        "stopped", "info"
    )


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"url": f"ftp://hooks.example{SECRET_PATH}"}, "http:// or https://"),
        ({"url": f"https://me:pw@hooks.example{SECRET_PATH}"}, "token_file or token_env"),
        ({"url": f"https://hooks.example:99999{SECRET_PATH}"}, "port"),
        ({"url": f"https://hooks.example{SECRET_PATH} x"}, "blanks"),
        ({"kinds": ["dead"]}, "unknown kind(s) dead"),
        ({"kinds": []}, "empty kinds"),
        ({"token_env": "A", "token_file": "/f"}, "not both"),
        ({"kind": "pager"}, "alerts.team.kind"),
        ({"url": 5}, "alerts.team.url"),
    ],
)
def test_a_bad_sink_is_refused_naming_the_fault_but_never_the_url(given, said):
    """Each fault is a PolicyError naming it; the URL (a secret) is never quoted."""
    with pytest.raises(PolicyError) as caught:
        policy_from_dict(sink(**given))
    assert said in str(caught.value)
    assert "s3cr3t" not in str(caught.value)
    assert "pw@" not in str(caught.value)


def test_a_sink_url_never_shows_in_its_repr_or_dump():
    """The URL is a SecretStr: repr, str and a JSON dump of the policy hide it."""
    policy = policy_from_dict(sink())
    texts = [
        repr(policy),
        str(policy),
        policy.model_dump_json(),
        json.dumps(policy.alerts["team"].describe()),
    ]
    assert all("s3cr3t" not in text for text in texts)
    assert policy.alerts["team"].describe()["url"] == "https://hooks.example/[REDACTED]"


def test_a_kind_the_book_does_not_know_is_info_until_classified():
    """A report of a new kind (no status) is not a page; one that says firing still fires."""
    book = AlertBook()
    assert statuses(book, heal_report("lease_taken")) == [("lease_taken", "info")]
    assert statuses(book, incident("service_churn")) == [("service_churn", "firing")]


def test_a_sink_built_in_code_with_a_bad_url_does_not_quote_it():
    """AlertSink(...) refusing a URL raises an error whose text holds no part of the URL."""
    with pytest.raises(ValueError, match="http:// or https://") as caught:
        AlertSink(kind="slack", url=f"ftp://hooks.example{SECRET_PATH}")  # type: ignore[arg-type]
    assert "s3cr3t" not in str(caught.value)
