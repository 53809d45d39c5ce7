"""Life of the record: close, reactivate, erase, the 10-year purge, and the daily duties
(the two-week notice for documents awaiting an announcement consultation, and the purge of
login state nobody can use any more)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, or_, select, update
from sqlalchemy.orm import Session

from dmptui.host import auth, crypto, ledger, notifications, policy
from dmptui.host.db import (
    ActivationCode,
    Authorisation,
    AuthSession,
    Block,
    Document,
    IdempotencyKey,
    KnownDevice,
    LoginChallenge,
    LoginThrottle,
    Notification,
    OutboxMessage,
    Record,
    RecordKey,
    RecoveryFlow,
    SpentRefreshToken,
    TraceEntry,
    TraceNode,
)
from dmptui.schema import Label, RecordStatus


def revoke_sessions(s: Session, record_id: int, now: datetime, keep: int | None = None) -> int:
    """End every live session of the record, but ``keep`` (a session id) if given; how many."""
    query = update(AuthSession).where(
        AuthSession.record_id == record_id, AuthSession.revoked_at.is_(None)
    )
    if keep is not None:
        query = query.where(AuthSession.id != keep)
    result = s.execute(query.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def forget_devices(s: Session, record_id: int) -> int:
    """Forget every remembered device of the record: the next login from any of them is a new
    device again (notified). How many were forgotten."""
    result = s.execute(delete(KnownDevice).where(KnownDevice.record_id == record_id))
    return int(getattr(result, "rowcount", 0) or 0)


def forget_device(s: Session, record_id: int, public_id: str) -> bool:
    """Forget one remembered device of the record, named by its opaque id: the next login from
    it is a new device again (notified). False if the record has no such device."""
    result = s.execute(
        delete(KnownDevice).where(
            KnownDevice.record_id == record_id, KnownDevice.public_id == public_id
        )
    )
    return bool(getattr(result, "rowcount", 0))


def purge_spent_refresh_tokens(s: Session, now: datetime) -> int:
    """Spent refresh tokens whose session has passed its absolute limit: they can no longer
    end anything (the session is over), so they go."""
    result = s.execute(
        delete(SpentRefreshToken).where(SpentRefreshToken.spent_at <= now - auth.SESSION_ABSOLUTE)
    )
    return int(getattr(result, "rowcount", 0) or 0)


def close(s: Session, record: Record, now: datetime) -> None:
    # Sessions first, before anything locks the record's row: a request on another session of
    # this patient locks its session, then the record (its trace entry); the same order here
    # means the two wait for each other instead of deadlocking on PostgreSQL.
    revoke_sessions(s, record.id, now)
    record.status = RecordStatus.CLOSED
    record.status_version += 1
    record.closed_at = now


def reactivate(s: Session, record: Record) -> None:
    record.status = RecordStatus.ACTIVE
    record.status_version += 1
    record.closed_at = None


def erase(s: Session, record: Record, actor: ledger.Actor, now: datetime) -> None:
    """Definitive deletion: every document, note, notification, link, session and pending message
    of the record goes, and the account's secrets with it, and its data key (crypto-shredding:
    whatever copy of a ciphertext survives somewhere can no longer be opened). What remains is
    the record's row, marked erased, and one trace entry saying when and by whom it was erased.
    The row keeps the INS and the password's hash (no health data): a login with the right
    password is told that the record was erased, anyone else gets the usual wrong-password
    answer (``routes/auth.login``). Nothing else of the account stays: no TOTP secret, no
    contact, no device.
    The caller checkpoints SQLite's WAL after the commit (``Host.checkpoint``)."""
    rid = record.id
    for model in (
        Document,
        Authorisation,
        Block,
        Notification,
        KnownDevice,
        LoginChallenge,
        ActivationCode,
        RecoveryFlow,
        AuthSession,
        SpentRefreshToken,
        OutboxMessage,
        TraceNode,
        TraceEntry,
        IdempotencyKey,  # stored answers hold notes, titles, names
        RecordKey,
    ):
        s.execute(delete(model).where(model.record_id == rid))
    crypto.forget(s, rid)
    for kind in ("status", "notes", "practitioners", "oppositions"):
        version = f"{kind}_version"
        setattr(record, version, getattr(record, version) + 1)
    record.status = RecordStatus.ERASED
    record.erased_at = now
    record.closed_at = None
    record.attending_rpps = None
    record.notes = None
    record.notes_updated_at = None
    record.display_name = ""
    record.email = None
    record.phone = None
    record.totp_secret_sealed = None
    record.totp_enrolled = False
    record.trace_size = 0
    s.flush()
    # The one entry left says who erased it by role: the patient's name goes with the rest.
    by = ledger.Actor(actor.role) if actor.role == "patient" else actor
    ledger.append(s, rid, by, "erase", now=now, allowed=True)


