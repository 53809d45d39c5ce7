"""The access trace: one append-only entry per read or change, allowed or denied.

``append`` runs inside the caller's transaction, so the entry and the change it records commit
or roll back together. Entries hold who, when, what, which document id, which mode, the outcome:
never a title or content.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, update
from sqlalchemy.orm import Session

from dmptui.host.db import Practitioner, Record, TraceEntry


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
    conn.execute(insert(TraceEntry.__table__), values)
    return seq
