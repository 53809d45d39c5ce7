"""What a copy of the host's files gives away (issue 16): every file under the data dir and the
database's (db, -wal, -shm, the outbox, the keys) is swept for every kind of personal text —
title, content, note, break-glass reason, the patient's name, phone and email, the TOTP secret —
before erasure (only sealed forms) and after (nothing at all). On PostgreSQL the database is not
a file here: the data dir is swept, and the columns are read back through SQL instead."""

from __future__ import annotations

import json
import stat
import uuid
from pathlib import Path

import pytest
from hostkit import LiveHost

from dmptui.host import outbox, outbox_file
from dmptui.schema import DOC_TYPE_LABELS

DOCS = "/v1/record/documents"
REASON = "Patiente inconsciente, suspicion d'AVC hémorragique"


def blob(value: object) -> bytes:
    return bytes(value)  # type: ignore[arg-type]  # memoryview on PostgreSQL


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


# --- the sweep -------------------------------------------------------------------------------


def every_file(host: LiveHost) -> list[Path]:
    """Every file a copy of the host would take: the data dir (keys, file outbox, anything
    else) and the database with its -wal, -shm and -journal (SQLite)."""
    found = [p for p in host.data_dir.rglob("*") if p.is_file()]
    if host.db_path is not None:
        found += [
            Path(f"{host.db_path}{suffix}")
            for suffix in ("", "-wal", "-shm", "-journal")
            if Path(f"{host.db_path}{suffix}").exists()
        ]
    return found


