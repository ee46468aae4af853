"""The iCalendar (RFC 5545) invitation sent with a meeting's announcement.

A pure function of its inputs: no clock, no settings, no network. The text uses
CRLF line endings, folds content lines at 75 octets without splitting a UTF-8
character, and escapes TEXT values, so that calendar programs (Outlook, Thunderbird,
Yandex and Mail.ru calendars, phones) put the meeting into the member's calendar.

It does not sign or encrypt anything: a calendar entry is a convenience, the
announcement in Kvorum (and its notice) is the record.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

from meetings.models import Meeting, MeetingForm

__all__ = [
    "PRODID",
    "CalendarEvent",
    "calendar_text",
    "escape_text",
    "fold_line",
    "meeting_event",
    "utc_stamp",
]

PRODID = "-//Kvorum//Kvorum meetings//RU"
# RFC 5545 §3.1: "Lines of text SHOULD NOT be longer than 75 octets, excluding the
# line break."
MAX_OCTETS = 75
CRLF = "\r\n"
DEFAULT_DURATION = dt.timedelta(hours=2)

_FORM_RU = {
    MeetingForm.IN_PERSON: "очное заседание",
    MeetingForm.ONLINE: "заседание онлайн",
    MeetingForm.MIXED: "смешанное заседание (в зале и онлайн)",
    MeetingForm.ABSENTEE: "заочное голосование",
}


def escape_text(value: str) -> str:
    """A TEXT value escaped per RFC 5545 §3.3.11: backslash, semicolon, comma, newline."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold_line(line: str) -> str:
    """One content line folded at 75 octets (RFC 5545 §3.1), joined with CRLF + space.

    The limit counts UTF-8 octets, and a fold never falls inside a multi-octet
    character: a Cyrillic letter is two octets and must arrive whole.
    """
    parts: list[str] = []
    current: list[str] = []
    size = 0
    limit = MAX_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            parts.append("".join(current))
            current, size = [], 0
            limit = MAX_OCTETS - 1  # the continuation's leading space is one of its octets
        current.append(char)
        size += width
    parts.append("".join(current))
    return (CRLF + " ").join(parts)


def utc_stamp(moment: dt.datetime) -> str:
    """A DATE-TIME in UTC form, ``YYYYMMDDTHHMMSSZ`` (RFC 5545 §3.3.5, form #2)."""
    if moment.tzinfo is None:
        raise ValueError("a calendar time needs a time zone: give an aware datetime")
    return moment.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def _duration(value: dt.timedelta) -> str:
    """A positive DURATION (RFC 5545 §3.3.6) in hours, minutes and seconds."""
    seconds = int(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    text = "PT"
    if hours:
        text += f"{hours}H"
    if minutes:
        text += f"{minutes}M"
    if secs or text == "PT":
        text += f"{secs}S"
    return text


@dataclass(frozen=True)
class CalendarEvent:
    """One VEVENT: what, when, where, and who invites whom."""

    uid: str
    start: dt.datetime
    stamp: dt.datetime
    summary: str
    location: str = ""
    description: str = ""
    duration: dt.timedelta = DEFAULT_DURATION
    organizer: str = ""  # an e-mail address; required by iTIP (RFC 5546) for REQUEST
    attendees: Sequence[tuple[str, str]] = field(default_factory=tuple)  # (name, e-mail)
    url: str = ""

    def __post_init__(self) -> None:
        if not self.uid or any(c in self.uid for c in "\r\n"):
            raise ValueError("the UID must be one non-empty line")
        if self.start.tzinfo is None or self.stamp.tzinfo is None:
            raise ValueError("start and stamp must be aware datetimes")
        if self.duration <= dt.timedelta(0):
            raise ValueError("the duration must be positive")
        for name, address in self.attendees:
            if not address or any(c in address for c in '\r\n:;,"') or "@" not in address:
                raise ValueError(f"not an e-mail address: {address!r}")
            if any(c in name for c in "\r\n"):
                raise ValueError("an attendee's name must be one line")
        if self.organizer and "@" not in self.organizer:
            raise ValueError(f"not an e-mail address: {self.organizer!r}")


def _param(value: str) -> str:
    """A parameter value: quoted, with the characters a quoted value cannot hold dropped
    (RFC 5545 §3.2: DQUOTE is not allowed inside, there is no escape for it)."""
    return '"' + "".join(c for c in value if c not in '"\r\n') + '"'


def calendar_text(event: CalendarEvent, *, method: str = "REQUEST") -> str:
    """The whole VCALENDAR object, CRLF-terminated, ready to attach as text/calendar."""
    if method not in {"REQUEST", "PUBLISH"}:
        raise ValueError(f"unsupported iTIP method: {method}")
    lines = [
        "BEGIN:VCALENDAR",
        f"PRODID:{PRODID}",
        "VERSION:2.0",
        "CALSCALE:GREGORIAN",
        f"METHOD:{method}",
        "BEGIN:VEVENT",
        f"UID:{event.uid}",
        f"DTSTAMP:{utc_stamp(event.stamp)}",
        f"DTSTART:{utc_stamp(event.start)}",
        f"DURATION:{_duration(event.duration)}",
        f"SUMMARY:{escape_text(event.summary)}",
    ]
    if event.location:
        lines.append(f"LOCATION:{escape_text(event.location)}")
    if event.description:
        lines.append(f"DESCRIPTION:{escape_text(event.description)}")
    if event.url:
        lines.append(f"URL:{event.url}")
    if event.organizer:
        lines.append(f"ORGANIZER;CN={_param('Kvorum')}:mailto:{event.organizer}")
    for name, address in event.attendees:
        cn = f";CN={_param(name)}" if name else ""
        lines.append(
            f"ATTENDEE{cn};ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=FALSE:mailto:{address}"
        )
    lines += ["SEQUENCE:0", "STATUS:CONFIRMED", "TRANSP:OPAQUE", "END:VEVENT", "END:VCALENDAR"]
    return "".join(fold_line(line) + CRLF for line in lines)


def meeting_event(
    meeting: Meeting,
    *,
    body_name: str,
    host: str,
    stamp: dt.datetime,
    url: str = "",
    organizer: str = "",
    attendees: Sequence[tuple[str, str]] = (),
) -> CalendarEvent:
    """The calendar entry of a meeting: ``UID:meeting-<id>@<host>``, the agenda as text."""
    agenda = "\n".join(f"{item.position}. {item.title}" for item in meeting.items)
    description = f"{body_name}. Заседание {meeting.code}, {_FORM_RU[meeting.form]}."
    if agenda:
        description += f"\n\nПовестка дня:\n{agenda}"
    if url:
        description += f"\n\n{url}"
    location = meeting.place
    if not location and meeting.form is MeetingForm.ONLINE:
        location = "Онлайн (Кворум)"
    return CalendarEvent(
        uid=f"meeting-{meeting.id}@{host}",
        start=meeting.starts_at,
        stamp=stamp,
        summary=f"{body_name}: заседание {meeting.code} — {meeting.title}",
        location=location,
        description=description,
        url=url,
        organizer=organizer,
        attendees=tuple(attendees),
    )
