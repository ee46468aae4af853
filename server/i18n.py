"""UI messages: Russian first, English second, looked up by key from JSON catalogues."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

__all__ = ["DEFAULT_LOCALE", "LOCALES", "Catalogues", "Translator", "refusal_text"]

LOCALES = ("ru", "en")
DEFAULT_LOCALE = "ru"
CATALOGUE_DIR = Path(__file__).resolve().parent.parent / "web" / "i18n"


class Translator:
    """Messages of one locale; a missing key falls back to Russian, then to the key."""

    def __init__(self, locale: str, messages: Mapping[str, str], fallback: Mapping[str, str]):
        self.locale = locale
        self._messages = messages
        self._fallback = fallback

    def __call__(self, key: str, /, **params: object) -> str:
        text = self._messages.get(key) or self._fallback.get(key) or key
        return text.format(**params) if params else text

    def has(self, key: str) -> bool:
        return key in self._messages or key in self._fallback

    def texts(self, prefix: str) -> dict[str, str]:
        """Every message under ``prefix`` (its keys without it): what a page's script says,
        handed to it in one piece."""
        keys = {k for k in (*self._fallback, *self._messages) if k.startswith(prefix)}
        return {k.removeprefix(prefix): self(k) for k in sorted(keys)}


#: Codes every error class carries by default: they name the kind of refusal, not what
#: was refused, so their catalogue text is a heading rather than an explanation.
GENERIC_CODES = frozenset(
    {"invalid_input", "not_found", "conflict", "forbidden", "not_authenticated", "domain_error"}
)


def refusal_text(t: Translator, code: str, params: Mapping[str, object]) -> str | None:
    """What a refusal says in the user's language: ``error.<code>`` filled with the
    error's ``params``, or None when the code has no sentence of its own (a generic
    code, or one the catalogues do not know)."""
    key = f"error.{code}"
    if code in GENERIC_CODES or not t.has(key):
        return None
    try:
        return t(key, **params)
    except (KeyError, IndexError):  # a catalogue text naming a parameter the error lacks
        return t(key)


class Catalogues:
    def __init__(self, directory: Path = CATALOGUE_DIR) -> None:
        self._messages = {
            locale: json.loads((directory / f"{locale}.json").read_text("utf-8"))
            for locale in LOCALES
        }

    def translator(self, locale: str) -> Translator:
        if locale not in self._messages:
            locale = DEFAULT_LOCALE
        return Translator(locale, self._messages[locale], self._messages[DEFAULT_LOCALE])

    def keys(self, locale: str) -> set[str]:
        return set(self._messages[locale])

    @staticmethod
    def negotiate(cookie: str | None) -> str:
        """The user's explicit choice (the RU | EN switch) wins; otherwise Russian.

        The browser's Accept-Language is deliberately not consulted: members of a
        Russian union on an English-language computer still expect Russian pages.
        """
        return cookie if cookie in LOCALES else DEFAULT_LOCALE
