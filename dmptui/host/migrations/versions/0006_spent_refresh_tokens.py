"""refresh tokens already exchanged: a reused one ends its whole session

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-07 04:00:00

Each refresh rotates the session's refresh token; the one given up is kept here (its digest,
never the token) until the session could not live any more. Shown again, it ends the session:
whoever holds the newer token is logged out too (OAuth 2.0 Security BCP, refresh token rotation
with reuse detection).
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "spent_refresh_tokens",
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("spent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("spent_refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_spent_refresh_tokens_record_id"), ["record_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_spent_refresh_tokens_spent_at"), ["spent_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("spent_refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_spent_refresh_tokens_spent_at"))
        batch_op.drop_index(batch_op.f("ix_spent_refresh_tokens_record_id"))
    op.drop_table("spent_refresh_tokens")
