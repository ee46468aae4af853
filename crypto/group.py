"""The group of secret ballots: the prime-order subgroup of Ed25519.

Elements are points of order ℓ (and the identity) on the Edwards curve of RFC 8032,
written as their 32-byte canonical compressed encoding (RFC 8032 §5.1.2) and, in
JSON, as unpadded base64url (:mod:`crypto.encoding`, 43 characters). Scalars are
integers modulo ℓ = 2²⁵² + 27742317777372353535851937790883648493, written as 32
bytes little-endian with a value below ℓ. The generator g is the RFC 8032 base
point. Group law is written additively in code (``P + Q``, ``k * P``) and
multiplicatively in ``docs/secret-ballots.md`` (P·Q, Pᵏ), as the ElGamal literature
does.

The identity. libsodium's ``crypto_scalarmult_ed25519_*noclamp`` refuse a zero
result, a zero scalar and a small-order input, and ``crypto_core_ed25519_is_valid_point``
calls the identity invalid; yet honest arithmetic reaches it (g⁰ is the decryption
of a zero count, the sum of no ballots is (identity, identity)). Here the identity is
an ordinary element: its one accepted encoding is ``01 00 … 00`` (y = 1, x = 0,
sign bit clear), it is special-cased before every call into libsodium, and only the
places where it would be a weakness (election key, commitments) refuse it, with
check S-6. Every other small-order point, and every non-canonical spelling of the
identity, is refused.

Every point read from outside passes :func:`check_point` (S-1 … S-6); points made
by arithmetic here are valid by construction and are not checked again.

Not guaranteed: Python integers and the dispatch around libsodium do not run in
constant time. Verification handles public data only; the browser encrypts, and
the server-side prover exists for tests and vectors.
"""

from __future__ import annotations

import functools
import secrets
from typing import Final

import nacl.bindings  # noqa: F401  (importing it runs sodium_init)
from nacl._sodium import ffi as _ffi
from nacl._sodium import lib as _lib

from crypto import _edwards
from crypto.encoding import b64u_decode, b64u_encode
from crypto.errors import CredentialError, SecretBallotError

__all__ = [
    "GENERATOR",
    "IDENTITY",
    "IDENTITY_ENCODING",
    "POINT_SIZE",
    "SCALAR_SIZE",
    "SMALL_ORDER_ENCODINGS",
    "L",
    "Point",
    "base",
    "check_point",
    "check_scalar",
    "encode_scalar",
    "minus_base",
    "parse_point",
    "parse_scalar",
    "random_scalar",
    "read_point_unchecked",
    "scalar_bytes",
]

#: ℓ, the order of the prime-order subgroup (RFC 8032 §5.1).
L: Final = 2**252 + 27742317777372353535851937790883648493
POINT_SIZE: Final = 32
SCALAR_SIZE: Final = 32
IDENTITY_ENCODING: Final = b"\x01" + bytes(31)

_b64_text_length = 43  # 32 bytes as unpadded base64url

# The hot path calls libsodium through PyNaCl's compiled cffi module directly: the
# public wrappers in nacl.bindings re-check their arguments and format their error
# messages on every call, which costs about a tenth of a multiplication. The
# arguments here are always 32-byte strings; tests compare both paths.
_new = _ffi.new
_buffer = _ffi.buffer
_add = _lib.crypto_core_ed25519_add
_sub = _lib.crypto_core_ed25519_sub
_mul = _lib.crypto_scalarmult_ed25519_noclamp
_mul_base = _lib.crypto_scalarmult_ed25519_base_noclamp


def _call(function: object, *args: bytes) -> bytes:
    out = _new("unsigned char[32]")
    if function(out, *args) != 0:  # type: ignore[operator]
        raise RuntimeError("libsodium refused the operation")
    return _buffer(out, 32)[:]  # type: ignore[no-any-return]


