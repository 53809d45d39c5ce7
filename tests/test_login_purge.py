"""Spent login state is purged with the maintenance duties, on the real host's database (SQLite,
and PostgreSQL with DMPTUI_TEST_DATABASE_URL): throttle rows past their window (most of them for
INS no record has), expired challenges, sessions past their absolute lifetime. What is still in
force (a running lock, a live challenge, a live session) stays and keeps working."""

from __future__ import annotations

import httpx
from hostkit import LiveHost

from dmptui.host import auth, policy
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
    host.clock.advance(seconds=6 * 60)
    maintain(host)
    # Changed with the lockout of issue 12: throttle rows now go a quiet day after their last
    # failure (the next test); here both challenges (10 minutes) have expired; the session
    # (used 6 minutes ago) is kept and still refreshes.
    assert count(host, "login_throttle") == 11
    assert count(host, "login_challenges") == 0
    assert count(host, "sessions") == 1
    refresh = client.tokens["refresh_token"]  # type: ignore[attr-defined]
    r = host.http.post("/v1/auth/refresh", json={"refresh_token": refresh})
    assert r.status_code == 200, r.text
    refresh = r.json()["refresh_token"]
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    assert client.get("/v1/record").status_code == 200

    host.clock.advance(minutes=16)
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
    assert count(host, "sessions") == 0
    # Logging in again works and makes exactly its own rows.
    again = host.login()
    assert again.get("/v1/record").status_code == 200
    assert count(host, "sessions") == 1


def test_throttle_rows_go_once_their_failures_are_forgotten(host: LiveHost) -> None:
    """A row goes a quiet day (policy.FORGET_AFTER) after its last failure and the end of its
    pause, when the rule would forget its failures anyway; a running pause, and the failures
    a pause must grow from, stay."""
    for n in range(10):
        assert fail_login(host, unknown_ins(n)).status_code == 401
    host.clock.advance(seconds=policy.FORGET_AFTER.total_seconds() - 3600)
    locked = unknown_ins(99)
    for _ in range(policy.FREE_TRIES):
        fail_login(host, locked)
    for _ in range(6):  # the pause (1 min), then one try at each end: 2, 4 … 32, 60 min
        host.clock.advance(seconds=int(fail_login(host, locked).headers["retry-after"]))
    r = fail_login(host, locked)
    assert r.status_code == 401 and r.headers["retry-after"] == "3600"
    maintain(host)
    # The ten rows' day has passed; the pause is running.
    assert host.sql("SELECT ins FROM login_throttle") == [(locked,)]
    assert fail_login(host, locked).status_code == 429  # the purge did not lift the pause

    host.clock.advance(seconds=policy.LONGEST_PAUSE.total_seconds() + 60)
    maintain(host)  # the pause has ended, but the failures it grows from stay for a day
    assert host.sql("SELECT ins FROM login_throttle") == [(locked,)]
    r = fail_login(host, locked)
    assert r.status_code == 401 and r.headers["retry-after"] == "3600"
    host.clock.advance(seconds=(policy.FORGET_AFTER + policy.LONGEST_PAUSE).total_seconds())
    maintain(host)
    assert count(host, "login_throttle") == 0
    # Its INS starts afresh, as it would have without the purge: a wrong password, no pause.
    r = fail_login(host, locked)
    assert r.status_code == 401 and "tries_left" not in r.json()
