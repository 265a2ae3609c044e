"""Redaction rules pinned at their edges: what a stored command or argument keeps, exactly.

Each case is a whole stored value, so a rule that hides too little (a secret in clear) or
too much (a command no one can read back) fails here.
"""

from __future__ import annotations

import pytest

from operator_core.audit.redact import (
    MAX_SCANNED,
    MAX_STORED,
    REDACTED,
    redact_arguments,
    redact_command,
    redact_text,
    redact_value,
)


@pytest.mark.parametrize(
    ("command", "stored"),
    [
        # After -u, the part after the first colon is the password; elsewhere a colon is text.
        (
            ["curl", "-u", "alice:pw:more", "http://db:80"],
            ["curl", "-u", f"alice:{REDACTED}", "http://db:80"],
        ),
        (["echo", "host:8080", "-u"], ["echo", "host:8080", "-u"]),
        # A secret flag hides the next word only; the words after it are read on.
        (
            ["app", "--password", "hunter2", "--name", "web", "--token", "t0k"],
            ["app", "--password", REDACTED, "--name", "web", "--token", REDACTED],
        ),
        # A word that is not a string ends what came before it, and is kept as it is.
        (["app", 5, "--verbose", "kept"], ["app", 5, "--verbose", "kept"]),
        (["app", "--password", "x", 5, "kept"], ["app", "--password", REDACTED, 5, "kept"]),
        (["app", "-u", 5, "a:b"], ["app", "-u", 5, "a:b"]),
        (["app", {"k": "v"}, "-p", "kept"], ["app", {"k": "v"}, "-p", "kept"]),
        # A number where a password goes is hidden like a word.
        (["app", "--password", 12345, "kept"], ["app", "--password", REDACTED, "kept"]),
        (["mysql", "-p", 12345, "-h", "db"], ["mysql", "-p", REDACTED, "-h", "db"]),
        (["mysql", 3, "-p", 2.5], ["mysql", 3, "-p", REDACTED]),
        (["mysql", None, "-p", "kept"], ["mysql", None, "-p", "kept"]),
        (["app", "--password", True], ["app", "--password", True]),
    ],
)
def test_a_command_is_stored_with_only_its_secrets_hidden(command, stored):
    """Each word of a command is kept, except the secrets its flags and programs announce."""
    assert redact_command(command) == stored


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("sh -c 'redis-cli -a hunter2'", f"sh -c 'redis-cli -a {REDACTED}'"),
        ('sh -c "mysql -p hunter2 -h db"', f'sh -c "mysql -p {REDACTED} -h db"'),
        # A quoted script with no password in it does not stop the scan of what follows.
        (
            "sh -c 'echo hi there' ; mysql -p hunter2",
            f"sh -c 'echo hi there' ; mysql -p {REDACTED}",
        ),
        ("/usr/local/bin/mysql -p hunter2", f"/usr/local/bin/mysql -p {REDACTED}"),
    ],
)
def test_a_password_inside_a_quoted_script_is_hidden_in_place(text, stored):
    """A program's password is hidden inside a quoted script too, the script kept intact."""
    assert redact_text(text) == stored


def test_stored_text_is_cut_at_max_stored_and_refused_past_max_scanned():
    """Up to MAX_STORED characters are kept whole, more are cut and marked.

    Past MAX_SCANNED nothing of the text is kept, only its length.
    """
    assert redact_value("x" * MAX_STORED) == "x" * MAX_STORED
    assert redact_value("x" * (MAX_STORED + 1)) == "x" * MAX_STORED + "...[cut]"
    assert redact_value("x" * MAX_SCANNED) == "x" * MAX_STORED + "...[cut]"
    assert redact_value("x" * (MAX_SCANNED + 1)) == (
        f"[REDACTED: {MAX_SCANNED + 1} characters, too long to store]"
    )


def test_arguments_that_are_not_an_object_are_redacted_as_values():
    """Arguments sent as a list or a string (invalid calls) are redacted like any value."""
    assert redact_arguments(["mysql", "-p", "pw"]) == ["mysql", "-p", REDACTED]
    assert redact_arguments("password=pw") == f"password={REDACTED}"
    assert redact_arguments(None) is None


def test_env_keeps_its_names_cut_to_200_characters_and_hides_every_value():
    """``env`` keeps which variables were set (names cut at 200), never their values."""
    long = "K" * 300
    stored = redact_arguments({"env": {long: "v", "DEBUG": "1"}, "user": "app:grp"})
    assert stored == {"env": {"K" * 200: REDACTED, "DEBUG": REDACTED}, "user": f"app:{REDACTED}"}
    assert redact_arguments({"env": ["A=1"]}) == {"env": REDACTED}
    assert redact_arguments({"env": None}) == {"env": None}


async def test_a_numeric_password_in_an_invalid_call_never_reaches_the_trail():
    """An exec refused as invalid (a number in its command) is stored with the number hidden.

    The arguments of an invalid call are stored as sent (redacted), so a password given as
    a number after ``-p`` must be hidden there as a word would be.
    """
    from operator_core.policy import Policy
    from operator_core.runner import ToolRunner
    from tool_fakes import FakeExecutor

    run = ToolRunner(FakeExecutor("web"), policy=Policy(mode="execute"), own_container_id=None)
    command = ["mysql", "-p", 987654321, "-e", "select 1"]
    envelope = await run.execute_tool(
        "docker_execute_command", {"container_id": "web", "command": command}
    )
    assert envelope["error"]["type"] == "invalid_arguments"
    (record,) = run.audit.query()
    assert record.arguments["command"] == ["mysql", "-p", REDACTED, "-e", "select 1"]
    assert "987654321" not in record.model_dump_json()


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        # A lone '-' is a word (the file), not a flag.
        ("htpasswd -b - alice s3cret", f"htpasswd -b - alice {REDACTED}"),
        # -C and -r take the next word as their value, alone or last in a cluster.
        ("htpasswd -b -C 10 f alice s3cret", f"htpasswd -b -C 10 f alice {REDACTED}"),
        ("htpasswd -bC 10 f alice s3cret", f"htpasswd -bC 10 f alice {REDACTED}"),
        ("htpasswd -nbr 5 alice s3cret", f"htpasswd -nbr 5 alice {REDACTED}"),
        ("htpasswd -bC10 f alice s3cret", f"htpasswd -bC10 f alice {REDACTED}"),
        ("htpasswd -c f alice", "htpasswd -c f alice"),  # no -b: it prompts
    ],
)
def test_htpasswd_batch_password_is_found_after_any_flags(text, stored):
    """``htpasswd -b [flags] FILE USER PASSWORD``: the password is hidden however flags go."""
    assert redact_text(text) == stored


def test_a_quoted_program_name_is_still_recognised():
    """``"mysql" -p x``: quotes around the program's name do not hide it from the rule."""
    assert redact_text('"mysql" -p hunter2') == f'"mysql" -p {REDACTED}'
    assert redact_command(["'redis-cli'", "-a", "hunter2"]) == ["'redis-cli'", "-a", REDACTED]


def test_every_password_in_a_text_is_hidden_and_the_rest_kept():
    """Two commands with passwords in one text: both hidden, every other word in place."""
    text = "mysql -p first -h db; redis-cli -a second ping"
    assert redact_text(text) == f"mysql -p {REDACTED} -h db; redis-cli -a {REDACTED} ping"


def test_a_user_argument_keeps_only_its_name():
    """``user`` (name:group or name:password) keeps what is before the first colon."""
    assert redact_arguments({"user": "app:grp:x"}) == {"user": f"app:{REDACTED}"}
