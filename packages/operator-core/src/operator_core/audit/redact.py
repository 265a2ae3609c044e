"""Take secrets out of tool arguments and text: ``operator_core.redaction.redact``'s rules.

Kept at this path, where callers have always found them; the rules live in the neutral
``operator_core.redaction`` room, so that the docker layer redacts with them too without
depending on the audit trail.
"""

from __future__ import annotations

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
