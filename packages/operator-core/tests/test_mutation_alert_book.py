"""``AlertBook`` pinned exactly: every field of an alert, ids, statuses, episodes, bounds."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import pytest
import time_machine

from alert_items import CID, heal_report, incident, notice
from operator_core.watch.alerts import AlertBook
from operator_core.watch.alerts.book import iso_ms

FIRED_AT = "2026-11-29T10:00:00.000Z"


def digest(*parts: object) -> str:
    """The stable id a receiver sees for an item without one (the book's own recipe)."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


def test_an_incident_becomes_exactly_this_alert():
    """Every field: id, status, severity, where, times, summary, counts, labels, the item."""
    item = incident(
        "oom_killed",
        exit_code=137,
        count=2,
        message="eng1: web\x07 killed, password=hunter2",
        labels={"team": "pay\n", "DB_PASSWORD": "s3cret"},
        extra=[1, "token=abc"],
    )
    (alert,) = AlertBook().alerts_of(item)
    labels = {"team": "pay?", "DB_PASSWORD": "[REDACTED]"}
    assert alert == {
        "alert_id": "oom_killed-1",
        "status": "firing",
        "kind": "oom_killed",
        "severity": "critical",
        "host": "eng1",
        "engine_id": "ENG1:ID",
        "container_id": CID,
        "name": "web",
        "since": FIRED_AT,
        "time": FIRED_AT,
        "summary": "oom_killed (eng1, web): eng1: web? killed, password=[REDACTED]",
        "count": 2,
        "exit_code": 137,
        "labels": labels,
        "item": {
            "kind": "oom_killed",
            "status": "firing",
            "incident_id": "oom_killed-1",
            "host": "eng1",
            "engine_id": "ENG1:ID",
            "container_id": CID,
            "name": "web",
            "time": "2026-11-29T10:00:00.000000001Z",
            "since": "2026-11-29T10:00:00.000000001Z",
            "exit_code": 137,
            "count": 2,
            "message": "eng1: web? killed, password=[REDACTED]",
            "labels": labels,
            "extra": [1, "token=[REDACTED]"],
        },
    }


def test_ids_and_times_of_an_item_keep_their_text_but_lose_control_characters():
    """An id-like field is kept as it is (no redaction), a control character made '?'."""
    item = incident("died", audit_id="token=a\x1bb", message=None, count=True, exit_code="1")
    (alert,) = AlertBook().alerts_of(item)
    assert alert["item"]["audit_id"] == "token=a?b"
    assert alert["summary"] == "died (eng1, web): died"  # no message: the kind
    assert (alert["count"], alert["exit_code"]) == (None, None)  # a bool, a text: not numbers


def test_long_text_is_cut_and_cleaned():
    """A container's text is cut to 2000 characters after redaction; labels not a mapping: {}."""
    item = incident("died", message="x" * 5000, labels=["not", "a", "mapping"])
    (alert,) = AlertBook().alerts_of(item)
    assert alert["summary"] == "died (eng1, web): " + "x" * 2000
    assert alert["labels"] == {}
    assert alert["item"]["labels"] == {}


def test_an_incident_without_an_id_gets_a_stable_one_from_where_what_and_since():
    """No incident_id: a digest of engine (or host), container, kind and since (or time)."""
    item = incident("died", incident_id=None)
    (alert,) = AlertBook().alerts_of(item)
    assert alert["alert_id"] == digest("ENG1:ID", CID, "died", item["since"])
    bare = incident("died", incident_id=None, engine_id=None, since=None)
    (alert,) = AlertBook().alerts_of(bare)
    assert alert["alert_id"] == digest("eng1", CID, "died", bare["time"])
    assert alert["since"] == FIRED_AT


@pytest.mark.parametrize("kind", ["died", "oom_killed", "unhealthy", "restart_loop"])
def test_an_alerting_kind_without_a_status_fires(kind):
    """The first watch's incidents (no status) of an alerting kind fire; a bad status too."""
    for status in (None, 5, "weird"):
        (alert,) = AlertBook().alerts_of(incident(kind, status=status))
        assert alert["status"] == "firing"


@pytest.mark.parametrize("kind", ["stopped", "removed", "something_new"])
def test_any_other_kind_without_a_status_is_info(kind):
    """Not an alerting kind and no status: info, severity info, nothing kept open."""
    book = AlertBook()
    (alert,) = book.alerts_of(incident(kind, status=None))
    assert (alert["status"], alert["severity"]) == ("info", "info")
    assert book.open_alerts == []


@pytest.mark.parametrize(
    ("kind", "severity"),
    [
        ("died", "warning"),
        ("oom_killed", "critical"),
        ("unhealthy", "warning"),
        ("restart_loop", "critical"),
    ],
)
def test_severity_is_critical_for_oom_and_loops_else_warning(kind, severity):
    """Firing incidents: OOM kills and restart loops are critical, the rest warnings."""
    (alert,) = AlertBook().alerts_of(incident(kind))
    assert alert["severity"] == severity


def test_an_info_incident_is_said_every_time_and_keeps_no_state():
    """An info item is not deduplicated (it is not a page): each offer says it."""
    book = AlertBook()
    item = incident("stopped", status="info")
    assert len(book.alerts_of(item) + book.alerts_of(item)) == 2


def test_an_update_and_a_resolve_keep_the_firings_identity_and_take_the_news():
    """Update/resolve: the firing's labels, since, severity, host; the new report's news.

    Status, time, summary, count and item come from the new report. The resolve closes
    it; a second says nothing.
    """
    book = AlertBook()
    (fired,) = book.alerts_of(incident("restart_loop", incident_id="L", count=4))
    later = "2026-11-29T10:03:00Z"
    update = incident(
        "restart_loop", status="update", incident_id="L", count=9, time=later, since=later,
        labels={"team": "other"}, message="still looping",
    )  # fmt: skip
    (sent,) = book.alerts_of(update)
    assert sent == {
        **fired,
        "status": "update",
        "time": "2026-11-29T10:03:00.000Z",
        "summary": "restart_loop (eng1, web): still looping",
        "count": 9,
        "item": sent["item"],
    }
    assert sent["item"]["count"] == 9
    assert [a["alert_id"] for a in book.open_alerts] == ["L"]
    resolve = dict(update, status="resolved", message="calm")
    (cleared,) = book.alerts_of(resolve)
    assert (cleared["status"], cleared["summary"]) == ("resolved", "restart_loop (eng1, web): calm")
    assert cleared["labels"] == fired["labels"]
    assert book.open_alerts == []
    assert book.alerts_of(resolve) == []
    assert book.alerts_of(incident("restart_loop", incident_id="L")) == []  # fired once


def test_what_the_book_remembers_is_bounded_oldest_first():
    """With room for 2 ids, the oldest firing is forgotten (and would fire again)."""
    book = AlertBook(remembered=2)
    for n in range(3):
        book.alerts_of(incident("unhealthy", incident_id=f"u{n}"))
    assert [a["alert_id"] for a in book.open_alerts] == ["u1", "u2"]
    assert len(book.alerts_of(incident("unhealthy", incident_id="u0"))) == 1
    assert book.alerts_of(incident("unhealthy", incident_id="u2")) == []


@pytest.mark.parametrize(
    ("kind", "status", "severity"),
    [
        ("escalated", "firing", "critical"),
        ("heal_failed", "firing", "warning"),
        ("heal_denied", "firing", "warning"),
        ("heal_started", "info", "info"),
        ("heal_skipped", "info", "info"),
    ],
)
def test_heal_reports_fire_or_inform_with_a_stable_id(kind, status, severity):
    """A heal report's id is a digest of engine (or host), container, kind and time."""
    item = heal_report(kind, engine_id="E1")
    (alert,) = AlertBook().alerts_of(item)
    assert (alert["status"], alert["severity"]) == (status, severity)
    assert alert["alert_id"] == digest("E1", CID, kind, item["time"])
    assert alert["since"] == alert["time"] == "2026-11-29T10:01:00.000Z"
    assert alert["summary"] == f"{kind} (eng1, web): eng1: web {kind}"
    (again,) = AlertBook().alerts_of(heal_report(kind))
    assert again["alert_id"] == digest("eng1", CID, kind, item["time"])


def test_a_heal_report_fires_once():
    """The same escalation offered twice is one alert."""
    book = AlertBook()
    assert (
        len(book.alerts_of(heal_report("escalated")) + book.alerts_of(heal_report("escalated")))
        == 1
    )


def test_healed_resolves_only_that_containers_unhealthy_on_that_host():
    """healed: its info, then a resolve of the open unhealthy of the same container and host."""
    book = AlertBook()
    book.alerts_of(incident("unhealthy", incident_id="mine"))
    book.alerts_of(incident("unhealthy", incident_id="other-host", host="eng2"))
    book.alerts_of(incident("unhealthy", incident_id="other-box", container_id="b" * 64))
    book.alerts_of(incident("restart_loop", incident_id="loop"))
    made = book.alerts_of(heal_report("healed", message="healthy again"))
    assert [(a["kind"], a["status"], a["alert_id"]) for a in made] == [
        ("healed", "info", digest("eng1", CID, "healed", "2026-11-29T10:01:00Z")),
        ("unhealthy", "resolved", "mine"),
    ]
    assert made[1]["summary"] == "unhealthy (eng1, web): healthy again"
    assert made[1]["time"] == "2026-11-29T10:01:00.000Z"
    assert [a["alert_id"] for a in book.open_alerts] == ["other-host", "other-box", "loop"]


@pytest.mark.parametrize(("opener", "closer"), [("unresponsive", "responsive"),
                                                ("disconnected", "reconnected")])  # fmt: skip
def test_a_host_episode_fires_once_and_its_closer_resolves_it(opener, closer):
    """The opener fires once per episode; its closer resolves it with the opener's kind and id.

    The id is a digest of scope, kind and time; repeats within the episode are not news; a
    closer alone says nothing.
    """
    book = AlertBook()
    assert book.alerts_of(notice(closer, "09:59:00")) == []
    (fired,) = book.alerts_of(notice(opener, "10:00:00"))
    assert fired["alert_id"] == digest("ENG1:ID", opener, "2026-11-29T10:00:00Z")
    assert fired["summary"] == f"{opener} (eng1): eng1: {opener}"
    assert (fired["host"], fired["container_id"], fired["name"]) == ("eng1", None, None)
    assert book.alerts_of(notice(opener, "10:00:30")) == []
    assert book.alerts_of(notice(closer, "10:01:00", host="eng2")) == []
    (cleared,) = book.alerts_of(notice(closer, "10:01:00"))
    assert (cleared["kind"], cleared["status"], cleared["alert_id"]) == (
        opener,
        "resolved",
        fired["alert_id"],
    )
    assert cleared["since"] == "2026-11-29T10:00:00.000Z"
    assert cleared["time"] == "2026-11-29T10:01:00.000Z"
    assert cleared["summary"] == f"{opener} (eng1): eng1: {closer}"
    assert book.open_alerts == []
    (again,) = book.alerts_of(notice(opener, "10:02:00"))  # a new episode
    assert again["alert_id"] == digest("ENG1:ID", opener, "2026-11-29T10:02:00Z")


def test_severity_of_host_episodes():
    """An unresponsive engine is critical; lost events are a warning."""
    book = AlertBook()
    assert book.alerts_of(notice("unresponsive", "10:00:00"))[0]["severity"] == "critical"
    assert book.alerts_of(notice("disconnected", "10:00:00"))[0]["severity"] == "warning"


def test_connected_is_info_with_its_own_id():
    """A connection is info, its id from scope, kind and time; without a host it says the kind."""
    book = AlertBook()
    item = notice("connected", "10:00:00")
    (alert,) = book.alerts_of(item)
    assert (alert["status"], alert["severity"]) == ("info", "info")
    assert alert["alert_id"] == digest("ENG1:ID", "connected", "2026-11-29T10:00:00Z")
    bare = {"kind": "connected", "time": "2026-11-29T10:00:00Z"}
    (alert,) = book.alerts_of(bare)
    assert alert["summary"] == "connected: connected"
    assert alert["alert_id"] == digest(None, "connected", "2026-11-29T10:00:00Z")


def test_a_notice_kind_naming_a_container_is_an_incident():
    """An item with a container is an incident even if its kind reads like a host notice."""
    (alert,) = AlertBook().alerts_of(incident("connected", status=None))
    assert (alert["kind"], alert["alert_id"]) == ("connected", "connected-1")


def test_an_item_that_is_neither_is_no_alert():
    """No container, not a notice nor a heal report: nothing."""
    assert AlertBook().alerts_of({"kind": "died", "host": "eng1"}) == []
    assert AlertBook().alerts_of({}) == []


def test_a_container_without_a_name_is_said_by_its_short_id():
    """No name: the summary names the host and the first 12 characters of the ID."""
    (alert,) = AlertBook().alerts_of(incident("died", name=None, host=None))
    assert alert["summary"] == f"died ({CID[:12]}): eng1: web died"
    assert (alert["host"], alert["name"]) == (None, None)
    (alert,) = AlertBook().alerts_of(incident("died", name=None, container_id=7))
    assert (alert["container_id"], alert["summary"]) == (None, "died (eng1): eng1: web died")


def test_iso_ms_is_rfc3339_utc_with_milliseconds():
    """Nanoseconds cut to milliseconds, offsets made UTC, a datetime taken as it is."""
    assert iso_ms("2026-11-29T10:00:00.123456789Z") == "2026-11-29T10:00:00.123Z"
    assert iso_ms("2026-11-29T12:00:00.5+02:00") == "2026-11-29T10:00:00.500Z"
    assert iso_ms(datetime(2026, 11, 29, 10, 0, 0, 7000, tzinfo=UTC)) == "2026-11-29T10:00:00.007Z"


@time_machine.travel("2026-12-01T08:09:10.042Z", tick=False)
def test_iso_ms_of_something_that_is_not_a_time_is_now():
    """Not a time (nonsense, a number, None): the wall clock now."""
    for value in ("not a time", 12, None, "9999999-01-01T00:00:00Z"):
        assert iso_ms(value) == "2026-12-01T08:09:10.042Z"


def test_an_item_without_any_time_is_stamped_now():
    """An incident without time nor since gets the time it was offered."""
    with time_machine.travel("2026-12-01T08:09:10Z", tick=False):
        (alert,) = AlertBook().alerts_of(incident("died", time=None, since=None))
    assert alert["since"] == alert["time"] == "2026-12-01T08:09:10.000Z"


def items_of(book: AlertBook, *items: dict[str, Any]) -> list[str]:
    """The (kind, status) of what ``items`` make, as text."""
    return [f"{a['kind']}:{a['status']}" for item in items for a in book.alerts_of(item)]


def test_the_unhealthy_firing_stays_open_and_a_death_does_not():
    """What clears stays open (unhealthy, loops, episodes); a death or a heal failure does not."""
    book = AlertBook()
    items_of(book, incident("died", incident_id="d"), heal_report("heal_failed"))
    items_of(book, notice("unresponsive", "10:00:00"), incident("unhealthy", incident_id="u"))
    assert [a["kind"] for a in book.open_alerts] == ["unresponsive", "unhealthy"]


def test_text_is_cut_to_4000_characters_before_redaction():
    """A secret running to the 4000th character is hidden whole; what follows is cut off."""
    message = "password=" + "s" * 3990 + " tail"
    (alert,) = AlertBook().alerts_of(incident("died", message=message))
    assert alert["summary"] == "died (eng1, web): password=[REDACTED] "


def test_an_episode_whose_firing_was_forgotten_fires_again_with_its_start():
    """Still open but no longer remembered as fired: it fires again, since its first notice."""
    book = AlertBook(remembered=2)
    book.alerts_of(notice("unresponsive", "10:00:00"))
    book.alerts_of(incident("died", incident_id="d1"))
    book.alerts_of(incident("died", incident_id="d2"))
    (again,) = book.alerts_of(notice("unresponsive", "10:05:00"))
    assert again["since"] == "2026-11-29T10:00:00.000Z"
    assert again["time"] == "2026-11-29T10:05:00.000Z"


def test_a_notice_without_an_engine_id_is_scoped_by_its_host():
    """No engine ID: the episode's id is a digest of the host, kind and time."""
    item = {**notice("unresponsive", "10:00:00"), "engine_id": None}
    (alert,) = AlertBook().alerts_of(item)
    assert alert["alert_id"] == digest("eng1", "unresponsive", "2026-11-29T10:00:00Z")
    (info,) = AlertBook().alerts_of({**notice("connected", "10:00:00"), "engine_id": None})
    assert info["alert_id"] == digest("eng1", "connected", "2026-11-29T10:00:00Z")
