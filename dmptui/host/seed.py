"""Put the demo record (``demo_data.py``) into a database: patient, practitioners with fresh
credentials, documents, links, a past break-glass access, and the trace of all of it.

Returns the credentials a newcomer needs; they exist only in this answer (the host stores
digests and hashes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from dmptui.host import auth, crypto, demo_data, ledger, notifications, opening, policy
from dmptui.host.context import Host
from dmptui.host.db import (
    Authorisation,
    Document,
    DocumentBody,
    Notification,
    OutboxMessage,
    Practitioner,
    Record,
)
from dmptui.schema import Label

AUTHORISED_ROLES = ("author", "authorised", "pharmacist")


def _practitioner_by_role(people: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for p in people:
        out.setdefault(p["role"], p)
    return out


def seed_demo(host: Host, now: datetime | None = None) -> dict[str, Any]:
    now = now or host.now()
    patient = demo_data.DEMO_PATIENT
    creds: list[dict[str, Any]] = []
    with host.tx() as s:
        if s.scalar(select(Record).where(Record.ins == patient["ins"])) is not None:
            raise ValueError("the demo record is already in this database")
        for p in demo_data.DEMO_PRACTITIONERS:
            credential = None
            if s.get(Practitioner, p["rpps"]) is None:
                credential = "cps-" + auth.new_token()
                s.add(
                    Practitioner(
                        rpps=p["rpps"],
                        name=p["name"],
                        profession=p["profession"],
                        facility=p["facility"],
                        regulation=p.get("regulation", False),
                        email=p.get("email"),
                        credential_hash=auth.digest(credential),
                    )
                )
            creds.append(
                {
                    "rpps": p["rpps"],
                    "name": p["name"],
                    "profession": p["profession"],
                    "facility": p["facility"],
                    "credential": credential,
                    "role": p["role"],
                }
            )
        s.flush()
        roles = _practitioner_by_role(demo_data.DEMO_PRACTITIONERS)
        secret = auth.new_totp_secret()
        created = now - timedelta(
            days=max(d["deposited_days_ago"] for d in demo_data.DEMO_DOCUMENTS) + 30
        )
        record = Record(
            ins=patient["ins"],
            status="active",
            created_at=created,
            display_name=patient["display_name"],
            email=patient["email"],
            phone=patient["phone"],
            password_hash=auth.hash_password(patient["password"]),
            totp_enrolled=False,
            activated_at=created,  # seeded already activated: the printed secret logs in
            attending_rpps=roles["attending"]["rpps"],
            notes=None,
            notes_updated_at=created,
            refuses_break_glass=False,
            refuses_regulation=False,
            trace_size=0,
        )
        s.add(record)
        s.flush()
        record.notes = crypto.seal_notes(s, record.id, demo_data.DEMO_NOTES, created)
        record.totp_secret_sealed = crypto.seal_totp(s, record.id, secret, created)
        patient_actor = ledger.Actor.of_patient(record)
        for role in AUTHORISED_ROLES:
            s.add(Authorisation(record_id=record.id, rpps=roles[role]["rpps"], since=created))
            ledger.append(
                s, record.id, patient_actor, "authorisation.grant", now=created, allowed=True
            )
        people = {p.rpps: p for p in s.scalars(select(Practitioner))}
        events: list[tuple[datetime, int, dict[str, Any]]] = []
        for i, d in enumerate(demo_data.DEMO_DOCUMENTS):
            events.append((now - timedelta(days=d["deposited_days_ago"], minutes=i), i, d))
        bg = demo_data.DEMO_PAST_BREAK_GLASS
        bg_at = now - timedelta(days=bg["days_ago"])
        bg_done = False
        for at, i, d in sorted(events, key=lambda e: (e[0], e[1])):
            if not bg_done and bg_at <= at:
                _past_break_glass(s, record, people[roles[bg["role"]]["rpps"]], bg["reason"], bg_at)
                bg_done = True
            author = people[_author_rpps(d, roles)]
            labels = sorted({str(label) for label in d.get("labels", [])})
            content = d["content"].encode("utf-8")
            care = d.get("care_date")
            doc_id = f"demo{i:02d}" + auth.digest(d.get("key", str(i)))[:26]
            doc_key, wrapped = crypto.new_document_key(s, record.id, doc_id, at)
            doc = Document(
                id=doc_id,
                record_id=record.id,
                type=str(d["type"]),
                title_sealed=crypto.seal_title(doc_key, record.id, doc_id, d["title"]),
                wrapped_key=wrapped,
                author_rpps=author.rpps,
                facility=d.get("facility") or author.facility,
                care_date=datetime(care.year, care.month, care.day, tzinfo=UTC) if care else None,
                deposited_at=at,
                patient_visible_from=at,
                content_type="text/plain",
                size=len(content),
                body=DocumentBody(data=crypto.seal_content(doc_key, record.id, doc_id, content)),
                labels=labels,
                notice_sent=False,
            )
            facts = policy.DocumentFacts(doc.type, doc.author_rpps, at, frozenset(labels))
            if Label.INVISIBLE_PATIENT in labels:
                doc.patient_visible_from = policy.reveal_at(facts)
            s.add(doc)
            s.flush()
            ledger.append(
                s,
                record.id,
                ledger.Actor.of_practitioner(author),
                "document.deposit",
                now=at,
                allowed=True,
                document_id=doc.id,
            )
            if Label.INVISIBLE_PATIENT not in labels:
                notifications.new_document(s, record, author, doc.type, doc.id, at)
        if not bg_done:
            _past_break_glass(s, record, people[roles[bg["role"]]["rpps"]], bg["reason"], bg_at)
        # The past is past: older notices are read, and their emails left long ago.
        s.execute(
            update(Notification)
            .where(
                Notification.record_id == record.id,
                Notification.at < now - timedelta(days=7),
                Notification.emergency.is_(False),
            )
            .values(read_at=now)
        )
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.record_id == record.id)
            .values(sent_at=now, body_sealed=None)
        )
    return {
        "patient": {
            "ins": patient["ins"],
            "password": patient["password"],
            "totp_secret": secret,
            "name": patient["display_name"],
        },
        "practitioners": creds,
    }


def seed_new_patient(host: Host, now: datetime | None = None) -> dict[str, Any]:
    """The second demo patient (after ``seed_demo``): a record the pharmacist opened an hour
    ago, not yet activated; its letter is in the outbox, unsent (the demo phone shows it).
    Returns ``{ins, password, activation_code, name}``: the provisional password and the code
    of the letter, which exist only in this answer."""
    now = now or host.now()
    p = demo_data.DEMO_NEW_PATIENT
    with host.tx() as s:
        if s.scalar(select(Record).where(Record.ins == p["ins"])) is not None:
            raise ValueError("the demo's second patient is already in this database")
        roles = _practitioner_by_role(demo_data.DEMO_PRACTITIONERS)
        who = s.get(Practitioner, roles[p["opened_by_role"]]["rpps"])
        if who is None:
            raise ValueError("seed the demo record first")
        opened = opening.open_record(
            s,
            who,
            ins=p["ins"],
            name=p["display_name"],
            phone=p["phone"],
            email=p["email"],
            now=now - timedelta(hours=1),
        )
    return {
        "ins": p["ins"],
        "password": opened.password,
        "activation_code": opened.activation_code,
        "name": p["display_name"],
    }


def _author_rpps(d: dict[str, Any], roles: dict[str, dict[str, Any]]) -> str:
    if d.get("author_rpps"):
        return str(d["author_rpps"])
    return str(roles[d["author_role"]]["rpps"])


def _past_break_glass(s: Any, record: Record, who: Practitioner, reason: str, at: datetime) -> None:
    actor = ledger.Actor.of_practitioner(who)
    ledger.append(
        s,
        record.id,
        actor,
        "documents.list",
        now=at,
        allowed=True,
        mode="break-glass",
        free_reason=reason,
    )
    notifications.emergency_access(s, record, who, "break-glass", reason, at)
