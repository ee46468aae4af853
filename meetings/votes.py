"""Votes as the bodies hold them: on an agenda item in session (only with quorum, the
roll being the members present), absentee votes of a body's members by a deadline, and
surveys of an organisation's members. The board and the formats are :mod:`ballots`';
this module decides who votes, tells them, and keeps the meeting's record."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ForeignKey, Integer, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from ballots.formats import Rule, Secretary, Turnout
from ballots.models import BoardEntry, Vote, VoteKind, VoteState
from ballots.votes import (
    DEFAULT_OPTIONS,
    Voter,
    VoteService,
    VoteSpec,
    count_voters,
    recorded_in_hall,
    result_json,
)
from meetings.access import composition_ids, is_body_officer, roles_in
from meetings.elections.commission import settle_approval_vote, settle_commission_vote
from meetings.elections.models import Election, ElectionState
from meetings.events import append_event
from meetings.models import AgendaItem, Meeting, MeetingState, Notice, Presence
from meetings.room import RoomService
from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.localtime import DEFAULT_ZONE, LocalClock
from registry.members import current_seat_clause
from registry.models import Body, Member, MemberStatus, Organisation, Role, Seat
from registry.organisations import OrganisationService
from registry.orm import Base, utcnow
from registry.registrykey import RegistryKeyring

__all__ = [
    "AbsenteeVoteIn",
    "MeetingVote",
    "MeetingVoteIn",
    "SurveyIn",
    "VoteDesk",
    "VoteNotice",
    "room_snapshot",
    "vote_json",
    "vote_progress",
]


class MeetingVote(Base):
    """Which meeting and agenda item a vote was held on."""

    __tablename__ = "meeting_vote"

    vote_id: Mapped[int] = mapped_column(
        ForeignKey("vote.id", ondelete="RESTRICT"), primary_key=True
    )
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="RESTRICT"), index=True
    )
    item_id: Mapped[int] = mapped_column(ForeignKey("agenda_item.id", ondelete="RESTRICT"))
    position: Mapped[int] = mapped_column(Integer, default=0)


class _RuleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    base: str = Field("cast", pattern="^(cast|present|composition)$")
    numerator: int = Field(1, ge=1, le=1000)
    denominator: int = Field(2, ge=1, le=1000)
    strict: bool = True

    def rule(self) -> Rule:
        if self.numerator > self.denominator:
            raise InvalidInput("the fraction must be at most 1", fields={"numerator": "too large"})
        return Rule(self.base, 1, self.numerator, self.denominator, self.strict)


def _options(value: list[str] | None) -> list[str] | None:
    if value is None:
        return None
    cleaned = [o.strip() for o in value]
    if any(not o for o in cleaned):
        raise ValueError("an option is empty")
    if len({o.casefold() for o in cleaned}) != len(cleaned):
        raise ValueError("two options are the same")
    return cleaned


class MeetingVoteIn(_RuleIn):
    """The chair opens a vote on the current item: «за / против / воздержался» unless
    other options are given; the rule's base decides what the votes «за» are compared to."""

    question: str = Field("", max_length=4000)
    options: list[str] | None = Field(None, min_length=2, max_length=20)

    _check_options = field_validator("options")(_options)


class AbsenteeVoteIn(_RuleIn):
    body_id: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=500)
    question: str = Field(min_length=1, max_length=4000)
    options: list[str] | None = Field(None, min_length=2, max_length=20)
    closes_at: dt.datetime
    # The charter's quorum of an absentee vote: more than half of the members took part.
    turnout_numerator: int = Field(1, ge=1, le=1000)
    turnout_denominator: int = Field(2, ge=1, le=1000)

    _check_options = field_validator("options")(_options)


class SurveyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    organisation_id: int = Field(ge=1)
    title: str = Field(min_length=1, max_length=500)
    question: str = Field(min_length=1, max_length=4000)
    options: list[str] = Field(min_length=2, max_length=50)
    multiple: bool = False
    anonymous: bool = False
    closes_at: dt.datetime

    _check_options = field_validator("options")(_options)


@dataclass(frozen=True)
class VoteNotice:
    """Who must be told that a vote opened (the server sends the mail)."""

    vote_id: int
    subject: str
    recipients: tuple[tuple[int, str, str], ...]  # (member id, full name, e-mail)


