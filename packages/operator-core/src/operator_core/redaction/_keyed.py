r"""Secrets announced by a name: which names are secret, and the value after such a name.

``key=value``, ``key: value``, ``--flag value`` and ``name <long run>`` hide the value
when the name is secret-ish (``is_secret_key``), wherever the pair stands in the text:
after a harmless key (``note: password=x``, ``--opt=TOKEN=x``), inside a quoted value
(``msg="login failed password=x"``, ``{"log": "db: password=x"}``, JSON quoted in JSON:
``\"password\": \"x\"``) or in a log line (``2026-01-01 ERROR db: password=x``). The
value of a harmless key is read on as text, never skipped; a quoted one is read on its
own (its closing quote never opens a value).

Each scan is linear in the text: a name is matched only at a token start with possessive
quantifiers, a value is matched only after a secret name (and the scan resumes past it),
and a harmless key's quoted value is scanned once more inside, at most twice nested (a
quote of one kind holds none of its own kind).
"""

from __future__ import annotations

import re
from typing import NamedTuple

__all__ = ["REDACTED", "hide_keyed_values", "is_secret_key"]

REDACTED = "[REDACTED]"

_WORD = re.compile(
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credential|auth(?!or(?!iz))|cookie|session|signature",
    re.IGNORECASE,
)
#: Words that make a key secret as its first or last part (``PW``, ``DB_PASS``, ``API_KEY``).
_SECRET_PARTS = frozenset(
    {
        "pw",
        "pwd",
        "pass",
        "passwd",
        "password",
        "secret",
        "secrets",
        "token",
        "tokens",
        "key",
        "keys",
        "credential",
        "credentials",
    }
)
_PART_SEPARATORS = re.compile(r"[^a-z0-9]++")


def is_secret_key(key: str) -> bool:
    """Whether ``key`` (a variable, option or field name) names something secret."""
    if _WORD.search(key) is not None:
        return True
    parts = [part for part in _PART_SEPARATORS.split(key.lower()) if part]
    return bool(parts) and (parts[0] in _SECRET_PARTS or parts[-1] in _SECRET_PARTS)


#: A JSON string inside a JSON string: ``\"...\"`` (a backslash escapes its next character).
_ESCAPED = r"\\\"((?:[^\"\\]|\\[^\"])*+)\\\""
#: A value: a quoted string whole, or a run up to whitespace or a separator.
_VALUE = re.compile(rf"{_ESCAPED}|\"[^\"]*+\"|'[^']*+'|[^\s,;&|\"']++")
#: A quoted string (the value of a harmless key, read on its own); its text is a group.
_QUOTED = re.compile(rf"{_ESCAPED}|\"([^\"]*+)\"|'([^']*+)'")


class _Rule(NamedTuple):
    """A name (group 1) and what joins it to its value; the value hidden after a secret name."""

    head: re.Pattern[str]
    value: re.Pattern[str]


_RULES = (
    # key=value, key: value, "key": value
    _Rule(re.compile(r"(?<![\w.-])([\w.-]++)(?:\\?+[\"'])?+\s*+[=:]\s*+"), _VALUE),
    # --flag value, -f value (not a next flag)
    _Rule(re.compile(r"(?<![\w.-])(--?[\w.-]++)\s++(?!-)"), _VALUE),
    # a long hex or base64 run after a secret-ish word (the lookahead reads 16 characters)
    _Rule(
        re.compile(r"(?<![\w.-])([\w.-]++)\s++(?=[A-Za-z0-9+/_=-]{16})"),
        re.compile(r"[A-Za-z0-9+/_=-]++"),
    ),
)


def _hide_after(text: str, rule: _Rule) -> str:
    """Return ``text`` with the value after each secret name of ``rule`` hidden."""
    pieces: list[str] = []
    end = pos = 0
    while (head := rule.head.search(text, pos)) is not None:
        pos = head.end()
        if is_secret_key(head.group(1)):
            value = rule.value.match(text, pos)
            if value is not None:
                pieces += (text[end:pos], REDACTED)
                end = pos = value.end()
        elif (quoted := _QUOTED.match(text, pos)) is not None:
            start, stop = quoted.span(quoted.lastindex or 0)
            pieces += (text[end:start], _hide_after(text[start:stop], rule))
            end, pos = stop, quoted.end()
    return "".join(pieces) + text[end:] if pieces else text


def hide_keyed_values(text: str) -> str:
    """Return ``text`` with every value named by a secret key, flag or word hidden."""
    for rule in _RULES:
        text = _hide_after(text, rule)
    return text
