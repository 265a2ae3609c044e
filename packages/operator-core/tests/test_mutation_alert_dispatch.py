"""The dispatcher pinned with a fake poster: routing, order, batches, retries, warnings, close.

No socket: ``post`` records each send and answers from a script; the backoff sleep is
recorded (and returns at once); a send is awaited through an event, never a sleep.
"""

from __future__ import annotations

import asyncio
import json
import ssl
from typing import Any

import pytest

from alert_items import incident
from operator_core.errors import InvalidInput
from operator_core.policy import AlertSink, policy_from_dict
from operator_core.watch.alerts import AlertDispatcher, SendFailed, SinkTarget, build_dispatcher

TOKEN = "tok-0123456789abcdef"  # noqa: S105 (a fake)
URL = "https://hooks.example:8443/services/s3cr3tPath"


def rules(kind: str = "webhook", **given: Any) -> AlertSink:
    """A sink section of ``kind`` (values given are not validated: a tiny resend_s may be)."""
    sink = policy_from_dict({"alerts": {"s": {"kind": kind, "url": URL}}}).alerts["s"]
    return sink.model_copy(update=given)


class Poster:
    """Records (url, body, token, timeout, context) of each send; answers from ``script``."""

    def __init__(self, *script: int | SendFailed) -> None:
        self.script = list(script)
        self.sent: list[tuple[str, Any, str | None, float, object]] = []
        self.arrived = asyncio.Event()

    async def __call__(
        self,
        url: str,
        body: bytes,
        *,
        token: str | None,
        timeout_s: float,
        context: ssl.SSLContext | None = None,
    ) -> int:
        self.sent.append((url, json.loads(body), token, timeout_s, context))
        self.arrived.set()
        answer = self.script.pop(0) if self.script else 200
        if isinstance(answer, SendFailed):
            raise answer
        return answer

    async def wait(self, count: int) -> None:
        """Return once ``count`` sends were made."""
        while len(self.sent) < count:
            self.arrived.clear()
            await asyncio.wait_for(self.arrived.wait(), 30)


class Sleeps:
    """The backoff sleep: records each delay, returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        await asyncio.sleep(0)


class Clock:
    """A monotonic clock moved by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def dispatcher(
    *targets: SinkTarget, post: Poster, warnings: list[str] | None = None, **options: Any
) -> AlertDispatcher:
    """A dispatcher over ``targets`` with the fake poster and a recorded sleep."""
    options.setdefault("sleep", Sleeps())
    return AlertDispatcher(
        list(targets),
        post=post,
        warn=(warnings if warnings is not None else []).append,
        **options,
    )


def target(name: str = "hook", kind: str = "webhook", **given: Any) -> SinkTarget:
    """A sink target named ``name`` with the URL and token of these tests."""
    return SinkTarget(name, rules(kind, **given), URL, TOKEN)


WHERE = "alerts.hook (webhook, https://hooks.example:8443/[REDACTED])"


@pytest.mark.parametrize(
    "options",
    [{"backoff_s": 0}, {"backoff_s": 2, "backoff_max_s": 1}, {"max_queued": 0}],
)
def test_nonsense_bounds_are_refused(options):
    """backoff_s must be > 0 and <= backoff_max_s, max_queued >= 1."""
    with pytest.raises(
        InvalidInput, match=r"need 0 < backoff_s <= backoff_max_s and max_queued >= 1"
    ):
        AlertDispatcher([], **options)


def test_the_tightest_bounds_are_accepted():
    """backoff_s equal to backoff_max_s and a queue of one are allowed."""
    AlertDispatcher([], backoff_s=1, backoff_max_s=1, max_queued=1)


