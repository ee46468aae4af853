"""The counting commission elected by the body's open vote: what becomes of the
proposed list when that vote closes.

:meth:`meetings.votes.VoteDesk.close` calls :func:`settle_commission_vote` in the
closing transaction, so the commission is recorded (with the vote as its basis) the
moment the result is signed, whoever closed the vote. This module imports no vote
service: the votes module imports it.
"""

from __future__ import annotations

import json

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import Vote, VoteState
from meetings.elections.models import (
    Commission,
    CommissionState,
    Election,
    ElectionState,
)
from meetings.events import append_event
from registry.orm import utcnow

__all__ = ["commission_json", "settle_approval_vote", "settle_commission_vote"]


def commission_json(commission: Commission) -> dict[str, object]:
    """How the meeting's record names a commission."""
    return {
        "commission": commission.id,
        "election": commission.election_id,
        "basis": commission.basis.value,
        "vote": commission.vote_id,
        "threshold": commission.threshold,
        "members": [{"member": m.member_id, "name": m.name} for m in commission.members],
    }


async def settle_commission_vote(session: AsyncSession, vote: Vote, *, actor: str = "") -> None:
    """If ``vote`` was the body's vote on a proposed commission: constitute it when the
    vote adopted the list (the election moves on), or mark the list rejected."""
    commission = await session.scalar(
        select(Commission).where(
            Commission.vote_id == vote.id, Commission.state == CommissionState.PROPOSED
        )
    )
    if commission is None or vote.state is not VoteState.CLOSED or not vote.result:
        return
    election = await session.scalar(
        select(Election).where(Election.id == commission.election_id).with_for_update()
    )
    assert election is not None
    adopted = json.loads(vote.result)["payload"].get("adopted") is True
    now = utcnow()
    if adopted and election.state is ElectionState.CANDIDATES_CLOSED:
        commission.state = CommissionState.CONSTITUTED
        commission.constituted_at = now
        election.state = ElectionState.COMMISSION_CONSTITUTED
        kind = "commission.constituted"
    else:
        commission.state = CommissionState.REJECTED
        commission.rejected_at = now
        kind = "commission.rejected"
    await session.flush()
    if election.meeting_id is not None:
        data = {"office": election.office, **commission_json(commission)}
        await append_event(session, election.meeting_id, kind, data, actor=actor)


async def settle_approval_vote(session: AsyncSession, vote: Vote, *, actor: str = "") -> None:
    """If ``vote`` was the body's vote «Об утверждении протокола счётной комиссии»: an
    adopted vote approves the election (``approved``, ``approved_at``); a rejected one
    leaves it ``counted``, and the protocol may be put to the vote again."""
    election = await session.scalar(
        select(Election).where(Election.approval_vote_id == vote.id).with_for_update()
    )
    if election is None or vote.state is not VoteState.CLOSED or not vote.result:
        return
    adopted = json.loads(vote.result)["payload"].get("adopted") is True
    if adopted and election.state is ElectionState.COUNTED:
        election.state = ElectionState.APPROVED
        election.approved_at = utcnow()
        kind = "election.approved"
    else:
        kind = "election.approval_rejected"
    await session.flush()
    if election.meeting_id is not None:
        data = {"election": election.id, "office": election.office, "vote": vote.id}
        await append_event(session, election.meeting_id, kind, data, actor=actor)
