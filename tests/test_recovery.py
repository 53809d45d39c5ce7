"""Account recovery over real HTTP: a forgotten password (INS, a code by SMS, a code by email,
the authenticator standing for one; a new password) and a lost authenticator (password and a
code sent; a new secret)."""

from __future__ import annotations

import httpx
import pyotp
from hostkit import LiveHost

from dmptui.host import auth, policy

UNKNOWN_INS = "175027512304256"  # well formed, no record
NEW_PASSWORD = "Glycine-Orage-2027"


def _sent_code(host: LiveHost, channel: str) -> str:
    return host.outbox_body(channel).split(":")[1].split()[0]


def _start(host: LiveHost, ins: str | None = None) -> httpx.Response:
    return host.http.post("/v1/auth/reset/start", json={"ins": ins or host.ins})


def _verify(host: LiveHost, flow: str, code: str, kind: str = "reset") -> httpx.Response:
    return host.http.post(f"/v1/auth/{kind}/verify", json={"flow": flow, "code": code})


def _set(host: LiveHost, flow: str, password: str = NEW_PASSWORD) -> httpx.Response:
    return host.http.post("/v1/auth/reset/password", json={"flow": flow, "password": password})


def _logs_in(host: LiveHost, password: str) -> bool:
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": password})
    return r.status_code == 200


def _outbox_count(host: LiveHost) -> int:
    return host.sql("SELECT count(*) FROM outbox")[0][0]


def _enrol(host: LiveHost) -> None:
    """A first login, so the authenticator is enrolled (and a session and a device exist)."""
    host.login()


def test_reset_with_sms_then_email_sets_the_password_and_ends_everything(host: LiveHost) -> None:
    a = host.login()  # a live session and a remembered device
    host.sql(
        "UPDATE login_throttle SET locked_until = :t, failures = 3 WHERE ins = :i",
        {"t": host.clock.moment.replace(tzinfo=None) + policy.RECOVERY_TTL, "i": host.ins},
    )
    r = _start(host)
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["next"] == "sms" and started["expires_in"] > 0
    flow = started["flow"]
    # One factor alone: no password yet.
    assert _set(host, flow).status_code == 403
    r = _verify(host, flow, _sent_code(host, "sms"))
    assert r.status_code == 200, r.text
    assert r.json()["next"] == "email" and r.json()["proven"] == ["sms"]
    assert _set(host, flow).status_code == 403
    r = _verify(host, flow, _sent_code(host, "email"))
    assert r.status_code == 200, r.text
    assert r.json()["next"] == "password"
    # The same strength rules as everywhere.
    weak = _set(host, flow, "motdepasse")
    assert weak.status_code == 422 and weak.json()["field"] == "password"
    assert weak.json()["reason"] == "password_too_short"
    r = _set(host, flow)
    assert r.status_code == 200, r.text
    assert r.json()["sessions_ended"] >= 1 and r.json()["devices_forgotten"] >= 1
    # Every session ended, every device forgotten, the lock ended.
    assert a.get("/v1/record").status_code == 401
    assert host.sql("SELECT count(*) FROM sessions WHERE revoked_at IS NULL") == [(0,)]
    assert host.sql("SELECT count(*) FROM known_devices") == [(0,)]
    assert host.sql("SELECT locked_until FROM login_throttle WHERE ins = :i", {"i": host.ins}) == [
        (None,)
    ]
    # The flow is spent.
    assert _set(host, flow, "Autre-Mot-De-Passe-2027").status_code == 401
    # The new password works, the old one no longer.
    assert not _logs_in(host, host.password)
    assert _logs_in(host, NEW_PASSWORD)
    # Both contacts told; the app's notification; the patient's trace.
    assert "mot de passe" in host.outbox_body("sms").lower()
    assert "password" in host.outbox_body("email").lower()
    assert [k for k, _ in host.messages()][-1] == "password_reset"
    actions = host.sql("SELECT action, outcome FROM trace_entries ORDER BY id")
    assert ("password.reset.start", "allowed") in actions
    assert ("password.reset", "allowed") in actions


def test_the_authenticator_stands_for_one_code_not_two(host: LiveHost) -> None:
    _enrol(host)
    flow = _start(host).json()["flow"]
    r = _verify(host, flow, host.code())  # in place of the SMS code
    assert r.status_code == 200, r.text
    assert r.json() == {"proven": ["totp"], "next": "email", "expires_in": r.json()["expires_in"]}
    # A second authenticator code does not stand for the email code.
    r = _verify(host, flow, host.code())
    assert r.status_code == 401 and r.json()["error"] == "invalid_code"
    assert _set(host, flow).status_code == 403
    r = _verify(host, flow, _sent_code(host, "email"))
    assert r.status_code == 200 and r.json()["next"] == "password"
    assert _set(host, flow).status_code == 200
    assert _logs_in(host, NEW_PASSWORD)


