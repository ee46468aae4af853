"""Secret votes: the vote of an election with its draft and final definitions, its
append-only board, the commission's transport keys and the dealers' share envelopes;
an election's ``vote_id`` now names its secret vote.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 21:15:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.dbtriggers import append_only, drop_append_only

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "secret_vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "phase",
            sa.Enum(
                "keygen",
                "key_ready",
                "open",
                "closed",
                "counted",
                name="secretphase",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("draft", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=True),
        sa.Column("fingerprint", sa.String(length=71), nullable=False),
        sa.Column("context", sa.String(length=43), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("length", sa.Integer(), nullable=False),
        sa.Column("head", sa.String(length=71), nullable=False),
        sa.Column("board_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_secret_vote")),
    )
    with op.batch_alter_table("secret_vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_secret_vote_closes_at"), ["closes_at"], unique=False)

    op.create_table(
        "secret_entry",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=71), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_secret_entry_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"],
            ["secret_vote.id"],
            name=op.f("fk_secret_entry_vote_id_secret_vote"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("vote_id", "seq", name=op.f("pk_secret_entry")),
        sa.UniqueConstraint("vote_id", "digest", name=op.f("uq_secret_entry_vote_id_digest")),
    )
    for statement in append_only(op.get_bind().dialect.name, "secret_entry"):
        op.execute(statement)

    op.create_table(
        "secret_transport_key",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_secret_transport_key_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"],
            ["secret_vote.id"],
            name=op.f("fk_secret_transport_key_vote_id_secret_vote"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("vote_id", "position", name=op.f("pk_secret_transport_key")),
    )
    op.create_table(
        "secret_share",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("dealer", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("recipient", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["vote_id"],
            ["secret_vote.id"],
            name=op.f("fk_secret_share_vote_id_secret_vote"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("vote_id", "dealer", "recipient", name=op.f("pk_secret_share")),
    )
    # The election's vote is its secret vote (the open `vote` table never held it).
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.drop_constraint("fk_election_vote_id_vote", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_election_vote_id_secret_vote"),
            "secret_vote",
            ["vote_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.drop_constraint("fk_election_vote_id_secret_vote", type_="foreignkey")
        batch_op.create_foreign_key(
            batch_op.f("fk_election_vote_id_vote"), "vote", ["vote_id"], ["id"], ondelete="RESTRICT"
        )
    op.drop_table("secret_share")
    op.drop_table("secret_transport_key")
    for statement in drop_append_only(op.get_bind().dialect.name, "secret_entry"):
        op.execute(statement)
    op.drop_table("secret_entry")
    with op.batch_alter_table("secret_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_secret_vote_closes_at"))
    op.drop_table("secret_vote")
