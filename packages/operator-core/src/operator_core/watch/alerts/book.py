"""``AlertBook``: turn the watch's items into alerts, each incident notified once.

The watch yields incidents (``operator_core.watch.incidents``), heal reports
(``operator_core.watch.heal.healer``) and host notices (``operator_core.watch.stream``). Which of
them is an alert, and in which status:

* an incident's own ``status`` (``firing``, ``update``, ``resolved``, ``info``); one without
  a status (before the incident fields of issue 16) is ``firing`` if it is a ``died``,
  ``oom_killed``, ``unhealthy`` or ``restart_loop``, else ``info`` (``stopped``, ``removed``
  and any kind this module does not know);
* ``escalated``, ``heal_failed`` and ``heal_denied`` fire (a person must look); ``healed``
  resolves the container's open ``unhealthy`` alert; other heal reports are ``info``;
* ``unresponsive`` and ``disconnected`` fire once per episode of a host; ``responsive`` and
  ``reconnected`` resolve it; ``connected`` is ``info``.

An incident fires once however often it is offered (a replay, a second report); a resolve
or an update is sent only for an alert that fired and is still open, so nobody is told
that something they never heard of has cleared. What the book remembers is bounded.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Literal, TypedDict, TypeVar

from operator_core._time import utc_moment
from operator_core.audit.redact import REDACTED, is_secret_key, redact_text, redact_value

__all__ = ["Alert", "AlertBook", "AlertStatus", "Severity", "iso_ms"]

AlertStatus = Literal["firing", "update", "resolved", "info"]
T = TypeVar("T")
Severity = Literal["critical", "warning", "info"]

#: Incident kinds that alert when they do not say their status (the first watch's).
_ALERTING_INCIDENTS = frozenset({"died", "oom_killed", "unhealthy", "restart_loop"})
_HEAL_FIRING = frozenset({"escalated", "heal_failed", "heal_denied"})
_HEAL_KINDS = frozenset({*_HEAL_FIRING, "healed", "heal_started", "heal_skipped"})
#: Host notices that open an episode, and the notice that closes each.
_EPISODES = {"unresponsive": "responsive", "disconnected": "reconnected"}
_NOTICE_KINDS = frozenset({*_EPISODES, *_EPISODES.values(), "connected"})
#: The kinds that clear (and so stay open until they do); the others fire once, and that is all.
_RESOLVES = frozenset({"unhealthy", "restart_loop", *_EPISODES})
_CRITICAL = frozenset({"oom_killed", "restart_loop", "escalated", "unresponsive"})
#: How many alert ids (fired, open) the book keeps.
_REMEMBERED = 10000
_STATUSES: dict[str, AlertStatus] = {
    "firing": "firing", "update": "update", "resolved": "resolved", "info": "info"
}  # fmt: skip
#: Fields of a watch item that are ours (ids, times, kinds), not text from a container.
_PLAIN = frozenset(
    {"kind", "status", "incident_id", "engine_id", "container_id", "time", "since", "audit_id"}
)
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class Alert(TypedDict):
    """One notification: what a sink's payload is made of. Every text in it is redacted."""

    alert_id: str
    status: AlertStatus
    kind: str
    severity: Severity
    host: str | None
    engine_id: str | None
    container_id: str | None
    name: str | None
    since: str
    time: str
    summary: str
    count: int | None
    exit_code: int | None
    labels: dict[str, str]
    item: dict[str, object]


