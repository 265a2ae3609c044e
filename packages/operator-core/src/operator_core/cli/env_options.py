"""``operator docker exec``'s environment options, and keeping their values out of sight.

Three ways to give a variable to the command, as ``docker exec`` has:

* ``-e KEY=VALUE``: the value is on ``operator``'s own command line, which every local
  user can read (``ps``, ``/proc/<pid>/cmdline``) while it runs, and which lands in
  shell history;
* ``-e KEY``: the value is taken from ``operator``'s own environment (a variable that is
  not set there is not passed, as with docker);
* ``--env-file FILE``: ``KEY=VALUE`` lines (or ``KEY`` alone, taken from the environment);
  blank lines and lines starting with ``#`` are skipped. ``-e`` wins over a file.

The values then reach the container through an in-memory env file, never a command line
(``operator_core.docker.containers.execution``). ``redact_env_words`` hides the values of ``-e``
options wherever ``operator`` shows its own command line back (the hint of a denial).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import typer

from operator_core.audit.redact import REDACTED

__all__ = ["ENV_FILE_HELP", "ENV_HELP", "collect_env", "read_env_file", "redact_env_words"]

ENV_HELP = (
    "Set a variable for the command (repeatable). -e KEY takes KEY's value from this "
    "environment. -e KEY=VALUE puts the value on operator's command line, which other "
    "local users can read (ps) and shell history keeps: for a secret, use -e KEY or "
    "--env-file. operator itself never shows or records a value."
)
ENV_FILE_HELP = (
    "Read variables from FILE: KEY=VALUE lines (KEY alone: from this environment); blank "
    "lines and # comments are skipped (repeatable; -e wins)."
)

_ENV_LONG = "--env"
_ENV_SHORT = "-e"


def _from_environment(key: str, environ: Mapping[str, str], skipped: list[str]) -> dict[str, str]:
    """Return ``{key: value}`` from ``environ``, or nothing (noting ``key``) when it is unset."""
    if key in environ:
        return {key: environ[key]}
    skipped.append(key)
    return {}


def _entry(text: str, environ: Mapping[str, str], skipped: list[str]) -> dict[str, str] | None:
    """Return the variable of one ``KEY=VALUE`` or ``KEY`` entry; None if the key is bad."""
    key, sep, value = text.partition("=")
    if not key or key != key.strip() or any(c.isspace() for c in key):
        return None
    return {key: value} if sep else _from_environment(key, environ, skipped)


def read_env_file(path: Path, environ: Mapping[str, str], skipped: list[str]) -> dict[str, str]:
    """Return the variables of an env file; a bad line is named by number, never shown."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise typer.BadParameter(f"cannot read {path}: {reason}", param_hint="--env-file") from None
    variables: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        entry = _entry(stripped, environ, skipped)
        if entry is None:
            raise typer.BadParameter(
                f"{path} line {number} is not KEY=VALUE or KEY (the name is empty or has a space)",
                param_hint="--env-file",
            )
        variables.update(entry)
    return variables


def collect_env(
    env: Sequence[str] | None,
    env_files: Sequence[Path] | None,
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, str] | None, list[str]]:
    """Return the variables of ``--env-file`` then ``-e`` options, and the unset keys skipped.

    ``environ`` (default ``os.environ``) answers ``-e KEY`` and ``KEY`` lines. None when
    no option was given, so the tool's default applies.
    """
    if not env and not env_files:
        return None, []
    source = os.environ if environ is None else environ
    skipped: list[str] = []
    variables: dict[str, str] = {}
    for path in env_files or ():
        variables.update(read_env_file(path, source, skipped))
    for item in env or ():
        entry = _entry(item, source, skipped)
        if entry is None:
            name, sep, _ = item.partition("=")
            why = (
                f"{name!r} is not a variable name; give KEY=VALUE or KEY"
                if sep
                else "a value without '=' must be a variable name (KEY); not shown, in case "
                "it is a secret"
            )
            raise typer.BadParameter(why, param_hint="--env")
        variables.update(entry)
    return variables, skipped


def _redact_assignment(value: str) -> str:
    """Return ``KEY=[REDACTED]`` for ``KEY=VALUE``; ``KEY`` alone holds no value."""
    key, sep, _ = value.partition("=")
    return f"{key}={REDACTED}" if sep else value


def redact_env_words(words: Iterable[str]) -> list[str]:
    """Return a command line with the value of every ``-e``/``--env`` option hidden.

    Handles ``-e K=V``, ``--env K=V``, ``--env=K=V`` and ``-eK=V``; words after ``--``
    belong to the container's command and are left as they are.
    """
    shown: list[str] = []
    value_next = False
    after_dashes = False
    for word in words:
        if value_next:
            shown.append(_redact_assignment(word))
            value_next = False
        elif after_dashes or word == "--":
            after_dashes = True
            shown.append(word)
        elif word in (_ENV_SHORT, _ENV_LONG):
            shown.append(word)
            value_next = True
        elif word.startswith(_ENV_LONG + "="):
            shown.append(_ENV_LONG + "=" + _redact_assignment(word[len(_ENV_LONG) + 1 :]))
        elif word.startswith(_ENV_SHORT) and not word.startswith("--"):
            shown.append(_ENV_SHORT + _redact_assignment(word[len(_ENV_SHORT) :]))
        else:
            shown.append(word)
    return shown