def _aware(moment: dt.datetime) -> dt.datetime:
    if moment.tzinfo is None:
        raise InvalidInput(
            "give the deadline with its time zone (e.g. 2026-12-01T18:00:00+05:00)",
            fields={"closes_at": "no time zone"},
        )
    return moment


class VoteDesk:
    def __init__(
        self,
        session: AsyncSession,
        actor: Actor,
        keyring: RegistryKeyring,
        zone: str = DEFAULT_ZONE,
    ) -> None:
        self.session = session
        self.actor = actor
        self.keyring = keyring
        self.zone = zone  # the organisation's: the notices' times are in it
        self.votes = VoteService(session, actor, keyring)

    # --- in a meeting ---------------------------------------------------------------------

    async def open_on_item(self, meeting_id: int, data: MeetingVoteIn) -> Vote:
        meeting = await self.session.scalar(
            select(Meeting).where(Meeting.id == meeting_id).with_for_update()
        )
        if meeting is None:
            raise NotFound("no such meeting", key="no_meeting")
        roles = await roles_in(self.session, meeting, self.actor)
        roles.require_view()
        roles.require_chair()
        item = (
            await self.session.get(AgendaItem, meeting.current_item_id)
            if meeting.current_item_id
            else None
        )
        if meeting.state is not MeetingState.IN_SESSION:
            raise Conflict("the meeting is not in session", key="not_in_session")
        if item is None:
            raise Conflict("choose the agenda item to vote on first", key="no_current_item")
        return await self.open_in_meeting(meeting, item, data)

    async def open_in_meeting(
        self, meeting: Meeting, item: AgendaItem, data: MeetingVoteIn
    ) -> Vote:
        """Open a vote on ``item`` of ``meeting`` (its row locked by the caller, who has
        checked that the caller may): in session, with quorum, one open vote at a time."""
        if meeting.state is not MeetingState.IN_SESSION:
            raise Conflict("the meeting is not in session", key="not_in_session")
        if await self.open_vote_of(meeting.id) is not None:
            raise Conflict(
                "a vote is already open in this meeting: close it first", key="vote_already_open"
            )
        if await open_secret_votes(self.session, meeting.id):
            raise Conflict(
                "a secret vote is open in this meeting: the chair closes it first",
                key="secret_vote_open",
            )
        status = await RoomService(self.session, self.actor).require_quorum(meeting.id, item.id)
        composition = await composition_ids(self.session, meeting)
        present = (
            set(
                (
                    await self.session.scalars(
                        select(Presence.member_id).where(
                            Presence.meeting_id == meeting.id,
                            (Presence.online.is_(True)) | (Presence.in_person.is_(True)),
                        )
                    )
                ).all()
            )
            & composition
        )
        body = await self.session.get(Body, meeting.body_id)
        assert body is not None
        org = await self.session.get(Organisation, body.organisation_id)
        assert org is not None
        position = 1 + len(
            (
                await self.session.scalars(
                    select(MeetingVote.vote_id).where(MeetingVote.item_id == item.id)
                )
            ).all()
        )
        question = data.question.strip() or item.draft_resolution.strip() or item.title
        title = f"{body.name}: заседание {meeting.code}, вопрос {item.position}. {item.title}"
        voters = await self._voters(present)
        secretary = await self._hall_secretary(meeting, voters)
        vote = await self.votes.open(
            VoteSpec(
                kind=VoteKind.MEETING,
                organisation_id=org.root_id or org.id,
                title=title[:1000],
                question=question,
                voters=voters,
                composition=status.composition,
                present=len(present),
                options=data.options or DEFAULT_OPTIONS,
                rule=data.rule(),
                body_id=body.id,
                secretary=secretary,
            )
        )
        self.session.add(
            MeetingVote(vote_id=vote.id, meeting_id=meeting.id, item_id=item.id, position=position)
        )
        await self.session.flush()
        await append_event(
            self.session,
            meeting.id,
            "vote.opened",
            await self.vote_json(vote, item.id),
            actor=self.actor.display_name,
        )
        return vote

    async def close_meeting_vote(self, meeting_id: int, vote_id: int) -> Vote:
        meeting = await self.session.get(Meeting, meeting_id)
        link = await self.session.get(MeetingVote, vote_id)
        if meeting is None or link is None or link.meeting_id != meeting_id:
            raise NotFound("no such vote in this meeting", key="no_vote")
        roles = await roles_in(self.session, meeting, self.actor)
        roles.require_view()
        roles.require_chair()
        return await self.close(vote_id)

    async def close(self, vote_id: int) -> Vote:
        """Close and count (the chair's button, or the deadline); tell the meeting."""
        vote = await self.votes.close(vote_id)
        link = await self.session.get(MeetingVote, vote_id)
        if link is not None:
            await append_event(
                self.session,
                link.meeting_id,
                "vote.closed",
                await self.vote_json(vote, link.item_id),
                actor=self.actor.display_name,
            )
        # The body's vote on a counting commission constitutes it (or rejects the list).
        await settle_commission_vote(self.session, vote, actor=self.actor.display_name)
        # The body's vote on the commission's protocol approves the election (or not).
        await settle_approval_vote(self.session, vote, actor=self.actor.display_name)
        return vote

    async def open_vote_of(self, meeting_id: int) -> Vote | None:
        vote: Vote | None = await self.session.scalar(
            select(Vote)
            .join(MeetingVote, MeetingVote.vote_id == Vote.id)
            .where(MeetingVote.meeting_id == meeting_id, Vote.state == VoteState.OPEN)
        )
        return vote

    async def meeting_votes(self, meeting_id: int) -> list[tuple[Vote, MeetingVote]]:
        rows = await self.session.execute(
            select(Vote, MeetingVote)
            .join(MeetingVote, MeetingVote.vote_id == Vote.id)
            .where(MeetingVote.meeting_id == meeting_id)
            .order_by(Vote.id)
        )
        return [(vote, link) for vote, link in rows.tuples().all()]

    async def vote_json(self, vote: Vote, item_id: int | None = None) -> dict[str, Any]:
        return await vote_json(self.session, vote, item_id)

    # --- between meetings -----------------------------------------------------------------

    async def open_absentee(self, data: AbsenteeVoteIn) -> tuple[Vote, VoteNotice]:
        body = await self.session.get(Body, data.body_id)
        if body is None or body.retired_at is not None:
            raise NotFound("no such body", key="no_body")
        today = utcnow().date()
        await self._require_officer(body.id, today)
        members = set(
            (
                await self.session.scalars(
                    select(Seat.member_id).where(
                        Seat.body_id == body.id, current_seat_clause(today)
                    )
                )
            ).all()
        )
        if data.turnout_numerator > data.turnout_denominator:
            raise InvalidInput("the turnout fraction must be at most 1")
        org = await self.session.get(Organisation, body.organisation_id)
        assert org is not None
        vote = await self.votes.open(
            VoteSpec(
                kind=VoteKind.ABSENTEE,
                organisation_id=org.root_id or org.id,
                title=f"{body.name}: {data.title.strip()}"[:1000],
                question=data.question,
                voters=await self._voters(members),
                composition=len(members),
                options=data.options or DEFAULT_OPTIONS,
                rule=data.rule() if data.base != "present" else _no_present(),
                turnout=Turnout(data.turnout_numerator, data.turnout_denominator, True),
                closes_at=_aware(data.closes_at),
                body_id=body.id,
            )
        )
        return vote, await self._notify(vote, members, "Заочное голосование")

    async def open_survey(self, data: SurveyIn) -> tuple[Vote, VoteNotice]:
        self.actor.require(Role.REGISTRAR, Role.SECRETARY)
        org = await self.session.get(Organisation, data.organisation_id)
        if org is None or org.retired_at is not None:
            raise NotFound("no such organisation")
        subtree = await OrganisationService(self.session, self.actor).subtree_ids(org)
        members = set(
            (
                await self.session.scalars(
                    select(Member.id).where(
                        Member.organisation_id.in_(subtree),
                        Member.status == MemberStatus.ACTIVE,
                    )
                )
            ).all()
        )
        vote = await self.votes.open(
            VoteSpec(
                kind=VoteKind.SURVEY,
                organisation_id=org.root_id or org.id,
                title=f"{org.short_name or org.name}: {data.title.strip()}"[:1000],
                question=data.question,
                voters=await self._voters(members),
                composition=len(members),
                options=data.options,
                min_choices=1,
                max_choices=len(data.options) if data.multiple else 1,
                publicity="counts" if data.anonymous else "named",
                rule=Rule("none"),
                closes_at=_aware(data.closes_at),
                audience_id=org.id,
            )
        )
        return vote, await self._notify(vote, members, "Опрос")

    async def close_due(self) -> list[Vote]:
        """Close every vote whose deadline has passed (the sweeper calls this)."""
        closed = []
        for vote_id in await self.votes.due():
            vote = await self.session.get(Vote, vote_id)
            if vote is not None and vote.state is VoteState.OPEN:
                closed.append(await self.close(vote_id))
        return closed

    # --- who sees what --------------------------------------------------------------------

    async def can_view(self, vote: Vote) -> bool:
        if self.actor.has(Role.REGISTRAR) or self.actor.has(Role.AUDITOR):
            return True
        link = await self.session.get(MeetingVote, vote.id)
        if link is not None:
            meeting = await self.session.get(Meeting, link.meeting_id)
            assert meeting is not None
            return (await roles_in(self.session, meeting, self.actor)).can_view
        if vote.kind is VoteKind.SURVEY and self.actor.has(Role.SECRETARY):
            return True
        if self.actor.member_id is None:
            return False
        if vote.body_id is not None and await self._is_officer(vote.body_id, utcnow().date()):
            return True
        return await self.on_roll(vote, self.actor.member_id)

    async def require_view(self, vote_id: int) -> Vote:
        vote = await self.session.get(Vote, vote_id)
        if vote is None or not await self.can_view(vote):
            raise NotFound("no such vote", key="no_vote")
        return vote

    async def on_roll(self, vote: Vote, member_id: int) -> bool:
        definition = json.loads(vote.definition)["payload"]
        return any(entry["member"] == member_id for entry in definition["roll"])

    async def visible(self, limit: int = 200) -> list[Vote]:
        rows = (
            await self.session.scalars(select(Vote).order_by(Vote.id.desc()).limit(limit * 5))
        ).all()
        return [vote for vote in rows if await self.can_view(vote)][:limit]

    async def link(self, vote_id: int) -> MeetingVote | None:
        return await self.session.get(MeetingVote, vote_id)

    # --- helpers --------------------------------------------------------------------------

    async def _hall_secretary(self, meeting: Meeting, voters: list[Voter]) -> Secretary | None:
        """The meeting's secretary, named by the definition (version 2) where a voter is
        in the hall: the secretary may then record their votes from a show of hands.
        Marks the voters in the hall (``voters`` is changed in place)."""
        if meeting.secretary_member_id is None:
            return None
        hall = set(
            (
                await self.session.scalars(
                    select(Presence.member_id).where(
                        Presence.meeting_id == meeting.id, Presence.in_person.is_(True)
                    )
                )
            ).all()
        )
        hall.discard(meeting.secretary_member_id)  # the secretary votes with a ballot
        if not hall & {voter.member_id for voter in voters}:
            return None
        secretary = await self.session.get(Member, meeting.secretary_member_id)
        if secretary is None:
            return None
        voters[:] = [
            Voter(voter.member_id, voter.name, in_hall=voter.member_id in hall) for voter in voters
        ]
        return Secretary(secretary.id, secretary.full_name)

    async def _voters(self, member_ids: set[int]) -> list[Voter]:
        voters: list[Voter] = []
        ordered = sorted(member_ids)
        for start in range(0, len(ordered), 5000):
            rows = await self.session.scalars(
                select(Member).where(Member.id.in_(ordered[start : start + 5000]))
            )
            voters.extend(Voter(m.id, m.full_name) for m in rows.all())
        return voters

    async def _notify(self, vote: Vote, members: set[int], kind: str) -> VoteNotice:
        subject = f"{kind}: {vote.title}"[:500]
        deadline = LocalClock(self.zone).labelled(vote.closes_at)
        text = f"{vote.question}\n\nГолосование открыто до {deadline}: /votes/{vote.id}"
        recipients = []
        ordered = sorted(members)
        for start in range(0, len(ordered), 5000):
            rows = await self.session.scalars(
                select(Member).where(Member.id.in_(ordered[start : start + 5000]))
            )
            for member in rows.all():
                self.session.add(
                    Notice(member_id=member.id, vote_id=vote.id, subject=subject, body=text)
                )
                recipients.append((member.id, member.full_name, member.email))
        await self.session.flush()
        return VoteNotice(vote.id, subject, tuple(recipients))

    async def _is_officer(self, body_id: int, on: dt.date) -> bool:
        return await is_body_officer(self.session, self.actor.member_id, body_id, on)

    async def _require_officer(self, body_id: int, on: dt.date) -> None:
        if self.actor.has(Role.REGISTRAR) or await self._is_officer(body_id, on):
            return
        raise PermissionDenied(
            "only the body's chair, deputy chair, secretary or the registrar may call a vote",
            key="not_body_officer",
        )


