"""Documents: issued protocols, resolutions and extracts with their fixed PDFs and
signed records, the signatures of the secretary and the chair, the recipients and
their acknowledgements; and the «СЛУШАЛИ» summary of an agenda item.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-24 22:29:41.248106
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "document",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "protocol",
                "resolution",
                "extract",
                name="documentkind",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum(
                "signing", "signed", "withdrawn", name="documentstate", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("journal_year", sa.Integer(), nullable=False),
        sa.Column("journal_seq", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=40), nullable=False),
        sa.Column("title", sa.String(length=1000), nullable=False),
        sa.Column("record", sa.Text(), nullable=False),
        sa.Column("record_digest", sa.String(length=71), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("pdf_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_pdf", sa.LargeBinary(), nullable=True),
        sa.Column("finalised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finalised_by", sa.String(length=300), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agenda_item.id"],
            name=op.f("fk_document_item_id_agenda_item"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_document_meeting_id_meeting"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_document_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document")),
        sa.UniqueConstraint(
            "organisation_id",
            "journal_year",
            "journal_seq",
            name=op.f("uq_document_organisation_id_journal_year_journal_seq"),
        ),
    )
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.create_index(
            "ix_document_meeting_kind", ["meeting_id", "kind", "item_id"], unique=False
        )

    op.create_table(
        "document_recipient",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=True),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_by", sa.String(length=300), nullable=False),
        sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reminders", sa.Integer(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.Integer(), nullable=True),
        sa.Column("statement", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "(organisation_id IS NULL) <> (member_id IS NULL)",
            name=op.f("ck_document_recipient_one_recipient"),
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by"],
            ["member.id"],
            name=op.f("fk_document_recipient_acknowledged_by_member"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_document_recipient_document_id_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_document_recipient_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_document_recipient_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_document_recipient")),
        sa.UniqueConstraint(
            "document_id",
            "organisation_id",
            "member_id",
            name=op.f("uq_document_recipient_document_id_organisation_id_member_id"),
        ),
    )
    with op.batch_alter_table("document_recipient", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_document_recipient_document_id"), ["document_id"], unique=False
        )

    op.create_table(
        "document_signature",
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("envelope", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=71), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["document_id"],
            ["document.id"],
            name=op.f("fk_document_signature_document_id_document"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_document_signature_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("document_id", "position", name=op.f("pk_document_signature")),
    )
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.add_column(sa.Column("heard", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("agenda_item", schema=None) as batch_op:
        batch_op.drop_column("heard")

    op.drop_table("document_signature")
    with op.batch_alter_table("document_recipient", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_document_recipient_document_id"))

    op.drop_table("document_recipient")
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_index("ix_document_meeting_kind")

    op.drop_table("document")
