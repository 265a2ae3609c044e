"""What a person at the command line reads: help at 80 columns, hints, exit codes."""

from __future__ import annotations

import os
import socket
import stat

import pytest
from typer.testing import CliRunner

from operator_core.cli import app
from operator_core.cli.advice import DOCKER_CLI_MISSING, for_person, nearest_names
from operator_core.cli.commands import docker as commands
from operator_core.cli.commands.serve import LOOPBACK
from operator_core.cli.completion import complete_container, matching
from operator_core.cli.exit_codes import ExitCode
from operator_core.cli.preflight import check_engine_options
from operator_core.errors import EngineUnreachable, InvalidInput, OperationTimeout
from operator_core.runner.envelope import error_envelope

WIDTHS = (80, 100, 120)
HELP_PAGES = (
    (),
    ("docker",),
    ("docker", "ps"),
    ("docker", "logs"),
    ("docker", "exec"),
    ("docker", "stop"),
    ("audit", "list"),
    ("mcp",),
)


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``operator ARGS`` in-process with a private audit file and no user policy."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for name in ("OPERATOR_POLICY", "OPERATOR_MODE"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def run(*args: str, columns: int = 80):
        return runner.invoke(app, list(args), prog_name="operator", env={"COLUMNS": str(columns)})

    return run


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("page", HELP_PAGES, ids=lambda p: " ".join(p) or "operator")
def test_help_fits_the_terminal_and_keeps_descriptions_wide(cli, width, page):
    """Every help line fits; descriptions start early enough to have room, nothing is cut."""
    result = cli(*page, "--help", columns=width)
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert max(len(line) for line in lines) <= width
    assert "…" not in result.output
    for line in lines:
        # An option row: the description starts within the first 35 columns at most.
        if line.startswith("  -") and "  " in line.strip():
            first, _, rest = line.strip().partition("  ")
            if len(first) < 30:
                assert line.index(rest.strip()) <= 35, line


@pytest.mark.parametrize("width", WIDTHS)
def test_logs_help_keeps_the_stream_choices_on_one_line(cli, width):
    """`logs --help` shows <both|stdout|stderr> whole, with its default."""
    output = cli("docker", "logs", "--help", columns=width).output
    assert "<both|stdout|stderr>" in output
    assert "[default: both]" in output


def test_exec_takes_everything_after_the_container_as_the_command(cli, monkeypatch):
    """`exec web ls -l` runs ls -l (as docker does); with `--` options may precede it."""
    calls = []

    def capture(ctx, tool, arguments, **kwargs):
        calls.append(arguments["command"])
        raise SystemExit(0)

    monkeypatch.setattr(commands, "run_tool_command", capture)
    assert cli("docker", "exec", "web", "ls", "-l", "/srv").exit_code == 0
    assert cli("docker", "exec", "web", "--", "ls", "-l").exit_code == 0
    assert cli("docker", "exec", "-u", "root", "web", "id", "-u").exit_code == 0
    assert cli("docker", "exec", "web", "-w", "/", "--", "env", "-u", "X").exit_code == 0
    assert calls == [["ls", "-l", "/srv"], ["ls", "-l"], ["id", "-u"], ["env", "-u", "X"]]


def test_a_missing_container_gets_the_nearest_names_not_agent_advice():
    """container_not_found reads 'no container named X' and 'Did you mean Y?'."""
    error = {
        "type": "container_not_found",
        "message": "No such container: nc-wbe. Call docker_list_containers with all=true to "
        "find the right name or id.",
    }
    shown, hint = for_person(
        "docker_stop_container", {"container_id": "nc-wbe"}, error, names=["nc-web", "db", "x"]
    )
    assert shown["message"] == "no container named nc-wbe"
    assert hint == "Did you mean nc-web?"
    _, no_match = for_person("t", {"container_id": "zzz"}, error, names=["nc-web"])
    assert no_match == "`operator docker ps -a` lists every container."
    assert nearest_names("web", ["nc-web", "web-1", "db"]) == ["web-1", "nc-web"]


