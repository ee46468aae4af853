"""Tables of votes: the vote with its fixed definition, and its bulletin board."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.orm import Base, enum_column, utcnow

__all__ = ["BoardEntry", "BoardRevocation", "Vote", "VoteKind", "VoteState"]


class VoteKind(enum.StrEnum):
    MEETING = "meeting"  # on an agenda item, in session
    ABSENTEE = "absentee"  # заочное голосование: the body's members, by a deadline
    SURVEY = "survey"  # опрос: an organisation's members, by a deadline


class VoteState(enum.StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class Vote(Base):
    """A vote: its signed definition (fixed when it opened), the head of its board,
    and, once closed, the signed checkpoint and result."""

    __tablename__ = "vote"
    __table_args__ = (Index("ix_vote_state_closes_at", "state", "closes_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[VoteKind] = mapped_column(enum_column(VoteKind))
    state: Mapped[VoteState] = mapped_column(enum_column(VoteState), default=VoteState.OPEN)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisation.id", ondelete="RESTRICT"))
    body_id: Mapped[int | None] = mapped_column(
        ForeignKey("body.id", ondelete="RESTRICT"), index=True
    )
    # A survey's audience: this organisation and those under it.
    audience_id: Mapped[int | None] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT")
    )
    title: Mapped[str] = mapped_column(String(1000))
    question: Mapped[str] = mapped_column(Text)
    # The signed definition envelope (JSON) and its fingerprint ("sha256:…").
    definition: Mapped[str] = mapped_column(Text, default="")
    fingerprint: Mapped[str] = mapped_column(String(71), default="")
    roll_size: Mapped[int] = mapped_column(Integer, default=0)
    opens_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    closes_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    created_by: Mapped[str] = mapped_column(String(300), default="")
    # The chain head: appending a ballot takes this row's lock.
    board_length: Mapped[int] = mapped_column(Integer, default=0)
    board_head: Mapped[str] = mapped_column(String(71), default="")
    board_time: Mapped[dt.datetime | None] = mapped_column(default=None)
    # Set at the close: the signed checkpoint, result and the revocation list used.
    checkpoint: Mapped[str | None] = mapped_column(Text, default=None)
    result: Mapped[str | None] = mapped_column(Text, default=None)
    revocations: Mapped[str | None] = mapped_column(Text, default=None)


class BoardEntry(Base):
    """One accepted ballot on a vote's hash chain (append-only: triggers refuse
    UPDATE and DELETE). ``entry`` holds the canonical JSON whose SHA-256 is ``hash``."""

    __tablename__ = "board_entry"
    __table_args__ = (
        UniqueConstraint("vote_id", "ballot_digest"),
        Index("ix_board_entry_vote_member", "vote_id", "member_id"),
    )

    vote_id: Mapped[int] = mapped_column(
        ForeignKey("vote.id", ondelete="RESTRICT"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"))
    serial: Mapped[int] = mapped_column(Integer)
    choice: Mapped[str] = mapped_column(String(400))  # JSON array of option numbers
    entry: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(71))
    # SHA-256 of the ballot's signature: the same ballot twice is a replay.
    ballot_digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]


class BoardRevocation(Base):
    """A certificate's revocation placed on a vote's board: ``after`` is the number of
    entries the board held when it first took the revocation into account (an append
    that read it, or the close). No ballot of that certificate follows it on the
    board; the version 2 checkpoint lists these places (docs/ballots.md)."""

    __tablename__ = "board_revocation"

    vote_id: Mapped[int] = mapped_column(
        ForeignKey("vote.id", ondelete="RESTRICT"), primary_key=True
    )
    serial: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    after: Mapped[int] = mapped_column(Integer)
