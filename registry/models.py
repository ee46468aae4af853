"""Tables of the member registry: organisations, members, elected bodies and seats,
accounts with their roles, sessions and the personal-data access log."""

from __future__ import annotations

import datetime as dt
import enum

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
    "AccessLogEntry",
    "Account",
    "AccountRole",
    "AuthChallenge",
    "AuthEvent",
    "Body",
    "BodyKind",
    "DeviceKey",
    "Invitation",
    "IssuedCredential",
    "Member",
    "MemberStatus",
    "OneTimeCode",
    "OrgKind",
    "Organisation",
    "OrganisationAlias",
    "Passkey",
    "RevocationListRecord",
    "Role",
    "Seat",
    "SeatRole",
    "Session",
]


class OrgKind(enum.StrEnum):
    REGIONAL_COUNCIL = "regional_council"
    MEMBER_ORGANISATION = "member_organisation"
    PRIMARY = "primary"


class MemberStatus(enum.StrEnum):
    ACTIVE = "active"
    LEFT = "left"


class BodyKind(enum.StrEnum):
    COUNCIL = "council"
    PRESIDIUM = "presidium"
    AUDIT_COMMISSION = "audit_commission"
    YOUTH_COUNCIL = "youth_council"
    COUNTING_COMMISSION = "counting_commission"
    OTHER = "other"


class SeatRole(enum.StrEnum):
    CHAIR = "chair"
    DEPUTY_CHAIR = "deputy_chair"
    SECRETARY = "secretary"
    MEMBER = "member"


class Role(enum.StrEnum):
    """What an account may do in the application (not a seat in a body)."""

    REGISTRAR = "registrar"
    SECRETARY = "secretary"
    CHAIR = "chair"
    MEMBER = "member"
    AUDITOR = "auditor"


class Organisation(Base):
    """A node of the union tree: regional council → member organisation → primary."""

    __tablename__ = "organisation"

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    # The root of the tree this node belongs to (itself for a root); card numbers
    # are unique per root, and every subtree query starts from it.
    root_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[OrgKind] = mapped_column(enum_column(OrgKind))
    name: Mapped[str] = mapped_column(String(500))
    short_name: Mapped[str] = mapped_column(String(200), default="")
    city: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    parent: Mapped[Organisation | None] = relationship(
        remote_side="Organisation.id", foreign_keys=[parent_id]
    )


