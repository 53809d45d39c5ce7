"""encryption at rest: record keys, sealed titles, contents, notes, notifications, outbox bodies

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29 05:40:00

Rows written before this revision are sealed here, with the master key that ``db.migrate``
passes in ``config.attributes["keyring"]`` (``dmptui host init`` and the other host commands
do). Without a key, a database that holds such rows is refused with a clear message; an empty
one needs none.
"""

import json
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import context, op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "record_keys",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("wrapped_key", sa.LargeBinary(), nullable=False),
        sa.Column("master_key_id", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("record_id"),
    )
    with op.batch_alter_table("record_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_record_keys_master_key_id"), ["master_key_id"], unique=False
        )
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("title_sealed", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("wrapped_key", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.add_column(sa.Column("message_sealed", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.add_column(sa.Column("body_sealed", sa.LargeBinary(), nullable=True))

    _seal_existing_rows(op.get_bind())

    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.alter_column("title_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.alter_column("wrapped_key", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("title")
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.alter_column("message_sealed", existing_type=sa.LargeBinary(), nullable=False)
        batch_op.drop_column("message")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_column("body")


def _seal_existing_rows(conn: sa.Connection) -> None:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from dmptui.host import crypto

    def count(sql: str) -> int:
        return conn.execute(sa.text(sql)).scalar() or 0

    pending = (
        count("SELECT count(*) FROM documents")
        + count("SELECT count(*) FROM notifications")
        + count("SELECT count(*) FROM records WHERE notes IS NOT NULL")
        + count("SELECT count(*) FROM outbox WHERE sent_at IS NULL")
    )
    if not pending:  # sent messages are simply dropped with the plaintext column
        return
    keyring = context.config.attributes.get("keyring")
    if keyring is None:
        raise RuntimeError(
            "This database holds documents, notes or messages written before encryption at rest: "
            "migrate it with its master key (`dmptui host init` creates or reads it)."
        )
    now = datetime.now(UTC).replace(tzinfo=None)
    ciphers: dict[int, AESGCM] = {}

    def record(rid: int) -> AESGCM:
        if rid not in ciphers:
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

    docs = conn.execute(sa.text("SELECT id, record_id, title FROM documents")).all()
    for doc_id, rid, title in docs:
        key = crypto.new_data_key()
        cipher = AESGCM(key)
        data = conn.execute(
            sa.text("SELECT data FROM document_bodies WHERE document_id = :d"), {"d": doc_id}
        ).scalar()
        conn.execute(
            sa.text("UPDATE documents SET title_sealed = :t, wrapped_key = :w WHERE id = :d"),
            {
                "t": crypto.seal_title(cipher, rid, doc_id, title),
                "w": crypto.Keyring.wrap_document_key(record(rid), rid, doc_id, key),
                "d": doc_id,
            },
        )
        if data is not None:
            conn.execute(
                sa.text("UPDATE document_bodies SET data = :x WHERE document_id = :d"),
                {"x": crypto.seal_content(cipher, rid, doc_id, bytes(data)), "d": doc_id},
            )
    for rid, notes in conn.execute(
        sa.text("SELECT id, notes FROM records WHERE notes IS NOT NULL")
    ).all():
        sealed = crypto.seal(record(rid), bytes(notes), crypto.aad("notes", rid))
        conn.execute(
            sa.text("UPDATE records SET notes = :n WHERE id = :r"), {"n": sealed, "r": rid}
        )
    for nid, rid, message in conn.execute(
        sa.text("SELECT id, record_id, message FROM notifications")
    ).all():
        plain = (message if isinstance(message, str) else json.dumps(message)).encode("utf-8")
        sealed = crypto.seal(record(rid), plain, crypto.aad("notification", rid, nid))
        conn.execute(
            sa.text("UPDATE notifications SET message_sealed = :m WHERE id = :i"),
            {"m": sealed, "i": nid},
        )
    for mid, body in conn.execute(
        sa.text("SELECT id, body FROM outbox WHERE sent_at IS NULL")
    ).all():
        conn.execute(
            sa.text("UPDATE outbox SET body_sealed = :b WHERE id = :i"),
            {"b": keyring.seal_outbox(str(mid), body), "i": mid},
        )


def downgrade() -> None:
    raise NotImplementedError("encryption at rest cannot be undone by a migration")
