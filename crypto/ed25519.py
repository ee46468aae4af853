"""Ed25519 signing keys and public keys (RFC 8032), through PyNaCl/libsodium.

A public key is named by its *key id*: the lowercase hex of the first 16 bytes of
the SHA-256 of the 32 raw key bytes (32 hex digits). The browser computes the
same id (``keyId`` in ``web/static/js/kvcrypto.js``).

Public keys are checked on construction with libsodium's
``crypto_core_ed25519_is_valid_point``: the encoding must be canonical, the point
on the curve, in the prime-order subgroup and not of small order. A small-order
key would let anyone forge signatures that verify under it.

Not guaranteed:

* Verification follows libsodium's rules (canonical ``S < ℓ``, ``R`` not of small
  order, cofactorless equation). Other implementations, WebCrypto in a browser
  among them, may accept a few crafted edge-case signatures that libsodium
  rejects; Kvorum's verdict is the one computed here.
* Signing runs in libsodium (constant time); everything around it is Python, and
  a :class:`SigningKey` held in Python memory cannot be reliably wiped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Self

import nacl.bindings
import nacl.exceptions
import nacl.signing

from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CredentialError
from crypto.hashing import sha256

__all__ = [
    "KEY_ID_PATTERN",
    "PUBLIC_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "PublicKey",
    "SigningKey",
    "check_key_id",
]

SEED_SIZE = 32
PUBLIC_KEY_SIZE = 32
SIGNATURE_SIZE = 64

#: A key id: 32 lowercase hex digits.
KEY_ID_PATTERN = re.compile(r"[0-9a-f]{32}")


def check_key_id(value: object, name: str = "key id") -> str:
    """Return ``value`` if it is a key id (32 lowercase hex digits); else raise.

    Raises :class:`~crypto.errors.CredentialError` with reason ``malformed``.
    """
    if not isinstance(value, str) or not KEY_ID_PATTERN.fullmatch(value):
        raise CredentialError(
            "malformed", f"{name} must be 32 lowercase hex digits, got {value!r:.60}"
        )
    return value


@dataclass(frozen=True)
class PublicKey:
    """An Ed25519 public key: 32 raw bytes (RFC 8032 §5.1.5 encoding)."""

    raw: bytes

    def __post_init__(self) -> None:
        if not isinstance(self.raw, bytes):
            raise CredentialError(
                "bad_public_key",
                f"public key must be bytes, got {type(self.raw).__name__}",
            )
        if len(self.raw) != PUBLIC_KEY_SIZE:
            raise CredentialError(
                "bad_public_key",
                f"public key must be {PUBLIC_KEY_SIZE} bytes, got {len(self.raw)}",
            )
        if self.raw == bytes(PUBLIC_KEY_SIZE):
            raise CredentialError("bad_public_key", "public key is all zero bytes")
        if not nacl.bindings.crypto_core_ed25519_is_valid_point(self.raw):
            raise CredentialError(
                "bad_public_key",
                "public key is not a canonical point of the prime-order subgroup "
                "(non-canonical, off the curve or of small order)",
            )

    @classmethod
    def parse(cls, data: bytes) -> Self:
        """Read a public key from its 32 raw bytes."""
        return cls(bytes(data))

    def __bytes__(self) -> bytes:
        return self.raw

    @classmethod
    def from_b64u(cls, text: str) -> Self:
        """Read a public key from unpadded base64url of its 32 raw bytes."""
        try:
            raw = b64u_decode(text, length=PUBLIC_KEY_SIZE)
        except CredentialError as exc:
            raise CredentialError("bad_public_key", f"public key: {exc}") from exc
        return cls(raw)

    @property
    def b64u(self) -> str:
        """Unpadded base64url of the 32 raw bytes."""
        return b64u_encode(self.raw)

    @property
    def key_id(self) -> str:
        """Lowercase hex of the first 16 bytes of SHA-256 of the raw key."""
        return sha256(self.raw)[:16].hex()

    def verify(self, message: bytes, signature: bytes) -> None:
        """Check a detached signature; raise ``CredentialError("bad_signature")`` if bad."""
        if not isinstance(signature, bytes) or len(signature) != SIGNATURE_SIZE:
            size = len(signature) if isinstance(signature, bytes) else type(signature).__name__
            raise CredentialError(
                "bad_signature", f"signature must be {SIGNATURE_SIZE} bytes, got {size}"
            )
        try:
            nacl.signing.VerifyKey(self.raw).verify(bytes(message), signature)
        except nacl.exceptions.BadSignatureError as exc:
            raise CredentialError(
                "bad_signature",
                f"the signature does not verify under key {self.key_id}",
            ) from exc

    def __repr__(self) -> str:
        return f"PublicKey({self.b64u!r})"


class SigningKey:
    """An Ed25519 private key, held as its 32-byte seed (RFC 8032 §5.1.5).

    Used by the server for the organisation's registry key and by tests; members'
    private keys never exist in Python (they are generated non-extractable in the
    browser). ``repr`` never shows the seed.
    """

    __slots__ = ("_key", "_public")

    def __init__(self, key: nacl.signing.SigningKey) -> None:
        self._key = key
        self._public = PublicKey(bytes(key.verify_key))

    @classmethod
    def generate(cls) -> Self:
        """Make a new key from the operating system's random source."""
        return cls(nacl.signing.SigningKey.generate())

    @classmethod
    def from_seed(cls, seed: bytes) -> Self:
        """Rebuild a key from its 32-byte seed."""
        if not isinstance(seed, bytes) or len(seed) != SEED_SIZE:
            size = len(seed) if isinstance(seed, bytes) else type(seed).__name__
            raise ValueError(f"an Ed25519 seed must be {SEED_SIZE} bytes, got {size}")
        return cls(nacl.signing.SigningKey(seed))

    @property
    def seed(self) -> bytes:
        """The 32-byte secret seed. Handle with care."""
        return bytes(self._key)

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte detached signature of ``message`` (deterministic)."""
        return bytes(self._key.sign(bytes(message)).signature)

    def __repr__(self) -> str:
        return f"SigningKey(public_key={self._public.b64u!r})"
