"""Encryption at rest and erasure that erases, on the real host over HTTP: a known phrase is
never in the SQLite file, its -wal or -journal; a ciphertext moved to another row does not open;
deleting a document or erasing a record leaves neither its plaintext nor its wrapped keys in any
file; a wrong master key stops the host; rotation rewraps the record keys only. On PostgreSQL
(DMPTUI_TEST_DATABASE_URL) everything runs but the file scans."""

from __future__ import annotations

import json
import os
import stat
import uuid
from pathlib import Path

import pytest
from hostkit import LiveHost, serve

from dmptui.demo import DEMO_INS
from dmptui.entry.cli import EXIT_OK, EXIT_REFUSED, main
from dmptui.host import crypto
from dmptui.host.app import create_app
from dmptui.host.context import Host

DOCS = "/v1/record/documents"


def phrase() -> str:
    return f"Sérologie VIH confidentielle {uuid.uuid4().hex[:12]}"


def deposit(host: LiveHost, title: str, content: str, role: str = "author") -> dict:
    with host.ps(role) as c:
        r = c.post(
            f"/v1/ps/records/{host.ins}/documents",
            json={"type": "11502-2", "title": title, "content": content},
        )
    assert r.status_code == 201, r.text
    return r.json()


def files(host: LiveHost) -> list[Path]:
    assert host.db_path is not None
    return [
        Path(f"{host.db_path}{suffix}")
        for suffix in ("", "-wal", "-journal", "-shm")
        if Path(f"{host.db_path}{suffix}").exists()
    ]


def found(host: LiveHost, *needles: bytes) -> list[str]:
    """Which needles occur in the database file, its -wal, -journal or -shm (SQLite only)."""
    hits = []
    for path in files(host):
        data = path.read_bytes()
        hits += [f"{path.name}: {n[:24]!r}" for n in needles if n and n in data]
    return hits


def sqlite_only(host: LiveHost) -> bool:
    return host.db_path is not None


def blob(value: object) -> bytes:
    return bytes(value)  # type: ignore[arg-type]  # memoryview on PostgreSQL


# --- at rest -------------------------------------------------------------------------------


def test_a_known_phrase_is_in_no_file_and_reads_back(host: LiveHost) -> None:
    words = phrase()
    doc = deposit(host, words, f"Résultat : négatif. {words}. Fin.")
    client = host.login()
    host.step_up(client)
    r = client.put("/v1/record/notes", json={"text": f"Allergie : pénicilline. {words}"})
    assert r.status_code == 200, r.text
    # A one-time code by SMS: its body is sealed too.
    r = client.post("/v1/auth/step-up/otp", json={"channel": "sms"})
    assert r.status_code == 200, r.text

    if sqlite_only(host):
        needles = [
            words.encode(),
            words.split()[-1].encode(),  # the unique part alone
            b"Ne le donnez",  # the outbox's one-time-code text
            b"Nouveau document dans votre dossier",  # notification texts
            "Allergie : pénicilline".encode(),
        ]
        assert found(host, *needles) == []

    # The patient reads all of it back, and finds the document by its title.
    got = client.get(f"{DOCS}/{doc['id']}").json()
    assert got["title"] == words
    content = client.get(f"{DOCS}/{doc['id']}/content")
    assert content.text == f"Résultat : négatif. {words}. Fin."
    assert client.get("/v1/record/notes").json()["text"].endswith(words)
    for q in (words.split()[-1], "SÉROLOGIE VIH CONF", "sérologie"):
        items = client.get(DOCS, params={"q": q}).json()["items"]
        assert doc["id"] in [d["id"] for d in items], q
    assert client.get(DOCS, params={"q": "no such title anywhere"}).json()["items"] == []
    notes = client.get("/v1/record/notifications").json()["items"]
    assert any("Nouveau document" in n["message"]["fr"] for n in notes)
    # Practitioners too.
    with host.ps("attending") as c:
        r = c.get(f"/v1/ps/records/{host.ins}/documents/{doc['id']}")
        assert r.status_code == 200 and r.json()["document"]["title"] == words
        assert r.json()["content"].endswith(". Fin.")
        listed = c.get(f"/v1/ps/records/{host.ins}/documents", params={"limit": 200}).json()
        assert words in [d["title"] for d in listed["items"]]
        assert c.get(f"/v1/ps/records/{host.ins}/notes").json()["text"].endswith(words)
    # And the code that went out is the one the host checks.
    code = host.outbox_body("sms").split(":")[1].split()[0]
    assert client.post("/v1/auth/step-up", json={"code": code}).status_code == 200


