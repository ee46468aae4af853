"""Paperless distribution of signed documents: the secretary sends a protocol, a
resolution or an extract to member organisations and to named members, each of them
confirms with a signature that they have read it («ознакомлен»), and the secretary
sees who has and reminds those who have not.

Who acts for an organisation
    A document sent to an organisation is read and acknowledged by the people who act
    for it: the members holding the **chair's or the secretary's seat of a body of that
    organisation on the day** (deputies do not: the charter gives them no signature).
    They get the notices and the mail, see the document in their inbox, and either of
    them may acknowledge on the organisation's behalf; the first acknowledgement counts.
    Registrars are not among them: the registry gives the registrar role to an account
    for the whole installation, with no link to one organisation.

The acknowledgement
    A member signs, with a certified key of their own device, the payload
    (a :class:`~crypto.envelope.SignedDocument`)::

        {"type": "kvorum.document-acknowledgement", "v": 1,
         "record": "<the document's record digest, sha256:…>",
         "journal": "<the journal number, 12/2026>",
         "member": <member id>, "serial": <certificate serial of the signing key>,
         "org": <the organisation acknowledged for, or 0 for oneself>,
         "statement": "ознакомлен", "acknowledged_at": "YYYY-MM-DDTHH:MM:SSZ"}

    The record digest binds the statement to the signed record (and through it to the
    PDF's hash), so the statement cannot be moved to another document or to another
    edition of this one. The certificate must be the signer's, unrevoked, and valid
    both at ``acknowledged_at`` and at arrival; ``acknowledged_at`` must be within
    :data:`CLOCK_SKEW` of the server's clock, so a statement cannot be dated back.

Not guaranteed: that the member read the document. The statement says they declare
so, which is what the paper «ознакомлен, подпись» said too.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, select
from sqlalchemy.ext.asyncio import AsyncSession

from crypto.canonical import parse_json
from crypto.certificate import KeyCertificate
from crypto.envelope import SignedDocument
from crypto.errors import CredentialError
from crypto.instant import format_instant
from meetings import docsign
from meetings.access import composition_ids, roles_in
from meetings.docsign import ACKNOWLEDGEMENT_TYPE, STATEMENT, Acknowledgement, DocumentRecord
from meetings.models import (
    Document,
    DocumentRecipient,
    DocumentState,
    Meeting,
    Notice,
)
from registry.actor import Actor
from registry.credentials import KeyRefused, own_key_certificate
from registry.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from registry.members import current_seat_clause, seated_officers
from registry.models import (
    Body,
    Member,
    MemberStatus,
    Organisation,
    Role,
    Seat,
    SeatRole,
)
from registry.orm import utcnow

__all__ = [
    "ACKNOWLEDGEMENT_TYPE",
    "ACKNOWLEDGEMENT_VERSION",
    "ACTING_SEATS",
    "CLOCK_SKEW",
    "REMIND_INTERVAL",
    "STATEMENT",
    "Acknowledged",
    "Addressee",
    "Candidates",
    "Distribution",
    "DistributionStatus",
    "InboxEntry",
    "MyCopy",
    "RecipientState",
    "RemindIn",
    "SendIn",
    "SendNotice",
    "acknowledgement_template",
    "statement_json",
]

ACKNOWLEDGEMENT_VERSION = docsign.VERSION
#: The seats whose holders act for their organisation (see the module docstring).
ACTING_SEATS = (SeatRole.CHAIR, SeatRole.SECRETARY)
#: How far the signed time may be from the server's clock, either way.
CLOCK_SKEW = dt.timedelta(minutes=15)
#: The least time between two notifications of one recipient (the sending counts).
REMIND_INTERVAL = dt.timedelta(hours=1)
#: The most recipients of one kind a single request may name.
MAX_RECIPIENTS = 2000

_Row = TypeVar("_Row", Organisation, Member)


# --- the signed format ----------------------------------------------------------------------
# meetings.docsign defines the acknowledgement (payload, reader and checker); this module
# only fills in what the browser cannot know and decides whose statement counts.


def acknowledgement_template(document: Document, member_id: int, org: int) -> dict[str, Any]:
    """The payload a member signs (:func:`meetings.docsign.acknowledgement_payload`), less
    the two fields their device adds: ``serial`` (of its key) and ``acknowledged_at``
    (the moment of signing)."""
    return {
        "type": ACKNOWLEDGEMENT_TYPE,
        "v": ACKNOWLEDGEMENT_VERSION,
        "record": document.record_digest,
        "journal": document.journal_number,
        "member": member_id,
        "org": org,
        "statement": STATEMENT,
    }


# --- what the service answers -----------------------------------------------------------------


class SendIn(BaseModel):
    """Whom to send a signed document to: member organisations and named members."""

    model_config = ConfigDict(extra="forbid")

    organisation_ids: list[int] = Field(default_factory=list, max_length=MAX_RECIPIENTS)
    member_ids: list[int] = Field(default_factory=list, max_length=MAX_RECIPIENTS)


class RemindIn(BaseModel):
    """Whom to remind; none named: every recipient who has not acknowledged yet."""

    model_config = ConfigDict(extra="forbid")

    recipient_ids: list[int] = Field(default_factory=list, max_length=MAX_RECIPIENTS)


@dataclass(frozen=True)
class Addressee:
    """A person to be told (the server mails them after the commit)."""

    member_id: int
    name: str
    email: str
    personal: bool  # the document was sent to them by name
    on_behalf: tuple[str, ...]  # the organisations they receive it for


@dataclass(frozen=True)
class SendNotice:
    """What a sending or a reminder did, and who must be mailed."""

    document_id: int
    journal: str
    title: str
    subject: str
    reminder: bool
    recipient_ids: tuple[int, ...]  # the recipients sent to (or reminded) now
    addressees: tuple[Addressee, ...]
    # Organisations for which nobody holds a chair's or secretary's seat today: the
    # document waits in their inbox, but nobody was told.
    unreachable: tuple[str, ...]


def _local(moment: dt.datetime | None, zone: str) -> str:
    if moment is None:
        return ""
    return moment.astimezone(ZoneInfo(zone)).strftime("%d.%m.%Y %H:%M")


@dataclass(frozen=True)
class RecipientState:
    """One recipient as the secretary sees it."""

    id: int
    organisation_id: int | None
    member_id: int | None
    name: str
    acting: tuple[str, ...]  # for an organisation: who acts for it today (short names)
    sent_at: dt.datetime
    sent_by: str
    reminders: int
    reminded_at: dt.datetime | None
    acknowledged_at: dt.datetime | None
    acknowledged_by: int | None
    acknowledged_by_name: str
    remind_after: dt.datetime | None  # None once acknowledged
    can_remind: bool

    @property
    def kind(self) -> str:
        return "organisation" if self.organisation_id is not None else "member"

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclass(frozen=True)
class MyCopy:
    """A recipient the caller answers for: themselves, or an organisation they act for."""

    recipient_id: int
    organisation_id: int | None
    on_behalf: str  # the organisation's name; "" for the caller in their own name
    sent_at: dt.datetime
    acknowledged_at: dt.datetime | None
    acknowledged_by_name: str
    payload: dict[str, Any]  # what the caller's device signs (plus serial and time)

    @property
    def acknowledged(self) -> bool:
        return self.acknowledged_at is not None


@dataclass(frozen=True)
class DistributionStatus:
    """The distribution of one document, as the caller may see it: everything for the
    meeting's secretary, chair and the registrar, their own copies for a recipient."""

    document_id: int
    journal: str
    signed: bool
    manage: bool  # the caller may send and remind
    member_id: int | None
    timezone: str
    recipients: tuple[RecipientState, ...]  # empty unless ``manage``
    mine: tuple[MyCopy, ...]
    flash: str = ""  # a catalogue key the page shows above the panel

    @property
    def acknowledged_count(self) -> int:
        return sum(1 for r in self.recipients if r.acknowledged)

    @property
    def can_remind_any(self) -> bool:
        return any(r.can_remind for r in self.recipients)

    @property
    def sent_organisation_ids(self) -> frozenset[int]:
        return frozenset(r.organisation_id for r in self.recipients if r.organisation_id)

    @property
    def sent_member_ids(self) -> frozenset[int]:
        return frozenset(r.member_id for r in self.recipients if r.member_id)

    def local(self, moment: dt.datetime | None) -> str:
        """A time as «14.05.2026 10:00» where the meeting was held."""
        return _local(moment, self.timezone)


