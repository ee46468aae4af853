"""«Мои дела»: what waits on the caller — meetings they are called to, ballots they have
not cast, documents to sign or acknowledge, and what waits on them as an officer.

Each list is what the state allows the caller to do now, no more: a meeting whose
room is not open has no room link, a vote already voted in is not listed (a change
of mind is made from the vote's own page), a document appears for the one signer
whose turn it is.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import BoardEntry, Vote, VoteKind, VoteState
from meetings.access import roles_in
from meetings.diagnosis.campaigns import CampaignService
from meetings.distribution import Distribution
from meetings.issuing import DocumentDesk
from meetings.models import (
    Document,
    DocumentKind,
    DocumentSignature,
    DocumentState,
    Meeting,
    MeetingState,
)
from meetings.votes import MeetingVote
from registry.actor import Actor
from registry.models import Body, Role

__all__ = [
    "AuditTask",
    "DiagnosisTask",
    "DocumentTask",
    "MeetingTask",
    "Tasks",
    "VoteTask",
    "body_names",
    "meeting_audits",
    "my_tasks",
]

_CALLED = (MeetingState.ANNOUNCED, MeetingState.REGISTRATION, MeetingState.IN_SESSION)
_LIVE = (MeetingState.REGISTRATION, MeetingState.IN_SESSION)

BodyName = Callable[[int], Awaitable[str]]


@dataclass(frozen=True)
class MeetingTask:
    meeting_id: int
    code: str
    title: str
    body_name: str
    starts_at: dt.datetime
    timezone: str
    state: str
    room_open: bool
    role: str  # chair | secretary | member

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(ZoneInfo(self.timezone))


@dataclass(frozen=True)
class VoteTask:
    vote_id: int
    kind: str  # meeting | absentee | survey
    title: str
    closes_at: dt.datetime | None
    meeting_id: int | None


@dataclass(frozen=True)
class DocumentTask:
    document_id: int
    kind: str
    number: str
    title: str
    journal: str
    meeting_id: int
    action: str  # sign | acknowledge | issue


@dataclass(frozen=True)
class AuditTask:
    meeting_id: int
    code: str
    title: str
    body_name: str
    closed_votes: int


@dataclass(frozen=True)
class DiagnosisTask:
    """A self-diagnosis questionnaire the caller answers for, still to be submitted."""

    campaign_id: int
    organisation_id: int
    title: str
    organisation: str
    until: dt.datetime
    state: str  # waiting | draft | returned


@dataclass
class Tasks:
    meetings: list[MeetingTask] = field(default_factory=list)
    votes: list[VoteTask] = field(default_factory=list)
    to_sign: list[DocumentTask] = field(default_factory=list)
    to_acknowledge: list[DocumentTask] = field(default_factory=list)
    protocols_to_issue: list[MeetingTask] = field(default_factory=list)
    audits: list[AuditTask] = field(default_factory=list)
    diagnosis: list[DiagnosisTask] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (
            self.meetings
            or self.votes
            or self.to_sign
            or self.to_acknowledge
            or self.protocols_to_issue
            or self.audits
            or self.diagnosis
        )


def body_names(session: AsyncSession) -> BodyName:
    """A body's name by id, each read once."""
    bodies: dict[int, str] = {}

    async def body_name(body_id: int) -> str:
        if body_id not in bodies:
            body = await session.get(Body, body_id)
            bodies[body_id] = body.name if body else ""
        return bodies[body_id]

    return body_name


async def my_tasks(session: AsyncSession, actor: Actor) -> Tasks:
    """Everything that waits on ``actor`` now."""
    tasks = Tasks()
    body_name = body_names(session)

    if actor.member_id is not None:
        for meeting in (
            await session.scalars(
                select(Meeting).where(Meeting.state.in_(_CALLED)).order_by(Meeting.starts_at)
            )
        ).all():
            roles = await roles_in(session, meeting, actor)
            role = next((r for r in ("chair", "secretary", "member") if r in roles.names), None)
            if role is None:
                continue
            tasks.meetings.append(await _meeting_task(meeting, role, body_name))
        tasks.votes = await _votes(session, actor.member_id)
        tasks.to_sign = await _to_sign(session, actor.member_id)
        tasks.to_acknowledge = [
            DocumentTask(
                entry.document_id,
                entry.kind,
                entry.number,
                entry.title,
                entry.journal,
                0,
                "acknowledge",
            )
            for entry in await Distribution(session, actor).inbox()
            if not entry.copy.acknowledged
        ]
        tasks.protocols_to_issue = await _protocols_to_issue(session, actor.member_id, body_name)
        tasks.diagnosis = [
            DiagnosisTask(
                campaign.id,
                org.id,
                campaign.title,
                org.short_name or org.name,
                participant.extended_until or campaign.deadline,
                participant.state.value,
            )
            for campaign, participant, org in await CampaignService(session, actor).waiting_for_me()
        ]
    if actor.has(Role.AUDITOR):
        tasks.audits = await meeting_audits(session, body_name)
    return tasks


