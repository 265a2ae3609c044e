"""``AlertDispatcher``: send the watch's alerts to its sinks without ever holding it up.

``offer(item)`` is synchronous and returns at once: it turns the item into alerts
(``AlertBook``) and puts each on the queue of every sink that wants it. A queue is
bounded; when it is full the oldest alert is dropped and counted (a warning at the 1st,
10th, 100th... drop). One task per sink sends its queue in order; a POST that fails for a
reason that may pass (no answer, refused, 408, 429, 5xx) is tried again after a backoff
that doubles (``backoff_s`` up to ``backoff_max_s``) until it is delivered, ``max_attempts``
were made or it has waited ``retry_for_s``; one the receiver refuses (400, 401, 404...) is
given up at once. Each give-up is a warning. ``close()`` sends what is queued within its
bound (a sink whose receiver failed is not waited for), then stops and says how many
alerts were not delivered.

Alertmanager forgets an alert it is not sent again within its ``resolve_timeout``
(5 minutes by default), so an Alertmanager sink re-posts the alerts still open (an
unhealthy container, a loop, an unresponsive engine) every ``resend_s`` while idle.

A warning never shows a sink's URL or token: the sink is named by its section name and
``shown_url`` (scheme and host).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol, TypedDict, Unpack
from urllib.parse import urlsplit, urlunsplit

from operator_core.audit.redact import REDACTED, redact_text
from operator_core.errors import InvalidInput
from operator_core.policy.alert_rules import AlertSink, shown_url
from operator_core.watch.alerts.book import Alert, AlertBook
from operator_core.watch.alerts.http import SendFailed, post_json
from operator_core.watch.alerts.payloads import (
    ALERTMANAGER_PATH,
    alertmanager_body,
    slack_body,
    webhook_body,
)

__all__ = [
    "AlertDispatcher",
    "DispatcherOptions",
    "Poster",
    "SinkStats",
    "SinkTarget",
    "build_dispatcher",
]

_LOG = logging.getLogger(__name__)
#: Alerts one Alertmanager POST carries at most.
_BATCH = 64


class Poster(Protocol):
    """Sends one body; ``post_json``'s signature (a test may count or slow the sends)."""

    def __call__(
        self,
        url: str,
        body: bytes,
        *,
        token: str | None,
        timeout_s: float,
        context: ssl.SSLContext | None = None,
    ) -> Awaitable[int]:
        """POST ``body`` to ``url``; return the 2xx status or raise SendFailed."""
        ...


class SinkStats(TypedDict):
    """What a sink did: alerts delivered, retried sends, given up, dropped from a full queue."""

    sent: int
    retries: int
    given_up: int
    dropped: int
    refreshed: int
    queued: int


@dataclass(frozen=True)
class SinkTarget:
    """A sink ready to send to: its section, its full URL and its token (both secrets).

    ``context`` verifies an https receiver (None: the system's CAs).
    """

    name: str
    rules: AlertSink
    url: str
    token: str | None = field(default=None, repr=False)
    context: ssl.SSLContext | None = None

    def __repr__(self) -> str:
        return f"SinkTarget({self.name!r}, {self.rules.kind}, {shown_url(self.url)})"


@dataclass
class _Pending:
    alert: Alert
    queued_at: float
    attempts: int = 0


@dataclass
class _Sink:
    target: SinkTarget
    queue: deque[_Pending]
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    failures: int = 0
    stats: SinkStats = field(
        default_factory=lambda: SinkStats(
            sent=0, retries=0, given_up=0, dropped=0, refreshed=0, queued=0
        )
    )


