"""Database: SQLAlchemy 2 models, engine set-up, and the schema upgrade through Alembic.

SQLite by default (a file under the XDG data dir; WAL, synchronous=FULL, busy timeout, foreign
keys, secure_delete), any SQLAlchemy URL otherwise (PostgreSQL with psycopg in production).
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
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
    totp_secret: Mapped[str | None] = mapped_column(String(64), nullable=True)
    totp_enrolled: Mapped[bool] = mapped_column(Boolean, default=False)
    totp_last_step: Mapped[int] = mapped_column(Integer, default=0)


class Practitioner(Base):
    __tablename__ = "practitioners"
    rpps: Mapped[str] = mapped_column(String(11), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    profession: Mapped[str] = mapped_column(String(40))
    facility: Mapped[str] = mapped_column(String(200))
    regulation: Mapped[bool] = mapped_column(Boolean, default=False)
    email: Mapped[str | None] = mapped_column(String(254), nullable=True)
    credential_hash: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)


class Document(Base):
    __tablename__ = "documents"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
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
    data: Mapped[bytes] = mapped_column(LargeBinary)
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
    reason: Mapped[str | None] = mapped_column(String(300), nullable=True)
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
    message: Mapped[dict[str, str]] = mapped_column(JSON)


class OutboxMessage(Base):
    """Every email, SMS and one-time code leaves through this table."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int | None] = mapped_column(ForeignKey("records.id"), nullable=True)
    channel: Mapped[str] = mapped_column(String(8))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True, index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(300), nullable=True)


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


class LoginThrottle(Base):
    """Failed attempts per INS, known or not, so an unknown INS looks like a wrong password."""

    __tablename__ = "login_throttle"
    ins: Mapped[str] = mapped_column(String(15), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class KnownDevice(Base):
    __tablename__ = "known_devices"
    record_id: Mapped[int] = mapped_column(ForeignKey("records.id"), primary_key=True)
    device: Mapped[str] = mapped_column(String(64), primary_key=True)
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)


# --- engine --------------------------------------------------------------------------------


def default_url() -> str:
    from platformdirs import user_data_dir

    path = Path(user_data_dir("dmptui")) / "host.sqlite3"
    path.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path}"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"timeout": SQLITE_BUSY_MS / 1000, "isolation_level": None}
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
            # transactions never deadlock upgrading from read to write.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True)


def sessionmaker_for(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def migrate(url: str) -> None:
    """Bring the schema to the latest Alembic revision (also creates it on a fresh database)."""
    from alembic import command
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    command.upgrade(cfg, "head")


def content_of(s: Any, document_id: str) -> bytes:
    from sqlalchemy import select

    return bytes(s.scalar(select(DocumentBody.data).where(DocumentBody.document_id == document_id)))


def utcnow() -> datetime:
    return datetime.now(UTC)
