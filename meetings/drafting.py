"""Drafts of a meeting's documents, assembled from its record in the database.

What a document says is :mod:`meetings.documents`; this module reads the meeting, its
body and organisation, the items, the people, the attendance and the closed votes, and
hands them over. Nothing here writes.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import Vote, VoteState
from ballots.votes import recorded_in_hall, result_json
from crypto.canonical import canonicalize_signed
from crypto.hashing import content_address
from meetings.access import composition_ids, meeting_date
from meetings.documents import (
    MinutesPart,
    Point,
    Protocol,
    ProtocolItem,
    Resolution,
    VoteLine,
    attendance,
    decision_points,
    meeting_number,
    paragraphs,
    resolution,
    split_draft,
)
from meetings.elections.models import (
    Commission,
    CommissionState,
    Election,
    ElectionKind,
    ElectionState,
)
from meetings.models import (
    AgendaItem,
    Document,
    DocumentKind,
    DocumentState,
    Guest,
    Meeting,
    MeetingEvent,
    Presence,
)
from meetings.preparation import MeetingService
from meetings.quorum import quorum_status
from meetings.room import item_rule
from meetings.votes import MeetingVote
from registry.actor import Actor
from registry.models import Body, Member, Organisation

__all__ = [
    "ItemVote",
    "genitive",
    "initials",
    "item_resolution",
    "meeting_protocol",
    "short_name",
    "vote_line",
]


def initials(full_name: str) -> str:
    """«Иванов Михаил Геннадьевич» → «М. Г. Иванов», as a signature is typed."""
    parts = full_name.split()
    if len(parts) < 2:
        return full_name.strip()
    return " ".join([*(f"{p[0]}." for p in parts[1:]), parts[0]])


async def item_resolution(
    session: AsyncSession, actor: Actor, meeting_id: int, item_id: int
) -> Resolution:
    """The resolution of one agenda item, as far as the record holds it now."""
    service = MeetingService(session, actor)
    meeting, _roles = await service.get(meeting_id)
    item = await service.item(meeting, item_id)
    body = await session.get(Body, meeting.body_id)
    assert body is not None
    org = await session.get(Organisation, body.organisation_id)
    assert org is not None
    chair = await session.get(Member, meeting.chair_member_id) if meeting.chair_member_id else None
    return resolution(
        organisation=org.name,
        short_name=org.short_name,
        body=body.name,
        date=meeting_date(meeting),
        city=org.city,
        meeting=meeting.number,
        item=item.position,
        title=item.title,
        draft=item.draft_resolution,
        decision=item.decision,
        signature_title=("Председатель", body.name),
        signer=initials(chair.full_name) if chair else "",
    )


ItemVote = tuple[VoteLine, Vote]


#: Said after the name of a member in the hall whose vote the secretary recorded.
HALL_RECORDED = "в зале, по подсчёту секретаря"


def vote_line(vote: Vote, recorded: Collection[int] = ()) -> VoteLine:
    """«ГОЛОСОВАЛИ» of a closed vote, from its signed definition and result.
    ``recorded``: the members whose vote counts from the secretary's hall record."""
    definition: dict[str, Any] = json.loads(vote.definition)["payload"]
    result = result_json(vote)
    options: list[str] = list(definition["options"])
    if result is None:
        return VoteLine(question=vote.question, counts=(), adopted=None)
    roll_call: tuple[tuple[str, str], ...] = ()
    if result["roll_call"]:
        named = [
            (entry["name"], ", ".join(options[n - 1] for n in entry["choice"]), entry["member"])
            for entry in result["roll_call"]
        ]
        hall = {name for name, _option, member in named if member in recorded}
        roll_call = tuple(
            (
                f"{short_name(name)} ({HALL_RECORDED})" if name in hall else short_name(name),
                option,
            )
            for name, option in attendance_order([(name, option) for name, option, _ in named])
        )
    assert vote.result is not None
    return VoteLine(
        question=vote.question,
        counts=tuple(zip(options, result["counts"], strict=True)),
        adopted=result["adopted"],
        roll_call=roll_call,
        head=result["head"],
        result=content_address(canonicalize_signed(result)),
    )


def short_name(full_name: str) -> str:
    """«Иванов Михаил Геннадьевич» → «Иванов М. Г.», as names are listed in a protocol."""
    parts = full_name.split()
    if len(parts) < 2:
        return full_name.strip()
    return " ".join([parts[0], *(f"{p[0]}." for p in parts[1:])])