class Point:
    """An element of the prime-order subgroup, held as its canonical encoding.

    Build one from outside data with :func:`parse_point` / :meth:`from_bytes`
    (validated); arithmetic returns points that are valid by construction.
    """

    __slots__ = ("raw",)
    raw: bytes

    def __init__(self, raw: bytes) -> None:
        # Private: use from_bytes/parse_point for untrusted bytes.
        object.__setattr__(self, "raw", raw)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("Point is immutable")

    @classmethod
    def from_bytes(cls, raw: bytes, *, what: str = "point", allow_identity: bool = True) -> Point:
        """Validate 32 bytes as a group element (S-1 … S-6) and return it."""
        check_point(raw, what=what, allow_identity=allow_identity)
        return cls(bytes(raw))

    @property
    def is_identity(self) -> bool:
        return self.raw == IDENTITY_ENCODING

    def encode(self) -> str:
        """Unpadded base64url of the 32-byte encoding."""
        return b64u_encode(self.raw)

    def __bytes__(self) -> bytes:
        return self.raw

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Point) and self.raw == other.raw

    def __hash__(self) -> int:
        return hash(self.raw)

    def __repr__(self) -> str:
        return f"Point({self.encode()})"

    def __add__(self, other: Point) -> Point:
        if self.raw == IDENTITY_ENCODING:
            return other
        if other.raw == IDENTITY_ENCODING:
            return self
        # crypto_core_ed25519_add accepts any on-curve input and may return the
        # identity (P + (−P)); it does not refuse it.
        return Point(_call(_add, self.raw, other.raw))

    def __sub__(self, other: Point) -> Point:
        if other.raw == IDENTITY_ENCODING:
            return self
        if self.raw == other.raw:
            return IDENTITY
        if self.raw == IDENTITY_ENCODING:
            return -other
        return Point(_call(_sub, self.raw, other.raw))

    def __neg__(self) -> Point:
        if self.raw == IDENTITY_ENCODING:
            return self
        # Negation flips the sign bit of x (x ≠ 0 for every non-identity point of
        # the prime-order subgroup).
        return Point(self.raw[:31] + bytes([self.raw[31] ^ 0x80]))

    def __mul__(self, k: int) -> Point:
        """k·P for any integer k (reduced mod ℓ)."""
        k %= L
        if k == 0 or self.raw == IDENTITY_ENCODING:
            # libsodium refuses both (a zero scalar, a small-order input).
            return IDENTITY
        try:
            return Point(_call(_mul, k.to_bytes(32, "little"), self.raw))
        except RuntimeError:
            # libsodium refuses exactly what check_point refuses (non-canonical, off
            # the curve, small or mixed order): only a point that was read without
            # validation (see crypto.secretballot.check_ballot) gets here.
            check_point(self.raw)
            raise

    __rmul__ = __mul__


IDENTITY: Final = Point(IDENTITY_ENCODING)


def base(k: int) -> Point:
    """gᵏ: k times the RFC 8032 base point (k reduced mod ℓ; g⁰ is the identity)."""
    k %= L
    if k == 0:
        return IDENTITY
    return Point(_call(_mul_base, k.to_bytes(32, "little")))


GENERATOR: Final = base(1)


@functools.lru_cache(maxsize=128)
def minus_base(k: int) -> Point:
    """g⁻ᵏ for small k, cached: the shifts β·g⁻ʲ of the disjunctive proofs."""
    return base(-k)


# The eight points of order dividing 8 (E[8]), for telling small order from mixed
# order; tests/crypto/test_group.py recomputes them.
SMALL_ORDER_ENCODINGS: Final = frozenset(
    bytes.fromhex(h)
    for h in (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    )
)


