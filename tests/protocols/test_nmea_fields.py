"""NMEA field codecs: times, dates and coordinates as text, both ways."""

from __future__ import annotations

import math
from datetime import UTC, date, time

import pytest

from protocols.errors import FrameError, LocalProtocolError
from protocols.nmea_fields import (
    format_coordinate,
    format_date,
    format_number,
    format_time,
    parse_coordinate,
    parse_date,
    parse_time,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("123519", time(12, 35, 19, tzinfo=UTC)),
        ("123519.5", time(12, 35, 19, 500_000, tzinfo=UTC)),
        ("000000.0012345678", time(0, 0, 0, 1234, tzinfo=UTC)),
        ("235960.00", time(23, 59, 59, 999_999, tzinfo=UTC)),  # a leap second
    ],
)
def test_utc_time_of_day(text: str, expected: time) -> None:
    assert parse_time(text, "X.utc_time") == expected


@pytest.mark.parametrize(
    ("value", "latitude", "expected"),
    [
        (47.99999999999, True, ("4800.0000000", "N")),  # minutes that round to 60 carry into degrees
        (-0.5, False, ("00030.0000000", "W")),
        (0.0, True, ("0000.0000000", "N")),
        (-90.0, True, ("9000.0000000", "S")),
        (180.0, False, ("18000.0000000", "E")),
    ],
)
def test_format_coordinate(value: float, latitude: bool, expected: tuple[str, str]) -> None:
    assert format_coordinate(value, latitude=latitude) == expected


@pytest.mark.parametrize("value", [90.5, -180.01, math.nan])
def test_format_coordinate_out_of_range_is_misuse(value: float) -> None:
    with pytest.raises(LocalProtocolError):
        format_coordinate(value, latitude=abs(value) < 100)


def test_format_time_truncates_rather_than_rounds_into_the_next_second() -> None:
    assert format_time(time(23, 59, 59, 999_999)) == "235959.99"
    assert format_time(time(1, 2, 3), decimals=0) == "010203"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("230394", date(1994, 3, 23)),
        ("100117", date(2017, 1, 10)),
        ("280279", date(2079, 2, 28)),
        ("311299", date(1999, 12, 31)),
    ],
)
def test_two_digit_years_pivot_at_80(text: str, expected: date) -> None:
    assert parse_date(text, "X.date") == expected
    assert format_date(expected) == text


@pytest.mark.parametrize("text", ["290223", "320124", "001324", "0101"])
def test_impossible_dates_name_the_field(text: str) -> None:
    with pytest.raises(FrameError, match=r"^X\.date: "):
        parse_date(text, "X.date")


@pytest.mark.parametrize(
    ("text", "hemisphere", "latitude", "expected"),
    [
        ("4807.038", "N", True, 48 + 7.038 / 60),
        ("807.038", "S", True, -(8 + 7.038 / 60)),  # a receiver that drops the leading zero
        ("0000.0000", "N", True, 0.0),
        ("9000.0000", "S", True, -90.0),
        ("01131.000", "W", False, -(11 + 31.0 / 60)),
        ("18000.00", "E", False, 180.0),
        ("", "", True, None),
    ],
)
def test_parse_coordinate(text: str, hemisphere: str, latitude: bool, expected: float | None) -> None:
    assert parse_coordinate(text, hemisphere, "X.pos", latitude=latitude) == pytest.approx(
        expected, abs=1e-13
    )


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_non_finite_numbers_have_no_nmea_text(value: float) -> None:
    with pytest.raises(LocalProtocolError, match="give None"):
        format_number(value, 2)
    assert format_number(None, 2) == ""
    assert format_number(-0.5, 3) == "-0.500"