def attendance_order(named: list[tuple[str, str]]) -> list[tuple[str, str]]:
    order = {name: index for index, name in enumerate(attendance(n for n, _ in named).names)}
    return sorted(named, key=lambda pair: order[pair[0]])


async def item_votes(session: AsyncSession, meeting_id: int, item_id: int) -> list[ItemVote]:
    """The closed votes held on an item, in the order they were held."""
    rows = await session.execute(
        select(Vote)
        .join(MeetingVote, MeetingVote.vote_id == Vote.id)
        .where(
            MeetingVote.meeting_id == meeting_id,
            MeetingVote.item_id == item_id,
            Vote.state == VoteState.CLOSED,
        )
        .order_by(Vote.opens_at, Vote.id)
    )
    lines = []
    for vote in rows.scalars():
        definition = json.loads(vote.definition)["payload"]
        recorded = await recorded_in_hall(session, vote.id, definition)
        lines.append((vote_line(vote, recorded), vote))
    return lines


async def attended(session: AsyncSession, meeting: Meeting) -> set[int]:
    """Members who were at the meeting at any moment: present now, or recorded as
    arriving in its event log."""
    now = await session.scalars(
        select(Presence.member_id).where(
            Presence.meeting_id == meeting.id,
            (Presence.online.is_(True)) | (Presence.in_person.is_(True)),
        )
    )
    ids = set(now.all())
    arrivals = await session.scalars(
        select(MeetingEvent.data).where(
            MeetingEvent.meeting_id == meeting.id, MeetingEvent.kind == "presence.arrived"
        )
    )
    for data in arrivals:
        member = json.loads(data).get("member")
        if isinstance(member, int):
            ids.add(member)
    return ids


async def meeting_protocol(
    session: AsyncSession, actor: Actor, meeting_id: int
) -> tuple[Protocol, list[Vote]]:
    """The protocol of a meeting as its record holds it now, and the votes it cites."""
    service = MeetingService(session, actor)
    meeting, _roles = await service.get(meeting_id)
    body = await session.get(Body, meeting.body_id)
    assert body is not None
    org = await session.get(Organisation, body.organisation_id)
    assert org is not None
    composition = await composition_ids(session, meeting)
    present = await attended(session, meeting)
    wanted = composition | present
    for officer in (meeting.chair_member_id, meeting.secretary_member_id):
        if officer is not None:
            wanted.add(officer)
    names = {
        m.id: m.full_name
        for m in (await session.scalars(select(Member).where(Member.id.in_(wanted)))).all()
    }
    counted = present & composition
    status = quorum_status(
        composition,
        counted,
        item_rule(body, None),
    )
    verdict = "Кворум имеется." if status.met else "Кворума нет."
    quorum = (
        f"Из {status.composition} членов {genitive(body.name)} присутствуют "
        f"{status.present}; для кворума необходимо не менее {status.required}. {verdict}"
    )
    came = await _guests_who_came(session, meeting.id)
    guests = [
        guest
        for guest in (
            await session.scalars(
                select(Guest).where(Guest.meeting_id == meeting.id).order_by(Guest.id)
            )
        ).all()
        if guest.id in came
    ]
    items: list[ProtocolItem] = []
    cited: list[Vote] = []
    for item in meeting.items:
        votes = await item_votes(session, meeting.id, item.id)
        cited.extend(vote for _line, vote in votes)
        parts, recorded = await election_minutes(session, meeting.id, item.id, votes)
        votes = [(line, vote) for line, vote in votes if vote.id not in recorded]
        items.append(
            ProtocolItem(
                number=item.position,
                title=" ".join(item.title.split()),
                rapporteur=item.rapporteur.strip(),
                heard=tuple(paragraphs(item.heard)),
                speeches=tuple(paragraphs(item.speeches)),
                points=tuple(p.renumbered(str(item.position)) for p in _decided_points(item)),
                votes=tuple(line for line, _vote in votes),
                elections=tuple(parts),
            )
        )
    members = attendance(names[i] for i in composition if i in names)
    present_names = attendance(names[i] for i in counted if i in names)
    attachments = []
    if not present_names.listed:
        attachments.append(
            f"Список присутствующих членов {genitive(body.name)} ({present_names.count} чел.)"
        )
    for item in meeting.items:
        attachments.extend(f"{m.filename} (к вопросу {item.position})" for m in item.materials)
    chair = names.get(meeting.chair_member_id or 0, "")
    secretary = names.get(meeting.secretary_member_id or 0, "")
    protocol = Protocol(
        organisation=org.name,
        short_name=org.short_name,
        body=body.name,
        number=meeting_number(meeting.number),
        date=meeting_date(meeting),
        place=meeting.place or (f"г. {org.city}" if org.city else ""),
        chair=initials(chair) if chair else "",
        secretary=initials(secretary) if secretary else "",
        members=members,
        present=present_names,
        guests=tuple((g.name, g.affiliation) for g in guests),
        quorum=quorum,
        items=tuple(items),
        attachments=tuple(attachments),
    )
    return protocol, cited


