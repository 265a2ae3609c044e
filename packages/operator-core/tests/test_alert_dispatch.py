"""The alert dispatcher against a real HTTP receiver on 127.0.0.1: delivery, retries, bounds."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import ssl
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest

from alert_items import heal_report, incident
from alertmanager_schema import postable_alerts_problems
from operator_core.errors import InvalidInput
from operator_core.policy import policy_from_dict
from operator_core.watch.alerts import (
    AlertDispatcher,
    AlertReceiver,
    Received,
    SinkTarget,
    build_dispatcher,
    post_json,
)

TOKEN = "tok-0123456789abcdef"  # noqa: S105 (a fake)
SECRET = "/hooks/s3cr3tPath"  # noqa: S105 (a fake)


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    """A receiver on an ephemeral port of 127.0.0.1, stopped after the test."""
    with AlertReceiver() as started:
        yield started


def sinks(url: str, **sections: dict[str, Any]) -> dict[str, Any]:
    """Return the [alerts] sinks of a policy: each section gets ``url`` unless it names one."""
    policy = policy_from_dict({"alerts": {n: {"url": url, **s} for n, s in sections.items()}})
    return dict(policy.alerts)


async def wait_for(receiver: AlertReceiver, count: int) -> list[Received]:
    """Return the first ``count`` requests once they arrived (generous bound: a slow machine)."""
    got = await asyncio.to_thread(receiver.wait_for, lambda r: len(r) >= count, 60)
    assert got, f"the receiver got {len(receiver.received)} of {count} requests"
    return receiver.received[:count]


class Sleeps:
    """A backoff sleep that records each delay and runs a hook first (an event, not time)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self.hooks: dict[int, Any] = {}

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        hook = self.hooks.get(len(self.delays))
        if hook is not None:
            await asyncio.to_thread(hook)
        await asyncio.sleep(0)


async def test_each_kind_of_sink_gets_the_payload_it_accepts(receiver):
    """Webhook gets the alert JSON, Alertmanager valid v2 alerts at /api/v2/alerts, Slack text.

    The token (token_env) goes as a Bearer header.
    """
    env = {"HOOK_TOKEN": TOKEN}
    found = sinks(
        receiver.url,
        hook={"kind": "webhook", "url": f"{receiver.url}{SECRET}", "token_env": "HOOK_TOKEN"},
        am={"kind": "alertmanager"},
        chat={"kind": "slack", "url": f"{receiver.url}/services/T/B/x"},
    )
    async with build_dispatcher(found, env) as dispatcher:
        dispatcher.offer(incident("died", exit_code=3))
        got = {r.path: r for r in await wait_for(receiver, 3)}
    hook, am, chat = got[SECRET], got["/api/v2/alerts"], got["/services/T/B/x"]
    assert (hook.body["kind"], hook.body["status"], hook.body["exit_code"]) == ("died", "firing", 3)
    assert hook.headers["Authorization"] == f"Bearer {TOKEN}"
    assert "Authorization" not in am.headers
    assert postable_alerts_problems(am.body) == []
    assert am.body[0]["labels"]["alertname"] == "ContainerDied"
    assert "*FIRING*" in chat.body["text"]
    assert "web" in chat.body["text"]


async def test_an_incident_and_its_resolve_arrive_once_each_in_order(receiver):
    """Firing, a repeat of it, then the resolve: the receiver gets firing then resolved."""
    found = sinks(receiver.url, hook={"kind": "webhook"})
    async with build_dispatcher(found) as dispatcher:
        dispatcher.offer(incident("unhealthy"))
        dispatcher.offer(incident("unhealthy"))
        dispatcher.offer(heal_report("healed"))
        got = await wait_for(receiver, 2)
    assert [(r.body["kind"], r.body["status"]) for r in receiver.received] == [
        ("unhealthy", "firing"),
        ("unhealthy", "resolved"),
    ]
    assert got[0].body["alert_id"] == got[1].body["alert_id"]


