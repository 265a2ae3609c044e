"""The ``operator`` command run as a subprocess against the real engine."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest
from cli_helpers import OPERATOR, clean_env, json_out, run_operator

from operator_core.testing import HANDLES_SIGTERM, IGNORES_SIGTERM, unique_name

EXECUTE = ("--mode", "execute", "--yes")
HEALTH_FLIPS = (
    "sh",
    "-c",
    "sleep 2; touch /tmp/ready; while true; do sleep 1; done",
)


@pytest.fixture
def env(tmp_path):
    """The environment of every command: a private audit file, no user policy."""
    return clean_env(tmp_path)


def _state(containers, name):
    """Return the engine's own view of a container's state."""
    return containers.client.container.inspect(name).state


def test_ps_and_inspect_show_a_real_container_as_json(containers, env):
    """Ps finds the container by name with its status; inspect gives its state."""
    name = containers.run(*HANDLES_SIGTERM)
    listing = run_operator(env, "docker", "ps", "--name", name, "--json")
    assert listing.returncode == 0, listing.stderr
    found = json_out(listing)["result"]["containers"]
    assert [(c["name"], c["status"]) for c in found] == [(name, "running")]
    inspected = run_operator(env, "docker", "inspect", name, "--json")
    assert inspected.returncode == 0, inspected.stderr
    result = json_out(inspected)["result"]
    assert result["name"] == name
    assert result["state"]["running"] is True
    table = run_operator(env, "docker", "ps", "--name", name)
    assert name in table.stdout
    assert "1 container(s)" in table.stderr


def test_stop_in_execute_mode_stops_gracefully_and_is_audited(containers, env):
    """--mode execute --yes stops a SIGTERM-handling container gracefully; the trail has it."""
    name = containers.run(*HANDLES_SIGTERM)
    stopped = run_operator(env, *EXECUTE, "docker", "stop", name, "--json")
    assert stopped.returncode == 0, stopped.stderr
    result = json_out(stopped)["result"]
    assert (result["graceful_shutdown"], result["killed"], result["changed"]) == (True, False, True)
    assert _state(containers, name).running is False
    records = json_out(run_operator(env, "audit", "list", "--container", name, "--json"))
    records = records["result"]["records"]
    assert [(r["tool"], r["outcome"]) for r in records] == [("docker_stop_container", "ok")]
    assert records[0]["actor"].startswith("cli:")
    assert records[0]["before"]["status"] == "running"
    assert records[0]["after"]["status"] == "exited"


def test_stop_timeout_reaches_the_engine(containers, env):
    """`docker stop -t 1` on a container ignoring SIGTERM kills it in about a second."""
    name = containers.run(*IGNORES_SIGTERM)
    stopped = run_operator(env, *EXECUTE, "docker", "stop", name, "-t", "1", "--json")
    assert stopped.returncode == 0, stopped.stderr
    result = json_out(stopped)["result"]
    assert result["killed"] is True
    # The stop's own time, without the CLI's start-up: about 1 s, where a -t that never
    # reached the engine waits its default 10 s.
    assert result["stop_duration_s"] < 8


def test_observe_mode_denies_with_exit_3_and_the_exact_command_to_allow_it(containers, env):
    """Without configuration a stop is denied, nothing happens, the hint is pasteable."""
    name = containers.run(*HANDLES_SIGTERM)
    denied = run_operator(env, "docker", "stop", name)
    assert denied.returncode == 3
    # stop needs approval and no terminal can ask: the command carries --yes (else denied again)
    assert f"operator --mode execute --yes docker stop {name}" in denied.stderr
    assert _state(containers, name).running is True
    as_json = run_operator(env, "docker", "stop", name, "--json")
    assert as_json.returncode == 3
    assert json_out(as_json)["error"]["rule"] == "mode.observe"


def test_without_a_terminal_approval_needs_yes(containers, env):
    """Execute mode without --yes and without a terminal: denied (3), told to pass --yes."""
    name = containers.run(*HANDLES_SIGTERM)
    denied = run_operator(env, "--mode", "execute", "docker", "restart", name)
    assert denied.returncode == 3
    assert "approval.unavailable" in denied.stderr
    assert f"operator --yes --mode execute docker restart {name}" in denied.stderr
    assert _state(containers, name).running is True


def test_not_found_and_invalid_input_have_their_exit_codes(env):
    """A missing container is 4 (read or act); a malformed name or bound is 2."""
    missing = unique_name("opc-missing")
    assert run_operator(env, "docker", "inspect", missing).returncode == 4
    gone = run_operator(env, *EXECUTE, "docker", "stop", missing, "--json")
    assert gone.returncode == 4
    assert json_out(gone)["error"]["type"] == "container_not_found"
    assert run_operator(env, "docker", "inspect", "bad name;rm").returncode == 2
    assert run_operator(env, "docker", "logs", missing, "--tail", "0").returncode == 2


def test_dry_run_reports_and_changes_nothing(containers, env):
    """--dry-run stop says what it would do to which container; it keeps running."""
    name = containers.run(*HANDLES_SIGTERM)
    before = _state(containers, name).started_at
    dry = run_operator(env, *EXECUTE, "--dry-run", "docker", "stop", name, "--json")
    assert dry.returncode == 0, dry.stderr
    result = json_out(dry)["result"]
    assert result["dry_run"] is True
    assert result["target"]["name"] == name
    assert result["target"]["status"] == "running"
    state = _state(containers, name)
    assert (state.running, state.started_at) == (True, before)
    listed = run_operator(env, "audit", "list", "--outcome", "dry_run", "--json")
    records = json_out(listed)["result"]["records"]
    assert [r["container_name"] for r in records] == [name]


def test_restart_rate_limit_holds_across_commands(containers, env, tmp_path):
    """With max one restart per window, the second `operator` process is denied (3)."""
    name = containers.run(*HANDLES_SIGTERM)
    policy = tmp_path / "policy.toml"
    policy.write_text(
        'mode = "execute"\n[approval]\nrisks = []\n[[rate_limits]]\n'
        'tools = ["docker_restart_container"]\nmax = 1\nwindow_s = 600\n'
    )
    first = run_operator(env, "--policy", str(policy), "docker", "restart", name, "-t", "2")
    assert first.returncode == 0, first.stderr
    second = run_operator(env, "--policy", str(policy), "docker", "restart", name, "--json")
    assert second.returncode == 3
    assert json_out(second)["error"]["rule"] == "rate_limits[0]"


def test_wait_exits_0_when_met_and_5_when_not(containers, env):
    """Wait for healthy succeeds on a container turning healthy, fails fast without a check."""
    healthy = containers.run(
        *HEALTH_FLIPS,
        health_cmd="test -f /tmp/ready",
        health_interval=1,
        health_retries=1,
    )
    met = run_operator(env, "docker", "wait", healthy, "-c", "healthy", "-t", "30", "--json")
    assert met.returncode == 0, met.stderr
    assert json_out(met)["result"]["met"] is True
    plain = containers.run(*HANDLES_SIGTERM)
    began = time.monotonic()
    never = run_operator(env, "docker", "wait", plain, "-c", "healthy", "-t", "30")
    assert never.returncode == 5
    assert time.monotonic() - began < 25  # said at once, not after the 30 s timeout


def test_logs_and_exec_print_the_containers_output(containers, env):
    """Logs print the lines on stdout; exec passes output through and fails on exit 3."""
    name = containers.run("sh", "-c", "echo hello-from-logs; sleep 1000")
    for _ in range(150):  # until the engine has the line (15 s at most), not a guessed pause
        done = subprocess.run(["docker", "logs", name], capture_output=True, text=True, timeout=60)
        if "hello-from-logs" in done.stdout:
            break
        time.sleep(0.1)
    logs = run_operator(env, "docker", "logs", name, "--no-timestamps")
    assert logs.returncode == 0, logs.stderr
    assert "hello-from-logs" in logs.stdout
    ran = run_operator(env, *EXECUTE, "docker", "exec", name, "--", "sh", "-c", "echo out; exit 3")
    assert ran.returncode == 1
    assert ran.stdout.strip() == "out"
    assert "exit code 3" in ran.stderr


def test_policy_check_as_a_subprocess(env, tmp_path):
    """Policy check exits 0 for a good file, 2 for a malformed one."""
    good = tmp_path / "good.toml"
    good.write_text('mode = "execute"\n[protected]\npatterns = ["prod-*"]\n')
    checked = run_operator(env, "policy", "check", str(good))
    assert checked.returncode == 0
    assert "prod-*" in checked.stdout
    bad = tmp_path / "bad.toml"
    bad.write_text("mode = [")
    refused = run_operator(env, "policy", "check", str(bad))
    assert refused.returncode == 2
    assert "not valid TOML" in refused.stderr


def test_an_engine_that_does_not_answer_is_exit_6_within_seconds(env):
    """--host at a closed port fails fast with the unreachable code, not a hang."""
    began = time.monotonic()
    result = run_operator(env, "--host", "tcp://127.0.0.1:9", "docker", "ps", "--json")
    assert result.returncode == 6, result.stdout + result.stderr
    assert json_out(result)["error"]["type"] == "engine_unreachable"
    assert time.monotonic() - began < 30


SECRETS = {"TOKEN": "s3cretTOKEN", "PASSED": "s3cretPASSED", "FROM_FILE": "s3cretFILE"}


def _command_lines_holding(needles: list[str]) -> list[str]:
    """Return every process command line on this host that holds one of ``needles``."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            text = cmdline.read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
        except OSError:  # the process ended meanwhile
            continue
        if any(needle in text for needle in needles):
            found.append(text)
    return found


