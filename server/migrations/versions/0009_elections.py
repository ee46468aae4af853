"""Elections and secret questions: the election, its candidates, the counting commission
and its members (the election key, the secret vote and the count attach later).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 17:50:01.510996
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "election",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("body_id", sa.Integer(), nullable=False),
        sa.Column("meeting_id", sa.Integer(), nullable=True),
        sa.Column("item_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum("election", "question", name="electionkind", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("office", sa.String(length=500), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("seats", sa.Integer(), nullable=False),
        sa.Column(
            "form",
            sa.Enum(
                "one_of", "approve_each", "yes_no", name="ballotform", native_enum=False, length=32
            ),
            nullable=False,
        ),
        sa.Column("rule_base", sa.String(length=20), nullable=False),
        sa.Column("rule_numerator", sa.Integer(), nullable=False),
        sa.Column("rule_denominator", sa.Integer(), nullable=False),
        sa.Column("rule_strict", sa.Boolean(), nullable=False),
        sa.Column("closes_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "state",
            sa.Enum(
                "draft",
                "candidates_closed",
                "commission_constituted",
                "key_ready",
                "open",
                "closed",
                "counted",
                "approved",
                name="electionstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("created_by", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("candidates_closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("election_key", sa.Text(), nullable=True),
        sa.Column("key_ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("vote_id", sa.Integer(), nullable=True),
        sa.Column("result", sa.Text(), nullable=True),
        sa.Column("counted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("approval_vote_id", sa.Integer(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "(meeting_id IS NULL) = (item_id IS NULL)", name=op.f("ck_election_meeting_item")
        ),
        sa.CheckConstraint(
            "meeting_id IS NOT NULL OR closes_at IS NOT NULL",
            name=op.f("ck_election_absentee_deadline"),
        ),
        sa.CheckConstraint(
            "rule_numerator > 0 AND rule_denominator > 0 AND rule_numerator <= rule_denominator",
            name=op.f("ck_election_rule_fraction"),
        ),
        sa.CheckConstraint("seats >= 1 AND seats <= 100", name=op.f("ck_election_seats_range")),
        sa.ForeignKeyConstraint(
            ["approval_vote_id"],
            ["vote.id"],
            name=op.f("fk_election_approval_vote_id_vote"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["body_id"], ["body.id"], name=op.f("fk_election_body_id_body"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["item_id"],
            ["agenda_item.id"],
            name=op.f("fk_election_item_id_agenda_item"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["meeting_id"],
            ["meeting.id"],
            name=op.f("fk_election_meeting_id_meeting"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["vote.id"], name=op.f("fk_election_vote_id_vote"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_election")),
        sa.UniqueConstraint("vote_id", name=op.f("uq_election_vote_id")),
    )
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_election_body_id"), ["body_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_election_meeting_id"), ["meeting_id"], unique=False)

    op.create_table(
        "candidate",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("bio", sa.Text(), nullable=False),
        sa.Column("nominated_by", sa.String(length=300), nullable=False),
        sa.Column("at_meeting", sa.Boolean(), nullable=False),
        sa.Column("recorded_by", sa.String(length=300), nullable=False),
        sa.Column("nominated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("consent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("consent_recorded_by", sa.String(length=300), nullable=False),
        sa.Column("consent_note", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["election.id"],
            name=op.f("fk_candidate_election_id_election"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_candidate_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_candidate")),
        sa.UniqueConstraint(
            "election_id", "member_id", name=op.f("uq_candidate_election_id_member_id")
        ),
    )
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_candidate_election_id"), ["election_id"], unique=False)

    op.create_table(
        "commission",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("election_id", sa.Integer(), nullable=False),
        sa.Column(
            "state",
            sa.Enum(
                "proposed",
                "constituted",
                "rejected",
                name="commissionstate",
                native_enum=False,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "basis",
            sa.Enum("vote", "appointment", name="commissionbasis", native_enum=False, length=32),
            nullable=False,
        ),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("vote_id", sa.Integer(), nullable=True),
        sa.Column("proposed_by", sa.String(length=300), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("appointed_by", sa.String(length=300), nullable=False),
        sa.Column("appointed_by_member_id", sa.Integer(), nullable=True),
        sa.Column("constituted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("threshold >= 1", name=op.f("ck_commission_threshold_positive")),
        sa.ForeignKeyConstraint(
            ["appointed_by_member_id"],
            ["member.id"],
            name=op.f("fk_commission_appointed_by_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["election_id"],
            ["election.id"],
            name=op.f("fk_commission_election_id_election"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["vote_id"], ["vote.id"], name=op.f("fk_commission_vote_id_vote"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission")),
        sa.UniqueConstraint("vote_id", name=op.f("uq_commission_vote_id")),
    )
    with op.batch_alter_table("commission", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commission_election_id"), ["election_id"], unique=False
        )

    op.create_table(
        "commission_member",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commission_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["commission_id"],
            ["commission.id"],
            name=op.f("fk_commission_member_commission_id_commission"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_commission_member_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commission_member")),
        sa.UniqueConstraint(
            "commission_id", "member_id", name=op.f("uq_commission_member_commission_id_member_id")
        ),
        sa.UniqueConstraint(
            "commission_id", "position", name=op.f("uq_commission_member_commission_id_position")
        ),
    )
    with op.batch_alter_table("commission_member", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_commission_member_commission_id"), ["commission_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("commission_member", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commission_member_commission_id"))

    op.drop_table("commission_member")
    with op.batch_alter_table("commission", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_commission_election_id"))

    op.drop_table("commission")
    with op.batch_alter_table("candidate", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_candidate_election_id"))

    op.drop_table("candidate")
    with op.batch_alter_table("election", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_election_meeting_id"))
        batch_op.drop_index(batch_op.f("ix_election_body_id"))

    op.drop_table("election")
