"""``operator health``: the container health check, one fit for each mode the image runs.

* ``operator health``: the engine answers (``docker version`` on the engine chosen by
  ``--host``/``--context``, else the docker CLI's default: in the image, the mounted
  socket) within ``--timeout``. Every mode needs its engine: this is the image's default
  check, and the watcher's (``watch`` is the container's main process: when it ends, the
  container ends, and its restart policy starts it again).
* ``operator health --mcp URL``: the MCP server at ``URL`` answers an MCP ``initialize``
  with its ``serverInfo``; the session it opened is closed again (``DELETE``), so checks
  do not pile sessions up. A bearer token is sent when one is configured, from the same
  places the server reads it: ``--token-file``, ``$OPERATOR_MCP_TOKEN``, the Docker secret
  ``/run/secrets/operator_mcp_token``. The token is never printed.

Exit 0 healthy, 1 unhealthy (Docker's ``HEALTHCHECK`` contract), with one line saying why;
2 for a bad option (a URL that is not http(s), a token file that cannot be read).
Nothing the engine or the server sent is printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

import typer

from operator_core import __version__
from operator_core.cli.app import ERR, OUT, fail, settings_of
from operator_core.errors import InvalidInput, OperatorError
from operator_core.words import JSONValue, json_object

__all__ = [
    "DOCKER_SECRET_TOKEN",
    "TOKEN_ENV",
    "check_engine",
    "check_mcp",
    "health",
    "mcp_token",
]

#: Where the MCP server's bearer token is read from, after ``--token-file``.
TOKEN_ENV = "OPERATOR_MCP_TOKEN"  # noqa: S105 - the name of a variable, not a token
DOCKER_SECRET_TOKEN = Path("/run/secrets/operator_mcp_token")
#: The most of a server's answer that is read.
_MAX_ANSWER = 1 << 16


def mcp_token(token_file: Path | None) -> str | None:
    """Return the bearer token: the file given, else the environment, else the secret."""
    if token_file is not None:
        return _token_in(token_file)
    named = os.environ.get(TOKEN_ENV, "").strip()
    if named:
        return named
    return _token_in(DOCKER_SECRET_TOKEN) if DOCKER_SECRET_TOKEN.is_file() else None


def _token_in(path: Path) -> str:
    """Return the token in ``path`` (InvalidInput when it cannot be read or is empty)."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise InvalidInput(f"cannot read the token file {path}: {exc.strerror}") from None
    if not token:
        raise InvalidInput(f"the token file {path} is empty")
    return token


def check_engine(command: list[str], timeout: float) -> str | None:
    """Return why the engine is unhealthy, or None when it answers ``docker version``."""
    try:
        done = subprocess.run(
            [*command, "version", "--format", "{{.Server.APIVersion}}"],
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return f"the engine did not answer within {timeout:g}s"
    except OSError as exc:
        return f"the docker CLI cannot run: {exc.strerror}"
    if done.returncode != 0 or not done.stdout.strip():
        return "the engine does not answer (is the Docker socket mounted?)"
    return None


def _initialize() -> bytes:
    """Return the body of an MCP ``initialize`` request from this check."""
    return json.dumps(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-06-18",
                "capabilities": {},
                "clientInfo": {"name": "operator-health", "version": __version__},
            },
        }
    ).encode()


def _messages(body: str) -> list[JSONValue]:
    """Return the JSON-RPC messages of an answer: plain JSON, or the SSE ``data:`` lines."""
    texts = [body] if body.lstrip().startswith("{") else []
    texts += [line[5:] for line in body.splitlines() if line.startswith("data:")]
    found = []
    for text in texts:
        try:
            found.append(json.loads(text))
        except ValueError:
            continue
    return found


def _answered(body: str) -> bool:
    """Say whether ``body`` holds an initialize result that names the server."""
    return any(
        isinstance(m, dict) and "serverInfo" in json_object(m.get("result"))
        for m in _messages(body)
    )


def _close_session(url: str, headers: dict[str, str], session: str, timeout: float) -> None:
    """End the session the check opened (a server that keeps it anyway closes it idle)."""
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked in check_mcp
        url, method="DELETE", headers={**headers, "Mcp-Session-Id": session}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout):  # noqa: S310
            pass
    except (urllib.error.URLError, OSError):
        return


def check_mcp(url: str, token: str | None, timeout: float) -> str | None:
    """Return why the MCP server at ``url`` is unhealthy, or None when it answers."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise InvalidInput(f"--mcp wants an http:// or https:// URL, not {url!r}")
    headers = {"Accept": "application/json, text/event-stream"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url,
        data=_initialize(),
        method="POST",
        headers={**headers, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            body = answer.read(_MAX_ANSWER).decode("utf-8", errors="replace")
            session = answer.headers.get("Mcp-Session-Id")
    except urllib.error.HTTPError as exc:
        if exc.code == 401:
            return "the MCP server wants a bearer token (401): give it as the server has it"
        return f"the MCP server answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        return f"the MCP server does not answer: {type(reason).__name__}"
    if session:
        _close_session(url, headers, session, timeout)
    return None if _answered(body) else "the MCP server's answer to initialize has no serverInfo"


def health(
    ctx: typer.Context,
    mcp: Annotated[
        str | None,
        typer.Option(
            "--mcp",
            help="Check the MCP server at this URL (http://127.0.0.1:8765/mcp) instead of "
            "the engine.",
            show_default=False,
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help=f"The server's bearer token (else ${TOKEN_ENV}, else {DOCKER_SECRET_TOKEN}).",
            dir_okay=False,
            show_default=False,
        ),
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.1, max=300, help="Seconds the engine or server is given.")
    ] = 10.0,
) -> None:
    """Exit 0 when healthy (the engine answers; with --mcp, the MCP server answers), else 1.

    The image's HEALTHCHECK; the MCP server's container sets `health --mcp URL`.
    """
    try:
        if mcp is None:
            problem = check_engine(settings_of(ctx).docker_command(), timeout)
        else:
            problem = check_mcp(mcp, mcp_token(token_file), timeout)
    except OperatorError as exc:
        fail(exc, as_json=False)  # a bad option or token file: exit 2, as for any command
    if problem is not None:
        ERR.print(f"unhealthy: {problem}", markup=False, highlight=False)
        raise typer.Exit(1)
    OUT.print("healthy: " + ("the MCP server answers" if mcp else "the engine answers"))