def test_sms_then_authenticator_suffices(host: LiveHost) -> None:
    _enrol(host)
    flow = _start(host).json()["flow"]
    assert _verify(host, flow, _sent_code(host, "sms")).json()["next"] == "email"
    r = _verify(host, flow, host.code())  # in place of the email code
    assert r.status_code == 200 and r.json()["next"] == "password"
    assert _set(host, flow).status_code == 200


def test_one_factor_alone_cannot_complete(host: LiveHost) -> None:
    """Whoever holds the phone only: the SMS code, then nothing that works for the email step."""
    flow = _start(host).json()["flow"]
    sms = _sent_code(host, "sms")
    assert _verify(host, flow, sms).status_code == 200
    # The SMS code again, or a guess, is not the email code.
    assert _verify(host, flow, sms).status_code == 401
    assert _verify(host, flow, "000000").status_code == 401
    assert _set(host, flow).status_code == 403
    assert _logs_in(host, host.password)
    # Whoever holds the mailbox only: the first step awaits the SMS code.
    flow = _start(host).json()["flow"]
    assert _verify(host, flow, _sent_code(host, "email")).status_code == 401
    assert _set(host, flow).status_code == 403
    # An authenticator never confirmed (first login not done) does not count.
    flow = _start(host).json()["flow"]
    assert _verify(host, flow, host.code()).status_code == 401


def test_policy_decides_which_factors_suffice() -> None:
    may = policy.reset_may_set_password
    for alone in ("sms", "email", "totp"):
        assert not may(frozenset({alone}))
    for pair in ({"sms", "email"}, {"sms", "totp"}, {"email", "totp"}):
        assert may(frozenset(pair))
    assert policy.reset_next(frozenset()) == "sms"
    assert policy.reset_next(frozenset({"totp"})) == "email"
    assert not policy.reset_takes_totp(frozenset({"totp"}))
    assert not policy.reenrol_may_issue(True, frozenset())
    assert not policy.reenrol_may_issue(False, frozenset({"email"}))
    assert policy.reenrol_may_issue(True, frozenset({"sms"}))


def test_an_unknown_ins_gets_the_same_answers_and_never_succeeds(host: LiveHost) -> None:
    before = _outbox_count(host)
    known, unknown = _start(host), _start(host, UNKNOWN_INS)
    assert known.status_code == unknown.status_code == 200
    k, u = known.json(), unknown.json()
    assert set(k) == set(u) and k["next"] == u["next"] and k["expires_in"] == u["expires_in"]
    assert len(k["flow"]) == len(u["flow"])
    assert _outbox_count(host) == before + 1  # the known INS's SMS only
    a = _verify(host, k["flow"], "123456")
    b = _verify(host, u["flow"], "123456")
    assert a.status_code == b.status_code == 401 and a.json() == b.json()
    assert _set(host, u["flow"]).json() == _set(host, k["flow"]).json()
    # The limit on starts holds alike.
    for ins in (host.ins, UNKNOWN_INS):
        while (r := _start(host, ins)).status_code == 200:
            pass
        assert r.status_code == 429 and r.json()["error"] == "recovery_limited"
        assert int(r.headers["retry-after"]) > 0
    assert _start(host).json() == _start(host, UNKNOWN_INS).json()
    host.clock.advance(hours=1, minutes=1)
    assert _start(host).status_code == 200
    # A malformed INS names the field.
    r = _start(host, "1234")
    assert r.status_code == 422 and r.json()["field"] == "ins"


def test_codes_expire_and_tries_are_limited(host: LiveHost) -> None:
    flow = _start(host).json()["flow"]
    sms = _sent_code(host, "sms")
    host.clock.advance(seconds=auth.CODE_TTL.total_seconds() + 1)
    r = _verify(host, flow, sms)
    assert r.status_code == 401 and r.json()["error"] == "invalid_code"
    # Too many tries end the flow, even with the right code afterwards.
    flow = _start(host).json()["flow"]
    sms = _sent_code(host, "sms")
    for _ in range(auth.MAX_CODE_ATTEMPTS):
        assert _verify(host, flow, "999999").status_code == 401
    r = _verify(host, flow, sms)
    assert r.status_code == 401 and r.json()["error"] == "flow_expired"
    # The flow itself expires.
    host.clock.advance(hours=2)
    flow = _start(host).json()["flow"]
    sms = _sent_code(host, "sms")
    host.clock.advance(seconds=policy.RECOVERY_TTL.total_seconds() + 1)
    assert _verify(host, flow, sms).json()["error"] == "flow_expired"
    # A malformed code names the field; an unknown flow is expired.
    r = _verify(host, flow, "12")
    assert r.status_code == 422 and r.json()["field"] == "code"
    assert _verify(host, "not-a-flow", "123456").json()["error"] == "flow_expired"
    # Bad codes are in the patient's trace.
    assert (
        host.sql(
            "SELECT count(*) FROM trace_entries"
            " WHERE action = 'password.reset' AND outcome = 'denied'"
        )[0][0]
        >= auth.MAX_CODE_ATTEMPTS
    )


