"""Ballots: votes with their signed definitions, the append-only bulletin board, the
link of a vote to its meeting and agenda item, and notices about votes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24 18:45:06.349416
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.dbtriggers import append_only, drop_append_only

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vote",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("meeting", "absentee", "survey", name="votekind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column(
            "state",
            sa.Enum("open", "closed", name="votestate", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=True),
        sa.Column("audience_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.String(length=1000), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("fingerprint", sa.String(length=71), nullable=False),
        sa.Column("roll_size", sa.Integer(), nullable=False),
        sa.Column("opens_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("board_length", sa.Integer(), nullable=False),
        sa.Column("board_head", sa.String(length=71), nullable=False),
        sa.Column("board_time", sa.DateTime(timezone=True), nullable=True),
        sa.Column("checkpoint", sa.Text(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("revocations", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["audience_id"],
            ["organisation.id"],
            name=op.f("fk_vote_audience_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["body_id"], ["body.id"], name=op.f("fk_vote_body_id_body"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_vote_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vote")),
    )
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vote_body_id"), ["body_id"], unique=False)
        batch_op.create_index("ix_vote_state_closes_at", ["state", "closes_at"], unique=False)

    op.create_table(
        "board_entry",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("choice", sa.String(length=400), nullable=False),
        sa.Column("entry", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=71), nullable=False),
        sa.Column("ballot_digest", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_board_entry_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["vote.id"], name=op.f("fk_board_entry_vote_id_vote"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("vote_id", "seq", name=op.f("pk_board_entry")),
        sa.UniqueConstraint(
            "vote_id", "ballot_digest", name=op.f("uq_board_entry_vote_id_ballot_digest")
        ),
    )
    with op.batch_alter_table("board_entry", schema=None) as batch_op:
        batch_op.create_index("ix_board_entry_vote_member", ["vote_id", "member_id"], unique=False)

    op.create_table(
        "meeting_vote",
        sa.Column("vote_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agenda_item.id"],
            name=op.f("fk_meeting_vote_item_id_agenda_item"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_meeting_vote_meeting_id_meeting"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["vote.id"], name=op.f("fk_meeting_vote_vote_id_vote"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("vote_id", name=op.f("pk_meeting_vote")),
    )
    with op.batch_alter_table("meeting_vote", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_meeting_vote_meeting_id"), ["meeting_id"], unique=False
        )

    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.add_column(sa.Column("vote_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_notice_vote_id_vote"), "vote", ["vote_id"], ["id"], ondelete="CASCADE"
        )

    for statement in append_only(op.get_bind().dialect.name, "board_entry"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only(op.get_bind().dialect.name, "board_entry"):
        op.execute(statement)
    with op.batch_alter_table("notice", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_notice_vote_id_vote"), type_="foreignkey")
        batch_op.drop_column("vote_id")

    with op.batch_alter_table("meeting_vote", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_meeting_vote_meeting_id"))

    op.drop_table("meeting_vote")
    with op.batch_alter_table("board_entry", schema=None) as batch_op:
        batch_op.drop_index("ix_board_entry_vote_member")

    op.drop_table("board_entry")
    with op.batch_alter_table("vote", schema=None) as batch_op:
        batch_op.drop_index("ix_vote_state_closes_at")
        batch_op.drop_index(batch_op.f("ix_vote_body_id"))

    op.drop_table("vote")
