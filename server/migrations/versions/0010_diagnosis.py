"""Self-diagnosis of digital maturity: stored methodology versions.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:35:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "diagnosis_methodology",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title", sa.String(length=2000), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("version >= 1", name=op.f("ck_diagnosis_methodology_version_positive")),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_diagnosis_methodology_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_diagnosis_methodology")),
        sa.UniqueConstraint(
            "organisation_id",
            "code",
            "version",
            name=op.f("uq_diagnosis_methodology_organisation_id_code_version"),
        ),
    )
    with op.batch_alter_table("diagnosis_methodology", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_diagnosis_methodology_organisation_id"),
            ["organisation_id"],
            unique=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("diagnosis_methodology", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_diagnosis_methodology_organisation_id"))
    op.drop_table("diagnosis_methodology")
