"""The suite's own clock switch: a shifted run must really run in the future."""

import datetime as dt
import os
import time

import time_machine

from wall_clock import CLOCK_SHIFT_ENV, clock_shift, machine_time


def test_the_wall_clock_runs_as_far_ahead_as_the_environment_asks():
    """With OPERATOR_TEST_CLOCK_SHIFT_DAYS set, now() is that many days ahead and still ticks.

    Without it, now() is the machine's time. Either way time.time and datetime agree, so code
    reading either sees the same future.
    """
    shift = clock_shift()
    assert bool(shift) == bool(os.environ.get(CLOCK_SHIFT_ENV, "").strip())
    ahead = dt.datetime.now(dt.UTC).timestamp() - machine_time()
    assert abs(ahead - shift.total_seconds()) < 3600
    assert abs(time.time() - dt.datetime.now(dt.UTC).timestamp()) < 60
    before = time.time()
    while time.time() == before:  # the moved clock still ticks
        pass


def test_monotonic_clocks_are_not_moved():
    """Deadlines use time.monotonic, which must never jump with the wall clock."""
    if not time_machine.escape_hatch.is_travelling():
        assert not clock_shift()
        return
    gap = time.time() - time.monotonic()
    real_gap = time_machine.escape_hatch.time.time() - time.monotonic()
    assert abs(gap - real_gap - clock_shift().total_seconds()) < 3600
