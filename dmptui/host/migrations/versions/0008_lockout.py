"""login throttle: a counter per INS and scope (unknown devices, each known device, step-up)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-07 13:00:00

The fixed, renewable 15-minute lock per INS becomes a growing pause per counter
(policy.after_failure): the devices that never logged in to the record share one counter, each
known device has its own, and a logged-in patient's step-up its own. ``window_start`` becomes
``last_failure_at`` (failures are forgotten after a quiet day). The rows in force are kept, as
the shared counter of their INS, with their running lock.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "login_throttle_new",
        sa.Column("ins", sa.String(length=15), nullable=False),
        sa.Column("scope", sa.String(length=48), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("ins", "scope"),
    )
    op.execute(
        "INSERT INTO login_throttle_new (ins, scope, failures, last_failure_at, locked_until) "
        "SELECT ins, 'shared', failures, window_start, locked_until FROM login_throttle"
    )
    op.drop_table("login_throttle")
    op.rename_table("login_throttle_new", "login_throttle")
    _rename_primary_key("login_throttle_new_pkey", "login_throttle_pkey")


def downgrade() -> None:
    op.create_table(
        "login_throttle_old",
        sa.Column("ins", sa.String(length=15), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("locked_until", sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint("ins"),
    )
    op.execute(
        "INSERT INTO login_throttle_old (ins, failures, window_start, locked_until) "
        "SELECT ins, failures, last_failure_at, locked_until FROM login_throttle "
        "WHERE scope = 'shared'"
    )
    op.drop_table("login_throttle")
    op.rename_table("login_throttle_old", "login_throttle")
    _rename_primary_key("login_throttle_old_pkey", "login_throttle_pkey")


def _rename_primary_key(old: str, new: str) -> None:
    """PostgreSQL names the key after the table it was made with; give it the usual name."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE login_throttle RENAME CONSTRAINT {old} TO {new}")
