"""A counting commission's protocol: the document names the election it reports.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 21:00:00

"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.add_column(sa.Column("election_id", sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f("ix_document_election_id"), ["election_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_document_election_id_election"),
            "election",
            ["election_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("document", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_document_election_id_election"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_document_election_id"))
        batch_op.drop_column("election_id")
