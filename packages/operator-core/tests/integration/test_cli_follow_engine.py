"""`operator docker logs -f` and Ctrl-C during a stop, as a person runs them, on the engine."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import OPERATOR, clean_env, json_out, run_operator

from operator_core.audit import AuditQuery, read_audit
from operator_core.testing import IGNORES_SIGTERM

EXECUTE = ("--mode", "execute", "--yes")
TICKS_THEN_EXIT = (
    "sh",
    "-c",
    "sleep 1; for i in 1 2 3; do echo tick $i; echo warn $i >&2; done; sleep 1",
)
TICKS_FOREVER = ("sh", "-c", "i=0; while true; do i=$((i+1)); echo tick $i; sleep 0.2; done")


@pytest.fixture
def env(tmp_path):
    """The environment of every command: a private audit file, no user policy."""
    return clean_env(tmp_path)


def _records(env, name):
    """Return the audit records about container ``name`` (none while there is no trail)."""
    listed = json_out(run_operator(env, "audit", "list", "--container", name, "--json"))
    return listed["result"]["records"] if listed["ok"] else []


def _wait_for(predicate, what, limit_s=60.0):
    """Poll ``predicate`` until it holds (a bound only against a hang, not a timing check)."""
    deadline = time.monotonic() + limit_s
    while not predicate():
        assert time.monotonic() < deadline, f"never saw {what}"
        time.sleep(0.05)


def test_follow_prints_new_lines_until_the_container_stops(containers, env):
    """-f prints lines written after it began, ends with the container (exit 0), one record."""
    name = containers.run(*TICKS_THEN_EXIT)
    followed = run_operator(env, "docker", "logs", "-f", "--no-timestamps", name)
    assert followed.returncode == 0, followed.stderr
    lines = followed.stdout.splitlines()
    assert [line for line in lines if line.startswith("tick")] == ["tick 1", "tick 2", "tick 3"]
    assert "[stderr] warn 3" in lines
    assert "ended by the container stopped" in followed.stderr
    records = _records(env, name)
    assert [(r["tool"], r["outcome"]) for r in records] == [("docker_get_container_logs", "ok")]
    assert records[0]["result"]["followed"] is True
    assert records[0]["result"]["line_count"] == 6


def test_ctrl_c_ends_a_follow_with_exit_0_and_one_record(containers, env):
    """SIGINT while following: the follow ends at once, exit 0, the record says interrupted."""
    name = containers.run(*TICKS_FOREVER)
    process = subprocess.Popen(
        [*OPERATOR, "docker", "logs", "-f", "--tail", "1", name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        assert "tick" in first
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 0, err
    assert "ended by Ctrl-C" in err
    records = _records(env, name)
    assert len(records) == 1
    assert records[0]["result"]["ended"] == "interrupted"
    assert containers.client.container.inspect(name).state.running is True


def test_follow_of_a_typo_gets_the_nearest_name(containers, env):
    """A misspelt container: exit 4 and 'did you mean', no follow started."""
    name = containers.run(*TICKS_FOREVER)
    missed = run_operator(env, "docker", "logs", "-f", name + "x")
    assert missed.returncode == 4
    assert name in missed.stderr.split("Did you mean", 1)[1]


def _stop_in_background(env, name, grace):
    """Start `operator docker stop -t grace name` and return the process."""
    return subprocess.Popen(
        [*OPERATOR, *EXECUTE, "docker", "stop", "-t", str(grace), name],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _stop_under_way(env, name, process):
    """Whether the stop's pending audit record is written (the action has begun).

    Read straight from the trail, not through `operator audit list` (a process start per
    poll, seconds on a loaded machine, could step over the whole grace period).
    """
    assert process.poll() is None, "the stop ended before its pending record was seen"
    path = Path(env["OPERATOR_AUDIT_DB"])
    if not path.exists():
        return False
    return any(r.outcome == "pending" for r in read_audit(path, AuditQuery(container=name)))


def test_first_ctrl_c_during_a_stop_is_acknowledged_and_the_stop_finishes(containers, env):
    """One SIGINT: 'finishing the stop ... Ctrl-C again', then the stop ends; exit 130."""
    name = containers.run(*IGNORES_SIGTERM)
    process = _stop_in_background(env, name, 8)
    try:
        _wait_for(lambda: _stop_under_way(env, name, process), "the pending record")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=60)
    finally:
        process.kill()
    text = " ".join(err.split())
    assert f"finishing the stop of {name} already under way (up to 8s)" in text
    assert "Ctrl-C again to leave it running" in text
    assert process.returncode == 130
    assert containers.client.container.inspect(name).state.running is False
    assert [r["outcome"] for r in _records(env, name)] == ["cancelled"]


def test_second_ctrl_c_leaves_at_once_saying_what_is_unknown(containers, env):
    """Two SIGINTs: exit 130 long before the grace period ends, naming what to check."""
    name = containers.run(*IGNORES_SIGTERM)
    process = _stop_in_background(env, name, 30)
    try:
        _wait_for(lambda: _stop_under_way(env, name, process), "the pending record")
        process.send_signal(signal.SIGINT)
        assert process.stderr is not None
        _wait_for(lambda: "Ctrl-C" in process.stderr.readline(), "the acknowledgement")
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=20)
    finally:
        process.kill()
    assert process.returncode == 130
    text = " ".join(err.split())
    assert f"whether the stop of {name} finished is unknown" in text
    assert f"operator docker inspect {name}" in text
    # The grace period (30 s) has not passed: the engine is still stopping it.
    assert containers.client.container.inspect(name).state.running is True
