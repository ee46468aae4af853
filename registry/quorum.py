"""Quorum rules: how many members of a body must be present for it to decide."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["QuorumRule"]


@dataclass(frozen=True)
class QuorumRule:
    """Present members must be *more than* (``strict``) or *at least* a fraction of the body.

    The default, ``QuorumRule(1, 2, strict=True)``, is the usual charter wording
    "more than half of the members of the body"; a charter's "not less than two
    thirds" is ``QuorumRule(2, 3, strict=False)``. Integer arithmetic only, so a
    body of 9 with a two-thirds rule needs exactly 6, never 5.999….
    """

    numerator: int = 1
    denominator: int = 2
    strict: bool = True

    def __post_init__(self) -> None:
        if self.denominator <= 0:
            raise ValueError(f"quorum denominator must be positive, got {self.denominator}")
        if not 0 < self.numerator <= self.denominator:
            raise ValueError(
                f"quorum fraction must be within (0, 1], got {self.numerator}/{self.denominator}"
            )
        if self.strict and self.numerator == self.denominator:
            raise ValueError("'more than the whole body' can never be met")

    def required(self, composition: int) -> int:
        """The smallest number present that makes a quorum of a body of ``composition``."""
        if composition < 0:
            raise ValueError(f"composition cannot be negative, got {composition}")
        if composition == 0:
            return 1  # an empty body can never decide
        share = composition * self.numerator
        if self.strict:
            return share // self.denominator + 1
        return -(-share // self.denominator)

    def is_met(self, present: int, composition: int) -> bool:
        return composition > 0 and present >= self.required(composition)

    def describe(self) -> str:
        """Short English description, e.g. 'more than 1/2'."""
        return f"{'more than' if self.strict else 'at least'} {self.numerator}/{self.denominator}"
