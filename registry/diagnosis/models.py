"""Tables of the self-diagnosis: stored methodology versions.

A methodology is stored whole as its documented JSON form (``content``), so a
published version is a single immutable value: the campaign that used it can always
be scored again exactly as it was.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from registry.orm import Base, utcnow

__all__ = ["MethodologyVersion"]


class MethodologyVersion(Base):
    """One version of an organisation's methodology; ``published_at`` set = frozen."""

    __tablename__ = "diagnosis_methodology"
    __table_args__ = (
        UniqueConstraint("organisation_id", "code", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(
        ForeignKey("organisation.id", ondelete="RESTRICT"), index=True
    )
    code: Mapped[str] = mapped_column(String(32))
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(2000))
    # The methodology's JSON form (registry.diagnosis.methodology.FORMAT).
    content: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200), default="")
    published_at: Mapped[dt.datetime | None] = mapped_column(default=None)
