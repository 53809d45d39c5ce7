"""The support desk, on the real host over real HTTP, and its command in its own process: an
account's state by INS (masked channels, lock, status, last login, no health data), ending a
login lock, each action in the patient's trace and notifications in French and English, and
the refusals."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostkit import LiveHost

from dmptui import i18n, words
from dmptui.host import auth, policy, support_desk
from dmptui.host.db import Record
from dmptui.identifiers import ins_key
from dmptui.schema import PRACTITIONER_HEADER, SUPPORT_HEADER, TraceEntryOut

ROOT = Path(__file__).resolve().parents[1]
AGENT = "Léa Support"


def _agent(host: LiveHost, name: str = AGENT) -> httpx.Client:
    with host.app.state.host.tx() as s:
        _row, credential = support_desk.add(s, name, host.clock())
    return httpx.Client(base_url=host.url, timeout=30, headers={SUPPORT_HEADER: credential})


@pytest.fixture
def desk(host: LiveHost) -> httpx.Client:
    return _agent(host)


def _lock(host: LiveHost) -> None:
    for _ in range(policy.FREE_TRIES):
        r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": "not it 12345"})
        assert r.status_code == 401, r.text
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
    assert r.status_code == 429, r.text


def _support_trace(host: LiveHost) -> list[tuple[Any, ...]]:
    return host.sql(
        "SELECT t.action, t.actor_role, t.actor_name, t.outcome, t.reason FROM trace_entries t "
        "JOIN records r ON r.id = t.record_id WHERE r.ins = :ins AND t.actor_role = 'support' "
        "ORDER BY t.seq",
        {"ins": host.ins},
    )


def _new_record(host: LiveHost, first13: str, **columns: Any) -> str:
    ins = f"{first13}{ins_key(first13):02d}"
    with host.app.state.host.tx() as s:
        s.add(
            Record(
                ins=ins,
                created_at=host.clock(),
                display_name="Autre Patiente",
                email="autre@example.org",
                phone="0712345699",
                trace_size=0,
                **columns,
            )
        )
    return ins


# --- lookup ------------------------------------------------------------------------------------


def test_lookup_shows_the_account_masked_and_no_health_data(
    host: LiveHost, desk: httpx.Client
) -> None:
    patient = host.login()  # a last login to show
    patient.close()
    r = desk.get(f"/v1/support/accounts/{host.ins}")
    assert r.status_code == 200, r.text
    a = r.json()
    assert a["ins"] == host.ins
    assert a["status"] == "open"
    assert (a["locked"], a["locked_until"]) == (False, None)
    assert a["phone"] == "06 •• •• •• 78"
    assert a["email"] == "c•••@example.org"
    last = datetime.fromisoformat(a["last_login"])
    assert abs(last - host.clock()) < timedelta(minutes=1)
    assert set(a) == {"ins", "status", "locked", "locked_until", "phone", "email", "last_login"}
    # Nothing of the record itself: no name, no title, no note, no practitioner, no contact in
    # clear.
    secrets = [
        host.creds["patient"]["name"],
        "camille.martin",
        "12 34 56",
        host.notes()[:30],
        *host.titles().values(),
        *(p["name"] for p in host.creds["practitioners"]),
    ]
    for secret in secrets:
        assert secret not in r.text, secret
    # Locked: said, and until when.
    _lock(host)
    a = desk.get(f"/v1/support/accounts/{host.ins}").json()
    assert a["locked"] is True
    until = datetime.fromisoformat(a["locked_until"])
    assert abs(until - (host.clock() + policy.FIRST_PAUSE)) < timedelta(seconds=5)
    assert _support_trace(host) == [
        ("support.lookup", "support", AGENT, "allowed", None),
        ("support.lookup", "support", AGENT, "allowed", None),
    ]


def test_the_account_states(host: LiveHost, desk: httpx.Client) -> None:
    now = host.clock()
    never = _new_record(host, "2750175000011", status="active")  # no password chosen yet
    closed = _new_record(host, "2750175000012", status="closed", closed_at=now)
    erased = _new_record(host, "2750175000013", status="erased", erased_at=now)
    states = {ins: desk.get(f"/v1/support/accounts/{ins}").json() for ins in (never, closed)}
    assert states[never]["status"] == "not_activated"
    assert states[never]["phone"] == "07 •• •• •• 99"
    assert states[never]["last_login"] is None
    assert states[closed]["status"] == "closed"
    # Erased: only that; nothing written in a trace that no longer exists.
    size = host.sql("SELECT trace_size FROM records WHERE ins = :i", {"i": erased})[0][0]
    r = desk.get(f"/v1/support/accounts/{erased}")
    assert r.status_code == 200, r.text
    assert r.json() == {
        "ins": erased,
        "status": "erased",
        "locked": False,
        "locked_until": None,
        "phone": None,
        "email": None,
        "last_login": None,
    }
    assert host.sql("SELECT trace_size FROM records WHERE ins = :i", {"i": erased})[0][0] == size
    r = desk.post(f"/v1/support/accounts/{erased}/unlock")
    assert r.status_code == 410, r.text
    assert (r.json()["error"], r.json()["reason"]) == ("forbidden", "record_erased")


# --- unlock ------------------------------------------------------------------------------------


def test_unlock_ends_the_lock_and_the_patient_logs_in(host: LiveHost, desk: httpx.Client) -> None:
    _lock(host)
    r = desk.post(f"/v1/support/accounts/{host.ins}/unlock")
    assert r.status_code == 200, r.text
    assert r.json() == {"ins": host.ins, "unlocked": True}
    patient = host.login()  # no wait: the lock is over
    assert patient.get("/v1/record").status_code == 200
    # Nothing to unlock any more: refused, named, and in the trace as refused.
    r = desk.post(f"/v1/support/accounts/{host.ins}/unlock")
    assert r.status_code == 409, r.text
    assert (r.json()["error"], r.json()["reason"]) == ("conflict", "not_locked")
    assert "not locked" in r.json()["message"]
    assert _support_trace(host) == [
        ("support.unlock", "support", AGENT, "allowed", None),
        ("support.unlock", "support", AGENT, "denied", "not_locked"),
    ]
    # The unlock went out by email and SMS too (a locked-out patient cannot open the app), with
    # nothing but what happened.
    sms = host.outbox_body("sms")
    assert "support" in sms and AGENT not in sms


def test_an_unlock_retried_with_its_idempotency_key_is_applied_once(
    host: LiveHost, desk: httpx.Client
) -> None:
    _lock(host)
    key = {"Idempotency-Key": "9f1c2b7e-unlock"}
    first = desk.post(f"/v1/support/accounts/{host.ins}/unlock", headers=key)
    again = desk.post(f"/v1/support/accounts/{host.ins}/unlock", headers=key)
    assert (first.status_code, again.status_code) == (200, 200)
    assert first.json() == again.json()
    assert len(_support_trace(host)) == 1


def test_two_agents_unlocking_at_once_unlock_once(host: LiveHost, desk: httpx.Client) -> None:
    from concurrent.futures import ThreadPoolExecutor

    other = _agent(host, "Marc Support")
    _lock(host)
    path = f"/v1/support/accounts/{host.ins}/unlock"
    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: c.post(path), [desk, other]))
    assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
    assert sorted(row[3] for row in _support_trace(host)) == ["allowed", "denied"]


# --- a new activation code -------------------------------------------------------------------


def test_resend_sends_a_new_code_by_letter_never_to_the_desk(
    host: LiveHost, desk: httpx.Client
) -> None:
    pending = _new_record(host, "2750175000021", status="active")  # not activated
    assert desk.get(f"/v1/support/accounts/{pending}").json()["status"] == "not_activated"
    path = f"/v1/support/accounts/{pending}/activation"
    r = desk.post(path)
    assert r.status_code == 200, r.text
    assert r.json() == {"ins": pending, "sent": True}
    letter = host.outbox_body("letter", unsent=True)
    codes = host.sql(
        "SELECT a.code_hash, a.used_at FROM activation_codes a JOIN records r "
        "ON r.id = a.record_id WHERE r.ins = :i",
        {"i": pending},
    )
    assert len(codes) == 1 and codes[0][1] is None
    # The code is in the letter, not in the desk's answer.
    import re

    (code,) = set(re.findall(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b", letter))
    assert code not in r.text and code.replace("-", "") not in r.text
    # Again: the first code is replaced (one live code).
    assert desk.post(path).status_code == 200
    assert (
        len(
            host.sql(
                "SELECT a.id FROM activation_codes a JOIN records r ON r.id = a.record_id "
                "WHERE r.ins = :i AND a.used_at IS NULL",
                {"i": pending},
            )
        )
        == 1
    )
    trace = host.sql(
        "SELECT t.action, t.actor_role, t.actor_name, t.outcome FROM trace_entries t "
        "JOIN records r ON r.id = t.record_id WHERE r.ins = :i AND t.action = :a ORDER BY t.seq",
        {"i": pending, "a": "support.activation"},
    )
    assert trace == [("support.activation", "support", AGENT, "allowed")] * 2
    kinds = [kind for kind, _m in host.messages() if kind == "support_activation"]
    assert len(kinds) == 2
    message = next(m for kind, m in host.messages() if kind == "support_activation")
    assert "Le support vous a envoyé un nouveau code d'activation" in message["fr"]
    assert "The support desk sent you a new activation code" in message["en"]
    # An activated account: refused, named, traced as refused, no letter.
    letters = host.sql("SELECT count(*) FROM outbox WHERE channel = 'letter'")[0][0]
    r = desk.post(f"/v1/support/accounts/{host.ins}/activation")
    assert r.status_code == 409, r.text
    assert (r.json()["error"], r.json()["reason"]) == ("conflict", "already_activated")
    assert host.sql("SELECT count(*) FROM outbox WHERE channel = 'letter'")[0][0] == letters
    assert _support_trace(host) == [
        ("support.activation", "support", AGENT, "denied", "already_activated")
    ]
    i18n.set_language("fr")
    try:
        assert words.what_words("support.activation") == "envoi d'un nouveau code d'activation"
    finally:
        i18n.set_language("en")


# --- what the patient sees ----------------------------------------------------------------------


def test_each_action_is_in_the_patients_trace_and_notifications_in_both_languages(
    host: LiveHost, desk: httpx.Client
) -> None:
    assert desk.get(f"/v1/support/accounts/{host.ins}").status_code == 200
    _lock(host)
    assert desk.post(f"/v1/support/accounts/{host.ins}/unlock").status_code == 200
    patient = host.login()
    items = patient.get("/v1/record/trace").json()["items"]
    support = [TraceEntryOut(**e) for e in items if e["actor_role"] == "support"]
    assert [e.action for e in support] == ["support.unlock", "support.lookup"]  # newest first
    unlock, lookup = support
    try:
        i18n.set_language("en")
        assert words.who_words(unlock) == f"the support desk ({AGENT})"
        assert "the support desk (Léa Support) unlocked your account" in words.trace_sentence(
            1, unlock
        )
        assert "looked up your account's state (never your documents)" in words.trace_sentence(
            2, lookup
        )
        i18n.set_language("fr")
        assert "le support (Léa Support) : déblocage de votre compte" in words.trace_sentence(
            1, unlock
        )
        assert "consultation de l'état de votre compte" in words.trace_sentence(2, lookup)
        assert words.what_words("support.unlock") == "déblocage de votre compte"
        # Screen-reader mode says it, and the full-screen app's detail lines show it.
        assert "le support (Léa Support) : déblocage" in words.spoken_trace_sentence(1, unlock)
        assert "Qui : le support (Léa Support)" in words.trace_lines(unlock)
        i18n.set_language("en")
        assert "the support desk (Léa Support) unlocked" in words.spoken_trace_sentence(1, unlock)
        assert "Who: the support desk (Léa Support)" in words.trace_lines(unlock)
        assert words.NOTIFICATION_KINDS["support_unlock"] == "Support desk: account unlocked"
    finally:
        i18n.set_language("en")
    notes = patient.get("/v1/record/notifications").json()["items"]
    by_kind = {n["kind"]: n["message"] for n in notes}
    assert "Le support a débloqué votre compte" in by_kind["support_unlock"]["fr"]
    assert "The support desk unlocked your account" in by_kind["support_unlock"]["en"]
    assert "Le support a consulté l'état de votre compte" in by_kind["support_lookup"]["fr"]
    assert "The support desk looked up your account's state" in by_kind["support_lookup"]["en"]
    for kind in ("support_lookup", "support_unlock"):
        assert kind in words.NOTIFICATION_KINDS


# --- refusals ----------------------------------------------------------------------------------


def test_bad_input_is_named(host: LiveHost, desk: httpx.Client) -> None:
    r = desk.get("/v1/support/accounts/123")
    assert r.status_code == 422, r.text
    assert (r.json()["error"], r.json()["field"]) == ("invalid_input", "ins")
    nobody = "2750175999999"
    r = desk.get(f"/v1/support/accounts/{nobody}{ins_key(nobody):02d}")
    assert r.status_code == 404, r.text
    assert (r.json()["error"], r.json()["field"]) == ("not_found", "ins")
    r = desk.get(f"/v1/support/accounts/{host.ins}", params={"with": "documents"})
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "with"
    assert _support_trace(host) == []


def test_who_is_not_the_support_desk_is_refused(host: LiveHost, desk: httpx.Client) -> None:
    paths = [("GET", f"/v1/support/accounts/{host.ins}")]
    paths += [("POST", f"/v1/support/accounts/{host.ins}/unlock")]
    patient = host.login()
    practitioner = host.practitioner("attending")["credential"]
    strangers: list[dict[str, str]] = [
        {},
        {SUPPORT_HEADER: ""},
        {SUPPORT_HEADER: "sup-not-an-agent"},
        {SUPPORT_HEADER: practitioner},  # a CPS credential in the support header
        {PRACTITIONER_HEADER: practitioner},
        {"Authorization": patient.headers["Authorization"]},
    ]
    for method, path in paths:
        for headers in strangers:
            r = host.http.request(method, path, headers=headers)
            assert r.status_code == 401, (path, headers.keys(), r.text)
            assert (r.json()["error"], r.json()["field"]) == ("unauthenticated", SUPPORT_HEADER)
    # A support credential opens nothing else: no patient route, no practitioner route.
    credential = desk.headers[SUPPORT_HEADER]
    for method, path in [
        ("GET", "/v1/record"),
        ("GET", "/v1/record/documents"),
        ("GET", "/v1/record/trace"),
        ("GET", f"/v1/ps/records/{host.ins}/documents"),
        ("GET", f"/v1/ps/records/{host.ins}/notes"),
    ]:
        for headers in ({SUPPORT_HEADER: credential}, {PRACTITIONER_HEADER: credential}):
            r = host.http.request(method, path, headers=headers)
            assert r.status_code == 401, (path, r.text)
    assert _support_trace(host) == []


def test_a_removed_agent_is_refused_and_their_past_actions_stay(
    host: LiveHost, desk: httpx.Client
) -> None:
    assert desk.get(f"/v1/support/accounts/{host.ins}").status_code == 200
    (agent_id,) = host.sql("SELECT id FROM support_agents")[0]
    with host.app.state.host.tx() as s:
        assert support_desk.remove(s, agent_id) is not None
    r = desk.get(f"/v1/support/accounts/{host.ins}")
    assert r.status_code == 401, r.text
    assert _support_trace(host) == [("support.lookup", "support", AGENT, "allowed", None)]


def test_an_agents_name_must_be_one_readable_line() -> None:
    for bad in ("", "   ", "Léa\nSupport", "Léa\u202eSupport", "x" * 201):
        with pytest.raises(support_desk.BadName):
            support_desk.checked_name(bad)
    assert support_desk.checked_name("  Léa Support ") == "Léa Support"


# --- the command, in its own process -------------------------------------------------------------


def _cli(host: LiveHost, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "DMPTUI_DATA_DIR": str(host.data_dir)}
    proc = subprocess.run(
        [sys.executable, "-m", "dmptui.entry", "host", "support", *args],
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    return proc.returncode, proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")


def test_the_support_command(host: LiveHost) -> None:
    db = ["--db", host.db_url]
    code, out, err = _cli(host, "add", "--name", "Marc Support", *db, "--json")
    assert code == 0, err
    added = json.loads(out)
    credential = added["credential"]
    assert credential.startswith("sup-")
    # Shown once: the database holds its digest only.
    assert host.sql("SELECT credential_hash FROM support_agents") == [(auth.digest(credential),)]
    code, out, err = _cli(host, "list", *db)
    assert code == 0, err
    assert "Marc Support" in out and credential not in out

    http = ["--url", host.url, "--credential", credential]
    _lock(host)
    code, out, err = _cli(host, "lookup", host.ins, *http)
    assert code == 0, err
    assert "06 •• •• •• 78" in out and "c•••@example.org" in out
    assert "Login locked until" in out and "ouvert / open" in out
    assert host.creds["patient"]["name"] not in out
    code, out, err = _cli(host, "unlock", host.ins, *http)
    assert code == 0, err
    assert "Login unlocked" in out
    host.login().close()  # the patient is in
    # Refusals, worded in both languages, exit 3 (2 for a malformed INS).
    code, out, err = _cli(host, "unlock", host.ins, *http)
    assert code == 3, err
    assert "Refusé : la connexion de ce compte n'est pas bloquée" in err
    assert "Refused: this account's login is not locked" in err
    code, out, err = _cli(host, "lookup", "123", *http)
    assert code == 2 and "malformed INS" in err
    code, out, err = _cli(host, "lookup", host.ins, "--url", host.url, "--credential", "sup-x")
    assert code == 3 and "support credential missing or unknown" in err

    pending = _new_record(host, "2750175000022", status="active")  # not activated
    code, out, err = _cli(host, "resend", pending, *http)
    assert code == 0, err
    assert "by letter" in out and "par courrier" in out
    code, out, err = _cli(host, "resend", host.ins, *http)
    assert code == 3 and "Refused: this account is already activated" in err

    code, out, err = _cli(host, "remove", str(added["id"]), *db)
    assert code == 0, err
    code, out, err = _cli(host, "lookup", host.ins, *http)
    assert code == 3, err
    code, out, err = _cli(host, "remove", str(added["id"]), *db)
    assert code == 3 and "no agent" in err
    assert [row[0] for row in _support_trace(host)] == [
        "support.lookup",
        "support.unlock",
        "support.unlock",
        "support.activation",
    ]


# --- the app's own check of the trace accepts the support desk's entries ------------------------


def test_the_apps_trace_check_verifies_the_support_entries(
    host: LiveHost, desk: httpx.Client, tmp_path: Path
) -> None:
    import asyncio

    from dmptui.client import Client
    from dmptui.trace_check import CheckpointStore, Seal, TraceChecker

    assert desk.get(f"/v1/support/accounts/{host.ins}").status_code == 200
    _lock(host)
    assert desk.post(f"/v1/support/accounts/{host.ins}/unlock").status_code == 200
    tokens = host.login().tokens  # type: ignore[attr-defined]

    async def visit() -> tuple[Seal, list[Any]]:
        async with Client(host.url) as client:
            client.access_token = tokens["access_token"]
            client.refresh_token = tokens["refresh_token"]
            page = await client.trace(limit=50)
            store = CheckpointStore.in_dir(tmp_path / "app")
            return await TraceChecker(client, store).check(page.items, complete=True), page.items

    seal, items = asyncio.run(visit())
    assert seal.verified, seal
    assert {e.action for e in items if e.actor_role == "support"} == {
        "support.lookup",
        "support.unlock",
    }


# --- policy: what a support agent may do (pure) ---------------------------------------------------


def test_policy_of_the_support_desk() -> None:
    from dmptui.schema import AccountState, RecordStatus

    assert policy.account_state(RecordStatus.ACTIVE, True) == AccountState.OPEN
    assert policy.account_state(RecordStatus.ACTIVE, False) == AccountState.NOT_ACTIVATED
    assert policy.account_state(RecordStatus.CLOSED, False) == AccountState.CLOSED
    assert policy.account_state(RecordStatus.ERASED, True) == AccountState.ERASED
    may = policy.support_may
    for state in AccountState:
        assert may(policy.SUPPORT_LOOKUP, state, False)
    assert may(policy.SUPPORT_UNLOCK, AccountState.OPEN, True)
    assert may(policy.SUPPORT_UNLOCK, AccountState.CLOSED, True)  # to log in and reopen
    assert may(policy.SUPPORT_UNLOCK, AccountState.OPEN, False).reason == "not_locked"
    assert may(policy.SUPPORT_UNLOCK, AccountState.ERASED, True).reason == "record_erased"
    assert may(policy.SUPPORT_ACTIVATION, AccountState.NOT_ACTIVATED, False)
    assert may(policy.SUPPORT_ACTIVATION, AccountState.OPEN, False).reason == "already_activated"
    # Nothing else, whatever it is called.
    for action in ("document.read", "notes.read", "trace.read", "authorisation.grant", "erase"):
        assert may(action, AccountState.OPEN, True).reason == "not_support"
    assert policy.masked_phone("+33 6 12 34 56 78") == "06 •• •• •• 78"
    assert policy.masked_phone("06.12.34.56.78") == "06 •• •• •• 78"
    assert policy.masked_phone("123") == "•• ••"
    assert policy.masked_email("marie.dupont@example.org") == "m•••@example.org"
    assert policy.masked_email("not an address") == "•••"
