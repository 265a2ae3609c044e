"""Take secrets out of tool arguments and text before they are stored or logged.

What counts as a secret, deliberately erring on the side of hiding too much:

* every value of an ``env`` mapping (keys stay, they say what was set);
* ``key=value`` / ``key: value`` where the key holds a secret-ish word (password, passwd,
  pwd, secret, token, api key, access key, private key, credential, auth, cookie,
  session, signature): ``--password=x``, ``DB_TOKEN=abc``, ``"api_key": "..."``, wherever
  the pair stands (``note: password=x``, ``msg="failed password=x"``: see ``_keyed``);
* ``KEY=value`` where the key starts or ends with PW, PASS, PASSWD, PASSWORD, SECRET,
  TOKEN, KEY or CREDENTIAL(S) (any case): ``export PW=x``, ``DB_PASS=x``, ``API_KEY=x``;
* the argument after a flag holding such a word (``--password x``, ``["--token", "x"]``)
  and the password of ``-u user:password`` / ``--user user:password`` (also written
  ``--user=user:password`` and ``-uuser:password``, as curl takes them);
* a value attached to a password flag: ``-p<x>`` (mysql, 7z...), ``--pass<x>``,
  ``--password<x>`` (``-pass``, ``-passin`` and the like stay: they are flags);
* the argument after ``-p`` / ``-a`` / ``-P`` for programs known to take a password
  there (``mysql -p x``, ``redis-cli -a x``, ``sshpass -p x``, ``zip -P x``...), in a
  command list and in shell text (``sh -c "redis-cli -a x ping"``);
* ``Bearer`` / ``Basic`` credentials, the password in ``scheme://user:password@host``;
* well-known token shapes wherever they appear: JWTs, GitHub (``ghp_``...), OpenAI-style
  ``sk-``..., Slack ``xox?-``..., AWS ``AKIA``... keys, Vault ``hvs.``/``hvb.``/``hvr.``
  tokens, PEM private key blocks, htpasswd hashes (``$apr1$``, ``$2y$``, ``{SHA}``...);
* SQL passwords: ``PASSWORD 'x'`` and ``IDENTIFIED [WITH plugin] BY [PASSWORD] 'x'``;
* ``user: "name:password"`` (``user=``, JSON ``"user": ...``) and the value of a ``user``
  mapping entry holding a colon: everything after the first colon;
* words that follow a subcommand: ``docker login -p x`` (any ``... login -p x``),
  ``aws configure set aws_secret_access_key x`` (a secret key after ``configure set``),
  ``htpasswd -b [file] user x`` (the last argument of htpasswd's batch mode);
* a long (16+ character) hex or base64 run right after a secret-ish word.

Every pattern runs in time linear in the text (keys are matched only at token starts,
with possessive quantifiers; the program-aware pass is one scan over shell words), so an
agent cannot stall the audit trail with a long string; strings over ``MAX_SCANNED``
characters are not stored at all.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Callable, Sequence
from typing import TypeVar, overload

from operator_core.redaction._keyed import REDACTED, hide_keyed_values, is_secret_key

__all__ = [
    "MAX_SCANNED",
    "MAX_STORED",
    "REDACTED",
    "is_secret_key",
    "redact_arguments",
    "redact_command",
    "redact_text",
    "redact_value",
    "redacted_traceback",
]

#: Longer strings are replaced whole by a note of their length, never scanned or stored.
MAX_SCANNED = 65536
#: Redacted strings are cut to this length when stored.
MAX_STORED = 4096

_TOKEN = re.compile(r"[\w.-]++")
#: A value glued to a flag (``-pS3cret``, ``-p"a b"``); not a quote that closes a JSON word.
_ATTACHED = r"(?![\"'][\s,\]}])(?:\"[^\"]*+\"|'[^']*+'|[^\s\"']++)"
#: What ends a flag's name: whitespace, ``=``, a quote or the end of the text.
_END = r"(?![^\s=\"'])"
#: ``--pass``/``--password`` followed by one of these (or by ``-``/``_``, as in
#: ``--password-stdin``) is a flag, not a glued value.
_NOT_A_FLAG = rf"(?!(?:phrase|in|out|s|file)?+{_END}|[-_])"
#: ``-p`` followed by one of these is a flag (openssl's ``-pass``, ``-passin``...).
_NOT_A_P_FLAG = rf"(?!(?:ass(?:word|wd|in|out|phrase)?+|wd){_END})"

K = TypeVar("K")
V = TypeVar("V")


_PATTERNS: list[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]]] = [
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
    (re.compile(r"\bhv[sbr]\.[A-Za-z0-9_-]{20,}+"), REDACTED),
    # htpasswd hashes (basic auth users in a label): $apr1$, bcrypt $2y$, crypt $1$/$5$/$6$
    # (a Compose file writes each $ as $$), and {SHA}.
    (re.compile(r"(?<![\w$])\${1,2}(?:apr1|2[abxy]|[156])\${1,2}[./A-Za-z0-9$]{8,}+"), REDACTED),
    (re.compile(r"\{SHA\}[A-Za-z0-9+/=]{20,}+"), REDACTED),
    (
        re.compile(
            r"(?i)(?<![\w.-])((?:identified(?:\s++with\s++[\w.-]++)?+\s++by(?:\s++password)?+"
            r"|(?<!-)password)\s++)(?:'[^']*+'|\"[^\"]*+\")"
        ),
        rf"\1{REDACTED}",
    ),
    (
        re.compile(r"(?i)\b(identified\s++by\s++)(?!password\b)[^\s'\";]++"),
        rf"\1{REDACTED}",
    ),
    (
        re.compile(r"(?i)(?<![\w.-])(\"?+user\"?+\s*+[=:]\s*+[\"']?+[^\s:=\"']++:)[^\s\"']++"),
        rf"\1{REDACTED}",
    ),
    (re.compile(rf"(?<![\w.-])(--pass(?:word|wd)?+){_NOT_A_FLAG}{_ATTACHED}"), rf"\1{REDACTED}"),
    (re.compile(rf"(?<![\w.-])(-p){_NOT_A_P_FLAG}{_ATTACHED}"), rf"\1{REDACTED}"),
]
#: The password of ``-u user:password`` / ``--user=user:password`` / ``-uuser:password``.
_USER_PASSWORD = re.compile(r"(?<![\w.-])((?:-u|--user)(?:\s++|=)?+[^\s:=\"']++:)[^\s\"']++")
_FLAG = re.compile(r"--?[\w.-]++")
_USER_FLAG = frozenset({"-u", "--user"})


def _programs(flag: str, *names: str) -> dict[str, frozenset[str]]:
    """Return ``names`` each mapped to the one flag after which they take a password."""
    return dict.fromkeys(names, frozenset({flag}))


#: Programs that take a password as the word after one of their flags.
_PASSWORD_FLAGS: dict[str, frozenset[str]] = {
    **_programs("-p", "mysql", "mysqladmin", "mysqldump", "mysqlimport", "mysqlshow"),
    **_programs("-p", "mysqlcheck", "mysqlpump", "mysqlslap", "mariadb", "mariadb-admin"),
    **_programs("-p", "mariadb-dump", "mongo", "mongosh", "mongodump", "mongorestore"),
    **_programs("-p", "mongoexport", "mongoimport", "sshpass"),
    **_programs("-a", "redis-cli", "keydb-cli", "valkey-cli"),
    **_programs("-P", "zip", "unzip", "zipcloak", "sqlcmd", "mosquitto_pub", "mosquitto_sub"),
    **_programs("-w", "ldapsearch", "ldapadd", "ldapmodify", "ldapdelete", "ldappasswd"),
    # A subcommand, not a program: ``docker login -p x``, ``podman login -p x``...
    **_programs("-p", "login"),
}
#: htpasswd's batch mode (a flag word holding ``b``) takes the password as its last word.
_HTPASSWD = "htpasswd"
#: htpasswd's flag letters that take the next word as their value (cost, rounds), alone
#: (``-C 10``) or last in a cluster (``-bC 10``).
_HTPASSWD_VALUED = frozenset("Cr")
#: Finds whether any of those programs is named at all (most texts skip the word scan).
_PROGRAM_HINT = re.compile(
    r"(?<![\w.-])(?:"
    + "|".join(
        re.escape(name)
        for name in sorted([*_PASSWORD_FLAGS, _HTPASSWD, "configure"], key=len, reverse=True)
    )
    + r")(?![\w.-])"
)
#: One shell word (quotes kept whole) or one command separator.
_SHELL_WORD = re.compile(r"[;&|()\n]|(?:[^\s;&|()\"']++|\"[^\"]*+\"|'[^']*+')++")
_SEPARATOR_CHARS = frozenset(";&|()\n")
#: A whole word in one pair of quotes holding a space: a script quoted inside the text.
_QUOTED_SCRIPT = re.compile(r"\"[^\"\s]*+\s[^\"]*+\"|'[^'\s]*+\s[^']*+'")


class _PasswordArgument:
    """Follows the words of a command line; spots the password after a known program's flag.

    ``mysql ... -p x``, ``redis-cli ... -a x``, ``sshpass -p x ...``, ``docker login -p
    x``: once such a program (or subcommand) has been named, the word after its flag is
    the password (unless it is itself a flag: ``mysql -p -h db`` prompts). Also the value
    after ``configure set <secret key>`` (aws) and the last word of ``htpasswd -b [file]
    user x``. A command separator (``;``, ``&&``, ``|``...) ends it.
    """

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget the program: a new command starts."""
        self._flags: frozenset[str] = frozenset()
        self._next = False
        self._last: tuple[str, str] = ("", "")
        # htpasswd: positional words seen, how many make the password, skip a flag's value.
        self._htpasswd: list[int] | None = None
        self._batch = self._skip = False

    def is_password(self, word: str) -> bool:
        """Take the next word; return whether it is a password to hide."""
        bare = word.strip("\"'")
        if bare and set(bare) <= _SEPARATOR_CHARS:
            self.reset()
            return False
        last, self._last = self._last, (self._last[1], bare)
        if self._htpasswd is not None:
            return self._htpasswd_password(bare)
        if self._next:
            self._next = False
            if not bare.startswith("-"):
                return True
        name = bare.rsplit("/", 1)[-1]
        if name in _PASSWORD_FLAGS:
            self._flags = _PASSWORD_FLAGS[name]
        elif name == _HTPASSWD:
            self._htpasswd = [0, 3]
        elif bare in self._flags or (last == ("configure", "set") and is_secret_key(bare)):
            self._next = True
        return False

    def _htpasswd_password(self, bare: str) -> bool:
        """Take a word of an htpasswd command; whether it is its batch-mode password."""
        counts = self._htpasswd or [0, 3]
        if self._skip:
            self._skip = False
        elif bare.startswith("-") and len(bare) > 1:
            self._batch = self._batch or "b" in bare
            if "n" in bare:
                counts[1] = 2  # -n writes to stdout: no file argument
            self._skip = bare[-1] in _HTPASSWD_VALUED
        else:
            counts[0] += 1
            return self._batch and counts[0] == counts[1]
        return False