async def test_a_webhook_sink_posts_each_alert_with_its_url_token_timeout_and_context():
    """One POST per alert, in order: the target's URL, token, the sink's timeout, its context."""
    post = Poster()
    context = ssl.create_default_context()
    hook = SinkTarget("hook", rules(timeout_s=7.5), URL, TOKEN, context)
    async with dispatcher(hook, post=post) as sending:
        sending.offer(incident("died", incident_id="a"))
        sending.offer(incident("died", incident_id="b"))
        await post.wait(2)
    assert [(s[0], s[1]["alert_id"], s[2], s[3], s[4]) for s in post.sent] == [
        (URL, "a", TOKEN, 7.5, context),
        (URL, "b", TOKEN, 7.5, context),
    ]
    assert post.sent[0][1]["source"] == "operator-core"
    assert sending.stats() == {
        "hook": {"sent": 2, "retries": 0, "given_up": 0, "dropped": 0, "refreshed": 0, "queued": 0}
    }


async def test_a_slack_sink_posts_the_text():
    """A Slack sink's body is {"text": ...} of the alert."""
    post = Poster()
    async with dispatcher(target(kind="slack"), post=post) as sending:
        sending.offer(incident("died"))
        await post.wait(1)
    assert list(post.sent[0][1]) == ["text"]
    assert post.sent[0][1]["text"].startswith(":red_circle: *FIRING* died (eng1, web)")


async def test_each_sink_gets_only_what_it_wants():
    """A sink's kinds and info filter its queue; the others still get theirs."""
    post = Poster()
    deaths = target("deaths", kinds=["died"])
    everything = target("all", info=True)
    async with dispatcher(deaths, everything, post=post) as sending:
        sending.offer(incident("died", incident_id="d"))
        sending.offer(incident("stopped", status="info", incident_id="s"))
        await post.wait(3)
    assert sorted(s[1]["alert_id"] for s in post.sent) == ["d", "d", "s"]
    assert sending.stats()["deaths"]["sent"] == 1
    assert sending.stats()["all"]["sent"] == 2


async def test_alertmanager_batches_at_most_64_and_never_twice_one_alert():
    """70 alerts: POSTs of 64 and 6; a firing and its resolve go in two POSTs, in order."""
    post = Poster()
    sending = dispatcher(target("am", "alertmanager"), post=post)
    for n in range(70):
        sending.offer(incident("died", incident_id=f"d{n}"))
    sending.offer(incident("unhealthy", incident_id="u"))
    sending.offer(incident("unhealthy", incident_id="u", status="resolved"))
    async with sending:
        await post.wait(3)
    sizes = [len(s[1]) for s in post.sent]
    assert sizes == [64, 7, 1]
    assert post.sent[1][1][-1]["labels"]["incident_id"] == "u"
    assert "endsAt" not in post.sent[1][1][-1]
    assert "endsAt" in post.sent[2][1][0]
    assert sending.stats()["am"]["sent"] == 72


async def test_a_failed_send_is_retried_with_a_doubling_capped_backoff():
    """Failures that may pass: tried again after 1, 2, 4, 4 s (cap); delivered; counted."""
    post = Poster(*[SendFailed("down", retry=True)] * 4)
    sleeps = Sleeps()
    options = {"backoff_s": 1.0, "backoff_max_s": 4.0, "sleep": sleeps}
    warnings: list[str] = []
    async with dispatcher(target(), post=post, warnings=warnings, **options) as sending:
        sending.offer(incident("died"))
        await post.wait(5)
    assert sleeps.delays == [1.0, 2.0, 4.0, 4.0]
    assert sending.stats()["hook"]["retries"] == 4
    assert sending.stats()["hook"]["sent"] == 1
    assert warnings == []


async def test_a_success_resets_the_backoff():
    """After a delivery the next failure backs off from backoff_s again."""
    down = SendFailed("down", retry=True)
    post = Poster(down, down, 200, down)
    sleeps = Sleeps()
    async with dispatcher(
        target(), post=post, sleep=sleeps, backoff_s=1.0, backoff_max_s=8.0
    ) as sending:
        sending.offer(incident("died", incident_id="a"))
        sending.offer(incident("died", incident_id="b"))
        await post.wait(5)
    assert sleeps.delays == [1.0, 2.0, 1.0]


