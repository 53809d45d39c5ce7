"""activation: a record opened by a practitioner is activated with a code sent by letter

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 13:00:00

``records.activated_at``: when the patient first enrolled the authenticator with the activation
code (``activation.py``); until then the password alone gives neither a session nor the TOTP
secret. ``activation_codes`` holds the codes, as digests. A record whose patient already logged
in with the second factor (``totp_enrolled``) counts as activated at its creation; one that
never did needs a code (a practitioner or the support desk issues it).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("activated_at", sa.DateTime(), nullable=True))
    op.execute(
        sa.text(
            "UPDATE records SET activated_at = created_at WHERE totp_enrolled = :yes"
        ).bindparams(yes=True)
    )
    op.create_table(
        "activation_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("code_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("used_at", sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_activation_codes_record_id"), ["record_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("activation_codes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_activation_codes_record_id"))
    op.drop_table("activation_codes")
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("activated_at")
