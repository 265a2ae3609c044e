"""Hide secrets kept in labels, as ``env`` values are hidden, in what is shown and stored.

People put secrets in labels: ``db_password=...``, Traefik's
``traefik.http.middlewares.x.basicauth.users=admin:$apr1$...``. A label whose key names a
secret (``is_secret_key``: password, token, secret, key, auth, credentials...) has its
value replaced whole by ``[REDACTED]``; any other value goes through ``redact_text``
(a ``token=...`` inside it, a JWT, an htpasswd hash). Keys stay: they say what is there.

This applies to what a tool returns and what the audit trail records (container, service
and node labels; an event's attributes, which carry the container's labels), and to the
watch's output. It never applies to what the policy matches on: protection, scope and
heal opt-in read the labels as the engine has them, before this runs.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from operator_core.audit.redact import REDACTED, is_secret_key, redact_text

__all__ = ["LABEL_FIELDS", "redact_label", "redact_labels"]

#: The fields of a result that hold labels (``attributes``: an event's, labels included).
LABEL_FIELDS = frozenset({"labels", "attributes"})
#: Results are shallow; deeper than this nothing is a label mapping of ours.
_MAX_DEPTH = 12


def redact_label(key: str, value: Any) -> Any:
    """Return a label's value as it may be shown: hidden whole under a secret key."""
    if is_secret_key(key):
        return REDACTED
    return _redacted(value) if isinstance(value, str) else value


@lru_cache(maxsize=8192)
def _redacted(value: str) -> str:
    """Return ``redact_text(value)``, remembered: the same labels recur on many containers."""
    return redact_text(value)


def redact_labels(value: Any, depth: int = 0) -> Any:
    """Return ``value`` (a result) with the values of every label mapping in it redacted.

    A new structure is returned only where something changed; the rest is ``value``'s own.
    """
    if depth > _MAX_DEPTH:
        return value
    if isinstance(value, dict):
        changed = False
        out: dict[Any, Any] = {}
        for key, item in value.items():
            if key in LABEL_FIELDS and isinstance(item, dict):
                new = {k: redact_label(str(k), v) for k, v in item.items()}
            else:
                new = redact_labels(item, depth + 1)
            changed = changed or (new is not item and new != item)
            out[key] = new
        return out if changed else value
    if isinstance(value, list):
        items = [redact_labels(item, depth + 1) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    return value