def test_search_pages_with_the_cursor(host: LiveHost) -> None:
    tag = uuid.uuid4().hex[:8]
    ids = [deposit(host, f"Bilan {tag} n° {i}", "x")["id"] for i in range(5)]
    for i in range(3):
        host.clock.advance(seconds=1)
        deposit(host, f"Autre document {i}", "y")
    client = host.login()
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        params = {"q": f"BILAN {tag.upper()}", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = client.get(DOCS, params=params).json()
        pages += 1
        seen += [d["id"] for d in page["items"]]
        assert all(tag in d["title"] for d in page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert sorted(seen) == sorted(ids) and len(seen) == 5 and pages == 3


def test_a_moved_ciphertext_does_not_open(host: LiveHost) -> None:
    a = deposit(host, phrase(), "contenu A")
    b = deposit(host, phrase(), "contenu B")
    client = host.login()
    # b's title sealed under a's key and associated data, copied onto b: refused, clearly.
    host.sql(
        "UPDATE documents SET title_sealed = (SELECT title_sealed FROM documents WHERE id = :a) "
        "WHERE id = :b",
        {"a": a["id"], "b": b["id"]},
    )
    for path in (f"{DOCS}/{b['id']}", DOCS):
        r = client.get(path)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "undecryptable" and "cannot be decrypted" in r.json()["message"]
    assert client.get(f"{DOCS}/{a['id']}").json()["title"] == a["title"]
    # The same for a content, and for a document key moved to another document.
    host.sql(
        "UPDATE document_bodies SET data = "
        "(SELECT data FROM document_bodies WHERE document_id = :a) WHERE document_id = :b",
        {"a": a["id"], "b": b["id"]},
    )
    assert client.get(f"{DOCS}/{b['id']}/content").status_code == 409
    host.sql(
        "UPDATE documents SET wrapped_key = (SELECT wrapped_key FROM documents WHERE id = :a) "
        "WHERE id = :b",
        {"a": a["id"], "b": b["id"]},
    )
    with host.ps("author") as c:
        r = c.get(f"/v1/ps/records/{host.ins}/documents/{b['id']}")
        assert r.status_code == 409 and r.json()["error"] == "undecryptable"


def test_a_record_without_a_key_yet_reads_empty_and_gets_one_on_first_write(
    host: LiveHost,
) -> None:
    client = host.login()
    for table in ("document_bodies", "documents", "notifications", "record_keys"):
        host.sql(f"DELETE FROM {table}")
    host.sql("UPDATE records SET notes = NULL")
    assert client.get(DOCS).json() == {"items": [], "next_cursor": None}
    assert client.get(DOCS, params={"q": "x"}).json()["items"] == []
    assert client.get("/v1/record/notes").json()["text"] == ""
    assert client.get("/v1/record/notifications").json()["items"] == []
    doc = deposit(host, "Premier", "texte")
    assert host.sql("SELECT count(*) FROM record_keys") == [(1,)]
    assert client.get(DOCS).json()["items"][0]["id"] == doc["id"]


def test_associated_data_binds_record_and_document() -> None:
    keyring = crypto.Keyring(crypto.MasterKey(crypto.new_data_key()))
    record_key = crypto.new_data_key()
    wrapped = keyring.wrap_record_key(1, record_key)
    assert keyring.unwrap_record_key(1, wrapped, keyring.master.id) == record_key
    with pytest.raises(crypto.DecryptionError):
        keyring.unwrap_record_key(2, wrapped, keyring.master.id)  # another record's row
    rk = crypto.AESGCM(record_key)
    doc_key = crypto.new_data_key()
    wrapped_doc = crypto.Keyring.wrap_document_key(rk, 1, "d1", doc_key)
    with pytest.raises(crypto.DecryptionError):
        crypto.Keyring.unwrap_document_key(rk, 2, "d1", wrapped_doc)
    with pytest.raises(crypto.DecryptionError):
        crypto.Keyring.unwrap_document_key(rk, 1, "d2", wrapped_doc)
    dk = crypto.Keyring.unwrap_document_key(rk, 1, "d1", wrapped_doc)
    sealed = crypto.seal_title(dk, 1, "d1", "Sérologie VIH")
    assert crypto.open_title(dk, 1, "d1", sealed) == "Sérologie VIH"
    for rid, did in ((2, "d1"), (1, "d2")):
        with pytest.raises(crypto.DecryptionError):
            crypto.open_title(dk, rid, did, sealed)
    with pytest.raises(crypto.DecryptionError):  # a title is not a content
        crypto.open_content(dk, 1, "d1", sealed)
    # Random nonces: the same title seals differently every time.
    assert crypto.seal_title(dk, 1, "d1", "x") != crypto.seal_title(dk, 1, "d1", "x")
    assert len(sealed) == 1 + 12 + len("Sérologie VIH".encode()) + 16


# --- erasure that erases -------------------------------------------------------------------


def test_deleting_a_document_shreds_its_key_and_leaves_nothing(host: LiveHost) -> None:
    words = phrase()
    doc = deposit(host, words, f"Contenu secret {words}")
    keep = deposit(host, phrase(), "reste")
    ((wrapped, title_sealed),) = host.sql(
        "SELECT wrapped_key, title_sealed FROM documents WHERE id = :d", {"d": doc["id"]}
    )
    ((body,),) = host.sql(
        "SELECT data FROM document_bodies WHERE document_id = :d", {"d": doc["id"]}
    )
    secrets = [blob(wrapped), blob(title_sealed), blob(body)]
    if sqlite_only(host):
        assert found(host, *secrets), "the scan must see the rows before the deletion"
    client = host.login()
    host.step_up(client)
    assert client.delete(f"{DOCS}/{doc['id']}").status_code == 204

    assert host.sql("SELECT count(*) FROM documents WHERE id = :d", {"d": doc["id"]}) == [(0,)]
    assert host.sql(
        "SELECT count(*) FROM document_bodies WHERE document_id = :d", {"d": doc["id"]}
    ) == [(0,)]
    if sqlite_only(host):
        assert found(host, words.encode(), *secrets) == []
    # The other document and the record key are untouched.
    assert client.get(f"{DOCS}/{keep['id']}").json()["title"] == keep["title"]
    # The trace keeps that it happened, by id, never a title or content.
    trace = client.get("/v1/record/trace", params={"limit": 200}).json()["items"]
    assert any(e["action"] == "document.delete" and e["document_id"] == doc["id"] for e in trace)
    assert words not in json.dumps(trace, ensure_ascii=False)
    rows = host.sql("SELECT * FROM trace_entries")
    assert words not in repr(rows)


def test_erasing_a_record_shreds_its_keys_and_leaves_nothing(host: LiveHost) -> None:
    words = phrase()
    deposit(host, words, f"Contenu {words}")
    client = host.login()
    host.step_up(client)
    assert client.put("/v1/record/notes", json={"text": words}).status_code == 200
    ((record_key,),) = host.sql("SELECT wrapped_key FROM record_keys")
    doc_keys = [blob(k) for (k,) in host.sql("SELECT wrapped_key FROM documents")]
    titles = [blob(t) for (t,) in host.sql("SELECT title_sealed FROM documents")]
    notes = blob(host.sql("SELECT notes FROM records")[0][0])
    secrets = [blob(record_key), notes, *doc_keys, *titles]
    assert len(doc_keys) >= 30
    if sqlite_only(host):
        assert len(found(host, *secrets)) >= len(secrets)

    assert client.post("/v1/record/erase").status_code == 200
    assert host.sql("SELECT count(*) FROM record_keys") == [(0,)]
    assert host.sql("SELECT count(*) FROM document_bodies") == [(0,)]
    if sqlite_only(host):
        assert found(host, words.encode(), *secrets) == []
        assert Path(f"{host.db_path}-wal").stat().st_size == 0  # checkpointed, truncated
    assert host.sql("SELECT action, document_id, reason FROM trace_entries") == [
        ("erase", None, None)
    ]


def test_purge_now_erases_records_closed_ten_years_ago(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(data))
    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    path = tmp_path / "p.sqlite3"
    db = f"sqlite:///{path}"
    assert main(["host", "init", "--db", db]) == EXIT_OK
    assert stat.S_IMODE(crypto.key_path(data).stat().st_mode) == 0o600
    assert main(["host", "seed-demo", "--db", db]) == EXIT_OK
    capsys.readouterr()
    h = Host(db, data)
    with h.engine.begin() as conn:
        # The demo record (seed-demo also opens a second patient's record, not closed here).
        where = f"(SELECT id FROM records WHERE ins = '{DEMO_INS}')"
        (record_key,) = conn.exec_driver_sql(
            f"SELECT wrapped_key FROM record_keys WHERE record_id = {where}"
        ).one()
        conn.exec_driver_sql(
            "UPDATE records SET status = 'closed', closed_at = '2020-01-01 00:00:00' "
            f"WHERE ins = '{DEMO_INS}'"
        )
    h.checkpoint()
    h.engine.dispose()
    assert record_key in path.read_bytes()
    assert main(["host", "purge", "--db", db, "--now", "2029-12-31", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["erased"] == 0
    assert main(["host", "purge", "--db", db, "--now", "2030-01-02", "--json"]) == EXIT_OK
    assert json.loads(capsys.readouterr().out)["erased"] == 1
    for suffix in ("", "-wal", "-journal"):
        f = Path(f"{path}{suffix}")
        assert not f.exists() or record_key not in f.read_bytes(), suffix


# --- the master key ------------------------------------------------------------------------


def test_a_wrong_or_missing_or_exposed_master_key_stops_the_host(
    host: LiveHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    other = tmp_path / "other"
    crypto.ensure_master_key(other)
    with pytest.raises(crypto.MasterKeyError, match="cannot open this database"):
        create_app(host.db_url, other)
    with pytest.raises(crypto.MasterKeyError, match="No master key"):
        create_app(host.db_url, tmp_path / "empty")
    exposed = tmp_path / "exposed"
    exposed.mkdir()
    crypto.key_path(exposed).write_bytes(crypto.key_path(host.data_dir).read_bytes())
    os.chmod(crypto.key_path(exposed), 0o644)
    with pytest.raises(crypto.MasterKeyError, match="chmod 600"):
        create_app(host.db_url, exposed)
    monkeypatch.setenv(crypto.ENV_VAR, "bm90IGEga2V5")
    with pytest.raises(crypto.MasterKeyError, match="bytes"):
        create_app(host.db_url, host.data_dir)
    # The right key in the environment works, whatever the data dir holds.
    monkeypatch.setenv(crypto.ENV_VAR, crypto.key_path(host.data_dir).read_text().strip())
    create_app(host.db_url, other).state.host.engine.dispose()
    # The command says it in words and exits 3.
    monkeypatch.delenv(crypto.ENV_VAR)
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(other))
    assert main(["host", "init", "--db", host.db_url]) == EXIT_REFUSED


def test_wrong_key_message_from_the_command(
    host: LiveHost, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(tmp_path / "elsewhere"))
    crypto.ensure_master_key(tmp_path / "elsewhere")
    assert main(["host", "init", "--db", host.db_url]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "cannot open this database" in err and "master key" in err


def test_rotate_key_rewraps_record_keys_only(
    host: LiveHost, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    words = phrase()
    doc = deposit(host, words, "avant rotation")
    old_key = crypto.read_key_file(crypto.key_path(host.data_dir))
    before_keys = host.sql("SELECT record_id, wrapped_key, master_key_id FROM record_keys")
    before_docs = host.sql("SELECT id, title_sealed, wrapped_key FROM documents ORDER BY id")
    before_bodies = host.sql("SELECT document_id, data FROM document_bodies ORDER BY document_id")
    assert {m for _, _, m in before_keys} == {old_key.id}

    monkeypatch.setenv("DMPTUI_DATA_DIR", str(host.data_dir))
    assert main(["host", "rotate-key", "--db", host.db_url, "--json"]) == EXIT_OK
    out = json.loads(capsys.readouterr().out)
    new_key = crypto.read_key_file(crypto.key_path(host.data_dir))
    assert out == {
        "old_master_key": old_key.id,
        "master_key": new_key.id,
        "record_keys_rewrapped": len(before_keys),
    }
    assert new_key.id != old_key.id
    assert stat.S_IMODE(crypto.key_path(host.data_dir).stat().st_mode) == 0o600
    assert crypto.old_key_paths(host.data_dir) == []  # removed once all rows were rewrapped
    after_keys = host.sql("SELECT record_id, wrapped_key, master_key_id FROM record_keys")
    assert {m for _, _, m in after_keys} == {new_key.id}
    assert {blob(w) for _, w, _ in after_keys}.isdisjoint({blob(w) for _, w, _ in before_keys})
    # No data re-encrypted.
    assert host.sql("SELECT id, title_sealed, wrapped_key FROM documents ORDER BY id") == (
        before_docs
    )
    assert host.sql("SELECT document_id, data FROM document_bodies ORDER BY document_id") == (
        before_bodies
    )
    # The old key alone no longer opens the database; the host restarted on the new one reads.
    with pytest.raises(crypto.MasterKeyError):
        Host(host.db_url, host.data_dir, master_key=old_key.key)
    app = create_app(host.db_url, host.data_dir, clock=host.clock)
    with serve(app) as url:
        fresh = LiveHost(url, host.db_url, host.db_path, host.data_dir, host.clock, host.creds, app)
        client = fresh.login()
        assert client.get(f"{DOCS}/{doc['id']}").json()["title"] == words
        assert client.get("/v1/record/notes").status_code == 200
        fresh.http.close()


def test_an_interrupted_rotation_resumes(host: LiveHost, monkeypatch: pytest.MonkeyPatch) -> None:
    """As if rotate-key stopped after renaming the files, before its transaction committed."""
    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    path = crypto.key_path(host.data_dir)
    old = crypto.read_key_file(path)
    os.replace(path, path.with_name(f"master.key.old-{old.id}"))
    crypto.write_key_file(path, crypto.new_data_key())
    Host(host.db_url, host.data_dir).engine.dispose()  # the old file still opens the rows
    _, new_id, count = crypto.rotate_master_key(host.db_url, host.data_dir)
    assert count == 1 and crypto.old_key_paths(host.data_dir) == []
    assert host.sql("SELECT master_key_id FROM record_keys") == [(new_id,)]
    Host(host.db_url, host.data_dir).engine.dispose()


# --- the migration -------------------------------------------------------------------------


def _upgrade(url: str, revision: str, keyring: crypto.Keyring | None = None) -> None:
    from alembic import command
    from alembic.config import Config

    import dmptui.host.db as db

    cfg = Config()
    cfg.attributes["keyring"] = keyring
    cfg.set_main_option("script_location", str(Path(db.__file__).parent / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    command.upgrade(cfg, revision)


def test_migration_seals_rows_written_before(tmp_path: Path) -> None:
    from sqlalchemy import create_engine, text

    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    _upgrade(url, "0001")
    engine = create_engine(url)
    words = phrase()
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO practitioners (rpps, name, profession, facility, regulation) "
                "VALUES ('10000000001', 'Dr A', 'medecin', 'Cabinet', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO records (id, ins, status, created_at, refuses_break_glass, "
                "refuses_regulation, notes, trace_size, display_name, totp_enrolled, "
                "totp_last_step) VALUES (1, '284057512345672', 'active', '2026-01-01', 0, 0, "
                ":n, 0, 'P', 0, 0)"
            ),
            {"n": f"notes {words}".encode()},
        )
        conn.execute(
            text(
                "INSERT INTO documents (id, record_id, type, title, author_rpps, facility, "
                "deposited_at, patient_visible_from, content_type, size, labels, notice_sent) "
                "VALUES ('d1', 1, '11502-2', :t, '10000000001', 'Cabinet', '2026-01-02', "
                "'2026-01-02', 'text/plain', 3, '[]', 0)"
            ),
            {"t": words},
        )
        conn.execute(
            text("INSERT INTO document_bodies (document_id, data) VALUES ('d1', :d)"),
            {"d": f"contenu {words}".encode()},
        )
        conn.execute(
            text(
                "INSERT INTO notifications (id, record_id, kind, at, emergency, message) "
                "VALUES (7, 1, 'new_document', '2026-01-02', 0, :m)"
            ),
            {"m": json.dumps({"fr": f"fr {words}", "en": "en"})},
        )
        conn.execute(
            text(
                "INSERT INTO outbox (id, channel, recipient, subject, body, created_at, attempts) "
                "VALUES (3, 'sms', '+33600000000', 'DMP', :b, '2026-01-02', 0)"
            ),
            {"b": f"code {words}"},
        )
    engine.dispose()
    keyring = crypto.Keyring(crypto.MasterKey(crypto.new_data_key()))
    with pytest.raises(RuntimeError, match="master key"):
        _upgrade(url, "head")
    _upgrade(url, "head", keyring)
    h = Host(url, tmp_path, master_key=keyring.master.key)
    try:
        from sqlalchemy import select

        from dmptui.host.db import Document, Notification, OutboxMessage, Record

        with h.sessions() as s:
            doc = s.get(Document, "d1")
            assert doc is not None
            assert crypto.document_title(s, doc) == words
            assert crypto.document_content(s, doc) == f"contenu {words}".encode()
            record = s.get(Record, 1)
            assert record is not None
            assert crypto.open_notes(s, 1, record.notes) == f"notes {words}"
            n = s.scalar(select(Notification))
            assert n is not None
            assert crypto.open_message(s, 1, 7, n.message_sealed)["fr"] == f"fr {words}"
            m = s.scalar(select(OutboxMessage))
            assert m is not None and m.body_sealed is not None
            assert keyring.open_outbox("3", m.body_sealed) == f"code {words}"
        h.checkpoint()
    finally:
        h.engine.dispose()
    assert words.encode() not in path.read_bytes()


def test_migration_0007_seals_totp_secrets_and_break_glass_reasons(tmp_path: Path) -> None:
    """Written in clear before 0007: the TOTP secret and a break-glass reason are sealed under
    the record key (a record with no key yet gets one); the host's reason codes stay in clear;
    without the master key the migration refuses."""
    from sqlalchemy import create_engine, select, text

    path = tmp_path / "old.sqlite3"
    url = f"sqlite:///{path}"
    _upgrade(url, "0005")
    secret = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
    words = f"Patient inconscient {uuid.uuid4().hex[:12]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO records (id, ins, status, created_at, refuses_break_glass, "
                "refuses_regulation, trace_size, display_name, totp_secret, totp_enrolled, "
                "totp_last_step) VALUES (1, '284057512345672', 'active', '2026-01-01', 0, 0, "
                "2, 'P', :s, 0, 0)"
            ),
            {"s": secret},
        )
        for seq, outcome, reason in ((1, "allowed", words), (2, "denied", "blocked")):
            conn.execute(
                text(
                    "INSERT INTO trace_entries (record_id, seq, at, actor_role, action, mode, "
                    "outcome, reason, leaf_hash) VALUES (1, :q, '2026-01-02', 'practitioner', "
                    "'documents.list', 'break-glass', :o, :r, :h)"
                ),
                {"q": seq, "o": outcome, "r": reason, "h": bytes(32)},
            )
    engine.dispose()
    keyring = crypto.Keyring(crypto.MasterKey(crypto.new_data_key()))
    with pytest.raises(RuntimeError, match="master key"):
        _upgrade(url, "head")
    _upgrade(url, "head", keyring)
    h = Host(url, tmp_path, master_key=keyring.master.key)
    try:
        from dmptui.host.db import Record, TraceEntry

        with h.sessions() as s:
            record = s.get(Record, 1)
            assert record is not None
            assert crypto.open_totp(s, 1, record.totp_secret_sealed) == secret
            entries = s.scalars(select(TraceEntry).order_by(TraceEntry.seq)).all()
            assert entries[0].reason is None and entries[0].reason_sealed is not None
            assert crypto.open_reason(s, 1, 1, entries[0].reason_sealed) == words
            assert (entries[1].reason, entries[1].reason_sealed) == ("blocked", None)
        h.checkpoint()
    finally:
        h.engine.dispose()
    for suffix in ("", "-wal"):
        f = Path(f"{path}{suffix}")
        data = f.read_bytes() if f.exists() else b""
        assert secret.encode() not in data and words.encode() not in data, suffix