async def test_a_refused_alert_is_given_up_at_once_with_a_warning_that_hides_the_url():
    """A refusal (retry False): given up on the first try, warned naming the sink, not the URL."""
    post = Poster(SendFailed(f"HTTP 400 at {URL} with {TOKEN}", retry=False))
    warnings: list[str] = []
    async with dispatcher(target(), post=post, warnings=warnings) as sending:
        sending.offer(incident("died"))
        await post.wait(1)
    assert warnings == [
        f"{WHERE}: gave up died alert (refused): HTTP 400 at [REDACTED] with [REDACTED]"
    ]
    assert sending.stats()["hook"]["given_up"] == 1
    assert sending.stats()["hook"]["retries"] == 0


async def test_the_url_path_alone_is_hidden_in_a_warning_too():
    """A message quoting only the URL's path (the Slack credential) shows it redacted."""
    post = Poster(SendFailed("no route for /services/s3cr3tPath", retry=False))
    warnings: list[str] = []
    async with dispatcher(target(), post=post, warnings=warnings) as sending:
        sending.offer(incident("died"))
        await post.wait(1)
    assert warnings == [f"{WHERE}: gave up died alert (refused): no route for [REDACTED]"]


async def test_attempts_are_bounded_by_max_attempts():
    """max_attempts 3: three sends, then given up, warned with the count."""
    down = SendFailed("no answer", retry=True)
    post = Poster(down, down, down, 200)
    warnings: list[str] = []
    async with dispatcher(target(max_attempts=3), post=post, warnings=warnings) as sending:
        sending.offer(incident("died"))
        await post.wait(3)
        sending.offer(incident("died", incident_id="next"))
        await post.wait(4)
    assert warnings == [f"{WHERE}: gave up died alert (after 3 attempt(s)): no answer"]
    assert sending.stats()["hook"] == {
        "sent": 1, "retries": 2, "given_up": 1, "dropped": 0, "refreshed": 0, "queued": 0,
    }  # fmt: skip


async def test_an_alert_is_given_up_once_it_waited_retry_for_s():
    """An alert queued retry_for_s ago (exactly) is given up at its next failure."""
    clock = Clock()
    down = SendFailed("no answer", retry=True)
    post = Poster(down, down)
    warnings: list[str] = []
    sleeps = Sleeps()

    async def sleep(delay: float) -> None:
        clock.now += 60
        await sleeps(delay)

    sink = target(retry_for_s=60, max_attempts=10)
    async with dispatcher(sink, post=post, warnings=warnings, clock=clock, sleep=sleep) as s:
        s.offer(incident("died"))
        await post.wait(2)
    assert sleeps.delays == [0.5]
    assert warnings == [f"{WHERE}: gave up died alert (after 2 attempt(s)): no answer"]


async def test_a_full_queue_drops_the_oldest_and_warns_at_1_10_100():
    """Beyond max_queued the oldest is dropped; the warning names the bound and the count."""
    post = Poster()
    warnings: list[str] = []
    sending = dispatcher(target(), post=post, warnings=warnings, max_queued=2)
    for n in range(13):
        sending.offer(incident("died", incident_id=f"d{n}"))
    assert sending.stats()["hook"]["queued"] == 2
    assert sending.stats()["hook"]["dropped"] == 11
    assert warnings == [
        f"{WHERE}: queue full (2): 1 oldest dropped",
        f"{WHERE}: queue full (2): 10 oldest dropped",
    ]
    async with sending:
        await post.wait(2)
    assert [s[1]["alert_id"] for s in post.sent] == ["d11", "d12"]


async def test_close_sends_what_is_queued_then_stops():
    """Closing with alerts queued and a receiver up: they are sent before close returns."""
    post = Poster()
    sending = dispatcher(target(), post=post)
    sending.start()
    sending.start()  # a second start adds no sender
    for n in range(3):
        sending.offer(incident("died", incident_id=f"d{n}"))
    await sending.close()
    assert [s[1]["alert_id"] for s in post.sent] == ["d0", "d1", "d2"]


