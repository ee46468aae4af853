"""Issuing a meeting's documents: the draft, finalising it into a fixed PDF and a signed
record, the signatures of the secretary and then the chair, and the journal.

The PDF itself is rendered by the server (templates live in ``web/``); this module is
handed its bytes. Finalising fixes them: the record names their SHA-256 and length, the
vote fingerprints the document cites, and who must sign. Each signer's browser signs
the record's digest with the member's own key; the server checks the signature
against the member's certificate before it keeps it, and once the chair has signed it
embeds the signatures, certificates, registry keys and revocation lists in the PDF,
which is then verifiable offline (:mod:`meetings.docverify`).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from ballots.models import Vote
from ballots.votes import result_json
from crypto.canonical import canonicalize_signed
from crypto.certificate import KeyCertificate
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.hashing import content_address
from crypto.instant import format_instant
from meetings import docsign
from meetings.access import MeetingRoles, meeting_date, roles_in
from meetings.distribution import Distribution
from meetings.documents import Protocol, Resolution
from meetings.drafting import genitive, item_resolution, item_votes, meeting_protocol
from meetings.elections.models import Election, ElectionState
from meetings.elections.protocol import CommissionProtocol, CountedResult
from meetings.events import append_event
from meetings.models import (
    AgendaItem,
    Document,
    DocumentKind,
    DocumentSignature,
    DocumentState,
    Meeting,
    MeetingState,
    Notice,
)
from meetings.preparation import MeetingService
from meetings.schemas import DraftTextsIn
from registry.actor import Actor
from registry.credentials import KEY_CERTIFICATE, CredentialService
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.localtime import LocalClock, zone_label
from registry.models import Body, IssuedCredential, Member, Organisation
from registry.orm import utcnow
from registry.registrykey import RegistryKeyring

__all__ = ["ROLES", "DocumentDesk", "Draft"]

#: Who signs, in order (as the record and the verifier have it).
ROLES = docsign.ROLES
#: How long ago a signature may be dated (its time is the one the server handed out).
CLOCK_SKEW = dt.timedelta(minutes=10)


@dataclass(frozen=True)
class Draft:
    """A document as the record holds it now, before it is fixed."""

    kind: DocumentKind
    meeting: Meeting
    item: AgendaItem | None
    protocol: Protocol | None
    resolution: Resolution | None
    votes: tuple[Vote, ...]

    @property
    def title(self) -> str:
        if self.resolution is not None:
            return self.resolution.title
        assert self.protocol is not None
        if self.kind is DocumentKind.EXTRACT and self.item is not None:
            return f"Выписка из протокола заседания {self.protocol.number}: {self.item.title}"
        return f"Протокол заседания {genitive(self.protocol.body)} {self.protocol.number}"

    @property
    def number(self) -> str:
        if self.resolution is not None:
            return self.resolution.number
        assert self.protocol is not None
        if self.kind is DocumentKind.EXTRACT and self.item is not None:
            return f"{self.protocol.number} – {self.item.position}"
        return self.protocol.number


class DocumentDesk:
    def __init__(self, session: AsyncSession, actor: Actor, keyring: RegistryKeyring) -> None:
        self.session = session
        self.actor = actor
        self.keyring = keyring

    # --- drafts ---------------------------------------------------------------------------

    async def draft(self, meeting_id: int, kind: DocumentKind, item_id: int | None) -> Draft:
        """The draft of a document of a meeting (protocol; resolution or extract of an item)."""
        if kind is DocumentKind.COMMISSION_PROTOCOL:
            raise InvalidInput(
                "a counting commission's protocol is issued from its election's page",
                fields={"kind": "issued from the election"},
            )
        service = MeetingService(self.session, self.actor)
        meeting, _roles = await service.get(meeting_id)
        item = await service.item(meeting, item_id) if item_id is not None else None
        if kind is not DocumentKind.PROTOCOL and item is None:
            raise InvalidInput(f"a {kind.value} is of one agenda item", fields={"item": "required"})
        if kind is DocumentKind.PROTOCOL and item_id is not None:
            raise InvalidInput(
                "a protocol is of the whole meeting, not of one agenda item",
                fields={"item": "must be empty for a protocol"},
            )
        if kind is DocumentKind.RESOLUTION:
            assert item is not None
            resolution = await item_resolution(self.session, self.actor, meeting.id, item.id)
            votes = await _item_vote_rows(self.session, meeting.id, item.id)
            return Draft(kind, meeting, item, None, resolution, tuple(votes))
        protocol, votes = await meeting_protocol(self.session, self.actor, meeting.id)
        if kind is DocumentKind.EXTRACT:
            assert item is not None
            votes = await _item_vote_rows(self.session, meeting.id, item.id)
        return Draft(kind, meeting, item, protocol, None, tuple(votes))

    async def edit_texts(self, meeting_id: int, item_id: int, data: DraftTextsIn) -> AgendaItem:
        """The secretary writes an item's texts for the documents: during the meeting or
        after it, until the protocol is finalised (withdraw it to write again)."""
        service = MeetingService(self.session, self.actor)
        meeting, roles = await service.get(meeting_id)
        roles.require_secretary()
        if meeting.state not in (MeetingState.IN_SESSION, MeetingState.CLOSED):
            raise Conflict(
                "the texts of the documents are written once the meeting is in session",
                code="not_in_session",
            )
        item = await service.item(meeting, item_id)
        fixed = await self.session.scalar(
            select(Document.id).where(
                Document.meeting_id == meeting.id,
                Document.kind == DocumentKind.PROTOCOL,
                Document.state != DocumentState.WITHDRAWN,
            )
        )
        if fixed is not None:
            raise Conflict(
                "the protocol is finalised: withdraw it before changing its texts",
                code="already_finalised",
            )
        changed = []
        for name in ("heard", "speeches", "decision", "draft_resolution"):
            value = getattr(data, name)
            if value is not None and value.replace("\r\n", "\n") != getattr(item, name):
                setattr(item, name, value.replace("\r\n", "\n"))
                changed.append(name)
        if changed:
            await append_event(
                self.session,
                meeting.id,
                "item.texts",
                {"item": item.id, "fields": changed},
                actor=self.actor.display_name,
            )
        return item

    # --- finalising -----------------------------------------------------------------------

    async def finalise(self, draft: Draft, pdf: bytes) -> Document:
        """Fix the document: store its PDF, take the next number of the organisation's
        journal, and write the record the secretary and the chair will sign."""
        meeting = draft.meeting
        roles = await roles_in(self.session, meeting, self.actor)
        if not roles.is_secretary:
            raise PermissionDenied(
                "only the secretary of the meeting finalises its documents", key="not_secretary"
            )
        if meeting.state is not MeetingState.CLOSED:
            raise Conflict("documents are finalised after the meeting is closed", code="not_closed")
        if meeting.chair_member_id is None or meeting.secretary_member_id is None:
            raise Conflict("the meeting has no chair or no secretary to sign", code="no_signers")
        if not pdf.startswith(b"%PDF-"):
            raise InvalidInput("the rendered document is not a PDF")
        live = await self.session.scalar(
            select(Document.id).where(
                Document.meeting_id == meeting.id,
                Document.kind == draft.kind,
                Document.item_id.is_(None)
                if draft.item is None
                else Document.item_id == draft.item.id,
                Document.state != DocumentState.WITHDRAWN,
            )
        )
        if live is not None:
            raise Conflict(
                "this document is already finalised; withdraw it first to issue it again",
                code="already_finalised",
            )
        body = await self.session.get(Body, meeting.body_id)
        assert body is not None
        # The organisation's row lock serialises the journal's numbering.
        org = await self.session.get(Organisation, body.organisation_id, with_for_update=True)
        assert org is not None
        now = utcnow().replace(microsecond=0)
        year = now.astimezone(meeting.local_start.tzinfo).year
        last = await self.session.scalar(
            select(func.max(Document.journal_seq)).where(
                Document.organisation_id == org.id, Document.journal_year == year
            )
        )
        seq = (last or 0) + 1
        names = await self.names({meeting.chair_member_id, meeting.secretary_member_id})
        record = docsign.build_record(
            org=org.id,
            org_name=org.name,
            kind=draft.kind.value,
            number=draft.number,
            title=draft.title,
            date=meeting_date(meeting),
            journal=f"{seq}/{year}",
            meeting=docsign.MeetingRef(meeting.id, body.name, meeting.number, meeting.year),
            pdf=pdf,
            votes=[_vote_reference(vote) for vote in draft.votes],
            signers=[
                docsign.Signer(
                    "secretary",
                    meeting.secretary_member_id,
                    names[meeting.secretary_member_id],
                ),
                docsign.Signer("chair", meeting.chair_member_id, names[meeting.chair_member_id]),
            ],
            finalised_at=now,
            zone=record_zone(meeting.timezone, now),
        )
        document = Document(
            organisation_id=org.id,
            meeting_id=meeting.id,
            item_id=draft.item.id if draft.item is not None else None,
            kind=draft.kind,
            state=DocumentState.SIGNING,
            journal_year=year,
            journal_seq=seq,
            number=draft.number,
            title=draft.title,
            record=record.canonical.decode(),
            record_digest=record.digest,
            pdf=pdf,
            pdf_sha256=record.pdf_sha256,
            finalised_at=now,
            finalised_by=self.actor.display_name,
        )
        self.session.add(document)
        await self.session.flush()
        return document

    async def commission_document(self, election_id: int) -> Document | None:
        """The live (not withdrawn) protocol of an election's counting commission."""
        document: Document | None = await self.session.scalar(
            select(Document)
            .where(
                Document.election_id == election_id,
                Document.kind == DocumentKind.COMMISSION_PROTOCOL,
                Document.state != DocumentState.WITHDRAWN,
            )
            .execution_options(populate_existing=True)
        )
        return document

    async def finalise_commission(
        self,
        election: Election,
        protocol: CommissionProtocol,
        result: CountedResult,
        signers: Sequence[tuple[int, str]],
        pdf: bytes,
    ) -> Document:
        """Fix a counting commission's protocol (:mod:`meetings.elections.protocol`):
        store its PDF, take the next journal number, and write the record its members
        who counted will sign. A member of the commission who counted, or the meeting's
        secretary or chair, may; once per election (withdraw to issue it again)."""
        if election.meeting_id is None or election.item_id is None:
            raise Conflict(
                "the protocol of an absentee election's commission is not issued here yet",
                code="absentee",
            )
        if election.state is not ElectionState.COUNTED:
            raise Conflict(
                f"the election is {election.state.value}: the commission's protocol is"
                " issued once it is counted",
                code="election_state",
            )
        meeting = await self.session.get(Meeting, election.meeting_id)
        assert meeting is not None
        roles = await roles_in(self.session, meeting, self.actor)
        members = {member for member, _name in signers}
        if self.actor.member_id not in members and not (roles.is_secretary or roles.is_chair):
            raise PermissionDenied(
                "only a commission member who counted, or the meeting's secretary or chair,"
                " issue the commission's protocol",
                code="not_yours",
            )
        if not pdf.startswith(b"%PDF-"):
            raise InvalidInput("the rendered document is not a PDF")
        if await self.commission_document(election.id) is not None:
            raise Conflict(
                "the commission's protocol is already issued; withdraw it first to issue it again",
                code="already_finalised",
            )
        body = await self.session.get(Body, meeting.body_id)
        assert body is not None
        org = await self.session.get(Organisation, body.organisation_id, with_for_update=True)
        assert org is not None
        now = utcnow().replace(microsecond=0)
        year = now.astimezone(meeting.local_start.tzinfo).year
        last = await self.session.scalar(
            select(func.max(Document.journal_seq)).where(
                Document.organisation_id == org.id, Document.journal_year == year
            )
        )
        seq = (last or 0) + 1
        title = f"{protocol.title} ({election.office})"[:1000]
        record = docsign.build_record(
            org=org.id,
            org_name=org.name,
            kind=DocumentKind.COMMISSION_PROTOCOL.value,
            number=protocol.number,
            title=title,
            date=protocol.date,
            journal=f"{seq}/{year}",
            meeting=docsign.MeetingRef(meeting.id, body.name, meeting.number, meeting.year),
            pdf=pdf,
            votes=[docsign.VoteRef(vote=result.definition, head=result.head, result=result.digest)],
            signers=[
                docsign.Signer(docsign.COMMISSION_ROLE, member, name) for member, name in signers
            ],
            finalised_at=now,
            zone=record_zone(meeting.timezone, now),
        )
        document = Document(
            organisation_id=org.id,
            meeting_id=meeting.id,
            item_id=election.item_id,
            election_id=election.id,
            kind=DocumentKind.COMMISSION_PROTOCOL,
            state=DocumentState.SIGNING,
            journal_year=year,
            journal_seq=seq,
            number=protocol.number,
            title=title,
            record=record.canonical.decode(),
            record_digest=record.digest,
            pdf=pdf,
            pdf_sha256=record.pdf_sha256,
            finalised_at=now,
            finalised_by=self.actor.display_name,
        )
        self.session.add(document)
        await self.session.flush()
        for member, _name in signers:
            self.session.add(
                Notice(
                    member_id=member,
                    meeting_id=meeting.id,
                    subject=f"Документ ждёт вашей подписи: {title}"[:500],
                    body=f"{title}, рег. № {document.journal_number}.\n"
                    "Протокол подписывают члены счётной комиссии, участвовавшие в подсчёте.",
                )
            )
        await append_event(
            self.session,
            meeting.id,
            "commission.protocol",
            {
                "election": election.id,
                "office": election.office,
                "document": document.id,
                "journal": document.journal_number,
            },
            actor=self.actor.display_name,
        )
        await self.session.flush()
        return document

    async def withdraw(self, document_id: int) -> Document:
        """Withdraw a finalised document that is not yet signed by both (a mistake found)."""
        document, roles = await self.get(document_id)
        if not roles.is_secretary:
            raise PermissionDenied(
                "only the secretary of the meeting withdraws its documents", key="not_secretary"
            )
        if document.state is not DocumentState.SIGNING:
            raise Conflict(
                f"a {document.state.value} document cannot be withdrawn", key="not_withdrawable"
            )
        document.state = DocumentState.WITHDRAWN
        document.withdrawn_at = utcnow()
        return document

    # --- reading --------------------------------------------------------------------------

    async def get(self, document_id: int) -> tuple[Document, MeetingRoles]:
        """A document the caller may read: people of its meeting, and its recipients."""
        document = await self.session.get(Document, document_id, populate_existing=True)
        if document is None:
            raise NotFound("no such document", key="no_document")
        meeting = await self.session.get(Meeting, document.meeting_id)
        assert meeting is not None
        roles = await roles_in(self.session, meeting, self.actor)
        if not roles.can_view and not await self._is_recipient(document):
            raise NotFound("no such document", key="no_document")
        return document, roles

    async def signatures(self, document: Document) -> list[DocumentSignature]:
        rows = await self.session.scalars(
            select(DocumentSignature)
            .where(DocumentSignature.document_id == document.id)
            .order_by(DocumentSignature.position)
        )
        return list(rows.all())

    async def of_meeting(self, meeting_id: int) -> list[Document]:
        await MeetingService(self.session, self.actor).get(meeting_id)
        rows = await self.session.scalars(
            select(Document)
            .where(Document.meeting_id == meeting_id)
            .order_by(Document.journal_year, Document.journal_seq)
        )
        return list(rows.all())

    async def journal(self, limit: int = 500) -> list[Document]:
        """The journal of issued documents the caller may read, newest first."""
        rows = await self.session.scalars(
            select(Document)
            .order_by(Document.journal_year.desc(), Document.journal_seq.desc())
            .limit(limit)
        )
        # Whether the caller may see a meeting, asked once per meeting.
        can_view: dict[int, bool] = {}
        visible = []
        for document in rows.all():
            if document.meeting_id not in can_view:
                meeting = await self.session.get(Meeting, document.meeting_id)
                assert meeting is not None
                roles = await roles_in(self.session, meeting, self.actor)
                can_view[document.meeting_id] = roles.can_view
            if can_view[document.meeting_id]:
                visible.append(document)
        return visible

    # --- signing --------------------------------------------------------------------------

    @staticmethod
    def pending(
        document: Document, signatures: Sequence[DocumentSignature]
    ) -> list[tuple[str, int]]:
        """Who may sign after ``signatures`` (what :meth:`signatures` gives): the next of
        the secretary and the chair; on a commission's protocol, every member it names
        who has not signed yet (in any order)."""
        if document.state is not DocumentState.SIGNING:
            return []
        signers = json.loads(document.record)["signers"]
        if document.kind is DocumentKind.COMMISSION_PROTOCOL:
            done = {s.member_id for s in signatures}
            return [(str(s["role"]), int(s["member"])) for s in signers if s["member"] not in done]
        done_count = len(signatures)
        if done_count >= len(ROLES):
            return []
        role = ROLES[done_count]
        signer = next(s for s in signers if s["role"] == role)
        return [(role, int(signer["member"]))]

    @classmethod
    def next_signer(
        cls, document: Document, signatures: Sequence[DocumentSignature]
    ) -> tuple[str, int] | None:
        """The role and member who must sign after ``signatures``, or None when all have
        signed (on a commission's protocol, the first of those who have not)."""
        pending = cls.pending(document, signatures)
        return pending[0] if pending else None

    def _my_step(
        self, document: Document, signatures: Sequence[DocumentSignature]
    ) -> tuple[str, int]:
        """The caller's place among those who may sign now, or a refusal."""
        pending = self.pending(document, signatures)
        if not pending:
            raise Conflict("nobody is to sign this document now", code="not_signing")
        for role, member in pending:
            if member == self.actor.member_id:
                return role, member
        if document.kind is DocumentKind.COMMISSION_PROTOCOL:
            raise PermissionDenied(
                "only the commission members who counted sign its protocol",
                key="other_signs",
                params={"role": "commission"},
            )
        role = pending[0][0]
        raise PermissionDenied(
            f"the {role} of the meeting signs now", key="other_signs", params={"role": role}
        )

    async def signing_request(self, document_id: int) -> dict[str, Any]:
        """What the caller's browser signs now: the record (to show and to check against
        the PDF it downloads) and the signature payload without serial and time, which
        the browser fills in from its own key and clock."""
        document, _roles = await self.get(document_id)
        signatures = await self.signatures(document)
        role, member = self._my_step(document, signatures)
        return {
            "document": document.id,
            "record": json.loads(document.record),
            "record_digest": document.record_digest,
            "role": role,
            "member": member,
            "previous": signatures[-1].digest if signatures else "",
            "pdf": f"/documents/{document.id}/unsigned.pdf",
            # The time to sign with: the server's, so that a browser's clock running
            # ahead cannot date a signature after the revocation list that covers it.
            "now": format_instant(utcnow().replace(microsecond=0)),
        }

    async def sign(self, document_id: int, envelope: Mapping[str, Any]) -> Document:
        """Keep one signature after checking it; the chair's completes the document."""
        document, _roles = await self.get(document_id)
        # The document row's lock: two signers (or two tabs) cannot both be "next".
        await self.session.refresh(document, with_for_update=True)
        signatures = await self.signatures(document)
        if not self.pending(document, signatures):
            raise Conflict("this document takes no more signatures", code="not_signing")
        role, member = self._my_step(document, signatures)
        try:
            signed = SignedDocument.parse(envelope)
        except CredentialError as exc:
            raise InvalidInput(f"not a signed document: {exc}", code=exc.reason) from exc
        serial = signed.payload.get("serial")
        if type(serial) is not int:
            raise InvalidInput("the signature names no key serial", fields={"serial": "missing"})
        certificate = await self._certificate(serial, member)
        previous = SignedDocument.parse(signatures[-1].envelope.encode()) if signatures else None
        now = utcnow()
        try:
            checked = docsign.check_signature(
                signed, _record(document), certificate, role, previous
            )
        except CredentialError as exc:
            raise InvalidInput(f"the signature is refused: {exc}", code=exc.reason) from exc
        signed_at = checked.signed_at
        if signed_at > now:
            raise InvalidInput(
                f"the signature is dated {format_instant(signed_at)}, in the future: sign with "
                "the time the server gave",
                fields={"signed_at": "future"},
            )
        if now - signed_at > CLOCK_SKEW:
            raise InvalidInput(
                f"the signature's time {format_instant(signed_at)} is more than "
                f"{int(CLOCK_SKEW.total_seconds() // 60)} minutes from the server's",
                fields={"signed_at": "clock"},
            )
        envelope_text = bytes(signed).decode()
        self.session.add(
            DocumentSignature(
                document_id=document.id,
                position=len(signatures) + 1,
                role=role,
                member_id=member,
                serial=serial,
                envelope=envelope_text,
                digest=docsign.envelope_digest(signed),
                signed_at=signed_at,
            )
        )
        await self.session.flush()
        if not self.pending(document, await self.signatures(document)):
            await self._complete(document)
        elif document.kind is not DocumentKind.COMMISSION_PROTOCOL:
            await self._tell_next_signer(document)
        return document

    async def _tell_next_signer(self, document: Document) -> None:
        """The in-app notice to whoever signs next (the chair after the secretary);
        the server mails them after the commit (:meth:`next_signer_address`)."""
        step = self.next_signer(document, await self.signatures(document))
        if step is None:
            return
        self.session.add(
            Notice(
                member_id=step[1],
                meeting_id=document.meeting_id,
                subject=f"Документ ждёт вашей подписи: {document.title}"[:500],
                body=f"{document.title}, рег. № {document.journal_number}.\n"
                "Секретарь подписал документ; теперь его подписываете вы.",
            )
        )
        await self.session.flush()

    async def next_signer_address(self, document: Document) -> tuple[str, str] | None:
        """The name and e-mail of whoever signs ``document`` next, if they have one."""
        step = self.next_signer(document, await self.signatures(document))
        if step is None or document.kind is DocumentKind.COMMISSION_PROTOCOL:
            return None
        member = await self.session.get(Member, step[1])
        if member is None or not member.email:
            return None
        return member.full_name, member.email

    async def _complete(self, document: Document) -> None:
        signatures = await self.signatures(document)
        certificates: list[SignedDocument] = []
        # Certificates are issued by the registry of the signer's union (its root).
        organisations: set[int] = set()
        for signature in signatures:
            credential = await self.session.get(IssuedCredential, signature.serial)
            assert credential is not None
            certificates.append(SignedDocument.parse(credential.document.encode()))
            organisations.add(credential.organisation_id)
        credentials = CredentialService(self.session, self.actor, self.keyring)
        # A list issued now, after both signatures: neither key was revoked then.
        revocations = [
            await credentials.publish_revocation_list(org_id) for org_id in sorted(organisations)
        ]
        keys = []
        for org_id in sorted(organisations):
            org = await self.session.get(Organisation, org_id)
            assert org is not None
            keys.append(self.keyring.document(org.id, org.name))
        document.signed_pdf = docsign.sign_pdf(
            document.pdf,
            record=_record(document),
            signatures=[SignedDocument.parse(s.envelope.encode()) for s in signatures],
            certificates=certificates,
            registry_keys=keys,
            revocations=revocations,
        )
        document.state = DocumentState.SIGNED
        document.signed_at = signatures[-1].signed_at

    async def _certificate(self, serial: int, member: int) -> KeyCertificate:
        credential = await self.session.get(IssuedCredential, serial)
        if (
            credential is None
            or credential.kind != KEY_CERTIFICATE
            or credential.member_id != member
        ):
            raise InvalidInput(
                f"key {serial} is not a signing key of this member", code="unknown_key"
            )
        if credential.revoked_at is not None:
            raise InvalidInput(f"key {serial} is revoked", code="revoked")
        return KeyCertificate.from_payload(
            SignedDocument.parse(credential.document.encode()).payload
        )

    async def names(self, ids: set[int | None]) -> dict[int, str]:
        wanted = {i for i in ids if i is not None}
        rows = await self.session.scalars(select(Member).where(Member.id.in_(wanted)))
        return {m.id: m.full_name for m in rows.all()}

    async def _is_recipient(self, document: Document) -> bool:
        """Sent to the caller, or to an organisation they act for."""
        if document.state is not DocumentState.SIGNED:
            return False
        return await Distribution(self.session, self.actor).is_addressed(document.id)


def _record(document: Document) -> docsign.DocumentRecord:
    return docsign.DocumentRecord.from_payload(json.loads(document.record))


def record_zone(zone: str, now: dt.datetime) -> docsign.RecordZone:
    """The zone a record names for its marks' times: the meeting's, as its clocks showed
    it when the document was finalised («по пермскому времени, UTC+5»)."""
    moment = LocalClock(zone).local(now)
    offset = int((moment.utcoffset() or dt.timedelta(0)).total_seconds() // 60)
    return docsign.RecordZone(zone, offset, zone_label(zone, "ru", now))


def _vote_reference(vote: Vote) -> docsign.VoteRef:
    result = result_json(vote)
    assert result is not None
    return docsign.VoteRef(
        vote=vote.fingerprint,
        head=result["head"],
        result=content_address(canonicalize_signed(result)),
    )


async def _item_vote_rows(session: AsyncSession, meeting_id: int, item_id: int) -> list[Vote]:
    return [vote for _line, vote in await item_votes(session, meeting_id, item_id)]