async def test_an_outage_of_the_receiver_delays_alerts_but_loses_none(receiver):
    """The receiver is down for three sends: every alert arrives once, in order, after it.

    The backoff doubles between failed sends; the outage ends on the third backoff (an
    event of the test), not after a time.
    """
    receiver.stop()
    sleeps = Sleeps()
    sleeps.hooks[3] = receiver.start
    target = SinkTarget("hook", sinks(receiver.url, hook={"kind": "webhook"})["hook"], receiver.url)
    dispatcher = AlertDispatcher([target], backoff_s=0.5, backoff_max_s=1.5, sleep=sleeps)
    async with dispatcher:
        for n in range(5):
            dispatcher.offer(incident("died", incident_id=f"d{n}"))
        await wait_for(receiver, 5)
    assert [r.body["alert_id"] for r in receiver.received] == [f"d{n}" for n in range(5)]
    assert sleeps.delays == [0.5, 1.0, 1.5]
    assert dispatcher.stats()["hook"]["sent"] == 5
    assert dispatcher.stats()["hook"]["retries"] == 3


async def test_a_refused_alert_is_given_up_at_once_with_a_warning_that_hides_the_url(receiver):
    """HTTP 400 is not retried; the warning names the sink and host, never path or token."""
    receiver.status = 400
    warnings: list[str] = []
    found = sinks(receiver.url, hook={"kind": "webhook", "url": f"{receiver.url}{SECRET}"})
    dispatcher = build_dispatcher(found, warn=warnings.append, sleep=Sleeps())
    async with dispatcher:
        dispatcher.offer(incident("died"))
        await wait_for(receiver, 1)
    assert len(receiver.received) == 1
    assert dispatcher.stats()["hook"]["given_up"] == 1
    (warning,) = warnings
    assert "alerts.hook (webhook, http://127.0.0.1:" in warning
    assert "refused" in warning
    assert "HTTP 400" in warning
    assert "s3cr3t" not in warning


async def test_retries_stop_after_max_attempts(receiver):
    """A receiver answering 503 gets max_attempts tries of an alert, then it is given up."""
    receiver.status = 503
    warnings: list[str] = []
    found = sinks(receiver.url, hook={"kind": "webhook", "max_attempts": 3})
    dispatcher = build_dispatcher(found, warn=warnings.append, sleep=Sleeps())
    async with dispatcher:
        dispatcher.offer(incident("died"))
        await wait_for(receiver, 3)
    assert len(receiver.received) == 3
    assert dispatcher.stats()["hook"]["given_up"] == 1
    assert "after 3 attempt(s)" in warnings[0]


async def test_offer_never_waits_and_a_full_queue_drops_the_oldest_counted():
    """offer() is plain (no await) and does no I/O; beyond max_queued the oldest go, counted.

    Nothing is sent during the offers (the sender runs only when the loop gets control),
    and the warnings come at the 1st, 10th and 100th drop, not at each.
    """
    posts: list[bytes] = []

    async def post(url: str, body: bytes, *, token: str | None, timeout_s: float, **_: Any) -> int:
        posts.append(body)
        return 200

    warnings: list[str] = []
    target = SinkTarget("hook", sinks("http://127.0.0.1:9", hook={"kind": "webhook"})["hook"], "x")
    dispatcher = AlertDispatcher([target], max_queued=10, post=post, warn=warnings.append)
    async with dispatcher:
        for n in range(120):
            assert dispatcher.offer(incident("died", incident_id=f"d{n}")) is None
        assert posts == []
        assert dispatcher.stats()["hook"]["dropped"] == 110
    assert [json.loads(b)["alert_id"] for b in posts] == [f"d{n}" for n in range(110, 120)]
    assert [w.rsplit(": ", 1)[-1] for w in warnings] == [
        "1 oldest dropped",
        "10 oldest dropped",
        "100 oldest dropped",
    ]


