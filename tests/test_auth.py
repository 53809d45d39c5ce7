"""Patient login over real HTTP: INS + password + one-time code, throttling, tokens, step-up."""

from __future__ import annotations

import json

from hostkit import LiveHost

from dmptui.host import auth, policy


def _login(host: LiveHost, ins: str | None = None, password: str | None = None):
    return host.http.post(
        "/v1/auth/login", json={"ins": ins or host.ins, "password": password or host.password}
    )


def test_login_with_totp_gives_tokens_and_never_the_secret(host: LiveHost) -> None:
    r = _login(host)
    assert r.status_code == 200
    body = r.json()
    assert body["channels"][0] == "totp" and {"sms", "email"} <= set(body["channels"])
    # The demo patient is seeded activated: the password alone gives no secret, even before
    # the first login (the first enrolment needs an activation code, test_activation.py).
    assert body["enrolment"] is None and body["activation_required"] is False
    r = host.http.post(
        "/v1/auth/verify", json={"challenge": body["challenge"], "code": host.code()}
    )
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["expires_in"] == 900 and len(tokens["access_token"]) >= 22
    # Tokens are stored as digests only.
    stored = host.sql("SELECT access_hash, refresh_hash FROM sessions")
    assert stored == [(auth.digest(tokens["access_token"]), auth.digest(tokens["refresh_token"]))]
    assert _login(host).json()["enrolment"] is None
    # The login is traced.
    assert host.sql("SELECT action, outcome FROM trace_entries ORDER BY id DESC LIMIT 1") == [
        ("login", "allowed")
    ]


def test_unknown_ins_and_wrong_password_get_the_same_answer(host: LiveHost) -> None:
    wrong = _login(host, password="Pas-le-bon-mot-2026")
    unknown = _login(host, ins="175027512304256")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()


def test_malformed_ins_is_refused_naming_the_field_and_nothing_is_written(host: LiveHost) -> None:
    before = host.sql("SELECT count(*) FROM login_throttle")
    r = _login(host, ins="284057512345600")
    assert r.status_code == 422
    assert r.json()["field"] == "ins" and r.json()["reason"] == "ins_key"
    r = _login(host, ins="1234")
    assert r.json()["reason"] == "ins_length"
    assert host.sql("SELECT count(*) FROM login_throttle") == before


def test_failed_attempts_lock_the_ins_known_or_not(host: LiveHost) -> None:
    # Changed with the lockout of issue 12: the fifth failure starts a pause of one minute
    # (growing with each failure after it; tests/test_lockout.py), no longer 15 minutes.
    for ins in (host.ins, "175027512304256"):
        for _ in range(policy.FREE_TRIES):
            assert _login(host, ins=ins, password="Mauvais-mot-de-passe").status_code == 401
        locked = _login(host, ins=ins, password=host.password if ins == host.ins else "x" * 12)
        assert locked.status_code == 429 and locked.json()["error"] == "locked"
        assert int(locked.headers["retry-after"]) > 0
    host.clock.advance(minutes=1, seconds=1)
    assert _login(host).status_code == 200


def test_a_used_totp_code_is_refused(host: LiveHost) -> None:
    code = host.code()
    c1 = _login(host).json()["challenge"]
    assert (
        host.http.post("/v1/auth/verify", json={"challenge": c1, "code": code}).status_code == 200
    )
    c2 = _login(host).json()["challenge"]
    r = host.http.post("/v1/auth/verify", json={"challenge": c2, "code": code})
    assert r.status_code == 401 and r.json()["error"] == "invalid_code"


def test_totp_accepts_one_step_of_drift_not_two(host: LiveHost) -> None:
    totp = host.totp
    host.clock.advance(seconds=300)
    now = host.clock()
    c = _login(host).json()["challenge"]
    too_old = totp.at(now, counter_offset=-2)
    assert (
        host.http.post("/v1/auth/verify", json={"challenge": c, "code": too_old}).status_code == 401
    )
    drift = totp.at(now, counter_offset=-1)
    assert (
        host.http.post("/v1/auth/verify", json={"challenge": c, "code": drift}).status_code == 200
    )


def test_code_by_sms_goes_through_the_outbox_and_is_single_use(host: LiveHost) -> None:
    c = _login(host).json()["challenge"]
    r = host.http.post("/v1/auth/otp", json={"challenge": c, "channel": "sms"})
    assert r.status_code == 200
    assert r.json()["destination"].endswith("78")
    body = host.outbox_body("sms", unsent=True)
    code = body.split(":")[1].split()[0]
    assert len(code) == 6
    r = host.http.post("/v1/auth/verify", json={"challenge": c, "code": code})
    assert r.status_code == 200
    # The challenge is spent.
    r = host.http.post("/v1/auth/verify", json={"challenge": c, "code": code})
    assert r.status_code == 401 and r.json()["error"] == "challenge_expired"


