"""Revocations placed on a vote's board: how many entries the board held when it first
took a certificate's revocation into account (version 2 checkpoints list them).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 18:05:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "board_revocation",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("after", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["vote_id"],
            ["vote.id"],
            name=op.f("fk_board_revocation_vote_id_vote"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("vote_id", "serial", name=op.f("pk_board_revocation")),
    )


def downgrade() -> None:
    op.drop_table("board_revocation")
