"""Database: SQLAlchemy 2 models, engine set-up, and the schema upgrade through Alembic.

SQLite by default (a file under the XDG data dir; WAL, synchronous=FULL, busy timeout, foreign
keys, secure_delete), any SQLAlchemy URL otherwise (PostgreSQL with psycopg in production).
"""

from __future__ import annotations

import logging
import os
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    exc,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

SQLITE_BUSY_MS = 10_000


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC, returns aware UTC, on every backend."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    pass


def new_public_id() -> str:
    """An opaque id to show for a session or a device: random, unrelated to any token."""
    import secrets

    return secrets.token_urlsafe(12)


def table(model: type[Base]) -> Table:
    """A mapped class's table, as a ``Table`` (``__table__`` is typed as any ``FromClause``)."""
    return Base.metadata.tables[model.__tablename__]


class Record(Base):
    """One patient's record and the patient's account (one INS, one record)."""

    __tablename__ = "records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ins: Mapped[str] = mapped_column(String(15), unique=True)
    status: Mapped[str] = mapped_column(String(10), default="active")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attending_rpps: Mapped[str | None] = mapped_column(
        ForeignKey("practitioners.rpps"), nullable=True
    )
    refuses_break_glass: Mapped[bool] = mapped_column(Boolean, default=False)
    refuses_regulation: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    notes_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    trace_size: Mapped[int] = mapped_column(Integer, default=0)
    # account
    display_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(32), nullable=True)
    password_hash: Mapped[str | None] = mapped_column(String(200), nullable=True)
    # The authenticator secret, sealed under the record key (crypto.seal_totp).
    totp_secret_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    totp_enrolled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)
    # When the patient first enrolled the authenticator with the activation code (activation.py).
    # None: not activated yet; the password alone opens no session and gives no secret.
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Version counters of the patient's mutable resources (the ETags of the API): bumped by
    # exactly one committed change each, checked against If-Match under the record's row lock.
    oppositions_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    practitioners_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    notes_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    status_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")


class Practitioner(Base):
    __tablename__ = "practitioners"
    rpps: Mapped[str] = mapped_column(String(11), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    profession: Mapped[str] = mapped_column(String(40))
    facility: Mapped[str] = mapped_column(String(200))
    regulation: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    credential_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)