@dataclass(frozen=True)
class Candidates:
    """Whom the send form offers: the union's organisations (tree order, ``depth`` for
    indentation) and the members of the body whose meeting it was."""

    organisations: tuple[tuple[int, str, int], ...]  # (id, name, depth)
    members: tuple[tuple[int, str], ...]  # (id, full name)


@dataclass(frozen=True)
class InboxEntry:
    """A document sent to the caller, or to an organisation they act for."""

    document_id: int
    kind: str
    journal: str
    number: str
    title: str
    signed_at: dt.datetime | None
    timezone: str
    copy: MyCopy

    def local(self, moment: dt.datetime | None) -> str:
        return _local(moment, self.timezone)


@dataclass(frozen=True)
class Acknowledged:
    """A recorded acknowledgement; ``first`` is false when an identical one was already in."""

    document_id: int
    recipient_id: int
    organisation_id: int | None
    member_id: int | None
    acknowledged_at: dt.datetime
    acknowledged_by: int
    statement: str  # the signed envelope, canonical JSON
    first: bool


# Refusals of an acknowledgement: the reason is the error's code.
_REFUSALS: dict[str, type[DomainError]] = {
    "malformed": InvalidInput,
    "wrong_type": InvalidInput,
    "unsupported_version": InvalidInput,
    "bad_instant": InvalidInput,
    "wrong_document": InvalidInput,
    "wrong_record": InvalidInput,
    "clock": InvalidInput,
    "bad_record": Conflict,
    "not_recipient": PermissionDenied,
    "not_yours": PermissionDenied,
    "wrong_member": PermissionDenied,
    "unknown_key": PermissionDenied,
    "wrong_key": PermissionDenied,
    "revoked": PermissionDenied,
    "expired": PermissionDenied,
    "not_yet_valid": PermissionDenied,
    "unknown_signer": PermissionDenied,
    "bad_signature": PermissionDenied,
    "already_acknowledged": Conflict,
}


