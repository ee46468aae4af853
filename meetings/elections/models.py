"""Tables of elections: the election (or secret question), its candidates, and the
counting commission with its members."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

import ballots.secretmodels  # noqa: F401  (the table election.vote_id refers to)
from registry.orm import Base, enum_column, utcnow

__all__ = [
    "BallotForm",
    "Candidate",
    "Commission",
    "CommissionBasis",
    "CommissionMember",
    "CommissionState",
    "Election",
    "ElectionKind",
    "ElectionState",
]


class ElectionKind(enum.StrEnum):
    ELECTION = "election"  # выборы: candidates for an office or a body's seats
    QUESTION = "question"  # тайное голосование по вопросу (e.g. of confidence)


class BallotForm(enum.StrEnum):
    ONE_OF = "one_of"  # one mark among several candidates (one seat)
    APPROVE_EACH = "approve_each"  # «за» / «против» per candidate, at most `seats` «за»
    YES_NO = "yes_no"  # a question: «за» / «против» / «воздержался»


class ElectionState(enum.StrEnum):
    DRAFT = "draft"  # the office, the form, the rule; nominating candidates
    CANDIDATES_CLOSED = "candidates_closed"  # the ballot is fixed
    COMMISSION_CONSTITUTED = "commission_constituted"
    KEY_READY = "key_ready"  # the commission's election key is published
    OPEN = "open"  # the secret vote is open
    CLOSED = "closed"
    COUNTED = "counted"  # the commission has decrypted the tally
    APPROVED = "approved"  # the body approved the commission's protocol


class Election(Base):
    """An election (or secret question) of a body: at a meeting on an agenda item, or
    between meetings by absentee vote of the body's members by a deadline."""

    __tablename__ = "election"
    __table_args__ = (
        CheckConstraint("seats >= 1 AND seats <= 100", name="seats_range"),
        CheckConstraint(
            "rule_numerator > 0 AND rule_denominator > 0 AND rule_numerator <= rule_denominator",
            name="rule_fraction",
        ),
        CheckConstraint("(meeting_id IS NULL) = (item_id IS NULL)", name="meeting_item"),
        CheckConstraint(
            "meeting_id IS NOT NULL OR closes_at IS NOT NULL", name="absentee_deadline"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    body_id: Mapped[int] = mapped_column(ForeignKey("body.id", ondelete="RESTRICT"), index=True)
    meeting_id: Mapped[int | None] = mapped_column(
        ForeignKey("meeting.id", ondelete="RESTRICT"), index=True
    )
    item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_item.id", ondelete="RESTRICT"))
    kind: Mapped[ElectionKind] = mapped_column(enum_column(ElectionKind))
    # «председатель», «члены президиума», «делегаты конференции»; a question's wording.
    office: Mapped[str] = mapped_column(String(500))
    question: Mapped[str] = mapped_column(Text, default="")
    seats: Mapped[int] = mapped_column(Integer, default=1)
    form: Mapped[BallotForm] = mapped_column(enum_column(BallotForm))
    # The rule (ballots.election_rule.ElectionRule): «за» > numerator/denominator of the
    # base (strict) or ≥ it; base is took_part or composition.
    rule_base: Mapped[str] = mapped_column(String(20), default="took_part")
    rule_numerator: Mapped[int] = mapped_column(Integer, default=1)
    rule_denominator: Mapped[int] = mapped_column(Integer, default=2)
    rule_strict: Mapped[bool] = mapped_column(default=True)
    # An absentee election's deadline (between meetings).
    closes_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    state: Mapped[ElectionState] = mapped_column(
        enum_column(ElectionState), default=ElectionState.DRAFT
    )
    created_by: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    candidates_closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # --- what the later steps fill in -----------------------------------------------------
    # The election key the commission made (a signed document, JSON), when it is ready.
    election_key: Mapped[str | None] = mapped_column(Text, default=None)
    key_ready_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The secret vote (ballots.secretmodels.SecretVote), from the moment the commission
    # is constituted: its draft definition names the key generation.
    vote_id: Mapped[int | None] = mapped_column(
        ForeignKey("secret_vote.id", ondelete="RESTRICT"), unique=True, default=None
    )
    # The count (JSON: the tally and the rule's outcome) and the open vote approving the
    # commission's protocol.
    result: Mapped[str | None] = mapped_column(Text, default=None)
    counted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    approval_vote_id: Mapped[int | None] = mapped_column(
        ForeignKey("vote.id", ondelete="RESTRICT"), default=None
    )
    approved_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    candidates: Mapped[list[Candidate]] = relationship(
        order_by="Candidate.position", lazy="selectin", cascade="all, delete-orphan"
    )


class Candidate(Base):
    """A candidate: a member of the registry or a named person, who nominated them, and
    their consent as recorded (who recorded it, when)."""

    __tablename__ = "candidate"
    __table_args__ = (UniqueConstraint("election_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("election.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)  # the order on the ballot
    member_id: Mapped[int | None] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(300))
    bio: Mapped[str] = mapped_column(Text, default="")
    nominated_by: Mapped[str] = mapped_column(String(300))  # «самовыдвижение», a name, an org
    at_meeting: Mapped[bool] = mapped_column(default=False)  # nominated at the meeting
    recorded_by: Mapped[str] = mapped_column(String(300), default="")
    nominated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    consent_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    consent_recorded_by: Mapped[str] = mapped_column(String(300), default="")
    consent_note: Mapped[str] = mapped_column(String(500), default="")  # how it was given


class CommissionState(enum.StrEnum):
    PROPOSED = "proposed"  # a list proposed; the body votes on it
    CONSTITUTED = "constituted"  # elected (or appointed)
    REJECTED = "rejected"  # the body's vote did not adopt the list


class CommissionBasis(enum.StrEnum):
    VOTE = "vote"  # elected by an open vote of the body at the meeting
    APPOINTMENT = "appointment"  # appointed by the body's officers for an absentee vote


class Commission(Base):
    """A counting commission (счётная комиссия) of one election: 3–5 members, of whom
    ``threshold`` together can decrypt the count."""

    __tablename__ = "commission"
    __table_args__ = (CheckConstraint("threshold >= 1", name="threshold_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    election_id: Mapped[int] = mapped_column(
        ForeignKey("election.id", ondelete="CASCADE"), index=True
    )
    state: Mapped[CommissionState] = mapped_column(
        enum_column(CommissionState), default=CommissionState.PROPOSED
    )
    basis: Mapped[CommissionBasis] = mapped_column(enum_column(CommissionBasis))
    threshold: Mapped[int] = mapped_column(Integer)
    # The open vote «Об избрании счётной комиссии» (basis: vote).
    vote_id: Mapped[int | None] = mapped_column(
        ForeignKey("vote.id", ondelete="RESTRICT"), unique=True, default=None
    )
    proposed_by: Mapped[str] = mapped_column(String(300), default="")
    proposed_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    # Who appointed it (basis: appointment), and when it was constituted or rejected.
    appointed_by: Mapped[str] = mapped_column(String(300), default="")
    appointed_by_member_id: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT"), default=None
    )
    constituted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    rejected_at: Mapped[dt.datetime | None] = mapped_column(default=None)

    members: Mapped[list[CommissionMember]] = relationship(
        order_by="CommissionMember.position", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def size(self) -> int:
        return len(self.members)


class CommissionMember(Base):
    """A member of a counting commission; ``position`` (1…n) is also their index in the
    key generation (a trustee's share is the polynomial's value there)."""

    __tablename__ = "commission_member"
    __table_args__ = (
        UniqueConstraint("commission_id", "member_id"),
        UniqueConstraint("commission_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    commission_id: Mapped[int] = mapped_column(
        ForeignKey("commission.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(300))