def _hide_program_passwords(text: str) -> str:
    """Return shell ``text`` with the word after a known program's password flag hidden."""
    if _PROGRAM_HINT.search(text) is None:
        return text
    follow = _PasswordArgument()
    pieces: list[str] = []
    end = 0
    for match in _SHELL_WORD.finditer(text):
        word = match.group()
        if follow.is_password(word):
            replacement = REDACTED
        elif _QUOTED_SCRIPT.fullmatch(word):
            # A script quoted inside the text (``sh -c 'redis-cli -a x'``): look inside it.
            # A quote of one kind holds none of its own kind, so this nests at most twice.
            replacement = word[0] + _hide_program_passwords(word[1:-1]) + word[-1]
            if replacement == word:
                continue
        else:
            continue
        pieces += (text[end : match.start()], replacement)
        end = match.end()
    return "".join(pieces) + text[end:] if pieces else text


def redact_text(text: str) -> str:
    """Return ``text`` with everything secret-shaped replaced by ``[REDACTED]``."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    text = _USER_PASSWORD.sub(rf"\1{REDACTED}", hide_keyed_values(text))
    return _hide_program_passwords(text)


def redacted_traceback(exc: BaseException) -> str:
    """Return ``exc``'s traceback (causes included) as text, with secrets redacted.

    For logging a bug: the frames say where it happened, while a message that quotes a
    value (``invalid literal for int(): 'S3cret'`` does not, but ``password=S3cret`` does)
    goes through ``redact_text`` like every other logged string.
    """
    return redact_text("".join(traceback.format_exception(exc)).rstrip())


def redact_command(command: Sequence[object]) -> list[object]:
    """Return a command line with secrets out, including values given as the next word."""
    out: list[object] = []
    hide_next = user_next = False
    follow = _PasswordArgument()
    for word in command:
        if not isinstance(word, str):
            # A number can be a password too (``-p 12345`` in an invalid call's arguments).
            number = isinstance(word, int | float) and not isinstance(word, bool)
            hidden = number and (follow.is_password(str(word)) or hide_next)
            out.append(REDACTED if hidden else redact_value(word))
            hide_next = user_next = False
            if not number:
                follow.reset()
            continue
        password = follow.is_password(word)
        if hide_next or password:
            stored = REDACTED
        elif user_next and ":" in word:
            stored = word.split(":", 1)[0] + ":" + REDACTED
        else:
            stored = _store(word)
        out.append(stored)
        # Judged on the stored word: ``-pS3cretPass`` is stored as ``-p[REDACTED]``, a
        # flag with its value attached, so the next word is not a value of it.
        hide_next = _FLAG.fullmatch(stored) is not None and is_secret_key(stored)
        user_next = word in _USER_FLAG
    return out


@overload
def redact_value(value: str) -> str: ...
@overload
def redact_value(value: dict[K, V]) -> dict[str, object]: ...
@overload
def redact_value(value: object) -> object: ...
def redact_value(value: object) -> object:
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


def _redact_entry(key: str, value: object) -> object:
    """Return one mapping entry's value: hidden whole under a secret-ish key, else redacted.

    Under ``user``, what follows a colon is hidden (``name:password``; for exec's
    ``user:group`` that hides the group too, which errs on the safe side).
    """
    if isinstance(value, str | int | float) and not isinstance(value, bool) and is_secret_key(key):
        return REDACTED
    if key.lower() == "user" and isinstance(value, str) and ":" in value:
        return _store(value.split(":", 1)[0]) + ":" + REDACTED
    return redact_value(value)


#: A password hash as htpasswd and crypt(3) write it (``$apr1$``, ``$2y$``, ``$6$``...).
_CRYPT_HASH = re.compile(r"\$(?:apr1|2[abxy]?|1|5|6|y|argon2i?d?)\$[^\s]{4,}+")


@overload
def redact_arguments(arguments: dict[K, V]) -> dict[str, object]: ...
@overload
def redact_arguments(arguments: object) -> object: ...
def redact_arguments(arguments: object) -> object:
    """Return tool arguments fit to store: ``env`` values hidden, every string redacted."""
    if not isinstance(arguments, dict):
        return redact_value(arguments)
    out = {
        str(key): _redact_entry(str(key), value) for key, value in arguments.items() if key != "env"
    }
    if "env" in arguments:
        env = arguments["env"]
        if isinstance(env, dict):
            out["env"] = {str(k)[:200]: REDACTED for k in env}
        else:
            out["env"] = None if env is None else REDACTED
    return out