def _nb(name: str) -> str:
    """A name held together on one line."""
    return " ".join(name.split()).replace(" ", "\u00a0")


def _names(names: Sequence[str]) -> str:
    return ", ".join(_nb(short_name(n)) for n in names)


def _sentence(text: str) -> str:
    """``text`` ended with one full stop: a list of names may already end with an
    initial's («Белова Д. А.»)."""
    return text if text.endswith(".") else f"{text}."


async def election_minutes(
    session: AsyncSession, meeting_id: int, item_id: int, votes: Sequence[ItemVote]
) -> tuple[list[MinutesPart], set[int]]:
    """What the protocol records of the elections held on an item: each commission the
    body voted on, the secret vote's result as the commission's protocol states it, and
    the body's votes on approving that protocol — and the ids of those votes, which the
    item's plain vote lines then leave out."""
    from meetings.elections.protocol import read_result  # the elections import this module

    lines = {vote.id: line for line, vote in votes}
    parts: list[MinutesPart] = []
    recorded: set[int] = set()
    elections = (
        await session.scalars(
            select(Election).where(Election.item_id == item_id).order_by(Election.id)
        )
    ).all()
    for election in elections:
        commissions = (
            await session.scalars(
                select(Commission)
                .where(Commission.election_id == election.id, Commission.vote_id.is_not(None))
                .order_by(Commission.id)
            )
        ).all()
        for commission in commissions:
            if commission.vote_id not in lines or commission.state is CommissionState.PROPOSED:
                continue
            recorded.add(commission.vote_id)
            members = _names([m.name for m in commission.members])
            decided: tuple[str, ...] = ()
            if commission.state is CommissionState.CONSTITUTED:
                decided = (
                    _sentence(f"Избрать счётную комиссию ({election.office}) в составе: {members}")
                    + f" Подсчёт голосов — не менее {commission.threshold} из"
                    f" {len(commission.members)} членов комиссии.",
                )
            parts.append(
                MinutesPart(
                    heard=f"Об избрании счётной комиссии ({election.office}): {members}",
                    votes=(lines[commission.vote_id],),
                    decided=decided,
                )
            )
        document = await session.scalar(
            select(Document).where(
                Document.election_id == election.id,
                Document.kind == DocumentKind.COMMISSION_PROTOCOL,
                Document.state == DocumentState.SIGNED,
            )
        )
        if document is None or election.state not in (
            ElectionState.COUNTED,
            ElectionState.APPROVED,
        ):
            continue
        approvals = [
            json.loads(data).get("vote")
            for data in (
                await session.scalars(
                    select(MeetingEvent.data)
                    .where(
                        MeetingEvent.meeting_id == meeting_id,
                        MeetingEvent.kind == "election.approval_put",
                    )
                    .order_by(MeetingEvent.seq)
                )
            ).all()
            if json.loads(data).get("election") == election.id
        ]
        approval_lines = tuple(lines[v] for v in approvals if v in lines)
        recorded.update(v for v in approvals if v in lines)
        result = read_result(election, None)
        parts.append(
            MinutesPart(
                heard=_result_heard(election, document, result),
                votes=approval_lines,
                decided=_approval_decided(election, result)
                if election.state is ElectionState.APPROVED
                else (),
                fingerprints=(result.definition, result.head, result.digest),
            )
        )
    return parts, recorded


def _result_heard(election: Election, document: Document, result: Any) -> str:
    """«О результатах тайного голосования …»: the figures of the commission's protocol."""
    figures = (
        f"выдано бюллетеней — {result.roll}, подано — {result.cast}, действительных —"
        f" {result.took_part}, проверенных голосующими и не учтённых — {result.spoiled}"
    )
    counts = result.counts
    if election.kind is ElectionKind.QUESTION:
        votes = f"«за» — {counts[0]}, «против» — {counts[1]}, «воздержался» — {counts[2]}"
    else:
        parts = []
        for index, candidate in enumerate(election.candidates):
            line = f"{_nb(short_name(candidate.name))}: «за» — {counts[index]}"
            if election.form.value == "approve_each":
                line += f", «против» — {result.took_part - counts[index]}"
            parts.append(line)
        votes = "; ".join(parts)
    return (
        f"О результатах тайного голосования ({election.office}): протокол счётной комиссии"
        f" {document.number} (рег. № {document.journal_number}) — {figures}; {votes}"
    )