def test_a_code_used_twice_is_refused(host: LiveHost) -> None:
    flow = _start(host).json()["flow"]
    sms = _sent_code(host, "sms")
    assert _verify(host, flow, sms).status_code == 200
    assert _verify(host, flow, sms).status_code == 401
    email = _sent_code(host, "email")
    assert _verify(host, flow, email).status_code == 200
    assert _verify(host, flow, email).status_code == 401


# --- lost authenticator --------------------------------------------------------------------


def _reenrol_start(host: LiveHost, channel: str = "email", password: str | None = None):
    return host.http.post(
        "/v1/auth/reenrol/start",
        json={"ins": host.ins, "password": password or host.password, "channel": channel},
    )


def test_reenrol_replaces_the_authenticator(host: LiveHost) -> None:
    a = host.login()
    old = host.totp
    r = _reenrol_start(host, "email")
    assert r.status_code == 200, r.text
    started = r.json()
    assert started["channel"] == "email" and "•" in started["destination"]
    # The old authenticator does not stand for the code sent.
    assert _verify(host, started["flow"], host.code(), "reenrol").status_code == 401
    r = _verify(host, started["flow"], _sent_code(host, "email"), "reenrol")
    assert r.status_code == 200, r.text
    enrolment = r.json()["enrolment"]
    assert enrolment["uri"].startswith("otpauth://totp/")
    assert enrolment["secret"] != host.creds["patient"]["totp_secret"]
    assert r.json()["sessions_ended"] >= 1 and a.get("/v1/record").status_code == 401
    # Spent.
    assert _verify(host, started["flow"], "123456", "reenrol").json()["error"] == "flow_expired"
    # The old secret is refused, the new one works; the secret is not handed out at login.
    login = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
    assert login.json()["enrolment"] is None
    challenge = login.json()["challenge"]
    host.clock.advance(seconds=30)
    r = host.http.post(
        "/v1/auth/verify", json={"challenge": challenge, "code": old.at(host.clock())}
    )
    assert r.status_code == 401
    new = pyotp.TOTP(enrolment["secret"])
    r = host.http.post(
        "/v1/auth/verify", json={"challenge": challenge, "code": new.at(host.clock())}
    )
    assert r.status_code == 200, r.text
    # Told on both channels; traced.
    assert "authenticator" in host.outbox_body("sms").lower()
    assert "authenticator" in host.outbox_body("email").lower()
    assert ("authenticator.reenrol", "allowed") in host.sql(
        "SELECT action, outcome FROM trace_entries"
    )


def test_reenrol_by_sms_and_refusals(host: LiveHost) -> None:
    # A wrong password is a failed login (counted by the login throttle), unknown INS alike.
    wrong = _reenrol_start(host, password="Pas-le-bon-mot-2026")
    unknown = host.http.post(
        "/v1/auth/reenrol/start",
        json={"ins": UNKNOWN_INS, "password": "Pas-le-bon-mot-2026", "channel": "sms"},
    )
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()
    assert host.sql("SELECT failures FROM login_throttle WHERE ins = :i", {"i": host.ins}) == [(1,)]
    r = _reenrol_start(host, "sms")
    assert r.status_code == 200, r.text
    flow = r.json()["flow"]
    sms = _sent_code(host, "sms")
    assert _verify(host, flow, "000000", "reenrol").status_code == 401
    assert _verify(host, flow, sms, "reenrol").status_code == 200
    assert _verify(host, flow, sms, "reenrol").status_code == 401  # used twice
    # A reset flow is not a re-enrolment flow.
    reset = _start(host).json()["flow"]
    assert _verify(host, reset, _sent_code(host, "sms"), "reenrol").status_code == 401
    r = host.http.post(
        "/v1/auth/reenrol/start", json={"ins": host.ins, "password": host.password, "channel": "x"}
    )
    assert r.status_code == 422 and r.json()["field"] == "channel"


def test_an_erased_record_is_answered_as_no_record(host: LiveHost) -> None:
    host.sql("UPDATE records SET status = 'erased' WHERE ins = :i", {"i": host.ins})
    before = _outbox_count(host)
    erased, unknown = _start(host).json(), _start(host, UNKNOWN_INS).json()
    assert set(erased) == set(unknown) and erased["next"] == unknown["next"]
    assert _outbox_count(host) == before  # nothing sent
    assert _verify(host, erased["flow"], "123456").json() == (
        _verify(host, unknown["flow"], "123456").json()
    )


def test_spent_flows_are_purged_after_the_start_window(host: LiveHost) -> None:
    from dmptui.host import lifecycle

    _start(host)
    _start(host, UNKNOWN_INS)

    def purge() -> int:
        with host.app.state.host.tx() as s:
            return lifecycle.purge_login_state(s, host.clock())["recovery_flows"]

    assert purge() == 0  # still counted for the limit on starts
    host.clock.advance(hours=1, minutes=1)
    assert purge() == 2
    assert host.sql("SELECT count(*) FROM recovery_flows") == [(0,)]
