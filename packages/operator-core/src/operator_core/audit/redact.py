"""Take secrets out of tool arguments and text before they are stored or logged.

What counts as a secret, deliberately erring on the side of hiding too much:

* every value of an ``env`` mapping (keys stay, they say what was set);
* ``key=value`` / ``key: value`` where the key holds a secret-ish word (password, passwd,
  pwd, secret, token, api key, access key, private key, credential, auth, cookie,
  session, signature): ``--password=x``, ``DB_TOKEN=abc``, ``"api_key": "..."``;
* the argument after a flag holding such a word (``--password x``, ``["--token", "x"]``)
  and the password of ``-u user:password`` / ``--user user:password``;
* ``Bearer`` / ``Basic`` credentials, the password in ``scheme://user:password@host``;
* well-known token shapes wherever they appear: JWTs, GitHub (``ghp_``...), OpenAI-style
  ``sk-``..., Slack ``xox?-``..., AWS ``AKIA``... keys, PEM private key blocks;
* a long (16+ character) hex or base64 run right after a secret-ish word.

Every pattern runs in time linear in the text (keys are matched only at token starts,
with possessive quantifiers), so an agent cannot stall the audit trail with a long
string; strings over ``MAX_SCANNED`` characters are not stored at all.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

__all__ = [
    "MAX_SCANNED",
    "MAX_STORED",
    "REDACTED",
    "is_secret_key",
    "redact_arguments",
    "redact_command",
    "redact_text",
    "redact_value",
]

REDACTED = "[REDACTED]"
#: Longer strings are replaced whole by a note of their length, never scanned or stored.
MAX_SCANNED = 65536
#: Redacted strings are cut to this length when stored.
MAX_STORED = 4096

_WORD = re.compile(
    r"pass(?:word|wd|phrase)?|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key"
    r"|credential|auth|cookie|session|signature",
    re.IGNORECASE,
)
_TOKEN = re.compile(r"[\w.-]++")
_VALUE = r"(?:\"[^\"]*+\"|'[^']*+'|[^\s,;&|\"']++)"


def is_secret_key(key: str) -> bool:
    """Whether ``key`` (a variable, option or field name) names something secret."""
    return _WORD.search(key) is not None


def _if_secret_key(replace: Callable[[re.Match[str]], str]) -> Callable[[re.Match[str]], str]:
    """Return a substitution that applies ``replace`` only when group 1 is a secret key."""
    return lambda m: replace(m) if is_secret_key(m.group(1)) else m.group(0)


_PATTERNS: list[tuple[re.Pattern[str], Any]] = [
    (
        re.compile(
            r"-----BEGIN [A-Z ]{0,40}PRIVATE KEY-----.*?"
            r"(?:-----END [A-Z ]{0,40}PRIVATE KEY-----|\Z)",
            re.S,
        ),
        REDACTED,
    ),
    (re.compile(r"(?i)\b(bearer|basic|token)(\s++)[A-Za-z0-9._~+/=-]{6,}+"), rf"\1\2{REDACTED}"),
    (
        re.compile(r"(?i)(?<![a-z0-9+.-])([a-z][a-z0-9+.-]*+://[^/\s:@]++:)[^@\s/]++@"),
        rf"\1{REDACTED}@",
    ),
    (re.compile(r"\beyJ[\w-]{5,}+\.[\w-]{5,}+\.[\w-]*+"), REDACTED),
    (re.compile(r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}+|github_pat_\w{20,}+)"), REDACTED),
    (re.compile(r"\bsk-[A-Za-z0-9_-]{16,}+"), REDACTED),
    (re.compile(r"\bxox[abprs]-[A-Za-z0-9-]{10,}+"), REDACTED),
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (
        re.compile(rf"(?<![\w.-])([\w.-]++)([\"']?+\s*+[=:]\s*+){_VALUE}"),
        _if_secret_key(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}"),
    ),
    (
        re.compile(rf"(?<![\w.-])(--?[\w.-]++)(\s++)(?!-){_VALUE}"),
        _if_secret_key(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}"),
    ),
    (
        re.compile(r"(?<![\w.-])([\w.-]++)(\s++)[A-Za-z0-9+/_=-]{16,}+"),
        _if_secret_key(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}"),
    ),
    (re.compile(r"(\s(?:-u|--user)\s++[^\s:]++:)\S++"), rf"\1{REDACTED}"),
]
_FLAG = re.compile(r"--?[\w.-]++")
_USER_FLAG = frozenset({"-u", "--user"})


def redact_text(text: str) -> str:
    """Return ``text`` with everything secret-shaped replaced by ``[REDACTED]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_command(command: list[Any]) -> list[Any]:
    """Return a command line with secrets out, including values given as the next word."""
    out: list[Any] = []
    hide_next = user_next = False
    for word in command:
        if not isinstance(word, str):
            out.append(redact_value(word))
            hide_next = user_next = False
            continue
        if hide_next:
            out.append(REDACTED)
        elif user_next and ":" in word:
            out.append(word.split(":", 1)[0] + ":" + REDACTED)
        else:
            out.append(_store(word))
        hide_next = _FLAG.fullmatch(word) is not None and is_secret_key(word)
        user_next = word in _USER_FLAG
    return out


def redact_value(value: Any) -> Any:
    """Return a JSON-able value fit to store: every string redacted, lists read as commands."""
    if isinstance(value, str):
        return _store(value)
    if isinstance(value, list | tuple):
        return redact_command(list(value))
    if isinstance(value, dict):
        return {str(key): _redact_entry(str(key), item) for key, item in value.items()}
    return value


def _store(text: str) -> str:
    """Return ``text`` redacted and cut for storage (or a note, when it is too long to scan)."""
    if len(text) > MAX_SCANNED:
        return f"[REDACTED: {len(text)} characters, too long to store]"
    cleaned = redact_text(text)
    return cleaned if len(cleaned) <= MAX_STORED else cleaned[:MAX_STORED] + "...[cut]"


def _redact_entry(key: str, value: Any) -> Any:
    """Return one mapping entry's value: hidden whole under a secret-ish key, else redacted."""
    if isinstance(value, str | int | float) and not isinstance(value, bool) and is_secret_key(key):
        return REDACTED
    return redact_value(value)


def redact_arguments(arguments: Any) -> Any:
    """Return tool arguments fit to store: ``env`` values hidden, every string redacted."""
    if not isinstance(arguments, dict):
        return redact_value(arguments)
    out = redact_value({key: value for key, value in arguments.items() if key != "env"})
    if "env" in arguments:
        env = arguments["env"]
        out["env"] = {str(k)[:200]: REDACTED for k in env} if isinstance(env, dict) else REDACTED
    return out