def readable(host: LiveHost, needles: dict[str, bytes]) -> list[str]:
    """Which needles occur in which file; on PostgreSQL, also in which table (every row as
    text: a bytea shows as hex, so only a value kept in clear can match)."""
    hits = []
    for path in every_file(host):
        data = path.read_bytes()
        hits += [f"{kind} in {path.name}" for kind, n in needles.items() if n in data]
    if host.db_path is None:
        tables = [
            t for (t,) in host.sql("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        ]
        for t in tables:
            text = "\n".join(r for (r,) in host.sql(f'SELECT t::text FROM "{t}" t'))
            hits += [f"{kind} in table {t}" for kind, n in needles.items() if n.decode() in text]
    return hits


def deliver_to_file(host: LiveHost) -> Path:
    """Send what the host queued to its file outbox (``<data dir>/outbox``)."""
    files = outbox.FileTransport(outbox_file.default_path(host.data_dir).parent)
    outbox.deliver_pending(
        host.app.state.host.sessions, outbox.Router(files, files), now=host.clock()
    )
    return files.path


def test_before_erasure_only_sealed_forms_after_it_nothing_at_all(host: LiveHost) -> None:
    tag = uuid.uuid4().hex[:10]
    title, content, note = f"Sérologie {tag}", f"Charge virale {tag}", f"Allergie {tag}"
    reason = f"{REASON} {tag}"
    with host.ps("author") as c:
        r = c.post(
            f"/v1/ps/records/{host.ins}/documents",
            json={"type": "11502-2", "title": title, "content": content},
        )
        assert r.status_code == 201, r.text
    ps_docs(host, "emergency", mode="break-glass", reason=reason)
    client = host.login()
    host.step_up(client)
    assert client.put("/v1/record/notes", json={"text": note}).status_code == 200
    assert client.post("/v1/auth/step-up/otp", json={"channel": "sms"}).status_code == 200
    sent = deliver_to_file(host)
    ((rid, name, phone, email),) = host.sql(
        "SELECT id, display_name, phone, email FROM records WHERE ins = :i", {"i": host.ins}
    )
    assert name and phone and email
    secret = host.creds["patient"]["totp_secret"]
    private = {
        "title": title.encode(),
        "content": content.encode(),
        "note": note.encode(),
        "reason": reason.encode(),
        "TOTP secret": secret.encode(),
    }
    identity = {"name": name.encode(), "phone": phone.encode(), "email": email.encode()}

    # Before: the sealed forms are there (the scan sees them), never the texts.
    messages = [m for m in outbox_file.read_messages(sent, host.app.state.host.keyring)]
    mine = [m for m in messages if m["record_id"] == rid]
    assert {m["recipient"] for m in mine} >= {phone, email}, "the reader opens the file"
    assert any("Votre code DMP" in m["body"] for m in mine)
    assert readable(host, private) == []
    # The patient's name, phone and email are kept in clear in the records row (the host
    # writes to them and finds the patient by them), and nowhere else: not in the outbox file
    # nor any other file of the data dir.
    if host.db_path is not None:
        outside_db = [h for h in readable(host, identity) if host.db_path.name not in h]
        assert outside_db == []
    sealed = {
        "record key": blob(
            host.sql("SELECT wrapped_key FROM record_keys WHERE record_id = :r", {"r": rid})[0][0]
        ),
        "sealed TOTP": blob(
            host.sql("SELECT totp_secret_sealed FROM records WHERE id = :r", {"r": rid})[0][0]
        ),
        "sealed notes": blob(host.sql("SELECT notes FROM records WHERE id = :r", {"r": rid})[0][0]),
        "sealed outbox line": json.loads(sent.read_text().splitlines()[-1])["sealed"].encode(),
    }
    reasons = host.sql("SELECT reason_sealed FROM trace_entries WHERE reason_sealed IS NOT NULL")
    assert reasons, "the break-glass reasons are sealed in the trace"
    sealed |= {f"sealed reason {i}": blob(v) for i, (v,) in enumerate(reasons)}
    titles = host.sql("SELECT title_sealed FROM documents WHERE record_id = :r", {"r": rid})
    sealed |= {f"sealed title {i}": blob(v) for i, (v,) in enumerate(titles)}
    if host.db_path is not None:
        seen = readable(host, sealed)
        assert len(seen) >= len(sealed), "the scan must see the sealed forms before erasure"

    assert client.post("/v1/record/erase").status_code == 200

    # After: nothing at all, neither in clear nor sealed, in any file (or any table).
    assert readable(host, private | identity) == []
    if host.db_path is not None:
        assert readable(host, sealed) == []
    else:  # the file outbox is swept on PostgreSQL too
        data = sent.read_bytes()
        assert [k for k, v in sealed.items() if v in data] == []
    assert [
        m
        for m in outbox_file.read_messages(sent, host.app.state.host.keyring)
        if m["record_id"] == rid
    ] == []
    assert host.sql(
        "SELECT actor_role, actor_name, action FROM trace_entries WHERE record_id = :r", {"r": rid}
    ) == [("patient", None, "erase")]


def test_the_outbox_command_opens_the_file_with_the_master_key(
    host: LiveHost, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dmptui.entry.cli import EXIT_OK, main
    from dmptui.host import crypto

    with host.ps("author") as c:
        r = c.post(
            f"/v1/ps/records/{host.ins}/documents",
            json={"type": "11502-2", "title": "x", "content": "y"},
        )
        assert r.status_code == 201, r.text
    path = deliver_to_file(host)
    assert b"Ouvrez l'application" not in path.read_bytes()
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(host.data_dir))
    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    assert main(["host", "outbox", "--json"]) == EXIT_OK
    messages = json.loads(capsys.readouterr().out)
    assert any("Ouvrez l'application" in m["body"] for m in messages)
    assert main(["host", "outbox"]) == EXIT_OK
    assert "Open the app to read it." in capsys.readouterr().out


def test_rotating_the_master_key_reseals_the_file_outbox(
    host: LiveHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dmptui.host import crypto

    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    ps_docs(host, "emergency", mode="break-glass", reason=REASON)
    path = deliver_to_file(host)
    old = host.app.state.host.keyring
    before = outbox_file.read_messages(path, old)
    assert len(before) >= 2
    raw = path.read_bytes()
    crypto.rotate_master_key(host.db_url, host.data_dir)
    new = crypto.host_keyring(host.data_dir)
    assert new.master.id != old.master.id
    assert outbox_file.read_messages(path, new) == before
    assert outbox_file.read_messages(path, old) == [] and path.read_bytes() != raw
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_a_file_outbox_written_in_clear_by_an_older_version_is_sealed_at_start(
    host: LiveHost,
) -> None:
    from dmptui.host.app import create_app

    ps_docs(host, "emergency", mode="break-glass", reason=REASON)
    ((mid, rid),) = host.sql("SELECT id, record_id FROM outbox ORDER BY id DESC LIMIT 1")
    path = outbox_file.default_path(host.data_dir)
    path.parent.mkdir(mode=0o700, exist_ok=True)
    old = [
        {"id": mid, "channel": "sms", "recipient": "+33611223344", "subject": "DMP",
         "body": f"Motif donné : {REASON}", "created_at": "2026-01-01T00:00:00+00:00"},
        # A message of a record erased since: its row is gone, its line goes.
        {"id": 987654, "channel": "email", "recipient": "efface@example.fr", "subject": "DMP",
         "body": "Nouveau document : Sérologie", "created_at": "2026-01-01T00:00:00+00:00"},
    ]  # fmt: skip
    path.write_text("".join(json.dumps(x, ensure_ascii=False) + "\n" for x in old), "utf-8")
    create_app(host.db_url, host.data_dir).state.host.engine.dispose()
    raw = path.read_bytes()
    for plain in (REASON, "+33611223344", "efface@example.fr", "Sérologie", "Motif"):
        assert plain.encode() not in raw, plain
    opened = outbox_file.read_messages(path, host.app.state.host.keyring)
    assert [(m["id"], m["record_id"], m["recipient"]) for m in opened] == [
        (mid, rid, "+33611223344")
    ]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
