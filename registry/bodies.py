"""Elected bodies, their seats (member, role, term) and their composition on a date."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, NotFound
from registry.members import current_seat_clause
from registry.models import Body, Member, MemberStatus, Organisation, Role, Seat, SeatRole
from registry.orm import utcnow
from registry.quorum import QuorumRule
from registry.schemas import (
    BodyIn,
    BodyOut,
    BodyPatch,
    CompositionOut,
    QuorumIn,
    SeatIn,
    SeatOut,
)

__all__ = ["BodyService", "quorum_rule"]

# At most one member holds each of these roles in a body on any day.
_SINGLE_ROLES = (SeatRole.CHAIR, SeatRole.SECRETARY)


def quorum_rule(body: Body) -> QuorumRule:
    return QuorumRule(body.quorum_numerator, body.quorum_denominator, body.quorum_strict)


def _overlaps(a_start: dt.date, a_end: dt.date | None, b: Seat) -> bool:
    return (b.term_end is None or b.term_end >= a_start) and (
        a_end is None or a_end >= b.term_start
    )


class BodyService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    async def get(self, body_id: int) -> Body:
        body = await self.session.get(Body, body_id)
        if body is None:
            raise NotFound(f"body {body_id} does not exist")
        return body

    async def find(
        self, organisation_id: int | None = None, *, include_retired: bool = False
    ) -> Sequence[Body]:
        stmt = select(Body).order_by(Body.organisation_id, Body.kind, Body.name)
        if organisation_id is not None:
            stmt = stmt.where(Body.organisation_id == organisation_id)
        if not include_retired:
            stmt = stmt.where(Body.retired_at.is_(None))
        return (await self.session.scalars(stmt)).all()

    async def out(self, body: Body) -> BodyOut:
        org = await self.session.get(Organisation, body.organisation_id)
        rule = quorum_rule(body)
        return BodyOut(
            id=body.id,
            organisation_id=body.organisation_id,
            organisation_name=(org.short_name or org.name) if org else "",
            kind=body.kind,
            name=body.name,
            quorum=QuorumIn(
                numerator=rule.numerator, denominator=rule.denominator, strict=rule.strict
            ),
            quorum_text=rule.describe(),
            retired_at=body.retired_at,
        )

    async def create(self, data: BodyIn) -> Body:
        self.actor.require(Role.REGISTRAR)
        org = await self.session.get(Organisation, data.organisation_id)
        if org is None or org.retired_at is not None:
            raise InvalidInput(
                f"organisation {data.organisation_id} does not exist or is retired",
                fields={"organisation_id": "no such active organisation"},
            )
        await self._check_unique_name(org.id, data.name, None)
        body = Body(
            organisation_id=org.id,
            kind=data.kind,
            name=data.name,
            quorum_numerator=data.quorum.numerator,
            quorum_denominator=data.quorum.denominator,
            quorum_strict=data.quorum.strict,
        )
        self.session.add(body)
        await self.session.flush()
        return body

    async def update(self, body_id: int, data: BodyPatch) -> Body:
        self.actor.require(Role.REGISTRAR)
        body = await self._active(body_id)
        if data.name is not None and data.name != body.name:
            await self._check_unique_name(body.organisation_id, data.name, body.id)
            body.name = data.name
        if data.quorum is not None:
            body.quorum_numerator = data.quorum.numerator
            body.quorum_denominator = data.quorum.denominator
            body.quorum_strict = data.quorum.strict
        await self.session.flush()
        return body

    async def retire(self, body_id: int, on: dt.date | None = None) -> Body:
        """Dissolve a body: its open seats end on ``on`` (today by default)."""
        self.actor.require(Role.REGISTRAR)
        body = await self._active(body_id)
        on = on or utcnow().date()
        for seat in await self._seats(body.id):
            if seat.term_end is None or seat.term_end > on:
                seat.term_end = max(on, seat.term_start)
        body.retired_at = utcnow()
        await self.session.flush()
        return body

    async def add_seat(self, body_id: int, data: SeatIn) -> Seat:
        self.actor.require(Role.REGISTRAR)
        body = await self._active(body_id)
        member = await self.session.get(Member, data.member_id)
        if member is None:
            raise InvalidInput(
                f"member {data.member_id} does not exist", fields={"member_id": "no such member"}
            )
        org = await self.session.get(Organisation, body.organisation_id)
        if org is None or member.root_organisation_id != (org.root_id or org.id):
            raise InvalidInput(
                "the member belongs to another union", fields={"member_id": "another union"}
            )
        if member.status is MemberStatus.LEFT and (
            member.left_on is None or data.term_start >= member.left_on
        ):
            raise InvalidInput(
                "a member who has left cannot take a seat", fields={"member_id": "has left"}
            )
        for other in await self._seats(body.id):
            if not _overlaps(data.term_start, data.term_end, other):
                continue
            if other.member_id == member.id:
                raise Conflict(
                    f"{member.short_name} already holds a seat in this body for that period "
                    f"(seat {other.id})",
                    fields={"member_id": "already seated"},
                )
            if data.role in _SINGLE_ROLES and other.role == data.role:
                raise Conflict(
                    f"the body already has a {data.role.value} for that period (seat {other.id}); "
                    "end that term first",
                    fields={"role": "already taken"},
                )
        seat = Seat(
            body_id=body.id,
            member_id=member.id,
            role=data.role,
            term_start=data.term_start,
            term_end=data.term_end,
        )
        self.session.add(seat)
        await self.session.flush()
        return seat

    async def end_seat(self, body_id: int, seat_id: int, term_end: dt.date) -> Seat:
        """End a term early (resignation, re-election): the seat stays in the history."""
        self.actor.require(Role.REGISTRAR)
        seat = await self.session.get(Seat, seat_id)
        if seat is None or seat.body_id != body_id:
            raise NotFound(f"seat {seat_id} does not exist in body {body_id}")
        if term_end < seat.term_start:
            raise InvalidInput(
                "the term cannot end before it starts", fields={"term_end": "before term_start"}
            )
        if seat.term_end is not None and term_end > seat.term_end:
            raise InvalidInput(
                "a term can only be shortened here", fields={"term_end": "after current end"}
            )
        seat.term_end = term_end
        await self.session.flush()
        return seat

    async def composition(self, body_id: int, on: dt.date | None = None) -> CompositionOut:
        """Who sits in the body on a given day, and what its quorum needs."""
        body = await self.get(body_id)
        on = on or utcnow().date()
        rows = (
            await self.session.execute(
                select(Seat, Member)
                .join(Member, Member.id == Seat.member_id)
                .where(Seat.body_id == body.id, current_seat_clause(on))
                .order_by(Seat.role, Member.surname, Member.name)
            )
        ).all()
        order = {SeatRole.CHAIR: 0, SeatRole.DEPUTY_CHAIR: 1, SeatRole.SECRETARY: 2}
        rows = sorted(rows, key=lambda r: (order.get(r[0].role, 3), r[1].surname, r[1].name))
        seats = [
            SeatOut(
                id=seat.id,
                body_id=seat.body_id,
                member_id=member.id,
                member_name=member.full_name,
                role=seat.role,
                term_start=seat.term_start,
                term_end=seat.term_end,
            )
            for seat, member in rows
        ]
        return CompositionOut(
            body=await self.out(body),
            on=on,
            seats=seats,
            size=len(seats),
            quorum_required=quorum_rule(body).required(len(seats)),
        )

    async def history(self, body_id: int) -> list[SeatOut]:
        """Every seat the body ever had, newest term first."""
        rows = (
            await self.session.execute(
                select(Seat, Member)
                .join(Member, Member.id == Seat.member_id)
                .where(Seat.body_id == body_id)
                .order_by(Seat.term_start.desc(), Member.surname)
            )
        ).all()
        return [
            SeatOut(
                id=s.id,
                body_id=s.body_id,
                member_id=m.id,
                member_name=m.full_name,
                role=s.role,
                term_start=s.term_start,
                term_end=s.term_end,
            )
            for s, m in rows
        ]

    async def _active(self, body_id: int) -> Body:
        body = await self.get(body_id)
        if body.retired_at is not None:
            raise Conflict(f"body {body_id} is retired")
        return body

    async def _seats(self, body_id: int) -> Sequence[Seat]:
        return (await self.session.scalars(select(Seat).where(Seat.body_id == body_id))).all()

    async def _check_unique_name(self, org_id: int, name: str, own_id: int | None) -> None:
        clash = await self.session.scalar(
            select(Body.id).where(
                Body.organisation_id == org_id, Body.name == name, Body.retired_at.is_(None)
            )
        )
        if clash is not None and clash != own_id:
            raise Conflict(
                f"the organisation already has a body named '{name}'",
                fields={"name": "already taken"},
            )
