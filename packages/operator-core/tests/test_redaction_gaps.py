"""Pins issue 9 item 8: the redaction gaps an attack found, closed everywhere text goes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from mcp import Client

import operator_core.cli.runtime as runtime
from operator_core.audit import REDACTED, MemoryAuditSink, redact_arguments, redact_command
from operator_core.audit.redact import redact_text
from operator_core.cli.settings import Settings
from operator_core.errors import PolicyError
from operator_core.mcp.server import build_server, elicit_approval
from operator_core.policy import ApprovalRequest, Policy, policy_from_dict
from operator_core.runner import ToolRunner
from operator_core.runner.envelope import error_envelope
from tool_fakes import FakeExecutor
from wall_clock import LINEAR_BOUND_S

SECRET = "hunter2XYZ"  # noqa: S105 (the secret the tests hide)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("docker login -p hunter2XYZ reg.io", f"docker login -p {REDACTED} reg.io"),
        ("docker login -u bob -p hunter2XYZ", f"docker login -u bob -p {REDACTED}"),
        ("CREATE USER bob PASSWORD 'hunter2XYZ'", f"CREATE USER bob PASSWORD {REDACTED}"),
        ("ALTER ROLE x ENCRYPTED PASSWORD 'h h'", f"ALTER ROLE x ENCRYPTED PASSWORD {REDACTED}"),
        ("CREATE USER x IDENTIFIED BY 'hunter2XYZ';", f"CREATE USER x IDENTIFIED BY {REDACTED};"),
        ("ALTER USER x IDENTIFIED BY hunter2XYZ;", f"ALTER USER x IDENTIFIED BY {REDACTED};"),
        (
            "CREATE USER x IDENTIFIED WITH caching_sha2_password BY 'hunter2XYZ'",
            f"CREATE USER x IDENTIFIED WITH caching_sha2_password BY {REDACTED}",
        ),
        (
            "aws configure set aws_secret_access_key hunter2XYZ",
            f"aws configure set aws_secret_access_key {REDACTED}",
        ),
        ("export VAULT=hvs.CAESIJabcdefghijklmnopqrstuv", f"export VAULT={REDACTED}"),
        ("vault login hvs.CAESIJabcdefghijklmnopqrstuv", f"vault login {REDACTED}"),
        ("htpasswd -b /etc/pw alice hunter2XYZ", f"htpasswd -b /etc/pw alice {REDACTED}"),
        ("htpasswd -nbB alice hunter2XYZ", f"htpasswd -nbB alice {REDACTED}"),
        ("htpasswd -B -C 12 -bc f alice hunter2XYZ", f"htpasswd -B -C 12 -bc f alice {REDACTED}"),
        ('sh -c "htpasswd -b f alice hunter2XYZ"', f'sh -c "htpasswd -b f alice {REDACTED}"'),
        ('user:"alice:hunter2XYZ"', f'user:"alice:{REDACTED}"'),
        ('{"user": "alice:hunter2XYZ"}', f'{{"user": "alice:{REDACTED}"}}'),
    ],
)
def test_each_secret_form_the_attack_found_is_redacted(text, expected):
    """Every form the attack stored raw is now hidden, the words around it kept."""
    assert redact_text(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "docker run -p 8080:80 web",  # -p publishes a port outside ``login``
        "aws configure set region eu-west-1",  # not a secret key
        "password reset failed for alice",  # no quoted value
        "htpasswd -D /etc/pw alice",  # not batch mode: no password on the line
        "chown user:group /data",
    ],
)
def test_the_new_rules_leave_ordinary_text_alone(text):
    """The new rules only hide what is a password there."""
    assert redact_text(text) == text


def test_command_lists_hide_the_new_forms_word_by_word():
    """Exec's command list: login -p, configure set <secret key>, htpasswd's batch password."""
    assert redact_command(["docker", "login", "-u", "b", "-p", SECRET]) == [
        "docker",
        "login",
        "-u",
        "b",
        "-p",
        REDACTED,
    ]
    assert redact_command(["aws", "configure", "set", "aws_secret_access_key", SECRET])[-1] == (
        REDACTED
    )
    assert redact_command(["htpasswd", "-bc", "f", "alice", SECRET]) == [
        "htpasswd",
        "-bc",
        "f",
        "alice",
        REDACTED,
    ]
    assert redact_arguments({"user": f"alice:{SECRET}"}) == {"user": f"alice:{REDACTED}"}


@pytest.mark.parametrize(
    "text",
    [
        "user=" * 20000,
        "user:" * 20000,
        '"user":"' * 12000,
        "password '" * 10000,
        "identified by " * 7000,
        "identified with " * 6000,
        "htpasswd -b " * 8000,
        "configure set " * 7000,
        "login -p " * 11000,
        "hvs." * 25000,
    ],
)
def test_the_new_rules_stay_linear_on_100_kb(text):
    """100 kB aimed at each new rule is redacted in linear time (no regex blow-up)."""
    began = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - began < LINEAR_BOUND_S


async def test_reason_and_invalid_argument_echoes_are_redacted():
    """The reason is stored redacted; details.problems[].got echoes a redacted value."""
    run = ToolRunner(FakeExecutor("web"), policy=Policy(), own_container_id=None)
    out = await run.execute_tool(
        "docker_get_container_logs",
        {"container_id": "web", "stream": f"--password={SECRET}"},
        reason=f"db login failed: IDENTIFIED BY '{SECRET}'",
    )
    assert out["ok"] is False
    assert SECRET not in str(out)
    (problem,) = out["error"]["details"]["problems"]
    assert problem["got"] == f"--password={REDACTED}"
    (record,) = run.audit.query()
    assert SECRET not in record.model_dump_json()
    assert record.reason == f"db login failed: IDENTIFIED BY {REDACTED}"


def _approval_request() -> ApprovalRequest:
    """Return a request as a hand-built approver might get it: raw arguments and reason."""
    return ApprovalRequest(
        "docker_execute_command",
        "high",
        {"container_id": "web", "command": ["docker", "login", "-p", SECRET]},
        {"name": "web", "status": "running"},
        "agent",
        f"token={SECRET}",
    )


class _Stdin:
    """A stand-in stdin with a descriptor number (the prompt itself is replaced)."""

    def fileno(self) -> int:
        return 0


async def test_the_terminal_prompt_shows_redacted_values(monkeypatch):
    """The CLI's question names the tool, container and arguments, with secrets hidden."""
    asked: list[str] = []

    async def answer(question: str, console: Any, fd: int) -> bool:
        asked.append(question)
        return True

    monkeypatch.setattr(runtime, "_interactive", lambda console: True)
    monkeypatch.setattr(runtime, "ask_yes_no", answer)
    monkeypatch.setattr(runtime.sys, "stdin", _Stdin())
    approver = runtime.make_approver(Settings(), None, [None])  # type: ignore[arg-type]
    assert await approver(_approval_request()) is True
    (question,) = asked
    assert "docker_execute_command" in question
    assert "'web'" in question
    assert REDACTED in question
    assert SECRET not in question


