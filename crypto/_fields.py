"""Checks shared by the value objects and payload readers (private to :mod:`crypto`).

Every failure is ``CredentialError("malformed", ...)`` with a message naming the
object (``what``) and the field, so that a rejected credential says exactly why.

Not guaranteed: text fields are checked for shape (no control, format or surrogate
characters, no outer whitespace), not for meaning; look-alike letters from other
scripts (Latin "a" for Cyrillic "а") pass.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping
from typing import TypeVar

from crypto.canonical import MAX_SAFE_INTEGER
from crypto.errors import CredentialError
from crypto.instant import check_instant, format_instant, parse_date, parse_instant

T = TypeVar("T")


def malformed(what: str, message: str) -> CredentialError:
    return CredentialError("malformed", f"{what}: {message}")


def check_int(value: object, name: str, what: str, *, minimum: int = 1) -> int:
    """An int (never a bool) within ``minimum``..2**53-1."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise malformed(what, f"{name} must be an integer, got {type(value).__name__}")
    if not minimum <= value <= MAX_SAFE_INTEGER:
        raise malformed(what, f"{name} must be between {minimum} and 2**53-1, got {value}")
    return value


# Printable ASCII, and U+00A0 to U+05FF without the soft hyphen (U+00AD): Latin, Greek,
# Cyrillic, Armenian, Hebrew: no code point there is of category Cc, Cs or Cf (the test
# checks every one), so such text needs no character-by-character look.
_PLAIN_TEXT = re.compile("[\x20-\x7e\u00a0-\u00ac\u00ae-\u05ff]*")


def check_text(value: object, name: str, what: str, *, max_length: int) -> str:
    """A non-empty single-line string without control characters or outer spaces."""
    if not isinstance(value, str):
        raise malformed(what, f"{name} must be a string, got {type(value).__name__}")
    if not value:
        raise malformed(what, f"{name} must not be empty")
    if len(value) > max_length:
        raise malformed(what, f"{name} is {len(value)} characters long, at most {max_length}")
    if value != value.strip():
        raise malformed(what, f"{name} must not start or end with whitespace")
    if _PLAIN_TEXT.fullmatch(value):
        return value
    for index, char in enumerate(value):
        # Cc: controls (line breaks, tabs, escapes); Cs: lone surrogates, which
        # cannot be encoded; Cf (e.g. U+202E): bidi tricks that disguise a name.
        if unicodedata.category(char) in ("Cc", "Cs", "Cf"):
            raise malformed(
                what, f"{name} holds the control/format character U+{ord(char):04X} at {index}"
            )
    return value


def check_instant_field(value: object, name: str, what: str) -> dt.datetime:
    try:
        return check_instant(value, name)
    except CredentialError as exc:
        raise malformed(what, str(exc)) from exc


def check_fields(
    payload: Mapping[str, object],
    what: str,
    *,
    required: Collection[str],
    optional: Collection[str] = (),
) -> None:
    """The payload has every required member and nothing unknown."""
    missing = [name for name in required if name not in payload]
    if missing:
        raise malformed(what, f"missing field {missing[0]!r}")
    allowed = set(required) | set(optional)
    unknown = sorted(str(name) for name in payload if name not in allowed)
    if unknown:
        # A field we do not understand might change the meaning of the credential.
        raise malformed(what, f"unknown field {unknown[0]!r}")


def read(payload: Mapping[str, object], name: str, what: str, parse: Callable[[str], T]) -> T:
    """Read a string field and convert it with ``parse`` (a strict parser)."""
    value = payload[name]
    if not isinstance(value, str):
        raise malformed(what, f"{name} must be a string, got {type(value).__name__}")
    try:
        return parse(value)
    except CredentialError as exc:
        raise malformed(what, f"{name}: {exc}") from exc


def read_instant(payload: Mapping[str, object], name: str, what: str) -> dt.datetime:
    return read(payload, name, what, parse_instant)


def read_date(payload: Mapping[str, object], name: str, what: str) -> dt.date:
    return read(payload, name, what, parse_date)


def check_now(now: object) -> dt.datetime:
    """``now`` passed by a caller: any timezone-aware datetime (a naive one is a bug)."""
    if not isinstance(now, dt.datetime) or now.utcoffset() is None:
        raise ValueError(f"now must be a timezone-aware datetime, got {now!r}")
    return now


def check_header(payload: Mapping[str, object], what: str, kind: str, version: int) -> None:
    """The payload's ``type`` and ``v``: ``wrong_type`` / ``unsupported_version``."""
    if payload.get("type") != kind:
        raise CredentialError(
            "wrong_type",
            f"{what}: type is {payload.get('type')!r:.60}, expected {kind!r}",
        )
    if payload.get("v") != version:
        raise CredentialError(
            "unsupported_version",
            f"{what}: version {payload.get('v')!r:.20} is not supported "
            f"(this software reads version {version})",
        )


def check_signing_key(what: str, issuer: str, key_id: str) -> None:
    """A document names its issuer; only that key may sign it (``issuer_mismatch``)."""
    if key_id != issuer:
        raise CredentialError(
            "issuer_mismatch", f"{what} names issuer {issuer} but the signing key is {key_id}"
        )


def check_validity(issued_at: object, expires_at: object, what: str) -> None:
    """Both instants well formed, and the validity period not empty."""
    issued = check_instant_field(issued_at, "issued_at", what)
    expires = check_instant_field(expires_at, "expires_at", what)
    if expires <= issued:
        raise malformed(
            what,
            f"expires_at ({format_instant(expires)}) must be after "
            f"issued_at ({format_instant(issued)})",
        )
