"""Hide, wherever an error quotes it, an argument value the audit trail stores redacted.

A refused value is often quoted back: ``user must look like 'name', ... got
'admin:hunter2 x'``. ``redact_text`` reads such a message as text, and cannot know that
the quoted word was a ``user`` whose part after the colon is a password, nor that a word
was an ``env`` value; ``redact_arguments`` knows, by the argument's key. So the values
``redact_arguments`` changed are looked for in the message, the details and anything
else said about the call, and replaced there by their stored form.
"""

from __future__ import annotations

from typing import Any

from operator_core.audit.redact import REDACTED

__all__ = ["MIN_BARE", "quoted_pairs", "redact_quoted"]

#: A changed value shorter than this is replaced only where it is quoted ('x' or "x"):
#: bare, a one-letter password would take every such letter out of the message.
MIN_BARE = 4


def quoted_pairs(raw: object, stored: object) -> list[tuple[str, str]]:
    """Return (value as given, value as stored) for every leaf the redaction changed.

    ``raw`` is the arguments as the caller sent them, ``stored`` what the audit trail
    keeps of them (``redact_arguments``). A part of ``raw`` with no counterpart of its
    shape in ``stored`` (an ``env`` mapping stored as one ``[REDACTED]``) is hidden whole.
    """
    pairs: list[tuple[str, str]] = []
    _walk(raw, stored, pairs, depth=0)
    # Longest first: a value that holds another is replaced before the shorter one.
    return sorted(set(pairs), key=lambda pair: -len(pair[0]))


def _walk(raw: object, stored: object, pairs: list[tuple[str, str]], depth: int) -> None:
    """Collect the changed leaves of ``raw`` (bounded in depth: arguments are shallow)."""
    if depth > 20:
        return
    if isinstance(raw, dict):
        for key, value in raw.items():
            counterpart = stored.get(str(key), REDACTED) if isinstance(stored, dict) else REDACTED
            _walk(value, counterpart, pairs, depth + 1)
    elif isinstance(raw, list | tuple):
        twins = stored if isinstance(stored, list) and len(stored) == len(raw) else None
        for index, value in enumerate(raw):
            _walk(value, REDACTED if twins is None else twins[index], pairs, depth + 1)
    elif isinstance(raw, str | int | float) and not isinstance(raw, bool):
        text = str(raw)
        shown = stored if isinstance(stored, str) else str(stored)
        if text and text != shown:
            pairs.append((text, shown if isinstance(stored, str) else REDACTED))


def _hide(text: str, pairs: list[tuple[str, str]]) -> str:
    """Return ``text`` with every changed value replaced by its stored form."""
    for given, shown in pairs:
        for quote in ("'", '"'):
            text = text.replace(f"{quote}{given}{quote}", f"{quote}{shown}{quote}")
        text = text.replace(repr(given), repr(shown))
        if len(given) >= MIN_BARE:
            text = text.replace(given, shown)
    return text


def redact_quoted(value: Any, raw: object, stored: object) -> Any:
    """Return ``value`` (a message, an error's details...) with the call's secrets hidden.

    Every string in ``value`` loses what ``raw``'s redaction hid (see ``quoted_pairs``);
    what text alone shows to be secret is ``redact_text``'s job, done where the error's
    envelope is made (``runner.envelope.error_envelope``).
    """
    pairs = quoted_pairs(raw, stored)
    return _replace(value, pairs, depth=0) if pairs else value


def _replace(value: Any, pairs: list[tuple[str, str]], depth: int) -> Any:
    """Return ``value`` with ``_hide`` applied to each of its strings."""
    if isinstance(value, str):
        return _hide(value, pairs) if pairs else value
    if depth > 20:
        return REDACTED
    if isinstance(value, dict):
        return {key: _replace(item, pairs, depth + 1) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(item, pairs, depth + 1) for item in value]
    return value
