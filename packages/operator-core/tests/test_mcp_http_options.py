"""`operator mcp --transport streamable-http`'s address, token and TLS options.

A bad option is refused before the port is bound, with a typed error and a message that
says what to do; the token never shows in a message, on the command line, or in ``ps``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import httpx2
import pytest
from typer.testing import CliRunner

from http_serving import INIT, MCP_HEADERS, TOKEN, self_signed
from operator_core.audit.redact import redact_text
from operator_core.cli import app
from operator_core.cli.commands import serve as serve_cmds
from operator_core.cli.exit_codes import ExitCode
from operator_core.cli.http_options import check_tls, http_options, parse_bind
from operator_core.errors import InvalidInput
from operator_core.mcp import auth as http_auth
from operator_core.mcp.auth import TOKEN_ENV, load_token
from operator_core.mcp.http import HttpLimits, allowed_hosts

ANYWHERE = "0.0.0.0"  # noqa: S104 (the address under test, never bound here)


@pytest.fixture(autouse=True)
def no_token_around(monkeypatch, tmp_path):
    """No token from this machine's environment or a real Docker secret."""
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    monkeypatch.setattr(http_auth, "DOCKER_SECRET", tmp_path / "no-secret")


def _options(bind: str | None = None, **given):
    base = {"port": None, "token_file": None, "tls": (None, None), "allow_hosts": []}
    return http_options(bind=bind, limits=HttpLimits(), **{**base, **given})


def _token_file(tmp_path: Path, text: str = TOKEN + "\n") -> Path:
    path = tmp_path / "mcp.key"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    ("bind", "port", "expected"),
    [
        (None, None, ("127.0.0.1", 8765)),
        ("0.0.0.0", None, ("0.0.0.0", 8765)),  # noqa: S104
        ("0.0.0.0:9000", None, ("0.0.0.0", 9000)),  # noqa: S104
        ("localhost:9000", 9000, ("127.0.0.1", 9000)),
        ("::", 9001, ("::", 9001)),
        ("[::1]:9002", None, ("::1", 9002)),
        ("192.0.2.7", 1, ("192.0.2.7", 1)),
    ],
)
def test_bind_takes_an_address_and_an_optional_port(bind, port, expected):
    """ADDR, ADDR:PORT, [V6]:PORT and localhost; --port fills in a missing port."""
    assert parse_bind(bind, port) == expected


@pytest.mark.parametrize(
    ("bind", "port", "says"),
    [
        ("example.org", None, "give an IP address"),
        ("0.0.0.0:80:80", None, "give an IP address"),
        ("127.0.0.1:0", None, "from 1 to 65535"),
        ("127.0.0.1:http", None, "from 1 to 65535"),
        ("[::1]x", None, "expected [IPV6]"),
        ("127.0.0.1:9000", 9001, "name two ports"),
    ],
)
def test_a_bad_bind_is_refused_saying_why(bind, port, says):
    """A host name, a bad port or two different ports: InvalidInput naming the problem."""
    with pytest.raises(InvalidInput, match=says.replace("[", r"\[")):
        parse_bind(bind, port)


@pytest.mark.parametrize("bind", [ANYWHERE, "::", "192.0.2.7", "[fd00::2]:8765"])
def test_a_bind_off_loopback_without_a_token_is_refused_saying_how_to_give_one(bind):
    """Not loopback (0.0.0.0 and :: included) and no token anywhere: refused, with the ways."""
    with pytest.raises(InvalidInput) as raised:
        _options(bind)
    message = str(raised.value)
    assert "refusing to listen on" in message
    for way in ("--token-file", TOKEN_ENV, "Docker secret named operator_mcp_token", "openssl"):
        assert way in message
    assert redact_text(message) == message  # the person reads it whole


@pytest.mark.parametrize("bind", [None, "127.0.0.2", "::1", "localhost"])
def test_loopback_needs_no_token(bind):
    """On loopback the server may run without a token (only this machine reaches it)."""
    assert _options(bind).token is None


