"""Unit tests of the command line's pieces: exit codes, rendering, options (no engine)."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from rich.console import Console

from operator_core.cli.commands.audit import parse_moment, tool_name
from operator_core.cli.env_options import collect_env, redact_env_words
from operator_core.cli.exit_codes import (
    ExitCode,
    exit_code_for,
    exit_code_for_error,
    exit_code_for_exception,
)
from operator_core.cli.render.common import denial_hint, error_panel, print_envelope
from operator_core.cli.runtime import make_approver
from operator_core.cli.settings import Settings, default_audit_db, default_policy_file
from operator_core.errors import (
    ApprovalUnavailable,
    ContainerNotFound,
    EngineUnreachable,
    InvalidInput,
    OperationTimeout,
    PolicyDenied,
    PolicyError,
)
from operator_core.policy import ApprovalRequest
from operator_core.present.views import compact, log_lines, short_id
from operator_core.runner.envelope import ERROR_TYPES, error_envelope


def _consoles() -> tuple[Console, Console, io.StringIO, io.StringIO]:
    """Return (out, err) consoles writing to strings, and the strings."""
    out_file, err_file = io.StringIO(), io.StringIO()
    out = Console(file=out_file, width=200, color_system=None)
    err = Console(file=err_file, width=200, color_system=None)
    return out, err, out_file, err_file


# --- exit codes -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error_type", "code"),
    [
        ("denied", ExitCode.DENIED),
        ("invalid_arguments", ExitCode.INVALID_INPUT),
        ("unknown_tool", ExitCode.INVALID_INPUT),
        ("invalid_policy", ExitCode.INVALID_INPUT),
        ("container_not_found", ExitCode.NOT_FOUND),
        ("network_not_found", ExitCode.NOT_FOUND),
        ("timeout", ExitCode.TIMEOUT),
        ("engine_unreachable", ExitCode.UNREACHABLE),
        ("engine_error", ExitCode.FAILED),
        ("container_state", ExitCode.FAILED),
        ("audit_unavailable", ExitCode.FAILED),
        ("internal", ExitCode.FAILED),
        ("something-new", ExitCode.FAILED),
    ],
)
def test_each_envelope_error_type_has_its_exit_code(error_type, code):
    """Every error type the runner produces maps to its documented exit code."""
    assert exit_code_for_error(error_type) == code
    assert exit_code_for("docker_stop_container", {"ok": False, "error": {"type": error_type}}) == (
        code
    )


def test_every_runner_error_type_is_mapped_deliberately():
    """No error type of the runner falls through to FAILED except engine/state/audit ones."""
    failed_ok = {"engine_error", "container_state", "audit_unavailable", "error"}
    for error_type in set(ERROR_TYPES.values()):
        code = exit_code_for_error(error_type)
        assert code != ExitCode.OK
        assert (code == ExitCode.FAILED) == (error_type in failed_ok), error_type


def test_exit_codes_of_real_envelopes_follow_the_error_tree():
    """Envelopes built from the package's exceptions get the code of their class."""
    cases = [
        (PolicyDenied("mode.observe", "no"), ExitCode.DENIED),
        (ContainerNotFound("web"), ExitCode.NOT_FOUND),
        (InvalidInput("bad"), ExitCode.INVALID_INPUT),
        (OperationTimeout("late"), ExitCode.TIMEOUT),
        (EngineUnreachable("down"), ExitCode.UNREACHABLE),
    ]
    for exc, code in cases:
        assert exit_code_for("docker_stop_container", error_envelope(exc)) == code
        assert exit_code_for_exception(exc) == code
    assert exit_code_for_exception(PolicyError("bad policy")) == ExitCode.INVALID_INPUT


def test_a_policy_error_has_its_own_envelope_type_upstream():
    """error_envelope gives a PolicyError the type invalid_policy (no CLI patch), exit 2."""
    envelope = error_envelope(PolicyError("bad policy: mode must be observe or execute"))
    assert envelope["error"]["type"] == "invalid_policy"
    assert exit_code_for("docker_list_containers", envelope) == ExitCode.INVALID_INPUT


async def test_without_a_terminal_or_yes_the_approver_says_nobody_can_be_asked():
    """No --yes and no terminal: the CLI's approver raises ApprovalUnavailable saying why."""
    _, err, _, _ = _consoles()
    approver = make_approver(Settings(), err, [None])
    request = ApprovalRequest("docker_stop_container", "high", {}, None, "cli:me", None)
    with pytest.raises(ApprovalUnavailable, match="no terminal") as caught:
        await approver(request)
    assert caught.value.rule == "approval.unavailable"
    assert "--yes" in str(caught.value)
    assert await make_approver(Settings(yes=True), err, [None])(request) is True