class OrganisationAlias(Base):
    """Another name an organisation goes by in member files («… РФ» for «… АПК»).

    The registrar maps an unmatched name of an import to an organisation once; later
    imports find the organisation by it. ``key`` is the name as ``name_key`` compares
    it, unique within a union's tree, so one name never points at two organisations.
    """

    __tablename__ = "organisation_alias"
    __table_args__ = (UniqueConstraint("root_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="CASCADE"), index=True
    )
    root_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(500))
    key: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Member(Base):
    """A union member: personal data protected by role checks and the access log."""

    __tablename__ = "member"
    __table_args__ = (
        UniqueConstraint("root_organisation_id", "card_number"),
        Index("ix_member_name", "surname", "name", "patronymic"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    root_organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT")
    )
    surname: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    patronymic: Mapped[str] = mapped_column(String(100), default="")
    card_number: Mapped[str] = mapped_column(String(40))
    position: Mapped[str] = mapped_column(String(300), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    status: Mapped[MemberStatus] = mapped_column(
        enum_column(MemberStatus), default=MemberStatus.ACTIVE
    )
    joined_on: Mapped[dt.date | None] = mapped_column(default=None)
    left_on: Mapped[dt.date | None] = mapped_column(default=None)
    # Lower-cased "surname name patronymic card" for case-insensitive search that
    # behaves the same for Cyrillic on SQLite (whose lower() is ASCII-only) and PostgreSQL.
    search_key: Mapped[str] = mapped_column(String(400), default="", index=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    organisation: Mapped[Organisation] = relationship(foreign_keys=[organisation_id])

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.name, self.patronymic) if p)

    @property
    def short_name(self) -> str:
        """ "Иванов М. Г." — the form signatures and protocols use."""
        initials = " ".join(f"{p[0]}." for p in (self.name, self.patronymic) if p)
        return f"{self.surname} {initials}".strip()


class Body(Base):
    """An elected body of an organisation, with its quorum rule."""

    __tablename__ = "body"
    __table_args__ = (
        CheckConstraint(
            "quorum_numerator > 0 AND quorum_denominator > 0 "
            "AND quorum_numerator <= quorum_denominator",
            name="quorum_fraction",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    kind: Mapped[BodyKind] = mapped_column(enum_column(BodyKind))
    name: Mapped[str] = mapped_column(String(300))
    # Quorum: present must be more than (strict) or at least (not strict)
    # numerator/denominator of the current composition. Default: more than half.
    quorum_numerator: Mapped[int] = mapped_column(Integer, default=1)
    quorum_denominator: Mapped[int] = mapped_column(Integer, default=2)
    quorum_strict: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    retired_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    organisation: Mapped[Organisation] = relationship()


class Seat(Base):
    """A member's place in a body for a term, with a role."""

    __tablename__ = "seat"
    __table_args__ = (
        CheckConstraint("term_end IS NULL OR term_end >= term_start", name="term_order"),
        Index("ix_seat_body_term", "body_id", "term_start"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id", ondelete="RESTRICT"))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"), index=True)
    role: Mapped[SeatRole] = mapped_column(enum_column(SeatRole), default=SeatRole.MEMBER)
    term_start: Mapped[dt.date]
    term_end: Mapped[dt.date | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    body: Mapped[Body] = relationship()
    member: Mapped[Member] = relationship()


class Account(Base):
    """Someone who can log in: usually a member, or a staff account without one."""

    __tablename__ = "account"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT"), unique=True
    )
    display_name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str] = mapped_column(String(254), default="")
    # The opaque WebAuthn user handle: random, so authenticators learn nothing.
    webauthn_user_id: Mapped[bytes | None] = mapped_column(LargeBinary(64), unique=True)
    disabled_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    member: Mapped[Member | None] = relationship()
    role_rows: Mapped[list[AccountRole]] = relationship(
        cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(r.role for r in self.role_rows)


class AccountRole(Base):
    __tablename__ = "account_role"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[Role] = mapped_column(enum_column(Role), primary_key=True)


class Session(Base):
    """A server-side login session; the cookie carries a random token, the table its hash."""

    __tablename__ = "session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    # How the session was opened: invitation, passkey or code. Enrolling a signing
    # key needs a passkey or invitation login of at most a few minutes ago.
    auth_method: Mapped[str] = mapped_column(String(16), default="invitation")
    address: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    account: Mapped[Account] = relationship(lazy="joined")


class Invitation(Base):
    """A single-use, expiring link that lets a member in to register a passkey.

    Only the SHA-256 of the link's token is stored: the link itself exists only in
    the e-mail (or on the registrar's screen when no mail server is configured).
    """

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    issued_by: Mapped[str] = mapped_column(String(300), default="")
    sent_to: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Passkey(Base):
    """A WebAuthn credential an account logs in with."""

    __tablename__ = "passkey"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    credential_id: Mapped[bytes] = mapped_column(LargeBinary(1024), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(2048))
    sign_count: Mapped[int] = mapped_column(Integer, default=0)
    transports: Mapped[str] = mapped_column(String(200), default="")
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class AuthChallenge(Base):
    """A random challenge handed out once for a WebAuthn ceremony or a key enrolment."""

    __tablename__ = "auth_challenge"

    id: Mapped[int] = mapped_column(primary_key=True)
    purpose: Mapped[str] = mapped_column(String(32))
    challenge: Mapped[bytes] = mapped_column(LargeBinary(64))
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    session_id: Mapped[int | None] = mapped_column(ForeignKey("session.id", ondelete="CASCADE"))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class OneTimeCode(Base):
    """A six-digit code sent by e-mail: the fallback for a device without a passkey."""

    __tablename__ = "one_time_code"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[dt.datetime]
    used_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)


class AuthEvent(Base):
    """Append-only record of authentication events (refused UPDATE/DELETE by triggers).

    Also the source of login rate limiting: failures are counted from here, so the
    limit holds across server processes sharing the database.
    """

    __tablename__ = "auth_event"
    __table_args__ = (
        Index("ix_auth_event_kind_account_at", "kind", "account_id", "at"),
        Index("ix_auth_event_kind_address_at", "kind", "address", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(40))
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="RESTRICT"))
    address: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")


class IssuedCredential(Base):
    """Everything the registry key has signed for a member, under one serial space:
    key certificates and union cards. The revocation list is made from this table."""

    __tablename__ = "issued_credential"

    serial: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    issuer: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[dt.datetime]
    expires_at: Mapped[dt.datetime]
    document: Mapped[str] = mapped_column(Text)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    revoked_reason: Mapped[str] = mapped_column(String(200), default="")
    revoked_by: Mapped[str] = mapped_column(String(300), default="")


class DeviceKey(Base):
    """A member's signing key on one device: the private half never left the browser."""

    __tablename__ = "device_key"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id", ondelete="RESTRICT"))
    serial: Mapped[int] = mapped_column(
        ForeignKey("issued_credential.serial", ondelete="RESTRICT"), unique=True
    )
    public_key: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)

    credential: Mapped[IssuedCredential] = relationship(lazy="joined")


class RevocationListRecord(Base):
    """Each signed revocation list issued, newest number last."""

    __tablename__ = "revocation_list"

    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), primary_key=True
    )
    number: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    issued_at: Mapped[dt.datetime]
    document: Mapped[str] = mapped_column(Text)


class AccessLogEntry(Base):
    """Append-only record of every read or change of a member's personal data.

    Database triggers (see the migration) refuse UPDATE and DELETE on this table.
    """

    __tablename__ = "access_log"
    __table_args__ = (Index("ix_access_log_member_at", "member_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(default=utcnow, index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("account.id", ondelete="RESTRICT"))
    actor: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(32))
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"))
    detail: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str] = mapped_column(String(64), default="")