def test_a_token_given_on_loopback_is_required_too(monkeypatch):
    """$OPERATOR_MCP_TOKEN on loopback: the server asks for it (if given, it is required)."""
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    options = _options()
    assert options.token is not None
    assert options.token.matches(TOKEN.encode())


def test_the_token_comes_from_file_then_environment_then_docker_secret(monkeypatch, tmp_path):
    """--token-file wins over $OPERATOR_MCP_TOKEN, which wins over the Docker secret."""
    secret = tmp_path / "secret"
    secret.write_text("s" * 20 + "\n")
    monkeypatch.setattr(http_auth, "DOCKER_SECRET", secret)
    from_secret = load_token(None, {})
    from_env = load_token(None, {TOKEN_ENV: "e" * 20})
    from_file = load_token(_token_file(tmp_path), {TOKEN_ENV: "e" * 20})
    assert from_secret is not None
    assert from_secret.matches(b"s" * 20)
    assert from_env is not None
    assert from_env.matches(b"e" * 20)
    assert from_file is not None
    assert from_file.matches(TOKEN.encode())
    assert load_token(None, {}, secret=tmp_path / "absent") is None


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "is empty"),
        ("\n", "is empty"),
        ("short-xyzzy-1", "shorter than 16"),
        ("two words xyzzy in a line", "spaces, control"),
        ("xyzzy-xyzzy-xyzzy\nsecond-line-of-the-file", "spaces, control"),
        ("éxyzzy" * 4, "not ASCII"),
    ],
)
def test_an_unusable_token_is_refused_without_showing_it(tmp_path, text, says):
    """Empty, short, not one header-safe line: refused, and the message never quotes it."""
    path = tmp_path / "mcp.key"
    path.write_text(text)
    with pytest.raises(InvalidInput, match=says) as raised:
        load_token(path, {})
    assert "xyzzy" not in str(raised.value)


def test_a_token_file_others_can_read_is_used_with_a_warning(tmp_path, caplog):
    """Mode 644: the token works, and a warning says how to keep it to its owner."""
    path = _token_file(tmp_path)
    path.chmod(0o600)
    load_token(path, {})
    assert not caplog.records
    path.chmod(0o644)
    token = load_token(path, {})
    assert token is not None
    assert "readable by other users" in caplog.text
    assert f"chmod 600 {path}" in caplog.text
    assert TOKEN not in caplog.text


def test_an_unreadable_token_file_is_refused(tmp_path):
    """A token file that cannot be read: InvalidInput with the OS's reason."""
    with pytest.raises(InvalidInput, match="No such file"):
        load_token(tmp_path / "absent", {})


def test_tls_needs_both_files_that_load(tmp_path):
    """Certificate alone, key alone, or files that are no certificate: refused; a pair loads."""
    cert, key = self_signed(tmp_path)
    with pytest.raises(InvalidInput, match="both"):
        check_tls(cert, None)
    with pytest.raises(InvalidInput, match="both"):
        check_tls(None, key)
    with pytest.raises(InvalidInput, match=r"cannot serve TLS|cannot read"):
        check_tls(key, cert)
    with pytest.raises(InvalidInput, match="cannot read"):
        check_tls(tmp_path / "absent.pem", key)
    assert check_tls(cert, key) == (cert, key)
    assert check_tls(None, None) is None


@pytest.mark.parametrize("name", ["http://ops.example.org", "ops.example.org:8765", "a b", "*"])
def test_allow_host_takes_only_host_names(name):
    """--allow-host takes what a URL's host is, nothing else (no scheme, port or wildcard)."""
    with pytest.raises(InvalidInput, match="--allow-host"):
        _options(allow_hosts=[name])