def test_results_that_miss_their_goal_are_not_success():
    """A wait not met is TIMEOUT; an exec'd command failing is FAILED or TIMEOUT; dry run is 0."""
    wait = "docker_wait_for_container"
    run = "docker_execute_command"
    assert exit_code_for(wait, {"ok": True, "result": {"met": True}}) == ExitCode.OK
    assert exit_code_for(wait, {"ok": True, "result": {"met": False}}) == ExitCode.TIMEOUT
    assert exit_code_for(run, {"ok": True, "result": {"exit_code": 0}}) == ExitCode.OK
    assert exit_code_for(run, {"ok": True, "result": {"exit_code": 3}}) == ExitCode.FAILED
    assert (
        exit_code_for(run, {"ok": True, "result": {"exit_code": None, "timed_out": True}})
        == ExitCode.TIMEOUT
    )
    dry = {"ok": True, "result": {"dry_run": True, "changed": False}}
    assert exit_code_for("docker_stop_container", dry) == ExitCode.OK


# --- rendering ------------------------------------------------------------------------


def test_compact_and_short_id_make_one_readable_line():
    """Lists are joined, dicts become k=v, booleans yes/no, long text is cut, ids shortened."""
    assert compact(["a", "b"]) == "a, b"
    assert compact({"x": 1, "y": None}) == "x=1, y=-"
    assert compact(True) == "yes"
    assert compact("z" * 300, limit=10) == "z" * 9 + "…"
    assert short_id("a" * 64) == "a" * 12
    assert short_id("web") == "web"


def test_denial_hints_say_exactly_how_to_allow_the_call():
    """Each kind of denial gets its own remedy; the observe one carries the command to run."""
    common = {
        "policy_source": "p.toml",
        "execute_command": "operator --mode execute docker stop web",
        "yes_command": "operator --yes docker stop web",
    }
    observe = denial_hint("mode.observe", **common)
    assert observe is not None
    assert "operator --mode execute docker stop web" in observe
    approval = denial_hint("approval.unavailable", **common)
    assert approval is not None
    assert "operator --yes docker stop web" in approval
    assert "[protected]" in (denial_hint("protected.names", **common) or "")
    assert "[[rate_limits]]" in (denial_hint("rate_limits[0]", **common) or "")
    assert denial_hint("something.else", **common) is None


def test_error_panel_shows_message_rule_problems_and_hint():
    """A person sees the message, the rule, each problem with its fix, and the hint."""
    out, _, out_file, _ = _consoles()
    error = {
        "type": "invalid_arguments",
        "message": "Invalid arguments",
        "rule": "mode.observe",
        "details": {"problems": [{"field": "tail", "problem": "too small", "fix": "use 1+"}]},
    }
    out.print(error_panel(error, hint="do this instead"))
    text = out_file.getvalue()
    for expected in ("invalid_arguments", "Invalid arguments", "mode.observe", "tail: too small"):
        assert expected in text
    assert "use 1+" in text
    assert "do this instead" in text


def test_json_output_is_the_envelope_and_nothing_else():
    """--json prints exactly the envelope on stdout, parseable, even for wide content."""
    out, err, out_file, err_file = _consoles()
    envelope = {"ok": True, "result": {"containers": [{"name": "w" * 300}], "count": 1}}
    print_envelope(out, err, "docker_list_containers", envelope, as_json=True)
    assert json.loads(out_file.getvalue()) == envelope
    assert err_file.getvalue() == ""


def test_ps_table_and_error_go_to_their_streams():
    """A listing goes to stdout as a table; an error goes to stderr, stdout stays empty."""
    out, err, out_file, err_file = _consoles()
    listing = {
        "ok": True,
        "result": {
            "containers": [
                {"name": "web", "id": "a" * 64, "status": "running", "health": "unhealthy"}
            ],
            "count": 1,
        },
    }
    print_envelope(out, err, "docker_list_containers", listing, as_json=False)
    assert "web" in out_file.getvalue()
    assert "unhealthy" in out_file.getvalue()
    assert "a" * 12 in out_file.getvalue()
    assert "a" * 13 not in out_file.getvalue()
    out, err, out_file, err_file = _consoles()
    denied = {"ok": False, "error": {"type": "denied", "message": "no", "rule": "mode.observe"}}
    print_envelope(out, err, "docker_stop_container", denied, as_json=False, hint="H")
    assert out_file.getvalue() == ""
    assert "mode.observe" in err_file.getvalue()


