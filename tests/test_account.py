"""The patient's account over real HTTP: their sessions and remembered devices (list, end one,
forget one, log out everywhere) and the change of password."""

from __future__ import annotations

from datetime import datetime

import httpx
from hostkit import LiveHost

from dmptui.host import auth, policy

NEW_PASSWORD = "Ombre-Marée-Genêt-77"


def _login(host: LiveHost, device: str, app: str = "dmptui/9.9 (test)") -> httpx.Client:
    """A logged-in client whose login and code are sent from ``device`` by ``app``."""
    headers = {"X-Device-Id": device, "User-Agent": app}
    r = host.http.post(
        "/v1/auth/login", json={"ins": host.ins, "password": host.password}, headers=headers
    )
    assert r.status_code == 200, r.text
    r = host.http.post(
        "/v1/auth/verify",
        json={"challenge": r.json()["challenge"], "code": host.code()},
        headers=headers,
    )
    assert r.status_code == 200, r.text
    tokens = r.json()
    client = httpx.Client(
        base_url=host.url,
        timeout=30,
        headers={"Authorization": f"Bearer {tokens['access_token']}", **headers},
    )
    client.tokens = tokens  # type: ignore[attr-defined]
    return client


def _trace(host: LiveHost, action: str) -> list[tuple[str, str | None]]:
    return [
        (row[0], row[1])
        for row in host.sql(
            "SELECT outcome, reason FROM trace_entries WHERE action = :a ORDER BY seq",
            {"a": action},
        )
    ]


def _kinds(host: LiveHost) -> list[str]:
    return [kind for kind, _ in host.messages()]


def test_the_list_shows_this_session_with_its_app_address_and_last_seen(host: LiveHost) -> None:
    laptop = _login(host, "laptop", "dmptui/1.2.3")
    phone = _login(host, "phone", "dmptui/1.2.3 (reader)")
    host.clock.advance(minutes=2)
    r = phone.get("/v1/auth/sessions")
    assert r.status_code == 200, r.text
    body = r.json()
    assert len(body["sessions"]) == 2
    mine = [s for s in body["sessions"] if s["current"]]
    assert len(mine) == 1
    (this,) = mine
    assert this["app"] == "dmptui/1.2.3 (reader)"
    assert this["address"] == "127.0.0.1"
    assert datetime.fromisoformat(this["last_seen"]) >= datetime.fromisoformat(this["first_seen"])
    other = next(s for s in body["sessions"] if not s["current"])
    assert other["app"] == "dmptui/1.2.3"
    devices = body["devices"]
    assert len(devices) == 2
    assert [d["current"] for d in devices].count(True) == 1
    assert next(d for d in devices if d["current"])["app"] == "dmptui/1.2.3 (reader)"
    # Opaque ids only: no token, no digest of one, no device digest.
    secrets = {
        laptop.tokens["access_token"],  # type: ignore[attr-defined]
        phone.tokens["refresh_token"],  # type: ignore[attr-defined]
        *(row[0] for row in host.sql("SELECT access_hash FROM sessions")),
        *(row[0] for row in host.sql("SELECT refresh_hash FROM sessions")),
        *(row[0] for row in host.sql("SELECT device FROM known_devices")),
        auth.digest("laptop")[:32],
    }
    for secret in secrets:
        assert secret not in r.text
    assert _trace(host, "sessions.read") == [("allowed", None)]


def test_ending_a_session_refuses_its_token(host: LiveHost) -> None:
    laptop = _login(host, "laptop")
    phone = _login(host, "phone")
    sessions = phone.get("/v1/auth/sessions").json()["sessions"]
    other = next(s for s in sessions if not s["current"])
    r = phone.delete(f"/v1/auth/sessions/{other['id']}")
    assert r.status_code == 200, r.text
    assert r.json()["current_ended"] is False
    assert laptop.get("/v1/record").status_code == 401
    r = host.http.post(
        "/v1/auth/refresh",
        json={"refresh_token": laptop.tokens["refresh_token"]},  # type: ignore[attr-defined]
    )
    assert r.status_code == 401  # its refresh token too
    assert phone.get("/v1/record").status_code == 200
    # Gone: a second time is a 404 naming the field, traced as refused.
    r = phone.delete(f"/v1/auth/sessions/{other['id']}")
    assert r.status_code == 404 and r.json()["field"] == "session_id"
    assert _trace(host, "session.revoke") == [("allowed", None), ("denied", "no_such_session")]
    # Its own session: that is logging out.
    (mine,) = [s for s in phone.get("/v1/auth/sessions").json()["sessions"] if s["current"]]
    r = phone.delete(f"/v1/auth/sessions/{mine['id']}")
    assert r.status_code == 200 and r.json()["current_ended"] is True
    assert phone.get("/v1/record").status_code == 401


def test_forgetting_a_device_makes_its_next_login_a_new_device(host: LiveHost) -> None:
    _login(host, "laptop")
    phone = _login(host, "phone")
    assert _kinds(host).count("new_device") == 1  # the phone; the laptop was the first
    _login(host, "laptop")
    assert _kinds(host).count("new_device") == 1  # remembered
    devices = phone.get("/v1/auth/sessions").json()["devices"]
    laptop = next(d for d in devices if not d["current"])
    r = phone.delete(f"/v1/auth/devices/{laptop['id']}")
    assert r.status_code == 200, r.text
    assert len(phone.get("/v1/auth/sessions").json()["devices"]) == 1
    _login(host, "laptop")
    assert _kinds(host).count("new_device") == 2
    r = phone.delete(f"/v1/auth/devices/{laptop['id']}")
    assert r.status_code == 404 and r.json()["field"] == "device_id"
    assert _trace(host, "device.forget") == [("allowed", None), ("denied", "no_such_device")]


