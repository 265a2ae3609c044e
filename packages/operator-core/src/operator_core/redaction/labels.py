"""Hide secrets kept in labels, as ``env`` values are hidden, in what is shown and stored.

People put secrets in labels: ``db_password=...``, Traefik's
``traefik.http.middlewares.x.basicauth.users=admin:$apr1$...``. A label whose key names a
secret (``is_secret_key``: password, token, secret, key, auth, credentials...) has its
value replaced whole by ``[REDACTED]``, and so does a value in which ``redact_text``
finds something secret (a ``token=...`` inside it, a JWT, a URL's password, an htpasswd
hash): a label is one value, so what is left of it would only give the secret's shape
away. Keys stay: they say what is there. This is the one label rule: the watch's
history stores labels through ``redact_label_map`` too.

This applies to what a tool returns and what the audit trail records (container, service
and node labels; an event's attributes, which carry the container's labels), and to the
watch's output. It never applies to what the policy matches on: protection, scope and
heal opt-in read the labels as the engine has them, before this runs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import TypeVar, cast

from operator_core.redaction.redact import REDACTED, is_secret_key, redact_text

__all__ = ["LABEL_FIELDS", "redact_label", "redact_label_map", "redact_labels"]

#: The fields of a result that hold labels (``attributes``: an event's, labels included).
LABEL_FIELDS = frozenset({"labels", "attributes"})
#: Results are shallow; deeper than this nothing is a label mapping of ours.
_MAX_DEPTH = 12

V = TypeVar("V")


def redact_label(key: str, value: V) -> V | str:
    """Return a label's value as it may be shown: hidden whole when key or value is secret."""
    if is_secret_key(key):
        return REDACTED
    if isinstance(value, str) and _looks_secret(value):
        return REDACTED
    return value


def redact_label_map(labels: dict[str, str]) -> dict[str, str]:
    """Return one label mapping with each value as ``redact_label`` shows it."""
    return {str(key): redact_label(str(key), value) for key, value in labels.items()}


@lru_cache(maxsize=8192)
def _looks_secret(value: str) -> bool:
    """Whether ``redact_text`` hides anything in ``value`` (remembered: labels recur)."""
    return redact_text(value) != value


def redact_labels(value: V, depth: int = 0) -> V:
    """Return ``value`` (a result) with the values of every label mapping in it redacted.

    A new structure is returned only where something changed; the rest is ``value``'s own.
    Its shape is ``value``'s: a label's value is text either way.
    """
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        changed = False
        out: dict[object, object] = {}
        for key, item in value.items():
            if key in LABEL_FIELDS and isinstance(item, dict):
                new = {k: redact_label(str(k), v) for k, v in item.items()}
            else:
                new = redact_labels(item, depth + 1)
            changed = changed or (new is not item and new != item)
            out[key] = new
        return cast("V", out) if changed else value
    if isinstance(value, list):
        items = [redact_labels(item, depth + 1) for item in value]
        fresh = any(a is not b for a, b in zip(items, value, strict=True))
        return cast("V", items) if fresh else value
    return value