#: Single offices as «Считать избранным председателем …» reads them.
_INSTRUMENTAL = {
    "председатель": "председателем",
    "заместитель председателя": "заместителем председателя",
    "секретарь": "секретарём",
    "казначей": "казначеем",
}


def _approval_decided(election: Election, result: Any) -> tuple[str, ...]:
    """«Утвердить протокол счётной комиссии… Считать избранным …»."""
    first = (
        "Утвердить протокол счётной комиссии о результатах тайного голосования"
        f" ({election.office})."
    )
    outcome = result.outcome
    if election.kind is ElectionKind.QUESTION:
        adopted = outcome.get("adopted") is True
        wording = election.question or election.office
        return (
            first,
            f"Решение по вопросу «{wording}» {'принято' if adopted else 'не принято'}.",
        )
    if outcome.get("valid") is False:
        return (first, "Голосование признать несостоявшимся.")
    ballot = list(election.candidates)
    elected = [ballot[int(i)].name for i in outcome.get("elected", [])]
    tied = [ballot[int(i)].name for i in outcome.get("tied", [])]
    lines = [first]
    if elected:
        verb = "Считать избранным" if len(elected) == 1 else "Считать избранными"
        office = _INSTRUMENTAL.get(" ".join(election.office.lower().split()))
        if office and len(elected) == 1:
            lines.append(_sentence(f"{verb} {office} {_names(elected)}"))
        else:
            lines.append(_sentence(f"{verb} ({election.office}): {_names(elected)}"))
    else:
        lines.append(f"Считать, что никто не избран ({election.office}).")
    if tied:
        lines.append(
            f"Равное число голосов получили {_names(tied)}: никто из них не избран"
            f" ({outcome.get('tied_seats', 0)} мест(а) — повторное голосование)."
        )
    if outcome.get("vacant"):
        lines.append(f"Вакантными остаются {outcome.get('vacant')} мест(а).")
    return tuple(lines)


def _decided_points(item: AgendaItem) -> list[Point]:
    """«ПОСТАНОВИЛИ»: what the secretary noted as decided, else the draft's points."""
    if item.decision.strip():
        return decision_points(item.decision)
    if item.draft_resolution.strip():
        return split_draft(item.draft_resolution)[2]
    return []


#: The genitive of the words a body's name starts with («президиум» → «президиума»).
_GENITIVE = {
    "президиум": "президиума",
    "совет": "совета",
    "комитет": "комитета",
    "пленум": "пленума",
    "конференция": "конференции",
    "комиссия": "комиссии",
    "ревизионная": "ревизионной",
    "контрольно-ревизионная": "контрольно-ревизионной",
    "счётная": "счётной",
    "счетная": "счетной",
    "профком": "профкома",
    "правление": "правления",
}
#: Adjectives (in the genitive) whose noun follows: «ревизионной комиссии».
_GENITIVE_ADJECTIVES = ("ревизионной", "контрольно-ревизионной", "счётной", "счетной")


def genitive(body: str) -> str:
    """«Президиум крайсовпрофа» → «президиума крайсовпрофа»: the first word of a body's
    name in the genitive, for «из 15 членов президиума»."""
    words = body.split()
    if not words:
        return body
    first = words[0].lower()
    words[0] = _GENITIVE.get(first, first)
    if len(words) > 1 and words[0] in _GENITIVE_ADJECTIVES:
        words[1] = _GENITIVE.get(words[1].lower(), words[1])
    return " ".join(words)


async def _guests_who_came(session: AsyncSession, meeting_id: int) -> set[int]:
    """Guests the record shows in the meeting: let in from the lobby by the chair. An
    invited guest who never came is not «приглашённый» of the protocol."""
    rows = await session.scalars(
        select(MeetingEvent.data).where(
            MeetingEvent.meeting_id == meeting_id, MeetingEvent.kind == "video.admitted"
        )
    )
    came: set[int] = set()
    for data in rows.all():
        guest = json.loads(data or "{}").get("guest")
        if type(guest) is int:
            came.add(guest)
    return came