def test_log_lines_read_the_executors_line_shape():
    """Each LogLine becomes 'timestamp [stderr] text', a cut line marked; order is kept."""

    def line(text, stream="stdout", stamp=None, cut=False):
        return {"timestamp": stamp, "stream": stream, "text": text, "truncated": cut}

    result = {
        "container_id": "c" * 64,
        "name": "web",
        "lines": [line("started"), line("ERROR died", "stderr", "T1"), line("x" * 9, cut=True)],
    }
    assert log_lines(result) == ["started", "T1 [stderr] ERROR died", "xxxxxxxxx [cut]"]
    with pytest.raises(KeyError):  # the invented shapes of old are not guessed at
        log_lines({"stdout": ["a"], "stderr": ["b"]})


# --- options --------------------------------------------------------------------------


def test_parse_moment_reads_durations_ago_and_iso_times():
    """'10m' is ten minutes before now, an ISO time is itself (UTC when naive), junk refused."""
    assert parse_moment("10m", now=10_000.0) == 9_400.0
    assert parse_moment("2h", now=10_000.0) == 10_000.0 - 7200
    assert parse_moment("1h30m", now=10_000.0) == 10_000.0 - 5400
    assert parse_moment("1d", now=100_000.0) == 100_000.0 - 86400
    expected = datetime(2026, 11, 29, 10, 0, tzinfo=UTC).timestamp()
    assert parse_moment("2026-11-29T10:00:00") == expected
    with pytest.raises(InvalidInput, match="not a time"):
        parse_moment("yesterday-ish")


def test_tool_name_accepts_short_names():
    """'restart' means docker_restart_container; full names pass; unknown names are refused."""
    assert tool_name("restart") == "docker_restart_container"
    assert tool_name("get_container_logs") == "docker_get_container_logs"
    assert tool_name("docker_list_containers") == "docker_list_containers"
    with pytest.raises(InvalidInput, match="no tool"):
        tool_name("reboot")


def test_policy_defaults_to_observe_and_options_override_it(tmp_path, monkeypatch):
    """Nothing configured is observe; --mode and --dry-run override the file's settings."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "none"))
    assert Settings().policy().mode == "observe"
    assert Settings().policy_source() == "built-in default"
    file = tmp_path / "p.toml"
    file.write_text('mode = "execute"\ndry_run = false\n')
    assert Settings(policy_file=file).policy().mode == "execute"
    overridden = Settings(policy_file=file, mode="observe", dry_run=True).policy()
    assert (overridden.mode, overridden.dry_run) == ("observe", True)


def test_user_policy_file_is_found_under_xdg_config(tmp_path, monkeypatch):
    """~/.config/operator-core/policy.toml is the policy when no --policy is given."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    assert default_policy_file() is None
    path = tmp_path / "operator-core" / "policy.toml"
    path.parent.mkdir()
    path.write_text('mode = "execute"\n')
    assert default_policy_file() == path
    assert Settings().policy().mode == "execute"