def check_point(raw: object, *, what: str = "point", allow_identity: bool = True) -> None:
    """Refuse anything that is not the canonical encoding of a group element.

    S-1 ``malformed_point`` (not 32 bytes), S-2 ``noncanonical_point``, S-3
    ``point_not_on_curve``, S-4 ``small_order_point``, S-5 ``point_not_in_subgroup``,
    S-6 ``identity_not_allowed`` (the identity where ``allow_identity`` is false).
    """
    if not isinstance(raw, bytes) or len(raw) != POINT_SIZE:
        size = len(raw) if isinstance(raw, bytes) else type(raw).__name__
        raise SecretBallotError("S-1", "malformed_point", f"{what}: expected 32 bytes, got {size}")
    if raw == IDENTITY_ENCODING:
        if not allow_identity:
            raise SecretBallotError(
                "S-6", "identity_not_allowed", f"{what} is the identity, which is refused here"
            )
        return
    if _lib.crypto_core_ed25519_is_valid_point(raw) == 1:
        return
    _diagnose(raw, what)


def _diagnose(raw: bytes, what: str) -> None:
    """libsodium refused ``raw``: say why (slow path, Python arithmetic)."""
    point, why = _edwards.decode(raw)
    if point is None:
        if why == "not_on_curve":
            raise SecretBallotError(
                "S-3", "point_not_on_curve", f"{what} is not a point of Ed25519"
            )
        raise SecretBallotError(
            "S-2", "noncanonical_point", f"{what} is not a canonical encoding (RFC 8032 §5.1.2)"
        )
    if raw in SMALL_ORDER_ENCODINGS:
        raise SecretBallotError(
            "S-4", "small_order_point", f"{what} is a point of small order (order 2, 4 or 8)"
        )
    raise SecretBallotError(
        "S-5",
        "point_not_in_subgroup",
        f"{what} is on the curve but not in the prime-order subgroup (it has a torsion part)",
    )


def parse_point(text: object, *, what: str = "point", allow_identity: bool = True) -> Point:
    """Read a point from unpadded base64url text and validate it."""
    return Point.from_bytes(
        _b64(text, what, "S-1", "malformed_point"), what=what, allow_identity=allow_identity
    )


def read_point_unchecked(text: object, *, what: str = "point") -> Point:
    """Decode a point's text (S-1) *without* the group checks S-2 … S-5.

    For the ballot fast path only: the caller must make sure the point is then
    multiplied by a non-zero scalar through libsodium, which refuses exactly the points
    :func:`check_point` refuses, or check it explicitly. The identity is accepted.
    """
    return Point(_b64(text, what, "S-1", "malformed_point"))


def check_scalar(value: int, *, what: str = "scalar") -> int:
    if not 0 <= value < L:
        raise SecretBallotError("S-8", "noncanonical_scalar", f"{what} is not below ℓ")
    return value


def parse_scalar(text: object, *, what: str = "scalar") -> int:
    """Read a scalar: unpadded base64url of 32 bytes little-endian, value < ℓ (S-7, S-8)."""
    raw = _b64(text, what, "S-7", "malformed_scalar")
    value = int.from_bytes(raw, "little")
    if value >= L:
        # A scalar ≥ ℓ would give a second spelling of the same proof (malleability).
        raise SecretBallotError("S-8", "noncanonical_scalar", f"{what} is not below ℓ")
    return value


def scalar_bytes(value: int) -> bytes:
    """The 32-byte little-endian encoding of a scalar (reduced mod ℓ first)."""
    return (value % L).to_bytes(SCALAR_SIZE, "little")


def encode_scalar(value: int) -> str:
    """Unpadded base64url of :func:`scalar_bytes`."""
    return b64u_encode(scalar_bytes(value))


def random_scalar() -> int:
    """A uniformly random non-zero scalar from the operating system's CSPRNG."""
    return secrets.randbelow(L - 1) + 1


def _b64(text: object, what: str, check: str, reason: str) -> bytes:
    if not isinstance(text, str) or len(text) != _b64_text_length:
        shown = f"{len(text)} characters" if isinstance(text, str) else type(text).__name__
        raise SecretBallotError(
            check, reason, f"{what}: expected 43 characters of base64url, got {shown}"
        )
    try:
        return b64u_decode(text, length=32)
    except CredentialError as exc:
        raise SecretBallotError(check, reason, f"{what}: {exc}") from exc