def test_a_declined_approval_says_only_that_nothing_ran():
    """A person who answered n reads 'not run: you declined', with no retry advice."""
    error = {
        "type": "denied",
        "rule": "approval.rejected",
        "message": "the approver declined docker_stop_container; it was not run. Do not retry "
        "it without new information.",
    }
    shown, hint = for_person("docker_stop_container", {"container_id": "web"}, error)
    assert (shown["message"], hint) == ("not run: you declined", None)


def test_a_timeout_says_which_command_shows_how_it_ended():
    """A timeout names `operator docker inspect web`, not docker_inspect_container."""
    envelope = error_envelope(OperationTimeout("stop web passed its 20s deadline"))
    shown, hint = for_person("docker_stop_container", {"container_id": "web"}, envelope["error"])
    assert "docker_inspect_container" not in shown["message"]
    assert hint is not None
    assert hint.endswith("operator docker inspect web")


def test_a_missing_docker_cli_says_so_and_how_to_get_it(monkeypatch, tmp_path):
    """No docker on PATH: EngineUnreachable, shown to a person as a missing CLI."""
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(EngineUnreachable) as raised:
        check_engine_options(None)
    shown, hint = for_person("", {}, error_envelope(raised.value)["error"])
    assert shown["message"] == "the docker CLI is missing"
    assert hint == DOCKER_CLI_MISSING


def _fake_docker(tmp_path, contexts):
    """Put a `docker` on PATH whose `context ls` lists ``contexts``."""
    script = tmp_path / "docker"
    script.write_text("#!/bin/sh\nprintf '" + "\\n".join(contexts) + "\\n'\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(tmp_path)


def test_an_unknown_context_is_a_usage_error_listing_the_known_ones(cli, tmp_path, monkeypatch):
    """`--context nosuch` exits 2 naming the contexts there are; a known one passes."""
    monkeypatch.setenv("PATH", _fake_docker(tmp_path, ["default", "prod"]))
    with pytest.raises(InvalidInput, match="known contexts: default, prod"):
        check_engine_options("nosuch")
    check_engine_options("prod")
    result = cli("--context", "nosuch", "docker", "ps")
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "no Docker context named 'nosuch'" in " ".join(result.stderr.split())


def test_a_busy_port_is_said_first_and_exits_failed_not_denied(cli):
    """`mcp --transport streamable-http` on a taken port: 'in use', exit 1, nothing served."""
    holder = socket.socket()
    holder.bind((LOOPBACK, 0))
    holder.listen()
    port = holder.getsockname()[1]
    try:
        result = cli("mcp", "--transport", "streamable-http", "--port", str(port))
    finally:
        holder.close()
    assert result.exit_code == ExitCode.FAILED
    text = " ".join(result.stderr.split())
    assert f"port {port} on {LOOPBACK} is in use" in text
    assert "listening" not in text


def test_the_cli_listens_where_the_mcp_server_says():
    """The CLI's own loopback constant is the MCP server's default host."""
    from operator_core.mcp.server import DEFAULT_HTTP_HOST

    assert LOOPBACK == DEFAULT_HTTP_HOST


def test_container_names_complete_from_the_engine(monkeypatch):
    """Completion offers the engine's names that start with what was typed."""
    assert matching("we", ["web-2", "db", "web-1"]) == ["web-1", "web-2"]

    async def names(settings):
        return ["web-1", "db"]

    monkeypatch.setattr("operator_core.cli.completion.container_names", names)

    class Ctx:
        def __init__(self):
            self.params = {"host": None, "context": None}

        def find_root(self):
            return self

    assert complete_container(Ctx(), "w") == ["web-1"]  # type: ignore[arg-type]


def test_completion_is_offered(cli):
    """--install-completion is an option of operator (typer's)."""
    assert "--install-completion" in cli("--help").output
    assert os.environ.get("_OPERATOR_COMPLETE") is None
