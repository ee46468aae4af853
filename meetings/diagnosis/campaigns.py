"""Self-diagnosis campaigns: launching one, the organisations' questionnaires (drafts,
evidence, the signed submission), returns, reminders, closing and reopening.

Who does what (:mod:`registry.diagnosis.access`): the owner organisation's officers
(or the registrar) launch and run a campaign; each participating organisation's chair
or secretary answers for it. Anyone else is told the campaign does not exist.

Every refusal is a domain error with a stable ``code`` and changes nothing. Notices are
written here, in the same transaction; the handler mails the people named in the
returned :class:`Notify` after the commit.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.certificate import KeyCertificate
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from meetings.blobs import BlobStore, clean_filename
from meetings.diagnosis.models import (
    Campaign,
    CampaignEvent,
    CampaignState,
    Evidence,
    Participant,
    ParticipantState,
)
from meetings.diagnosis.schemas import (
    MAX_PARTICIPANTS,
    CampaignIn,
    CampaignOut,
    EvidenceOut,
    ParticipantOut,
    QuestionnaireOut,
    ReopenIn,
)
from meetings.diagnosis.statement import check_submission, template
from meetings.models import Notice
from registry.actor import Actor
from registry.credentials import KeyRefused, own_key_certificate
from registry.diagnosis.access import (
    RESPONDER_SEATS,
    is_officer,
    organisations_seated,
    require_officer,
)
from registry.diagnosis.methodology import AnswerType, Methodology
from registry.diagnosis.models import MethodologyVersion
from registry.diagnosis.scoring import check_answer
from registry.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from registry.localtime import DEFAULT_ZONE, LocalClock
from registry.members import seated_officers
from registry.models import (
    Member,
    Organisation,
)
from registry.orm import utcnow

__all__ = [
    "MAX_EVIDENCE_BYTES",
    "MAX_EVIDENCE_FILES",
    "Access",
    "Addressee",
    "CampaignService",
    "Notify",
]

#: The largest evidence file, and how many one questionnaire may hold.
MAX_EVIDENCE_BYTES = 10 * 1024 * 1024
MAX_EVIDENCE_FILES = 50
#: How far the signed moment may be from the server's clock.
CLOCK_SKEW = dt.timedelta(minutes=15)
#: The least time between two reminders of one organisation.
REMIND_INTERVAL = dt.timedelta(hours=1)

_OPEN_STATES = (ParticipantState.WAITING, ParticipantState.DRAFT, ParticipantState.RETURNED)

# A refused statement: the reason becomes the error's code.
_REFUSALS: dict[str, type[DomainError]] = {
    "malformed": InvalidInput,
    "wrong_type": InvalidInput,
    "unsupported_version": InvalidInput,
    "not_as_saved": Conflict,
    "clock": InvalidInput,
    "wrong_member": PermissionDenied,
    "unknown_key": PermissionDenied,
    "wrong_key": PermissionDenied,
    "revoked": PermissionDenied,
    "expired": PermissionDenied,
    "not_yet_valid": PermissionDenied,
    "unknown_signer": PermissionDenied,
    "bad_signature": PermissionDenied,
}


def _refuse(reason: str, message: str, field_name: str = "signature") -> DomainError:
    return _REFUSALS.get(reason, InvalidInput)(
        message,
        fields={field_name: reason},
        code=reason,
        key="diagnosis_statement_refused",
        params={"reason": message},
    )


@dataclass(frozen=True)
class Access:
    """What the caller may do with a campaign."""

    manage: bool
    responding: frozenset[int]  # the participating organisations they answer for


@dataclass(frozen=True)
class Addressee:
    member_id: int
    name: str
    email: str


@dataclass
class Notify:
    """Whom to mail after the commit (the notices are already written)."""

    subject: str
    body: str
    addressees: list[Addressee] = field(default_factory=list)


def _org_name(org: Organisation) -> str:
    return org.short_name or org.name


def _answers(row: Participant) -> dict[str, Any]:
    value = json.loads(row.answers or "{}")
    assert isinstance(value, dict)
    return value


class CampaignService:
    def __init__(
        self,
        session: AsyncSession,
        actor: Actor,
        store: BlobStore | None = None,
        *,
        zone: str = DEFAULT_ZONE,
    ) -> None:
        self.session = session
        self.actor = actor
        self.store = store
        self.zone = zone  # the organisation's: the notices' times are in it
        self._methodologies: dict[int, Methodology] = {}

    # --- reading -------------------------------------------------------------------------

    async def methodology(self, campaign: Campaign) -> Methodology:
        if campaign.methodology_id not in self._methodologies:
            row = await self.session.get(MethodologyVersion, campaign.methodology_id)
            assert row is not None
            self._methodologies[campaign.methodology_id] = Methodology.from_json(
                json.loads(row.content)
            )
        return self._methodologies[campaign.methodology_id]

    async def get(self, campaign_id: int, *, lock: bool = False) -> tuple[Campaign, Access]:
        campaign = await self.session.get(Campaign, campaign_id, with_for_update=lock)
        if campaign is None:
            raise NotFound("no such campaign", key="no_campaign")
        access = await self.access(campaign)
        if not access.manage and not access.responding:
            raise NotFound("no such campaign", key="no_campaign")
        return campaign, access

    async def access(self, campaign: Campaign) -> Access:
        manage = await is_officer(self.session, self.actor, campaign.organisation_id)
        seated = await organisations_seated(self.session, self.actor.member_id, RESPONDER_SEATS)
        responding: set[int] = set()
        if seated:
            rows = await self.session.scalars(
                select(Participant.organisation_id).where(
                    Participant.campaign_id == campaign.id,
                    Participant.organisation_id.in_(seated),
                )
            )
            responding = set(rows.all())
        return Access(manage, frozenset(responding))

    async def visible(self) -> list[tuple[Campaign, Access]]:
        """Campaigns the caller runs or answers in, newest first."""
        rows = (
            await self.session.scalars(select(Campaign).order_by(Campaign.id.desc()).limit(500))
        ).all()
        out = []
        for campaign in rows:
            access = await self.access(campaign)
            if access.manage or access.responding:
                out.append((campaign, access))
        return out

    async def waiting_for_me(self) -> list[tuple[Campaign, Participant, Organisation]]:
        """Questionnaires the caller answers for that are still to be submitted now."""
        seated = await organisations_seated(self.session, self.actor.member_id, RESPONDER_SEATS)
        if not seated:
            return []
        rows = await self.session.execute(
            select(Campaign, Participant, Organisation)
            .join(Participant, Participant.campaign_id == Campaign.id)
            .join(Organisation, Organisation.id == Participant.organisation_id)
            .where(
                Participant.organisation_id.in_(seated),
                Participant.state.in_(_OPEN_STATES),
            )
            .order_by(Campaign.deadline, Campaign.id)
        )
        now = utcnow()
        return [
            (c, p, o)
            for c, p, o in rows.tuples().all()
            if self._editable_until(c, p, now) is not None
        ]

    async def participants(self, campaign: Campaign) -> list[tuple[Participant, Organisation]]:
        rows = await self.session.execute(
            select(Participant, Organisation)
            .join(Organisation, Organisation.id == Participant.organisation_id)
            .where(Participant.campaign_id == campaign.id)
            .order_by(Organisation.name, Organisation.id)
        )
        return [(p, o) for p, o in rows.tuples().all()]

    async def out(self, campaign: Campaign, access: Access) -> CampaignOut:
        owner = await self.session.get(Organisation, campaign.organisation_id)
        version = await self.session.get(MethodologyVersion, campaign.methodology_id)
        assert owner is not None
        assert version is not None
        everyone = await self.participants(campaign)
        names = await self._member_names(p.submitted_by for p, _o in everyone)
        shown = [
            (p, o) for p, o in everyone if access.manage or p.organisation_id in access.responding
        ]
        return CampaignOut(
            id=campaign.id,
            organisation_id=owner.id,
            organisation=_org_name(owner),
            title=campaign.title,
            methodology_id=version.id,
            methodology_title=version.title,
            methodology_version=version.version,
            deadline=campaign.deadline,
            state=campaign.state.value,
            target_level=campaign.target_level,
            can_manage=access.manage,
            submitted=sum(p.state is ParticipantState.SUBMITTED for p, _o in everyone),
            total=len(everyone),
            participants=[
                ParticipantOut(
                    organisation_id=o.id,
                    organisation=_org_name(o),
                    state=p.state.value,
                    updated_at=p.updated_at,
                    submitted_at=p.submitted_at,
                    submitted_by=names.get(p.submitted_by or 0, ""),
                    return_reason=p.return_reason,
                    extended_until=p.extended_until,
                    reminders=p.reminders,
                    answered=len(_answers(p)),
                )
                for p, o in shown
            ],
            responding_for=sorted(access.responding),
        )

    async def revision(self, campaign: Campaign) -> int:
        """The campaign's latest journal entry: every change to its results makes one."""
        latest = await self.session.scalar(
            select(func.max(CampaignEvent.id)).where(CampaignEvent.campaign_id == campaign.id)
        )
        return int(latest or 0)

    async def events(self, campaign: Campaign) -> list[CampaignEvent]:
        rows = await self.session.scalars(
            select(CampaignEvent)
            .where(CampaignEvent.campaign_id == campaign.id)
            .order_by(CampaignEvent.id)
        )
        return list(rows.all())

    # --- the owner -----------------------------------------------------------------------

    async def launch(self, data: CampaignIn) -> tuple[Campaign, Notify]:
        """Launch a campaign and tell each organisation's responders."""
        owner = await self.session.get(Organisation, data.organisation_id)
        if owner is None:
            raise NotFound(f"organisation {data.organisation_id} does not exist")
        await require_officer(self.session, self.actor, owner.id)
        version = await self.session.get(MethodologyVersion, data.methodology_id)
        if version is None or version.organisation_id != owner.id:
            raise InvalidInput(
                "the methodology is not one of the organisation's",
                fields={"methodology_id": "unknown"},
                code="unknown_methodology",
            )
        if version.published_at is None:
            raise Conflict(
                f"version {version.version} of {version.code} is a draft: publish it first",
                fields={"methodology_id": "draft"},
                code="methodology_draft",
            )
        methodology = Methodology.from_json(json.loads(version.content))
        target = data.target_level or methodology.levels[len(methodology.levels) // 2].code
        if target not in {level.code for level in methodology.levels}:
            raise InvalidInput(
                f"the methodology has no level {target!r}",
                fields={"target_level": "unknown"},
                code="unknown_level",
            )
        now = utcnow()
        if data.deadline <= now:
            raise InvalidInput(
                "the deadline has passed already", fields={"deadline": "past"}, code="deadline_past"
            )
        orgs = await self._chosen(owner, data)
        campaign = Campaign(
            organisation_id=owner.id,
            methodology_id=version.id,
            title=data.title,
            deadline=data.deadline.replace(microsecond=0),
            target_level=target,
            created_by=self.actor.display_name,
        )
        self.session.add(campaign)
        await self.session.flush()
        for org in orgs:
            self.session.add(Participant(campaign_id=campaign.id, organisation_id=org.id))
        self._event(campaign, "launched", f"{len(orgs)}")
        await self.session.flush()
        notify = await self._notify(
            campaign,
            [o.id for o in orgs],
            f"Самодиагностика: {campaign.title}",
            "Вашей организации предложено пройти самодиагностику цифровой зрелости"
            f" до {self._local(campaign.deadline)}.",
        )
        return campaign, notify

    async def _chosen(self, owner: Organisation, data: CampaignIn) -> list[Organisation]:
        """The organisations named, or ``depth`` levels below the owner: its own
        (current) member organisations only."""
        rows = (
            await self.session.execute(
                select(Organisation).where(
                    Organisation.root_id == (owner.root_id or owner.id),
                    Organisation.retired_at.is_(None),
                )
            )
        ).scalars()
        by_parent: dict[int | None, list[Organisation]] = {}
        for org in rows.all():
            by_parent.setdefault(org.parent_id, []).append(org)
        below: dict[int, tuple[Organisation, int]] = {}
        stack = [(owner.id, 0)]
        while stack:
            current, depth = stack.pop()
            for child in by_parent.get(current, ()):
                below[child.id] = (child, depth + 1)
                stack.append((child.id, depth + 1))
        if data.depth is not None:
            chosen = [org for org, depth in below.values() if depth == data.depth]
        else:
            unknown = [i for i in data.organisation_ids if i not in below]
            if unknown:
                raise InvalidInput(
                    f"organisation {unknown[0]} is not a current member organisation of "
                    f"{_org_name(owner)}",
                    fields={"organisation_ids": "not a member organisation"},
                    code="not_member_organisation",
                )
            chosen = [below[i][0] for i in dict.fromkeys(data.organisation_ids)]
        if not chosen:
            raise InvalidInput(
                "no organisation to run the campaign for",
                fields={"organisation_ids": "empty"},
                code="no_participants",
            )
        if len(chosen) > MAX_PARTICIPANTS:
            raise InvalidInput(
                f"at most {MAX_PARTICIPANTS} organisations in one campaign",
                fields={"organisation_ids": "too many"},
                code="too_many_participants",
            )
        return sorted(chosen, key=lambda o: o.id)

    async def _managed(self, campaign_id: int) -> Campaign:
        campaign, access = await self.get(campaign_id, lock=True)
        if not access.manage:
            raise PermissionDenied(
                "only an officer of the organisation running the campaign does this",
                code="diagnosis_not_officer",
            )
        return campaign

    async def _participant(
        self, campaign: Campaign, org_id: int, *, lock: bool = False
    ) -> Participant:
        stmt = select(Participant).where(
            Participant.campaign_id == campaign.id, Participant.organisation_id == org_id
        )
        # Locked: two officers of one organisation saving at once are taken in turn.
        row = await self.session.scalar(stmt.with_for_update() if lock else stmt)
        if row is None:
            raise NotFound(
                "the organisation does not take part in this campaign", key="not_in_campaign"
            )
        return row

    async def return_submission(self, campaign_id: int, org_id: int, reason: str) -> Notify:
        """Send a submitted questionnaire back for changes, with the reason."""
        campaign = await self._managed(campaign_id)
        row = await self._participant(campaign, org_id, lock=True)
        if row.state is not ParticipantState.SUBMITTED:
            raise Conflict("only a submitted questionnaire can be returned", code="not_submitted")
        if self._editable_until(campaign, row, utcnow(), submitted_ok=True) is None:
            raise Conflict(
                "the campaign is closed: reopen it for the organisation first",
                code="campaign_closed",
            )
        row.state = ParticipantState.RETURNED
        row.returned_at = utcnow()
        row.return_reason = reason
        self._event(campaign, "returned", reason, org_id)
        await self.session.flush()
        return await self._notify(
            campaign,
            [org_id],
            f"Самодиагностика возвращена на доработку: {campaign.title}",
            f"Анкета вашей организации возвращена на доработку. Причина: {reason}",
        )

    async def remind(self, campaign_id: int) -> Notify:
        """Remind the organisations that have not submitted (each at most once an hour)."""
        campaign = await self._managed(campaign_id)
        now = utcnow()
        due = [
            p
            for p, _o in await self.participants(campaign)
            if p.state in _OPEN_STATES
            and self._editable_until(campaign, p, now) is not None
            and (p.reminded_at is None or p.reminded_at + REMIND_INTERVAL <= now)
        ]
        if not due:
            raise Conflict(
                "nobody to remind: every organisation has submitted, the campaign is closed, "
                "or they were reminded within the hour",
                code="nobody_to_remind",
            )
        for row in due:
            row.reminded_at = now
            row.reminders += 1
        self._event(campaign, "reminded", str(len(due)))
        await self.session.flush()
        return await self._notify(
            campaign,
            [p.organisation_id for p in due],
            f"Напоминание: самодиагностика «{campaign.title}»",
            "Анкета самодиагностики вашей организации ещё не подписана и не отправлена. "
            f"Срок: {self._local(campaign.deadline)}.",
        )

    async def close(self, campaign_id: int, reason: str = "") -> Campaign:
        campaign = await self._managed(campaign_id)
        if campaign.state is CampaignState.CLOSED:
            raise Conflict("the campaign is closed already", code="campaign_closed")
        campaign.state = CampaignState.CLOSED
        campaign.closed_at = utcnow()
        for row, _org in await self.participants(campaign):
            row.extended_until = None
        self._event(campaign, "closed", reason)
        await self.session.flush()
        return campaign

    async def reopen(self, campaign_id: int, data: ReopenIn) -> Notify:
        """Reopen the whole campaign, or for one organisation, until a new deadline."""
        campaign = await self._managed(campaign_id)
        if data.deadline <= utcnow():
            raise InvalidInput(
                "the new deadline has passed already",
                fields={"deadline": "past"},
                code="deadline_past",
            )
        if data.organisation_id is None:
            if campaign.state is CampaignState.OPEN and campaign.deadline > utcnow():
                raise Conflict("the campaign is open", code="campaign_open")
            campaign.state = CampaignState.OPEN
            campaign.closed_at = None
            campaign.deadline = data.deadline.replace(microsecond=0)
            self._event(campaign, "reopened", data.reason)
            targets = [
                p.organisation_id
                for p, _o in await self.participants(campaign)
                if p.state in _OPEN_STATES
            ]
        else:
            row = await self._participant(campaign, data.organisation_id, lock=True)
            if row.state is ParticipantState.SUBMITTED:
                raise Conflict(
                    "the organisation has submitted: return its questionnaire instead",
                    code="already_submitted",
                )
            row.extended_until = data.deadline.replace(microsecond=0)
            self._event(campaign, "reopened", data.reason, row.organisation_id)
            targets = [row.organisation_id]
        await self.session.flush()
        return await self._notify(
            campaign,
            targets,
            f"Самодиагностика открыта вновь: {campaign.title}",
            f"Анкету можно заполнить и подписать до {self._local(data.deadline)}. "
            f"Причина: {data.reason}",
        )

    # --- the responder -------------------------------------------------------------------

    def _editable_until(
        self, campaign: Campaign, row: Participant, now: dt.datetime, *, submitted_ok: bool = False
    ) -> dt.datetime | None:
        """Until when the questionnaire may be changed now, or None."""
        if row.state is ParticipantState.SUBMITTED and not submitted_ok:
            return None
        if row.extended_until is not None and now < row.extended_until:
            return row.extended_until
        if campaign.state is CampaignState.OPEN and now < campaign.deadline:
            return campaign.deadline
        return None

    async def _answering(
        self, campaign_id: int, org_id: int, *, lock: bool = True
    ) -> tuple[Campaign, Participant, int]:
        """The campaign and questionnaire the caller answers for and may change now."""
        campaign, access = await self.get(campaign_id)
        if org_id not in access.responding:
            await self._participant(campaign, org_id)  # unknown: "not a participant"
            raise PermissionDenied(
                "only the chair or the secretary of one of the organisation's bodies answers "
                "for it",
                fields={"organisation_id": "not yours"},
                code="not_responder",
            )
        row = await self._participant(campaign, org_id, lock=lock)
        if row.state is ParticipantState.SUBMITTED:
            raise Conflict("the questionnaire is submitted and frozen", code="already_submitted")
        if self._editable_until(campaign, row, utcnow()) is None:
            if campaign.state is CampaignState.CLOSED:
                raise Conflict("the campaign is closed", code="campaign_closed")
            raise Conflict(
                f"the deadline {campaign.deadline:%Y-%m-%d %H:%M} UTC has passed",
                code="deadline_passed",
            )
        assert self.actor.member_id is not None
        return campaign, row, self.actor.member_id

    async def questionnaire(self, campaign_id: int, org_id: int) -> QuestionnaireOut:
        campaign, access = await self.get(campaign_id)
        if org_id not in access.responding and not access.manage:
            await self._participant(campaign, org_id)
            raise PermissionDenied(
                "only the organisation's responders and the campaign's officers see it",
                code="not_responder",
            )
        row = await self._participant(campaign, org_id)
        org = await self.session.get(Organisation, org_id)
        assert org is not None
        evidence = await self._evidence(row)
        editable = (
            org_id in access.responding
            and self._editable_until(campaign, row, utcnow()) is not None
        )
        payload = None
        if editable and self.actor.member_id is not None:
            payload = template(
                campaign=campaign.id,
                methodology=campaign.methodology_id,
                org=org_id,
                member=self.actor.member_id,
                answers=_answers(row),
                evidence=[(e.question, e.sha256) for e in evidence],
            )
        statement = None
        if row.statement:
            statement = json.loads(row.statement)
        return QuestionnaireOut(
            campaign_id=campaign.id,
            organisation_id=org_id,
            organisation=_org_name(org),
            state=row.state.value,
            can_edit=editable,
            deadline=self._editable_until(campaign, row, utcnow(), submitted_ok=True)
            or campaign.deadline,
            answers=_answers(row),
            evidence=[_evidence_out(e) for e in evidence],
            return_reason=row.return_reason if row.state is ParticipantState.RETURNED else "",
            template=payload,
            statement=statement,
        )

    async def save(
        self, campaign_id: int, org_id: int, answers: Mapping[str, bool | int | str | None]
    ) -> QuestionnaireOut:
        """Save answers into the draft: all or nothing; a None clears one."""
        campaign, row, member_id = await self._answering(campaign_id, org_id)
        methodology = await self.methodology(campaign)
        current = _answers(row)
        files = {e.sha256 for e in await self._evidence(row)}
        for code, value in answers.items():
            question = methodology.questions_by_code.get(code)
            if question is None:
                raise InvalidInput(
                    f"question {code}: no such question in the methodology",
                    fields={f"answers.{code}": "unknown question"},
                    code="answer_invalid",
                    params={"question": code, "reason": "no such question"},
                )
            if value is None:
                current.pop(code, None)
                continue
            if question.type is AnswerType.FILE and value not in files:
                raise InvalidInput(
                    f"question {code}: attach the file as evidence to answer it",
                    fields={f"answers.{code}": "attach a file"},
                    code="answer_invalid",
                    params={"question": code, "reason": "attach a file"},
                )
            # AnswerError (code answer_invalid) names the question and the reason.
            current[code] = check_answer(question, value)
        row.answers = json.dumps(current, ensure_ascii=False, sort_keys=True)
        row.updated_at = utcnow()
        row.updated_by = member_id
        if row.state is ParticipantState.WAITING:
            row.state = ParticipantState.DRAFT
        await self.session.flush()
        return await self.questionnaire(campaign_id, org_id)

    async def add_evidence(
        self, campaign_id: int, org_id: int, question_code: str, filename: str, data: bytes
    ) -> Evidence:
        """Attach a file to a question (to a file question, it is the answer)."""
        if self.store is None:
            raise RuntimeError("the service was made without a blob store")
        campaign, row, member_id = await self._answering(campaign_id, org_id)
        methodology = await self.methodology(campaign)
        question = methodology.questions_by_code.get(question_code)
        if question is None:
            raise InvalidInput(
                f"question {question_code!r:.40}: no such question in the methodology",
                fields={"question": "unknown"},
                code="unknown_question",
            )
        if len(data) > MAX_EVIDENCE_BYTES:
            raise InvalidInput(
                f"the file is {len(data) // 1024} KiB; at most "
                f"{MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB are accepted as evidence",
                fields={"file": "too large"},
                code="evidence_too_large",
            )
        existing = await self._evidence(row)
        if len(existing) >= MAX_EVIDENCE_FILES:
            raise Conflict(
                f"at most {MAX_EVIDENCE_FILES} files per questionnaire",
                fields={"file": "too many"},
                code="evidence_too_many",
            )
        try:
            digest, media_type = self.store.put(data)
        except InvalidInput as exc:
            raise InvalidInput(exc.detail, fields=exc.fields, code="evidence_refused") from None
        if any(e.sha256 == digest and e.question == question_code for e in existing):
            raise Conflict(
                "this file is attached to the question already",
                fields={"file": "duplicate"},
                code="evidence_duplicate",
            )
        item = Evidence(
            participant_id=row.id,
            question=question_code,
            filename=clean_filename(filename, media_type),
            media_type=media_type,
            size=len(data),
            sha256=digest,
            uploaded_by=member_id,
        )
        self.session.add(item)
        if question.type is AnswerType.FILE:
            current = _answers(row)
            current[question_code] = digest
            row.answers = json.dumps(current, ensure_ascii=False, sort_keys=True)
        row.updated_at = utcnow()
        row.updated_by = member_id
        if row.state is ParticipantState.WAITING:
            row.state = ParticipantState.DRAFT
        await self.session.flush()
        return item

    async def evidence(self, evidence_id: int) -> Evidence:
        """An evidence file, for its organisation's responders and the campaign's officers."""
        item = await self.session.get(Evidence, evidence_id)
        if item is None:
            raise NotFound("no such file", key="no_evidence")
        row = await self.session.get(Participant, item.participant_id)
        assert row is not None
        _campaign, access = await self.get(row.campaign_id)
        if not access.manage and row.organisation_id not in access.responding:
            raise NotFound("no such file", key="no_evidence")
        return item

    async def remove_evidence(self, evidence_id: int) -> None:
        item = await self.evidence(evidence_id)
        row = await self.session.get(Participant, item.participant_id)
        assert row is not None
        _campaign, row, member_id = await self._answering(row.campaign_id, row.organisation_id)
        await self.session.delete(item)
        current = _answers(row)
        if current.get(item.question) == item.sha256:
            others = [
                e.sha256
                for e in await self._evidence(row)
                if e.question == item.question and e.id != item.id
            ]
            if others:
                current[item.question] = others[0]
            else:
                del current[item.question]
            row.answers = json.dumps(current, ensure_ascii=False, sort_keys=True)
        row.updated_at = utcnow()
        row.updated_by = member_id
        await self.session.flush()

    async def submit(
        self, campaign_id: int, org_id: int, envelope: bytes | Mapping[str, object]
    ) -> QuestionnaireOut:
        """Accept the responder's signed statement of the saved answers; freeze them."""
        campaign, row, member_id = await self._answering(campaign_id, org_id)
        try:
            signed = SignedDocument.parse(envelope)
        except CredentialError as exc:
            raise _refuse(exc.reason, str(exc)) from None
        methodology = await self.methodology(campaign)
        answers = _answers(row)
        unanswered = [code for code in methodology.questions_by_code if code not in answers]
        if unanswered:
            raise Conflict(
                f"{len(unanswered)} questions are unanswered, the first is {unanswered[0]}",
                fields={f"answers.{unanswered[0]}": "unanswered"},
                code="unanswered",
                params={"count": len(unanswered), "question": unanswered[0]},
            )
        claim = signed.to_json()["payload"]
        assert isinstance(claim, dict)
        serial = claim.get("serial")
        if isinstance(serial, bool) or not isinstance(serial, int):
            raise _refuse("malformed", "the submission names no key serial", "serial")
        now = utcnow()
        certificate = await self._certificate(serial, member_id, now)
        expected = template(
            campaign=campaign.id,
            methodology=campaign.methodology_id,
            org=org_id,
            member=member_id,
            answers=answers,
            evidence=[(e.question, e.sha256) for e in await self._evidence(row)],
        )
        try:
            when = check_submission(signed, expected, certificate)
        except CredentialError as exc:
            raise _refuse(exc.reason, str(exc)) from None
        if abs(when - now) > CLOCK_SKEW:
            raise _refuse(
                "clock",
                "the submission's time is too far from the server's clock: check the "
                "device's date and time",
                "submitted_at",
            )
        row.state = ParticipantState.SUBMITTED
        row.submitted_at = when
        row.submitted_by = member_id
        row.statement = bytes(signed).decode()
        row.return_reason = ""
        self._event(campaign, "submitted", "", org_id)
        await self.session.flush()
        return await self.questionnaire(campaign_id, org_id)

    # --- helpers -------------------------------------------------------------------------

    def _local(self, moment: dt.datetime) -> str:
        return LocalClock(self.zone).labelled(moment)

    def _event(self, campaign: Campaign, kind: str, reason: str, org_id: int | None = None) -> None:
        self.session.add(
            CampaignEvent(
                campaign_id=campaign.id,
                organisation_id=org_id,
                kind=kind,
                reason=reason,
                actor=self.actor.display_name,
            )
        )

    async def _evidence(self, row: Participant) -> list[Evidence]:
        rows = await self.session.scalars(
            select(Evidence).where(Evidence.participant_id == row.id).order_by(Evidence.id)
        )
        return list(rows.all())

    async def _member_names(self, ids: Any) -> dict[int, str]:
        wanted = {i for i in ids if i}
        if not wanted:
            return {}
        rows = await self.session.scalars(select(Member).where(Member.id.in_(wanted)))
        return {m.id: m.full_name for m in rows.all()}

    async def responders(self, org_ids: Sequence[int]) -> dict[int, list[Member]]:
        """Who answers for each organisation today (active members only)."""
        return await seated_officers(self.session, org_ids, RESPONDER_SEATS)

    async def _notify(
        self, campaign: Campaign, org_ids: Sequence[int], subject: str, text: str
    ) -> Notify:
        """A notice to each responder of the organisations, once per person."""
        people: dict[int, Member] = {}
        for members in (await self.responders(org_ids)).values():
            for member in members:
                people[member.id] = member
        body = f"{text}\nАнкета: /diagnosis/campaigns/{campaign.id}"
        notify = Notify(subject[:500], body)
        for member_id in sorted(people):
            member = people[member_id]
            self.session.add(Notice(member_id=member_id, subject=subject[:500], body=body))
            notify.addressees.append(Addressee(member_id, member.full_name, member.email))
        await self.session.flush()
        return notify

    async def _certificate(self, serial: int, member_id: int, now: dt.datetime) -> KeyCertificate:
        try:
            return await own_key_certificate(self.session, serial, member_id, now)
        except KeyRefused as exc:
            raise _refuse(exc.reason, str(exc), "serial") from None


def _evidence_out(item: Evidence) -> EvidenceOut:
    return EvidenceOut(
        id=item.id,
        question=item.question,
        filename=item.filename,
        media_type=item.media_type,
        size=item.size,
        sha256=item.sha256,
        uploaded_at=item.uploaded_at,
    )
