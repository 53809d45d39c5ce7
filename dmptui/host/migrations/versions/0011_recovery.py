"""recovery flows: the forgotten-password reset and the authenticator re-enrolment

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 13:00:00

One row per reset or re-enrolment started (``routes/recovery.py``), for any well-formed INS,
known or not: the codes awaited are kept as digests only, the factors proven so far, the tries.
Rows stay past their end for the per-INS limit on starts, then the maintenance purges them.
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "recovery_flows",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("ins", sa.String(length=15), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("code_channel", sa.String(length=10), nullable=True),
        sa.Column("code_hash", sa.String(length=64), nullable=True),
        sa.Column("code_expires_at", sa.DateTime(), nullable=True),
        sa.Column("proven", sa.String(length=40), nullable=False),
        sa.Column("codes_sent", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("recovery_flows", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_recovery_flows_ins"), ["ins"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_recovery_flows_created_at"), ["created_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("recovery_flows", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_recovery_flows_created_at"))
        batch_op.drop_index(batch_op.f("ix_recovery_flows_ins"))
    op.drop_table("recovery_flows")