def test_the_new_device_message_says_where_to_act(host: LiveHost) -> None:
    _login(host, "laptop")
    _login(host, "phone")
    (message,) = [m for kind, m in host.messages() if kind == "new_device"]
    assert "My devices and sessions" in message["en"]
    assert "Mes appareils et sessions" in message["fr"]
    assert "change your password" in message["en"]
    assert "Mes appareils et sessions" in host.outbox_body("email")


def test_log_out_everywhere_ends_every_session_this_one_included(host: LiveHost) -> None:
    laptop = _login(host, "laptop")
    phone = _login(host, "phone")
    r = phone.post("/v1/auth/logout-everywhere")
    assert r.status_code == 200, r.text
    assert r.json()["sessions_ended"] == 2 and r.json()["current_ended"] is True
    assert laptop.get("/v1/record").status_code == 401
    assert phone.get("/v1/record").status_code == 401
    assert _trace(host, "logout.everywhere") == [("allowed", None)]
    assert "logged_out_everywhere" in _kinds(host)


def _change(client: httpx.Client, current: str, new: str) -> httpx.Response:
    return client.post("/v1/auth/password", json={"current_password": current, "new_password": new})


def test_change_password_needs_a_fresh_code_and_the_current_password(host: LiveHost) -> None:
    laptop = _login(host, "laptop")
    phone = _login(host, "phone")
    host.clock.advance(minutes=6)  # the login's freshness is over
    r = _change(phone, host.password, NEW_PASSWORD)
    assert r.status_code == 401 and r.json()["error"] == "step_up_required"
    host.step_up(phone)
    r = _change(phone, "not the password at all", NEW_PASSWORD)
    assert r.status_code == 401, r.text
    assert (r.json()["error"], r.json()["reason"], r.json()["field"]) == (
        "invalid_credentials",
        "bad_password",
        "current_password",
    )
    # A failure on the step-up's counter of this INS (its logins are not paused by it).
    assert host.sql(
        "SELECT failures FROM login_throttle WHERE ins = :i AND scope = 'step-up'",
        {"i": host.ins},
    ) == [(1,)]
    sms_before = host.sql("SELECT count(*) FROM outbox WHERE channel = 'sms'")[0][0]
    r = _change(phone, host.password, NEW_PASSWORD)
    assert r.status_code == 200, r.text
    assert r.json()["sessions_ended"] == 1
    # The other session ended, this one goes on.
    assert laptop.get("/v1/record").status_code == 401
    assert phone.get("/v1/record").status_code == 200
    # The old password is refused at login, the new one accepted.
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
    assert r.status_code == 401
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": NEW_PASSWORD})
    assert r.status_code == 200
    # Told in the app, by email and by SMS; traced.
    assert "password_changed" in _kinds(host)
    assert host.sql("SELECT count(*) FROM outbox WHERE channel = 'sms'")[0][0] == sms_before + 1
    assert "mot de passe" in host.outbox_body("sms")
    assert "password" in host.outbox_body("email")
    assert _trace(host, "password.change") == [
        ("denied", "step_up_required"),
        ("denied", "bad_password"),
        ("allowed", None),
    ]


def test_a_login_started_with_the_old_password_is_cancelled(host: LiveHost) -> None:
    phone = _login(host, "phone")
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
    challenge = r.json()["challenge"]
    assert _change(phone, host.password, NEW_PASSWORD).status_code == 200
    r = host.http.post("/v1/auth/verify", json={"challenge": challenge, "code": host.code()})
    assert r.status_code == 401 and r.json()["error"] == "challenge_expired"


def test_weak_or_unchanged_new_passwords_are_refused_saying_why(host: LiveHost) -> None:
    phone = _login(host, "phone")
    for new, reason in (
        ("court", "password_too_short"),
        ("motdepasse123", "password_too_common"),
        (f"x{host.ins}", "password_from_ins"),
        (host.password, "password_unchanged"),
    ):
        r = _change(phone, host.password, new)
        assert r.status_code == 422, (new, r.text)
        body = r.json()
        assert (body["error"], body["reason"], body["field"]) == (
            "invalid_input",
            reason,
            "new_password",
        )
        assert body["message"]
    # Nothing changed: the password is the same, no notification.
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
    assert r.status_code == 200
    assert "password_changed" not in _kinds(host)


def test_too_many_wrong_current_passwords_pause_the_change(host: LiveHost) -> None:
    phone = _login(host, "phone")
    for _ in range(policy.FREE_TRIES):
        r = _change(phone, "wrong wrong wrong", NEW_PASSWORD)
        assert r.status_code == 401 and r.json()["reason"] == "bad_password"
    assert r.json()["tries_left"] == 0
    r = _change(phone, host.password, NEW_PASSWORD)
    assert r.status_code == 429 and r.json()["error"] == "locked"
    # Confirming with a code is paused for this account; logging in is not.
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
    assert r.status_code == 200


def test_malformed_input_names_the_field(host: LiveHost) -> None:
    phone = _login(host, "phone")
    r = phone.post("/v1/auth/password", json={"current_password": host.password})
    assert r.status_code == 422 and r.json()["field"] == "new_password"
    r = phone.post("/v1/auth/password", json={"current_password": 1, "new_password": "x"})
    assert r.status_code == 422 and r.json()["field"] == "current_password"


def test_without_a_session_nothing_is_answered(host: LiveHost) -> None:
    for method, path in (
        ("GET", "/v1/auth/sessions"),
        ("DELETE", "/v1/auth/sessions/abc"),
        ("DELETE", "/v1/auth/devices/abc"),
        ("POST", "/v1/auth/logout-everywhere"),
        ("POST", "/v1/auth/password"),
    ):
        r = host.http.request(method, path)
        assert r.status_code == 401, (method, path)
