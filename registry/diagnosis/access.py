"""Who may act on an organisation's self-diagnosis.

Application roles are not enough here: a secretary of one organisation is nobody to
another organisation's methodology or campaign. What counts is the seat:

* an **officer** of an organisation (its methodologies and the campaigns it runs) holds
  today the seat of chair, deputy chair or secretary of one of its current bodies;
* a **responder** for an organisation (its questionnaire in a campaign) holds today the
  seat of chair or secretary of one of its current bodies — the people who act for
  the organisation, as for documents sent to it.

The registrar, who keeps the whole registry (and the operator at the console), may
manage every organisation's methodologies and campaigns, but answers for none.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.errors import PermissionDenied
from registry.members import current_seat_clause
from registry.models import Body, Role, Seat, SeatRole
from registry.orm import utcnow

__all__ = [
    "OFFICER_SEATS",
    "RESPONDER_SEATS",
    "is_officer",
    "organisations_seated",
    "require_officer",
]

OFFICER_SEATS = (SeatRole.CHAIR, SeatRole.DEPUTY_CHAIR, SeatRole.SECRETARY)
RESPONDER_SEATS = (SeatRole.CHAIR, SeatRole.SECRETARY)


async def organisations_seated(
    session: AsyncSession, member_id: int | None, seats: tuple[SeatRole, ...]
) -> set[int]:
    """The organisations in one of whose current bodies the member holds one of ``seats``."""
    if member_id is None:
        return set()
    rows = await session.scalars(
        select(Body.organisation_id)
        .join(Seat, Seat.body_id == Body.id)
        .where(
            Seat.member_id == member_id,
            Seat.role.in_(seats),
            current_seat_clause(utcnow().date()),
            Body.retired_at.is_(None),
        )
    )
    return set(rows.all())


async def is_officer(session: AsyncSession, actor: Actor, organisation_id: int) -> bool:
    """The registrar, or an officer of ``organisation_id`` today."""
    if actor.has(Role.REGISTRAR):
        return True
    return organisation_id in await organisations_seated(session, actor.member_id, OFFICER_SEATS)


async def require_officer(session: AsyncSession, actor: Actor, organisation_id: int) -> None:
    """Refuse unless the caller is the registrar or an officer of the organisation."""
    if not await is_officer(session, actor, organisation_id):
        raise PermissionDenied(
            "only the chair, a deputy chair or the secretary of one of the organisation's "
            "bodies (or the registrar) manages its self-diagnosis",
            code="diagnosis_not_officer",
        )
