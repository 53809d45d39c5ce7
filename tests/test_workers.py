"""`dmptui host serve --workers 2`: two processes on one database (SQLite file, or PostgreSQL
with DMPTUI_TEST_DATABASE_URL). A login made through one worker works through the other, and the
login throttle counts failures across workers: nothing that must be shared lives in a process."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pyotp
import pytest
from prockit import Database, HostProcess, demo_database, login, start_host

pytestmark = pytest.mark.slow

TAG = "x-host-process"


@pytest.fixture
def db(demo_template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Database:
    return demo_database(demo_template, tmp_path)


@pytest.fixture
def workers(db: Database, tmp_path: Path) -> Iterator[HostProcess]:
    host = start_host(db.url, tmp_path / "data", workers=2)
    try:
        yield host
    finally:
        host.stop()


@pytest.fixture
def pair(workers: HostProcess) -> Iterator[tuple[httpx.Client, httpx.Client]]:
    """Two kept-alive connections answered by different workers (a connection stays with the
    worker that accepted it; the kernel picks that worker)."""
    first = httpx.Client(base_url=workers.url, timeout=30)
    tag = first.get("/v1/health").headers[TAG]
    others = []
    try:
        for _ in range(100):
            other = httpx.Client(base_url=workers.url, timeout=30)
            others.append(other)
            if other.get("/v1/health").headers[TAG] != tag:
                yield first, other
                return
        pytest.fail("100 new connections all reached the same worker")
    finally:
        first.close()
        for c in others:
            c.close()


def _tag(r: httpx.Response) -> str:
    return r.headers[TAG]


def _from_each_worker(url: str, path: str, auth: dict[str, str]) -> dict[str, httpx.Response]:
    """``GET path`` answered by each of the two workers (by their process tag): new connections
    until both answered. A kept-alive connection idle past the server's keep-alive limit (5 s:
    a slow step on a loaded machine) is closed, and its next request may reach either worker."""
    answers: dict[str, httpx.Response] = {}
    for _ in range(100):
        with httpx.Client(base_url=url, timeout=30) as c:
            r = c.get(path, headers=auth)
        answers.setdefault(_tag(r), r)
        if len(answers) == 2:
            return answers
    pytest.fail("100 new connections all reached the same worker")


def test_a_session_made_through_one_worker_works_through_the_other(
    pair: tuple[httpx.Client, httpx.Client], db: Database
) -> None:
    a, b = pair
    patient = db.creds["patient"]
    r = a.post("/v1/auth/login", json={"ins": patient["ins"], "password": patient["password"]})
    assert r.status_code == 200, r.text
    # The challenge made by worker A is answered at worker B.
    code = pyotp.TOTP(patient["totp_secret"]).now()
    r = b.post("/v1/auth/verify", json={"challenge": r.json()["challenge"], "code": code})
    assert r.status_code == 200, r.text
    auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
    # The code just used is refused by worker A too (used codes are shared).
    r = a.post("/v1/auth/login", json={"ins": patient["ins"], "password": patient["password"]})
    r = a.post("/v1/auth/verify", json={"challenge": r.json()["challenge"], "code": code})
    assert r.status_code == 401 and r.json()["error"] == "invalid_code", r.text
    ra = a.get("/v1/record/documents", headers=auth)
    rb = b.get("/v1/record/documents", headers=auth)
    assert (ra.status_code, rb.status_code) == (200, 200)
    assert _tag(ra) != _tag(rb)
    assert ra.json()["items"] == rb.json()["items"]
    # A change made through one worker is read back through the other.
    match = {"If-Match": b.get("/v1/record/notes", headers=auth).headers["ETag"]}
    r = a.put("/v1/record/notes", headers={**auth, **match}, json={"text": "partagé"})
    assert r.status_code == 200, r.text
    assert b.get("/v1/record/notes", headers=auth).json()["text"] == "partagé"
    # Logged out through B: refused by A too.
    assert b.post("/v1/auth/logout", headers=auth).status_code == 204
    assert a.get("/v1/record/documents", headers=auth).status_code == 401


def test_the_login_throttle_counts_failures_across_workers(
    pair: tuple[httpx.Client, httpx.Client], db: Database
) -> None:
    a, b = pair
    patient = db.creds["patient"]
    wrong = {"ins": patient["ins"], "password": "pas le bon mot de passe"}
    right = {"ins": patient["ins"], "password": patient["password"]}
    # auth.MAX_FAILURES = 5, split 3 + 2 across the workers: neither saw five.
    for client in (a, b, a, b, a):
        assert client.post("/v1/auth/login", json=wrong).status_code == 401
    for client in (a, b):
        r = client.post("/v1/auth/login", json=right)
        assert r.status_code == 429, r.text
        assert int(r.headers["retry-after"]) > 0


def test_replicas_starting_together_upgrade_the_schema_once(tmp_path: Path) -> None:
    """Several `dmptui host init` at the same moment on one fresh database and data dir (they
    queue on an advisory lock on PostgreSQL, on a lock file on SQLite): all succeed, the schema
    is at head, and they all use the one master key and signing key made by the first (each
    written whole before any other reads it). With three and no lock, a loaded machine saw
    "table … already exists"; eight at once saw it on a quiet one, and a master key file that
    another process had not finished writing."""
    import subprocess
    import sys

    from prockit import PG_URL, reset_postgres

    from dmptui.host.db import schema_revisions

    if PG_URL:
        reset_postgres(PG_URL)
    url = PG_URL or f"sqlite:///{tmp_path / 'fresh.sqlite3'}"
    cmd = [sys.executable, "-m", "dmptui.entry.cli", "host", "init", "--db", url]
    # Their own data dir (keys): not the home's, which other tests and runs may share.
    env = {**os.environ, "DMPTUI_DATA_DIR": str(tmp_path / "data")}
    procs = [
        subprocess.Popen(
            [*cmd, "--json"], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env
        )
        for _ in range(8)
    ]
    outputs = [p.communicate(timeout=120)[0].decode(errors="replace") for p in procs]
    assert [p.returncode for p in procs] == [0] * 8, outputs
    current, heads = schema_revisions(url)
    assert current == heads
    answers = [json.loads(out) for out in outputs]
    assert len({a["master_key"]["id"] for a in answers}) == 1
    assert sum(a["master_key"]["created"] for a in answers) == 1
    data = tmp_path / "data"
    assert sorted(p.name for p in data.iterdir()) == ["ledger.key", "master.key"]  # no draft


# --- the trace signing key, rotated under running workers ------------------------------------


def _checkpoint_key(client: httpx.Client, auth: dict[str, str]) -> tuple[int, str | None]:
    r = client.get("/v1/record/trace/checkpoint", headers=auth)
    return r.status_code, r.json().get("key_id")


def _rotate_ledger_key(db: Database, data_dir: Path, monkeypatch: Any, capsys: Any) -> str:
    from dmptui.entry.cli import EXIT_OK, main

    monkeypatch.setenv("DMPTUI_DATA_DIR", str(data_dir))
    capsys.readouterr()
    assert main(["host", "rotate-ledger-key", "--db", db.url]) == EXIT_OK
    return capsys.readouterr().out


def test_workers_started_before_a_rotation_sign_with_the_new_key(
    pair: tuple[httpx.Client, httpx.Client],
    workers: HostProcess,
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Each worker reads the history's newest key id before it signs a checkpoint: after the
    command, both sign with the new key without a restart, and after one."""
    from dmptui.host import ledger

    monkeypatch.delenv(ledger.KEY_ENV, raising=False)
    a, b = pair
    auth = {"Authorization": f"Bearer {login(workers.url, db.creds)}"}
    data_dir = tmp_path / "data"
    old = ledger.load_key(data_dir).key_id
    assert [_checkpoint_key(c, auth) for c in (a, b)] == [(200, old), (200, old)]
    tags = {_tag(c.get("/v1/health")) for c in (a, b)}
    _rotate_ledger_key(db, data_dir, monkeypatch, capsys)
    new = ledger.load_key(data_dir).key_id
    assert new != old
    signed = _from_each_worker(workers.url, "/v1/record/trace/checkpoint", auth)
    assert set(signed) == tags  # the same two workers: neither restarted
    assert [r.json()["key_id"] for r in signed.values()] == [new, new]
    for r in _from_each_worker(workers.url, "/v1/ledger/key", {}).values():
        key = r.json()
        assert key["key_id"] == new and [x["key_id"] for x in key["chain"]] == [new]
    workers.stop()
    restarted = start_host(db.url, data_dir, workers=2)
    try:
        with httpx.Client(base_url=restarted.url, timeout=30) as c:
            assert _checkpoint_key(c, auth) == (200, new)
    finally:
        restarted.stop()


