"""versions of mutable resources (ETags) and idempotency keys

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 05:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_RECORD_VERSIONS = (
    "oppositions_version",
    "practitioners_version",
    "notes_version",
    "status_version",
)


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        for name in _RECORD_VERSIONS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default="1"))
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope", sa.String(length=40), nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),
    )
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_idempotency_keys_record_id"), ["record_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("idempotency_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_record_id"))
        batch_op.drop_index(batch_op.f("ix_idempotency_keys_expires_at"))
    op.drop_table("idempotency_keys")
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("version")
    with op.batch_alter_table("records", schema=None) as batch_op:
        for name in reversed(_RECORD_VERSIONS):
            batch_op.drop_column(name)
