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
makes every patient's app say the host's key changed, unless the old key endorsed it (``rotate``,
``dmptui host rotate-ledger-key``; the keys' history is in ``ledger_keys``). The signed message
binds the record:
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
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import Connection, bindparam, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dmptui import merkle, settings
from dmptui.host import crypto
from dmptui.host.db import (
    LedgerKeyRow,
    Practitioner,
    Record,
    TraceEntry,
    TraceNode,
    reading,
    table,
)


@dataclass(frozen=True)
class Actor:
    role: str  # "patient" | "practitioner" | "support" | "system"
    name: str | None = None
    rpps: str | None = None
    profession: str | None = None
    facility: str | None = None

    @classmethod
    def of_practitioner(cls, p: Practitioner) -> Actor:
        return cls("practitioner", p.name, p.rpps, p.profession, p.facility)

    @classmethod
    def of_support(cls, agent: Any) -> Actor:
        """A person of the support desk (``SupportAgent``): the patient reads their name."""
        return cls("support", agent.name)

    @classmethod
    def of_patient(cls, r: Any) -> Actor:
        """``r``: the ``Record``, or a row with its ``display_name``."""
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
    free_reason: str | None = None,
    document_id: str | None = None,
    mode: str = "normal",
    size_seen: int | None = None,
) -> int:
    """Append one entry; returns its sequence number in the record's trace.

    ``reason``: the host's reason code (a refusal's), stored in clear. ``free_reason``: a
    practitioner's own words (a break-glass reason), shown to the patient like a reason but
    stored sealed under the record key (``crypto.seal_reason``); the leaf hash covers the words.

    ``size_seen``: the record's trace size as this transaction read it before (the patient's
    session check reads it). On PostgreSQL the counter update and the entry then go in one
    statement, on condition that the size is still that one under the row's lock: one round
    trip fewer. If another entry came in between, that statement writes nothing and the append
    goes the usual way."""
    conn = s.connection()  # plain Core on the session's connection: no ORM work per entry

    def entry(seq: int) -> dict[str, Any]:
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
            "reason": free_reason or ((reason or None) if reason != "ok" else None),
        }
        values["leaf_hash"] = merkle.entry_hash(values)  # the entry as the patient sees it
        values["reason_sealed"] = None
        if free_reason:
            values["reason"] = None
            values["reason_sealed"] = crypto.seal_reason(s, record_id, seq, free_reason, now)
        return values

    if size_seen is not None and conn.dialect.name == "postgresql":
        values = entry(size_seen + 1)
        if conn.execute(_APPEND_IF_SIZE, {**values, "size_seen": size_seen}).first() is not None:
            _complete_subtrees(conn, record_id, values["seq"], values["leaf_hash"])
            return values["seq"]
    # The counter update takes the row's write lock first, so concurrent appends get distinct,
    # gap-free sequence numbers on SQLite and PostgreSQL alike.
    seq = conn.execute(_NEXT_SEQ, {"rid": record_id}).scalar_one()
    values = entry(seq)
    conn.execute(_INSERT_ENTRY, values)
    _complete_subtrees(conn, record_id, seq, values["leaf_hash"])
    return seq


# --- the Merkle tree -----------------------------------------------------------------------

ENTRIES = table(TraceEntry)
NODES = table(TraceNode)
_RECORDS = table(Record)
# The append's statements, built once (every request appends: no statement construction and
# cache-key generation per entry).
_NEXT_SEQ = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("rid"))
    .values(trace_size=_RECORDS.c.trace_size + 1)
    .returning(_RECORDS.c.trace_size)
)
_INSERT_ENTRY = insert(ENTRIES)
# PostgreSQL: the counter moves from the size the transaction saw, and the entry is written from
# the updated row, in one statement; no row (another append came first) writes nothing.
_ENTRY_COLUMNS = [c.name for c in ENTRIES.columns if c.name != "id"]
_SIZE_MOVED = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("record_id"))
    .where(_RECORDS.c.trace_size == bindparam("size_seen"))
    .values(trace_size=_RECORDS.c.trace_size + 1)
    .returning(_RECORDS.c.trace_size)
    .cte("size_moved")
)
_APPEND_IF_SIZE = (
    insert(ENTRIES)
    .from_select(
        _ENTRY_COLUMNS,
        select(
            *[
                _SIZE_MOVED.c.trace_size.label("seq")
                if name == "seq"
                else bindparam(name, type_=ENTRIES.c[name].type)
                for name in _ENTRY_COLUMNS
            ]
        ).select_from(_SIZE_MOVED),
    )
    .returning(ENTRIES.c.seq)
)
_INSERT_NODES = insert(NODES)


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
    conn.execute(_INSERT_NODES, rows)


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