async def test_closing_is_bounded_even_when_the_receiver_never_answers():
    """A receiver that accepts and never answers: close() returns and says what is left."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        warnings: list[str] = []
        dispatcher = build_dispatcher(
            sinks(url, hook={"kind": "webhook", "timeout_s": 30}), warn=warnings.append
        )
        dispatcher.start()
        dispatcher.offer(incident("died", incident_id="a"))
        dispatcher.offer(incident("died", incident_id="b"))
        await asyncio.wait_for(dispatcher.close(timeout_s=0.2), timeout=30)
    assert warnings == [
        f"alerts.hook (webhook, {url}/[REDACTED]): 1 alert(s) not delivered before closing"
    ]


async def test_alertmanager_is_sent_the_open_alerts_again_while_idle(receiver):
    """Open alerts are re-posted each resend_s (Alertmanager forgets them otherwise); deaths not."""
    rules = sinks(receiver.url, am={"kind": "alertmanager"})["am"].model_copy(
        update={"resend_s": 0.05}
    )
    target = SinkTarget("am", rules, f"{receiver.url}/api/v2/alerts")
    async with AlertDispatcher([target]) as dispatcher:
        dispatcher.offer(incident("unhealthy", incident_id="u"))
        dispatcher.offer(incident("died", incident_id="d"))
        got = await wait_for(receiver, 3)
    first, again = got[0].body, got[-1].body
    assert [a["labels"]["incident_id"] for a in first] == ["u", "d"]
    assert [a["labels"]["incident_id"] for a in again] == ["u"]
    assert again[0]["labels"] == first[0]["labels"]


def test_a_token_that_cannot_be_read_is_refused_before_the_watch_starts(tmp_path):
    """A missing variable or file is InvalidInput naming the sink and where; never the token."""
    found = sinks("http://x", a={"kind": "webhook", "token_env": "NOPE"})
    with pytest.raises(InvalidInput, match=r"alerts\.a: the environment variable NOPE"):
        build_dispatcher(found, {})
    bad = tmp_path / "token"
    bad.write_text(f"{TOKEN}\x07\n")
    found = sinks("http://x", a={"kind": "webhook", "token_file": str(bad)})
    with pytest.raises(InvalidInput, match="control characters") as caught:
        build_dispatcher(found, {})
    assert TOKEN not in str(caught.value)
    with pytest.raises(InvalidInput, match="cannot read"):
        build_dispatcher(sinks("http://x", a={"kind": "webhook", "token_file": "/nonexistent"}))


async def test_post_json_says_why_a_send_failed_without_the_url():
    """Refused connections may be retried; the message has no path."""
    from operator_core.watch.alerts import SendFailed

    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    with pytest.raises(SendFailed) as caught:
        await post_json(f"http://127.0.0.1:{port}{SECRET}", b"{}", token=TOKEN, timeout_s=5)
    assert caught.value.retry
    assert "s3cr3t" not in str(caught.value)
    assert TOKEN not in str(caught.value)


async def test_alertmanager_gets_a_firing_and_its_resolve_in_two_posts(receiver):
    """Queued together, an alert's firing and resolve still go in order, one POST each.

    In one POST Alertmanager would keep only the last report of the alert (the resolve),
    and the firing would never be notified. Other alerts share a POST.
    """
    found = sinks(receiver.url, am={"kind": "alertmanager"})
    dispatcher = build_dispatcher(found)
    dispatcher.offer(incident("unhealthy", incident_id="u"))
    dispatcher.offer(incident("died", incident_id="d"))
    dispatcher.offer(incident("unhealthy", incident_id="u", status="resolved"))
    async with dispatcher:
        got = await wait_for(receiver, 2)
    assert [[(a["labels"]["incident_id"], "endsAt" in a) for a in r.body] for r in got] == [
        [("u", False), ("d", False)],
        [("u", True)],
    ]


async def test_closing_does_not_wait_out_the_backoff_of_a_receiver_that_is_down(receiver):
    """A sink backing off after a failure stops at close (its backoff here never ends alone)."""
    receiver.stop()
    tried = asyncio.Event()

    async def endless(delay: float) -> None:
        tried.set()
        await asyncio.get_running_loop().create_future()  # never done: only close ends it

    warnings: list[str] = []
    dispatcher = build_dispatcher(
        sinks(receiver.url, hook={"kind": "webhook"}), warn=warnings.append, sleep=endless
    )
    dispatcher.start()
    dispatcher.offer(incident("died"))
    await asyncio.wait_for(tried.wait(), timeout=60)
    await asyncio.wait_for(dispatcher.close(timeout_s=600), timeout=60)
    assert dispatcher.stats()["hook"]["queued"] == 1
    assert warnings[-1].endswith("1 alert(s) not delivered before closing")


async def test_an_alert_is_given_up_once_it_waited_retry_for_s(receiver):
    """Past retry_for_s since it was queued, a failed alert is not tried again (clock moved)."""
    receiver.stop()
    now = [0.0]
    warnings: list[str] = []
    found = sinks(receiver.url, hook={"kind": "webhook", "retry_for_s": 600})
    dispatcher = build_dispatcher(found, warn=warnings.append, clock=lambda: now[0])
    async with dispatcher:
        dispatcher.offer(incident("died"))
        now[0] = 600.0  # before the first send: it fails, and the alert has waited enough
    assert dispatcher.stats()["hook"]["given_up"] == 1
    assert "after 1 attempt(s)" in warnings[0]


async def test_a_sink_that_is_down_does_not_hold_up_another(receiver):
    """One sink's receiver is down and backing off forever; the other sink still delivers."""
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{unused.getsockname()[1]}"

    async def endless(delay: float) -> None:
        await asyncio.get_running_loop().create_future()

    found = sinks(dead, down={"kind": "webhook"}, up={"kind": "webhook", "url": receiver.url})
    async with build_dispatcher(found, sleep=endless, warn=lambda text: None) as dispatcher:
        for n in range(3):
            dispatcher.offer(incident("died", incident_id=f"d{n}"))
        got = await wait_for(receiver, 3)
    assert [r.body["alert_id"] for r in got] == ["d0", "d1", "d2"]
    assert dispatcher.stats()["down"]["sent"] == 0


