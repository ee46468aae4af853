"""crypto.instant: the one spelling of timestamps and dates in signed payloads."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from crypto.errors import CredentialError
from crypto.instant import format_date, format_instant, parse_date, parse_instant

MOMENT = dt.datetime(2025, 3, 1, 12, 0, 5, tzinfo=dt.UTC)


def test_round_trip() -> None:
    assert format_instant(MOMENT) == "2025-03-01T12:00:05Z"
    assert parse_instant("2025-03-01T12:00:05Z") == MOMENT
    assert parse_instant("0001-01-01T00:00:00Z").year == 1
    assert format_instant(dt.datetime(999, 1, 2, 3, 4, 5, tzinfo=dt.UTC)) == "0999-01-02T03:04:05Z"


def test_zero_offset_zones_are_utc() -> None:
    london_winter = dt.datetime(2025, 1, 1, 9, 0, tzinfo=ZoneInfo("Europe/London"))
    assert format_instant(london_winter) == "2025-01-01T09:00:00Z"


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        (dt.datetime(2025, 3, 1, 12, 0), "instant must be timezone-aware (UTC), got naive"),
        (
            dt.datetime(2025, 3, 1, 15, 0, tzinfo=ZoneInfo("Europe/Moscow")),
            "instant must be in UTC, got offset 3:00:00",
        ),
        (MOMENT.replace(microsecond=1), "instant must be whole seconds, got 1 microseconds"),
        (dt.date(2025, 3, 1), "instant must be a datetime, got date"),
    ],
)
def test_format_rejects(moment: dt.datetime, message: str) -> None:
    with pytest.raises(CredentialError) as info:
        format_instant(moment)
    assert info.value.reason == "bad_instant"
    assert str(info.value) == message


@pytest.mark.parametrize(
    "text",
    [
        "2025-03-01T12:00:05",
        "2025-03-01T12:00:05z",
        "2025-03-01t12:00:05Z",
        "2025-03-01 12:00:05Z",
        "2025-03-01T12:00:05.000Z",
        "2025-03-01T12:00:05+00:00",
        "2025-03-01T12:00Z",
        "2025-3-01T12:00:05Z",
        "2025-03-01T12:00:05Z\n",
        "２０２５-03-01T12:00:05Z",
    ],
)
def test_parse_rejects_other_spellings(text: str) -> None:
    with pytest.raises(CredentialError) as info:
        parse_instant(text)
    assert info.value.reason == "bad_instant"
    assert "is not in the form YYYY-MM-DDTHH:MM:SSZ" in str(info.value)


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("2025-02-29T00:00:00Z", "day is out of range for month"),
        ("2025-12-31T23:59:60Z", "second must be in 0..59"),
        ("0000-01-01T00:00:00Z", "year 0 is out of range"),
    ],
)
def test_parse_rejects_impossible_instants(text: str, detail: str) -> None:
    with pytest.raises(CredentialError) as info:
        parse_instant(text)
    assert str(info.value) == f"instant {text!r} does not exist: {detail}"


def test_dates() -> None:
    assert format_date(dt.date(2012, 9, 3)) == "2012-09-03"
    assert parse_date("2012-09-03") == dt.date(2012, 9, 3)
    with pytest.raises(CredentialError, match="expected a date, got datetime"):
        format_date(MOMENT)
    with pytest.raises(CredentialError, match=r"date '2012-9-3' is not in the form YYYY-MM-DD"):
        parse_date("2012-9-3")
    with pytest.raises(CredentialError, match=r"date '2012-02-30' does not exist"):
        parse_date("2012-02-30")