async def _meeting_task(meeting: Meeting, role: str, body_name: BodyName) -> MeetingTask:
    return MeetingTask(
        meeting_id=meeting.id,
        code=meeting.code,
        title=meeting.title,
        body_name=await body_name(meeting.body_id),
        starts_at=meeting.starts_at,
        timezone=meeting.timezone,
        state=meeting.state.value,
        room_open=meeting.state in _LIVE,
        role=role,
    )


async def _votes(session: AsyncSession, member_id: int) -> list[VoteTask]:
    """Open votes with the member on the roll and no ballot of theirs on the board."""
    cast = set(
        (
            await session.scalars(
                select(BoardEntry.vote_id)
                .join(Vote, Vote.id == BoardEntry.vote_id)
                .where(Vote.state == VoteState.OPEN, BoardEntry.member_id == member_id)
            )
        ).all()
    )
    links = {
        link.vote_id: link.meeting_id
        for link in (
            await session.scalars(
                select(MeetingVote)
                .join(Vote, Vote.id == MeetingVote.vote_id)
                .where(Vote.state == VoteState.OPEN)
            )
        ).all()
    }
    out = []
    for vote in (
        await session.scalars(
            select(Vote).where(Vote.state == VoteState.OPEN).order_by(Vote.opens_at, Vote.id)
        )
    ).all():
        if vote.id in cast or not vote.definition:
            continue
        roll = json.loads(vote.definition)["payload"]["roll"]
        if not any(entry["member"] == member_id for entry in roll):
            continue
        out.append(
            VoteTask(vote.id, vote.kind.value, vote.title, vote.closes_at, links.get(vote.id))
        )
    return out


async def _to_sign(session: AsyncSession, member_id: int) -> list[DocumentTask]:
    """Documents being signed whose next signer is the member."""
    out = []
    documents = (
        await session.scalars(
            select(Document)
            .where(Document.state == DocumentState.SIGNING)
            .order_by(Document.journal_year, Document.journal_seq)
        )
    ).all()
    for document in documents:
        signatures = (
            await session.scalars(
                select(DocumentSignature)
                .where(DocumentSignature.document_id == document.id)
                .order_by(DocumentSignature.position)
            )
        ).all()
        step = DocumentDesk.next_signer(document, signatures)
        if step is not None and step[1] == member_id:
            out.append(
                DocumentTask(
                    document.id,
                    document.kind.value,
                    document.number,
                    document.title,
                    document.journal_number,
                    document.meeting_id,
                    "sign",
                )
            )
    return out


async def _protocols_to_issue(
    session: AsyncSession, member_id: int, body_name: BodyName
) -> list[MeetingTask]:
    """Closed meetings the member was secretary of, with no protocol finalised yet
    (a withdrawn one does not count: the protocol is still to issue)."""
    issued = select(Document.meeting_id).where(
        Document.kind == DocumentKind.PROTOCOL, Document.state != DocumentState.WITHDRAWN
    )
    meetings = (
        await session.scalars(
            select(Meeting)
            .where(
                Meeting.state == MeetingState.CLOSED,
                Meeting.secretary_member_id == member_id,
                Meeting.id.not_in(issued),
            )
            .order_by(Meeting.starts_at)
        )
    ).all()
    return [await _meeting_task(m, "secretary", body_name) for m in meetings]


async def meeting_audits(session: AsyncSession, body_name: BodyName) -> list[AuditTask]:
    """Meetings with closed votes: their whole audit bundle is the auditor's to check."""
    rows = (
        await session.execute(
            select(Meeting, func.count(Vote.id))
            .join(MeetingVote, MeetingVote.meeting_id == Meeting.id)
            .join(Vote, Vote.id == MeetingVote.vote_id)
            .where(Vote.state == VoteState.CLOSED, Vote.kind == VoteKind.MEETING)
            .group_by(Meeting.id)
            .order_by(Meeting.starts_at.desc())
            .limit(20)
        )
    ).all()
    return [
        AuditTask(m.id, m.code, m.title, await body_name(m.body_id), int(count))
        for m, count in rows
    ]