async def test_the_mcp_elicitation_shows_redacted_values():
    """The elicitation message carries the redacted arguments and reason, never the secret."""
    import mcp_types as types

    messages: list[str] = []

    async def accept(context: Any, params: Any) -> types.ElicitResult:
        messages.append(params.message)
        return types.ElicitResult(action="accept", content={"approve": True})

    run = ToolRunner(
        FakeExecutor("web"),
        policy=Policy(mode="execute", approval={"risks": ["high"]}),
        audit=MemoryAuditSink(),
        approver=elicit_approval,
        own_container_id=None,
    )
    client_info = types.Implementation(name="t", version="1")
    async with Client(
        build_server(run), mode="legacy", client_info=client_info, elicitation_callback=accept
    ) as client:
        result = await client.call_tool(
            "docker_execute_command",
            {"container_id": "web", "command": ["sh", "-c", f"docker login -p {SECRET}"]},
        )
    assert result.is_error is False
    (message,) = messages
    assert "docker_execute_command" in message
    assert REDACTED in message
    assert SECRET not in message
    assert SECRET not in _approval_request().describe()


def test_policy_errors_redact_values_not_our_help_text():
    """A bad label keeps "write 'key' or 'key=value'" readable; a secret in it is hidden."""
    with pytest.raises(PolicyError) as caught:
        policy_from_dict({"protected": {"labels": ["=x"]}}, "policy.toml")
    message = error_envelope(caught.value)["error"]["message"]
    assert "write 'key' or 'key=value'" in message
    with pytest.raises(PolicyError) as secret:
        policy_from_dict({"protected": {"labels": [f" token={SECRET}"]}}, "policy.toml")
    message = error_envelope(secret.value)["error"]["message"]
    assert SECRET not in message
    assert "write 'key' or 'key=value'" in message