def test_audit_db_comes_from_env_or_xdg_state(tmp_path, monkeypatch):
    """$OPERATOR_AUDIT_DB wins; else the file lives under XDG_STATE_HOME."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "a.sqlite3"))
    assert default_audit_db() == tmp_path / "a.sqlite3"
    monkeypatch.delenv("OPERATOR_AUDIT_DB")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert default_audit_db() == Path(tmp_path / "state" / "operator-core" / "audit.sqlite3")


def test_host_and_context_together_are_refused():
    """--host and --context name two engines; giving both is invalid input."""
    with pytest.raises(InvalidInput, match="not both"):
        Settings(host="tcp://x:2375", context="other").docker_client()
    assert Settings().docker_client() is None
    assert Settings(host="tcp://127.0.0.1:1").docker_client() is not None


# --- exec's environment ---------------------------------------------------------------


def test_every_form_of_env_option_has_its_value_hidden_when_shown():
    """-e K=V, --env K=V, --env=K=V and -eK=V show K=[REDACTED]; -e K and words after -- stay."""
    words = [
        "docker", "exec", "web",
        "-e", "TOKEN=s3cretVALUE",
        "--env", "A=s3cret2",
        "--env=B=s3cret3",
        "-eC=s3cret4",
        "-e", "FROM_HERE",
        "--", "grep", "-e", "x=y",
    ]  # fmt: skip
    shown = redact_env_words(words)
    assert not [w for w in shown if "s3cret" in w]
    assert shown == [
        "docker", "exec", "web",
        "-e", "TOKEN=[REDACTED]",
        "--env", "A=[REDACTED]",
        "--env=B=[REDACTED]",
        "-eC=[REDACTED]",
        "-e", "FROM_HERE",
        "--", "grep", "-e", "x=y",
    ]  # fmt: skip


def test_env_key_alone_is_read_from_the_environment_and_env_files_are_parsed(tmp_path):
    """-e KEY reads this environment (unset: skipped, named); env files skip # and blanks.

    A KEY line alone in the file is read from the environment too; -e wins over a file.
    """
    file = tmp_path / "vars.env"
    file.write_text("# the service's secrets\n\nDB_PASS=fr0mFILE\n  SHARED=file\nFROM_ENV\n")
    environ = {"TOKEN": "s3cretVALUE", "FROM_ENV": "env-value"}
    variables, unset = collect_env(["TOKEN", "SHARED=flag", "MISSING"], [file], environ)
    assert variables == {
        "DB_PASS": "fr0mFILE",
        "SHARED": "flag",
        "FROM_ENV": "env-value",
        "TOKEN": "s3cretVALUE",
    }
    assert unset == ["MISSING"]
    assert collect_env(None, None, environ) == (None, [])
    assert collect_env(["A=with=equals"], None, {})[0] == {"A": "with=equals"}


def test_bad_env_entries_are_refused_without_showing_a_value(tmp_path):
    """A bad file line is named by number; a bad -e shows no value (it may be a secret)."""
    file = tmp_path / "vars.env"
    file.write_text("OK=1\nNOT A KEY=s3cretVALUE\n")
    with pytest.raises(typer.BadParameter, match="line 2") as bad_line:
        collect_env(None, [file], {})
    assert "s3cretVALUE" not in str(bad_line.value)
    with pytest.raises(typer.BadParameter) as bad_word:
        collect_env(["s3cret VALUE"], None, {})
    assert "s3cret" not in str(bad_word.value)
    with pytest.raises(typer.BadParameter, match="cannot read"):
        collect_env(None, [tmp_path / "absent.env"], {})


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"mode": "execute"},
        {"mode": "execute", "dry_run": True},
        {"mode": "execute", "approval": {"risks": ["low", "medium"]}},
        {
            "mode": "execute",
            "approval": {
                "risks": [],
                "tools": {"docker_execute_command": False, "docker_get_container_logs": True},
            },
        },
    ],
)
def test_policy_show_describes_what_the_guard_enforces(data):
    """`operator policy show` reads the guard's own rules: mode, dry run and approval agree.

    For every tool, 'allowed' is the guard's mode check, 'needs_approval' the guard's
    approval rule (where the tool runs at all) and 'dry_run' the runner's.
    """
    from operator_core.cli.commands.policy import policy_summary
    from operator_core.policy import Guard, policy_from_dict
    from operator_core.tools import TOOLS

    policy = policy_from_dict(data)
    guard = Guard(policy, own_container_id=None)
    shown = {row["tool"]: row for row in policy_summary(policy, "test")["tools"]}
    for spec in TOOLS:
        allowed = guard.check_mode(spec) is None
        assert shown[spec.name]["allowed"] is allowed, spec.name
        assert shown[spec.name]["needs_approval"] is (allowed and guard.needs_approval(spec))
        assert shown[spec.name]["dry_run"] is (allowed and spec.mutating and policy.dry_run)


def test_cli_option_defaults_and_bounds_are_the_executors():
    """Each docker command's --timeout/--tail default is the executor's, as its help's cap.

    The CLI repeats no number by hand: stop, restart, logs, exec and wait take their
    defaults from operator_core.limits, as the executor's methods do.
    """
    import inspect as inspection

    import typer.main

    from operator_core import limits
    from operator_core.cli import app
    from operator_core.docker import DockerActionExecutor

    docker = typer.main.get_command(app).commands["docker"]  # type: ignore[attr-defined]
    expected = {
        ("stop", "timeout"): "stop_container",
        ("restart", "timeout"): "restart_container",
        ("logs", "tail"): "get_container_logs",
        ("exec", "timeout"): "execute_command",
        ("wait", "timeout"): "wait_for_container",
    }
    for (command, option), method in expected.items():
        (param,) = [p for p in docker.commands[command].params if p.name == option]
        executor = inspection.signature(getattr(DockerActionExecutor, method))
        assert param.default == executor.parameters[option].default, (command, option)
    helps = {c: docker.commands[c].params for c in ("exec", "wait")}
    assert any(f"{limits.MAX_EXEC_TIMEOUT_S:g}" in (p.help or "") for p in helps["exec"])
    assert any(f"{limits.MAX_WAIT_S:g}" in (p.help or "") for p in helps["wait"])
