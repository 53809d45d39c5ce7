"""A practitioner opens a record for a patient (as with the carte Vitale at a pharmacy): the
record, its trace entry (the patient sees who opened it), the activation code's letter
(activation.py) and the patient's first notification, in the caller's transaction.

The caller has checked who may (``policy.may_open_record``) and that no record holds the INS."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from dmptui.host import activation, auth, ledger, notifications
from dmptui.host.db import Practitioner, Record
from dmptui.schema import RecordStatus


@dataclass(frozen=True)
class Opened:
    record: Record
    password: str  # provisional, handed to the patient by the practitioner
    activation_code: str  # sent by letter; returned for the demo seed, never to a practitioner


def open_record(
    s: Session,
    who: Practitioner,
    *,
    ins: str,
    name: str,
    phone: str | None,
    email: str | None,
    now: datetime,
) -> Opened:
    """Add the record (flushed: a duplicate INS raises ``IntegrityError`` here)."""
    password = activation.provisional_password()
    record = Record(
        ins=ins,
        status=RecordStatus.ACTIVE,
        created_at=now,
        display_name=name,
        email=email,
        phone=phone,
        password_hash=auth.hash_password(password),
        totp_enrolled=False,
        notes=None,
        notes_updated_at=None,
        refuses_break_glass=False,
        refuses_regulation=False,
        trace_size=0,
    )
    with s.begin_nested():
        s.add(record)
    ledger.append(
        s, record.id, ledger.Actor.of_practitioner(who), "record.open", now=now, allowed=True
    )
    code = activation.issue(s, record, now)
    notifications.record_opened(s, record, who, now)
    return Opened(record, password, code)