def _refuse(reason: str, message: str, field: str = "") -> DomainError:
    fields = {field: reason} if field else None
    return _REFUSALS.get(reason, InvalidInput)(message, fields=fields, code=reason)


def _chunks(ids: Sequence[int], size: int = 5000) -> Iterable[list[int]]:
    ordered = sorted(set(ids))
    for start in range(0, len(ordered), size):
        yield ordered[start : start + size]


def _org_name(org: Organisation) -> str:
    return org.short_name or org.name


class Distribution:
    """Sending signed documents, their acknowledgements, the status and the reminders."""

    def __init__(self, session: AsyncSession, actor: Actor) -> None:
        self.session = session
        self.actor = actor

    # --- the secretary ----------------------------------------------------------------------

    async def send(
        self, document_id: int, organisation_ids: Sequence[int], member_ids: Sequence[int]
    ) -> SendNotice:
        """Send a signed document to organisations and named members: all or nothing.

        A recipient already sent to is left as it is; naming only such recipients is
        "nothing to send". Returns who must be mailed."""
        document, _meeting = await self._managed(document_id, lock=True)
        self._require_signed(document)
        org_ids, person_ids = set(organisation_ids), set(member_ids)
        if len(org_ids) > MAX_RECIPIENTS or len(person_ids) > MAX_RECIPIENTS:
            raise InvalidInput(f"send to at most {MAX_RECIPIENTS} recipients of each kind at once")
        if not org_ids and not person_ids:
            raise InvalidInput(
                "choose the organisations or the members to send the document to",
                fields={"recipients": "required"},
                code="nothing_to_send",
            )
        root = await self._root_of(document.organisation_id)
        orgs = await self._organisations(org_ids, root)
        members = await self._members(person_ids, root)
        existing = (
            await self.session.scalars(
                select(DocumentRecipient).where(DocumentRecipient.document_id == document.id)
            )
        ).all()
        # The unique constraint cannot stop a second row for a member (its other column
        # is NULL, and NULLs differ), so the check is here, under the document's lock.
        sent_orgs = {r.organisation_id for r in existing if r.organisation_id is not None}
        sent_members = {r.member_id for r in existing if r.member_id is not None}
        new_orgs = [o for o in orgs if o.id not in sent_orgs]
        new_members = [m for m in members if m.id not in sent_members]
        if not new_orgs and not new_members:
            raise InvalidInput(
                "every recipient chosen has the document already: remind them instead",
                fields={"recipients": "already sent"},
                code="already_sent",
            )
        now = utcnow()

        def recipient(**whom: int) -> DocumentRecipient:
            return DocumentRecipient(
                document_id=document.id, sent_at=now, sent_by=self.actor.display_name, **whom
            )

        rows = [recipient(organisation_id=org.id) for org in new_orgs]
        rows += [recipient(member_id=member.id) for member in new_members]
        self.session.add_all(rows)
        await self.session.flush()
        return await self._notify(document, rows, reminder=False)

    async def remind(self, document_id: int, recipient_ids: Sequence[int] = ()) -> SendNotice:
        """Remind the named recipients, or (none named) everyone who has not acknowledged
        and was not told within :data:`REMIND_INTERVAL`.

        A named recipient who has acknowledged, or was told within the hour, is a
        :class:`Conflict` and nobody is reminded."""
        document, _meeting = await self._managed(document_id, lock=True)
        self._require_signed(document)
        rows = (
            await self.session.scalars(
                select(DocumentRecipient)
                .where(DocumentRecipient.document_id == document.id)
                .order_by(DocumentRecipient.id)
            )
        ).all()
        now = utcnow()
        if recipient_ids:
            wanted = set(recipient_ids)
            unknown = sorted(wanted - {r.id for r in rows})
            if unknown:
                listed = ", ".join(map(str, unknown[:20]))
                raise InvalidInput(
                    f"not recipients of this document: {listed}",
                    fields={"recipient_ids": f"not a recipient: {listed}"},
                    code="unknown_recipient",
                )
            chosen = [r for r in rows if r.id in wanted]
            done = [r.id for r in chosen if r.acknowledged_at is not None]
            if done:
                raise Conflict(
                    f"recipient {done[0]} has already acknowledged the document",
                    code="already_acknowledged",
                )
            early = [r for r in chosen if _remind_after(r) > now]
            if early:
                raise Conflict(
                    f"recipient {early[0].id} was told less than an hour ago; "
                    f"remind again after {format_instant(_second(_remind_after(early[0])))}",
                    code="too_soon",
                )
        else:
            pending = [r for r in rows if r.acknowledged_at is None]
            if not pending:
                raise Conflict("nobody is left to remind", code="nothing_to_remind")
            chosen = [r for r in pending if _remind_after(r) <= now]
            if not chosen:
                soonest = min(_remind_after(r) for r in pending)
                raise Conflict(
                    "everyone who has not acknowledged was told less than an hour ago; "
                    f"remind again after {format_instant(_second(soonest))}",
                    code="too_soon",
                )
        for row in chosen:
            row.reminders += 1
            row.reminded_at = now
        await self.session.flush()
        return await self._notify(document, chosen, reminder=True)

    async def status(self, document_id: int) -> DistributionStatus:
        """Every recipient with their state (the secretary, the chair, the registrar)."""
        document, meeting = await self._managed(document_id)
        return await self._status(document, meeting, manage=True)

    async def panel(self, document_id: int) -> DistributionStatus:
        """What the document's page shows of the distribution to the caller: everything
        to those who manage it, their own copies to recipients, nothing to others."""
        document = await self._document(document_id)
        meeting = await self._meeting(document)
        return await self._status(document, meeting, manage=await self._manages(meeting))

    async def candidates(self, document_id: int) -> Candidates:
        """Whom the send form offers (the secretary, the chair, the registrar)."""
        document, meeting = await self._managed(document_id)
        root = await self._root_of(document.organisation_id)
        orgs = (
            await self.session.scalars(
                select(Organisation).where(
                    Organisation.root_id == root, Organisation.retired_at.is_(None)
                )
            )
        ).all()
        children: dict[int | None, list[Organisation]] = {}
        for org in orgs:
            children.setdefault(org.parent_id if org.id != root else None, []).append(org)
        ordered: list[tuple[int, str, int]] = []

        def walk(parent: int | None, depth: int) -> None:
            for org in sorted(children.get(parent, []), key=lambda o: _org_name(o).casefold()):
                ordered.append((org.id, _org_name(org), depth))
                walk(org.id, depth + 1)

        walk(None, 0)
        ids = await composition_ids(self.session, meeting)
        active = await self._by_id(Member, ids, Member.status == MemberStatus.ACTIVE)
        people = sorted(((m.id, m.full_name) for m in active), key=lambda p: p[1].casefold())
        return Candidates(tuple(ordered), tuple(people))

    # --- the recipient ----------------------------------------------------------------------

    async def acknowledge(
        self,
        document_id: int,
        envelope: bytes | Mapping[str, object],
        *,
        recipient_id: int | None = None,
    ) -> Acknowledged:
        """Record the caller's signed acknowledgement of a document, for themselves or
        for an organisation they act for (the payload's ``org`` says which).

        The same acknowledgement sent again answers with the first; another one for a
        recipient who has acknowledged is a :class:`Conflict`. A refusal changes nothing;
        its ``code`` says why (see ``_REFUSALS``)."""
        try:
            signed = SignedDocument.parse(envelope)
            claim = Acknowledgement.from_payload(signed.payload)
        except CredentialError as exc:
            raise _refuse(exc.reason, str(exc)) from None
        document = await self._document(document_id)
        if document.state is not DocumentState.SIGNED:
            raise Conflict("only a signed document is acknowledged", code="not_signed")
        member_id = self.actor.member_id
        if member_id is None:
            raise PermissionDenied("only a union member acknowledges a document", key="not_member")
        if not await self._visible(document):
            raise NotFound("no such document", key="no_document")
        # The statement must name this document as it was signed, so that it cannot be
        # moved to another document (or another edition of this one).
        if claim.record != document.record_digest or claim.journal != document.journal_number:
            raise _refuse(
                "wrong_document",
                f"the acknowledgement is of another document (journal {claim.journal!r:.40})",
                "record" if claim.record != document.record_digest else "journal",
            )
        if claim.member != member_id:
            raise _refuse("not_yours", "the acknowledgement names another member", "member")
        recipient = await self._recipient_for(document, claim.org, member_id)
        if recipient_id is not None and recipient.id != recipient_id:
            raise _refuse("not_recipient", "the acknowledgement is for another recipient", "org")
        canonical = bytes(signed).decode()
        if recipient.acknowledged_at is not None:
            if recipient.statement == canonical:
                return _acknowledged(recipient, first=False)  # a retry: the same answer
            raise _refuse(
                "already_acknowledged", "the document was already acknowledged for this recipient"
            )
        now = utcnow()
        if abs(claim.acknowledged_at - now) > CLOCK_SKEW:
            # The signed time goes into the record: it may not be dated back (or ahead).
            raise _refuse(
                "clock",
                "the acknowledgement's time is too far from the server's clock: "
                "check the device's date and time",
                "acknowledged_at",
            )
        certificate = await self._certificate(claim.serial, member_id, now)
        try:
            record = DocumentRecord.from_payload(_json_object(document.record))
        except (CredentialError, ValueError) as exc:
            raise _refuse("bad_record", f"the document's record cannot be read: {exc}") from None
        try:
            docsign.check_acknowledgement(signed, record, certificate)
        except CredentialError as exc:
            raise _refuse(exc.reason, str(exc), "signature") from None
        recipient.acknowledged_at = claim.acknowledged_at
        recipient.acknowledged_by = member_id
        recipient.statement = canonical
        await self.session.flush()
        return _acknowledged(recipient, first=True)

    async def inbox(self, member_id: int | None = None) -> list[InboxEntry]:
        """The documents sent to a member (the caller unless named; another member's
        only for the registrar) or to the organisations they act for, newest first."""
        member_id = member_id if member_id is not None else self.actor.member_id
        if member_id is None:
            return []
        if member_id != self.actor.member_id and not self._registrar:
            raise PermissionDenied("only the registrar sees another member's documents")
        clause = await self._addressed_to(member_id)
        rows = (
            await self.session.execute(
                select(DocumentRecipient, Document, Meeting.timezone)
                .join(Document, Document.id == DocumentRecipient.document_id)
                .join(Meeting, Meeting.id == Document.meeting_id)
                .where(clause, Document.state == DocumentState.SIGNED)
                .order_by(DocumentRecipient.sent_at.desc(), DocumentRecipient.id.desc())
            )
        ).all()
        copies = await self._copies(
            [(recipient, document) for recipient, document, _zone in rows], member_id
        )
        return [
            InboxEntry(
                document_id=document.id,
                kind=document.kind.value,
                journal=document.journal_number,
                number=document.number,
                title=document.title,
                signed_at=document.signed_at,
                timezone=zone,
                copy=copy,
            )
            for (_recipient, document, zone), copy in zip(rows, copies, strict=True)
        ]

    async def is_addressed(self, document_id: int) -> bool:
        """Whether the document was sent to the caller or to an organisation they act
        for: such a caller may read it even if the meeting is not theirs."""
        if self.actor.member_id is None:
            return False
        return bool(await self._mine(document_id, self.actor.member_id))

    # --- helpers ------------------------------------------------------------------------------

    @property
    def _registrar(self) -> bool:
        return self.actor.has(Role.REGISTRAR)

    async def _document(self, document_id: int, *, lock: bool = False) -> Document:
        stmt = select(Document).where(Document.id == document_id)
        if lock:
            stmt = stmt.with_for_update()
        document = await self.session.scalar(stmt)
        if document is None:
            raise NotFound("no such document", key="no_document")
        return document

    async def _meeting(self, document: Document) -> Meeting:
        meeting = await self.session.get(Meeting, document.meeting_id)
        assert meeting is not None
        return meeting

    async def _manages(self, meeting: Meeting) -> bool:
        if self._registrar:
            return True
        roles = await roles_in(self.session, meeting, self.actor)
        return roles.is_secretary or roles.is_chair

    async def _managed(self, document_id: int, *, lock: bool = False) -> tuple[Document, Meeting]:
        """The document, if the caller is its meeting's secretary or chair, or the registrar.

        Others who may see the meeting, and the document's recipients, are told they
        may not (403); anyone else that there is no such document (404)."""
        # The document row's lock serialises sending and reminding one document.
        document = await self._document(document_id, lock=lock)
        meeting = await self._meeting(document)
        if self._registrar:
            return document, meeting
        roles = await roles_in(self.session, meeting, self.actor)
        if not roles.can_view and not await self.is_addressed(document.id):
            raise NotFound("no such document", key="no_document")
        roles.require_secretary()
        return document, meeting

    async def _visible(self, document: Document) -> bool:
        """Whether the caller may know of the document: its recipients, and the people
        of its meeting (anyone else is told there is no such document)."""
        if self._registrar or await self.is_addressed(document.id):
            return True
        meeting = await self._meeting(document)
        return (await roles_in(self.session, meeting, self.actor)).can_view

    def _require_signed(self, document: Document) -> None:
        if document.state is not DocumentState.SIGNED:
            raise Conflict(
                "only a signed document can be sent: both signatures must be in first",
                code="not_signed",
            )

    async def _root_of(self, organisation_id: int) -> int:
        org = await self.session.get(Organisation, organisation_id)
        assert org is not None
        return org.root_id or org.id

    async def _by_id(
        self, entity: type[_Row], ids: Iterable[int], *where: ColumnElement[bool]
    ) -> list[_Row]:
        """The rows of ``entity`` with these ids (that also meet ``where``), read a
        chunk of ids at a time."""
        found: list[_Row] = []
        for chunk in _chunks(list(ids)):
            rows = await self.session.scalars(select(entity).where(entity.id.in_(chunk), *where))
            found.extend(rows.all())
        return found

    async def _organisations(self, ids: set[int], root: int) -> list[Organisation]:
        found = await self._by_id(
            Organisation, ids, Organisation.root_id == root, Organisation.retired_at.is_(None)
        )
        _refuse_unknown(ids - {o.id for o in found}, "organisation_ids", "organisation")
        return sorted(found, key=lambda o: o.id)

    async def _members(self, ids: set[int], root: int) -> list[Member]:
        found = await self._by_id(
            Member, ids, Member.root_organisation_id == root, Member.status == MemberStatus.ACTIVE
        )
        _refuse_unknown(ids - {m.id for m in found}, "member_ids", "active member")
        return sorted(found, key=lambda m: m.id)

    async def _acting_for(self, member_id: int) -> set[int]:
        """The organisations a member acts for today (see the module docstring)."""
        rows = await self.session.scalars(
            select(Body.organisation_id)
            .join(Seat, Seat.body_id == Body.id)
            .where(
                Seat.member_id == member_id,
                Seat.role.in_(ACTING_SEATS),
                current_seat_clause(utcnow().date()),
                Body.retired_at.is_(None),
            )
        )
        return set(rows.all())

    async def _acting_people(self, org_ids: set[int]) -> dict[int, list[Member]]:
        """Who acts for each organisation today (active members only)."""
        return await seated_officers(self.session, org_ids, ACTING_SEATS)

    async def _recipient_for(
        self, document: Document, org: int, member_id: int
    ) -> DocumentRecipient:
        """The recipient an acknowledgement is for, if the caller answers for it.

        The row is locked: two officers of one organisation acknowledging at once
        are taken one after the other, and the second finds the first's."""
        stmt = select(DocumentRecipient).where(DocumentRecipient.document_id == document.id)
        if org == 0:
            stmt = stmt.where(DocumentRecipient.member_id == member_id)
        else:
            if org not in await self._acting_for(member_id):
                raise _refuse(
                    "not_recipient",
                    "you do not act for this organisation: only the chair or the secretary "
                    "of one of its bodies acknowledges for it",
                    "org",
                )
            stmt = stmt.where(DocumentRecipient.organisation_id == org)
        recipient = await self.session.scalar(stmt.with_for_update())
        if recipient is None:
            raise _refuse(
                "not_recipient",
                "the document was not sent to you"
                if org == 0
                else "the document was not sent to this organisation",
                "org",
            )
        return recipient

    async def _certificate(self, serial: int, member_id: int, now: dt.datetime) -> KeyCertificate:
        try:
            return await own_key_certificate(self.session, serial, member_id, now)
        except KeyRefused as exc:
            raise _refuse(exc.reason, str(exc), "serial") from None

    async def _status(
        self, document: Document, meeting: Meeting, *, manage: bool
    ) -> DistributionStatus:
        signed = document.state is DocumentState.SIGNED
        recipients: list[RecipientState] = []
        if manage:
            rows = (
                await self.session.scalars(
                    select(DocumentRecipient)
                    .where(DocumentRecipient.document_id == document.id)
                    .order_by(DocumentRecipient.id)
                )
            ).all()
            names = await self._names(rows)
            acting = await self._acting_people(
                {r.organisation_id for r in rows if r.organisation_id is not None}
            )
            now = utcnow()
            recipients = [_recipient_state(r, names, acting, now, signed=signed) for r in rows]
        mine: list[MyCopy] = []
        if self.actor.member_id is not None and signed:
            pairs = [(r, document) for r in await self._mine(document.id, self.actor.member_id)]
            mine = await self._copies(pairs, self.actor.member_id)
        return DistributionStatus(
            document_id=document.id,
            journal=document.journal_number,
            signed=signed,
            manage=manage,
            member_id=self.actor.member_id,
            timezone=meeting.timezone,
            recipients=tuple(recipients),
            mine=tuple(mine),
        )

    async def _addressed_to(self, member_id: int) -> ColumnElement[bool]:
        """Recipients a member answers for: themselves, and the organisations they act for."""
        acting = await self._acting_for(member_id)
        clause = DocumentRecipient.member_id == member_id
        if acting:
            clause = clause | DocumentRecipient.organisation_id.in_(acting)
        return clause

    async def _mine(self, document_id: int, member_id: int) -> list[DocumentRecipient]:
        clause = await self._addressed_to(member_id)
        rows = await self.session.scalars(
            select(DocumentRecipient)
            .where(DocumentRecipient.document_id == document_id, clause)
            .order_by(DocumentRecipient.organisation_id.is_not(None), DocumentRecipient.id)
        )
        return list(rows.all())

    async def _copies(
        self, pairs: Sequence[tuple[DocumentRecipient, Document]], member_id: int
    ) -> list[MyCopy]:
        names = await self._names([r for r, _d in pairs])
        return [
            MyCopy(
                recipient_id=r.id,
                organisation_id=r.organisation_id,
                on_behalf=names[("org", r.organisation_id)] if r.organisation_id else "",
                sent_at=r.sent_at,
                acknowledged_at=r.acknowledged_at,
                acknowledged_by_name=names.get(("member", r.acknowledged_by), ""),
                payload=acknowledgement_template(d, member_id, r.organisation_id or 0),
            )
            for r, d in pairs
        ]

    async def _names(self, rows: Sequence[DocumentRecipient]) -> dict[tuple[str, int | None], str]:
        """Names of the organisations and members the rows mention."""
        org_ids = [r.organisation_id for r in rows if r.organisation_id is not None]
        member_ids = [r.member_id for r in rows if r.member_id is not None]
        member_ids += [r.acknowledged_by for r in rows if r.acknowledged_by is not None]
        names: dict[tuple[str, int | None], str] = {}
        for org in await self._by_id(Organisation, org_ids):
            names[("org", org.id)] = _org_name(org)
        for member in await self._by_id(Member, member_ids):
            names[("member", member.id)] = member.full_name
        return names

    async def _notify(
        self, document: Document, rows: Sequence[DocumentRecipient], *, reminder: bool
    ) -> SendNotice:
        """A notice to each person concerned (one per person, however many of the rows
        reach them) and the list of whom to mail."""
        org_ids = {r.organisation_id for r in rows if r.organisation_id is not None}
        acting = await self._acting_people(org_ids)
        org_names = {o.id: _org_name(o) for o in await self._by_id(Organisation, org_ids)}
        named = [r.member_id for r in rows if r.member_id is not None]
        people = {m.id: m for m in await self._by_id(Member, named)}
        personal = set(people)
        behalf: dict[int, list[str]] = {}
        unreachable: list[str] = []
        for row in rows:
            if row.organisation_id is None:
                continue
            org_name = org_names[row.organisation_id]
            officers = acting.get(row.organisation_id, [])
            if not officers:
                unreachable.append(org_name)
            for member in officers:
                people[member.id] = member
                behalf.setdefault(member.id, []).append(org_name)
        kind = "Напоминание: документ на ознакомление" if reminder else "Документ на ознакомление"
        subject = f"{kind}: {document.title}"[:500]
        addressees: list[Addressee] = []
        for member_id in sorted(people):
            member = people[member_id]
            orgs = tuple(behalf.get(member_id, ()))
            # «Протокол заседания президиума № 7» names its number already.
            heading = (
                document.title
                if document.number in document.title
                else f"{document.title}, {document.number}"
            )
            lines = [f"{heading} (рег. № {document.journal_number})."]
            if member_id in personal:
                lines.append("Документ направлен вам лично.")
            if orgs:
                lines.append("Документ направлен организации: " + "; ".join(orgs) + ".")
            lines.append("Ознакомьтесь и подтвердите ознакомление подписью: /documents/inbox")
            self.session.add(Notice(member_id=member_id, subject=subject, body="\n".join(lines)))
            addressees.append(
                Addressee(member_id, member.full_name, member.email, member_id in personal, orgs)
            )
        await self.session.flush()
        return SendNotice(
            document_id=document.id,
            journal=document.journal_number,
            title=document.title,
            subject=subject,
            reminder=reminder,
            recipient_ids=tuple(r.id for r in rows),
            addressees=tuple(addressees),
            unreachable=tuple(unreachable),
        )


