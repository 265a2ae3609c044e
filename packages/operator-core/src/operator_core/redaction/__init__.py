"""Secrets out of text, arguments and labels: the one set of rules every room uses.

A neutral room of primitives: it imports nothing else of operator-core, so the docker
layer (events, stats), the audit trail, the policy and the tools all redact with the same
rules without depending on one another. ``operator_core.audit`` re-exports what it always
has (``operator_core.audit.redact`` and ``operator_core.audit.labels`` stay importable).
"""

from __future__ import annotations

from operator_core.redaction.labels import (
    LABEL_FIELDS,
    redact_label,
    redact_label_map,
    redact_labels,
)
from operator_core.redaction.redact import (
    MAX_SCANNED,
    MAX_STORED,
    REDACTED,
    is_secret_key,
    redact_arguments,
    redact_command,
    redact_text,
    redact_value,
    redacted_traceback,
)

__all__ = [
    "LABEL_FIELDS",
    "MAX_SCANNED",
    "MAX_STORED",
    "REDACTED",
    "is_secret_key",
    "redact_arguments",
    "redact_command",
    "redact_label",
    "redact_label_map",
    "redact_labels",
    "redact_text",
    "redact_value",
    "redacted_traceback",
]
