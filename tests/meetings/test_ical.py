"""The iCalendar invitation: structure, UTC times, escaping, folding, CRLF (RFC 5545)."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from meetings.ical import (
    CalendarEvent,
    calendar_text,
    escape_text,
    fold_line,
    meeting_event,
    utc_stamp,
)
from meetings.models import MeetingForm

PERM = dt.timezone(dt.timedelta(hours=5))
STAMP = dt.datetime(2023, 3, 20, 8, 0, tzinfo=dt.UTC)


def unfold(text: str) -> list[str]:
    """Content lines as a reader sees them (RFC 5545 §3.1: CRLF + one space is removed)."""
    return text.replace("\r\n ", "").split("\r\n")


def fake_meeting(**overrides: Any) -> Any:
    items = [
        SimpleNamespace(position=1, title="О цифровизации профсоюзной деятельности"),
        SimpleNamespace(position=2, title="Разное; прочее, и\\ещё"),
    ]
    values = {
        "id": 7,
        "code": "№ 7",
        "title": "Заседание Совета",
        "starts_at": dt.datetime(2023, 3, 23, 10, 0, tzinfo=PERM),
        "place": "г. Пермь, ул. Ленина, 51, зал 2",
        "form": MeetingForm.MIXED,
        "items": items,
    }
    return SimpleNamespace(**(values | overrides))


def test_structure_times_and_line_endings() -> None:
    event = meeting_event(
        fake_meeting(),
        body_name="Совет Пермского крайсовпрофа",
        host="kvorum.example.ru",
        stamp=STAMP,
        url="https://kvorum.example.ru/meetings/7",
        organizer="kvorum@example.ru",
        attendees=[("Иванов Михаил Григорьевич", "ivanov@example.ru")],
    )
    text = calendar_text(event)
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")  # no bare LF anywhere
    assert "\r" not in text.replace("\r\n", "")
    lines = unfold(text)[:-1]
    assert lines[0] == "BEGIN:VCALENDAR"
    assert lines[-1] == "END:VCALENDAR"
    assert lines.index("BEGIN:VEVENT") < lines.index("END:VEVENT")
    assert "VERSION:2.0" in lines
    assert "METHOD:REQUEST" in lines
    assert any(line.startswith("PRODID:") for line in lines)
    assert "UID:meeting-7@kvorum.example.ru" in lines
    # 10:00 in Perm (UTC+5) is 05:00 UTC.
    assert "DTSTART:20230323T050000Z" in lines
    assert "DTSTAMP:20230320T080000Z" in lines
    assert "DURATION:PT2H" in lines
    summary = next(line for line in lines if line.startswith("SUMMARY:"))
    assert summary == "SUMMARY:Совет Пермского крайсовпрофа: заседание № 7 — Заседание Совета"
    location = next(line for line in lines if line.startswith("LOCATION:"))
    assert location == "LOCATION:г. Пермь\\, ул. Ленина\\, 51\\, зал 2"
    description = next(line for line in lines if line.startswith("DESCRIPTION:"))
    assert "Повестка дня:\\n1. О цифровизации профсоюзной деятельности\\n" in description
    assert "2. Разное\\; прочее\\, и\\\\ещё" in description
    assert 'ORGANIZER;CN="Kvorum":mailto:kvorum@example.ru' in lines
    attendee = next(line for line in lines if line.startswith("ATTENDEE"))
    assert attendee.endswith(":mailto:ivanov@example.ru")
    assert 'CN="Иванов Михаил Григорьевич"' in attendee


def test_every_physical_line_is_at_most_75_octets() -> None:
    long_title = "Очень длинная формулировка вопроса повестки дня " * 6
    text = calendar_text(
        meeting_event(
            fake_meeting(title=long_title, items=[SimpleNamespace(position=1, title=long_title)]),
            body_name="Президиум",
            host="localhost",
            stamp=STAMP,
        )
    )
    physical = text.split("\r\n")[:-1]
    assert max(len(line.encode("utf-8")) for line in physical) <= 75
    assert any(line.startswith(" ") for line in physical)  # it did fold
    # Every physical line is valid UTF-8 on its own: no character was cut in two.
    for line in physical:
        line.encode("utf-8").decode("utf-8")
    assert f"SUMMARY:Президиум: заседание № 7 — {long_title}" in unfold(text)


def test_online_meeting_without_place_says_online() -> None:
    text = calendar_text(
        meeting_event(
            fake_meeting(place="", form=MeetingForm.ONLINE, items=[]),
            body_name="Президиум",
            host="h",
            stamp=STAMP,
        ),
        method="PUBLISH",
    )
    lines = unfold(text)
    assert "LOCATION:Онлайн (Кворум)" in lines
    assert "METHOD:PUBLISH" in lines
    assert not any(line.startswith("ATTENDEE") for line in lines)


@pytest.mark.parametrize(
    ("raw", "escaped"),
    [
        ("a,b", "a\\,b"),
        ("a;b", "a\\;b"),
        ("a\\b", "a\\\\b"),
        ("a\nb", "a\\nb"),
        ("a\r\nb", "a\\nb"),
        ("a\rb", "a\\nb"),
        ("\\n", "\\\\n"),  # a literal backslash-n stays two characters
        ("Пермь", "Пермь"),
    ],
)
def test_escape_text(raw: str, escaped: str) -> None:
    assert escape_text(raw) == escaped


def test_fold_keeps_short_lines_and_splits_at_75_octets() -> None:
    assert fold_line("SUMMARY:short") == "SUMMARY:short"
    line = "X" * 200
    parts = fold_line(line).split("\r\n")
    assert [len(p) for p in parts] == [75, 75, 52]  # 75 + 74 + 51 characters
    assert all(p.startswith(" ") for p in parts[1:])
    # Two-octet letters: 37 of them fill 74 octets; the 38th would make 76.
    cyr = "Ж" * 80
    first, *rest = fold_line(cyr).split("\r\n")
    assert len(first.encode()) == 74
    assert all(len(p.encode()) <= 75 for p in rest)


@given(st.text(min_size=0, max_size=400))
def test_fold_round_trips_and_respects_the_limit(text: str) -> None:
    value = escape_text(text)  # content lines hold no raw CR/LF
    folded = fold_line("DESCRIPTION:" + value)
    assert folded.replace("\r\n ", "") == "DESCRIPTION:" + value
    assert all(len(p.encode("utf-8")) <= 75 for p in folded.split("\r\n"))


@given(st.text(max_size=100))
def test_escaped_text_has_no_bare_separators(text: str) -> None:
    escaped = escape_text(text)
    assert "\n" not in escaped
    assert "\r" not in escaped
    # Unescaping gives the text back (with CR and CRLF normalised to LF).
    out, i = [], 0
    while i < len(escaped):
        if escaped[i] == "\\":
            nxt = escaped[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
        else:
            assert escaped[i] not in ",;"
            out.append(escaped[i])
            i += 1
    assert "".join(out) == text.replace("\r\n", "\n").replace("\r", "\n")


def test_utc_stamp_and_validation() -> None:
    assert utc_stamp(dt.datetime(2023, 3, 23, 10, 0, tzinfo=PERM)) == "20230323T050000Z"
    with pytest.raises(ValueError, match="time zone"):
        utc_stamp(dt.datetime(2023, 3, 23, 10, 0))
    start = dt.datetime(2023, 3, 23, 5, 0, tzinfo=dt.UTC)
    with pytest.raises(ValueError, match="one non-empty line"):
        CalendarEvent(uid="a\r\nb", start=start, stamp=start, summary="x")
    with pytest.raises(ValueError, match="aware"):
        CalendarEvent(uid="u", start=start.replace(tzinfo=None), stamp=start, summary="x")
    with pytest.raises(ValueError, match="positive"):
        CalendarEvent(uid="u", start=start, stamp=start, summary="x", duration=dt.timedelta(0))
    with pytest.raises(ValueError, match="e-mail"):
        CalendarEvent(uid="u", start=start, stamp=start, summary="x", attendees=[("A", "x\r\n")])
    with pytest.raises(ValueError, match="method"):
        calendar_text(CalendarEvent(uid="u", start=start, stamp=start, summary="x"), method="X")
    event = CalendarEvent(
        uid="u", start=start, stamp=start, summary="x", duration=dt.timedelta(minutes=90)
    )
    assert "DURATION:PT1H30M\r\n" in calendar_text(event)
