"""Timestamps and dates in signed payloads: ``YYYY-MM-DDTHH:MM:SSZ`` and ``YYYY-MM-DD``.

An instant is always UTC, always to the second, always in this one spelling
(RFC 3339 profile: uppercase ``T`` and ``Z``, no fraction, no offset), so that it
canonicalises to a single byte string. Python ``datetime`` values passed in must be
timezone-aware with a zero UTC offset and no microseconds; callers truncate
(``now.replace(microsecond=0)``) deliberately rather than have it done silently.

Not guaranteed: leap seconds (``:60``) cannot be represented and are rejected;
years before 0001 or after 9999 do not exist here.
"""

from __future__ import annotations

import datetime as dt
import re

from crypto.errors import CredentialError

__all__ = ["check_instant", "format_date", "format_instant", "parse_date", "parse_instant"]

# [0-9], not \d: \d would also accept other scripts' digits.
_INSTANT = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})Z")
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")


def check_instant(moment: object, name: str = "instant") -> dt.datetime:
    """Return ``moment`` if it is an aware UTC datetime to the second; else raise.

    Raises :class:`~crypto.errors.CredentialError` with reason ``bad_instant``;
    ``name`` is used in the message.
    """
    if not isinstance(moment, dt.datetime):
        raise CredentialError(
            "bad_instant", f"{name} must be a datetime, got {type(moment).__name__}"
        )
    offset = moment.utcoffset()
    if offset is None:
        raise CredentialError("bad_instant", f"{name} must be timezone-aware (UTC), got naive")
    if offset != dt.timedelta(0):
        raise CredentialError("bad_instant", f"{name} must be in UTC, got offset {offset}")
    if moment.microsecond:
        raise CredentialError(
            "bad_instant",
            f"{name} must be whole seconds, got {moment.microsecond} microseconds",
        )
    return moment


def format_instant(moment: dt.datetime) -> str:
    """Write an aware UTC datetime (whole seconds) as ``YYYY-MM-DDTHH:MM:SSZ``."""
    check_instant(moment)
    return (
        f"{moment.year:04d}-{moment.month:02d}-{moment.day:02d}"
        f"T{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}Z"
    )


def parse_instant(text: str) -> dt.datetime:
    """Read ``YYYY-MM-DDTHH:MM:SSZ`` into an aware UTC datetime; nothing else is accepted."""
    if not isinstance(text, str):
        raise CredentialError("bad_instant", f"instant: expected text, got {type(text).__name__}")
    match = _INSTANT.fullmatch(text)
    if match is None:
        raise CredentialError(
            "bad_instant", f"instant {text[:40]!r} is not in the form YYYY-MM-DDTHH:MM:SSZ"
        )
    year, month, day, hour, minute, second = map(int, match.groups())
    try:
        return dt.datetime(year, month, day, hour, minute, second, tzinfo=dt.UTC)
    except ValueError as exc:
        raise CredentialError("bad_instant", f"instant {text!r} does not exist: {exc}") from exc


def format_date(day: dt.date) -> str:
    """Write a calendar date as ``YYYY-MM-DD`` (a ``datetime`` is refused)."""
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        raise CredentialError("bad_instant", f"expected a date, got {type(day).__name__}")
    return f"{day.year:04d}-{day.month:02d}-{day.day:02d}"


def parse_date(text: str) -> dt.date:
    """Read ``YYYY-MM-DD`` into a date; nothing else is accepted."""
    if not isinstance(text, str):
        raise CredentialError("bad_instant", f"date: expected text, got {type(text).__name__}")
    match = _DATE.fullmatch(text)
    if match is None:
        raise CredentialError("bad_instant", f"date {text[:40]!r} is not in the form YYYY-MM-DD")
    year, month, day = map(int, match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError as exc:
        raise CredentialError("bad_instant", f"date {text!r} does not exist: {exc}") from exc
