"""crypto._fields: the shortcut of check_text agrees with its per-character rule."""

from __future__ import annotations

import unicodedata

import pytest

from crypto._fields import _PLAIN_TEXT, check_text
from crypto.errors import CredentialError


def test_no_code_point_the_shortcut_passes_is_a_control_or_format_character() -> None:
    passed = [chr(c) for c in range(0x110000) if _PLAIN_TEXT.fullmatch(chr(c))]
    assert len(passed) > 1000
    assert all(unicodedata.category(c) not in ("Cc", "Cs", "Cf") for c in passed)


@pytest.mark.parametrize(
    "text", ["Кузнецова\u00adОльга", "Иван\u200bов", "abc\x7f", "Петров\u202e", "a\u0600b"]
)
def test_text_outside_the_shortcut_is_still_checked(text: str) -> None:
    with pytest.raises(CredentialError, match="control/format character"):
        check_text(text, "name", "test", max_length=100)


def test_plain_names_pass() -> None:
    for text in ("Кузнецова Ольга Ивановна", "Ёлкин-Палкин О'Нил", "Ωμέγα 12"):
        assert check_text(text, "name", "test", max_length=100) == text
