"""Timestamp normalisation across the sources' formats."""

from datetime import date

import pytest

from evidencekit.timeutil import (
    TimestampError,
    TimestampRangeError,
    month_windows,
    parse_epoch_millis,
    parse_iso_offset,
    parse_servicenow,
    period_bounds,
    zone,
)


def test_octopus_seven_fraction_digits_and_offset_become_utc() -> None:
    assert parse_iso_offset("2026-11-18T21:04:11.5120007+02:00") == (
        "2026-11-18T19:04:11.512000Z"
    )


def test_zulu_and_colonless_offsets() -> None:
    assert parse_iso_offset("2026-05-01T12:00:00Z") == "2026-05-01T12:00:00.000000Z"
    assert parse_iso_offset("2016-09-28T14:01:00+0700") == "2016-09-28T07:01:00.000000Z"


def test_timestamp_without_offset_is_rejected() -> None:
    with pytest.raises(TimestampError, match="no UTC offset"):
        parse_iso_offset("2026-05-01T12:00:00")


def test_servicenow_values_are_utc() -> None:
    assert parse_servicenow("2026-11-18 20:30:00") == "2026-11-18T20:30:00.000000Z"
    with pytest.raises(TimestampError):
        parse_servicenow("18/11/2026 21:30:00")


def test_period_in_a_zone_is_a_half_open_utc_interval() -> None:
    london = zone("Europe/London")
    start, end = period_bounds(date(2026, 7, 1), date(2026, 9, 30), london)
    assert start.isoformat() == "2026-06-30T23:00:00+00:00"
    assert end.isoformat() == "2026-09-30T23:00:00+00:00"


def test_month_windows_are_clipped_to_the_period() -> None:
    windows = month_windows(date(2026, 7, 15), date(2026, 9, 10), zone("UTC"))
    assert [(m, a.day, b.day) for m, a, b in windows] == [
        ("2026-07", 15, 1),
        ("2026-08", 1, 1),
        ("2026-09", 1, 11),
    ]


@pytest.mark.parametrize(
    "text",
    ["9999-12-31T23:59:59.9999999-05:00", "0001-01-01T00:30:00+01:00"],
)
def test_timestamp_out_of_range_in_utc_is_a_timestamp_error(text: str) -> None:
    with pytest.raises(TimestampRangeError, match="the year is out of range"):
        parse_iso_offset(text)


def test_latest_representable_moment_is_kept() -> None:
    assert parse_iso_offset("9999-12-31T23:59:59.9999999+00:00") == (
        "9999-12-31T23:59:59.999999Z"
    )


def test_epoch_millis_out_of_range_is_a_timestamp_error() -> None:
    assert parse_epoch_millis(1_784_000_000_000) == "2026-07-14T03:33:20.000000Z"
    with pytest.raises(TimestampError, match="the year is out of range"):
        parse_epoch_millis(10**18)
