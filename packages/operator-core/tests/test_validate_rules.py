"""The validators' limits and messages, pinned at each edge.

Bad input gets a clear, typed error naming what was wrong; a value exactly at a limit is
accepted and one past it refused. Messages are pinned whole: an agent reads them to fix
its call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from operator_core import validate as v
from operator_core.errors import InvalidInput
from operator_core.limits import MAX_REPLICAS
from operator_core.words import AVAILABILITIES, DESIRED_STATES

KIB = 1024


@pytest.mark.parametrize(
    ("check", "value", "message"),
    [
        (v.validate_grace, "10", "timeout (grace period) must be a number of seconds, got str"),
        (
            v.validate_grace,
            1.5,
            "timeout (grace period) must be a whole number of seconds, got 1.5",
        ),
        (
            v.validate_signal,
            True,
            "signal must be a name such as 'SIGTERM' or a number, got a bool",
        ),
        (v.validate_signal, "1234567890", "unknown signal number '1234567890'"),
        (
            v.validate_signal,
            "123456789",
            "unknown signal number 123456789; use 1 to 31 or a real-time signal "
            f"{v.SIGRTMIN} to {v.SIGRTMAX}",
        ),
        (
            v.validate_signal,
            " 99 ",
            f"unknown signal number 99; use 1 to 31 or a real-time signal {v.SIGRTMIN} to "
            f"{v.SIGRTMAX}",
        ),
        (v.validate_signal, 2.0, "signal must be a name or a number, got float"),
        (
            v.validate_signal,
            "SIGNOPE",
            "unknown signal 'SIGNOPE'; use a name such as SIGTERM or SIGHUP",
        ),
        (
            v.validate_signal,
            "\u017figterm",  # a long s, which str.upper() turns into an ASCII S
            "unknown signal '\u017figterm'; use a name such as SIGTERM or SIGHUP",
        ),
        (
            v.validate_signal,
            "SIGRTMAX+1",
            f"real-time signal 'SIGRTMAX+1' is outside SIGRTMIN ({v.SIGRTMIN}) to SIGRTMAX "
            f"({v.SIGRTMAX})",
        ),
        (
            v.validate_signal,
            "SIGRTMIN-1",
            f"real-time signal 'SIGRTMIN-1' is outside SIGRTMIN ({v.SIGRTMIN}) to SIGRTMAX "
            f"({v.SIGRTMAX})",
        ),
        (
            v.validate_command,
            "echo hi",
            "command must be a list of arguments such as ['sh', '-c', 'echo hi'], not a str",
        ),
        (v.validate_command, [], "command is empty; give at least the program to run"),
        (v.validate_command, ["sh", 3], "command[1] must be a string, got int"),
        (v.validate_command, ["sh", "a\x00b"], "command[1] has a NUL byte or is over 128 KiB"),
        (
            v.validate_command,
            ["sh", "x" * (128 * KIB + 1)],
            "command[1] has a NUL byte or is over 128 KiB",
        ),
        (v.validate_command, [" ", "x"], "command[0] (the program) is blank"),
        (v.validate_command, ["sh", *["x" * 128 * KIB] * 2], "command is over 256 KiB in all"),
        (
            v.validate_user,
            "a" * 257,
            f"user must look like 'name', 'uid', 'name:group' or 'uid:gid', got {'a' * 257!r}",
        ),
        (
            v.validate_user,
            "root:",
            "user must look like 'name', 'uid', 'name:group' or 'uid:gid', got 'root:'",
        ),
        (v.validate_workdir, "app", "workdir must be an absolute path such as '/app', got 'app'"),
        (
            v.validate_workdir,
            "/" + "a" * 4096,
            "workdir has a control character or is over 4096 characters",
        ),
        (v.validate_workdir, "/a\tb", "workdir has a control character or is over 4096 characters"),
        (
            v.validate_env_key,
            "1A",
            "env name '1A' is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)",
        ),
        (v.validate_env_key, v.MARKER_KEY, f"env name {v.MARKER_KEY} is reserved by operator-core"),
        (v.validate_env, ["A=1"], "env must be a mapping of names to values, got list"),
        (v.validate_env, {"A": 1}, "env value of A must be a string, got int"),
        (v.validate_env, {"A": "x\ny"}, "env value of A has a NUL, newline or carriage return"),
        (v.validate_env, {"A": "\ud800"}, "env value of A is not valid UTF-8 text"),
        (v.validate_env, {"AB": "x" * 59_998}, "env value of AB is over 60000 bytes"),
        (
            v.validate_service,
            "-x",
            "service reference '-x' starts with '-', which no name or id does",
        ),
        (v.validate_service, 3, "service reference must be a string, got int"),
        (v.validate_node, "", "node reference is empty; give a name or an id"),
        (v.validate_replicas, 2.0, "replicas must be a whole number, got float"),
        (v.validate_replicas, True, "replicas must be a whole number, got bool"),
        (v.validate_replicas, -1, f"replicas must be 0 to {MAX_REPLICAS}, got -1"),
        (
            v.validate_replicas,
            MAX_REPLICAS + 1,
            f"replicas must be 0 to {MAX_REPLICAS}, got {MAX_REPLICAS + 1}",
        ),
        (
            v.validate_reference,
            "web/1",
            "container reference 'web/1' has characters no Docker name or id contains; "
            "allowed: ASCII letters, digits, '_', '.', '-' (not first)",
        ),
    ],
)
def test_bad_input_is_refused_with_a_message_that_says_what_is_wrong(
    check: Callable[[Any], Any], value: Any, message: str
) -> None:
    """Each validator refuses a bad value with InvalidInput and its exact message."""
    with pytest.raises(InvalidInput) as caught:
        check(value)
    assert str(caught.value) == message


def test_a_choice_outside_its_list_names_every_allowed_value() -> None:
    """A node availability or task state outside its list is refused, naming every allowed value."""
    with pytest.raises(InvalidInput) as caught:
        v.validate_availability("drained")
    assert str(caught.value) == (
        f"availability must be one of {', '.join(AVAILABILITIES)}; got 'drained'"
    )
    with pytest.raises(InvalidInput) as caught:
        v.validate_desired_state("done")
    assert str(caught.value) == (
        f"desired_state must be one of {', '.join(DESIRED_STATES)}; got 'done'"
    )


@pytest.mark.parametrize(
    ("check", "value"),
    [
        (v.validate_command, ["sh", "x" * (128 * KIB)]),
        (v.validate_command, ["x" * (128 * KIB), "y" * (128 * KIB)]),
        (v.validate_user, "a" * 256),
        (v.validate_workdir, "/" + "a" * 4095),
        (v.validate_env, {"AB": "x" * 59_997}),  # AB=... is exactly 60000 bytes
        (v.validate_replicas, 0),
        (v.validate_replicas, MAX_REPLICAS),
        (v.validate_seconds, 10.0),
    ],
)
def test_a_value_exactly_at_a_limit_is_accepted(check: Callable[[Any], Any], value: Any) -> None:
    """A limit is inclusive: the largest allowed value passes unchanged."""
    if check is v.validate_seconds:
        assert v.validate_seconds(value, "wait", maximum=10) == 10.0
        return
    assert check(value) == value


@pytest.mark.parametrize(
    ("given", "name"),
    [
        (v.SIGRTMIN, "SIGRTMIN"),
        (v.SIGRTMAX, "SIGRTMAX"),
        (v.SIGRTMIN + 15, "SIGRTMIN+15"),
        (v.SIGRTMIN + 16, f"SIGRTMAX-{v.SIGRTMAX - v.SIGRTMIN - 16}"),
        (str(v.SIGRTMIN), "SIGRTMIN"),
        ("rtmin", "SIGRTMIN"),
        ("SIGRTMAX-0", "SIGRTMAX"),
        (f"SIGRTMAX-{v.SIGRTMAX - v.SIGRTMIN}", "SIGRTMIN"),
        (f"SIGRTMIN+{v.SIGRTMAX - v.SIGRTMIN}", "SIGRTMAX"),
        ("SIGIOT", "SIGABRT"),
        ("000000009", "SIGKILL"),
    ],
)
def test_signals_come_back_in_the_engines_spelling(given: object, name: str) -> None:
    """Real-time signals at both ends of their range, and aliases, take the engine's names."""
    assert v.validate_signal(given) == name
