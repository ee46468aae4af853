"""Rules for the personal fields every entry point shares: the API, the pages and the
member-file import all accept exactly the same names, cards, e-mails and phones."""

from __future__ import annotations

import re
from typing import Final

__all__ = [
    "CARD_PATTERN",
    "EMAIL_MAX",
    "EMAIL_PATTERN",
    "NAME_PATTERN",
    "PHONE_PATTERN",
    "FieldRuleError",
    "normalise_card",
    "normalise_email",
    "normalise_name_part",
    "normalise_phone",
    "normalise_spaces",
]

# Letters of any script (at least one), combining accents, hyphens, apostrophes, dots
# and spaces: "Эмир-Вели", "О’Нил", "Ахмед оглы".
NAME_PATTERN: Final = re.compile(r"(?=.*[^\W\d_])(?:[^\W\d_]|[\u0300-\u036f\-\u2010\u2011'’ʼ. ])+")
CARD_PATTERN: Final = re.compile(r"(?:[^\W_]|[-/])+")
# Practical, not RFC 5322: a dotted local part, a domain of labels, a letter TLD
# (Cyrillic ones too) or an IDNA one.
EMAIL_PATTERN: Final = re.compile(
    r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*"
    r"@(?:[^\W_](?:[\w-]*[^\W_])?\.)+(?:[^\W\d_]{2,63}|xn--[a-z0-9-]+)"
)
PHONE_PATTERN: Final = re.compile(r"\+?[0-9 ().\-]+")
EMAIL_MAX: Final = 254  # RFC 5321 path limit

_SPACES = re.compile(r"\s+")


class FieldRuleError(ValueError):
    """A value breaks one of these rules; ``rule`` names which, for translated messages."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message)
        self.rule = rule


_NON_DIGITS = re.compile(r"[^0-9]")


def normalise_spaces(value: str) -> str:
    """Strip and collapse whitespace (NBSP included)."""
    return _SPACES.sub(" ", value.replace("\xa0", " ")).strip()


def normalise_name_part(value: str) -> str:
    """A surname, name or patronymic, whitespace collapsed; "" stays ""."""
    value = normalise_spaces(value)
    if value and NAME_PATTERN.fullmatch(value) is None:
        raise FieldRuleError(
            "name_chars",
            f"'{value}' may contain only letters, hyphens, apostrophes, dots and spaces",
        )
    return value


def normalise_card(value: str) -> str:
    """A union card number: "№ 12 345" and "12345" are the same card."""
    card = "".join(value.split()).lstrip("№")
    if not card:
        raise FieldRuleError("missing", "the union card number is required")
    if CARD_PATTERN.fullmatch(card) is None:
        raise FieldRuleError(
            "card_chars", f"card number '{card}' may contain only letters, digits, '-' and '/'"
        )
    return card


def normalise_email(value: str) -> str:
    email = value.strip().lower()
    if not email:
        return ""
    if len(email) > EMAIL_MAX or EMAIL_PATTERN.fullmatch(email) is None:
        raise FieldRuleError("email", f"'{value.strip()}' is not a valid e-mail address")
    return email


def normalise_phone(value: str) -> str:
    """Russian numbers become +7XXXXXXXXXX; others keep their digits (and a leading +)."""
    value = value.strip()
    if not value:
        return ""
    digits = _NON_DIGITS.sub("", value)
    if PHONE_PATTERN.fullmatch(value) is None or not 5 <= len(digits) <= 15:
        raise FieldRuleError("phone", f"'{value}' is not a phone number (expected 5 to 15 digits)")
    # Russian numbers: 8 or 7 trunk prefix, or ten digits without it.
    if len(digits) == 11 and digits[0] in "78":
        return "+7" + digits[1:]
    if len(digits) == 10:
        return "+7" + digits
    return "+" + digits if value.startswith("+") else digits
