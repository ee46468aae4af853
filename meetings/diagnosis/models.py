"""Tables of self-diagnosis campaigns: the campaign, each organisation's questionnaire
in it, the evidence files attached, and the campaign's journal of decisions.

A campaign is run by an organisation (its owner) on one published, frozen version of
one of its methodologies, for chosen member organisations, until a deadline.
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.orm import Base, enum_column, utcnow

__all__ = [
    "Campaign",
    "CampaignEvent",
    "CampaignState",
    "Evidence",
    "Participant",
    "ParticipantState",
]


class CampaignState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class ParticipantState(enum.StrEnum):
    WAITING = "waiting"  # nothing saved yet
    DRAFT = "draft"  # answers saved, not submitted
    SUBMITTED = "submitted"  # signed and frozen
    RETURNED = "returned"  # sent back by the owner with a reason: editable again


class Campaign(Base):
    __tablename__ = "diagnosis_campaign"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    methodology_id: Mapped[int] = mapped_column(
        ForeignKey("diagnosis_methodology.id", ondelete="RESTRICT")
    )
    title: Mapped[str] = mapped_column(String(500))
    deadline: Mapped[dt.datetime]
    # The level an organisation should reach: below it, the draft resolution names it.
    target_level: Mapped[str] = mapped_column(String(32))
    state: Mapped[CampaignState] = mapped_column(
        enum_column(CampaignState), default=CampaignState.OPEN
    )
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(300), default="")
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)


class Participant(Base):
    """One organisation's questionnaire in a campaign."""

    __tablename__ = "diagnosis_participant"
    __table_args__ = (UniqueConstraint("campaign_id", "organisation_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("diagnosis_campaign.id", ondelete="CASCADE"), index=True
    )
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    state: Mapped[ParticipantState] = mapped_column(
        enum_column(ParticipantState), default=ParticipantState.WAITING
    )
    # Question code → answer, as JSON (the draft; frozen once submitted).
    answers: Mapped[str] = mapped_column(Text, default="{}")
    updated_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    updated_by: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT"), default=None
    )
    submitted_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    submitted_by: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT"), default=None
    )
    # The signed statement (kvorum.diagnosis-submission), canonical JSON.
    statement: Mapped[str] = mapped_column(Text, default="")
    returned_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    return_reason: Mapped[str] = mapped_column(Text, default="")
    # A campaign closed or past its deadline may be reopened for this organisation alone.
    extended_until: Mapped[dt.datetime | None] = mapped_column(default=None)
    reminded_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    reminders: Mapped[int] = mapped_column(Integer, default=0)


class Evidence(Base):
    """A file attached to a question of a questionnaire (kept as meeting materials are)."""

    __tablename__ = "diagnosis_evidence"

    id: Mapped[int] = mapped_column(primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("diagnosis_participant.id", ondelete="CASCADE"), index=True
    )
    question: Mapped[str] = mapped_column(String(32))
    filename: Mapped[str] = mapped_column(String(300))
    media_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(
        ForeignKey("member.id", ondelete="RESTRICT"), default=None
    )
    uploaded_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class CampaignEvent(Base):
    """What was decided about a campaign and why: launch, return, reminder, close, reopen."""

    __tablename__ = "diagnosis_event"
    __table_args__ = (Index("ix_diagnosis_event_campaign", "campaign_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(
        ForeignKey("diagnosis_campaign.id", ondelete="CASCADE")
    )
    organisation_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), default=None
    )
    kind: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(300), default="")
    at: Mapped[dt.datetime] = mapped_column(default=utcnow)