def test_exec_env_values_reach_the_command_and_no_command_line_or_message(
    containers, env, tmp_path
):
    """-e KEY and --env-file give `env` in the container its values; they are on no argv.

    While the command runs no process on the host (operator, docker exec) has a value on
    its command line; operator's stderr and the audit trail never show one; only the
    command's own stdout does.
    """
    name = containers.run(*HANDLES_SIGTERM)
    env_file = tmp_path / "secrets.env"
    env_file.write_text(f"# for the test\n\nFROM_FILE={SECRETS['FROM_FILE']}\nPASSED\n")
    args = [*OPERATOR, *EXECUTE, "docker", "exec", name, "-e", "TOKEN", "--env-file"]
    args += [str(env_file), "--", "sh", "-c", "sleep 1.5; env"]
    process = subprocess.Popen(
        args,
        env={**env, "TOKEN": SECRETS["TOKEN"], "PASSED": SECRETS["PASSED"]},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    exposed: list[str] = []
    try:
        while process.poll() is None:
            exposed += _command_lines_holding(list(SECRETS.values()))
            time.sleep(0.05)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, err
    for key, value in SECRETS.items():
        assert f"{key}={value}" in out.splitlines()
        assert value not in err
        assert value not in " ".join(args)
    assert exposed == []
    trail = run_operator(env, "audit", "list", "--container", name, "--json")
    assert [r["tool"] for r in json_out(trail)["result"]["records"]] == ["docker_execute_command"]
    assert not [v for v in SECRETS.values() if v in trail.stdout]


def test_a_denied_exec_shows_no_env_value_in_its_hint(containers, env):
    """The report's case: -e TOKEN=VALUE denied for want of --yes; the hint hides the value."""
    name = containers.run(*HANDLES_SIGTERM)
    secret = SECRETS["TOKEN"]
    denied = run_operator(
        env, "--mode", "execute", "docker", "exec", name, "-e", f"TOKEN={secret}", "--", "env"
    )
    assert denied.returncode == 3
    assert "approval.unavailable" in denied.stderr
    assert secret not in denied.stdout + denied.stderr
    hint = " ".join(denied.stderr.replace("│", " ").split())
    assert f"operator --yes --mode execute docker exec {name} -e 'TOKEN=[REDACTED]'" in hint


def test_a_typo_in_a_container_name_gets_the_nearest_real_name(containers, env):
    """`inspect` of a misspelt name exits 4 with 'did you mean' naming the real container."""
    name = containers.run(*HANDLES_SIGTERM)
    typo = name[:-1] + ("x" if name[-1] != "x" else "y")
    missed = run_operator(env, "docker", "inspect", typo, timeout=60)
    assert missed.returncode == 4
    text = " ".join(missed.stderr.split())
    assert f"no container named {typo}" in text
    assert name in text.split("Did you mean", 1)[1]
    assert "docker_list_containers" not in text
