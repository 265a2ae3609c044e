"""The suite's wall-clock switch, read by conftest.py and checked by test_clock_shift.py."""

import datetime as dt
import os
import time

import time_machine

CLOCK_SHIFT_ENV = "OPERATOR_TEST_CLOCK_SHIFT_DAYS"


def clock_shift() -> dt.timedelta:
    """How far ahead the wall clock runs in this session (zero unless the env asks)."""
    days = os.environ.get(CLOCK_SHIFT_ENV, "").strip()
    return dt.timedelta(days=int(days)) if days else dt.timedelta(0)


def machine_time() -> float:
    """The machine's wall clock (``time.time()``), even while this test's clock is moved.

    A child process runs on the machine's clock, not on the test's moved one: timestamps a
    test shares with one (a record it must find stale, say) are taken from here.
    """
    if time_machine.escape_hatch.is_travelling():
        return time_machine.escape_hatch.time.time()
    return time.time()


#: The bound on redacting 100 kB of adversarial text. Linear redaction takes about 0.1 s
#: here; a quadratic regex blow-up on 100 kB takes a minute or more (measured: 9.7 s at
#: 40 kB, growing fourfold per doubling). 10 s sits between the two with a hundredfold margin
#: for a slow or busy machine. Figures side by side: scripts/measure_redaction.py.
LINEAR_BOUND_S = 10.0
