"""Opening a record (a practitioner) and activating it (the patient, with the letter's code),
over real HTTP on the real host: the password alone never gives the authenticator's secret."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pyotp
from hostkit import LiveHost

from dmptui.host import activation, auth, policy
from dmptui.schema import PRACTITIONER_HEADER

NEW_INS = "299120612345651"  # a valid test NIR, not in the demo


_CODES = "SELECT {} FROM activation_codes a JOIN records r ON r.id = a.record_id WHERE r.ins = :ins"


def _by_profession(host: LiveHost, profession: str) -> httpx.Client:
    p = next(p for p in host.creds["practitioners"] if p["profession"] == profession)
    return httpx.Client(
        base_url=host.url, timeout=30, headers={PRACTITIONER_HEADER: p["credential"]}
    )


def _open(host: LiveHost, role: str = "pharmacist", **fields: Any) -> httpx.Response:
    body = {
        "ins": NEW_INS,
        "name": "Léa Dubois",
        "phone": "06 11 22 33 44",
        "email": "lea.dubois@example.org",
        **fields,
    }
    return host.ps(role).post("/v1/ps/records", json=body)


def _letter_code(host: LiveHost) -> str:
    body = host.outbox_body("letter", unsent=True)
    found = re.search(r"\b([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})\b", body)
    assert found, "no code in the letter"
    return found.group(1)


def _login(host: LiveHost, ins: str, password: str) -> dict[str, Any]:
    r = host.http.post("/v1/auth/login", json={"ins": ins, "password": password})
    assert r.status_code == 200, r.text
    return r.json()


def _activate(host: LiveHost, challenge: str, code: str) -> httpx.Response:
    return host.http.post(
        "/v1/auth/activate", json={"challenge": challenge, "activation_code": code}
    )


def test_a_pharmacist_opens_a_record_traced_notified_and_the_letter_carries_the_code(
    host: LiveHost,
) -> None:
    r = _open(host)
    assert r.status_code == 201, r.text
    opened = r.json()
    assert opened["ins"] == NEW_INS and opened["name"] == "Léa Dubois"
    assert opened["activation"] == "letter" and "activation_code" not in opened
    assert auth.password_problem(opened["password"], NEW_INS) is None
    # The record, its contact details normalised; not activated.
    rows = host.sql(
        "SELECT phone, email, activated_at, totp_secret_sealed FROM records WHERE ins = :ins",
        {"ins": NEW_INS},
    )
    assert rows == [("+33 6 11 22 33 44", "lea.dubois@example.org", None, None)]
    # The letter: in the outbox, to the patient, with the code; the code stored as a digest.
    code = _letter_code(host)
    assert code not in opened["password"]
    (recipient,) = host.sql(
        "SELECT recipient FROM outbox WHERE channel = 'letter' AND sent_at IS NULL "
        "ORDER BY id DESC LIMIT 1"
    )[0]
    assert recipient == "Léa Dubois"
    stored = host.sql(
        "SELECT code_hash FROM activation_codes a JOIN records r ON r.id = a.record_id "
        "WHERE r.ins = :ins",
        {"ins": NEW_INS},
    )
    assert stored == [(auth.digest(code.replace("-", "")),)]
    # Traced: the patient's trace says the pharmacist opened it.
    pharmacist = host.practitioner("pharmacist")
    trace = host.sql(
        "SELECT action, outcome, actor_rpps FROM trace_entries t JOIN records r "
        "ON r.id = t.record_id WHERE r.ins = :ins ORDER BY seq",
        {"ins": NEW_INS},
    )
    assert trace == [("record.open", "allowed", pharmacist["rpps"])]
    # Notified: in the app (who opened it) and by email and SMS (only that it happened).
    kinds = [m for k, m in host.messages() if k == "record_opened"]
    assert len(kinds) == 1
    assert pharmacist["name"] in kinds[-1]["fr"] and pharmacist["name"] in kinds[-1]["en"]
    assert "ouvert" in host.outbox_body("sms", unsent=True)
    assert pharmacist["name"] not in host.outbox_body("email", unsent=True)


def test_opening_is_refused_to_other_professions_and_for_an_ins_that_has_a_record(
    host: LiveHost,
) -> None:
    for profession, reason in (
        ("infirmier", "profession_may_not_open"),
        ("kinesitherapeute", "profession_may_not_open"),
        ("medecin_du_travail", "profession_never_has_access"),
    ):
        r = _by_profession(host, profession).post(
            "/v1/ps/records", json={"ins": NEW_INS, "name": "Léa Dubois"}
        )
        assert r.status_code == 403 and r.json()["reason"] == reason, r.text
    assert host.sql("SELECT count(*) FROM records WHERE ins = :ins", {"ins": NEW_INS}) == [(0,)]
    # A doctor may; a second opening of the same INS is refused, clearly, naming the field.
    assert _open(host, "attending").status_code == 201
    for role in ("pharmacist", "attending"):
        r = _open(host, role)
        assert r.status_code == 409, r.text
        assert r.json()["error"] == "record_exists" and r.json()["field"] == "ins"
    r = _open(host, ins=host.ins)
    assert r.status_code == 409 and r.json()["field"] == "ins"
    assert host.sql("SELECT count(*) FROM records WHERE ins = :ins", {"ins": NEW_INS}) == [(1,)]
    # No credential, or an unknown one.
    assert host.http.post("/v1/ps/records", json={"ins": NEW_INS, "name": "X"}).status_code == 401


def test_malformed_fields_are_refused_naming_the_field(host: LiveHost) -> None:
    for fields, field in (
        ({"ins": "284057512345600"}, "ins"),
        ({"ins": "1234"}, "ins"),
        ({"name": "   "}, "name"),
        ({"name": "Léa\u202eDubois"}, "name"),
        ({"phone": "12345"}, "phone"),
        ({"phone": "06 11 22 33"}, "phone"),
        ({"email": "lea.dubois"}, "email"),
        ({"email": "lea @example.org"}, "email"),
        ({"extra": 1}, "extra"),
    ):
        r = _open(host, **fields)
        assert r.status_code == 422, (fields, r.text)
        assert r.json()["field"] == field, (fields, r.json())
    assert host.sql("SELECT count(*) FROM records WHERE ins = :ins", {"ins": NEW_INS}) == [(0,)]
    # Phone and email may be left out.
    r = host.ps("pharmacist").post("/v1/ps/records", json={"ins": NEW_INS, "name": "Léa"})
    assert r.status_code == 201, r.text


def test_the_password_alone_gives_no_secret_and_no_session_until_activation(
    host: LiveHost,
) -> None:
    password = _open(host).json()["password"]
    code = _letter_code(host)
    login = _login(host, NEW_INS, password)
    assert login["activation_required"] is True and login["enrolment"] is None
    # Neither a code sent nor a code accepted before activation.
    r = host.http.post("/v1/auth/otp", json={"challenge": login["challenge"], "channel": "sms"})
    assert r.status_code == 403 and r.json()["error"] == "activation_required"
    r = host.http.post("/v1/auth/verify", json={"challenge": login["challenge"], "code": "123456"})
    assert r.status_code == 403 and r.json()["error"] == "activation_required"
    # A wrong password with the right code: no challenge, no activation.
    r = host.http.post("/v1/auth/login", json={"ins": NEW_INS, "password": "Pas-le-bon-2026!"})
    assert r.status_code == 401
    # The right code enrols: the secret and its URI, once; the login goes on with a TOTP code.
    r = _activate(host, login["challenge"], code.lower().replace("-", " "))
    assert r.status_code == 200, r.text
    enrolment = r.json()
    assert enrolment["uri"].startswith("otpauth://totp/")
    host.clock.advance(seconds=30)
    totp = pyotp.TOTP(enrolment["secret"]).at(host.clock())
    r = host.http.post("/v1/auth/verify", json={"challenge": login["challenge"], "code": totp})
    assert r.status_code == 200, r.text
    assert host.sql(
        "SELECT activated_at IS NOT NULL FROM records WHERE ins = :ins", {"ins": NEW_INS}
    ) == [(True,)]
    # Activated: the next login asks for no code and gives no secret.
    again = _login(host, NEW_INS, password)
    assert again["activation_required"] is False and again["enrolment"] is None
    # The code used twice is refused (and counts as a failure).
    r = _activate(host, again["challenge"], code)
    assert r.status_code == 409 and r.json()["error"] == "already_activated"
    trace = host.sql(
        "SELECT action, outcome, reason FROM trace_entries t JOIN records r "
        "ON r.id = t.record_id WHERE r.ins = :ins AND action = 'activation' ORDER BY seq",
        {"ins": NEW_INS},
    )
    assert trace == [("activation", "allowed", None), ("activation", "denied", "already_activated")]


def test_wrong_expired_and_malformed_codes_are_refused_and_count_on_the_throttle(
    host: LiveHost,
) -> None:
    password = _open(host).json()["password"]
    code = _letter_code(host)
    challenge = _login(host, NEW_INS, password)["challenge"]
    r = _activate(host, challenge, "12")
    assert r.status_code == 422 and r.json()["field"] == "activation_code"
    wrong = "AAAA-BBBB-CCCC" if code != "AAAA-BBBB-CCCC" else "CCCC-BBBB-AAAA"
    r = _activate(host, challenge, wrong)
    assert r.status_code == 401 and r.json()["error"] == "invalid_activation_code"
    assert r.json()["field"] == "activation_code"
    assert host.sql("SELECT failures FROM login_throttle WHERE ins = :ins", {"ins": NEW_INS}) == [
        (1,)
    ]
    assert host.sql(_CODES.format("tries"), {"ins": NEW_INS}) == [(1,)]
    # Failures lock the INS as wrong passwords do: even the right code is then refused.
    for _ in range(policy.FREE_TRIES - 1):
        challenge = _login(host, NEW_INS, password)["challenge"]
        assert _activate(host, challenge, wrong).status_code == 401
    r = _activate(host, challenge, code)
    assert r.status_code == 429 and r.json()["error"] == "locked"
    host.clock.advance(minutes=16)
    # The code died after MAX_TRIES wrong tries: refused even when right.
    challenge = _login(host, NEW_INS, password)["challenge"]
    r = _activate(host, challenge, code)
    assert r.status_code == 401 and r.json()["error"] == "invalid_activation_code"
    assert host.sql("SELECT activated_at FROM records WHERE ins = :ins", {"ins": NEW_INS}) == [
        (None,)
    ]


def test_an_expired_code_is_refused_and_a_new_one_replaces_the_old(host: LiveHost) -> None:
    password = _open(host).json()["password"]
    code = _letter_code(host)
    host.clock.advance(days=activation.TTL.days, seconds=1)
    challenge = _login(host, NEW_INS, password)["challenge"]
    r = _activate(host, challenge, code)
    assert r.status_code == 401 and r.json()["error"] == "invalid_activation_code"
    # The support desk's door: a new code (issue), the old one void, the new one enrols.
    from sqlalchemy import select

    from dmptui.host.db import Record

    with host.app.state.host.tx() as s:
        record = s.scalar(select(Record).where(Record.ins == NEW_INS))
        assert record is not None
        fresh = activation.issue(s, record, host.clock())
    assert fresh == _letter_code(host) and fresh != code
    assert host.sql(_CODES.format("count(*)"), {"ins": NEW_INS}) == [(1,)]
    challenge = _login(host, NEW_INS, password)["challenge"]
    assert _activate(host, challenge, code).status_code == 401
    challenge = _login(host, NEW_INS, password)["challenge"]
    assert _activate(host, challenge, fresh).status_code == 200


def test_an_activation_needs_a_live_login_challenge(host: LiveHost) -> None:
    _open(host)
    code = _letter_code(host)
    r = _activate(host, "not-a-challenge", code)
    assert r.status_code == 401 and r.json()["error"] == "challenge_expired"
    assert host.sql("SELECT activated_at FROM records WHERE ins = :ins", {"ins": NEW_INS}) == [
        (None,)
    ]


def test_a_retried_opening_with_its_idempotency_key_gets_the_same_answer(host: LiveHost) -> None:
    body = {"ins": NEW_INS, "name": "Léa Dubois"}
    headers = {"Idempotency-Key": "open-1"}
    first = host.ps("pharmacist").post("/v1/ps/records", json=body, headers=headers)
    again = host.ps("pharmacist").post("/v1/ps/records", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert host.sql("SELECT count(*) FROM records WHERE ins = :ins", {"ins": NEW_INS}) == [(1,)]


def test_a_record_never_activated_cannot_be_re_enrolled_with_the_password(host: LiveHost) -> None:
    """The lost-authenticator path (password + a code sent) is no way round the letter's code."""
    password = _open(host).json()["password"]
    r = host.http.post(
        "/v1/auth/reenrol/start", json={"ins": NEW_INS, "password": password, "channel": "sms"}
    )
    assert r.status_code == 403 and r.json()["error"] == "activation_required", r.text
    assert host.sql(_CODES.format("count(*)"), {"ins": NEW_INS}) == [(1,)]
    assert host.sql("SELECT count(*) FROM recovery_flows") == [(0,)]