def test_code_format_is_checked_before_anything(host: LiveHost) -> None:
    c = _login(host).json()["challenge"]
    r = host.http.post("/v1/auth/verify", json={"challenge": c, "code": "12345"})
    assert r.status_code == 422 and r.json()["field"] == "code"


def test_too_many_wrong_codes_kill_the_challenge(host: LiveHost) -> None:
    c = _login(host).json()["challenge"]
    for _ in range(auth.MAX_CODE_ATTEMPTS):
        assert (
            host.http.post("/v1/auth/verify", json={"challenge": c, "code": "000000"}).status_code
            == 401
        )
    r = host.http.post("/v1/auth/verify", json={"challenge": c, "code": host.code()})
    assert r.status_code in (401, 429)


def _refresh(host: LiveHost, token: str):
    return host.http.post("/v1/auth/refresh", json={"refresh_token": token})


def test_session_idles_out_after_15_minutes_and_absolute_12_hours(host: LiveHost) -> None:
    # Changed with the refresh rule: this test used to refresh a session idle for 30 minutes
    # and get 200; a refresh token now lives no longer than its session (see the next tests).
    client = host.login()
    assert client.get("/v1/record").status_code == 200
    host.clock.advance(minutes=14)
    assert client.get("/v1/record").status_code == 200
    # Refresh works within the idle limit, rotates both tokens, and the old refresh token dies.
    host.clock.advance(minutes=14)
    old = client.tokens["refresh_token"]
    r = _refresh(host, old)
    assert r.status_code == 200
    new = r.json()
    assert new["refresh_token"] != old and new["access_token"] != client.tokens["access_token"]
    client.headers["Authorization"] = f"Bearer {new['access_token']}"
    assert client.get("/v1/record").status_code == 200
    # Kept alive by use, the session still ends 12 h after the login.
    token = new["refresh_token"]
    for _ in range(12 * 60 // 14 - 2):
        host.clock.advance(minutes=14)
        r = _refresh(host, token)
        assert r.status_code == 200, r.text
        token = r.json()["refresh_token"]
    host.clock.advance(minutes=14)
    r = _refresh(host, token)
    assert r.status_code == 401 and r.json()["error"] == "session_expired"


def test_after_the_idle_limit_refresh_is_refused_and_the_session_ends(host: LiveHost) -> None:
    client = host.login()
    host.clock.advance(minutes=15, seconds=30)
    r = client.get("/v1/record")
    assert r.status_code == 401 and r.json()["error"] == "session_expired"
    r = _refresh(host, client.tokens["refresh_token"])
    assert r.status_code == 401
    assert (r.json()["error"], r.json()["reason"]) == ("session_expired", "idle")
    assert r.json()["message"] == "Your session has ended; log in again."
    # Ended for good: the refresh token does not work again, whatever the clock says.
    assert host.sql("SELECT revoked_at IS NOT NULL FROM sessions") == [(True,)]
    assert _refresh(host, client.tokens["refresh_token"]).status_code == 401
    # A fresh login is the way back.
    assert host.login().get("/v1/record").status_code == 200


def test_refresh_within_the_idle_limit_counts_from_the_last_request(host: LiveHost) -> None:
    client = host.login()
    host.clock.advance(minutes=10)
    assert client.get("/v1/record").status_code == 200  # activity: the idle clock starts again
    host.clock.advance(minutes=14)
    assert _refresh(host, client.tokens["refresh_token"]).status_code == 200


def test_a_reused_refresh_token_ends_the_whole_session(host: LiveHost) -> None:
    client = host.login()
    other = host.login()  # another session of the same patient: not touched
    stolen = client.tokens["refresh_token"]
    r = _refresh(host, stolen)
    assert r.status_code == 200
    newer = r.json()
    # The spent token shown again (by a thief, or by the owner after the thief): refused, and
    # the whole session ends, so whoever holds the newer tokens is logged out too.
    r = _refresh(host, stolen)
    assert r.status_code == 401
    assert (r.json()["error"], r.json()["reason"]) == ("session_expired", "refresh_reused")
    newer_client = host.http.get(
        "/v1/record", headers={"Authorization": f"Bearer {newer['access_token']}"}
    )
    assert newer_client.status_code == 401
    assert _refresh(host, newer["refresh_token"]).status_code == 401
    assert other.get("/v1/record").status_code == 200
    # The patient's trace says so, once.
    reuse = "SELECT action, outcome, reason FROM trace_entries WHERE action = 'session.reuse'"
    assert host.sql(reuse) == [("session.reuse", "denied", "refresh_reused")]
    assert _refresh(host, stolen).status_code == 401
    assert len(host.sql(reuse)) == 1
    # A token that was never issued ends nothing.
    assert _refresh(host, "not-a-token").status_code == 401
    assert other.get("/v1/record").status_code == 200


def test_spent_refresh_tokens_are_kept_while_their_session_could_live(host: LiveHost) -> None:
    from dmptui.host.app import run_maintenance

    client = host.login()
    assert _refresh(host, client.tokens["refresh_token"]).status_code == 200
    assert host.sql("SELECT count(*) FROM spent_refresh_tokens") == [(1,)]
    host.clock.advance(hours=11)
    run_maintenance(host.app.state.host, None)
    assert host.sql("SELECT count(*) FROM spent_refresh_tokens") == [(1,)]
    host.clock.advance(hours=2)
    run_maintenance(host.app.state.host, None)
    assert host.sql("SELECT count(*) FROM spent_refresh_tokens") == [(0,)]


def test_logout_revokes_the_token(host: LiveHost) -> None:
    client = host.login()
    assert client.post("/v1/auth/logout").status_code == 204
    assert client.get("/v1/record").status_code == 401


def test_sensitive_actions_need_a_fresh_code(host: LiveHost) -> None:
    client = host.login()
    host.clock.advance(minutes=6)  # the login's freshness is over
    before = host.trace_size()
    r = client.put("/v1/record/oppositions", json={"break_glass": True, "regulation": False})
    assert r.status_code == 401 and r.json()["error"] == "step_up_required"
    assert host.trace_size() == before + 1  # the refusal is traced
    assert client.post("/v1/auth/step-up", json={"code": "000000"}).status_code == 401
    host.step_up(client)
    r = client.put("/v1/record/oppositions", json={"break_glass": True, "regulation": False})
    assert r.status_code == 200


def test_step_up_by_email_code(host: LiveHost) -> None:
    client = host.login()
    r = client.post("/v1/auth/step-up/otp", json={"channel": "email"})
    assert r.status_code == 200
    code = host.outbox_body("email").split(":")[1].split()[0]
    assert client.post("/v1/auth/step-up", json={"code": code}).status_code == 200
    assert client.post("/v1/auth/step-up", json={"code": code}).status_code == 401


def test_login_from_a_new_device_notifies(host: LiveHost) -> None:
    host.login(**{"X-Device-Id": "laptop"})
    host.login(**{"X-Device-Id": "laptop"})
    client = host.login(**{"X-Device-Id": "phone"})
    kinds = [n["kind"] for n in client.get("/v1/record/notifications").json()["items"]]
    assert kinds.count("new_device") == 1


def test_password_rules() -> None:
    ins = "284057512345672"
    assert auth.password_problem("court", ins) == "password_too_short"
    assert auth.password_problem("motdepasse123", ins) == "password_too_common"
    assert auth.password_problem("aaaaaaaaaaaaaa", ins) == "password_too_common"
    assert auth.password_problem("x" + ins[2:10] + "yz!", ins) == "password_from_ins"
    assert auth.password_problem("Tilleul-Brume-2026", ins) is None


def test_argon2_parameters_meet_the_minimum() -> None:
    h = auth.hash_password("Tilleul-Brume-2026")
    assert h.startswith("$argon2id$")
    params = dict(p.split("=") for p in h.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2


def test_no_secret_in_the_trace(host: LiveHost) -> None:
    client = host.login()
    client.get("/v1/record/trace")
    dump = json.dumps(host.sql("SELECT * FROM trace_entries"), default=str)
    assert host.password not in dump
    assert client.tokens["access_token"] not in dump
    assert host.creds["patient"]["totp_secret"] not in dump


def test_erasing_the_record_erases_its_spent_refresh_tokens(host: LiveHost) -> None:
    client = host.login()
    r = _refresh(host, client.tokens["refresh_token"])
    assert r.status_code == 200
    client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
    assert host.sql("SELECT count(*) FROM spent_refresh_tokens") == [(1,)]
    host.step_up(client)
    assert client.post("/v1/record/erase").status_code == 200
    assert host.sql("SELECT count(*) FROM spent_refresh_tokens") == [(0,)]
    assert _refresh(host, client.tokens["refresh_token"]).status_code == 401
