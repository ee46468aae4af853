"""Exponential ElGamal over the prime-order subgroup of Ed25519.

Key: secret x, public h = gˣ. A count m ≥ 0 with randomness r encrypts to

    (α, β) = (gʳ, gᵐ·hʳ)

Ciphertexts multiply component-wise (written ``+`` here), and the product encrypts
the sum of the counts under the sum of the randomness: this is the homomorphic
tally. Decryption gives gᵐ = β·α⁻ˣ, and m is read from a table of g⁰ … gⁿ
(:class:`DiscreteLogTable`), n being at most the number of members on the roll.

Not guaranteed: messages must be small (a discrete logarithm is found by table
look-up only); the encryption here is for tests and vectors (the browser encrypts
real ballots).
"""

from __future__ import annotations

from dataclasses import dataclass

from crypto.errors import SecretBallotError
from crypto.group import IDENTITY, Point, base, parse_point

__all__ = ["Ciphertext", "DiscreteLogTable", "decrypt", "encrypt"]


@dataclass(frozen=True, slots=True)
class Ciphertext:
    """(α, β): ``alpha`` = gʳ, ``beta`` = gᵐ·hʳ."""

    alpha: Point
    beta: Point

    def __add__(self, other: Ciphertext) -> Ciphertext:
        return Ciphertext(self.alpha + other.alpha, self.beta + other.beta)

    def to_json(self) -> dict[str, str]:
        return {"alpha": self.alpha.encode(), "beta": self.beta.encode()}

    @classmethod
    def zero(cls) -> Ciphertext:
        """The encryption of 0 with randomness 0: (identity, identity), the empty sum."""
        return cls(IDENTITY, IDENTITY)

    @classmethod
    def parse(cls, alpha: object, beta: object, *, what: str = "ciphertext") -> Ciphertext:
        """Read both components from base64url and validate them (S-1 … S-5)."""
        return cls(parse_point(alpha, what=f"{what} alpha"), parse_point(beta, what=f"{what} beta"))


def encrypt(key: Point, message: int, randomness: int) -> Ciphertext:
    """(gʳ, gᵐ·hʳ)."""
    return Ciphertext(base(randomness), base(message) + key * randomness)


def decrypt(ciphertext: Ciphertext, secret: int) -> Point:
    """gᵐ = β·α⁻ˣ with the whole secret key (tests; the commission decrypts by shares)."""
    return ciphertext.beta - ciphertext.alpha * secret


class DiscreteLogTable:
    """gᵏ → k for k = 0 … ``limit`` (the roll's size), built by repeated addition."""

    __slots__ = ("_table", "limit")

    def __init__(self, limit: int) -> None:
        if limit < 0:
            raise ValueError("limit must be ≥ 0")
        self.limit = limit
        table: dict[bytes, int] = {}
        point = IDENTITY
        generator = base(1)
        for k in range(limit + 1):
            table[point.raw] = k
            point = point + generator
        self._table = table

    def lookup(self, point: Point, *, what: str = "count") -> int:
        """k with gᵏ = ``point``; S-20 ``count_out_of_range`` if k is not in 0 … limit."""
        found = self._table.get(point.raw)
        if found is None:
            raise SecretBallotError(
                "S-20",
                "count_out_of_range",
                f"{what} is not g^k for any k in 0..{self.limit} "
                "(wrong decryption shares, or more marks than ballots)",
            )
        return found