def test_workers_with_the_key_in_the_environment_wait_for_a_restart(
    db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    """A running process cannot re-read DMPTUI_LEDGER_KEY: after the rotation the workers refuse
    to sign (503) rather than sign with the replaced key; a host started with the old key
    refuses to start; restarted with the printed key, they sign with it."""
    from dmptui.host import ledger

    data_dir = tmp_path / "data"
    ledger.create_key_file(data_dir)
    monkeypatch.setenv(ledger.KEY_ENV, (data_dir / ledger.KEY_FILE).read_text().strip())
    (data_dir / ledger.KEY_FILE).unlink()
    host = start_host(db.url, data_dir, workers=2)
    try:
        auth = {"Authorization": f"Bearer {login(host.url, db.creds)}"}
        with httpx.Client(base_url=host.url, timeout=30) as c:
            assert _checkpoint_key(c, auth)[0] == 200
            out = _rotate_ledger_key(db, data_dir, monkeypatch, capsys)
            new = out.rsplit(f"{ledger.KEY_ENV}=", 1)[1].strip()
            assert _checkpoint_key(c, auth) == (503, None)
    finally:
        host.stop()
    with pytest.raises(RuntimeError, match="was replaced by"):
        start_host(db.url, data_dir, workers=1)
    monkeypatch.setenv(ledger.KEY_ENV, new)
    host = start_host(db.url, data_dir, workers=2)
    try:
        with httpx.Client(base_url=host.url, timeout=30) as c:
            assert _checkpoint_key(c, auth) == (200, ledger._decode_key(new).key_id)
    finally:
        host.stop()


def _kill_the_hosts_connections(url: str) -> int:
    """Terminate every other backend on the test database (the host's pooled connections)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.pool import NullPool

    killer = create_engine(url, poolclass=NullPool)
    try:
        with killer.connect() as conn:
            return len(
                conn.execute(
                    text(
                        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
                ).all()
            )
    finally:
        killer.dispose()


@pytest.mark.postgresql_only
def test_a_postgresql_connection_that_died_is_replaced_or_said_in_words(
    host: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pooled connections idle for a while are pinged before use (a dead one is replaced, the
    request never sees it); one used a moment ago is not (a round trip saved per request): if
    that one died, its request is answered 503 in words and the next one works."""
    from dmptui.host import db

    engine = host.app.state.host.engine
    assert engine.dialect.name == "postgresql"
    client = host.login()
    assert client.get("/v1/record").status_code == 200
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 0.0)  # every connection counts as idle
    assert _kill_the_hosts_connections(engine.url.render_as_string(hide_password=False)) >= 1
    assert client.get("/v1/record").status_code == 200  # replaced at checkout, unseen
    monkeypatch.setattr(db, "PING_AFTER_IDLE", 3600.0)  # every connection counts as just used
    assert _kill_the_hosts_connections(engine.url.render_as_string(hide_password=False)) >= 1
    r = client.get("/v1/record")
    assert r.status_code == 503, r.text
    assert r.json()["error"] == "database_unavailable" and r.headers["Retry-After"] == "2"
    assert "try again" in r.json()["message"]
    assert client.get("/v1/record").status_code == 200  # the pool was replaced