def read_key_file(path: Path) -> LedgerKey:
    """The signing key in ``path``, refused if group or others may read it (as the master key
    is): whoever reads it can sign checkpoints in the host's name."""
    import stat

    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise LedgerKeyError(
            f"La clé de signature {path} est lisible par d'autres utilisateurs (mode {mode:o}). "
            f"Rendez-la privée avec : chmod 600 {path} / The signing key file {path} can be read "
            f"by other users (mode {mode:o}). Make it private with: chmod 600 {path}"
        )
    return _decode_key(path.read_text())


def create_key_file(data_dir: Path) -> bool:
    """Create ``<data_dir>/ledger.key`` (mode 0600) unless it exists. True if created."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    path = data_dir / KEY_FILE
    if path.exists():
        return False
    raw = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    try:
        crypto.write_key_file(path, raw)  # whole or not at all, 0600 from the first byte
    except FileExistsError:
        return False
    return True


_lock = threading.Lock()


def load_key(data_dir: Path) -> LedgerKey:
    """The ledger key from the environment, else from the data dir (created if missing)."""
    if env := settings.env_value("ledger_key"):
        return _decode_key(env)
    with _lock:
        create_key_file(data_dir)
        return read_key_file(data_dir / KEY_FILE)


# --- the keys' history and rotation ----------------------------------------------------------
#
# ``ledger_keys`` (``db.LedgerKeyRow``) lists every key the host signed with, oldest first; the
# newest signs. A worker keeps the key it loaded and, before each checkpoint, reads the newest
# row's id (one indexed row, on a read-only connection: no write lock). After ``rotate`` it
# re-reads the key file (or ``ledger.key.new``, if the rotation stopped before renaming it) and
# signs with the new key, no restart needed. A worker that cannot find the newest key (it comes
# from DMPTUI_LEDGER_KEY, which a running process cannot re-read) refuses to sign
# (``StaleLedgerKey``: the app says "could not be checked this time") rather than sign with a
# replaced key, which apps that moved on would report as a rollback; started that way, the host
# refuses to start.

KEYS = table(LedgerKeyRow)
NEW_KEY_FILE = KEY_FILE + ".new"


class LedgerKeyError(Exception):
    """The ledger key cannot be used or rotated; the message says what to do (FR / EN)."""


class StaleLedgerKey(LedgerKeyError):
    """This process holds a key the host has replaced (rotated), and cannot read the new one."""


def _candidates(data_dir: Path) -> list[LedgerKey]:
    """The keys this process can read now: the environment's, else the key file and a
    ``ledger.key.new`` left by an interrupted rotation."""
    if env := settings.env_value("ledger_key"):
        return [_decode_key(env)]
    out = []
    for name in (KEY_FILE, NEW_KEY_FILE):
        try:
            out.append(read_key_file(data_dir / name))
        except (FileNotFoundError, ValueError):
            continue
    return out


def _newest(conn: Connection) -> tuple[str, datetime] | None:
    row = conn.execute(
        select(KEYS.c.key_id, KEYS.c.created_at).order_by(KEYS.c.id.desc()).limit(1)
    ).first()
    return (row[0], row[1]) if row else None  # created_at: aware UTC (db.UTCDateTime)


def _register(host: Any, key: LedgerKey) -> None:
    """Add ``key`` as the newest key, without endorsement (the first key, or one that replaced
    a lost key: apps that pinned another key will say so). Several workers may race: the
    unique key id keeps one row."""
    values = {"key_id": key.key_id, "public_key": key.public_raw, "created_at": host.now()}
    try:
        with host.engine.begin() as conn:
            if conn.execute(select(KEYS.c.id).where(KEYS.c.key_id == key.key_id)).first():
                return
            conn.execute(insert(KEYS), values)
    except IntegrityError:
        pass  # another worker registered it first


def signing_key(host: Any, *, register: bool = True) -> LedgerKey:
    """The key that signs checkpoints now: the newest in ``ledger_keys``. The process's key if
    it is that one (one indexed read); else the new key read from the data dir. A key the
    history does not know is added to it, unendorsed. Raises ``StaleLedgerKey`` when this
    process can only read a key that was replaced."""
    key = host.ledger_key
    with reading(host.engine) as conn:
        newest = _newest(conn)
    if newest is not None and newest[0] == key.key_id:
        return key
    with _lock:
        for candidate in _candidates(host.data_dir):
            if newest is not None and candidate.key_id == newest[0]:
                host.__dict__["_ledger_key"] = candidate
                return candidate
        with reading(host.engine) as conn:
            known = conn.execute(select(KEYS.c.created_at).where(KEYS.c.key_id == key.key_id))
            replaced = known.first() is not None
        unknown = not replaced and (register or newest is None)
        if unknown:
            _register(host, key)
        elif not replaced and newest is not None:  # not unknown: the history has a newest key
            raise LedgerKeyError(
                f"La clé de {_where(host)} ({key.key_id}) n'a jamais signé pour cet hôte (la "
                f"plus récente est {newest[0]}) : est-ce le bon dossier de données ? / The key "
                f"in {_where(host)} ({key.key_id}) never signed for this host (the newest is "
                f"{newest[0]}): is this the host's data dir?"
            )
    if unknown:  # now registered (outside the lock: the call takes it again if it must)
        return signing_key(host, register=False)
    assert newest is not None
    where = _where(host)
    raise StaleLedgerKey(
        f"La clé de signature de la trace ({where}, {key.key_id}) a été remplacée par "
        f"{newest[0]} le {newest[1]:%Y-%m-%d %H:%M} UTC : donnez la nouvelle clé à l'hôte et "
        f"redémarrez-le. / The trace signing key ({where}, {key.key_id}) was replaced by "
        f"{newest[0]} on {newest[1]:%Y-%m-%d %H:%M} UTC: give the host the new key and "
        "restart it."
    )


def _where(host: Any) -> str:
    return KEY_ENV if settings.env_value("ledger_key") else str(host.data_dir / KEY_FILE)


@dataclass(frozen=True)
class Link:
    """One endorsement: ``previous`` vouches for ``key`` (``merkle.key_endorsement_message``)."""

    previous_key_id: str
    previous_public: bytes
    key_id: str
    public: bytes
    signed_at: datetime
    signature: bytes


def history(host: Any) -> tuple[tuple[str, bytes], list[Link]]:
    """(the newest key's id and public key, every endorsement oldest first), from the
    database: what every worker publishes, whichever key it holds itself."""
    with reading(host.engine) as conn:
        rows = conn.execute(select(KEYS).order_by(KEYS.c.id)).mappings().all()
    if not rows:
        _register(host, host.ledger_key)
        return history(host)
    public = {r["key_id"]: bytes(r["public_key"]) for r in rows}
    links = [
        Link(
            r["previous_key_id"],
            public[r["previous_key_id"]],
            r["key_id"],
            bytes(r["public_key"]),
            r["created_at"],
            bytes(r["endorsement"]),
        )
        for r in rows
        if r["previous_key_id"] is not None and r["endorsement"] is not None
    ]
    return (rows[-1]["key_id"], bytes(rows[-1]["public_key"])), links


@dataclass(frozen=True)
class Rotation:
    old_key_id: str
    new_key_id: str
    at: datetime
    # Only when the key comes from DMPTUI_LEDGER_KEY: the new private key, for the operator to
    # set there (base64, like the variable). Otherwise it is in ``<data_dir>/ledger.key``.
    new_private: str | None = None


def _write_key(path: Path, raw: bytes) -> None:
    path.unlink(missing_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(base64.b64encode(raw).decode() + "\n")
        f.flush()
        os.fsync(f.fileno())


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def rotate(host: Any) -> Rotation:
    """A new signing key, endorsed by the current one, in the history; the new private key in
    ``<data_dir>/ledger.key`` (written as ``ledger.key.new`` first, renamed once the history
    is committed: stopped half-way, the workers still find the key the history names, and the
    command can be run again). With DMPTUI_LEDGER_KEY, the new private key is returned for the
    operator to set (until then the host processes refuse to sign)."""
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    env = settings.env_value("ledger_key") is not None
    fresh = host.data_dir / NEW_KEY_FILE
    path = host.data_dir / KEY_FILE
    if not env and not path.exists():
        raise LedgerKeyError(
            f"Pas de clé de signature dans {path} : est-ce le bon dossier de données "
            f"(DMPTUI_DATA_DIR) ? / No signing key in {path}: is this the host's data dir "
            "(DMPTUI_DATA_DIR)?"
        )
    old = signing_key(host, register=False)  # the newest key, or refused
    if not env and fresh.exists() and _decode_key(fresh.read_text()).key_id == old.key_id:
        os.replace(fresh, path)  # finish a rotation stopped before its rename
        _fsync_dir(path.parent)
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    new = LedgerKey(private)
    if not env:
        _write_key(fresh, raw)
        _fsync_dir(fresh.parent)
    at = host.now()
    signature = old.sign(merkle.key_endorsement_message(old.public_raw, new.public_raw, at))
    try:
        with host.engine.begin() as conn:
            conn.execute(
                insert(KEYS),
                {
                    "key_id": new.key_id,
                    "public_key": new.public_raw,
                    "created_at": at,
                    "previous_key_id": old.key_id,
                    "endorsement": signature,
                },
            )
    except IntegrityError as e:
        if not env:
            fresh.unlink(missing_ok=True)
        raise LedgerKeyError(
            f"La clé {old.key_id} a déjà été remplacée (une autre rotation en même temps ?) ; "
            f"relancez la commande. / Key {old.key_id} was already replaced (another rotation "
            "at the same time?); run the command again."
        ) from e
    if env:
        return Rotation(old.key_id, new.key_id, at, base64.b64encode(raw).decode())
    os.replace(fresh, path)
    _fsync_dir(path.parent)
    host.__dict__["_ledger_key"] = new
    return Rotation(old.key_id, new.key_id, at)
