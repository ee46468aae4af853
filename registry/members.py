"""Members and who may see how much of them.

Personal data is shown at one of three levels:

* ``full``: the whole record: the registrar, and a member looking at themselves;
* ``contact``: name, organisation, position, e-mail, phone and roles: the chair,
  deputy chair or secretary of a body, for that body's members (they convene them);
* ``name``: name, organisation and roles: fellow members of a body, and auditors
  for everyone who holds a seat.

Anyone else gets "not found", so a search cannot even confirm that a person is a
member. Every read and change is written to the access log in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from registry.accesslog import AccessAction, record_access
from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, NotFound
from registry.models import (
    Account,
    Body,
    IssuedCredential,
    Member,
    MemberStatus,
    Organisation,
    Role,
    Seat,
    SeatRole,
    Session,
)
from registry.organisations import OrganisationService
from registry.orm import utcnow
from registry.schemas import MAX_PAGE, MemberIn, MemberOut, MemberPatch, MemberRoleOut, Page

__all__ = ["Level", "MemberService", "search_key"]


class Level(enum.IntEnum):
    NAME = 1
    CONTACT = 2
    FULL = 3


_CONVENERS = (SeatRole.CHAIR, SeatRole.DEPUTY_CHAIR, SeatRole.SECRETARY)


def search_key(surname: str, name: str, patronymic: str, card_number: str) -> str:
    """Lower-cased in Python, because SQLite's lower() leaves Cyrillic alone."""
    return f"{surname} {name} {patronymic} {card_number}".lower().replace("ё", "е")


def current_seat_clause(on: dt.date) -> ColumnElement[bool]:
    """Seats whose term covers the day ``on``."""
    return (Seat.term_start <= on) & ((Seat.term_end.is_(None)) | (Seat.term_end >= on))


async def seated_officers(
    session: AsyncSession, org_ids: Iterable[int], roles: Sequence[SeatRole]
) -> dict[int, list[Member]]:
    """Who holds one of ``roles`` today in a current body of each organisation (active
    members only, each once per organisation, by member id): those a document is sent
    to, or who answer for their organisation."""
    people: dict[int, list[Member]] = {}
    ordered = sorted(set(org_ids))
    for start in range(0, len(ordered), 5000):  # within every backend's parameter limit
        rows = await session.execute(
            select(Body.organisation_id, Member)
            .join(Seat, Seat.body_id == Body.id)
            .join(Member, Member.id == Seat.member_id)
            .where(
                Body.organisation_id.in_(ordered[start : start + 5000]),
                Body.retired_at.is_(None),
                Seat.role.in_(roles),
                current_seat_clause(utcnow().date()),
                Member.status == MemberStatus.ACTIVE,
            )
            .order_by(Member.id)
        )
        for org_id, member in rows.tuples().all():
            if all(m.id != member.id for m in people.get(org_id, [])):
                people.setdefault(org_id, []).append(member)
    return people


