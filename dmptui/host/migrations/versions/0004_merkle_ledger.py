"""the access trace as a Merkle log: leaf hash per entry, complete-subtree hashes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-29 05:30:00

Existing entries get their leaf hash and the tree's nodes computed here, record by record.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    from dmptui import merkle

    op.create_table(
        "trace_nodes",
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("idx", sa.Integer(), nullable=False),
        sa.Column("hash", sa.LargeBinary(length=32), nullable=False),
        sa.ForeignKeyConstraint(["record_id"], ["records.id"]),
        sa.PrimaryKeyConstraint("record_id", "level", "idx"),
    )
    with op.batch_alter_table("trace_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("leaf_hash", sa.LargeBinary(length=32), nullable=True))

    conn = op.get_bind()
    entries = sa.table(
        "trace_entries",
        *(sa.column(name) for name in ("id", "record_id", *merkle.LEAF_FIELDS)),
        sa.column("leaf_hash", sa.LargeBinary),
    )
    nodes = sa.table(
        "trace_nodes",
        sa.column("record_id"),
        sa.column("level"),
        sa.column("idx"),
        sa.column("hash", sa.LargeBinary),
    )
    record_ids = [r for (r,) in conn.execute(sa.select(entries.c.record_id).distinct())]
    for rid in record_ids:
        rows = conn.execute(
            sa.select(entries).where(entries.c.record_id == rid).order_by(entries.c.seq)
        ).mappings()
        leaves = []
        for row in rows:
            values = dict(row)
            values["at"] = _aware(values["at"])
            h = merkle.entry_hash(values)
            leaves.append(h)
            conn.execute(sa.update(entries).where(entries.c.id == row["id"]).values(leaf_hash=h))
        batch = [
            {"record_id": rid, "level": level, "idx": idx, "hash": h}
            for level, idx, h in merkle.subtree_nodes(leaves)
        ]
        if batch:
            conn.execute(sa.insert(nodes), batch)

    with op.batch_alter_table("trace_entries", schema=None) as batch_op:
        batch_op.alter_column("leaf_hash", existing_type=sa.LargeBinary(length=32), nullable=False)


def _aware(at):
    from datetime import UTC, datetime

    if isinstance(at, str):
        at = datetime.fromisoformat(at)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


def downgrade() -> None:
    with op.batch_alter_table("trace_entries", schema=None) as batch_op:
        batch_op.drop_column("leaf_hash")
    op.drop_table("trace_nodes")