async def test_close_does_not_retry_a_sink_whose_receiver_is_down_and_says_what_is_left():
    """A failed send and closing: no more tries, the backoff is cut short, the rest counted."""
    gate = asyncio.Event()
    post = Poster(SendFailed("down", retry=True))
    warnings: list[str] = []

    async def long_sleep(delay: float) -> None:
        await gate.wait()

    sending = dispatcher(target(), post=post, warnings=warnings, sleep=long_sleep)
    sending.start()
    sending.offer(incident("died", incident_id="a"))
    sending.offer(incident("died", incident_id="b"))
    await post.wait(1)
    await asyncio.wait_for(sending.close(timeout_s=30), 30)
    assert len(post.sent) == 1
    assert warnings == [f"{WHERE}: 2 alert(s) not delivered before closing"]


async def test_close_gives_up_waiting_after_its_timeout():
    """A send that never returns: close() returns after timeout_s, the alert counted as left."""
    never = asyncio.Event()

    async def hang(url: str, body: bytes, **_: Any) -> int:
        await never.wait()
        return 200

    warnings: list[str] = []
    sending = AlertDispatcher([target()], post=hang, warn=warnings.append)
    sending.start()
    sending.offer(incident("died"))
    await asyncio.sleep(0)
    await asyncio.wait_for(sending.close(timeout_s=0.01), 30)
    assert warnings == []  # the alert was taken off the queue by the hung send


async def test_closing_a_dispatcher_never_started_warns_of_its_queue():
    """Never started: close() says how many alerts each sink still had."""
    warnings: list[str] = []
    sending = dispatcher(target(), post=Poster(), warnings=warnings)
    sending.offer(incident("died"))
    await sending.close()
    assert warnings == [f"{WHERE}: 1 alert(s) not delivered before closing"]


async def test_alertmanager_reposts_the_open_alerts_it_wants_while_idle():
    """Idle for resend_s: the open alerts are posted again (up to 64), counted as refreshed."""
    post = Poster()
    sink = target("am", "alertmanager", resend_s=0.001, kinds=["unhealthy", "died"])
    async with dispatcher(sink, post=post) as sending:
        sending.offer(incident("unhealthy", incident_id="u"))
        sending.offer(incident("restart_loop", incident_id="loop"))  # open, not wanted
        sending.offer(incident("died", incident_id="d"))  # not open
        await post.wait(2)
    first, again = post.sent[0][1], post.sent[1][1]
    assert [a["labels"]["incident_id"] for a in first] == ["u", "d"]
    assert [a["labels"]["incident_id"] for a in again] == ["u"]
    assert sending.stats()["am"]["refreshed"] >= 1


async def test_a_refresh_that_fails_is_tried_at_the_next_one():
    """A failed refresh is not an error of the watch: the next resend_s tries again."""
    post = Poster(200, SendFailed("down", retry=True), 200)
    sink = target("am", "alertmanager", resend_s=0.001)
    async with dispatcher(sink, post=post) as sending:
        sending.offer(incident("unhealthy", incident_id="u"))
        await post.wait(3)
    assert sending.stats()["am"]["given_up"] == 0
    assert sending.stats()["am"]["refreshed"] >= 1


async def test_a_bug_in_a_sender_is_raised_at_the_next_offer_and_at_close():
    """An error of ours (not SendFailed) in a sending task stops the watch, never hidden."""

    async def broken(url: str, body: bytes, **_: Any) -> int:
        raise KeyError("a bug")

    sending = AlertDispatcher([target()], post=broken)
    sending.start()
    sending.offer(incident("died"))
    for _ in range(10):
        await asyncio.sleep(0)
    with pytest.raises(KeyError, match="a bug"):
        sending.offer(incident("died", incident_id="next"))
    with pytest.raises(KeyError, match="a bug"):
        await sending.close()


def test_a_sink_target_shows_its_name_kind_and_host_only():
    """repr: name, kind and scheme://host:port; never the path nor the token."""
    shown = repr(target())
    assert shown == "SinkTarget('hook', webhook, https://hooks.example:8443/[REDACTED])"


