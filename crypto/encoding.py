"""Strict base64url without padding (RFC 4648 §5, as JOSE uses it).

Every byte string has exactly one accepted text form: padding ``=`` is refused,
characters outside ``A-Z a-z 0-9 - _`` are refused (no whitespace, no standard
base64 ``+`` ``/``), and the unused low bits of the last character must be zero.
Without that last rule ``AA`` and ``AB`` would both decode to ``b"\\x00"``, and a
signature or key could be re-encoded into a second valid-looking string.

Not guaranteed: decoding runs in time that depends on the input, so it is not
meant for secret values that must resist a timing observer.
"""

from __future__ import annotations

import base64
import binascii
import re

from crypto.errors import CredentialError

__all__ = ["b64u_decode", "b64u_encode"]

_ALPHABET = re.compile(r"[A-Za-z0-9_-]*")


def b64u_encode(data: bytes) -> str:
    """Encode bytes as base64url text without padding."""
    return base64.urlsafe_b64encode(bytes(data)).rstrip(b"=").decode("ascii")


def b64u_decode(text: str, *, length: int | None = None) -> bytes:
    """Decode strict unpadded base64url; with ``length``, require that many bytes.

    Raises :class:`~crypto.errors.CredentialError` with reason ``bad_base64``.
    """
    if not isinstance(text, str):
        raise CredentialError("bad_base64", f"base64url: expected text, got {type(text).__name__}")
    if "=" in text:
        raise CredentialError("bad_base64", "base64url: padding '=' is not allowed")
    if not _ALPHABET.fullmatch(text):
        bad = next(char for char in text if not _ALPHABET.fullmatch(char))
        raise CredentialError(
            "bad_base64", f"base64url: character {bad!r} is not in the base64url alphabet"
        )
    if len(text) % 4 == 1:
        raise CredentialError(
            "bad_base64", f"base64url: length {len(text)} is impossible (a length of 4n+1)"
        )
    try:
        data = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - excluded by the checks above
        raise CredentialError("bad_base64", f"base64url: {exc}") from exc
    if b64u_encode(data) != text:
        raise CredentialError(
            "bad_base64", "base64url: the unused bits of the last character are not zero"
        )
    if length is not None and len(data) != length:
        raise CredentialError("bad_base64", f"base64url: expected {length} bytes, got {len(data)}")
    return data
