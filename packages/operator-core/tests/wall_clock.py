"""The suite's wall-clock switch, read by conftest.py and checked by test_clock_shift.py."""

import datetime as dt
import os

CLOCK_SHIFT_ENV = "OPERATOR_TEST_CLOCK_SHIFT_DAYS"


def clock_shift() -> dt.timedelta:
    """How far ahead the wall clock runs in this session (zero unless the env asks)."""
    days = os.environ.get(CLOCK_SHIFT_ENV, "").strip()
    return dt.timedelta(days=int(days)) if days else dt.timedelta(0)


#: The bound on redacting 100 kB of adversarial text. Linear redaction takes about 0.1 s
#: here; a quadratic regex blow-up on 100 kB takes a minute or more (measured: 9.7 s at
#: 40 kB, growing fourfold per doubling). 10 s sits between the two with a hundredfold margin
#: for a slow or busy machine. Figures side by side: scripts/measure_redaction.py.
LINEAR_BOUND_S = 10.0
