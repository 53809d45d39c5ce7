"""Files at rest are the owner's alone: the database (and its -wal, -shm), the master key, the
ledger key and the file outbox are 0600 whatever the umask and wherever ``--db`` puts the
database; a ledger key others may read stops the host, as a master key does. SQLite only for the
database files (PostgreSQL keeps its own); the keys and the outbox on both."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from dmptui.entry.cli import EXIT_OK, EXIT_REFUSED, main
from dmptui.host import crypto, ledger, outbox
from dmptui.host.app import create_app, run_maintenance
from dmptui.host.context import Host
from dmptui.host.outbox import FileTransport, Router


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def loose_umask() -> Iterator[None]:
    """The usual umask of a shell: files created without care are 0644."""
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def test_every_file_the_host_writes_is_private_under_umask_022(
    tmp_path: Path,
    loose_umask: None,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    data = tmp_path / "data"
    elsewhere = tmp_path / "shared"  # --db outside the data dir, in a directory others may read
    elsewhere.mkdir(mode=0o755)
    db = elsewhere / "dmp.sqlite3"
    url = f"sqlite:///{db}"
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(data))
    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    monkeypatch.delenv(ledger.KEY_ENV, raising=False)
    assert main(["host", "init", "--db", url]) == EXIT_OK
    assert main(["host", "seed-demo", "--db", url, "--json"]) == EXIT_OK
    capsys.readouterr()  # the demo's credentials
    files = FileTransport(data / "outbox")
    app = create_app(url, data, transport=Router(files, files))
    host: Host = app.state.host
    try:
        # Something to send: a new-device notice by email to the demo patient.
        from dmptui.host import notifications
        from dmptui.host.db import Record

        with host.tx() as s:
            # seed-demo adds a second record, not yet activated (new_patient): the demo's.
            record = s.query(Record).filter(Record.activated_at.is_not(None)).one()
            notifications.new_device(s, record, host.now())
        run_maintenance(host, Router(files, files))
        # The pool keeps its connection open: the WAL and its index are there.
        written = [db, Path(f"{db}-wal"), Path(f"{db}-shm")]
        written += [crypto.key_path(data), data / ledger.KEY_FILE, files.path]
        assert all(p.exists() for p in written)
        assert {str(p): oct(mode(p)) for p in written} == {str(p): oct(0o600) for p in written}
    finally:
        host.engine.dispose()


def test_a_database_file_others_can_read_is_made_private_at_start(
    host: object, tmp_path: Path
) -> None:
    from hostkit import LiveHost

    assert isinstance(host, LiveHost)
    if host.db_path is None:
        pytest.skip("PostgreSQL keeps its own files")
    host.app.state.host.engine.dispose()
    for suffix in ("", "-wal", "-shm"):
        f = Path(f"{host.db_path}{suffix}")
        if f.exists():
            os.chmod(f, 0o644)
    h = Host(host.db_url, host.data_dir)
    try:
        with h.engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1").all()
        for suffix in ("", "-wal", "-shm"):
            f = Path(f"{host.db_path}{suffix}")
            assert not f.exists() or mode(f) == 0o600, f
    finally:
        h.engine.dispose()


def test_a_ledger_key_others_can_read_stops_the_host(
    host: object, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from hostkit import LiveHost

    assert isinstance(host, LiveHost)
    monkeypatch.delenv(ledger.KEY_ENV, raising=False)
    key = host.data_dir / ledger.KEY_FILE
    assert key.exists() and mode(key) == 0o600
    for loose in (0o644, 0o640, 0o604):
        os.chmod(key, loose)
        with pytest.raises(ledger.LedgerKeyError) as e:
            create_app(host.db_url, host.data_dir)
        text = str(e.value)
        assert f"chmod 600 {key}" in text, text
        assert "lisible par d'autres" in text and "can be read by other users" in text
    # The command says it in both languages and exits 3, serving nothing.
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(host.data_dir))
    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    assert main(["host", "serve", "--db", host.db_url, "--port", "1"]) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert f"chmod 600 {key}" in err and "Rendez-la privée" in err
    os.chmod(key, 0o600)
    create_app(host.db_url, host.data_dir).state.host.engine.dispose()


def test_a_master_key_message_says_it_in_french_and_english(
    host: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hostkit import LiveHost

    assert isinstance(host, LiveHost)
    monkeypatch.delenv(crypto.ENV_VAR, raising=False)
    path = crypto.key_path(host.data_dir)
    os.chmod(path, 0o640)
    try:
        with pytest.raises(crypto.MasterKeyError) as e:
            create_app(host.db_url, host.data_dir)
        assert f"chmod 600 {path}" in str(e.value) and "Rendez-la privée" in str(e.value)
    finally:
        os.chmod(path, 0o600)


def test_an_outbox_file_others_can_read_is_made_private(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from dmptui.host.db import OutboxMessage

    files = FileTransport(tmp_path / "outbox")
    files.directory.mkdir(mode=0o700)
    files.path.write_text("")
    os.chmod(files.path, 0o644)
    message = OutboxMessage(
        id=1,
        record_id=None,
        channel="sms",
        recipient="+33600000000",
        subject="DMP",
        created_at=datetime.now(UTC),
    )
    message.body = "x"
    with pytest.raises(ValueError, match="sealed"):  # never a message the outbox did not seal
        files.send(message)
    outbox.seal_for_file(crypto.Keyring(crypto.MasterKey(crypto.new_data_key())), message)
    files.send(message)
    assert mode(files.path) == 0o600
