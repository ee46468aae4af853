"""An election's states and who moves it from one to the next.

::

    draft ⇄ candidates_closed → commission_constituted → key_ready → open → closed
          → counted → approved

Each move has one mover. Only the first two are asked for by a person on the
election's page (closing and reopening the nomination); the others are the outcome
of something else — the body's vote on the commission (or its appointment), the
commission's key generation, the chair opening and closing the secret vote, the
commission's count, the body's approval of the commission's protocol — and asking
for them by hand is refused with the reason.
"""

from __future__ import annotations

import enum

from meetings.elections.models import ElectionState
from registry.errors import Conflict, PermissionDenied

__all__ = ["Mover", "check_transition", "next_step", "transitions_for"]

S = ElectionState


class Mover(enum.StrEnum):
    PREPARER = "preparer"  # the meeting's secretary or chair (or the body's officers)
    COMMISSION = "commission"  # the body's vote on the commission, or its appointment
    KEY_GENERATION = "key_generation"  # the commission's members, in their browsers
    CHAIR = "chair"  # opens and closes the secret vote (or the deadline closes it)
    COUNT = "count"  # the commission's partial decryptions, combined
    APPROVAL = "approval"  # the body's open vote on the commission's protocol


TRANSITIONS: dict[tuple[ElectionState, ElectionState], Mover] = {
    (S.DRAFT, S.CANDIDATES_CLOSED): Mover.PREPARER,
    (S.CANDIDATES_CLOSED, S.DRAFT): Mover.PREPARER,
    (S.CANDIDATES_CLOSED, S.COMMISSION_CONSTITUTED): Mover.COMMISSION,
    (S.COMMISSION_CONSTITUTED, S.KEY_READY): Mover.KEY_GENERATION,
    (S.KEY_READY, S.OPEN): Mover.CHAIR,
    (S.OPEN, S.CLOSED): Mover.CHAIR,
    (S.CLOSED, S.COUNTED): Mover.COUNT,
    (S.COUNTED, S.APPROVED): Mover.APPROVAL,
}

_WHY: dict[Mover, str] = {
    Mover.COMMISSION: "the body elects the commission by a vote on it, or its officers appoint it",
    Mover.KEY_GENERATION: "the key is ready when the commission's members have made it together",
    Mover.CHAIR: "the chair opens and closes the secret vote",
    Mover.COUNT: "the commission counts the closed vote",
    Mover.APPROVAL: "the body approves the commission's protocol by an open vote",
}


def check_transition(current: ElectionState, target: ElectionState, mover: Mover) -> None:
    """Refuse a move that does not exist (``Conflict``) or is not ``mover``'s
    (``PermissionDenied``), naming why."""
    if current is target:
        raise Conflict(f"the election is already {current.value}", code="election_state")
    owner = TRANSITIONS.get((current, target))
    if owner is None:
        raise Conflict(
            f"an election cannot go from {current.value} to {target.value}",
            code="election_state",
        )
    if owner is not mover:
        reason = _WHY.get(owner, "only the meeting's secretary or chair may")
        raise PermissionDenied(
            f"{current.value} → {target.value} is not asked for here: {reason}",
            code="not_yours",
        )


def transitions_for(current: ElectionState, mover: Mover) -> list[ElectionState]:
    """The states ``mover`` may move the election to now."""
    return [to for (at, to), who in TRANSITIONS.items() if at is current and who is mover]


def next_step(current: ElectionState) -> Mover | None:
    """Who moves the election on from here (the way forward, not back)."""
    for (at, to), who in TRANSITIONS.items():
        if at is current and to is not ElectionState.DRAFT:
            return who
    return None