class SupportAgent(Base):
    """A person of the support desk (``dmptui host support add``): a name for the patient's
    trace and the digest of a credential shown once, in the ``X-Support-Credential`` header."""

    __tablename__ = "support_agents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    credential_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    # The title, sealed under the document's own key (``crypto.py``); the key, wrapped by the
    # record key. Deleting the row shreds the key: nothing else can open the content.
    title_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    author_rpps: Mapped[str] = mapped_column(ForeignKey("practitioners.rpps"))
    facility: Mapped[str] = mapped_column(String(200))
    care_date: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    deposited_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the patient may see it: the deposit, or the INVISIBLE_PATIENT reveal date (policy.py
    # computes it); kept as a column so the patient's list pages in SQL.
    patient_visible_from: Mapped[datetime] = mapped_column(UTCDateTime)
    content_type: Mapped[str] = mapped_column(String(40))
    size: Mapped[int] = mapped_column(Integer)
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    notice_sent: Mapped[bool] = mapped_column(Boolean, default=False)
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")  # masking state
    # The content lives in its own table, so lists never read through it.
    body: Mapped[DocumentBody] = relationship(
        back_populates="document",
        cascade="all, delete-orphan",
        passive_deletes=True,
        lazy="raise_on_sql",
    )
    __table_args__ = (Index("ix_documents_record_deposited", "record_id", "deposited_at", "id"),)


class DocumentBody(Base):
    __tablename__ = "document_bodies"
    document_id: Mapped[str] = mapped_column(
        ForeignKey("documents.id", ondelete="CASCADE"), primary_key=True
    )
    data: Mapped[bytes] = mapped_column(LargeBinary)  # sealed under the document's key
    document: Mapped[Document] = relationship(back_populates="body")


class Authorisation(Base):
    __tablename__ = "authorisations"
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    rpps: Mapped[str] = mapped_column(ForeignKey("practitioners.rpps"), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)
    see_masked: Mapped[bool] = mapped_column(Boolean, default=False)


class Block(Base):
    __tablename__ = "blocks"
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    rpps: Mapped[str] = mapped_column(ForeignKey("practitioners.rpps"), primary_key=True)
    since: Mapped[datetime] = mapped_column(UTCDateTime)


class TraceEntry(Base):
    """The access trace: append-only, one row per read or change, allowed or denied. No content,
    no title: only who, when, what, on which document id, in which mode, and the outcome."""

    __tablename__ = "trace_entries"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_role: Mapped[str] = mapped_column(String(20))
    actor_rpps: Mapped[str | None] = mapped_column(String(11), nullable=True)
    actor_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    actor_profession: Mapped[str | None] = mapped_column(String(40), nullable=True)
    actor_facility: Mapped[str | None] = mapped_column(String(200), nullable=True)
    action: Mapped[str] = mapped_column(String(40))
    document_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    mode: Mapped[str] = mapped_column(String(12), default="normal")
    outcome: Mapped[str] = mapped_column(String(8))
    # The host's reason code of a refusal (policy.py), in clear; a practitioner's own words (a
    # break-glass reason) go sealed under the record key in ``reason_sealed`` instead.
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    # RFC 9162 leaf hash of the entry as the patient sees it (dmptui.merkle.entry_hash).
    leaf_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    __table_args__ = (UniqueConstraint("record_id", "seq", name="uq_trace_record_seq"),)


class TraceNode(Base):
    """The record's trace as a Merkle tree: the hash of every complete subtree above the leaves
    (level >= 1; leaves are ``TraceEntry.leaf_hash``), subtree ``idx`` at ``level`` covering
    entries ``idx * 2**level + 1 ..= (idx + 1) * 2**level``. Written as subtrees complete."""

    __tablename__ = "trace_nodes"
    record_id: Mapped[int] = mapped_column(
        ForeignKey("records.id"), primary_key=True, autoincrement=False
    )
    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerKeyRow(Base):
    """Every key the host has signed trace checkpoints with, oldest first (the newest signs):
    public keys only, the private key is never in the database (``ledger.py``). A key made by
    ``dmptui host rotate-ledger-key`` carries the endorsement of the key before it (an Ed25519
    signature by ``previous_key_id`` over ``merkle.key_endorsement_message``); a key the host
    found without one (the first, or one that replaced a lost key) has none."""

    __tablename__ = "ledger_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_id: Mapped[str] = mapped_column(String(16), unique=True)
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Unique: a key vouches for one successor, so two rotations at once cannot both succeed.
    previous_key_id: Mapped[str | None] = mapped_column(
        ForeignKey("ledger_keys.key_id"), unique=True, nullable=True
    )
    endorsement: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)


class Notification(Base):
    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    emergency: Mapped[bool] = mapped_column(Boolean, default=False)
    actor_rpps: Mapped[str | None] = mapped_column(String(11), nullable=True)
    mode: Mapped[str | None] = mapped_column(String(12), nullable=True)
    document_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # {"fr": ..., "en": ...} as JSON, sealed under the record key (crypto.py).
    message_sealed: Mapped[bytes] = mapped_column(LargeBinary)