def test_build_dispatcher_adds_alertmanagers_path_and_reads_the_token(tmp_path):
    """Alertmanager's URL gets /api/v2/alerts (query kept); a token comes from env or file."""
    (tmp_path / "tok").write_text(f"  {TOKEN}\n", encoding="utf-8")
    sections = {
        "am": {"kind": "alertmanager", "url": "http://am:9093/base/?x=1#frag", "token_env": "T"},
        "am2": {"kind": "alertmanager", "url": "http://am:9093/api/v2/alerts"},
        "hook": {"kind": "webhook", "url": "http://h/x/", "token_file": str(tmp_path / "tok")},
    }
    sinks = policy_from_dict({"alerts": sections}).alerts
    built = build_dispatcher(sinks, env={"T": f" {TOKEN} "}, max_queued=3)
    am, am2, hook = (sink.target for sink in built._sinks)
    assert (am.url, am.token) == ("http://am:9093/base/api/v2/alerts?x=1", TOKEN)
    assert (am2.url, am2.token) == ("http://am:9093/api/v2/alerts", None)
    assert (hook.url, hook.token) == ("http://h/x/", TOKEN)
    assert built._max_queued == 3


def test_build_dispatcher_reads_the_process_environment_by_default(monkeypatch):
    """Without env the process's environment is read."""
    monkeypatch.setenv("ALERT_TOKEN_FOR_TEST", TOKEN)
    sinks = policy_from_dict(
        {"alerts": {"s": {"kind": "slack", "url": URL, "token_env": "ALERT_TOKEN_FOR_TEST"}}}
    ).alerts
    (sink,) = build_dispatcher(sinks)._sinks
    assert sink.target.token == TOKEN


ENV_SAID = "alerts.s: the environment variable T (token_env)"


@pytest.mark.parametrize(
    ("env", "said"),
    [
        ({}, "is empty or not set"),
        ({"T": "  "}, "is empty or not set"),
        ({"T": "a\x01b"}, "holds control characters (not shown)"),
        ({"T": "a\x7fb"}, "holds control characters (not shown)"),
        ({"T": "a\x1fb"}, "holds control characters (not shown)"),
        ({"T": "tök€n"}, "holds non-ASCII characters (not shown)"),
    ],
)
def test_a_token_from_the_environment_must_be_there_and_clean(env, said):
    """Missing, blank, or holding control characters: InvalidInput naming the sink and where."""
    section = {"kind": "webhook", "url": URL, "token_env": "T"}
    sinks = policy_from_dict({"alerts": {"s": section}}).alerts
    with pytest.raises(InvalidInput) as caught:
        build_dispatcher(sinks, env=env)
    assert caught.value.args[0] == f"{ENV_SAID} {said}"


def test_a_token_with_spaces_inside_is_kept_as_it_is():
    """Only the ends are stripped; a space or a tilde inside is kept."""
    section = {"kind": "webhook", "url": URL, "token_env": "T"}
    sinks = policy_from_dict({"alerts": {"s": section}}).alerts
    (sink,) = build_dispatcher(sinks, env={"T": " a b~ "})._sinks
    assert sink.target.token == "a b~"  # noqa: S105 (a fake)


def test_a_token_file_that_cannot_be_read_or_is_not_text_is_refused(tmp_path):
    """An absent file says why; a binary one says it is not UTF-8; an empty one is empty."""
    absent = tmp_path / "absent"
    binary = tmp_path / "binary"
    binary.write_bytes(b"\xff\xfe\x00")
    empty = tmp_path / "empty"
    empty.write_text("\n")
    expected = {
        absent: f"alerts.s: cannot read the file {absent} (token_file): No such file or directory",
        binary: f"alerts.s: cannot read the file {binary} (token_file): not UTF-8 text",
        empty: f"alerts.s: the file {empty} (token_file) is empty or not set",
    }
    for path, said in expected.items():
        section = {"kind": "webhook", "url": URL, "token_file": str(path)}
        sinks = policy_from_dict({"alerts": {"s": section}}).alerts
        with pytest.raises(InvalidInput) as caught:
            build_dispatcher(sinks, env={})
        assert caught.value.args[0] == said


