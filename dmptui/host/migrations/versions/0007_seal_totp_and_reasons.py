"""seal the TOTP secrets and the break-glass reasons under the record keys

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 04:00:00

``records.totp_secret`` (the authenticator secret, in clear) becomes ``totp_secret_sealed``, and
a practitioner's break-glass reason moves from ``trace_entries.reason`` to ``reason_sealed``,
both sealed under the record's key (``crypto.seal_totp``, ``crypto.seal_reason``): a copy of the
database no longer gives the second factor nor the reasons, and erasing a record (its key
deleted) leaves them unreadable. The host's reason codes of refusals stay in clear in
``reason``. Existing rows are sealed here with the master key ``db.migrate`` passes in
``config.attributes["keyring"]``; a database that holds such rows is refused without it. The
leaf hashes of the trace do not change: they cover the entry as the patient sees it.
"""

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The entries whose reason is a practitioner's words (policy.py's codes are for refusals).
_COUNT_FREE = (
    "SELECT count(*) FROM trace_entries "
    "WHERE mode = 'break-glass' AND outcome = 'allowed' AND reason IS NOT NULL"
)
_SELECT_FREE = (
    "SELECT id, record_id, seq, reason FROM trace_entries "
    "WHERE mode = 'break-glass' AND outcome = 'allowed' AND reason IS NOT NULL"
)


def upgrade() -> None:
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("trace_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reason_sealed", sa.LargeBinary(), nullable=True))

    _seal_existing_rows(op.get_bind())

    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("totp_secret")


def _seal_existing_rows(conn: sa.Connection) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from dmptui.host import crypto

    def count(sql: str) -> int:
        return conn.execute(sa.text(sql)).scalar() or 0

    pending = count("SELECT count(*) FROM records WHERE totp_secret IS NOT NULL") + count(
        _COUNT_FREE
    )
    if not pending:
        return
    keyring = context.config.attributes.get("keyring")
    if keyring is None:
        raise RuntimeError(
            "This database holds TOTP secrets or break-glass reasons in clear: migrate it with "
            "its master key (`dmptui host init` reads it) so they are sealed."
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    ciphers: dict[int, AESGCM] = {}

    def record(rid: int) -> AESGCM:
        if rid in ciphers:
            return ciphers[rid]
        row = conn.execute(
            sa.text("SELECT wrapped_key, master_key_id FROM record_keys WHERE record_id = :r"),
            {"r": rid},
        ).first()
        if row is not None:
            key = keyring.unwrap_record_key(rid, bytes(row[0]), row[1])
        else:
            key = crypto.new_data_key()
            conn.execute(
                sa.text(
                    "INSERT INTO record_keys (record_id, wrapped_key, master_key_id, created_at) "
                    "VALUES (:r, :w, :m, :c)"
                ),
                {
                    "r": rid,
                    "w": keyring.wrap_record_key(rid, key),
                    "m": keyring.master.id,
                    "c": now,
                },
            )
        ciphers[rid] = AESGCM(key)
        return ciphers[rid]

    for rid, secret in conn.execute(
        sa.text("SELECT id, totp_secret FROM records WHERE totp_secret IS NOT NULL")
    ).all():
        sealed = crypto.seal(record(rid), secret.encode("ascii"), crypto.aad("totp", rid))
        conn.execute(
            sa.text("UPDATE records SET totp_secret_sealed = :t, totp_secret = NULL WHERE id = :r"),
            {"t": sealed, "r": rid},
        )
    for eid, rid, seq, reason in conn.execute(sa.text(_SELECT_FREE)).all():
        sealed = crypto.seal(
            record(rid), reason.encode("utf-8"), crypto.aad("trace-reason", rid, seq)
        )
        conn.execute(
            sa.text("UPDATE trace_entries SET reason_sealed = :s, reason = NULL WHERE id = :i"),
            {"s": sealed, "i": eid},
        )


def downgrade() -> None:
    """Back to the clear columns (with the master key: the sealed values are opened)."""
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.add_column(sa.Column("totp_secret", sa.String(length=64), nullable=True))
    conn = op.get_bind()
    totp = conn.execute(
        sa.text("SELECT id, totp_secret_sealed FROM records WHERE totp_secret_sealed IS NOT NULL")
    ).all()
    reasons = conn.execute(
        sa.text(
            "SELECT id, record_id, seq, reason_sealed FROM trace_entries "
            "WHERE reason_sealed IS NOT NULL"
        )
    ).all()
    if totp or reasons:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        from dmptui.host import crypto

        keyring = context.config.attributes.get("keyring")
        if keyring is None:
            raise RuntimeError("Opening the sealed TOTP secrets and reasons needs the master key.")

        def record(rid: int) -> AESGCM:
            wrapped, master_id = conn.execute(
                sa.text("SELECT wrapped_key, master_key_id FROM record_keys WHERE record_id = :r"),
                {"r": rid},
            ).one()
            return AESGCM(keyring.unwrap_record_key(rid, bytes(wrapped), master_id))

        for rid, sealed in totp:
            secret = crypto.open_sealed(record(rid), bytes(sealed), crypto.aad("totp", rid))
            conn.execute(
                sa.text("UPDATE records SET totp_secret = :t WHERE id = :r"),
                {"t": secret.decode(), "r": rid},
            )
        for eid, rid, seq, sealed in reasons:
            plain = crypto.open_sealed(
                record(rid), bytes(sealed), crypto.aad("trace-reason", rid, seq)
            )
            conn.execute(
                sa.text("UPDATE trace_entries SET reason = :t WHERE id = :i"),
                {"t": plain.decode("utf-8"), "i": eid},
            )
    with op.batch_alter_table("records", schema=None) as batch_op:
        batch_op.drop_column("totp_secret_sealed")
    with op.batch_alter_table("trace_entries", schema=None) as batch_op:
        batch_op.drop_column("reason_sealed")