def _no_present() -> Rule:
    raise InvalidInput(
        "an absentee vote has nobody 'present': count against the votes cast or the composition",
        fields={"base": "present is for meetings"},
    )


async def vote_progress(session: AsyncSession, vote: Vote) -> None:
    """Board hook, inside the append transaction: the live count for the meeting room
    (how many have voted, never how)."""
    link = await session.get(MeetingVote, vote.id)
    if link is None:
        return
    cast = await session.scalar(
        select(func.count(func.distinct(BoardEntry.member_id))).where(BoardEntry.vote_id == vote.id)
    )
    await append_event(
        session,
        link.meeting_id,
        "vote.progress",
        {"vote": vote.id, "cast": int(cast or 0), "roll": vote.roll_size},
    )


async def vote_json(
    session: AsyncSession, vote: Vote, item_id: int | None = None
) -> dict[str, Any]:
    """What every page of the meeting shows of a vote: the question, the options,
    who is on the roll, how many have voted — and at the close, the result."""
    definition = json.loads(vote.definition)["payload"]
    data: dict[str, Any] = {
        "vote": vote.id,
        "item": item_id,
        "kind": vote.kind.value,
        "state": vote.state.value,
        "title": vote.title,
        "question": definition["question"],
        "options": definition["options"],
        "min_choices": definition["min_choices"],
        "max_choices": definition["max_choices"],
        "roll": [entry["member"] for entry in definition["roll"]],
        "keys": {str(e["member"]): e["keys"] for e in definition["roll"]},
        "rule": definition["rule"],
        "fingerprint": vote.fingerprint,
        "closes_at": definition["closes_at"],
        "cast": await count_voters(session, vote.id),
        "result": None,
        # A mixed meeting (definition version 2): the secretary, the voters in the hall,
        # and those whose vote counts from the secretary's record of a show of hands.
        "secretary": (definition.get("secretary") or {}).get("member"),
        "in_hall": [e["member"] for e in definition["roll"] if e.get("in_hall")],
        "recorded": sorted(await recorded_in_hall(session, vote.id, definition)),
    }
    result = result_json(vote)
    if result is not None:
        data["result"] = {
            "voters": result["voters"],
            "counts": result["counts"],
            "adopted": result["adopted"],
            "turnout_met": result["turnout_met"],
            "roll_call": result["roll_call"],
            "head": result["head"],
        }
    return data


async def open_secret_votes(session: AsyncSession, meeting_id: int) -> list[int]:
    """The meeting's elections whose secret vote is open: while one is, no open vote."""
    return list(
        (
            await session.scalars(
                select(Election.id)
                .where(Election.meeting_id == meeting_id, Election.state == ElectionState.OPEN)
                .order_by(Election.id)
            )
        ).all()
    )


async def room_snapshot(session: AsyncSession, actor: Actor, meeting_id: int) -> dict[str, Any]:
    """The meeting room's snapshot with the meeting's votes in it."""
    snapshot = await RoomService(session, actor).snapshot(meeting_id)
    rows = await session.execute(
        select(Vote, MeetingVote.item_id)
        .join(MeetingVote, MeetingVote.vote_id == Vote.id)
        .where(MeetingVote.meeting_id == meeting_id)
        .order_by(Vote.id)
    )
    snapshot["votes"] = [await vote_json(session, vote, item) for vote, item in rows.tuples()]
    snapshot["secret_open"] = await open_secret_votes(session, meeting_id)
    return snapshot