def iso_ms(moment: object) -> str:
    """Return an ISO time as RFC 3339 UTC with milliseconds (now, when it is not a time)."""
    try:
        when = utc_moment(moment) if isinstance(moment, str | datetime) else None
    except (ValueError, OverflowError):
        when = None
    when = when or datetime.now(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


@functools.lru_cache(maxsize=4096)
def _clean_text(text: str) -> str:
    return _CONTROL.sub("?", redact_text(text[:4000]))[:2000]


def _clean(text: object) -> str:
    """Return text from a container or engine redacted and without control characters.

    Cached: a storm of one container's incidents repeats its name, labels and messages,
    and the redactor's many patterns are the cost of an offer.
    """
    return _clean_text(str(text))


def _item(item: Mapping[str, object], labels: dict[str, str]) -> dict[str, object]:
    """Return the watch item as a sink may see it: every text redacted, ids and times kept."""
    out: dict[str, object] = {}
    for key, value in item.items():
        if key == "labels":
            out[key] = labels
        elif isinstance(value, str):
            out[str(key)] = _CONTROL.sub("?", value) if key in _PLAIN else _clean(value)
        else:
            out[str(key)] = redact_value(value)
    return out


def _digest(*parts: object) -> str:
    """Return a short stable id of ``parts``."""
    return hashlib.sha256("\x1f".join(map(str, parts)).encode()).hexdigest()[:16]


class AlertBook:
    """Turns watch items into alerts; remembers which fired and which are still open."""

    def __init__(self, remembered: int = _REMEMBERED) -> None:
        self._remembered = remembered
        self._fired: OrderedDict[str, None] = OrderedDict()
        self._open: OrderedDict[str, Alert] = OrderedDict()

    @property
    def open_alerts(self) -> list[Alert]:
        """The alerts that fired and have not cleared, oldest first."""
        return list(self._open.values())

    def alerts_of(self, item: Mapping[str, object]) -> list[Alert]:
        """Return the alerts ``item`` makes (none, one, or a heal's info and its resolve)."""
        kind = str(item.get("kind"))
        if kind in _NOTICE_KINDS and "container_id" not in item:
            made = [self._notice(item, kind)]
        elif kind in _HEAL_KINDS:
            made = self._heal(item, kind)
        elif "container_id" in item:
            made = [self._incident(item, kind)]
        else:
            return []
        return [sent for alert in made if (sent := self._admit(alert)) is not None]

    def _admit(self, alert: Alert) -> Alert | None:
        """Return ``alert`` if it is news (a first firing, an update or resolve of an open one).

        An update or resolve keeps what identifies the alert it follows (labels, since,
        severity), so a receiver matching on them (Alertmanager) sees the same alert.
        """
        key, status = alert["alert_id"], alert["status"]
        if status == "info":
            return alert
        if status == "firing":
            if key in self._fired:
                return None
            self._remember(self._fired, key, None)
            if alert["kind"] in _RESOLVES:
                self._remember(self._open, key, alert)
            return alert
        opened = self._open.get(key)
        if opened is None:
            return None
        if status == "resolved":
            del self._open[key]
        sent = opened.copy()
        sent["status"], sent["time"], sent["summary"] = status, alert["time"], alert["summary"]
        sent["count"], sent["item"] = alert["count"], alert["item"]
        return sent

    def _remember(self, book: OrderedDict[str, T], key: str, value: T) -> None:
        book[key] = value
        while len(book) > self._remembered:
            book.popitem(last=False)

    def _incident(self, item: Mapping[str, object], kind: str) -> Alert:
        given = item.get("status")
        status = (_STATUSES.get(given) if isinstance(given, str) else None) or _default_status(kind)
        since = item.get("since") or item.get("time")
        key = item.get("incident_id") or _digest(
            item.get("engine_id") or item.get("host"), item.get("container_id"), kind, since
        )
        return self._alert(item, kind, status, str(key), since)

    def _heal(self, item: Mapping[str, object], kind: str) -> list[Alert]:
        scope, when = item.get("engine_id") or item.get("host"), item.get("time")
        key = _digest(scope, item.get("container_id"), kind, when)
        if kind in _HEAL_FIRING:
            return [self._alert(item, kind, "firing", key, when)]
        made = [self._alert(item, kind, "info", key, when)]
        if kind == "healed":  # as far as people are concerned, it resolves the unhealthy
            made += [
                self._alert(item, "unhealthy", "resolved", alert["alert_id"], None)
                for alert in self.open_alerts
                if alert["kind"] == "unhealthy"
                and alert["container_id"] == item.get("container_id")
                and alert["host"] == item.get("host")
            ]
        return made

    def _notice(self, item: Mapping[str, object], kind: str) -> Alert:
        scope = item.get("engine_id") or item.get("host")
        if kind == "connected":
            return self._alert(item, kind, "info", _digest(scope, kind, item.get("time")), None)
        opener = next((o for o, closer in _EPISODES.items() if kind in (o, closer)), kind)
        episode = next(
            (
                a
                for a in self._open.values()
                if a["kind"] == opener and a["host"] == item.get("host")
            ),
            None,
        )
        if kind == opener:
            key = episode["alert_id"] if episode else _digest(scope, kind, item.get("time"))
            return self._alert(item, kind, "firing", key, episode["since"] if episode else None)
        key = episode["alert_id"] if episode else _digest(scope, kind)
        return self._alert(item, opener, "resolved", key, None)

    @staticmethod
    def _alert(
        item: Mapping[str, object], kind: str, status: AlertStatus, key: str, since: object
    ) -> Alert:
        host = None if item.get("host") is None else _clean(item["host"])
        name = None if item.get("name") is None else _clean(item["name"])
        container_id = _text(item.get("container_id"))
        where = ", ".join(str(x) for x in (host, name or (container_id or "")[:12] or None) if x)
        said = f"{kind} ({where})" if where else kind
        return Alert(
            alert_id=key,
            status=status,
            kind=kind,
            severity=_severity(kind, status),
            host=host,
            engine_id=_text(item.get("engine_id")),
            container_id=container_id,
            name=name,
            since=iso_ms(since or item.get("time")),
            time=iso_ms(item.get("time")),
            summary=f"{said}: {_clean(item.get('message') or kind)}",
            count=_whole(item.get("count")),
            exit_code=_whole(item.get("exit_code")),
            labels=(labels := _labels(item.get("labels"))),
            item=_item(item, labels),
        )


def _default_status(kind: str) -> AlertStatus:
    """Return the status of an item that does not say: firing for the incidents that alert.

    A kind this module does not know (one a newer watch or healer reports) is info, so a
    new report is never a page until it is classified here.
    """
    return "firing" if kind in _ALERTING_INCIDENTS else "info"


def _severity(kind: str, status: AlertStatus) -> Severity:
    """Return how bad an alert is: info (not an alert), critical or warning."""
    if status == "info":
        return "info"
    return "critical" if kind in _CRITICAL else "warning"


def _text(value: object) -> str | None:
    """Return ``value`` if it is text (an id), else None."""
    return value if isinstance(value, str) else None


def _whole(value: object) -> int | None:
    """Return ``value`` if it is a whole number (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _labels(labels: object) -> dict[str, str]:
    """Return a container's labels redacted (secret-looking keys' values hidden) and clean."""
    given = labels.items() if isinstance(labels, Mapping) else ()
    return {
        _clean(key): REDACTED if is_secret_key(str(key)) else _clean(value) for key, value in given
    }
