"""SHA-256 and content addresses (``sha256:`` followed by 64 lowercase hex digits).

A content address names a document by its hash, so that a protocol, a ballot
board head or a PDF can be referred to and checked offline. There is exactly one
accepted spelling for a digest (lowercase hex, this prefix), so addresses can be
compared as strings.

Not guaranteed: SHA-256 is used as a collision-resistant hash only; nothing here
is a MAC or a password hash.
"""

from __future__ import annotations

import hashlib
import re

from crypto.errors import CredentialError

__all__ = ["CONTENT_ADDRESS_PREFIX", "content_address", "parse_content_address", "sha256"]

CONTENT_ADDRESS_PREFIX = "sha256:"
_ADDRESS = re.compile(r"sha256:([0-9a-f]{64})")


def sha256(data: bytes) -> bytes:
    """Return the 32-byte SHA-256 digest of ``data``."""
    return hashlib.sha256(data).digest()


def content_address(data: bytes) -> str:
    """Return ``"sha256:" + lowercase hex`` of the SHA-256 of ``data``."""
    return CONTENT_ADDRESS_PREFIX + hashlib.sha256(data).hexdigest()


def parse_content_address(text: str) -> bytes:
    """Return the 32-byte digest named by a content address.

    Raises :class:`~crypto.errors.CredentialError` (``bad_content_address``) for
    any other algorithm, uppercase hex, a wrong length or surrounding whitespace.
    """
    if not isinstance(text, str):
        raise CredentialError(
            "bad_content_address",
            f"content address: expected text, got {type(text).__name__}",
        )
    match = _ADDRESS.fullmatch(text)
    if match is None:
        raise CredentialError(
            "bad_content_address",
            f"content address {text[:80]!r} is not 'sha256:' followed by 64 lowercase hex digits",
        )
    return bytes.fromhex(match.group(1))
