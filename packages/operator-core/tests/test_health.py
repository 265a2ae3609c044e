"""``operator health``: the image's health check, against a stand-in MCP server on loopback.

The real server is checked by the image's engine tests (tests/integration/test_image_engine.py);
here a small HTTP server answers as told, so that each way of being unhealthy is seen.
"""

from __future__ import annotations

import json
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from typer.testing import CliRunner

from operator_core.cli import app
from operator_core.cli.commands.health import check_engine

SERVER_INFO = {"jsonrpc": "2.0", "id": 1, "result": {"serverInfo": {"name": "operator-core"}}}


@dataclass
class StandIn:
    """What the stand-in answers to a POST, and every request it was sent."""

    status: int = 200
    body: str = "event: message\ndata: " + json.dumps(SERVER_INFO) + "\n\n"
    session: str | None = "s-1"
    requests: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""


@pytest.fixture
def server() -> Iterator[StandIn]:
    """An HTTP server on 127.0.0.1 (an ephemeral port) answering /mcp as ``StandIn`` says."""
    state = StandIn()

    class Handler(BaseHTTPRequestHandler):
        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            state.requests.append(
                {"method": self.command, "headers": dict(self.headers), "body": body}
            )

        def do_POST(self) -> None:
            self._record()
            self.send_response(state.status)
            self.send_header("Content-Type", "text/event-stream")
            if state.session:
                self.send_header("Mcp-Session-Id", state.session)
            self.end_headers()
            self.wfile.write(state.body.encode())

        def do_DELETE(self) -> None:
            self._record()
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            return

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{httpd.server_address[1]}/mcp"
    try:
        yield state
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def cli(monkeypatch, tmp_path):
    """Run ``operator health ARGS`` in-process with no token in the environment."""
    monkeypatch.delenv("OPERATOR_MCP_TOKEN", raising=False)
    target = "operator_core.cli.commands.health.DOCKER_SECRET_TOKEN"
    monkeypatch.setattr(target, tmp_path / "no-secret")

    def run(*args: str):
        return CliRunner().invoke(app, ["health", *args], prog_name="operator")

    return run


def test_a_server_that_answers_initialize_is_healthy_and_its_session_is_closed(server, cli):
    """Exit 0 when initialize names the server; the session it opened gets a DELETE."""
    result = cli("--mcp", server.url)
    assert result.exit_code == 0, result.output
    assert [r["method"] for r in server.requests] == ["POST", "DELETE"]
    assert json.loads(server.requests[0]["body"])["method"] == "initialize"
    assert server.requests[1]["headers"]["Mcp-Session-Id"] == "s-1"


def test_a_plain_json_answer_counts_too(server, cli):
    """A server that answers JSON rather than an event stream is healthy as well."""
    server.body = json.dumps(SERVER_INFO)
    assert cli("--mcp", server.url).exit_code == 0


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (200, json.dumps({"jsonrpc": "2.0", "id": 1, "error": {"code": -1, "message": "no"}})),
        (200, "data: not json\n\n"),
        (500, "oops"),
    ],
)
def test_an_answer_without_server_info_is_unhealthy(server, cli, status, body):
    """An error, a body that is not JSON-RPC, or an HTTP error: exit 1, saying why."""
    server.status, server.body = status, body
    result = cli("--mcp", server.url)
    assert result.exit_code == 1
    assert "unhealthy" in result.output


def test_the_token_is_sent_from_the_environment_and_never_printed(server, cli, monkeypatch):
    """$OPERATOR_MCP_TOKEN goes in the Authorization header, on the POST and the DELETE."""
    monkeypatch.setenv("OPERATOR_MCP_TOKEN", "s3cret-token-value")
    result = cli("--mcp", server.url)
    assert result.exit_code == 0
    for request in server.requests:
        assert request["headers"]["Authorization"] == "Bearer s3cret-token-value"
    assert "s3cret" not in result.output


def test_a_token_file_wins_over_the_environment(server, cli, monkeypatch, tmp_path):
    """--token-file is read first (its surrounding whitespace dropped)."""
    monkeypatch.setenv("OPERATOR_MCP_TOKEN", "from-env")
    path = tmp_path / "token"
    path.write_text("from-file\n")
    assert cli("--mcp", server.url, "--token-file", str(path)).exit_code == 0
    assert server.requests[0]["headers"]["Authorization"] == "Bearer from-file"


def test_the_docker_secret_is_read_when_nothing_else_gives_a_token(
    server, cli, monkeypatch, tmp_path
):
    """/run/secrets/operator_mcp_token (here a stand-in path) is the last source."""
    secret = tmp_path / "secret"
    secret.write_text("from-secret")
    monkeypatch.setattr("operator_core.cli.commands.health.DOCKER_SECRET_TOKEN", secret)
    assert cli("--mcp", server.url).exit_code == 0
    assert server.requests[0]["headers"]["Authorization"] == "Bearer from-secret"


def test_a_401_is_unhealthy_and_says_a_token_is_wanted(server, cli, monkeypatch):
    """A wrong token: exit 1, the message says the server wants one, the token is not shown."""
    monkeypatch.setenv("OPERATOR_MCP_TOKEN", "wrong-token-value")
    server.status, server.session = 401, None
    result = cli("--mcp", server.url)
    assert result.exit_code == 1
    assert "token" in result.output
    assert "wrong-token-value" not in result.output


def test_no_server_is_unhealthy(cli):
    """Nothing listening at the URL (a port just freed): exit 1."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = cli("--mcp", f"http://127.0.0.1:{port}/mcp", "--timeout", "5")
    assert result.exit_code == 1
    assert "does not answer" in result.output


@pytest.mark.parametrize("url", ["ftp://127.0.0.1/mcp", "file:///etc/passwd", "127.0.0.1:8765"])
def test_a_url_that_is_not_http_is_invalid_input_and_nothing_is_sent(server, cli, url):
    """Exit 2 (invalid input) naming the option; the stand-in receives no request."""
    result = cli("--mcp", url)
    assert result.exit_code == 2
    assert "--mcp" in result.output
    assert server.requests == []


def test_an_empty_token_file_is_invalid_input(server, cli, tmp_path):
    """An empty token file is refused (exit 2) before any request."""
    path = tmp_path / "token"
    path.write_text("\n")
    result = cli("--mcp", server.url, "--token-file", str(path))
    assert result.exit_code == 2
    assert server.requests == []


def test_the_engine_check_passes_when_the_cli_prints_a_version():
    """`docker version` printing the server's API version: healthy (None)."""
    assert check_engine([sys.executable, "-c", "print('1.41')"], timeout=30) is None


def test_the_engine_check_fails_when_the_cli_fails_or_prints_nothing():
    """A failing or silent `docker version`: a reason that names the socket."""
    for code in ("raise SystemExit(1)", "pass"):
        problem = check_engine([sys.executable, "-c", code], timeout=30)
        assert problem is not None
        assert "socket" in problem


def test_the_engine_check_gives_up_after_its_timeout():
    """An engine that never answers: unhealthy once the timeout has passed."""
    problem = check_engine([sys.executable, "-c", "import time; time.sleep(60)"], timeout=0.2)
    assert problem == "the engine did not answer within 0.2s"