class AlertDispatcher:
    """Sends the watch's alerts to every sink; ``offer`` never blocks (see the module)."""

    def __init__(
        self,
        targets: list[SinkTarget],
        *,
        max_queued: int = 1000,
        backoff_s: float = 0.5,
        backoff_max_s: float = 10.0,
        warn: Callable[[str], None] | None = None,
        post: Poster = post_json,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not 0 < backoff_s <= backoff_max_s or max_queued < 1:
            raise InvalidInput("need 0 < backoff_s <= backoff_max_s and max_queued >= 1")
        self.book = AlertBook()
        self._sinks = [_Sink(t, deque()) for t in targets]
        self._max_queued, self._backoff = max_queued, (backoff_s, backoff_max_s)
        self._warn = warn or _LOG.warning
        self._post, self._clock, self._sleep = post, clock, sleep
        self._tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._closed = asyncio.Event()

    def offer(self, item: Mapping[str, object]) -> None:
        """Queue the alerts ``item`` makes for every sink that wants them; return at once.

        A sending task that died of an error of ours raises it here, at the next offer,
        so a bug stops the watch instead of silencing a sink.
        """
        self._raise_failed()
        for alert in self.book.alerts_of(item):
            for sink in self._sinks:
                if sink.target.rules.wants(alert["kind"], alert["status"]):
                    self._push(sink, alert)

    def stats(self) -> dict[str, SinkStats]:
        """Return each sink's counts, by section name."""
        for sink in self._sinks:
            sink.stats["queued"] = len(sink.queue)
        return {sink.target.name: SinkStats(**sink.stats) for sink in self._sinks}

    def start(self) -> None:
        """Start one sending task per sink (in the running loop)."""
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._run(sink)) for sink in self._sinks]

    async def close(self, timeout_s: float = 5.0) -> None:
        """Send what is queued for up to ``timeout_s``; then stop, warning of what is left.

        A sink whose last send failed gets no more tries: its receiver is down, and the
        watch is not kept waiting for it.
        """
        self._closing = True
        self._closed.set()
        for sink in self._sinks:
            sink.wake.set()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=timeout_s)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._raise_failed()
        for sink in self._sinks:
            if sink.queue:
                self._say(sink, f"{len(sink.queue)} alert(s) not delivered before closing")

    def _raise_failed(self) -> None:
        """Raise the error a sending task died of (only our own bugs end one)."""
        for task in self._tasks:
            error = None if not task.done() or task.cancelled() else task.exception()
            if error is not None:
                raise error

    async def __aenter__(self) -> AlertDispatcher:
        self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def _push(self, sink: _Sink, alert: Alert) -> None:
        if len(sink.queue) >= self._max_queued:
            sink.queue.popleft()
            sink.stats["dropped"] += 1
            dropped = sink.stats["dropped"]
            if str(dropped).rstrip("0") == "1":  # the 1st, 10th, 100th... drop
                self._say(sink, f"queue full ({self._max_queued}): {dropped} oldest dropped")
        sink.queue.append(_Pending(alert, self._clock()))
        sink.wake.set()

    async def _run(self, sink: _Sink) -> None:
        """Send ``sink``'s queue in order, forever (until closing with nothing queued)."""
        while True:
            if self._closing and (not sink.queue or sink.failures):
                return  # closing: what is queued for a receiver that is down stays unsent
            if not sink.queue:
                sink.wake.clear()
                await self._idle(sink)
                continue
            batch = self._batch(sink)
            try:
                await self._send(sink, [pending.alert for pending in batch])
            except SendFailed as exc:
                await self._failed(sink, batch, exc)
                continue
            sink.failures = 0
            sink.stats["sent"] += len(batch)

    @staticmethod
    def _batch(sink: _Sink) -> list[_Pending]:
        """Take what one POST carries: one alert, or for Alertmanager up to _BATCH.

        An Alertmanager batch stops before a second report of one alert (its firing and
        its resolve go in two POSTs, in order, so the firing is not lost in the batch).
        """
        batch = [sink.queue.popleft()]
        if sink.target.rules.kind == "alertmanager":
            ids = {batch[0].alert["alert_id"]}
            while sink.queue and len(batch) < _BATCH:
                if sink.queue[0].alert["alert_id"] in ids:
                    break
                batch.append(sink.queue.popleft())
                ids.add(batch[-1].alert["alert_id"])
        return batch

    async def _idle(self, sink: _Sink) -> None:
        """Wait for an alert; an Alertmanager sink re-posts the open ones every resend_s."""
        rules = sink.target.rules
        if rules.kind != "alertmanager":
            await sink.wake.wait()
            return
        try:
            await asyncio.wait_for(sink.wake.wait(), timeout=rules.resend_s)
        except TimeoutError:
            still = [a for a in self.book.open_alerts if rules.wants(a["kind"], "firing")]
            if still:
                with contextlib.suppress(SendFailed):  # the next refresh tries again
                    await self._send(sink, still[-_BATCH:])
                    sink.stats["refreshed"] += len(still[-_BATCH:])

    async def _send(self, sink: _Sink, alerts: list[Alert]) -> None:
        target = sink.target
        kind = target.rules.kind
        body = (
            alertmanager_body(alerts)
            if kind == "alertmanager"
            else slack_body(alerts[0])
            if kind == "slack"
            else webhook_body(alerts[0])
        )
        await self._post(
            target.url,
            body,
            token=target.token,
            timeout_s=target.rules.timeout_s,
            context=target.context,
        )

    async def _failed(self, sink: _Sink, batch: list[_Pending], exc: SendFailed) -> None:
        """Put back what may still be sent, give up the rest, and back off."""
        rules, now = sink.target.rules, self._clock()
        kept: list[_Pending] = []
        for pending in batch:
            pending.attempts += 1
            spent = pending.attempts >= rules.max_attempts
            if not exc.retry or spent or now - pending.queued_at >= rules.retry_for_s:
                sink.stats["given_up"] += 1
                why = "refused" if not exc.retry else f"after {pending.attempts} attempt(s)"
                self._say(sink, f"gave up {pending.alert['kind']} alert ({why}): {exc}")
            else:
                kept.append(pending)
        sink.queue.extendleft(reversed(kept))
        if kept:
            sink.stats["retries"] += 1
            sink.failures += 1
            low, high = self._backoff
            await self._backoff_sleep(min(low * 2 ** (sink.failures - 1), high))

    async def _backoff_sleep(self, delay: float) -> None:
        """Sleep ``delay`` before a retry, cut short when the dispatcher closes."""
        if self._closing:
            return
        sleeping = asyncio.ensure_future(self._sleep(delay))
        closing = asyncio.ensure_future(self._closed.wait())
        try:
            await asyncio.wait({sleeping, closing}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            sleeping.cancel()
            closing.cancel()

    def _say(self, sink: _Sink, message: str) -> None:
        """Warn about ``sink``, its URL and token kept out of the text."""
        target = sink.target
        for secret in (target.url, urlsplit(target.url).path, target.token):
            if secret and len(secret) > 1:
                message = message.replace(secret, REDACTED)
        where = f"alerts.{target.name} ({target.rules.kind}, {shown_url(target.url)})"
        self._warn(redact_text(f"{where}: {message}"))


def _full_url(rules: AlertSink) -> str:
    """Return where a sink POSTs: its URL, with Alertmanager's API path added if missing."""
    url = rules.url.get_secret_value()
    if rules.kind != "alertmanager":
        return url
    parts = urlsplit(url)
    if parts.path.endswith(ALERTMANAGER_PATH):
        return url
    path = parts.path.rstrip("/") + ALERTMANAGER_PATH
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def _token(name: str, rules: AlertSink, env: Mapping[str, str]) -> str | None:
    """Return a sink's token from its file or variable; InvalidInput naming what is wrong."""
    if rules.token_env is not None:
        token = env.get(rules.token_env, "").strip()
        where = f"the environment variable {rules.token_env} (token_env)"
    elif rules.token_file is not None:
        path = Path(rules.token_file).expanduser()
        where = f"the file {path} (token_file)"
        try:
            token = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise InvalidInput(f"alerts.{name}: cannot read {where}: {reason}") from None
    else:
        return None
    if not token:
        raise InvalidInput(f"alerts.{name}: {where} is empty or not set")
    if any(ord(c) < 32 or ord(c) == 127 for c in token):
        raise InvalidInput(f"alerts.{name}: {where} holds control characters (not shown)")
    if not token.isascii():  # an Authorization header carries ASCII only
        raise InvalidInput(f"alerts.{name}: {where} holds non-ASCII characters (not shown)")
    return token


def _context(name: str, rules: AlertSink) -> ssl.SSLContext | None:
    """Return the TLS context trusting a sink's ca_file too; InvalidInput if it is unusable."""
    if rules.ca_file is None:
        return None
    path = Path(rules.ca_file).expanduser()
    try:
        return ssl.create_default_context(cafile=str(path))
    except OSError as exc:  # ssl.SSLError too: a file that holds no certificate
        reason = exc.strerror or str(exc)
        raise InvalidInput(f"alerts.{name}: cannot use ca_file {path}: {reason}") from None


class DispatcherOptions(TypedDict, total=False):
    """``AlertDispatcher``'s keyword options, as ``build_dispatcher`` passes them on."""

    max_queued: int
    backoff_s: float
    backoff_max_s: float
    warn: Callable[[str], None] | None
    post: Poster
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]


def build_dispatcher(
    sinks: Mapping[str, AlertSink],
    env: Mapping[str, str] | None = None,
    **options: Unpack[DispatcherOptions],
) -> AlertDispatcher:
    """Return a dispatcher for a policy's ``[alerts.*]`` sinks, their tokens read now.

    Raises InvalidInput when a token or a ca_file cannot be read (naming the sink and where
    it should be, never the token). ``options`` go to ``AlertDispatcher``.
    """
    environ = os.environ if env is None else env
    targets = [
        SinkTarget(
            name, rules, _full_url(rules), _token(name, rules, environ), _context(name, rules)
        )
        for name, rules in sinks.items()
    ]
    return AlertDispatcher(targets, **options)
