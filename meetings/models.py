"""Tables of meetings: the meeting, its agenda and materials, guests, presence, the floor
queue, and the meeting's event log (the live feed and the record for the protocol)."""

from __future__ import annotations

import datetime as dt
import enum
from zoneinfo import ZoneInfo

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from registry.orm import Base, enum_column, utcnow

__all__ = [
    "AgendaItem",
    "Document",
    "DocumentKind",
    "DocumentRecipient",
    "DocumentSignature",
    "DocumentState",
    "FloorRequest",
    "FloorState",
    "Guest",
    "Material",
    "Meeting",
    "MeetingEvent",
    "MeetingForm",
    "MeetingState",
    "Notice",
    "Presence",
]


class MeetingForm(enum.StrEnum):
    IN_PERSON = "in_person"
    ONLINE = "online"
    MIXED = "mixed"
    ABSENTEE = "absentee"  # заочное: votes between meetings, no session


class MeetingState(enum.StrEnum):
    DRAFT = "draft"
    ANNOUNCED = "announced"
    REGISTRATION = "registration"
    IN_SESSION = "in_session"
    CLOSED = "closed"


class FloorState(enum.StrEnum):
    WAITING = "waiting"
    SPEAKING = "speaking"
    DONE = "done"


class Meeting(Base):
    """A session of an elected body: "№ 7" of the presidium in 2023."""

    __tablename__ = "meeting"
    __table_args__ = (UniqueConstraint("body_id", "year", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id", ondelete="RESTRICT"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(500))
    starts_at: Mapped[dt.datetime]
    # The IANA zone the meeting is held in: its date (for the composition) and its
    # year (for the number) are those of the place, not of UTC.
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Yekaterinburg")
    place: Mapped[str] = mapped_column(String(500), default="")
    form: Mapped[MeetingForm] = mapped_column(enum_column(MeetingForm), default=MeetingForm.ONLINE)
    state: Mapped[MeetingState] = mapped_column(
        enum_column(MeetingState), default=MeetingState.DRAFT
    )
    chair_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT")
    )
    secretary_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT")
    )
    current_item_id: Mapped[int | None] = mapped_column(
        ForeignKey("agenda_item.id", ondelete="SET NULL", use_alter=True)
    )
    speaking_seconds: Mapped[int] = mapped_column(Integer, default=300)
    # The sequence number of the last event; appending an event takes this row's lock.
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    announced_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    registration_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    started_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    items: Mapped[list[AgendaItem]] = relationship(
        order_by="AgendaItem.position",
        foreign_keys="AgendaItem.meeting_id",
        back_populates="meeting",
        lazy="selectin",
    )

    @property
    def local_start(self) -> dt.datetime:
        return self.starts_at.astimezone(ZoneInfo(self.timezone))

    @property
    def code(self) -> str:
        """ "№ 7" — the number protocols and resolutions carry."""
        return f"№ {self.number}"


class AgendaItem(Base):
    __tablename__ = "agenda_item"
    __table_args__ = (
        CheckConstraint(
            "quorum_numerator IS NULL OR (quorum_numerator > 0 AND quorum_denominator > 0 "
            "AND quorum_numerator <= quorum_denominator)",
            name="quorum_fraction",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(1000))
    rapporteur: Mapped[str] = mapped_column(String(300), default="")
    draft_resolution: Mapped[str] = mapped_column(Text, default="")
    # A stricter rule for this item when the charter asks for one (e.g. two thirds).
    quorum_numerator: Mapped[int | None] = mapped_column(Integer, default=None)
    quorum_denominator: Mapped[int | None] = mapped_column(Integer, default=None)
    quorum_strict: Mapped[bool | None] = mapped_column(default=None)
    heard: Mapped[str] = mapped_column(Text, default="")  # «СЛУШАЛИ»: the report in brief
    speeches: Mapped[str] = mapped_column(Text, default="")  # «ВЫСТУПИЛИ»
    decision: Mapped[str] = mapped_column(Text, default="")  # «ПОСТАНОВИЛИ»

    meeting: Mapped[Meeting] = relationship(foreign_keys=[meeting_id], back_populates="items")
    materials: Mapped[list[Material]] = relationship(
        order_by="Material.id", cascade="all, delete-orphan", lazy="selectin"
    )


class Material(Base):
    """A file attached to an agenda item, stored by content address (sha256)."""

    __tablename__ = "material"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(
        ForeignKey("agenda_item.id", ondelete="CASCADE"), index=True
    )
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Guest(Base):
    """An invited non-member: may watch and speak when given the floor, never votes."""

    __tablename__ = "guest"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(300))
    affiliation: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    # The SHA-256 (hex) of the guest's personal room link; the link itself is shown once
    # and never stored, so a copy of the database lets no one in. A new link replaces it.
    access_hash: Mapped[str | None] = mapped_column(String(64), unique=True, default=None)
    link_issued_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Presence(Base):
    """Whether a member is at the meeting now: online (any open connection) or in person."""

    __tablename__ = "presence"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT"), primary_key=True
    )
    connections: Mapped[int] = mapped_column(Integer, default=0)
    online: Mapped[bool] = mapped_column(default=False)
    in_person: Mapped[bool] = mapped_column(default=False)
    since: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def present(self) -> bool:
        return self.online or self.in_person


