"""What a copy of the host's files gives away (issue 16): every file under the data dir and the
database's (db, -wal, -shm, the outbox, the keys) is swept for every kind of personal text —
title, content, note, break-glass reason, the patient's name, phone and email, the TOTP secret —
before erasure (only sealed forms) and after (nothing at all). On PostgreSQL the database is not
a file here: the data dir is swept, and the columns are read back through SQL instead."""

from __future__ import annotations

from hostkit import LiveHost

from dmptui.schema import DOC_TYPE_LABELS

DOCS = "/v1/record/documents"
REASON = "Patiente inconsciente, suspicion d'AVC hémorragique"


def ps_docs(host: LiveHost, role: str, **params: str) -> None:
    with host.ps(role) as c:
        r = c.get(f"/v1/ps/records/{host.ins}/documents", params=params)
    assert r.status_code == 200, r.text


def outbox_bodies(host: LiveHost) -> list[str]:
    """Every message the host queued, decrypted (from the outbox table)."""
    from sqlalchemy import select

    from dmptui.host import crypto
    from dmptui.host.db import OutboxMessage

    with host.app.state.host.sessions() as s:
        keyring = crypto.keyring_of(s)
        return [
            keyring.open_outbox(str(m.id), m.body_sealed)
            for m in s.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
            if m.body_sealed is not None
        ]


def test_sms_and_email_name_no_reason_no_diagnosis(host: LiveHost) -> None:
    before = len(outbox_bodies(host))
    ps_docs(host, "emergency", mode="break-glass", reason=REASON)
    with host.ps("author") as c:
        r = c.post(
            f"/v1/ps/records/{host.ins}/documents",
            json={"type": "11502-2", "title": "Sérologie VIH", "content": "négatif"},
        )
        assert r.status_code == 201, r.text
    sent = outbox_bodies(host)[before:]
    # The patient's SMS and email for the emergency, the email for the document, the attending
    # doctor's email.
    assert len(sent) >= 4, sent
    emergency = host.practitioner("emergency")
    author = host.practitioner("author")
    label = DOC_TYPE_LABELS["11502-2"]
    never = [REASON, "AVC", "inconsciente", emergency["name"], author["name"], "Sérologie"]
    never += [label["fr"], label["en"], emergency["facility"]]
    for body in sent:
        assert [w for w in never if w in body] == [], body
    patient = [b for b in sent if "Ouvrez l'application" in b]
    assert len(patient) >= 3, sent
    assert all("Open the app" in b for b in patient)
    # The app still tells the whole story: the reason is in the notification and the trace.
    client = host.login()
    notes = client.get("/v1/record/notifications").json()["items"]
    assert any(REASON in n["message"]["fr"] for n in notes)
    trace = client.get("/v1/record/trace", params={"mode": "break-glass"}).json()["items"]
    assert trace[0]["reason"] == REASON
