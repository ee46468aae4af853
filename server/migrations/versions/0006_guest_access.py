"""Guests' personal room links: the SHA-256 of the link's token and when it was issued.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 10:12:03.518240
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("guest", schema=None) as batch_op:
        batch_op.add_column(sa.Column("access_hash", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("link_issued_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint(batch_op.f("uq_guest_access_hash"), ["access_hash"])


def downgrade() -> None:
    with op.batch_alter_table("guest", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_guest_access_hash"), type_="unique")
        batch_op.drop_column("link_issued_at")
        batch_op.drop_column("access_hash")
