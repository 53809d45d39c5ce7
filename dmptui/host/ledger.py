"""The access trace: one append-only entry per read or change, allowed or denied, kept as a
Merkle log the patient's app can verify.

``append`` runs inside the caller's transaction, so the entry and the change it records commit
or roll back together. Entries hold who, when, what, which document id, which mode, the outcome:
never a title or content.

The log (RFC 9162 hashing, ``dmptui.merkle``): each entry stores its leaf hash (the hash of the
entry exactly as the patient's API shows it), and ``trace_nodes`` the hash of every complete
subtree, written as it completes (amortised one node per append, at most log2(n) reads and
writes for one append). The root at any size and the inclusion and consistency proofs are
then made from O(log n) stored hashes, never by reading the whole trace.

Checkpoints are signed with the host's Ed25519 ledger key: ``<data_dir>/ledger.key`` (mode
0600, base64 of the 32-byte private key) or the environment variable ``DMPTUI_LEDGER_KEY``
(same encoding). ``dmptui host init`` creates the file; a host that starts without one creates
it then (tests and a first ``serve``), so the key must be backed up with the data dir: a new key
makes every patient's app say the host's key changed. The signed message binds the record:
``dmptui-trace-checkpoint/v1\n<INS>\n<size>\n<root hex>\n<signed_at ISO>``.

Reading a checkpoint or a proof is not a read of health data (hashes only): it is not traced,
so the checkpoint taken right after a trace page covers that page's own ``trace.read`` entry.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection, insert, text, update
from sqlalchemy.orm import Session

from dmptui import merkle
from dmptui.host.db import Practitioner, Record, TraceEntry, TraceNode


@dataclass(frozen=True)
class Actor:
    role: str  # "patient" | "practitioner" | "system"
    name: str | None = None
    rpps: str | None = None
    profession: str | None = None
    facility: str | None = None

    @classmethod
    def of_practitioner(cls, p: Practitioner) -> Actor:
        return cls("practitioner", p.name, p.rpps, p.profession, p.facility)

    @classmethod
    def of_patient(cls, r: Record) -> Actor:
        return cls("patient", r.display_name or None)


SYSTEM = Actor("system", "DMP")


def append(
    s: Session,
    record_id: int,
    actor: Actor,
    action: str,
    *,
    now: datetime,
    allowed: bool,
    reason: str | None = None,
    document_id: str | None = None,
    mode: str = "normal",
) -> int:
    """Append one entry; returns its sequence number in the record's trace."""
    # The counter update takes the row's write lock first, so concurrent appends get distinct,
    # gap-free sequence numbers on SQLite and PostgreSQL alike.
    conn = s.connection()  # plain Core on the session's connection: no ORM work per entry
    records = Record.__table__
    seq = conn.execute(
        update(records)
        .where(records.c.id == record_id)
        .values(trace_size=records.c.trace_size + 1)
        .returning(records.c.trace_size)
    ).scalar_one()
    values = {
        "record_id": record_id,
        "seq": seq,
        "at": now,
        "actor_role": actor.role,
        "actor_rpps": actor.rpps,
        "actor_name": actor.name,
        "actor_profession": actor.profession,
        "actor_facility": actor.facility,
        "action": action,
        "document_id": document_id,
        "mode": mode,
        "outcome": "allowed" if allowed else "denied",
        "reason": (reason or None) if reason != "ok" else None,
    }
    leaf = merkle.entry_hash(values)
    values["leaf_hash"] = leaf
    conn.execute(insert(TraceEntry.__table__), values)
    _complete_subtrees(conn, record_id, seq, leaf)
    return seq


# --- the Merkle tree -----------------------------------------------------------------------

ENTRIES = TraceEntry.__table__
NODES = TraceNode.__table__


class LedgerDamaged(Exception):
    """A hash the tree needs is not in the database (rows deleted behind the host's back)."""


def _complete_subtrees(conn: Connection, record_id: int, seq: int, leaf: bytes) -> None:
    """Write the subtrees that entry ``seq`` completes: as many as ``seq`` has trailing zero
    bits (none for odd ``seq``), each from its left sibling (read) and the one just made."""
    levels = (seq & -seq).bit_length() - 1
    if not levels:
        return
    wanted = [(level, (seq >> level) - 2) for level in range(levels)]
    have = node_hashes(conn, record_id, wanted)
    cur, rows = leaf, []
    for level in range(levels):
        cur = merkle.node_hash(have[(level, (seq >> level) - 2)], cur)
        idx = (seq >> (level + 1)) - 1
        rows.append({"record_id": record_id, "level": level + 1, "idx": idx, "hash": cur})
    conn.execute(insert(NODES), rows)