def test_the_allowed_hosts_follow_the_bind_address():
    """Loopback names always; a specific address adds itself; 0.0.0.0 adds this machine's."""
    assert allowed_hosts("127.0.0.1") == ["127.0.0.1", "localhost", "[::1]"]
    assert allowed_hosts("192.0.2.7", ["ops.example.org"])[-2:] == ["192.0.2.7", "ops.example.org"]
    anywhere = allowed_hosts(ANYWHERE)
    assert socket.gethostname() in anywhere
    assert "192.0.2.7" not in anywhere


@pytest.fixture
def cli(tmp_path, monkeypatch):
    """Run ``operator ARGS`` in-process with a private audit file and no user policy."""
    monkeypatch.setenv("OPERATOR_AUDIT_DB", str(tmp_path / "audit.sqlite3"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    runner = CliRunner()
    wide = {"COLUMNS": "400"}  # one line per sentence in the error panel
    return lambda *args: runner.invoke(app, list(args), prog_name="operator", env=wide)


def _never_bound(port: int, host: str) -> None:
    raise AssertionError(f"the port was bound: {host}:{port}")


def test_the_cli_refuses_a_public_bind_without_a_token(cli, monkeypatch):
    """`mcp --bind 0.0.0.0` without a token: exit 2, the ways to give one, nothing bound."""
    monkeypatch.setattr(serve_cmds, "bind_port", _never_bound)
    result = cli("mcp", "--transport", "streamable-http", "--bind", ANYWHERE)
    text = " ".join(result.stderr.split())
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "refusing to listen on 0.0.0.0 without a bearer token" in text
    assert "--token-file" in text
    assert "listening" not in text
    assert "Traceback" not in result.output + result.stderr


def test_the_cli_refuses_http_options_for_stdio(cli, tmp_path):
    """--bind or --token-file with stdio would do nothing: exit 2, saying so."""
    result = cli("mcp", "--bind", ANYWHERE, "--token-file", str(_token_file(tmp_path)))
    assert result.exit_code == ExitCode.INVALID_INPUT
    text = " ".join(result.stderr.split())
    assert "only apply to --transport streamable-http: --bind, --token-file" in text


def test_the_cli_refuses_a_short_token_without_echoing_it(cli, tmp_path, monkeypatch):
    """A token file with a guessable token: exit 2; the token is not in the output."""
    monkeypatch.setattr(serve_cmds, "bind_port", _never_bound)
    path = _token_file(tmp_path, "hunter2-secret\n")
    result = cli("mcp", "--transport", "streamable-http", "--token-file", str(path))
    assert result.exit_code == ExitCode.INVALID_INPUT
    assert "hunter2" not in result.output + result.stderr


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_served_process_asks_for_the_token_and_keeps_it_off_its_command_line(tmp_path):
    """`operator mcp` with $OPERATOR_MCP_TOKEN: 401 without it, 200 with it, not in argv."""
    port = _free_port()
    env = {**os.environ, TOKEN_ENV: TOKEN, "OPERATOR_AUDIT_DB": str(tmp_path / "a.sqlite3")}
    command = [sys.executable, "-m", "operator_core.cli", "mcp", "--transport"]
    command += ["streamable-http", "--bind", f"127.0.0.1:{port}"]
    server = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        assert server.stderr is not None
        said = [server.stderr.readline() for _ in range(2)]  # startup, then "listening on"
        assert "bearer token required" in said[1], said
        assert TOKEN not in "".join(said)
        url = f"http://127.0.0.1:{port}/mcp"
        with httpx2.Client() as http:
            refused = http.post(url, json=INIT, headers=MCP_HEADERS)
            answered = http.post(
                url, json=INIT, headers={**MCP_HEADERS, "authorization": f"Bearer {TOKEN}"}
            )
        argv = Path(f"/proc/{server.pid}/cmdline").read_bytes()
    finally:
        server.terminate()
        server.wait()
    assert refused.status_code == 401
    assert answered.status_code == 200
    assert TOKEN.encode() not in argv
