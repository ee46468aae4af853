"""Live quorum: who of the body's composition on the meeting date is present."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from registry.quorum import QuorumRule

__all__ = ["QuorumStatus", "quorum_status"]


@dataclass(frozen=True)
class QuorumStatus:
    """ "Present N of M, quorum needs K" — and whether it holds."""

    composition: int
    present: int
    required: int
    met: bool
    rule: str

    def to_json(self) -> dict[str, object]:
        return {
            "composition": self.composition,
            "present": self.present,
            "required": self.required,
            "met": self.met,
            "rule": self.rule,
        }


def quorum_status(
    composition: Collection[int], present: Collection[int], rule: QuorumRule
) -> QuorumStatus:
    """Only members of the composition count; guests and others present never do."""
    counted = len(set(present) & set(composition))
    size = len(set(composition))
    return QuorumStatus(
        composition=size,
        present=counted,
        required=rule.required(size),
        met=rule.is_met(counted, size),
        rule=rule.describe(),
    )