def node_hashes(
    conn: Connection, record_id: int, wanted: Iterable[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """The stored hashes of complete subtrees (level, idx), in one statement: the leaves from
    ``trace_entries``, the rest from ``trace_nodes``. Raises ``LedgerDamaged`` if one is
    missing."""
    wanted = set(wanted)
    if not wanted:
        return {}
    seqs = sorted(i + 1 for level, i in wanted if level == 0)
    nodes = sorted((level, i) for level, i in wanted if level)
    if conn.dialect.name == "postgresql":
        params: dict[str, object] = {
            "r": record_id,
            "seqs": seqs,
            "levels": [level for level, _ in nodes],
            "idxs": [i for _, i in nodes],
        }
        rows = conn.execute(_PG_NODES, params)
    else:
        params = {"r": record_id, "seqs": json.dumps(seqs), "nodes": json.dumps(nodes)}
        rows = conn.execute(_SQLITE_NODES, params)
    out = {(level, i): bytes(h) for level, i, h in rows}
    missing = wanted - out.keys()
    if missing:
        raise LedgerDamaged(f"{len(missing)} stored hash(es) missing")
    return out


# One statement of fixed text whatever the proof's shape, so the database prepares it once per
# connection (PostgreSQL re-planned a text that changed with the shape on every call): the
# wanted leaves and nodes travel as arrays (PostgreSQL) or JSON arrays (SQLite), and each is one
# probe of a primary-key index. SQLite: ``CROSS JOIN`` keeps the list as the outer loop (the
# planner would otherwise scan all the record's nodes).
_PG_NODES = text(
    "SELECT 0 AS level, seq - 1 AS idx, leaf_hash AS hash FROM trace_entries "
    "WHERE record_id = :r AND seq = ANY(CAST(:seqs AS INTEGER[])) "
    "UNION ALL "
    "SELECT n.level, n.idx, n.hash "
    "FROM unnest(CAST(:levels AS INTEGER[]), CAST(:idxs AS INTEGER[])) AS w(level, idx) "
    "JOIN trace_nodes AS n ON n.record_id = :r AND n.level = w.level AND n.idx = w.idx"
)
_SQLITE_NODES = text(
    "SELECT 0 AS level, seq - 1 AS idx, leaf_hash AS hash FROM trace_entries "
    "WHERE record_id = :r AND seq IN (SELECT value FROM json_each(:seqs)) "
    "UNION ALL "
    "SELECT n.level, n.idx, n.hash FROM json_each(:nodes) AS w "
    "CROSS JOIN trace_nodes AS n ON n.record_id = :r "
    "AND n.level = json_extract(w.value, '$[0]') AND n.idx = json_extract(w.value, '$[1]')"
)


def _ranges_hashes(conn: Connection, record_id: int, ranges: list[tuple[int, int]]) -> list[bytes]:
    pieces = [merkle.complete_subtrees(a, b) for a, b in ranges]
    have = node_hashes(conn, record_id, (p for ps in pieces for p in ps))
    return [merkle.fold([have[p] for p in ps]) for ps in pieces]


def root(conn: Connection, record_id: int, size: int) -> bytes:
    if size == 0:
        return merkle.EMPTY_ROOT
    return _ranges_hashes(conn, record_id, [(0, size)])[0]


def inclusion(
    conn: Connection, record_id: int, size: int, seqs: Iterable[int]
) -> list[tuple[int, bytes, list[bytes]]]:
    """(seq, leaf hash, path) for each entry of ``seqs`` in the tree of ``size`` entries, all
    from one batch of reads. An entry whose hashes are missing is left out."""
    seqs = sorted(set(seqs))
    plans = {seq: merkle.inclusion_ranges(seq - 1, size) for seq in seqs}
    wanted = {(0, seq - 1) for seq in seqs}
    for ranges in plans.values():
        for a, b in ranges:
            wanted.update(merkle.complete_subtrees(a, b))
    try:
        have = node_hashes(conn, record_id, wanted)
    except LedgerDamaged:
        have = _partial(conn, record_id, wanted)
    out = []
    for seq in seqs:
        try:
            leaf = have[(0, seq - 1)]
            path = [
                merkle.fold([have[p] for p in merkle.complete_subtrees(a, b)])
                for a, b in plans[seq]
            ]
        except KeyError:
            continue  # damaged: the app reports the entry as missing
        out.append((seq, leaf, path))
    return out


def _partial(
    conn: Connection, record_id: int, wanted: set[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    out = {}
    for key in wanted:
        try:
            out.update(node_hashes(conn, record_id, [key]))
        except LedgerDamaged:
            pass
    return out


def consistency(conn: Connection, record_id: int, first: int, second: int) -> list[bytes]:
    return _ranges_hashes(conn, record_id, merkle.consistency_ranges(first, second))


# --- the signing key -----------------------------------------------------------------------

KEY_FILE = "ledger.key"
KEY_ENV = "DMPTUI_LEDGER_KEY"
checkpoint_message = merkle.checkpoint_message


def key_id(public_raw: bytes) -> str:
    return hashlib.sha256(public_raw).hexdigest()[:16]


@dataclass(frozen=True)
class LedgerKey:
    private: Ed25519PrivateKey

    @property
    def public_raw(self) -> bytes:
        return self.private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)

    @property
    def key_id(self) -> str:
        return key_id(self.public_raw)

    def sign(self, message: bytes) -> bytes:
        return self.private.sign(message)


def _decode_key(text: str) -> LedgerKey:
    raw = base64.b64decode(text.strip(), validate=True)
    if len(raw) != 32:
        raise ValueError("the ledger key is not 32 bytes of base64")
    return LedgerKey(Ed25519PrivateKey.from_private_bytes(raw))


def create_key_file(data_dir: Path) -> bool:
    """Create ``<data_dir>/ledger.key`` (mode 0600) unless it exists. True if created."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / KEY_FILE
    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(raw).decode() + "\n")
    return True


_lock = threading.Lock()


def load_key(data_dir: Path) -> LedgerKey:
    """The ledger key from the environment, else from the data dir (created if missing)."""
    if env := os.environ.get(KEY_ENV):
        return _decode_key(env)
    with _lock:
        create_key_file(data_dir)
        return _decode_key((data_dir / KEY_FILE).read_text())
