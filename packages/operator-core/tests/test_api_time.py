"""Unit tests of ``api_time``: a window bound as the Engine API takes it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from operator_core.docker._engine.window import moment
from operator_core.docker.diagnosis.when import api_time

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=UTC)


def test_an_iso_time_keeps_its_nanoseconds():
    """The nine fraction digits of an ISO bound reach the engine (a datetime holds six)."""
    text, at = moment("2026-11-29T09:00:00.123456789Z", "since", NOW)
    assert api_time(text, at) == "1795942800.123456789"


def test_a_duration_is_the_unix_time_it_names_before_now():
    """``10m`` is ten minutes before now, in unix seconds."""
    text, at = moment("10m", "since", NOW)
    assert api_time(text, at) == "1795945800.000000000"


def test_an_offset_is_taken_into_account():
    """A time with an offset names the same instant as its UTC spelling."""
    at = datetime(2026, 11, 29, 11, 0, 0, 250000, tzinfo=timezone(timedelta(hours=1)))
    assert api_time("", at) == "1795946400.250000000"
