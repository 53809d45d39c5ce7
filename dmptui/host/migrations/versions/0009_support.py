"""the support desk's agents

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 12:45:00

``support_agents``: one row per person of the support desk (``dmptui host support add``), a
name (shown to the patient in the trace) and the SHA-256 digest of the credential they send in
``X-Support-Credential`` (the credential itself is printed once and never stored).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "support_agents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("credential_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("credential_hash"),
    )


def downgrade() -> None:
    op.drop_table("support_agents")
