"""Hide secrets kept in labels: ``operator_core.redaction.labels``' rule, at its old path."""

from __future__ import annotations

from operator_core.redaction.labels import (
    LABEL_FIELDS,
    redact_label,
    redact_label_map,
    redact_labels,
)

__all__ = ["LABEL_FIELDS", "redact_label", "redact_label_map", "redact_labels"]
