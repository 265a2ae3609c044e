"""A secret ``key=value`` / ``key: value`` / ``--flag value`` is hidden whatever precedes it.

The ``key: value`` rule used to take a harmless key's whole value and skip it, so a secret
pair inside (``note: password=x``, ``msg="login failed password=x"``) reached the audit
trail and the logs in clear. What follows a harmless key is now read as text, exactly as
it would be read alone; a harmless key's quoted value is read on its own.
"""

from __future__ import annotations

import time

import pytest

from operator_core.audit import REDACTED
from operator_core.audit.redact import is_secret_key, redact_text
from wall_clock import LINEAR_BOUND_S


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("note: password=hunter2", f"note: password={REDACTED}"),
        ("web died: DB_PASSWORD=x", f"web died: DB_PASSWORD={REDACTED}"),
        ("note:password=hunter2", f"note:password={REDACTED}"),
        ("x=y,password=hunter2 z", f"x=y,password={REDACTED} z"),
        ("--note=password=hunter2", f"--note=password={REDACTED}"),
        ("err: --password=hunter2", f"err: --password={REDACTED}"),
        ("note: secret: hunter2", f"note: secret: {REDACTED}"),
        (
            "2026-01-01 ERROR db: password=hunter2 retrying",
            f"2026-01-01 ERROR db: password={REDACTED} retrying",
        ),
    ],
)
def test_a_secret_pair_after_a_harmless_key_is_hidden(text, stored):
    """``note: password=x``: the harmless key's value is read on, the secret pair in it hidden."""
    assert redact_text(text) == stored


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ('{"msg": "password=hunter2"}', f'{{"msg": "password={REDACTED}"}}'),
        ('{"log":"db: api_key: hunter2"}', f'{{"log":"db: api_key: {REDACTED}"}}'),
        (
            'level=error msg="login failed password=hunter2" user=bob',
            f'level=error msg="login failed password={REDACTED}" user=bob',
        ),
        ("note: 'TOKEN=hunter2'", f"note: 'TOKEN={REDACTED}'"),
        # A quote inside a quote: read on inside both.
        ("a=\"b='c password=hunter2'\"", f"a=\"b='c password={REDACTED}'\""),
        # JSON quoted in JSON: the escaped quotes around a key and its value.
        (
            r'{"log": "{\"password\": \"hunter 2\", \"ok\": 1}"}',
            r'{"log": "{\"password\": ' + REDACTED + r', \"ok\": 1}"}',
        ),
        (
            r'{"log": "{\"msg\": \"db: token=hunter2\"}"}',
            r'{"log": "{\"msg\": \"db: token=' + REDACTED + r'\"}"}',
        ),
    ],
)
def test_a_secret_pair_quoted_as_a_harmless_keys_value_is_hidden(text, stored):
    """``msg="... password=x"`` (logfmt, JSON): a quoted value is read inside, the rest kept."""
    assert redact_text(text) == stored


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ('--note "--password hunter2"', f'--note "--password {REDACTED}"'),
        ('sh -c "app --token hunter2 -v"', f'sh -c "app --token {REDACTED} -v"'),
        ("--opt x:--secret hunter2", f"--opt x:--secret {REDACTED}"),
        (
            "note my_secret_key_name abcdefghijklmnopqrstuv",
            f"note my_secret_key_name {REDACTED}",
        ),
    ],
)
def test_a_secret_flag_or_word_in_a_harmless_flags_value_is_hidden(text, stored):
    """``-c "app --token x"``: a harmless flag's value is read on, a secret flag in it hidden.

    So is a long run after a secret word that was itself the value of a harmless word.
    """
    assert redact_text(text) == stored


#: Secret forms and plain ones, each checked alone and after every prefix below.
FORMS = [
    "password=hunter2",
    "DB_PASSWORD=x",
    "api_key: abc",
    "--password hunter2",
    "--token=abc",
    "auth_token 0123456789abcdef0123456789",
    "token abcdefgh",
    # "token abc" is no pair (no separator, too short for a bearer token): kept alone, and
    # so kept after a harmless key too.
    "token abc",
    "status=running",
]
#: What a harmless key puts around a form: a log line, logfmt, JSON, a flag's value.
WRAPPERS = [
    ("note: ", ""),
    ("note:", ""),
    ("web died: ", " (exit 1)"),
    ("2026-01-01 12:00:01 ERROR db: ", ""),
    ("--note=", ""),
    ("x=y,", ""),
    ('{"msg": "', '"}'),
    ('level=warn msg="', '" code=5'),
    ("note: '", "'"),
    ('-c "', '"'),
]


@pytest.mark.parametrize(("before", "after"), WRAPPERS)
@pytest.mark.parametrize("form", FORMS)
def test_what_follows_a_harmless_key_is_redacted_as_it_would_be_alone(before, after, form):
    """A harmless key in front changes nothing: hidden alone means hidden after it.

    And kept alone means kept after it: no over-redaction either.
    """
    assert redact_text(before + form + after) == before + redact_text(form) + after


@pytest.mark.parametrize(
    "text",
    [
        "2026-01-01 12:00:01 ERROR db: connection refused",
        "url: http://host:80/x?y=1",
        "time: 12:30:45 tier=critical",
        '{"status": "running", "name": "web"}',
        # A harmless key's quoted value is read on its own: its closing quote never opens
        # the value of a secret word inside it.
        '{"message": "invalid token:", "code": 5}',
        r"{\"message\": \"invalid token:\", \"code\": 5}",
        "{\"message\": 'bad password=', \"hint\": 'see docs'}",
        'msg="auth ok" user=bob',
        "note: token abc",
    ],
)
def test_ordinary_keyed_text_is_left_alone(text):
    """Log lines, URLs, times and JSON with no secret pair come back as they went in."""
    assert redact_text(text) == text


def test_is_secret_key_is_still_offered_by_redact():
    """Other modules import ``is_secret_key`` from ``audit.redact``; it answers as before."""
    assert [is_secret_key(key) for key in ("DB_PASSWORD", "api_key", "PW")] == [True] * 3
    assert [is_secret_key(key) for key in ("note", "keyboard")] == [False] * 2


@pytest.mark.parametrize(
    "unit",
    [
        *("note: ", "a:", "a=", 'm="a=', "a='b=\"", '-c "', "a " + "b" * 16 + " "),
        *("password: a:", 'a:\\"', '\\"a\\": \\"', 'a=\\"b:\\\\"'),
    ],
)
def test_the_read_on_scan_stays_linear_on_100_kb(unit):
    """100 kB of harmless keys (bare, quoted, nested quotes, flags) is redacted in linear time."""
    text = unit * (100_000 // len(unit))
    began = time.perf_counter()
    redact_text(text)
    assert time.perf_counter() - began < LINEAR_BOUND_S
