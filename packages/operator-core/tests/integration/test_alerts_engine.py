"""``operator watch`` sending alerts to a real local webhook receiver, on lab spare engine 95.

The spare engine is this file's own (scripts/lab.sh spare 95): no other test's containers
die there, so what the receiver gets is this test's alone.
"""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from cli_helpers import OPERATOR, clean_env
from lab_helpers import spare_engine_url
from python_on_whales import DockerClient

from operator_core.testing import TEST_IMAGE, TEST_LABEL, unique_name
from operator_core.watch.alerts import AlertReceiver, Received

LAB = Path(__file__).resolve().parents[4] / "scripts" / "lab.sh"
SPARE = "95"
#: How long a line or an alert may take to come; generous for a loaded machine.
WAIT_S = 60.0


@pytest.fixture(scope="module")
def spare(request: pytest.FixtureRequest) -> DockerClient:
    """Lab spare engine 95 (started if needed), which only this file uses."""
    return DockerClient(host=spare_engine_url(request.config, SPARE))


@pytest.fixture
def receiver() -> Iterator[AlertReceiver]:
    """A webhook receiver on 127.0.0.1."""
    with AlertReceiver() as started:
        yield started


def _lines(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """Return a queue of the lines ``process`` prints, filled by a thread."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in process.stdout or ():
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_connected(lines: queue.Queue[str]) -> None:
    """Return once the watch printed its ``connected`` notice."""
    ends = time.monotonic() + WAIT_S
    while (left := ends - time.monotonic()) > 0:
        if json.loads(lines.get(timeout=left))["kind"] == "connected":
            return
    raise AssertionError("the watch never connected")


def _about(name: str) -> Callable[[list[Received]], bool]:
    """Return a test of the received requests: one is an alert about ``name``."""
    return lambda got: any(r.body.get("name") == name for r in got)


def _start_watch(
    spare: DockerClient, tmp_path: Path, policy: str, *flags: str
) -> subprocess.Popen[str]:
    """Start `operator watch --json FLAGS` on the spare engine; return once it is connected."""
    file = tmp_path / "policy.toml"
    file.write_text(policy)
    host = str(spare.client_config.host)
    process = subprocess.Popen(
        [*OPERATOR, "--host", host, "--policy", str(file), "watch", "--json", *flags],
        env=clean_env(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_connected(_lines(process))
    except BaseException:
        process.kill()
        raise
    return process


def _stop(process: subprocess.Popen[str], spare: DockerClient, names: list[str]) -> None:
    """Stop the watch and remove the containers that were made."""
    process.kill()
    process.wait(timeout=30)
    made = [name for name in names if spare.container.exists(name)]
    if made:
        spare.remove(made, force=True)


def test_a_death_reaches_the_webhook_once(spare, receiver, tmp_path):
    """A container exits 3 under `operator watch`: the receiver gets one firing alert for it.

    A second death afterwards (the sentinel) is waited for, so a duplicate of the first
    would have arrived by then (one sink sends in order).
    """
    policy = f'[alerts.hook]\nkind = "webhook"\nurl = "{receiver.url}/hook"\n'
    process = _start_watch(spare, tmp_path, policy)
    names = [unique_name(), unique_name()]
    try:
        for name, code in zip(names, (3, 4), strict=True):
            spare.run(
                TEST_IMAGE,
                ["sh", "-c", f"exit {code}"],
                name=name,
                detach=True,
                labels={TEST_LABEL: "1"},
            )
            assert receiver.wait_for(_about(name), WAIT_S), f"no alert for {name}"
    finally:
        _stop(process, spare, names)
    first: list[Received] = [r for r in receiver.received if r.body.get("name") == names[0]]
    assert len(first) == 1
    body = first[0].body
    assert (body["kind"], body["status"], body["exit_code"]) == ("died", "firing", 3)
    assert first[0].path == "/hook"
    assert names[0] in body["summary"]


#: Unhealthy on its first run, healthy once restarted (the marker file survives a restart).
SICK_UNTIL_RESTARTED = [
    "sh",
    "-c",
    "if [ -f /tmp/ran ]; then touch /tmp/ok; else touch /tmp/ran; fi; sleep 300",
]
HEAL_POLICY = """
mode = "execute"
[approval]
risks = []
[heal]
restart_unhealthy = true
require_labels = ["{label}=1"]
grace_s = 1
stop_grace_s = 1
[alerts.chat]
kind = "slack"
url = "{url}/services/T/B/x"
"""


def test_an_unhealthy_container_fires_once_and_its_heal_resolves_it(spare, receiver, tmp_path):
    """Under `watch --heal`, Slack gets FIRING for the unhealthy container, then RESOLVED.

    The healer restarts it and it comes back healthy; that resolves the alert, once.
    """
    label = f"alerts-test-{unique_name()}"
    policy = HEAL_POLICY.format(label=label, url=receiver.url)
    process = _start_watch(spare, tmp_path, policy, "--heal")
    name = unique_name()

    def about(got: list[Received]) -> list[str]:
        return [r.body["text"] for r in got if name in r.body.get("text", "")]

    try:
        spare.run(
            TEST_IMAGE,
            SICK_UNTIL_RESTARTED,
            name=name,
            detach=True,
            labels={TEST_LABEL: "1", label: "1"},
            health_cmd="test -f /tmp/ok",
            health_interval=1,
            health_retries=1,
        )
        resolved = receiver.wait_for(lambda got: any("*RESOLVED*" in t for t in about(got)), 180)
        assert resolved, f"no resolve; got {about(receiver.received)}"
    finally:
        _stop(process, spare, [name])
    texts = about(receiver.received)
    firing = [t for t in texts if "*FIRING* unhealthy" in t]
    resolved = [t for t in texts if "*RESOLVED*" in t]
    assert len(firing) == 1, texts
    assert len(resolved) == 1, texts
    assert resolved[0].startswith(":white_check_mark: *RESOLVED* unhealthy")
    assert texts.index(firing[0]) < texts.index(resolved[0])
