"""The decryption proof: a commission member's partial decryption is honest.

Member i holds the share xᵢ of the election secret; its verification key
Kᵢ = g^xᵢ is public (computed from the key-generation commitments, :mod:`crypto.dkg`).
For a tally ciphertext (A, B) the partial decryption is Dᵢ = A^xᵢ, and the proof is
a Chaum–Pedersen proof (Chaum–Pedersen 1992) that log_g Kᵢ = log_A Dᵢ, stored as
(c, v):

    a = g^v·Kᵢ^c      b = A^v·Dᵢ^c
    c ≡ H("kvorum/secret/v1/decryption", fingerprint ‖ h ‖ u32(i) ‖ Kᵢ ‖ A ‖ B ‖ Dᵢ ‖ a ‖ b)

The prover picks w, sets a = gʷ, b = Aʷ and v = w − c·xᵢ. Check S-16 (naming the
member).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from crypto.challenge import TAG_DECRYPTION, challenge, u32
from crypto.elgamal import Ciphertext
from crypto.errors import SecretBallotError
from crypto.group import L, Point, base, encode_scalar, parse_scalar

__all__ = ["DecryptionProof", "prove_decryption", "verify_decryption"]


@dataclass(frozen=True, slots=True)
class DecryptionProof:
    """(c, v), scalars mod ℓ."""

    challenge: int
    response: int

    def to_json(self) -> dict[str, str]:
        return {"c": encode_scalar(self.challenge), "v": encode_scalar(self.response)}

    @classmethod
    def parse(cls, value: object, *, what: str = "decryption proof") -> DecryptionProof:
        if not isinstance(value, dict) or set(value) != {"c", "v"}:
            raise SecretBallotError(
                "S-10", "malformed_proof", f"{what} must be an object with exactly 'c' and 'v'"
            )
        return cls(
            parse_scalar(value["c"], what=f"{what}.c"), parse_scalar(value["v"], what=f"{what}.v")
        )


def _items(
    fingerprint: bytes,
    key: Point,
    member: int,
    verification_key: Point,
    total: Ciphertext,
    partial: Point,
) -> list[bytes]:
    return [
        fingerprint,
        key.raw,
        u32(member),
        verification_key.raw,
        total.alpha.raw,
        total.beta.raw,
        partial.raw,
    ]


def prove_decryption(
    fingerprint: bytes,
    key: Point,
    member: int,
    share: int,
    total: Ciphertext,
    draw: Callable[[], int],
) -> tuple[Point, DecryptionProof]:
    """(Dᵢ, proof) for member ``member`` holding ``share``."""
    verification_key = base(share)
    partial = total.alpha * share
    w = draw()
    items = _items(fingerprint, key, member, verification_key, total, partial)
    c = challenge(TAG_DECRYPTION, [*items, base(w).raw, (total.alpha * w).raw])
    return partial, DecryptionProof(c, (w - c * share) % L)


def verify_decryption(
    fingerprint: bytes,
    key: Point,
    member: int,
    verification_key: Point,
    total: Ciphertext,
    partial: Point,
    proof: DecryptionProof,
    *,
    what: str = "partial decryption",
) -> None:
    """S-16 ``bad_decryption_proof`` (naming the member) unless the proof verifies."""
    c, v = proof.challenge, proof.response
    a = base(v) + verification_key * c
    b = total.alpha * v + partial * c
    items = _items(fingerprint, key, member, verification_key, total, partial)
    if challenge(TAG_DECRYPTION, [*items, a.raw, b.raw]) != c:
        raise SecretBallotError(
            "S-16",
            "bad_decryption_proof",
            f"{what} of commission member {member}: the proof does not verify",
            trustee=member,
        )
