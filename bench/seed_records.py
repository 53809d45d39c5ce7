"""Bench-only seeding: many patient records, practitioners with known credentials, and open
patient sessions, written straight into a migrated database (no HTTP, no argon2 per patient).

A real login costs an argon2id check (~50 ms of CPU) and a TOTP step that can be used once; a
load test of browsing must not measure 50 logins, so the sessions are created here, as the host
itself creates them after a login (`auth_sessions` row holding the access token's digest).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dmptui.host import auth, crypto, ledger
from dmptui.host.context import Host
from dmptui.host.db import (
    Authorisation,
    AuthSession,
    Document,
    DocumentBody,
    Practitioner,
    Record,
)
from dmptui.identifiers import ins_key, luhn_complete
from dmptui.schema import DocType

DEPOSIT_TYPES = [
    DocType.CONSULTATION_NOTE,
    DocType.LAB_REPORT,
    DocType.PRESCRIPTION,
    DocType.IMAGING_REPORT,
    DocType.DISCHARGE_SUMMARY,
]


@dataclass
class Seeded:
    patients: list[tuple[str, str]] = field(default_factory=list)  # (ins, access token)
    practitioners: list[tuple[str, str]] = field(default_factory=list)  # (rpps, credential)
    documents: dict[str, list[str]] = field(default_factory=dict)  # ins -> document ids


def bench_ins(i: int) -> str:
    first13 = f"1850175{100 + i:06d}"
    return f"{first13}{ins_key(first13):02d}"


def bench_rpps(i: int) -> str:
    return luhn_complete(f"10009{i:05d}")


def seed_bench(
    url: str,
    data_dir: Path,
    *,
    patients: int = 50,
    practitioners: int = 5,
    docs_per_patient: int = 20,
    doc_bytes: int = 2000,
    seed: int = 1,
) -> Seeded:
    """Add `patients` records (each with `docs_per_patient` documents deposited by the bench
    practitioners, every practitioner authorised, one open session) and `practitioners`
    médecins. The database must be migrated and hold none of these INS or RPPS yet."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = Seeded()
    host = Host(url, data_dir)
    password_hash = auth.hash_password("bench-password-not-used")  # one hash for all
    try:
        with host.tx() as s:
            people = []
            for i in range(practitioners):
                credential = "cps-bench-" + auth.new_token()
                p = Practitioner(
                    rpps=bench_rpps(i),
                    name=f"Dr Banc {i}",
                    profession="medecin",
                    facility=f"Centre de charge {i}",
                    regulation=False,
                    credential_hash=auth.digest(credential),
                )
                s.add(p)
                people.append(p)
                out.practitioners.append((p.rpps, credential))
            s.flush()
            for i in range(patients):
                created = now - timedelta(days=400)
                record = Record(
                    ins=bench_ins(i),
                    status="active",
                    created_at=created,
                    display_name=f"Patient Banc {i}",
                    password_hash=password_hash,
                    totp_enrolled=False,
                    refuses_break_glass=False,
                    refuses_regulation=False,
                    trace_size=0,
                )
                s.add(record)
                s.flush()
                actor = ledger.Actor.of_patient(record)
                for p in people:
                    s.add(Authorisation(record_id=record.id, rpps=p.rpps, since=created))
                    ledger.append(
                        s, record.id, actor, "authorisation.grant", now=created, allowed=True
                    )
                ids = []
                for j in range(docs_per_patient):
                    author = people[j % len(people)]
                    at = now - timedelta(days=docs_per_patient - j, minutes=rng.randint(0, 600))
                    content = (f"Compte rendu {j} du patient {i}. " * 200)[:doc_bytes].encode()
                    doc_id = auth.digest(f"bench-{i}-{j}")[:32]
                    # Sealed at rest as the host's deposit does (crypto.py).
                    key, wrapped = crypto.new_document_key(s, record.id, doc_id, at)
                    doc = Document(
                        id=doc_id,
                        record_id=record.id,
                        type=DEPOSIT_TYPES[j % len(DEPOSIT_TYPES)].value,
                        title_sealed=crypto.seal_title(key, record.id, doc_id, f"Document {j}"),
                        wrapped_key=wrapped,
                        author_rpps=author.rpps,
                        facility=author.facility,
                        care_date=None,
                        deposited_at=at,
                        patient_visible_from=at,
                        content_type="text/plain",
                        size=len(content),
                        body=DocumentBody(
                            data=crypto.seal_content(key, record.id, doc_id, content)
                        ),
                        labels=[],
                        notice_sent=False,
                    )
                    s.add(doc)
                    ids.append(doc.id)
                    ledger.append(
                        s,
                        record.id,
                        ledger.Actor.of_practitioner(author),
                        "document.deposit",
                        now=at,
                        allowed=True,
                        document_id=doc.id,
                    )
                token = auth.new_token()
                s.add(
                    AuthSession(
                        record_id=record.id,
                        access_hash=auth.digest(token),
                        refresh_hash=auth.digest(auth.new_token()),
                        created_at=now,
                        last_seen_at=now,
                        device="bench",
                    )
                )
                out.patients.append((record.ins, token))
                out.documents[record.ins] = ids
    finally:
        host.engine.dispose()
    return out
