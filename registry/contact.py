"""Normalisation of the personal fields every entry point shares (API, pages, import)."""

from __future__ import annotations

import re

__all__ = ["normalise_email", "normalise_name_part", "normalise_phone", "normalise_spaces"]

_SPACES = re.compile(r"\s+")
# Practical, not RFC 5322: one @, no spaces, a dot in the domain.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_NAME = re.compile(r"^[^\W\d_]+(?:[-' .][^\W\d_]+)*\.?$")


def normalise_spaces(value: str) -> str:
    """Strip and collapse whitespace (NBSP included)."""
    return _SPACES.sub(" ", value.replace("\xa0", " ")).strip()


def normalise_name_part(value: str) -> str:
    """A surname, name or patronymic: letters of any script, hyphen, apostrophe, dot, space."""
    value = normalise_spaces(value)
    if value and not _NAME.match(value):
        raise ValueError(f"'{value}' may contain only letters, spaces, hyphens and apostrophes")
    return value


def normalise_email(value: str) -> str:
    value = value.strip().lower()
    if not value:
        return ""
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError(f"'{value}' is not an e-mail address")
    return value


def normalise_phone(value: str) -> str:
    """Russian numbers become +7XXXXXXXXXX; others keep their digits (and a leading +)."""
    value = value.strip()
    if not value:
        return ""
    if re.search(r"[^\d\s()+\-.]", value):
        raise ValueError(f"'{value}' is not a phone number")
    digits = re.sub(r"\D", "", value)
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10 and not value.startswith("+"):
        return "+7" + digits
    if 5 <= len(digits) <= 15:
        return ("+" if value.startswith("+") else "") + digits
    raise ValueError(f"'{value}' is not a phone number")