@pytest.fixture
def certificate(tmp_path):
    """A self-signed certificate for 127.0.0.1 (openssl), as (cert file, key file)."""
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to make a test certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"]
    command += ["-keyout", str(key), "-out", str(cert), "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        timeout=120,
    )
    return cert, key


async def test_an_https_sink_verifies_the_receiver_with_its_ca_file(certificate, tmp_path):
    """Trusted through ca_file the receiver gets the alert; without it the send fails (TLS)."""
    cert, key = certificate
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    with AlertReceiver(tls=server) as receiver:
        assert receiver.url.startswith("https://")
        warnings: list[str] = []
        found = sinks(
            receiver.url,
            trusted={"kind": "webhook", "ca_file": str(cert)},
            untrusted={"kind": "webhook", "max_attempts": 1},
        )
        async with build_dispatcher(found, warn=warnings.append) as dispatcher:
            dispatcher.offer(incident("died"))
            (got,) = await wait_for(receiver, 1)
    assert got.body["kind"] == "died"
    assert dispatcher.stats()["trusted"]["sent"] == 1
    assert dispatcher.stats()["untrusted"]["given_up"] == 1
    assert "CERTIFICATE_VERIFY_FAILED" in " ".join(warnings)
    (tmp_path / "empty.pem").write_text("")
    with pytest.raises(InvalidInput, match=r"alerts\.a: cannot use ca_file"):
        build_dispatcher(
            sinks("https://x", a={"kind": "webhook", "ca_file": str(tmp_path / "empty.pem")})
        )


async def test_a_bug_in_sending_is_raised_at_the_next_offer_not_hidden():
    """An error of our own in a sending task (not a failed POST) surfaces; it is no warning."""
    failed = asyncio.Event()

    async def buggy(url: str, body: bytes, **_: Any) -> int:
        failed.set()
        raise KeyError("a bug of ours")

    target = SinkTarget("hook", sinks("http://127.0.0.1:9", hook={"kind": "webhook"})["hook"], "x")
    dispatcher = AlertDispatcher([target], post=buggy)
    dispatcher.start()
    dispatcher.offer(incident("died", incident_id="a"))
    await asyncio.wait_for(failed.wait(), timeout=60)
    await asyncio.sleep(0)  # the task ends with the error
    with pytest.raises(KeyError, match="a bug of ours"):
        dispatcher.offer(incident("died", incident_id="b"))
    with pytest.raises(KeyError, match="a bug of ours"):
        await dispatcher.close()