def _json_object(text: str) -> Mapping[str, object]:
    value = parse_json(text.encode())
    if not isinstance(value, Mapping):
        raise ValueError("the record is not a JSON object")
    return value


def _second(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC).replace(microsecond=0)


def _remind_after(row: DocumentRecipient) -> dt.datetime:
    """When the recipient may be told again: an hour after the last time they were."""
    return (row.reminded_at or row.sent_at) + REMIND_INTERVAL


def _recipient_state(
    row: DocumentRecipient,
    names: Mapping[tuple[str, int | None], str],
    acting: Mapping[int, list[Member]],
    now: dt.datetime,
    *,
    signed: bool,
) -> RecipientState:
    """One recipient as the secretary sees it (``names`` and ``acting`` from
    ``Distribution._names`` and ``_acting_people``)."""
    after = _remind_after(row) if row.acknowledged_at is None else None
    return RecipientState(
        id=row.id,
        organisation_id=row.organisation_id,
        member_id=row.member_id,
        name=names[("org", row.organisation_id)]
        if row.organisation_id is not None
        else names[("member", row.member_id)],
        acting=tuple(m.short_name for m in acting.get(row.organisation_id or 0, [])),
        sent_at=row.sent_at,
        sent_by=row.sent_by,
        reminders=row.reminders,
        reminded_at=row.reminded_at,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        acknowledged_by_name=names.get(("member", row.acknowledged_by), ""),
        remind_after=after,
        can_remind=after is not None and after <= now and signed,
    )


def _acknowledged(row: DocumentRecipient, *, first: bool) -> Acknowledged:
    assert row.acknowledged_at is not None
    assert row.acknowledged_by is not None
    return Acknowledged(
        document_id=row.document_id,
        recipient_id=row.id,
        organisation_id=row.organisation_id,
        member_id=row.member_id,
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        statement=row.statement or "",
        first=first,
    )


def statement_json(row: Acknowledged) -> dict[str, Any]:
    """The stored envelope as a JSON object (for the API's answer)."""
    value = json.loads(row.statement) if row.statement else {}
    assert isinstance(value, dict)
    return value


def _refuse_unknown(unknown: set[int], field: str, what: str) -> None:
    """Refuse recipients that are not in the union (the first 20 named)."""
    if unknown:
        listed = ", ".join(map(str, sorted(unknown)[:20]))
        raise InvalidInput(
            f"no such {what} in this union: {listed}",
            fields={field: f"no such {what.split()[-1]}: {listed}"},
            code="unknown_recipient",
        )
