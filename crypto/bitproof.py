"""The bit proof: a ciphertext encrypts 0 or 1 (disjunctive Chaum–Pedersen, 2 branches).

For option i of a ballot with ciphertext (αᵢ, βᵢ) under the election key h, the
proof is (c₀, c₁, v₀, v₁) with

    a₀ = g^v₀·αᵢ^c₀    b₀ = h^v₀·βᵢ^c₀
    a₁ = g^v₁·αᵢ^c₁    b₁ = h^v₁·(βᵢ·g⁻¹)^c₁
    c₀ + c₁ ≡ H("kvorum/secret/v1/bit", statement ‖ u32(i) ‖ αᵢ ‖ βᵢ ‖ a₀ ‖ b₀ ‖ a₁ ‖ b₁)

where ``statement`` binds the election's fingerprint, its key, the voter's key, the
ballot form and every ciphertext of the ballot (``docs/secret-ballots.md``,
"Challenges"), so that the proof cannot be moved to another option, ballot, voter
or election. Check S-11.
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto import _disjunctive
from crypto.challenge import TAG_BIT, u32
from crypto.elgamal import Ciphertext
from crypto.errors import SecretBallotError
from crypto.group import Point

__all__ = ["BitProof", "prove_bit", "verify_bit"]


@dataclass(frozen=True, slots=True)
class BitProof:
    """``challenges`` = (c₀, c₁), ``responses`` = (v₀, v₁), scalars mod ℓ."""

    challenges: tuple[int, ...]
    responses: tuple[int, ...]

    def __post_init__(self) -> None:
        if len(self.challenges) != 2 or len(self.responses) != 2:
            raise SecretBallotError("S-10", "malformed_proof", "a bit proof has two branches")

    def to_json(self) -> dict[str, list[str]]:
        """``{"c": [c₀, c₁], "v": [v₀, v₁]}``, scalars in base64url."""
        return _disjunctive.branches_json(self.challenges, self.responses)

    @classmethod
    def parse(cls, value: object, *, what: str = "bit proof") -> BitProof:
        challenges, responses = _disjunctive.parse_branches(value, 2, what)
        return cls(challenges, responses)


def _items(statement: list[bytes], index: int, ciphertext: Ciphertext) -> list[bytes]:
    return [*statement, u32(index), ciphertext.alpha.raw, ciphertext.beta.raw]


def prove_bit(
    statement: list[bytes],
    key: Point,
    index: int,
    ciphertext: Ciphertext,
    mark: int,
    randomness: int,
    draw: _disjunctive.Draw,
) -> BitProof:
    """Prove that ``ciphertext`` (randomness ``randomness``) encrypts ``mark`` ∈ {0, 1}."""
    challenges, responses = _disjunctive.prove(
        TAG_BIT, _items(statement, index, ciphertext), key, ciphertext, 0, 1, mark, randomness, draw
    )
    return BitProof(challenges, responses)


def verify_bit(
    statement: list[bytes], key: Point, index: int, ciphertext: Ciphertext, proof: BitProof
) -> None:
    """S-11 ``bad_bit_proof`` unless the proof verifies for option ``index``."""
    if not _disjunctive.holds(
        TAG_BIT,
        _items(statement, index, ciphertext),
        key,
        ciphertext,
        0,
        proof.challenges,
        proof.responses,
    ):
        raise SecretBallotError(
            "S-11",
            "bad_bit_proof",
            f"option {index}: the proof that its ciphertext encrypts 0 or 1 does not verify "
            "(a mark other than 0/1, or a proof made for another ballot, voter or election)",
        )