class FloorRequest(Base):
    """A raised hand, and what became of it."""

    __tablename__ = "floor_request"
    __table_args__ = (Index("ix_floor_request_meeting_state", "meeting_id", "state"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"))
    guest_id: Mapped[int | None] = mapped_column(ForeignKey("guest.id", ondelete="CASCADE"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_item.id", ondelete="SET NULL"))
    state: Mapped[FloorState] = mapped_column(enum_column(FloorState), default=FloorState.WAITING)
    raised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    granted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    ends_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    finished_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Notice(Base):
    """An in-app notice to a member (a meeting announced, a vote to take part in)."""

    __tablename__ = "notice"
    __table_args__ = (Index("ix_notice_member_read", "member_id", "read_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="CASCADE"))
    meeting_id: Mapped[int | None] = mapped_column(ForeignKey("meeting.id", ondelete="CASCADE"))
    vote_id: Mapped[int | None] = mapped_column(ForeignKey("vote.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class MeetingEvent(Base):
    """The meeting's append-only event log (triggers refuse UPDATE and DELETE).

    It is both the live feed (clients resume after the last ``seq`` they saw) and the
    record the protocol is built from: arrivals, departures, quorum changes, the floor.
    """

    __tablename__ = "meeting_event"

    meeting_id: Mapped[int] = mapped_column(
        ForeignKey("meeting.id", ondelete="RESTRICT"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(300), default="")
    data: Mapped[str] = mapped_column(Text, default="{}")


class DocumentKind(enum.StrEnum):
    PROTOCOL = "protocol"  # протокол заседания
    RESOLUTION = "resolution"  # постановление по вопросу повестки
    EXTRACT = "extract"  # выписка из протокола по одному вопросу
    # протокол счётной комиссии о результатах тайного голосования (of one election)
    COMMISSION_PROTOCOL = "commission_protocol"


class DocumentState(enum.StrEnum):
    SIGNING = "signing"  # finalised: the PDF is fixed, the signatures are being collected
    SIGNED = "signed"  # both signatures are in and embedded: issued
    WITHDRAWN = "withdrawn"  # finalised by mistake and withdrawn before it was signed


class Document(Base):
    """An issued document: its fixed PDF, the signed record that names the PDF's hash,
    and its place in the organisation's journal (журнал регистрации документов)."""

    __tablename__ = "document"
    __table_args__ = (
        UniqueConstraint("organisation_id", "journal_year", "journal_seq"),
        Index("ix_document_meeting_kind", "meeting_id", "kind", "item_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meeting.id", ondelete="RESTRICT"))
    item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_item.id", ondelete="RESTRICT"))
    # The election a counting commission's protocol reports (that kind only).
    election_id: Mapped[int | None] = mapped_column(
        ForeignKey("election.id", ondelete="RESTRICT"), index=True, default=None
    )
    kind: Mapped[DocumentKind] = mapped_column(enum_column(DocumentKind))
    state: Mapped[DocumentState] = mapped_column(
        enum_column(DocumentState), default=DocumentState.SIGNING
    )
    # The journal's registration number: «12/2026» is the twelfth of that year.
    journal_year: Mapped[int] = mapped_column(Integer)
    journal_seq: Mapped[int] = mapped_column(Integer)
    number: Mapped[str] = mapped_column(String(40))  # «№ 7 – 2», as the document says
    title: Mapped[str] = mapped_column(String(1000))
    # The canonical record (JSON) the signers sign, and its digest ("sha256:…").
    record: Mapped[str] = mapped_column(Text)
    record_digest: Mapped[str] = mapped_column(String(71))
    pdf: Mapped[bytes] = mapped_column(LargeBinary)
    pdf_sha256: Mapped[str] = mapped_column(String(64))
    # The PDF with the signatures and certificates embedded, once both have signed.
    signed_pdf: Mapped[bytes | None] = mapped_column(LargeBinary, default=None)
    finalised_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    finalised_by: Mapped[str] = mapped_column(String(300), default="")
    signed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    withdrawn_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    @property
    def journal_number(self) -> str:
        return f"{self.journal_seq}/{self.journal_year}"


class DocumentSignature(Base):
    """One signature on a document's record: the secretary's first, then the chair's."""

    __tablename__ = "document_signature"

    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    role: Mapped[str] = mapped_column(String(20))  # secretary | chair | commission
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"))
    serial: Mapped[int] = mapped_column(Integer)
    envelope: Mapped[str] = mapped_column(Text)  # the signed envelope, JSON
    digest: Mapped[str] = mapped_column(String(71))
    signed_at: Mapped[dt.datetime]


class DocumentRecipient(Base):
    """Whom a signed document was sent to — a member organisation or a named member —
    and their signed acknowledgement («ознакомлен»)."""

    __tablename__ = "document_recipient"
    __table_args__ = (
        CheckConstraint("(organisation_id IS NULL) <> (member_id IS NULL)", name="one_recipient"),
        UniqueConstraint("document_id", "organisation_id", "member_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(
        ForeignKey("document.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT")
    )
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"))
    sent_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    sent_by: Mapped[str] = mapped_column(String(300), default="")
    reminded_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    reminders: Mapped[int] = mapped_column(Integer, default=0)
    acknowledged_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    acknowledged_by: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT")
    )
    statement: Mapped[str | None] = mapped_column(Text, default=None)  # signed envelope, JSON