def purge_due(s: Session, now: datetime) -> list[int]:
    """Erase records closed more than ten years ago. Returns the ids erased."""
    erased = []
    # Locked, skipping rows another host process is purging: each record is erased once.
    closed = s.scalars(
        select(Record).where(Record.status == RecordStatus.CLOSED).with_for_update(skip_locked=True)
    ).all()
    for record in closed:
        if record.closed_at is not None and now >= policy.purge_after(record.closed_at):
            erase(s, record, ledger.SYSTEM, now)
            erased.append(record.id)
    return erased


def send_due_notices(s: Session, now: datetime) -> int:
    """Two weeks after deposit, a document still invisible to the patient is announced to them
    (without its title or content). Sent once per document."""
    sent = 0
    candidates = s.scalars(
        select(Document)
        .where(Document.notice_sent.is_(False), Document.patient_visible_from > now)
        .with_for_update(skip_locked=True)  # one notice, whichever host process runs this
    ).all()
    for doc in candidates:
        facts = policy.DocumentFacts(
            doc.type, doc.author_rpps, doc.deposited_at, frozenset(doc.labels)
        )
        if Label.INVISIBLE_PATIENT not in facts.labels:
            continue
        if not policy.awaiting_consultation_notice_due(facts, now):
            continue
        record = s.get(Record, doc.record_id)
        if record is None or record.status != RecordStatus.ACTIVE:
            continue
        notifications.awaiting_consultation(s, record, doc.id, policy.reveal_at(facts), now)
        doc.notice_sent = True
        ledger.append(
            s,
            record.id,
            ledger.SYSTEM,
            "notice.awaiting_consultation",
            now=now,
            allowed=True,
            document_id=doc.id,
        )
        sent += 1
    return sent


def purge_login_state(s: Session, now: datetime) -> dict[str, int]:
    """Delete the login state that no request can use any more, so it does not pile up:

    - a throttle row whose failures the rule has forgotten (``policy.FORGET_AFTER`` since the
      last failure and since the end of its pause): the next attempt on its INS would start it
      afresh anyway (``lockout.counter``). Most are rows for an INS no record has (kept so that
      an unknown INS is throttled like a known one): each one now lasts at most its last pause
      and the quiet time, plus one maintenance round;
    - an expired login or step-up challenge (used or not);
    - a session past its absolute lifetime: neither its access nor its refresh token is
      accepted any more, revoked or not.

    Returns how many rows of each went."""
    gone = {}
    for name, statement in (
        (
            "login_throttle",
            delete(LoginThrottle).where(
                LoginThrottle.last_failure_at <= now - policy.FORGET_AFTER,
                or_(
                    LoginThrottle.locked_until.is_(None),
                    LoginThrottle.locked_until <= now - policy.FORGET_AFTER,
                ),
            ),
        ),
        ("login_challenges", delete(LoginChallenge).where(LoginChallenge.expires_at <= now)),
        (
            # Kept past their end for the per-INS limit on starts, then gone.
            "recovery_flows",
            delete(RecoveryFlow).where(
                RecoveryFlow.created_at <= now - policy.RECOVERY_WINDOW,
                RecoveryFlow.expires_at <= now,
            ),
        ),
        (
            "sessions",
            delete(AuthSession).where(AuthSession.created_at < now - auth.SESSION_ABSOLUTE),
        ),
    ):
        result = s.execute(statement)
        gone[name] = int(getattr(result, "rowcount", 0) or 0)
    return gone
