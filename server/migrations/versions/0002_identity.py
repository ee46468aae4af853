"""Identity: invitations, passkeys, challenges, one-time codes, authentication events,
issued credentials, device keys and revocation lists.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 16:03:18.266104
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from server.dbtriggers import append_only, drop_append_only

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revocation_list",
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_revocation_list_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("organisation_id", "number", name=op.f("pk_revocation_list")),
    )
    op.create_table(
        "issued_credential",
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("organisation_id", sa.Integer(), nullable=False),
        sa.Column("issuer", sa.String(length=64), nullable=False),
        sa.Column("issued_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=200), nullable=False),
        sa.Column("revoked_by", sa.String(length=300), nullable=False),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_issued_credential_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["organisation_id"],
            ["organisation.id"],
            name=op.f("fk_issued_credential_organisation_id_organisation"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_issued_credential")),
    )
    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_issued_credential_member_id"), ["member_id"], unique=False
        )

    op.create_table(
        "auth_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_auth_event_account_id_account"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_event")),
    )
    with op.batch_alter_table("auth_event", schema=None) as batch_op:
        batch_op.create_index(
            "ix_auth_event_kind_account_at", ["kind", "account_id", "at"], unique=False
        )
        batch_op.create_index(
            "ix_auth_event_kind_address_at", ["kind", "address", "at"], unique=False
        )

    op.create_table(
        "device_key",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("public_key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_device_key_account_id_account"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["member_id"],
            ["member.id"],
            name=op.f("fk_device_key_member_id_member"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["serial"],
            ["issued_credential.serial"],
            name=op.f("fk_device_key_serial_issued_credential"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_key")),
        sa.UniqueConstraint("public_key", name=op.f("uq_device_key_public_key")),
        sa.UniqueConstraint("serial", name=op.f("uq_device_key_serial")),
    )
    with op.batch_alter_table("device_key", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_device_key_member_id"), ["member_id"], unique=False)

    op.create_table(
        "invitation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("issued_by", sa.String(length=300), nullable=False),
        sa.Column("sent_to", sa.String(length=254), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_invitation_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invitation")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_invitation_token_hash")),
    )
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invitation_account_id"), ["account_id"], unique=False)

    op.create_table(
        "one_time_code",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_one_time_code_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_one_time_code")),
    )
    with op.batch_alter_table("one_time_code", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_one_time_code_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "passkey",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("credential_id", sa.LargeBinary(length=1024), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=2048), nullable=False),
        sa.Column("sign_count", sa.Integer(), nullable=False),
        sa.Column("transports", sa.String(length=200), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_passkey_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_passkey")),
        sa.UniqueConstraint("credential_id", name=op.f("uq_passkey_credential_id")),
    )
    with op.batch_alter_table("passkey", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_passkey_account_id"), ["account_id"], unique=False)

    op.create_table(
        "auth_challenge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("challenge", sa.LargeBinary(length=64), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["account.id"],
            name=op.f("fk_auth_challenge_account_id_account"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["session.id"],
            name=op.f("fk_auth_challenge_session_id_session"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_challenge")),
    )
    with op.batch_alter_table("auth_challenge", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_auth_challenge_account_id"), ["account_id"], unique=False
        )

    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.add_column(sa.Column("webauthn_user_id", sa.LargeBinary(length=64), nullable=True))
        batch_op.create_unique_constraint(
            batch_op.f("uq_account_webauthn_user_id"), ["webauthn_user_id"]
        )

    with op.batch_alter_table("session", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "auth_method", sa.String(length=16), nullable=False, server_default="invitation"
            )
        )
        batch_op.add_column(
            sa.Column("address", sa.String(length=64), nullable=False, server_default="")
        )
        batch_op.add_column(
            sa.Column("user_agent", sa.String(length=300), nullable=False, server_default="")
        )

    for statement in append_only(op.get_bind().dialect.name, "auth_event"):
        op.execute(statement)


def downgrade() -> None:
    for statement in drop_append_only(op.get_bind().dialect.name, "auth_event"):
        op.execute(statement)
    with op.batch_alter_table("session", schema=None) as batch_op:
        batch_op.drop_column("user_agent")
        batch_op.drop_column("address")
        batch_op.drop_column("auth_method")

    with op.batch_alter_table("account", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_account_webauthn_user_id"), type_="unique")
        batch_op.drop_column("webauthn_user_id")

    with op.batch_alter_table("auth_challenge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_auth_challenge_account_id"))

    op.drop_table("auth_challenge")
    with op.batch_alter_table("passkey", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_passkey_account_id"))

    op.drop_table("passkey")
    with op.batch_alter_table("one_time_code", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_one_time_code_account_id"))

    op.drop_table("one_time_code")
    with op.batch_alter_table("invitation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invitation_account_id"))

    op.drop_table("invitation")
    with op.batch_alter_table("device_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_device_key_member_id"))

    op.drop_table("device_key")
    with op.batch_alter_table("auth_event", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_event_kind_address_at")
        batch_op.drop_index("ix_auth_event_kind_account_at")

    op.drop_table("auth_event")
    with op.batch_alter_table("issued_credential", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_issued_credential_member_id"))

    op.drop_table("issued_credential")
    op.drop_table("revocation_list")