def test_a_ca_file_is_trusted_and_an_unusable_one_refused(tmp_path):
    """No ca_file: the system's CAs (None); a file holding no certificate: InvalidInput."""
    plain = policy_from_dict({"alerts": {"s": {"kind": "webhook", "url": URL}}}).alerts
    assert build_dispatcher(plain, env={})._sinks[0].target.context is None
    for bad in (tmp_path / "absent.pem", tmp_path / "junk.pem"):
        if bad.name == "junk.pem":
            bad.write_text("not a certificate")
        section = {"kind": "webhook", "url": URL, "ca_file": str(bad)}
        sinks = policy_from_dict({"alerts": {"s": section}}).alerts
        with pytest.raises(InvalidInput, match=f"alerts.s: cannot use ca_file {bad}: "):
            build_dispatcher(sinks, env={})


async def test_the_default_backoff_is_half_a_second_doubling_to_ten():
    """Defaults: 0.5, 1, 2, 4, 8, then 10 s at most."""
    post = Poster(*[SendFailed("down", retry=True)] * 7)
    sleeps = Sleeps()
    async with AlertDispatcher([target()], post=post, sleep=sleeps, warn=[].append) as sending:
        sending.offer(incident("died"))
        await post.wait(8)
    assert sleeps.delays == [0.5, 1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


async def test_the_default_queue_holds_a_thousand_alerts():
    """Beyond 1000 queued alerts the oldest is dropped."""
    sending = AlertDispatcher([target()], post=Poster(), warn=[].append)
    for n in range(1001):
        sending.offer(incident("died", incident_id=f"d{n}"))
    assert (sending.stats()["hook"]["queued"], sending.stats()["hook"]["dropped"]) == (1000, 1)


async def test_each_give_up_is_counted():
    """Two refused alerts: given_up 2."""
    refused = SendFailed("HTTP 400", retry=False)
    post = Poster(refused, refused)
    async with dispatcher(target(), post=post) as sending:
        sending.offer(incident("died", incident_id="a"))
        sending.offer(incident("died", incident_id="b"))
        await post.wait(2)
    assert sending.stats()["hook"]["given_up"] == 2


@pytest.mark.parametrize(
    ("url", "token", "message", "shown"),
    [
        ("https://h.example/", None, "HTTP 400 at a/b", "HTTP 400 at a/b"),
        ("https://h.example/x", "t", "HTTP 400 at /x/y", "HTTP 400 at [REDACTED]/y"),
    ],
)
async def test_a_warning_hides_secrets_longer_than_one_character(url, token, message, shown):
    """The URL's path and the token are hidden where they appear, unless a single character."""
    post = Poster(SendFailed(message, retry=False))
    warnings: list[str] = []
    sink = SinkTarget("s", rules(), url, token)
    async with dispatcher(sink, post=post, warnings=warnings) as sending:
        sending.offer(incident("died"))
        await post.wait(1)
    host = url.rsplit("/", 1)[0]
    assert warnings == [
        f"alerts.s (webhook, {host}/[REDACTED]): gave up died alert (refused): {shown}"
    ]


async def test_each_refresh_counts_the_alerts_it_sent():
    """The refreshed count adds the open alerts of each refresh: one per POST after the first."""
    post = Poster()
    sink = target("am", "alertmanager", resend_s=0.001)
    async with dispatcher(sink, post=post) as sending:
        sending.offer(incident("unhealthy", incident_id="u"))
        await post.wait(3)
    assert sending.stats()["am"]["refreshed"] == len(post.sent) - 1


def test_an_absent_ca_file_says_so_exactly(tmp_path):
    """A ca_file that does not exist: the OS's words, not an errno tuple."""
    absent = tmp_path / "absent.pem"
    section = {"kind": "webhook", "url": URL, "ca_file": str(absent)}
    sinks = policy_from_dict({"alerts": {"s": section}}).alerts
    with pytest.raises(InvalidInput) as caught:
        build_dispatcher(sinks, env={})
    assert (
        caught.value.args[0] == f"alerts.s: cannot use ca_file {absent}: No such file or directory"
    )