class RecordKey(Base):
    """A record's data key, wrapped by the master key (which is never in the database)."""

    __tablename__ = "record_keys"
    record_id: Mapped[int] = mapped_column(
        ForeignKey("records.id", ondelete="CASCADE"), primary_key=True
    )
    wrapped_key: Mapped[bytes] = mapped_column(LargeBinary)
    master_key_id: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class OutboxMessage(Base):
    """Every email, SMS and one-time code leaves through this table."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"), nullable=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    # Sealed under the host's outbox key (crypto.py); blanked once the message is delivered.
    body_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)

    @property
    def body(self) -> str:
        """The plaintext body, set by ``outbox`` when it seals or opens the row (not stored)."""
        return self.__dict__.get("_body", "")

    @body.setter
    def body(self, value: str) -> None:
        self.__dict__["_body"] = value

    @property
    def file_line(self) -> str | None:
        """The message as the file outbox keeps it, sealed (``outbox_file.seal_line``): set by
        ``outbox`` when it opens the row to send it (not stored)."""
        return self.__dict__.get("_file_line")

    @file_line.setter
    def file_line(self, value: str) -> None:
        self.__dict__["_file_line"] = value


class AuthSession(Base):
    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    access_hash: Mapped[str] = mapped_column(String(64), unique=True)
    refresh_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    fresh_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    device: Mapped[str] = mapped_column(String(64))
    # What the patient's "devices and sessions" screen shows: an opaque id (never a token's
    # digest), the app (its User-Agent) and the address as the host saw it at login / refresh.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    app: Mapped[str | None] = mapped_column(String(120), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)


class SpentRefreshToken(Base):
    """A refresh token already exchanged (its digest), kept until its session could not live
    any more (``SESSION_ABSOLUTE``): shown again, it ends the whole session (reuse detection)."""

    __tablename__ = "spent_refresh_tokens"
    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    session_id: Mapped[int] = mapped_column(Integer)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    spent_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class LoginChallenge(Base):
    __tablename__ = "login_challenges"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hash of the challenge
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"))
    purpose: Mapped[str] = mapped_column(String(10))  # "login" | "step-up"
    session_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    device: Mapped[str] = mapped_column(String(64))
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ActivationCode(Base):
    """A record's activation code (activation.py): stored as a digest, expiring, used once,
    dead after ``activation.MAX_TRIES`` wrong tries. A new code replaces the record's unused
    ones."""

    __tablename__ = "activation_codes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    code_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    tries: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class LoginThrottle(Base):
    """Failed attempts in a row per INS, known or not (so an unknown INS looks like a wrong
    password), each counter apart (``scope``, policy.throttle_scope): the devices that never
    logged in to the record share one, each known device has its own, and the step-up its own.
    ``locked_until``: the end of the pause the last failure started (policy.after_failure)."""

    __tablename__ = "login_throttle"
    ins: Mapped[str] = mapped_column(String(15), primary_key=True)
    scope: Mapped[str] = mapped_column(String(48), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class RecoveryFlow(Base):
    """A forgotten-password reset or an authenticator re-enrolment under way (``routes/
    recovery.py``). Started for any well-formed INS, known or not (``record_id`` None then: the
    flow answers alike and never succeeds). Kept past its end for the per-INS start limit."""

    __tablename__ = "recovery_flows"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # hash of the flow token
    kind: Mapped[str] = mapped_column(String(10))  # "reset" | "reenrol"
    ins: Mapped[str] = mapped_column(String(15), index=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The one code awaited now: its channel ("sms" | "email"), digest and end.
    code_channel: Mapped[str | None] = mapped_column(String(10), nullable=True)
    code_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    proven: Mapped[str] = mapped_column(String(40), default="")  # "sms,totp", comma-separated
    codes_sent: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class KnownDevice(Base):
    __tablename__ = "known_devices"
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    # As on sessions: an opaque id, the app and address last seen, and when.
    public_id: Mapped[str] = mapped_column(String(32), unique=True, default=new_public_id)
    last_seen: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    app: Mapped[str | None] = mapped_column(String(120), nullable=True)
    address: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IdempotencyKey(Base):
    """A change sent with an ``Idempotency-Key``: the answer it got, replayed to a retry for
    24 hours. Written in the change's own transaction, so a change and its stored answer commit
    (or vanish) together."""

    __tablename__ = "idempotency_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scope: Mapped[str] = mapped_column(String(40))  # "session:<id>:<start>" or "ps:<rpps>"
    # The record the answer is about: erasing the record erases its stored answers too.
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    key: Mapped[str] = mapped_column(String(100))
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of method, path, body, If-Match
    status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    headers: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    __table_args__ = (UniqueConstraint("scope", "key", name="uq_idempotency_scope_key"),)


# --- engine --------------------------------------------------------------------------------


SQLITE_SUFFIXES = ("", "-wal", "-shm", "-journal")


def sqlite_path(url: str) -> Path | None:
    """The file of a SQLite URL (None: another database, in memory, or a ``file:`` URI)."""
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    name = make_url(url).database
    if not name or name == ":memory:" or name.startswith("file:"):
        return None
    return Path(name)


def private_sqlite_files(url: str) -> None:
    """A SQLite database, its -wal, -shm and -journal readable by the owner alone (0600),
    whatever the umask and wherever ``--db`` puts them. A missing database file is created
    empty with mode 0600 before SQLite opens it: SQLite gives the -wal, -shm and -journal it
    creates the database file's mode. An existing file others may read is made private (and
    said in the log); one the host cannot chmod is refused, with the command to run."""
    path = sqlite_path(url)
    if path is None:
        return
    if path.parent.is_dir():
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:
            pass
    for suffix in SQLITE_SUFFIXES:
        f = Path(f"{path}{suffix}")
        try:
            mode = stat.S_IMODE(f.stat().st_mode)
        except FileNotFoundError:
            continue
        if not mode & 0o077:
            continue
        try:
            os.chmod(f, 0o600)
        except OSError as e:
            raise DatabaseFileError(
                f"Le fichier de base {f} est lisible par d'autres utilisateurs (mode {mode:o}) "
                f"et l'hôte ne peut pas le rendre privé. Lancez : chmod 600 {f} / The database "
                f"file {f} can be read by other users (mode {mode:o}) and the host cannot make "
                f"it private. Run: chmod 600 {f}"
            ) from e
        logging.getLogger("dmptui.host").warning(
            "database file %s was readable by other users (mode %o): made private (600)", f, mode
        )


class DatabaseFileError(Exception):
    """A database file others may read, that the host cannot make private (FR / EN)."""


def make_engine(url: str) -> Engine:
    """``hide_parameters``: a database error's message (logged with its traceback by the
    server) never carries the statement's values — password hashes, token digests, TOTP
    secrets, notes, document contents. A SQLite file and its -wal, -shm are made private
    (``private_sqlite_files``) before the first connection."""
    if url.startswith("sqlite"):
        private_sqlite_files(url)
        engine = create_engine(
            url,
            connect_args={"timeout": SQLITE_BUSY_MS / 1000, "isolation_level": None},
            hide_parameters=True,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()

        @event.listens_for(engine, "begin")
        def _begin(conn: Any) -> None:
            # Every request writes at least a trace entry: take the write lock up front, so two
            # transactions never deadlock upgrading from read to write. Except a connection from
            # ``reading``, which never writes: a plain (deferred) BEGIN, a snapshot without the
            # lock.
            read_only = conn.get_execution_options().get(READ_ONLY)
            conn.exec_driver_sql("BEGIN" if read_only else "BEGIN IMMEDIATE")

        return engine
    engine = create_engine(url, hide_parameters=True)

    # A pooled connection is checked (a ping, one round trip) before use when it has been idle
    # for PING_AFTER_IDLE seconds or more: after a database restart or a dropped connection,
    # no request meets a dead one. One back in the pool for less than that has just committed
    # or rolled back: pinging it too cost a round trip on every request under load. (A restart
    # takes longer than that; a connection that still dies in between makes its request fail
    # once, and SQLAlchemy then replaces every connection of the pool.)
    @event.listens_for(engine, "checkin")
    def _idle_from(_dbapi_conn: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_idle(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get("idle_since")
        if since is not None and time.monotonic() - since < PING_AFTER_IDLE:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as e:
            raise exc.DisconnectionError("the database connection was lost") from e

    return engine


PING_AFTER_IDLE = 1.0  # seconds


READ_ONLY = "dmptui_read_only"


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """A connection for a request that only reads and writes nothing (the trace's proofs). On
    SQLite a deferred transaction: one snapshot, no write lock, so it neither waits for a writer
    nor holds one up. On PostgreSQL autocommit: each statement reads what is committed, as in the
    READ COMMITTED transaction of the other requests, without the BEGIN and COMMIT round trips.
    Never write on it (on PostgreSQL a write would commit at once); nothing is committed at the
    end."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn.execution_options(**{READ_ONLY: True})
        else:
            conn.execution_options(isolation_level="AUTOCOMMIT")
        yield conn


def sessionmaker_for(engine: Engine, keyring: Any = None) -> sessionmaker:
    """Sessions carry the host's ``crypto.Keyring`` in ``Session.info["keyring"]``."""
    return sessionmaker(engine, expire_on_commit=False, info={"keyring": keyring})


def checkpoint(engine: Engine) -> None:
    """SQLite: copy the WAL into the database file and truncate it, so pages overwritten by a
    deletion (secure_delete zeroes them) leave no older copy in the -wal file."""
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()  # autocommit (isolation_level=None): no BEGIN around it
    try:
        cur = raw.cursor()
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cur.fetchone()  # PRAGMA wal_checkpoint answers one row: (busy, log, checkpointed)
        busy = row[0] if row else 0
        cur.close()
        if busy:  # a reader kept it from finishing; the next checkpoint completes it
            logging.getLogger("dmptui.host").warning("WAL checkpoint after an erasure was busy")
    finally:
        raw.close()


# Any constant: the PostgreSQL advisory lock taken while the schema is upgraded.
MIGRATION_LOCK = 0x646D707475690001


def _alembic_config(url: str, keyring: Any = None) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.attributes["keyring"] = keyring
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(url: str, keyring: Any = None) -> None:
    """Bring the schema to the latest Alembic revision (also creates it on a fresh database).
    ``keyring`` (``crypto.Keyring``) seals rows written before encryption at rest (0002).

    Replicas starting together upgrade once, one after the other (the later ones find the schema
    at head and do nothing): on PostgreSQL the upgrade holds an advisory lock, on SQLite a lock on
    a file beside the database (``sqlite_migration_lock``)."""
    from alembic import command

    cfg = _alembic_config(url, keyring)
    if not url.startswith("postgresql"):
        with sqlite_migration_lock(url):
            command.upgrade(cfg, "head")
        # A migration that sealed values in place (0002, 0007) left the plaintext's old pages
        # in the -wal: zeroed (secure_delete) pages copied over them, the WAL truncated.
        engine = make_engine(url)
        try:
            checkpoint(engine)
        finally:
            engine.dispose()
        return
    from sqlalchemy import text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": MIGRATION_LOCK})
            try:
                command.upgrade(cfg, "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": MIGRATION_LOCK})
    finally:
        engine.dispose()


@contextmanager
def sqlite_migration_lock(url: str) -> Iterator[None]:
    """An exclusive lock on ``<database>.migrate-lock`` (empty, 0600, kept) while the schema is
    upgraded. Without it, two upgrades started at the same moment both find no schema and both
    create it: the second fails ("table … already exists"; seen with eight ``host init`` at
    once). POSIX only (``fcntl``); elsewhere, start one replica first."""
    path = sqlite_path(url)
    try:
        import fcntl
    except ImportError:  # not POSIX
        fcntl = None  # type: ignore[assignment]
    if path is None or fcntl is None or not path.parent.is_dir():
        yield
        return
    fd = os.open(f"{path}.migrate-lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # released when closed, or when the process ends
        yield
    finally:
        os.close(fd)


def schema_revisions(url: str) -> tuple[set[str], set[str]]:
    """(the database's current Alembic revisions, the code's head revisions)."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(_alembic_config(url)).get_heads())
    private_sqlite_files(url)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            current = set(MigrationContext.configure(conn).get_current_heads())
    finally:
        engine.dispose()
    return current, heads


def utcnow() -> datetime:
    return datetime.now(UTC)
