"""The knowledge proof: a key-generation dealer knows the secret behind its first
commitment (Schnorr 1991), which stops a dealer from choosing its commitment after
seeing the others' so as to cancel them (a rogue-key attack on the joint key).

Dealer j with constant coefficient a_{j,0} and commitments C_{j,0} … C_{j,t−1}
publishes (c, z):

    u = g^z·C_{j,0}^c
    c ≡ H("kvorum/secret/v1/knowledge",
          context ‖ u32(n) ‖ u32(t) ‖ u32(j) ‖ C_{j,0} ‖ … ‖ C_{j,t−1} ‖ u)

The prover picks w, u = gʷ, z = w − c·a_{j,0}. Check S-13 (naming the dealer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from crypto.challenge import TAG_KNOWLEDGE, challenge, u32
from crypto.errors import SecretBallotError
from crypto.group import L, Point, base, encode_scalar, parse_scalar

__all__ = ["KnowledgeProof", "prove_knowledge", "verify_knowledge"]


@dataclass(frozen=True, slots=True)
class KnowledgeProof:
    """(c, z), scalars mod ℓ."""

    challenge: int
    response: int

    def to_json(self) -> dict[str, str]:
        return {"c": encode_scalar(self.challenge), "z": encode_scalar(self.response)}

    @classmethod
    def parse(cls, value: object, *, what: str = "knowledge proof") -> KnowledgeProof:
        if not isinstance(value, dict) or set(value) != {"c", "z"}:
            raise SecretBallotError(
                "S-10", "malformed_proof", f"{what} must be an object with exactly 'c' and 'z'"
            )
        return cls(
            parse_scalar(value["c"], what=f"{what}.c"), parse_scalar(value["z"], what=f"{what}.z")
        )


def _items(
    context: bytes, members: int, threshold: int, dealer: int, commitments: Sequence[Point]
) -> list[bytes]:
    return [context, u32(members), u32(threshold), u32(dealer), *(c.raw for c in commitments)]


def prove_knowledge(
    context: bytes,
    members: int,
    threshold: int,
    dealer: int,
    commitments: Sequence[Point],
    secret: int,
    draw: Callable[[], int],
) -> KnowledgeProof:
    """Prove knowledge of ``secret`` = log_g ``commitments[0]``."""
    w = draw()
    items = _items(context, members, threshold, dealer, commitments)
    c = challenge(TAG_KNOWLEDGE, [*items, base(w).raw])
    return KnowledgeProof(c, (w - c * secret) % L)


def verify_knowledge(
    context: bytes,
    members: int,
    threshold: int,
    dealer: int,
    commitments: Sequence[Point],
    proof: KnowledgeProof,
) -> None:
    """S-13 ``bad_knowledge_proof`` (naming the dealer) unless the proof verifies."""
    u = base(proof.response) + commitments[0] * proof.challenge
    items = _items(context, members, threshold, dealer, commitments)
    if challenge(TAG_KNOWLEDGE, [*items, u.raw]) != proof.challenge:
        raise SecretBallotError(
            "S-13",
            "bad_knowledge_proof",
            f"key generation: dealer {dealer}'s proof of knowledge of its secret does not verify",
            trustee=dealer,
        )
