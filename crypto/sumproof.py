"""The sum proof: the number of marks on a ballot lies in [min, max].

The product (A, B) = (Παᵢ, Πβᵢ) of a ballot's ciphertexts encrypts the number of
marks. The proof is the disjunctive Chaum–Pedersen proof over the branches
j = min … max: (c_min … c_max, v_min … v_max) with

    aⱼ = g^vⱼ·A^cⱼ      bⱼ = h^vⱼ·(B·g⁻ʲ)^cⱼ
    Σⱼ cⱼ ≡ H("kvorum/secret/v1/sum", statement ‖ A ‖ B ‖ a_min ‖ b_min ‖ … ‖ a_max ‖ b_max)

For a one-of-N ballot (min = max = 1) it is a single Chaum–Pedersen proof that
(A, B·g⁻¹) encrypts 0. Check S-12.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto import _disjunctive
from crypto.challenge import TAG_SUM
from crypto.elgamal import Ciphertext
from crypto.errors import SecretBallotError
from crypto.group import Point

__all__ = ["SumProof", "prove_sum", "verify_sum"]


@dataclass(frozen=True, slots=True)
class SumProof:
    """One (cⱼ, vⱼ) per allowed count j = min … max."""

    challenges: tuple[int, ...]
    responses: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.challenges or len(self.challenges) != len(self.responses):
            raise SecretBallotError(
                "S-10", "malformed_proof", "a sum proof has one (c, v) per allowed count"
            )

    def to_json(self) -> dict[str, list[str]]:
        """``{"c": [...], "v": [...]}``, max − min + 1 scalars each."""
        return _disjunctive.branches_json(self.challenges, self.responses)

    @classmethod
    def parse(cls, value: object, *, branches: int, what: str = "sum proof") -> SumProof:
        challenges, responses = _disjunctive.parse_branches(value, branches, what)
        return cls(challenges, responses)


def _items(statement: list[bytes], total: Ciphertext) -> list[bytes]:
    return [*statement, total.alpha.raw, total.beta.raw]


def prove_sum(
    statement: list[bytes],
    key: Point,
    total: Ciphertext,
    lo: int,
    hi: int,
    count: int,
    randomness: int,
    draw: _disjunctive.Draw,
) -> SumProof:
    """Prove ``total`` (randomness = Σ rᵢ) encrypts ``count`` ∈ [lo, hi]."""
    challenges, responses = _disjunctive.prove(
        TAG_SUM, _items(statement, total), key, total, lo, hi, count, randomness, draw
    )
    return SumProof(challenges, responses)


def verify_sum(
    statement: list[bytes], key: Point, total: Ciphertext, lo: int, hi: int, proof: SumProof
) -> None:
    """S-12 ``bad_sum_proof`` unless the proof verifies."""
    if len(proof.challenges) != hi - lo + 1:
        raise SecretBallotError(
            "S-10", "malformed_proof", f"the sum proof must have {hi - lo + 1} branches"
        )
    if not _disjunctive.holds(
        TAG_SUM, _items(statement, total), key, total, lo, proof.challenges, proof.responses
    ):
        raise SecretBallotError(
            "S-12",
            "bad_sum_proof",
            f"the proof that the ballot has {lo}..{hi} marks does not verify "
            "(too many or too few marks, or a proof made for another ballot)",
        )
