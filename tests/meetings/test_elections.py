"""Elections through the service, on both databases: preparing one on an agenda item,
candidates and their consent, the state machine, the counting commission elected by
the body's open vote (adopted and rejected) or appointed between meetings — and every
refusal naming its reason and changing nothing."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.board import Board
from ballots.models import Vote, VoteState
from meetings.elections.lifecycle import Mover, check_transition, next_step
from meetings.elections.models import (
    BallotForm,
    Candidate,
    Commission,
    CommissionBasis,
    CommissionState,
    Election,
    ElectionKind,
    ElectionState,
)
from meetings.elections.schemas import (
    AbsenteeElectionIn,
    CandidateIn,
    CommissionIn,
    ConsentIn,
    ElectionIn,
)
from meetings.elections.services import ElectionService, short_name
from meetings.models import Meeting, MeetingEvent
from meetings.preparation import MeetingService
from meetings.room import RoomService
from meetings.schemas import AgendaItemIn, MeetingIn
from meetings.votes import MeetingVoteIn, VoteDesk
from registry.actor import Actor
from registry.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from registry.models import Organisation, Role
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring
from server import database
from tests import factories as f
from tests.ballots.votes_setup import Voter, ballot, enrol

S = ElectionState


@dataclass
class Hall:
    setup: f.MeetingSetup
    keyring: RegistryKeyring
    voters: list[Voter]  # all seven, with keys; the first six are present
    chair: Actor
    secretary: Actor
    member: Actor  # a plain member of the body
    outsider: Actor  # a member of the union, not of the body
    ids: list[int]  # the body's members (chair, secretary, five more): plain values,
    names: list[str]  # which a refusal's rollback cannot expire
    body_id: int

    def service(self, db: AsyncSession, actor: Actor | None = None) -> ElectionService:
        return ElectionService(db, actor or self.secretary, self.keyring)


async def hall(db: AsyncSession, tmp_path: Path) -> Hall:
    setup = await f.meeting(db, size=7, items=2)
    keyring = RegistryKeyring.open(tmp_path / "keys", now=utcnow())
    voters = []
    for m in setup.members:
        acc = await f.account(db, Role.MEMBER, member_obj=m)
        voters.append(await enrol(db, keyring, m, acc.id))
    secretary = setup.actor(setup.secretary, Role.MEMBER)
    room = RoomService(db, secretary)
    for voter in voters[:6]:
        await room.register_in_person(setup.meeting_id, voter.member.id, True)
    root = await db.get(Organisation, setup.body.organisation_id)
    assert root is not None
    outsider = await f.member(db, root, "Посторонний")
    await db.commit()
    return Hall(
        setup,
        keyring,
        voters,
        setup.actor(setup.chair, Role.MEMBER),
        secretary,
        setup.actor(setup.members[2]),
        setup.actor(outsider),
        [m.id for m in setup.members],
        [m.full_name for m in setup.members],
        setup.body.id,
    )


def election_in(h: Hall, **kw: Any) -> ElectionIn:
    values: dict[str, Any] = {
        "item_id": h.setup.item_ids[0],
        "office": "члены президиума",
        "seats": 2,
        "form": "approve_each",
    }
    return ElectionIn.model_validate(values | kw)


async def snapshot(db: AsyncSession) -> tuple[Any, ...]:
    """Everything a refused call must leave as it was."""
    await db.rollback()
    tables = (Election, Candidate, Commission, Vote, MeetingEvent)
    counts = [await db.scalar(select(func.count()).select_from(t)) for t in tables]
    states = (await db.execute(select(Election.id, Election.state).order_by(Election.id))).all()
    consents = (await db.execute(select(Candidate.id, Candidate.consent_at))).all()
    commissions = (await db.execute(select(Commission.id, Commission.state))).all()
    await db.rollback()
    return (*counts, tuple(states), tuple(consents), tuple(commissions))


async def refused(
    db: AsyncSession, call: Callable[[], Awaitable[object]], kind: type[DomainError], text: str
) -> DomainError:
    """``call`` raises ``kind`` naming ``text``, and the database is as before."""
    before = await snapshot(db)
    with pytest.raises(kind) as caught:
        async with db.begin():
            await call()
    assert text in caught.value.detail or text in json.dumps(
        caught.value.fields, ensure_ascii=False
    ), caught.value.detail
    assert await snapshot(db) == before
    return caught.value


async def prepared(db: AsyncSession, h: Hall, n: int = 3, **kw: Any) -> int:
    """An election with ``n`` consenting candidates (members 3… of the body), closed."""
    service = h.service(db)
    election = await service.create_on_item(h.setup.meeting_id, election_in(h, **kw))
    eid = election.id
    for member_id in h.ids[-n:]:
        await service.nominate(
            eid,
            CandidateIn(
                member_id=member_id, nominated_by="самовыдвижение", consent=True, bio="Стаж 10 лет"
            ),
        )
    await service.transition(eid, S.CANDIDATES_CLOSED)
    election_id = eid
    await db.commit()
    return election_id


async def cast(db_url: str, h: Hall, vote_id: int, choices: dict[int, int]) -> None:
    """Members (index into the hall's voters → option number) sign and cast ballots."""
    engine = database.create_engine(db_url)
    try:
        board = Board(database.make_sessionmaker(engine), h.keyring)
        for index, option in choices.items():
            vote = {"vote": vote_id, "fingerprint": await _fingerprint(engine, vote_id)}
            await board.cast(vote_id, ballot(h.voters[index], vote, [option]))
    finally:
        await engine.dispose()


async def _fingerprint(engine: Any, vote_id: int) -> str:
    async with database.make_sessionmaker(engine)() as s:
        vote = await s.get(Vote, vote_id)
        assert vote is not None
        return vote.fingerprint


async def events(
    db: AsyncSession, meeting_id: int, prefix: str
) -> list[tuple[str, dict[str, Any]]]:
    rows = await db.scalars(
        select(MeetingEvent).where(MeetingEvent.meeting_id == meeting_id).order_by(MeetingEvent.seq)
    )
    return [(e.kind, json.loads(e.data)) for e in rows.all() if e.kind.startswith(prefix)]


# --- the state machine ----------------------------------------------------------------------


def test_every_move_has_one_mover_and_the_others_are_told_why() -> None:
    check_transition(S.DRAFT, S.CANDIDATES_CLOSED, Mover.PREPARER)
    check_transition(S.CANDIDATES_CLOSED, S.DRAFT, Mover.PREPARER)
    check_transition(S.COMMISSION_CONSTITUTED, S.KEY_READY, Mover.KEY_GENERATION)
    with pytest.raises(PermissionDenied, match="the chair opens and closes the secret vote"):
        check_transition(S.KEY_READY, S.OPEN, Mover.PREPARER)
    with pytest.raises(PermissionDenied, match="by a vote on it, or its officers appoint it"):
        check_transition(S.CANDIDATES_CLOSED, S.COMMISSION_CONSTITUTED, Mover.PREPARER)
    with pytest.raises(Conflict, match="cannot go from draft to open"):
        check_transition(S.DRAFT, S.OPEN, Mover.CHAIR)
    with pytest.raises(Conflict, match="already counted"):
        check_transition(S.COUNTED, S.COUNTED, Mover.COUNT)
    with pytest.raises(Conflict, match="cannot go from approved to draft"):
        check_transition(S.APPROVED, S.DRAFT, Mover.PREPARER)
    assert next_step(S.DRAFT) is Mover.PREPARER
    assert next_step(S.CANDIDATES_CLOSED) is Mover.COMMISSION
    assert next_step(S.COUNTED) is Mover.APPROVAL
    assert next_step(S.APPROVED) is None


def test_short_names() -> None:
    assert short_name("Иванов Иван Петрович") == "Иванов И. П."
    assert short_name("Иванов") == "Иванов"


# --- preparing ----------------------------------------------------------------------------


async def test_the_secretary_prepares_an_election_and_it_is_in_the_record(
    db: AsyncSession, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    service = h.service(db)
    election = await service.create_on_item(h.setup.meeting_id, election_in(h))
    eid = election.id
    member_id, member_name = h.ids[4], h.names[4]
    first = await service.nominate(
        eid,
        CandidateIn(
            member_id=member_id,
            nominated_by="Первичная организация завода",
            bio="Председатель профкома с 2019 года",
        ),
    )
    second = await service.nominate(
        eid,
        CandidateIn(
            name="Лебедева Ольга Ивановна",
            nominated_by="Сидоров",
            at_meeting=True,
            consent=True,
            consent_note="устно на заседании",
        ),
    )
    assert (first.position, first.name, first.consent_at) == (1, member_name, None)
    assert first.recorded_by == h.names[1]
    assert second.consent_recorded_by == h.names[1]
    assert second.consent_note == "устно на заседании"
    first_id = first.id
    await db.commit()
    # Not closable while one consent is missing.
    await refused(
        db,
        lambda: h.service(db).transition(eid, S.CANDIDATES_CLOSED),
        Conflict,
        f"the consent of {member_name} is not recorded",
    )
    async with db.begin():
        await h.service(db).record_consent(eid, first_id, ConsentIn(note="заявление"))
        await h.service(db).transition(eid, S.CANDIDATES_CLOSED)
    election, access = await h.service(db, h.member).get(eid)
    out = await h.service(db, h.member).out(election, access)
    await db.rollback()
    assert out.state is S.CANDIDATES_CLOSED
    assert [c.name for c in out.candidates] == [member_name, "Лебедева Ольга Ивановна"]
    assert out.candidates[0].consent_note == "заявление"
    assert out.next_step == "commission"
    assert out.transitions == []  # a member sees, and moves nothing
    assert out.roles == ["member", "viewer"]
    kinds = [k for k, _ in await events(db, h.setup.meeting_id, "election.")]
    assert kinds == [
        "election.prepared",
        "election.nominated",
        "election.nominated",
        "election.consent",
        "election.state",
    ]


async def test_a_secret_question_has_fixed_options_and_no_candidates(
    db: AsyncSession, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    data = ElectionIn(
        kind=ElectionKind.QUESTION,
        item_id=h.setup.item_ids[1],
        office="О недоверии председателю",
        question="Выразить недоверие председателю комитета?",
        form=BallotForm.APPROVE_EACH,
        seats=3,
    )
    assert (data.form, data.seats) == (BallotForm.YES_NO, 1)
    async with db.begin():
        election = await h.service(db).create_on_item(h.setup.meeting_id, data)
        eid = election.id
    await refused(
        db,
        lambda: h.service(db).nominate(eid, CandidateIn(name="Кто-то", nominated_by="сам")),
        Conflict,
        "a secret question has no candidates",
    )
    async with db.begin():
        await h.service(db).transition(eid, S.CANDIDATES_CLOSED)


async def test_bad_elections_are_refused_naming_the_field(db: AsyncSession, tmp_path: Path) -> None:
    h = await hall(db, tmp_path)
    for values, text in [
        ({"form": "one_of", "seats": 2}, "one_of elects one person"),
        ({"form": "yes_no"}, "yes_no is the form of a question"),
        ({"kind": "question"}, "needs its wording"),
        ({"seats": 0}, "greater than or equal to 1"),
        ({"rule": {"numerator": 3, "denominator": 2}}, "cannot exceed one"),
        ({"rule": {"base": "present"}}, "should match pattern"),
        ({"office": ""}, "at least 1 item"),
    ]:
        with pytest.raises(ValueError, match=text):
            election_in(h, **values)
    for values, text in [
        ({"name": "", "nominated_by": "x"}, "name a member or a person"),
        ({"member_id": 1, "name": "Иванов", "nominated_by": "x"}, "not both"),
        ({"name": "Иванов"}, "Field required"),
    ]:
        with pytest.raises(ValueError, match=text):
            CandidateIn.model_validate(values)
    for values, text in [
        ({"member_ids": [1, 2]}, "at least 3 items"),
        ({"member_ids": [1, 2, 3, 4, 5, 6]}, "at most 5 items"),
        ({"member_ids": [1, 2, 2]}, "listed twice"),
        ({"member_ids": [1, 2, 3, 4, 5], "threshold": 2}, "from 3 to 5"),
        ({"member_ids": [1, 2, 3], "threshold": 4}, "from 2 to 3"),
    ]:
        with pytest.raises(ValueError, match=text):
            CommissionIn.model_validate(values)
    assert CommissionIn(member_ids=[1, 2, 3, 4]).effective_threshold == 3
    assert CommissionIn(member_ids=[1, 2, 3, 4, 5]).effective_threshold == 3

    async with db.begin():
        planner = MeetingService(db, h.chair)
        other = await planner.create(
            MeetingIn(body_id=h.body_id, title="Следующее заседание", starts_at=utcnow())
        )
        other_item = (await planner.add_item(other.id, AgendaItemIn(title="Разное"))).id
    await refused(
        db,
        lambda: h.service(db).create_on_item(
            h.setup.meeting_id, election_in(h, item_id=other_item)
        ),
        InvalidInput,
        "no such agenda item in this meeting",
    )
    await refused(
        db,
        lambda: h.service(db, h.member).create_on_item(h.setup.meeting_id, election_in(h)),
        PermissionDenied,
        "only the meeting's secretary, chair or the registrar",
    )
    await refused(
        db,
        lambda: h.service(db, h.outsider).create_on_item(h.setup.meeting_id, election_in(h)),
        NotFound,
        "no such meeting",
    )


async def test_candidates_refused_with_a_reason(db: AsyncSession, tmp_path: Path) -> None:
    h = await hall(db, tmp_path)
    async with db.begin():
        election = await h.service(db).create_on_item(h.setup.meeting_id, election_in(h))
        eid = election.id
        member_id = h.ids[3]
        await h.service(db).nominate(eid, CandidateIn(member_id=member_id, nominated_by="x"))
    other_union = await f.org(db, "Другой союз")
    stranger = await f.member(db, other_union, "Чужой")
    await db.commit()
    for data, kind, text in [
        (CandidateIn(member_id=member_id, nominated_by="y"), Conflict, "already a candidate"),
        (CandidateIn(member_id=stranger.id, nominated_by="y"), InvalidInput, "another union"),
        (CandidateIn(member_id=999_999, nominated_by="y"), InvalidInput, "no such member"),
    ]:
        await refused(db, lambda d=data: h.service(db).nominate(eid, d), kind, text)
    await refused(
        db,
        lambda: h.service(db, h.member).nominate(
            eid, CandidateIn(name="Кто-то", nominated_by="сам")
        ),
        PermissionDenied,
        "prepare an election",
    )
    await refused(
        db,
        lambda: h.service(db, h.outsider).nominate(
            eid, CandidateIn(name="Кто-то", nominated_by="сам")
        ),
        NotFound,
        "no such election",
    )
    await refused(
        db,
        lambda: h.service(db).record_consent(eid, 999_999, ConsentIn()),
        NotFound,
        "no such candidate",
    )


async def test_the_nomination_closes_and_reopens_and_the_list_is_then_fixed(
    db: AsyncSession, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    async with db.begin():
        election = await h.service(db).create_on_item(
            h.setup.meeting_id, election_in(h, form="one_of", seats=1, office="председатель")
        )
        eid = election.id
    await refused(
        db,
        lambda: h.service(db).transition(eid, S.CANDIDATES_CLOSED),
        Conflict,
        "nominate the candidates first",
    )
    async with db.begin():
        await h.service(db).nominate(
            eid,
            CandidateIn(member_id=h.ids[3], nominated_by="x", consent=True),
        )
    await refused(
        db,
        lambda: h.service(db).transition(eid, S.CANDIDATES_CLOSED),
        Conflict,
        "at least two candidates",
    )
    async with db.begin():
        candidate = await h.service(db).nominate(
            eid, CandidateIn(name="Лебедева О. И.", nominated_by="x", consent=True)
        )
        candidate_id = candidate.id
        await h.service(db).transition(eid, S.CANDIDATES_CLOSED)
    await refused(
        db,
        lambda: h.service(db).nominate(eid, CandidateIn(name="Поздний", nominated_by="x")),
        Conflict,
        "candidates are nominated in draft",
    )
    await refused(
        db,
        lambda: h.service(db).withdraw(eid, candidate_id),
        Conflict,
        "the list is fixed",
    )
    for target, kind, text in [
        (S.OPEN, Conflict, "cannot go from candidates_closed to open"),
        (S.COMMISSION_CONSTITUTED, PermissionDenied, "by a vote on it"),
        (S.CANDIDATES_CLOSED, Conflict, "already candidates_closed"),
    ]:
        await refused(db, lambda t=target: h.service(db).transition(eid, t), kind, text)
    await refused(
        db,
        lambda: h.service(db, h.member).transition(eid, S.DRAFT),
        PermissionDenied,
        "prepare an election",
    )
    async with db.begin():
        await h.service(db).transition(eid, S.DRAFT)
        await h.service(db).withdraw(eid, candidate_id)
        election, _ = await h.service(db).get(eid)
        assert [c.position for c in election.candidates] == [1]


# --- the commission elected by the body's open vote ---------------------------------------


async def test_the_body_elects_the_commission_in_an_open_vote(
    db: AsyncSession, db_url: str, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    eid = await prepared(db, h, n=2)  # candidates: members 5 and 6
    trustees = [h.ids[i] for i in (1, 2, 3)]
    async with db.begin():
        commission, vote = await h.service(db).propose_commission(
            eid, CommissionIn(member_ids=trustees)
        )
        commission_id, vote_id = commission.id, vote.id
    assert commission.state is CommissionState.PROPOSED
    assert commission.threshold == 2
    assert vote.question.startswith("Об избрании счётной комиссии (члены президиума) в составе:")
    assert short_name(h.names[1]) in vote.question
    assert vote.roll_size == 6  # the members present
    # While the list is before the body, a second one waits and the nomination stays shut.
    await refused(
        db,
        lambda: h.service(db).propose_commission(eid, CommissionIn(member_ids=trustees)),
        Conflict,
        "already before the body",
    )
    await refused(
        db,
        lambda: h.service(db).transition(eid, S.DRAFT),
        Conflict,
        "the nomination cannot reopen now",
    )

    await cast(db_url, h, vote_id, {0: 1, 1: 1, 2: 1, 3: 1, 4: 2})  # 4 «за» of 5
    async with db.begin():
        await VoteDesk(db, h.chair, h.keyring).close_meeting_vote(h.setup.meeting_id, vote_id)
    commission_row = await db.get(Commission, commission_id, populate_existing=True)
    election_row = await db.get(Election, eid, populate_existing=True)
    assert commission_row is not None
    assert election_row is not None
    assert commission_row.state is CommissionState.CONSTITUTED
    assert commission_row.basis is CommissionBasis.VOTE
    assert commission_row.vote_id == vote_id
    assert commission_row.constituted_at is not None
    assert [m.member_id for m in commission_row.members] == trustees
    assert [m.position for m in commission_row.members] == [1, 2, 3]
    assert election_row.state is S.COMMISSION_CONSTITUTED
    record = await events(db, h.setup.meeting_id, "commission.")
    assert [k for k, _ in record] == ["commission.proposed", "commission.constituted"]
    assert record[1][1]["vote"] == vote_id
    assert [m["member"] for m in record[1][1]["members"]] == trustees
    await db.rollback()

    # The key generation's seam: the election moves on when the key is recorded.
    async with db.begin():
        await h.service(db).record_key(eid, '{"type":"kvorum.election-key"}')
    election_row = await db.get(Election, eid, populate_existing=True)
    assert election_row is not None
    assert election_row.state is S.KEY_READY
    assert election_row.key_ready_at is not None
    await db.rollback()
    await refused(
        db,
        lambda: h.service(db).record_key(eid, "{}"),
        Conflict,
        "already key_ready",
    )


async def test_a_list_the_body_does_not_adopt_is_rejected_and_another_may_follow(
    db: AsyncSession, db_url: str, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    eid = await prepared(db, h, n=2)
    first = [h.ids[i] for i in (1, 2, 3)]
    async with db.begin():
        _commission, vote = await h.service(db).propose_commission(
            eid, CommissionIn(member_ids=first)
        )
        vote_id = vote.id
    await cast(db_url, h, vote_id, {0: 2, 1: 2, 2: 1, 3: 3})
    async with db.begin():
        await VoteDesk(db, h.chair, h.keyring).close_meeting_vote(h.setup.meeting_id, vote_id)
    async with db.begin():
        election_row, access = await h.service(db).get(eid)
        out = await h.service(db).out(election_row, access)
        assert out.state is S.CANDIDATES_CLOSED
        assert out.commission is None
        assert [p.state for p in out.proposals] == [CommissionState.REJECTED]
        second = [h.ids[i] for i in (0, 1, 2, 3)]
        commission, vote = await h.service(db).propose_commission(
            eid, CommissionIn(member_ids=second, threshold=4)
        )
        assert (commission.threshold, len(commission.members)) == (4, 4)
        assert vote.state is VoteState.OPEN
    kinds = [k for k, _ in await events(db, h.setup.meeting_id, "commission.")]
    assert kinds == ["commission.proposed", "commission.rejected", "commission.proposed"]


async def test_commission_lists_refused_with_a_reason(db: AsyncSession, tmp_path: Path) -> None:
    h = await hall(db, tmp_path)
    async with db.begin():
        draft = await h.service(db).create_on_item(h.setup.meeting_id, election_in(h))
        did = draft.id
    ids = [h.ids[i] for i in (1, 2, 3)]
    await refused(
        db,
        lambda: h.service(db).propose_commission(did, CommissionIn(member_ids=ids)),
        Conflict,
        "close the nomination first",
    )
    eid = await prepared(db, h, n=2)
    candidate = h.ids[-1]
    outsider = h.outsider.member_id
    assert outsider is not None
    for member_ids, text in [
        ([ids[0], ids[1], candidate], "is a candidate in this election"),
        ([ids[0], ids[1], outsider], "is not a member of the body"),
        ([ids[0], ids[1], 999_999], "member 999999 does not exist"),
    ]:
        error = await refused(
            db,
            lambda m=member_ids: h.service(db).propose_commission(eid, CommissionIn(member_ids=m)),
            InvalidInput,
            text,
        )
        assert "member_ids.2" in error.fields
    await refused(
        db,
        lambda: h.service(db, h.member).propose_commission(eid, CommissionIn(member_ids=ids)),
        PermissionDenied,
        "only the meeting's secretary or chair",
    )
    await refused(
        db,
        lambda: h.service(db).appoint_commission(eid, CommissionIn(member_ids=ids)),
        Conflict,
        "at a meeting the body elects its counting commission by an open vote",
    )
    # Another vote open in the meeting: the commission's waits (nothing is recorded).
    async with db.begin():
        meeting = await db.get(Meeting, h.setup.meeting_id)
        assert meeting is not None
        await RoomService(db, h.chair).set_current_item(h.setup.meeting_id, h.setup.item_ids[1])
        await VoteDesk(db, h.chair, h.keyring).open_on_item(
            h.setup.meeting_id, MeetingVoteIn(question="Другой вопрос")
        )
    await refused(
        db,
        lambda: h.service(db).propose_commission(eid, CommissionIn(member_ids=ids)),
        Conflict,
        "a vote is already open in this meeting",
    )


# --- between meetings ---------------------------------------------------------------------


async def test_an_absentee_election_with_an_appointed_commission(
    db: AsyncSession, tmp_path: Path
) -> None:
    h = await hall(db, tmp_path)
    deadline = utcnow() + dt.timedelta(days=7)
    data = AbsenteeElectionIn(
        body_id=h.body_id,
        office="делегаты конференции",
        seats=3,
        form=BallotForm.APPROVE_EACH,
        closes_at=deadline,
    )
    await refused(
        db,
        lambda: h.service(db, h.member).create_absentee(data),
        PermissionDenied,
        "prepare an absentee election",
    )
    await refused(
        db,
        lambda: h.service(db).create_absentee(
            data.model_copy(update={"closes_at": utcnow() - dt.timedelta(hours=1)})
        ),
        InvalidInput,
        "the deadline must be in the future",
    )
    async with db.begin():
        election = await h.service(db).create_absentee(data)
        eid = election.id
        for member_id in h.ids[4:]:
            await h.service(db).nominate(
                eid, CandidateIn(member_id=member_id, nominated_by="x", consent=True)
            )
        await h.service(db).transition(eid, S.CANDIDATES_CLOSED)
    trustees = [h.ids[i] for i in (0, 2, 3)]
    await refused(
        db,
        lambda: h.service(db).propose_commission(eid, CommissionIn(member_ids=trustees)),
        Conflict,
        "between meetings the body's officers appoint the commission",
    )
    await refused(
        db,
        lambda: h.service(db, h.member).appoint_commission(eid, CommissionIn(member_ids=trustees)),
        PermissionDenied,
        "appoint the counting commission",
    )
    async with db.begin():
        commission = await h.service(db).appoint_commission(eid, CommissionIn(member_ids=trustees))
        assert commission.state is CommissionState.CONSTITUTED
        assert commission.basis is CommissionBasis.APPOINTMENT
        assert commission.appointed_by == h.names[1]
        assert commission.appointed_by_member_id == h.ids[1]
        assert commission.vote_id is None
        row, access = await h.service(db, h.member).get(eid)
        assert row.state is S.COMMISSION_CONSTITUTED
        assert row.closes_at == deadline.replace(microsecond=0)  # kept to the second
        assert access.names == {"viewer", "member"}
    # The outsider (not of the body) does not see it; the body's members do.
    await refused(db, lambda: h.service(db, h.outsider).get(eid), NotFound, "no such election")
    assert (
        await db.scalar(
            select(func.count())
            .select_from(MeetingEvent)
            .where(MeetingEvent.kind.like("election.%"))
        )
        == 0
    )  # between meetings there is no meeting record


async def test_a_registrar_sees_and_prepares_any_election(db: AsyncSession, tmp_path: Path) -> None:
    h = await hall(db, tmp_path)
    registrar = Actor(1, "Регистратор", roles=frozenset({Role.REGISTRAR}))
    async with db.begin():
        election = await h.service(db, registrar).create_absentee(
            AbsenteeElectionIn(
                body_id=h.body_id,
                office="председатель",
                form=BallotForm.ONE_OF,
                closes_at=utcnow() + dt.timedelta(days=3),
            )
        )
        assert [e.id for e in await h.service(db, registrar).visible()] == [election.id]
        assert await h.service(db, h.outsider).visible() == []
