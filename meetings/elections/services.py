"""Preparing elections and secret questions: the election on an agenda item (or
between meetings), its candidates and their consent, closing the nomination, and the
counting commission — proposed to the body in an open vote at the meeting, or
appointed by the body's officers for an absentee vote.

Every refusal names its reason and changes nothing; at a meeting, every change is in
the meeting's event record.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import Vote, VoteState
from meetings.access import composition_ids, is_body_officer, roles_in
from meetings.elections.commission import commission_json
from meetings.elections.lifecycle import Mover, check_transition, next_step, transitions_for
from meetings.elections.models import (
    BallotForm,
    Candidate,
    Commission,
    CommissionBasis,
    CommissionMember,
    CommissionState,
    Election,
    ElectionKind,
    ElectionState,
)
from meetings.elections.schemas import (
    AbsenteeElectionIn,
    CandidateIn,
    CandidateOut,
    CommissionIn,
    CommissionOut,
    ConsentIn,
    ElectionIn,
    ElectionOut,
    ElectionRuleIn,
)
from meetings.events import append_event
from meetings.models import (
    AgendaItem,
    Document,
    DocumentKind,
    DocumentState,
    Meeting,
    MeetingState,
)
from meetings.votes import MeetingVoteIn, VoteDesk
from registry.actor import Actor
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.members import current_seat_clause
from registry.models import Body, Member, MemberStatus, Organisation, Role, Seat
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring

__all__ = ["ElectionAccess", "ElectionService", "short_name"]


def short_name(full_name: str) -> str:
    """«Иванов Иван Петрович» → «Иванов И. П.» (as lists in a protocol read)."""
    surname, *rest = full_name.split() or [""]
    return " ".join([surname, *(f"{part[0]}." for part in rest if part)])


@dataclass(frozen=True)
class ElectionAccess:
    """What the caller is to an election: ``preparer`` (the meeting's chair, secretary
    or the registrar; between meetings the body's officers or the registrar), ``caller``
    (may put the commission to the body's vote: the meeting's chair or secretary),
    ``appointer`` (may appoint a commission between meetings), ``member`` (of the body),
    ``viewer`` (anyone who may see it)."""

    names: frozenset[str]

    @property
    def can_view(self) -> bool:
        return bool(self.names)

    @property
    def can_prepare(self) -> bool:
        return "preparer" in self.names

    def require_prepare(self) -> None:
        if not self.can_prepare:
            raise PermissionDenied(
                "only the meeting's secretary or chair (between meetings, the body's officers)"
                " or the registrar prepare an election",
                code="not_yours",
            )


class ElectionService:
    def __init__(self, session: AsyncSession, actor: Actor, keyring: RegistryKeyring) -> None:
        self.session = session
        self.actor = actor
        self.keyring = keyring

    # --- reading ----------------------------------------------------------------------------

    async def get(self, election_id: int, *, lock: bool = False) -> tuple[Election, ElectionAccess]:
        stmt = select(Election).where(Election.id == election_id)
        if lock:
            stmt = stmt.with_for_update()
        election = await self.session.scalar(stmt.execution_options(populate_existing=True))
        access = await self.access(election) if election is not None else None
        if election is None or access is None or not access.can_view:
            # Outsiders cannot even learn that it exists.
            raise NotFound("no such election")
        await self.session.refresh(election, ["candidates"])
        return election, access

    async def access(self, election: Election) -> ElectionAccess:
        names: set[str] = set()
        if election.meeting_id is not None:
            meeting = await self.session.get(Meeting, election.meeting_id)
            assert meeting is not None
            roles = await roles_in(self.session, meeting, self.actor)
            if roles.can_view:
                names.add("viewer")
            if roles.can_prepare:
                names.add("preparer")
            if roles.is_chair or roles.is_secretary:
                names.add("caller")
            if roles.is_member:
                names.add("member")
            return ElectionAccess(frozenset(names))
        if self.actor.has(Role.REGISTRAR) or self.actor.has(Role.AUDITOR):
            names.add("viewer")
        today = utcnow().date()
        if self.actor.has(Role.REGISTRAR) or await is_body_officer(
            self.session, self.actor.member_id, election.body_id, today
        ):
            names |= {"viewer", "preparer", "appointer"}
        if self.actor.member_id is not None and self.actor.member_id in await self._composition(
            election.body_id, today
        ):
            names |= {"viewer", "member"}
        return ElectionAccess(frozenset(names))

    async def of_meeting(self, meeting_id: int) -> list[Election]:
        rows = await self.session.scalars(
            select(Election).where(Election.meeting_id == meeting_id).order_by(Election.id)
        )
        return list(rows.all())

    async def visible(self, limit: int = 200) -> list[Election]:
        rows = (
            await self.session.scalars(select(Election).order_by(Election.id.desc()).limit(limit))
        ).all()
        return [e for e in rows if (await self.access(e)).can_view]

    async def commissions(self, election: Election) -> list[Commission]:
        rows = await self.session.scalars(
            select(Commission)
            .where(Commission.election_id == election.id)
            .order_by(Commission.id)
            .execution_options(populate_existing=True)
        )
        return list(rows.all())

    async def commission(self, election: Election) -> Commission | None:
        """The commission in force or before the body (not a rejected list)."""
        live = [
            c for c in await self.commissions(election) if c.state is not CommissionState.REJECTED
        ]
        return live[-1] if live else None

    async def out(self, election: Election, access: ElectionAccess) -> ElectionOut:
        body = await self.session.get(Body, election.body_id)
        commissions = await self.commissions(election)
        live = [c for c in commissions if c.state is not CommissionState.REJECTED]
        step = next_step(election.state)
        return ElectionOut(
            id=election.id,
            body_id=election.body_id,
            body_name=body.name if body else "",
            meeting_id=election.meeting_id,
            item_id=election.item_id,
            kind=election.kind,
            office=election.office,
            question=election.question,
            seats=election.seats,
            form=election.form,
            rule=ElectionRuleIn(
                base=election.rule_base,
                numerator=election.rule_numerator,
                denominator=election.rule_denominator,
                strict=election.rule_strict,
            ),
            closes_at=election.closes_at,
            state=election.state,
            created_by=election.created_by,
            created_at=election.created_at,
            candidates_closed_at=election.candidates_closed_at,
            key_ready_at=election.key_ready_at,
            vote_id=election.vote_id,
            candidates=[CandidateOut.model_validate(c) for c in election.candidates],
            commission=CommissionOut.model_validate(live[-1]) if live else None,
            proposals=[
                CommissionOut.model_validate(c)
                for c in commissions
                if c.state is CommissionState.REJECTED
            ],
            next_step=step.value if step else None,
            transitions=transitions_for(election.state, Mover.PREPARER)
            if access.can_prepare
            else [],
            roles=sorted(access.names),
            counted_at=election.counted_at,
            protocol_document_id=await self._protocol_document_id(election),
            approval_vote_id=election.approval_vote_id,
            approved_at=election.approved_at,
        )

    async def _protocol_document_id(self, election: Election) -> int | None:
        """The live commission's protocol of the election, if issued."""
        document_id: int | None = await self.session.scalar(
            select(Document.id).where(
                Document.election_id == election.id,
                Document.kind == DocumentKind.COMMISSION_PROTOCOL,
                Document.state != DocumentState.WITHDRAWN,
            )
        )
        return document_id

    # --- creating ---------------------------------------------------------------------------

    async def create_on_item(self, meeting_id: int, data: ElectionIn) -> Election:
        """An election (or secret question) on an agenda item of a meeting."""
        # The meeting's row is locked first, as appending its event will: inserting the
        # election takes a key-share lock on it, and upgrading that lock later deadlocks
        # with another writer of the meeting doing the same (PostgreSQL).
        meeting = await self.session.scalar(
            select(Meeting)
            .where(Meeting.id == meeting_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        if meeting is None:
            raise NotFound("no such meeting")
        roles = await roles_in(self.session, meeting, self.actor)
        roles.require_view()
        if not roles.can_prepare:
            raise PermissionDenied(
                "only the meeting's secretary, chair or the registrar prepare an election",
                code="not_yours",
            )
        if meeting.state is MeetingState.CLOSED:
            raise Conflict("the meeting is closed", code="meeting_closed")
        if data.item_id is None:
            raise InvalidInput("choose the agenda item", fields={"item_id": "required"})
        item = await self.session.get(AgendaItem, data.item_id)
        if item is None or item.meeting_id != meeting.id:
            raise InvalidInput(
                "no such agenda item in this meeting", fields={"item_id": "not in this meeting"}
            )
        election = self._new(data, meeting.body_id)
        election.meeting_id = meeting.id
        election.item_id = item.id
        self.session.add(election)
        await self.session.flush()
        await self._event(
            election,
            "election.prepared",
            {
                "item": item.id,
                "position": item.position,
                "kind": election.kind.value,
                "office": election.office,
                "seats": election.seats,
                "form": election.form.value,
            },
        )
        return election

    async def create_absentee(self, data: AbsenteeElectionIn) -> Election:
        """An election between meetings: the body's members vote by the deadline."""
        body = await self.session.get(Body, data.body_id)
        if body is None or body.retired_at is not None:
            raise NotFound("no such body")
        if not (
            self.actor.has(Role.REGISTRAR)
            or await is_body_officer(self.session, self.actor.member_id, body.id, utcnow().date())
        ):
            raise PermissionDenied(
                "only the body's chair, deputy chair, secretary or the registrar"
                " prepare an absentee election",
                code="not_yours",
            )
        if data.item_id is not None:
            raise InvalidInput(
                "an absentee election is held on no agenda item",
                fields={"item_id": "not for an absentee election"},
            )
        # Board times and signed definitions are whole seconds: so is the deadline.
        closes_at = data.closes_at.astimezone(dt.UTC).replace(microsecond=0)
        if closes_at <= utcnow():
            raise InvalidInput(
                "the deadline must be in the future", fields={"closes_at": "in the past"}
            )
        election = self._new(data, body.id)
        election.closes_at = closes_at
        self.session.add(election)
        await self.session.flush()
        return election

    def _new(self, data: ElectionIn, body_id: int) -> Election:
        return Election(
            body_id=body_id,
            kind=data.kind,
            office=data.office,
            question=data.question.strip(),
            seats=data.seats,
            form=data.form,
            rule_base=data.rule.base,
            rule_numerator=data.rule.numerator,
            rule_denominator=data.rule.denominator,
            rule_strict=data.rule.strict,
            state=ElectionState.DRAFT,
            created_by=self.actor.display_name,
            created_at=utcnow(),
        )

    # --- candidates -------------------------------------------------------------------------

    async def nominate(self, election_id: int, data: CandidateIn) -> Candidate:
        election, access = await self.get(election_id, lock=True)
        access.require_prepare()
        if election.kind is ElectionKind.QUESTION:
            raise Conflict("a secret question has no candidates", code="question")
        self._require_state(election, ElectionState.DRAFT, "candidates are nominated in draft")
        name = data.name
        if data.member_id is not None:
            member = await self._union_member(election, data.member_id)
            name = member.full_name
            if any(c.member_id == member.id for c in election.candidates):
                raise Conflict(
                    f"{member.full_name} is already a candidate",
                    fields={"member_id": "already a candidate"},
                )
            commission = await self.commission(election)
            if commission is not None and any(m.member_id == member.id for m in commission.members):
                raise Conflict(
                    f"{member.full_name} is on the counting commission of this election",
                    fields={"member_id": "on the commission"},
                )
        elif any(
            c.member_id is None and c.name.casefold() == name.casefold()
            for c in election.candidates
        ):
            raise Conflict(f"{name} is already a candidate", fields={"name": "already a candidate"})
        now = utcnow()
        candidate = Candidate(
            election_id=election.id,
            position=1 + max((c.position for c in election.candidates), default=0),
            member_id=data.member_id,
            name=name,
            bio=data.bio.strip(),
            nominated_by=data.nominated_by,
            at_meeting=data.at_meeting,
            recorded_by=self.actor.display_name,
            nominated_at=now,
        )
        if data.consent:
            candidate.consent_at = now
            candidate.consent_recorded_by = self.actor.display_name
            candidate.consent_note = data.consent_note
        self.session.add(candidate)
        await self.session.flush()
        await self.session.refresh(election, ["candidates"])
        await self._event(
            election,
            "election.nominated",
            {
                "candidate": candidate.id,
                "member": candidate.member_id,
                "name": candidate.name,
                "nominated_by": candidate.nominated_by,
                "consent": candidate.consent_at is not None,
            },
        )
        return candidate

    async def record_consent(
        self, election_id: int, candidate_id: int, data: ConsentIn
    ) -> Candidate:
        election, access = await self.get(election_id, lock=True)
        access.require_prepare()
        candidate = self._candidate(election, candidate_id)
        self._require_state(election, ElectionState.DRAFT, "consent is recorded in draft")
        if candidate.consent_at is not None:
            raise Conflict(f"{candidate.name}'s consent is already recorded", code="already")
        candidate.consent_at = utcnow()
        candidate.consent_recorded_by = self.actor.display_name
        candidate.consent_note = data.note
        await self.session.flush()
        await self._event(
            election,
            "election.consent",
            {"candidate": candidate.id, "member": candidate.member_id, "name": candidate.name},
        )
        return candidate

    async def withdraw(self, election_id: int, candidate_id: int) -> None:
        """Take a candidate off the list (self-withdrawal, a mistake) while in draft."""
        election, access = await self.get(election_id, lock=True)
        access.require_prepare()
        candidate = self._candidate(election, candidate_id)
        self._require_state(election, ElectionState.DRAFT, "the list is fixed")
        election.candidates.remove(candidate)
        await self.session.flush()
        for position, other in enumerate(election.candidates, 1):
            other.position = position
        await self.session.flush()
        await self._event(
            election,
            "election.withdrawn",
            {"candidate": candidate_id, "member": candidate.member_id, "name": candidate.name},
        )

    # --- its life ---------------------------------------------------------------------------

    async def transition(self, election_id: int, target: ElectionState) -> Election:
        """Close the nomination (the ballot is then fixed) or reopen it."""
        election, access = await self.get(election_id, lock=True)
        access.require_prepare()
        check_transition(election.state, target, Mover.PREPARER)
        if target is ElectionState.CANDIDATES_CLOSED:
            self._check_ballot(election)
            election.candidates_closed_at = utcnow()
        else:
            commission = await self.commission(election)
            if commission is not None:
                raise Conflict(
                    "the counting commission's list is before the body: the nomination"
                    " cannot reopen now",
                    code="commission_pending",
                )
            election.candidates_closed_at = None
        before = election.state
        election.state = target
        await self.session.flush()
        await self._event(election, "election.state", {"from": before.value, "to": target.value})
        return election

    def _check_ballot(self, election: Election) -> None:
        if election.kind is ElectionKind.QUESTION:
            return
        if not election.candidates:
            raise Conflict("nominate the candidates first", code="no_candidates")
        if election.form is BallotForm.ONE_OF and len(election.candidates) < 2:
            raise Conflict(
                "one of several needs at least two candidates: with one, use «за»/«против»",
                code="too_few_candidates",
            )
        missing = [c.name for c in election.candidates if c.consent_at is None]
        if missing:
            raise Conflict(
                "the consent of " + ", ".join(missing) + " is not recorded",
                code="consent_missing",
            )

    async def record_key(self, election_id: int, key_document: str) -> Election:
        """The commission's election key is complete (the key generation calls this)."""
        election = await self.session.scalar(
            select(Election).where(Election.id == election_id).with_for_update()
        )
        if election is None:
            raise NotFound("no such election")
        check_transition(election.state, ElectionState.KEY_READY, Mover.KEY_GENERATION)
        if not key_document.strip():
            raise InvalidInput("the election key is empty", fields={"key": "empty"})
        election.election_key = key_document
        election.key_ready_at = utcnow()
        election.state = ElectionState.KEY_READY
        await self.session.flush()
        await self._event(
            election,
            "election.state",
            {
                "from": ElectionState.COMMISSION_CONSTITUTED.value,
                "to": ElectionState.KEY_READY.value,
            },
        )
        return election

    # --- the counting commission ------------------------------------------------------------

    async def propose_commission(
        self, election_id: int, data: CommissionIn
    ) -> tuple[Commission, Vote]:
        """Put the proposed commission to the body's open vote on the election's agenda
        item («Об избрании счётной комиссии»); adopting it constitutes the commission."""
        election, access = await self.get(election_id, lock=True)
        if election.meeting_id is None or election.item_id is None:
            raise Conflict(
                "between meetings the body's officers appoint the commission",
                code="absentee",
            )
        if "caller" not in access.names:
            raise PermissionDenied(
                "only the meeting's secretary or chair put the commission to the vote",
                code="not_yours",
            )
        await self._require_commission_slot(election)
        meeting = await self.session.scalar(
            select(Meeting).where(Meeting.id == election.meeting_id).with_for_update()
        )
        item = await self.session.get(AgendaItem, election.item_id)
        assert meeting is not None
        assert item is not None
        members = await self._commission_members(
            election, data, await composition_ids(self.session, meeting)
        )
        names = ", ".join(short_name(m.full_name) for m in members)
        threshold = data.effective_threshold
        question = (
            f"Об избрании счётной комиссии ({election.office}) в составе: {names}."
            f" Подсчёт голосов — не менее {threshold} из {len(members)} членов комиссии."
        )
        vote = await VoteDesk(self.session, self.actor, self.keyring).open_in_meeting(
            meeting, item, MeetingVoteIn(question=question)
        )
        commission = self._commission(election, members, threshold, CommissionBasis.VOTE)
        commission.vote_id = vote.id
        self.session.add(commission)
        await self.session.flush()
        await self.session.refresh(commission, ["members"])
        await self._event(election, "commission.proposed", commission_json(commission))
        return commission, vote

    async def appoint_commission(self, election_id: int, data: CommissionIn) -> Commission:
        """Between meetings: the body's officers appoint the commission (recorded who
        and when); the election moves on at once."""
        election, access = await self.get(election_id, lock=True)
        if election.meeting_id is not None:
            raise Conflict(
                "at a meeting the body elects its counting commission by an open vote",
                code="at_meeting",
            )
        if "appointer" not in access.names:
            raise PermissionDenied(
                "only the body's chair, deputy chair, secretary or the registrar appoint"
                " the counting commission",
                code="not_yours",
            )
        await self._require_commission_slot(election)
        members = await self._commission_members(
            election, data, await self._composition(election.body_id, utcnow().date())
        )
        now = utcnow()
        commission = self._commission(
            election, members, data.effective_threshold, CommissionBasis.APPOINTMENT
        )
        commission.state = CommissionState.CONSTITUTED
        commission.appointed_by = self.actor.display_name
        commission.appointed_by_member_id = self.actor.member_id
        commission.constituted_at = now
        self.session.add(commission)
        election.state = ElectionState.COMMISSION_CONSTITUTED
        await self.session.flush()
        return commission

    async def _require_commission_slot(self, election: Election) -> None:
        if election.state is not ElectionState.CANDIDATES_CLOSED:
            if election.state is ElectionState.DRAFT:
                raise Conflict(
                    "close the nomination first: the commission is formed for a fixed ballot",
                    code="election_state",
                )
            raise Conflict("the counting commission is already constituted", code="election_state")
        pending = await self.commission(election)
        if pending is not None:
            raise Conflict(
                "a list of the commission is already before the body: close its vote first",
                code="commission_pending",
            )

    async def _commission_members(
        self, election: Election, data: CommissionIn, composition: set[int]
    ) -> list[Member]:
        found = {
            m.id: m
            for m in (
                await self.session.scalars(select(Member).where(Member.id.in_(data.member_ids)))
            ).all()
        }
        fields: dict[str, str] = {}
        problems: list[str] = []
        candidates = {c.member_id for c in election.candidates if c.member_id is not None}
        for index, member_id in enumerate(data.member_ids):
            member = found.get(member_id)
            if member is None:
                fields[f"member_ids.{index}"] = "no such member"
                problems.append(f"member {member_id} does not exist")
            elif member_id not in composition:
                fields[f"member_ids.{index}"] = "not in the body"
                problems.append(f"{member.full_name} is not a member of the body")
            elif member_id in candidates:
                # Those who count may not be counted for: a candidate cannot sit on it.
                fields[f"member_ids.{index}"] = "a candidate"
                problems.append(f"{member.full_name} is a candidate in this election")
        if problems:
            raise InvalidInput("; ".join(problems), fields=fields)
        return [found[i] for i in data.member_ids]

    def _commission(
        self, election: Election, members: list[Member], threshold: int, basis: CommissionBasis
    ) -> Commission:
        return Commission(
            election_id=election.id,
            state=CommissionState.PROPOSED,
            basis=basis,
            threshold=threshold,
            proposed_by=self.actor.display_name,
            proposed_at=utcnow(),
            members=[
                CommissionMember(position=position, member_id=m.id, name=m.full_name)
                for position, m in enumerate(members, 1)
            ],
        )

    # --- approving the commission's protocol ----------------------------------------------

    async def put_to_approval(self, election_id: int) -> Vote:
        """Put the signed protocol of the counting commission to the body's open vote on
        the election's agenda item («Об утверждении протокола счётной комиссии»): the
        meeting's secretary or chair, once the election is counted and every commission
        member who counted has signed. Adopting it approves the election; a rejected
        vote leaves it counted, to be put again."""
        from meetings.issuing import DocumentDesk  # issuing imports the elections

        election, access = await self.get(election_id, lock=True)
        if election.meeting_id is None or election.item_id is None:
            raise Conflict(
                "between meetings the approval is not put to an absentee vote here yet",
                code="absentee",
            )
        if "caller" not in access.names:
            raise PermissionDenied(
                "only the meeting's secretary or chair put the commission's protocol to the vote",
                code="not_yours",
            )
        if election.state is ElectionState.APPROVED:
            raise Conflict("the commission's protocol is already approved", code="election_state")
        if election.state is not ElectionState.COUNTED:
            raise Conflict(
                f"the election is {election.state.value}: only a counted election's protocol"
                " is approved",
                code="election_state",
            )
        if election.approval_vote_id is not None:
            pending = await self.session.get(Vote, election.approval_vote_id)
            if pending is not None and pending.state is not VoteState.CLOSED:
                raise Conflict(
                    "the body is voting on the commission's protocol now", code="approval_pending"
                )
        document = await DocumentDesk(self.session, self.actor, self.keyring).commission_document(
            election.id
        )
        if document is None:
            raise Conflict("the commission's protocol is not issued yet", code="protocol_missing")
        if document.state is not DocumentState.SIGNED:
            raise Conflict(
                "the commission members who counted have not all signed the protocol",
                code="protocol_unsigned",
            )
        meeting = await self.session.scalar(
            select(Meeting).where(Meeting.id == election.meeting_id).with_for_update()
        )
        item = await self.session.get(AgendaItem, election.item_id)
        assert meeting is not None
        assert item is not None
        question = (
            f"Об утверждении протокола счётной комиссии о результатах тайного голосования"
            f" ({election.office}), рег. № {document.journal_number}."
        )
        vote = await VoteDesk(self.session, self.actor, self.keyring).open_in_meeting(
            meeting, item, MeetingVoteIn(question=question)
        )
        election.approval_vote_id = vote.id
        await self.session.flush()
        await self._event(
            election,
            "election.approval_put",
            {"vote": vote.id, "document": document.id, "journal": document.journal_number},
        )
        return vote

    # --- helpers ----------------------------------------------------------------------------

    def _require_state(self, election: Election, state: ElectionState, why: str) -> None:
        if election.state is not state:
            raise Conflict(f"the election is {election.state.value}: {why}", code="election_state")

    def _candidate(self, election: Election, candidate_id: int) -> Candidate:
        for candidate in election.candidates:
            if candidate.id == candidate_id:
                return candidate
        raise NotFound("no such candidate in this election")

    async def _union_member(self, election: Election, member_id: int) -> Member:
        member = await self.session.get(Member, member_id)
        if member is None:
            raise InvalidInput("no such member", fields={"member_id": "no such member"})
        if member.status is not MemberStatus.ACTIVE:
            raise InvalidInput(f"{member.full_name} has left", fields={"member_id": "has left"})
        body = await self.session.get(Body, election.body_id)
        assert body is not None
        if await self._root(member.organisation_id) != await self._root(body.organisation_id):
            raise InvalidInput(
                f"{member.full_name} is a member of another union",
                fields={"member_id": "another union"},
            )
        return member

    async def _root(self, organisation_id: int) -> int:
        org = await self.session.get(Organisation, organisation_id)
        assert org is not None
        return org.root_id or org.id

    async def _composition(self, body_id: int, on: dt.date) -> set[int]:
        rows = await self.session.scalars(
            select(Seat.member_id).where(Seat.body_id == body_id, current_seat_clause(on))
        )
        return set(rows.all())

    async def _event(self, election: Election, kind: str, data: dict[str, object]) -> None:
        """At a meeting, the change goes into the meeting's record."""
        if election.meeting_id is None:
            return
        await append_event(
            self.session,
            election.meeting_id,
            kind,
            {"election": election.id, "office": election.office, **data},
            actor=self.actor.display_name,
        )
