"""Fiat–Shamir challenges: SHA-512 over a length-prefixed transcript, reduced mod ℓ.

The transcript of a proof is a domain tag followed by items, every one a byte string
written as its length (4 bytes, big-endian) and then its bytes::

    T = len(tag) ‖ tag ‖ len(item₁) ‖ item₁ ‖ … ‖ len(itemₖ) ‖ itemₖ
    c = int_le(SHA-512(T)) mod ℓ

(the same reduction as RFC 8032 §5.1.7). Points are their 32-byte encodings,
scalars 32 bytes little-endian, counts and indices :func:`u32` (4 bytes,
big-endian). The length prefixes make the split into items unambiguous, and the tag
keeps a proof of one kind from being read as another. What each proof puts in its
transcript, in order, is in ``docs/secret-ballots.md`` ("Challenges"); it covers
everything the statement depends on (strong Fiat–Shamir, Bernhard–Pereira–Warinschi
2012).
"""

from __future__ import annotations

import hashlib
from typing import Final

from crypto.group import L

__all__ = [
    "TAG_BIT",
    "TAG_DECRYPTION",
    "TAG_KNOWLEDGE",
    "TAG_SUM",
    "challenge",
    "transcript",
    "u32",
]

TAG_BIT: Final = b"kvorum/secret/v1/bit"
TAG_SUM: Final = b"kvorum/secret/v1/sum"
TAG_DECRYPTION: Final = b"kvorum/secret/v1/decryption"
TAG_KNOWLEDGE: Final = b"kvorum/secret/v1/knowledge"


def u32(value: int) -> bytes:
    """A count or index as 4 bytes big-endian."""
    return value.to_bytes(4, "big")


def transcript(tag: bytes, items: list[bytes]) -> bytes:
    """The exact bytes hashed for a challenge (exposed for the test vectors)."""
    parts = [u32(len(tag)), tag]
    for item in items:
        parts.append(u32(len(item)))
        parts.append(item)
    return b"".join(parts)


def challenge(tag: bytes, items: list[bytes]) -> int:
    """c = SHA-512(transcript) read little-endian, mod ℓ."""
    return int.from_bytes(hashlib.sha512(transcript(tag, items)).digest(), "little") % L
