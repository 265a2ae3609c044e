"""The suite's wall-clock switch, read by conftest.py and checked by test_clock_shift.py."""

import datetime as dt
import os

CLOCK_SHIFT_ENV = "OPERATOR_TEST_CLOCK_SHIFT_DAYS"


def clock_shift() -> dt.timedelta:
    """How far ahead the wall clock runs in this session (zero unless the env asks)."""
    days = os.environ.get(CLOCK_SHIFT_ENV, "").strip()
    return dt.timedelta(days=int(days)) if days else dt.timedelta(0)
