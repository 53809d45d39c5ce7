"""the patient's devices and sessions: opaque ids, app, address and last seen

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 13:00:00

Sessions and remembered devices get what the patient's "devices and sessions" screen shows: an
opaque ``public_id`` (random; the API never gives a token's digest nor the device digest), the
app that logged in (its User-Agent), the address the host saw (the request's client address;
behind a trusted proxy, uvicorn's ``--proxy-headers`` / ``--forwarded-allow-ips`` make it the
forwarded one), and, for devices, when it was last seen. Existing rows get a fresh public id;
their app and address stay unknown until their next login or refresh.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _fill() -> None:
    conn = op.get_bind()
    for (sid,) in conn.execute(sa.text("SELECT id FROM sessions")).all():
        conn.execute(
            sa.text("UPDATE sessions SET public_id = :p WHERE id = :i"),
            {"p": secrets.token_urlsafe(12), "i": sid},
        )
    for rid, device in conn.execute(sa.text("SELECT record_id, device FROM known_devices")).all():
        conn.execute(
            sa.text("UPDATE known_devices SET public_id = :p WHERE record_id = :r AND device = :d"),
            {"p": secrets.token_urlsafe(12), "r": rid, "d": device},
        )


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("app", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=64), nullable=True))
    with op.batch_alter_table("known_devices", schema=None) as batch_op:
        batch_op.add_column(sa.Column("public_id", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("last_seen", sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column("app", sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column("address", sa.String(length=64), nullable=True))
    _fill()
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint("uq_sessions_public_id", ["public_id"])
    with op.batch_alter_table("known_devices", schema=None) as batch_op:
        batch_op.alter_column("public_id", existing_type=sa.String(length=32), nullable=False)
        batch_op.create_unique_constraint("uq_known_devices_public_id", ["public_id"])


def downgrade() -> None:
    with op.batch_alter_table("known_devices", schema=None) as batch_op:
        batch_op.drop_constraint("uq_known_devices_public_id", type_="unique")
        batch_op.drop_column("address")
        batch_op.drop_column("app")
        batch_op.drop_column("last_seen")
        batch_op.drop_column("public_id")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_constraint("uq_sessions_public_id", type_="unique")
        batch_op.drop_column("address")
        batch_op.drop_column("app")
        batch_op.drop_column("public_id")
