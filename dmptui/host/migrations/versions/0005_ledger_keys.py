"""the trace signing keys' history: public keys and the endorsements that chain them

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:00:00

Empty at first: the host adds the key it signs with when it starts (``ledger.signing_key``).
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ledger_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key_id", sa.String(length=16), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("previous_key_id", sa.String(length=16), nullable=True),
        sa.Column("endorsement", sa.LargeBinary(length=64), nullable=True),
        sa.ForeignKeyConstraint(["previous_key_id"], ["ledger_keys.key_id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key_id"),
        sa.UniqueConstraint("previous_key_id"),
    )


def downgrade() -> None:
    op.drop_table("ledger_keys")
