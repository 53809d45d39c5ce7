"""Rotating the trace signing key (``dmptui host rotate-ledger-key``), host side: the real host
over HTTP on a real SQLite file (or PostgreSQL with DMPTUI_TEST_DATABASE_URL), the command run
as the operator runs it. The app's side is in ``test_trace_check.py``; worker processes in
``test_workers.py``."""

from __future__ import annotations

import base64
import json
import os
from typing import Any

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hostkit import LiveHost, serve

from dmptui import merkle
from dmptui.entry.cli import EXIT_OK, EXIT_REFUSED, main
from dmptui.host import ledger
from dmptui.host.app import create_app
from dmptui.schema import CheckpointOut, LedgerKeyOut


def _rotate(host: LiveHost, monkeypatch: pytest.MonkeyPatch, capsys: Any, *extra: str) -> Any:
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(host.data_dir))
    capsys.readouterr()
    code = main(["host", "rotate-ledger-key", "--db", host.db_url, *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def _published(host: LiveHost) -> LedgerKeyOut:
    r = host.http.get("/v1/ledger/key")  # no login
    assert r.status_code == 200, r.text
    return LedgerKeyOut.model_validate(r.json())


def _checkpoint(client: Any) -> tuple[int, Any]:
    r = client.get("/v1/record/trace/checkpoint")
    return r.status_code, r.json()


def _verifies(public_b64: str, signature_b64: str, message: bytes) -> bool:
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))
    try:
        public.verify(base64.b64decode(signature_b64), message)
    except InvalidSignature:
        return False
    return True


def test_each_rotation_is_endorsed_by_the_key_before(host, monkeypatch, capsys) -> None:
    client = host.login()
    first = _published(host)
    assert first.chain == []
    k1 = ledger.load_key(host.data_dir)
    assert first.key_id == k1.key_id

    code, out, _ = _rotate(host, monkeypatch, capsys)
    assert code == EXIT_OK
    assert f"Trace signing key rotated: {k1.key_id} -> " in out
    assert "Clé de signature de la trace changée" in out
    assert "no restart needed" in out and "sans redémarrage" in out
    k2 = ledger.load_key(host.data_dir)
    assert k2.key_id != k1.key_id
    code, out, _ = _rotate(host, monkeypatch, capsys, "--json")
    assert code == EXIT_OK
    answer = json.loads(out)
    assert answer["old_key_id"] == k2.key_id and "new_ledger_key" not in answer
    k3 = ledger.load_key(host.data_dir)
    assert answer["key_id"] == k3.key_id

    key = _published(host)
    assert key.key_id == k3.key_id
    assert [(x.previous_key_id, x.key_id) for x in key.chain] == [
        (k1.key_id, k2.key_id),
        (k2.key_id, k3.key_id),
    ]
    for link in key.chain:
        message = merkle.key_endorsement_message(
            base64.b64decode(link.previous_public_key),
            base64.b64decode(link.public_key),
            link.signed_at,
        )
        assert message.startswith(b"dmptui-trace-key-endorsement/v1\n")
        assert _verifies(link.previous_public_key, link.signature, message)
        # Domain separation: the endorsement is no checkpoint, and the new key did not sign it.
        assert not _verifies(link.public_key, link.signature, message)
    assert key.chain[0].previous_public_key == first.public_key

    # The running host signs with the newest key, and its checkpoints verify with it.
    status, body = _checkpoint(client)
    assert status == 200
    cp = CheckpointOut.model_validate(body)
    assert cp.key_id == k3.key_id
    message = merkle.checkpoint_message(cp.ins, cp.tree_size, cp.root_hash, cp.signed_at)
    assert _verifies(key.public_key, cp.signature, message)

    # The private keys stay out of the database; the file is the new one, 0600, nothing left.
    path = host.data_dir / ledger.KEY_FILE
    assert path.stat().st_mode & 0o777 == 0o600
    assert not (host.data_dir / ledger.NEW_KEY_FILE).exists()
    rows = host.sql("SELECT key_id, public_key, endorsement FROM ledger_keys ORDER BY id")
    assert [r[0] for r in rows] == [k1.key_id, k2.key_id, k3.key_id]
    assert rows[0][2] is None
    private_bytes = {_raw(k) for k in (k1, k2, k3)}
    assert not any(raw in bytes(col) for raw in private_bytes for r in rows for col in r[1:] if col)

    # A host restarted on this database and data dir signs with the newest key.
    app = create_app(host.db_url, host.data_dir, clock=host.clock)
    with serve(app) as url:
        fresh = LiveHost(url, host.db_url, host.db_path, host.data_dir, host.clock, host.creds, app)
        assert _checkpoint(fresh.login())[1]["key_id"] == k3.key_id
        assert _published(fresh) == key
        fresh.http.close()


def _raw(key: ledger.LedgerKey) -> bytes:
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    return key.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())


