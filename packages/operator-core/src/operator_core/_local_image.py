"""The local image the demo and the engine tests run, and how their containers are named.

Production code (the demo) needs these; ``operator_core.testing`` re-exports them for
tests, so neither depends on the other.
"""

from __future__ import annotations

import os
import uuid

__all__ = ["HANDLES_SIGTERM", "IGNORES_SIGTERM", "TEST_IMAGE", "TEST_LABEL", "unique_name"]

#: The image every integration test and the demo run; override with OPERATOR_TEST_IMAGE.
TEST_IMAGE = os.environ.get("OPERATOR_TEST_IMAGE", "operator-core/busybox:test")
#: The label every container made by operator-core's tests and demo carries.
TEST_LABEL = "org.operator-core.test"

#: PID 1 without a SIGTERM handler: the kernel ignores SIGTERM, so a stop ends in SIGKILL.
IGNORES_SIGTERM = ("sleep", "1000")
#: PID 1 that exits 0 as soon as SIGTERM arrives.
HANDLES_SIGTERM = ("sh", "-c", 'trap "exit 0" TERM; while true; do sleep 0.1; done')


def unique_name(prefix: str = "opc-test") -> str:
    """Return ``prefix`` followed by a random suffix, a valid and unused container name."""
    return f"{prefix}-{uuid.uuid4().hex[:12]}"
