"""Spent login state is purged with the maintenance duties, on the real host's database (SQLite,
and PostgreSQL with DMPTUI_TEST_DATABASE_URL): throttle rows past their window (most of them for
INS no record has), expired challenges, sessions past their absolute lifetime. What is still in
force (a running lock, a live challenge, a live session) stays and keeps working."""

from __future__ import annotations

import httpx
from hostkit import LiveHost

from dmptui.host import auth
from dmptui.host.app import run_maintenance
from dmptui.identifiers import ins_key


def unknown_ins(n: int) -> str:
    body = f"1{n:012d}"
    return f"{body}{ins_key(body):02d}"


def fail_login(host: LiveHost, ins: str) -> httpx.Response:
    return host.http.post("/v1/auth/login", json={"ins": ins, "password": "wrong password 123"})


def count(host: LiveHost, table: str) -> int:
    return host.sql(f"SELECT count(*) FROM {table}")[0][0]


def maintain(host: LiveHost) -> None:
    run_maintenance(host.app.state.host, None)


def test_spent_login_state_is_purged_and_live_state_kept(host: LiveHost) -> None:
    # Ten unknown INS, one failure each: ten throttle rows.
    for n in range(10):
        assert fail_login(host, unknown_ins(n)).status_code == 401
    assert count(host, "login_throttle") == 10
    # A challenge left unanswered, and a live session.
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
    assert r.status_code == 200
    client = host.login()
    assert count(host, "login_challenges") == 2 and count(host, "sessions") == 1
    maintain(host)  # nothing is spent yet
    assert count(host, "login_throttle") == 11  # the patient's own row too
    assert count(host, "login_challenges") == 2 and count(host, "sessions") == 1

    # The patient keeps using the session (a request within the idle limit), so it stays live.
    host.clock.advance(seconds=auth.CHALLENGE_TTL.total_seconds())
    assert client.get("/v1/record").status_code == 200
    host.clock.advance(seconds=(auth.FAILURE_WINDOW - auth.CHALLENGE_TTL).total_seconds() + 60)
    locked = unknown_ins(99)
    for _ in range(auth.MAX_FAILURES):
        fail_login(host, locked)
    assert fail_login(host, locked).status_code == 429
    maintain(host)
    # The ten windows and the patient's have passed; the lock is running; both challenges
    # (10 minutes) have expired; the session (used 6 minutes ago) is kept and still refreshes.
    assert host.sql("SELECT ins FROM login_throttle") == [(locked,)]
    assert count(host, "login_challenges") == 0
    assert count(host, "sessions") == 1
    refresh = client.tokens["refresh_token"]  # type: ignore[attr-defined]
    r = host.http.post("/v1/auth/refresh", json={"refresh_token": refresh})
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    assert client.get("/v1/record").status_code == 200
    assert fail_login(host, locked).status_code == 429  # the purge did not lift the lock

    host.clock.advance(seconds=auth.LOCK_FOR.total_seconds() + 60)
    maintain(host)
    assert count(host, "login_throttle") == 0
    # Its INS starts afresh, as it would have without the purge: a wrong password, not locked.
    assert fail_login(host, locked).status_code == 401
    # 16 minutes without a request: the refresh is refused (idle) and ends the session; the
    # ended row stays until its absolute lifetime has passed.
    r = host.http.post("/v1/auth/refresh", json={"refresh_token": refresh})
    assert r.status_code == 401 and r.json()["reason"] == "idle", r.text
    assert host.sql("SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL") == [(1,)]
    maintain(host)
    assert count(host, "sessions") == 1

    # Past the session's absolute lifetime it is refused, then purged.
    host.clock.advance(seconds=auth.SESSION_ABSOLUTE.total_seconds())
    assert client.get("/v1/record").status_code == 401
    r = host.http.post("/v1/auth/refresh", json={"refresh_token": refresh})
    assert r.status_code == 401
    maintain(host)
    assert count(host, "sessions") == 0 and count(host, "login_throttle") == 0
    # Logging in again works and makes exactly its own rows.
    again = host.login()
    assert again.get("/v1/record").status_code == 200
    assert count(host, "sessions") == 1