def test_with_the_key_in_the_environment_the_operator_is_told_what_to_do(
    host, monkeypatch, capsys
) -> None:
    """DMPTUI_LEDGER_KEY cannot be rewritten by the command: it prints the new key and says to
    set it and restart. Until then the running host refuses to sign with the replaced key (503,
    the app says "could not be checked this time"); a host started with the old key refuses to
    start; started with the new one, it signs with it."""
    old = (host.data_dir / ledger.KEY_FILE).read_text().strip()
    monkeypatch.setenv(ledger.KEY_ENV, old)
    (host.data_dir / ledger.KEY_FILE).unlink()  # the key lives in the environment only
    client = host.login()
    assert _checkpoint(client)[0] == 200

    code, out, _ = _rotate(host, monkeypatch, capsys)
    assert code == EXIT_OK
    assert f"The key comes from {ledger.KEY_ENV}: this command cannot change that variable" in out
    assert f"La clé vient de {ledger.KEY_ENV}" in out
    assert "restart every host process" in out and "redémarrez chaque processus" in out
    (line,) = [x for x in out.splitlines() if x.startswith(f"{ledger.KEY_ENV}=")]
    new = line.split("=", 1)[1]
    assert new != old
    assert not (host.data_dir / ledger.KEY_FILE).exists()  # nothing written to the data dir

    status, body = _checkpoint(client)
    assert status == 503 and body["error"] == "ledger_key_replaced", body
    assert _published(host).key_id == ledger._decode_key(new).key_id  # the public side moved on
    with pytest.raises(ledger.StaleLedgerKey, match="give the host the new key and restart"):
        create_app(host.db_url, host.data_dir, clock=host.clock)
    monkeypatch.setenv(ledger.KEY_ENV, new)
    assert _checkpoint(client)[1]["key_id"] == ledger._decode_key(new).key_id
    app = create_app(host.db_url, host.data_dir, clock=host.clock)
    with serve(app) as url:
        fresh = LiveHost(url, host.db_url, host.db_path, host.data_dir, host.clock, host.creds, app)
        status, body = _checkpoint(fresh.login())
        assert status == 200 and body["key_id"] == ledger._decode_key(new).key_id
        fresh.http.close()


def test_serve_with_the_replaced_key_in_the_environment_refuses_to_start(
    host, monkeypatch, capsys
) -> None:
    old = (host.data_dir / ledger.KEY_FILE).read_text().strip()
    monkeypatch.setenv(ledger.KEY_ENV, old)
    assert _rotate(host, monkeypatch, capsys)[0] == EXIT_OK
    args = ["host", "serve", "--db", host.db_url, "--port", "9", "--no-migrate"]
    assert main(args) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "was replaced by" in err and "a été remplacée par" in err


def test_the_command_refuses_a_data_dir_without_the_key(host, monkeypatch, capsys, tmp_path):
    monkeypatch.delenv(ledger.KEY_ENV, raising=False)
    elsewhere = tmp_path / "elsewhere"
    from dmptui.host import crypto

    crypto.write_key_file(
        crypto.key_path(elsewhere), crypto.read_key_file(crypto.key_path(host.data_dir)).key
    )
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(elsewhere))
    assert main(["host", "rotate-ledger-key", "--db", host.db_url]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "No signing key in" in err and "Pas de clé de signature dans" in err
    # A key that never signed for this host is refused too (no unendorsed key slips in).
    ledger.create_key_file(elsewhere)
    assert main(["host", "rotate-ledger-key", "--db", host.db_url]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "never signed for this host" in err and "n'a jamais signé pour cet hôte" in err
    assert len(host.sql("SELECT key_id FROM ledger_keys")) == 1


def test_an_interrupted_rotation_is_finished(host, monkeypatch, capsys) -> None:
    """Stopped after the history was committed, before the new file was renamed: the running
    host signs with ``ledger.key.new`` (the key the history names), and the command run again
    finishes the rename, then rotates."""
    client = host.login()
    k1 = ledger.load_key(host.data_dir)
    real = os.replace

    def stop_at_rename(src: Any, dst: Any) -> None:
        if str(src).endswith(ledger.NEW_KEY_FILE):
            raise KeyboardInterrupt
        real(src, dst)

    monkeypatch.setattr(ledger.os, "replace", stop_at_rename)
    with pytest.raises(KeyboardInterrupt):
        _rotate(host, monkeypatch, capsys)
    monkeypatch.setattr(ledger.os, "replace", real)
    pending = ledger._decode_key((host.data_dir / ledger.NEW_KEY_FILE).read_text())
    assert ledger.load_key(host.data_dir).key_id == k1.key_id  # the file is still the old key
    assert _published(host).key_id == pending.key_id
    assert _checkpoint(client)[1]["key_id"] == pending.key_id

    code, out, _ = _rotate(host, monkeypatch, capsys, "--json")
    assert code == EXIT_OK and json.loads(out)["old_key_id"] == pending.key_id
    assert not (host.data_dir / ledger.NEW_KEY_FILE).exists()
    newest = ledger.load_key(host.data_dir)
    chain = _published(host).chain
    assert [(x.previous_key_id, x.key_id) for x in chain] == [
        (k1.key_id, pending.key_id),
        (pending.key_id, newest.key_id),
    ]
    assert _checkpoint(client)[1]["key_id"] == newest.key_id


def test_a_key_vouches_for_one_successor_only(host) -> None:
    """Two rotations from the same key (two operators at once): the second is refused."""
    from datetime import UTC, datetime

    from sqlalchemy.exc import IntegrityError

    k1 = ledger.load_key(host.data_dir)
    row = {"k": "0" * 16, "p": b"\0" * 32, "at": datetime.now(UTC).replace(tzinfo=None)}
    host.sql(
        "INSERT INTO ledger_keys (key_id, public_key, created_at, previous_key_id, endorsement) "
        "VALUES (:k, :p, :at, :prev, :sig)",
        {**row, "prev": k1.key_id, "sig": b"\0" * 64},
    )
    with pytest.raises(IntegrityError):
        host.sql(
            "INSERT INTO ledger_keys (key_id, public_key, created_at, previous_key_id, "
            "endorsement) VALUES (:k, :p, :at, :prev, :sig)",
            {**row, "k": "1" * 16, "prev": k1.key_id, "sig": b"\0" * 64},
        )
