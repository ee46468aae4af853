"""Tables of secret votes: the vote of an election (its draft and final definitions,
its phase and its signed result), its bulletin board, and what key generation needs
off the board (the commission's transport keys and the dealers' share envelopes,
opaque to the server).

An election points at its secret vote (``election.vote_id``); the vote's ``id`` is the
``vote`` number its signed documents name (``docs/ballots.md``, "Secret votes").
"""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.orm import Base, enum_column, utcnow

__all__ = ["SecretEntry", "SecretPhase", "SecretShare", "SecretTransportKey", "SecretVote"]


class SecretPhase(enum.StrEnum):
    KEYGEN = "keygen"  # the draft is issued; the commission makes the key
    KEY_READY = "key_ready"  # the key is the board's; the chair may open
    OPEN = "open"  # the final definition is signed; ballots are taken
    CLOSED = "closed"  # no more ballots; partial decryptions are taken
    COUNTED = "counted"  # t partial decryptions combined; the result is signed


class SecretVote(Base):
    """The secret vote of one election (``Election.vote_id`` points here)."""

    __tablename__ = "secret_vote"

    id: Mapped[int] = mapped_column(primary_key=True)
    phase: Mapped[SecretPhase] = mapped_column(enum_column(SecretPhase), default=SecretPhase.KEYGEN)
    # The signed draft definition (key "" and dealers []), issued when the commission
    # was constituted, and the final one, signed at the opening (envelopes, JSON).
    draft: Mapped[str] = mapped_column(Text)
    definition: Mapped[str | None] = mapped_column(Text, default=None)
    fingerprint: Mapped[str] = mapped_column(String(71), default="")
    context: Mapped[str] = mapped_column(String(43))
    threshold: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    opens_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    closes_at: Mapped[dt.datetime | None] = mapped_column(default=None, index=True)
    closed_at: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The chain head: appending takes this row's lock.
    length: Mapped[int] = mapped_column(Integer, default=0)
    head: Mapped[str] = mapped_column(String(71))
    board_time: Mapped[dt.datetime | None] = mapped_column(default=None)
    # The registry-signed kvorum.secret-vote-result (envelope, JSON), once counted.
    result: Mapped[str | None] = mapped_column(Text, default=None)


class SecretEntry(Base):
    """One entry of a secret vote's board (append-only: triggers refuse UPDATE and
    DELETE). ``entry`` is the canonical JSON whose content address is ``hash``; no
    column holds anything a ballot's ciphertexts do not already show."""

    __tablename__ = "secret_entry"
    __table_args__ = (UniqueConstraint("vote_id", "digest"),)

    vote_id: Mapped[int] = mapped_column(
        ForeignKey("secret_vote.id", ondelete="RESTRICT"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(20))
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"))
    serial: Mapped[int] = mapped_column(Integer)
    entry: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(71))
    # SHA-256 of the document's signature: the same document twice is a resend.
    digest: Mapped[str] = mapped_column(String(64))
    received_at: Mapped[dt.datetime]


class SecretTransportKey(Base):
    """A commission member's X25519 transport key, signed by their certified key
    (``kvorum.secret-transport-key``): dealers wrap that member's shares to it."""

    __tablename__ = "secret_transport_key"

    vote_id: Mapped[int] = mapped_column(
        ForeignKey("secret_vote.id", ondelete="RESTRICT"), primary_key=True
    )
    position: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    member_id: Mapped[int] = mapped_column(ForeignKey("member.id", ondelete="RESTRICT"))
    document: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class SecretShare(Base):
    """A dealer's share for one other member, wrapped to the recipient's transport key
    (``kvorum.secret-share``, docs/commission-keys.md §3): stored and handed over as
    received, never opened."""

    __tablename__ = "secret_share"

    vote_id: Mapped[int] = mapped_column(
        ForeignKey("secret_vote.id", ondelete="RESTRICT"), primary_key=True
    )
    dealer: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    recipient: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)
    received_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
