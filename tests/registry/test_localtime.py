"""Times as people read them: the organisation's wall clock and the zone's human name."""

from __future__ import annotations

import datetime as dt

import pytest

from registry.localtime import DEFAULT_ZONE, LocalClock, offset_label, zone_label

WINTER = dt.datetime(2026, 12, 7, 17, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("zone", "ru", "en"),
    [
        ("Asia/Yekaterinburg", "по пермскому времени, UTC+5", "Perm time, UTC+5"),
        ("Europe/Moscow", "по московскому времени, UTC+3", "Moscow time, UTC+3"),
        ("Europe/Kaliningrad", "по калининградскому времени, UTC+2", "Kaliningrad time, UTC+2"),
        ("Asia/Kamchatka", "по камчатскому времени, UTC+12", "Kamchatka time, UTC+12"),
        ("Asia/Kolkata", "по времени UTC+5:30", "UTC+5:30 time"),
    ],
)
def test_a_zone_is_named_as_people_name_it(zone: str, ru: str, en: str) -> None:
    assert zone_label(zone, "ru", WINTER) == ru
    assert zone_label(zone, "en", WINTER) == en


def test_the_clock_shows_the_zones_wall_time_never_utc() -> None:
    clock = LocalClock(DEFAULT_ZONE)
    assert clock(WINTER) == "07.12.2026 22:00"
    assert clock(WINTER, "%H:%M") == "22:00"
    assert clock.labelled(WINTER) == "07.12.2026 22:00 (по пермскому времени, UTC+5)"
    assert clock(None) == ""
    # A naive instant is read as the UTC it was stored in.
    assert clock(WINTER.replace(tzinfo=None)) == "07.12.2026 22:00"
    assert offset_label("Europe/Moscow", WINTER) == "UTC+3"
    assert offset_label("America/St_Johns", WINTER) == "UTC−3:30"


def test_an_unknown_zone_falls_back_to_the_default() -> None:
    assert LocalClock("Nowhere/City")(WINTER) == "07.12.2026 22:00"