class MemberService:
    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    # --- reading ----------------------------------------------------------------------

    async def get(self, member_id: int) -> MemberOut:
        member = await self.session.get(Member, member_id)
        levels = await self._levels([member_id]) if member else {}
        if member is None or member_id not in levels:
            raise NotFound(f"member {member_id} does not exist")
        roles = await self._roles(member, levels[member_id])
        await record_access(self.session, self.actor, AccessAction.READ, [member_id])
        return await self._out(member, levels[member_id], roles)

    async def search(
        self,
        *,
        query: str = "",
        organisation_id: int | None = None,
        status: MemberStatus | None = MemberStatus.ACTIVE,
        page: int = 1,
        per_page: int = 50,
    ) -> Page[MemberOut]:
        """Members the caller may see, matching a name or card number fragment."""
        if not 1 <= page <= MAX_PAGE or not 1 <= per_page <= 200:
            raise InvalidInput(f"page must be within 1..{MAX_PAGE} and per_page within 1..200")
        stmt = select(Member)
        words = query.lower().replace("ё", "е").split()
        if self.actor.has(Role.REGISTRAR):
            for word in words:
                escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
                stmt = stmt.where(Member.search_key.like(f"%{escaped}%", escape="\\"))
            if status is not None:
                stmt = stmt.where(Member.status == status)
        else:
            # Only what the caller may see is searched and filtered: a card number or a
            # status hidden from them must not decide whether a row is found, or the
            # hidden value could be read back one character at a time.
            levels = await self._levels(None)
            full = {member_id for member_id, level in levels.items() if level is Level.FULL}
            stmt = stmt.where(Member.id.in_(await self._matching(levels, full, words)))
            if status is MemberStatus.ACTIVE:
                stmt = stmt.where((Member.status == status) | Member.id.not_in(full))
            elif status is not None:
                stmt = stmt.where(Member.status == status, Member.id.in_(full))
        if organisation_id is not None:
            org = await self.session.get(Organisation, organisation_id)
            if org is None:
                raise NotFound(f"organisation {organisation_id} does not exist")
            ids = await OrganisationService(self.session, self.actor).subtree_ids(org)
            stmt = stmt.where(Member.organisation_id.in_(ids))
        total = await self.session.scalar(select(func.count()).select_from(stmt.subquery()))
        rows = (
            await self.session.scalars(
                stmt.order_by(Member.surname, Member.name, Member.patronymic, Member.id)
                .offset((page - 1) * per_page)
                .limit(per_page)
            )
        ).all()
        levels = await self._levels([m.id for m in rows])
        items = [await self._out(m, levels[m.id], []) for m in rows]
        await record_access(
            self.session, self.actor, AccessAction.LIST, [m.id for m in rows], "search"
        )
        return Page[MemberOut](items=items, total=total or 0, page=page, per_page=per_page)

    async def resolve(self, ref: str) -> Member:
        """A member by id or union card number (as the CLI takes them); registrar only."""
        self.actor.require(Role.REGISTRAR)
        ref = ref.strip()
        found = await self.session.scalars(
            select(Member).where(Member.card_number == ref.lstrip("№").strip())
        )
        matches = list(found.all())
        if not matches and ref.isascii() and ref.isdigit() and len(ref) < 10:
            by_id = await self.session.get(Member, int(ref))
            matches = [by_id] if by_id else []
        if not matches:
            raise NotFound(f"no member has the id or union card number '{ref}'")
        if len(matches) > 1:
            raise Conflict(f"card number '{ref}' exists in several unions; give the member id")
        return matches[0]

    # --- changing -----------------------------------------------------------------------

    async def create(self, data: MemberIn) -> MemberOut:
        self.actor.require(Role.REGISTRAR)
        org = await self._organisation(data.organisation_id)
        member = Member(
            organisation_id=org.id,
            root_organisation_id=org.root_id or org.id,
            surname=data.surname,
            name=data.name,
            patronymic=data.patronymic,
            card_number=data.card_number,
            position=data.position,
            email=data.email,
            phone=data.phone,
            joined_on=data.joined_on,
            search_key=search_key(data.surname, data.name, data.patronymic, data.card_number),
        )
        await self._check_card(member.root_organisation_id, data.card_number, None)
        self.session.add(member)
        await self._flush_unique()
        await record_access(self.session, self.actor, AccessAction.CREATE, [member.id])
        return await self._out(member, Level.FULL, [])

    async def update(self, member_id: int, data: MemberPatch) -> MemberOut:
        self.actor.require(Role.REGISTRAR)
        member = await self._member(member_id)
        changes = {k: v for k, v in data.model_dump(exclude_unset=True).items()}
        for required in ("organisation_id", "surname", "name", "card_number"):
            if required in changes and changes[required] is None:
                raise InvalidInput(f"{required} cannot be empty", fields={required: "required"})
        if "organisation_id" in changes and changes["organisation_id"] != member.organisation_id:
            org = await self._organisation(changes["organisation_id"])
            if (org.root_id or org.id) != member.root_organisation_id:
                raise InvalidInput(
                    "a member can move only within the same union",
                    fields={"organisation_id": "another union's organisation"},
                )
        if "card_number" in changes and changes["card_number"] != member.card_number:
            await self._check_card(member.root_organisation_id, changes["card_number"], member.id)
        changed = []
        for field, value in changes.items():
            if field in ("patronymic", "position", "email", "phone") and value is None:
                value = ""
            if getattr(member, field) != value:
                setattr(member, field, value)
                changed.append(field)
        member.search_key = search_key(
            member.surname, member.name, member.patronymic, member.card_number
        )
        await self._flush_unique()
        if changed:
            await record_access(
                self.session, self.actor, AccessAction.UPDATE, [member.id], ",".join(changed)
            )
        return await self._out(member, Level.FULL, await self._roles(member, Level.FULL))

    async def retire(self, member_id: int, left_on: dt.date | None = None) -> MemberOut:
        """Mark a member as having left: their seats end and their sessions close."""
        self.actor.require(Role.REGISTRAR)
        member = await self._member(member_id)
        if member.status is MemberStatus.LEFT:
            raise Conflict(f"member {member_id} has already left")
        left_on = left_on or utcnow().date()
        if member.joined_on and left_on < member.joined_on:
            raise InvalidInput(
                "a member cannot leave before joining", fields={"left_on": "before joined_on"}
            )
        member.status = MemberStatus.LEFT
        member.left_on = left_on
        # A seat that started after the day of leaving never took effect.
        await self.session.execute(
            update(Seat)
            .where(Seat.member_id == member.id, Seat.term_start > left_on)
            .values(term_end=Seat.term_start)
        )
        await self.session.execute(
            update(Seat)
            .where(
                Seat.member_id == member.id,
                Seat.term_start <= left_on,
                (Seat.term_end.is_(None)) | (Seat.term_end > left_on),
            )
            .values(term_end=left_on)
        )
        # Their key certificates and union cards stop verifying: the next revocation list
        # (made on the next request for it) lists them.
        await self.session.execute(
            update(IssuedCredential)
            .where(IssuedCredential.member_id == member.id, IssuedCredential.revoked_at.is_(None))
            .values(
                revoked_at=utcnow().replace(microsecond=0),
                revoked_reason="member left",
                revoked_by=self.actor.display_name,
            )
        )
        account_ids = select(Account.id).where(Account.member_id == member.id)
        await self.session.execute(
            update(Session)
            .where(Session.account_id.in_(account_ids), Session.ended_at.is_(None))
            .values(ended_at=utcnow())
        )
        await self.session.flush()
        await record_access(self.session, self.actor, AccessAction.RETIRE, [member.id])
        return await self._out(member, Level.FULL, await self._roles(member, Level.FULL))

    # --- helpers --------------------------------------------------------------------------

    async def _member(self, member_id: int) -> Member:
        member = await self.session.get(Member, member_id)
        if member is None:
            raise NotFound(f"member {member_id} does not exist")
        return member

    async def _organisation(self, org_id: int) -> Organisation:
        org = await self.session.get(Organisation, org_id)
        if org is None:
            raise InvalidInput(
                f"organisation {org_id} does not exist",
                fields={"organisation_id": "no such organisation"},
            )
        if org.retired_at is not None:
            raise InvalidInput(
                "a retired organisation cannot take members",
                fields={"organisation_id": "retired"},
            )
        return org

    async def _check_card(self, root_id: int, card: str, own_id: int | None) -> None:
        other = await self.session.scalar(
            select(Member.id).where(
                Member.root_organisation_id == root_id, Member.card_number == card
            )
        )
        if other is not None and other != own_id:
            raise Conflict(
                f"union card {card} already belongs to member {other}",
                fields={"card_number": "already in use"},
            )

    async def _flush_unique(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:  # a concurrent insert won the race for the card
            raise Conflict(
                "the union card number is already in use", fields={"card_number": "already in use"}
            ) from exc

    async def _matching(
        self, levels: dict[int, Level], full: set[int], words: list[str]
    ) -> set[int]:
        """Of the members a non-registrar sees, those whose visible fields hold every
        word: the name for all of them, the card number only where it is shown (FULL)."""
        if not words:
            return set(levels)
        rows = await self.session.execute(
            select(
                Member.id, Member.surname, Member.name, Member.patronymic, Member.card_number
            ).where(Member.id.in_(levels))
        )
        found: set[int] = set()
        for member_id, surname, name, patronymic, card in rows:
            key = search_key(surname, name, patronymic, card if member_id in full else "")
            if all(word in key for word in words):
                found.add(member_id)
        return found

    async def _levels(self, member_ids: Sequence[int] | None) -> dict[int, Level]:
        """The level at which the caller may see each member (absent: not at all)."""
        if self.actor.has(Role.REGISTRAR):
            if member_ids is None:
                raise AssertionError("a registrar sees every member; no id set is computed")
            return dict.fromkeys(member_ids, Level.FULL)
        today = utcnow().date()
        levels: dict[int, Level] = {}

        def grant(member_id: int, level: Level) -> None:
            if member_ids is None or member_id in member_ids:
                levels[member_id] = max(levels.get(member_id, level), level)

        if self.actor.has(Role.AUDITOR):
            seated = await self.session.scalars(
                select(Seat.member_id).where(current_seat_clause(today)).distinct()
            )
            for member_id in seated:
                grant(member_id, Level.NAME)
        if self.actor.member_id is not None:
            grant(self.actor.member_id, Level.FULL)
            own = (
                await self.session.execute(
                    select(Seat.body_id, Seat.role).where(
                        Seat.member_id == self.actor.member_id, current_seat_clause(today)
                    )
                )
            ).all()
            convened = {body for body, role in own if role in _CONVENERS}
            fellows = (
                await self.session.execute(
                    select(Seat.member_id, Seat.body_id).where(
                        Seat.body_id.in_({body for body, _ in own}), current_seat_clause(today)
                    )
                )
            ).all()
            for member_id, body_id in fellows:
                grant(member_id, Level.CONTACT if body_id in convened else Level.NAME)
        return levels

    async def _roles(self, member: Member, level: Level) -> list[MemberRoleOut]:
        stmt = (
            select(Seat, Body.name)
            .join(Body, Body.id == Seat.body_id)
            .where(Seat.member_id == member.id)
            .order_by(Seat.term_start.desc())
        )
        rows = (await self.session.execute(stmt)).all()
        if level is not Level.FULL and not self.actor.has(Role.AUDITOR):
            today = utcnow().date()
            shared = set(
                await self.session.scalars(
                    select(Seat.body_id).where(
                        Seat.member_id == self.actor.member_id, current_seat_clause(today)
                    )
                )
            )
            rows = [r for r in rows if r[0].body_id in shared]
        return [
            MemberRoleOut(
                body_id=seat.body_id,
                body_name=body_name,
                role=seat.role,
                term_start=seat.term_start,
                term_end=seat.term_end,
            )
            for seat, body_name in rows
        ]

    async def _out(self, member: Member, level: Level, roles: list[MemberRoleOut]) -> MemberOut:
        org = await self.session.get(Organisation, member.organisation_id)
        base = {
            "id": member.id,
            "full_name": member.full_name,
            "surname": member.surname,
            "name": member.name,
            "patronymic": member.patronymic,
            "organisation_id": member.organisation_id,
            "organisation_name": (org.short_name or org.name) if org else "",
            "visibility": level.name.lower(),
            "roles": roles,
        }
        if level >= Level.CONTACT:
            base |= {"position": member.position, "email": member.email, "phone": member.phone}
        if level >= Level.FULL:
            base |= {
                "card_number": member.card_number,
                "status": member.status,
                "joined_on": member.joined_on,
                "left_on": member.left_on,
            }
        return MemberOut.model_validate(base)
