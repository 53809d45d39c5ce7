"""Cross-record authorisation, route by route, on the real host over HTTP.

Every operation of the app (read from the app's own OpenAPI, so a new route without a case here
fails the first test) is either a patient operation, a practitioner operation, or one of the
open ways in. Patient operations are called with patient B's session on patient A's objects
(A's document ids, A's practitioners); practitioner operations with a blocked credential, a
credential the patient never authorised, and the professions that never have access. Each one
refuses, A's record is untouched, nothing of A's reaches B, and every refusal is in the trace of
the record it was about (RULES.md, "Trace": allowed or denied, who, what, which document, mode).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from hostkit import LiveHost

from dmptui.host import auth
from dmptui.host.db import AuthSession, Record
from dmptui.identifiers import ins_key
from dmptui.schema import PRACTITIONER_HEADER, SUPPORT_HEADER

# --- the table: every operation has a case -------------------------------------------------

OPEN = {
    ("GET", "/v1/health"): "no record behind it",
    ("POST", "/v1/auth/login"): "the way in: INS + password, answers a challenge",
    ("POST", "/v1/auth/otp"): "the way in: sends a code for a challenge",
    ("POST", "/v1/auth/verify"): "the way in: challenge + code",
    ("POST", "/v1/auth/activate"): "the way in: challenge + the letter's activation code",
    ("POST", "/v1/auth/refresh"): "the way in: a refresh token is its own credential",
    ("POST", "/v1/auth/reset/start"): "forgotten password: an INS, answered alike known or not",
    ("POST", "/v1/auth/reset/verify"): "forgotten password: the flow + a code sent to its record",
    ("POST", "/v1/auth/reset/password"): "forgotten password: the flow, once its codes are proven",
    ("POST", "/v1/auth/reenrol/start"): "lost authenticator: INS + password, as a login",
    ("POST", "/v1/auth/reenrol/verify"): "lost authenticator: the flow + a code sent to its record",
    ("GET", "/v1/ledger/key"): "the host's public key that checks trace checkpoints, no record",
}

# Patient operations whose path names an object of a record: called with A's ids.
BY_DOCUMENT = {
    ("GET", "/v1/record/documents/{doc_id}"): "document.read",
    ("GET", "/v1/record/documents/{doc_id}/content"): "document.download",
    ("POST", "/v1/record/documents/{doc_id}/mask"): "document.mask",
    ("POST", "/v1/record/documents/{doc_id}/unmask"): "document.unmask",
    ("DELETE", "/v1/record/documents/{doc_id}"): "document.delete",
}
# Patient operations on the caller's own record (or on a practitioner, named by RPPS): called
# with B's session, they may only ever see or change B's record. Lifecycle last (erase ends B).
OWN_RECORD: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/record", None),
    ("GET", "/v1/record/documents", None),
    ("GET", "/v1/record/practitioners", None),
    ("GET", "/v1/directory?q=Lef", None),
    ("PUT", "/v1/record/authorisations/{rpps}", {"see_masked": True}),
    ("DELETE", "/v1/record/authorisations/{rpps}", None),
    ("PUT", "/v1/record/blocks/{rpps}", None),
    ("DELETE", "/v1/record/blocks/{rpps}", None),
    ("PUT", "/v1/record/attending/{rpps}", None),
    ("DELETE", "/v1/record/attending", None),
    ("GET", "/v1/record/trace", None),
    ("GET", "/v1/record/trace/checkpoint", None),
    ("GET", "/v1/record/trace/proof/inclusion?size=1&seq=1", None),
    ("GET", "/v1/record/trace/proof/consistency?first=1&second=2", None),
    ("GET", "/v1/record/oppositions", None),
    ("PUT", "/v1/record/oppositions", {"break_glass": True, "regulation": True}),
    ("GET", "/v1/record/notes", None),
    ("PUT", "/v1/record/notes", {"text": "B's own notes"}),
    ("GET", "/v1/record/notifications", None),
    ("POST", "/v1/record/notifications/read", None),
    ("POST", "/v1/auth/step-up/otp", {"channel": "email"}),
    ("POST", "/v1/auth/step-up", {"code": "000000"}),
    ("GET", "/v1/auth/sessions", None),
    ("POST", "/v1/auth/password", {"current_password": "x", "new_password": "Pomme-Nuage-88"}),
    ("POST", "/v1/record/export", None),  # B's own record only (the archive is compressed:
    # test_export checks its checkpoint names the caller's INS)
    ("POST", "/v1/record/close", None),
    ("POST", "/v1/record/reactivate", None),
    ("POST", "/v1/record/erase", None),
    ("POST", "/v1/auth/logout", None),
    ("POST", "/v1/auth/logout-everywhere", None),  # ends B's sessions, never A's
]
# Patient operations on one of the caller's sessions or remembered devices, named by its opaque
# id: called with A's ids.
BY_ACCOUNT_ID = {
    ("DELETE", "/v1/auth/sessions/{session_id}"): "session.revoke",
    ("DELETE", "/v1/auth/devices/{device_id}"): "device.forget",
}
# Support desk operations (X-Support-Credential): an account's state, never health data.
SUPPORT = {
    ("GET", "/v1/support/accounts/{ins}"): "support.lookup",
    ("POST", "/v1/support/accounts/{ins}/unlock"): "support.unlock",
    ("POST", "/v1/support/accounts/{ins}/activation"): "support.activation",
}
PRACTITIONER = {
    ("POST", "/v1/ps/records/{ins}/documents"): "document.deposit",
    ("GET", "/v1/ps/records/{ins}/documents"): "documents.list",
    ("GET", "/v1/ps/records/{ins}/documents/{doc_id}"): "document.read",
    ("GET", "/v1/ps/records/{ins}/notes"): "notes.read",
}

# Practitioner operations that name no existing record: opening one (policy.may_open_record).
OPENING = {("POST", "/v1/ps/records"): "record.open"}


# An ETag of the right form (a guess): a change that needs If-Match is looked up, not refused
# with 428 before it.
_IF_MATCH_GUESS = {"If-Match": '"doc-guess-1"'}


def _template(path: str) -> str:
    return path.split("?")[0]


def test_every_operation_of_the_app_has_a_case(host: LiveHost) -> None:
    spec = host.http.get("/openapi.json").json()
    operations = {
        (method.upper(), path)
        for path, ops in spec["paths"].items()
        for method in ops
        if method in {"get", "put", "post", "delete", "patch"}
    }
    from dmptui.host.app import api_routes

    routed = {
        (m, r.path)
        for r in api_routes(host.app)
        if r.path not in ("/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc")
        for m in r.methods
        if m != "HEAD"
    }
    assert routed == operations, "a route is missing from the OpenAPI"
    covered = (
        set(OPEN)
        | set(BY_DOCUMENT)
        | set(BY_ACCOUNT_ID)
        | {(m, _template(p)) for m, p, _ in OWN_RECORD}
        | set(PRACTITIONER)
        | set(OPENING)
        | set(SUPPORT)
    )
    assert operations - covered == set(), "operations without an authorisation case"
    assert covered - operations == set(), "cases for operations that no longer exist"


# --- two records ---------------------------------------------------------------------------


@dataclass
class Two:
    host: LiveHost
    a_id: int
    b_id: int
    a_ins: str
    b_ins: str
    a: httpx.Client  # patient A's session
    b: httpx.Client  # patient B's session
    a_docs: list[str]


def _session(host: LiveHost, record_id: int) -> httpx.Client:
    """A live, fresh session minted in the host's database (no login: the login flow has its
    own tests, and its throttle is not what is tested here)."""
    token = auth.new_token()
    now = host.clock()
    with host.app.state.host.tx() as s:
        s.add(
            AuthSession(
                record_id=record_id,
                access_hash=auth.digest(token),
                refresh_hash=auth.digest(auth.new_token()),
                created_at=now,
                last_seen_at=now,
                device="authz",
                fresh_until=now + auth.FRESH_FOR,
            )
        )
    return httpx.Client(base_url=host.url, timeout=30, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture
def two(host: LiveHost) -> Two:
    first13 = "2750175123456"
    b_ins = f"{first13}{ins_key(first13):02d}"
    attending = host.practitioner("attending")
    with host.app.state.host.tx() as s:
        a = s.query(Record).filter_by(ins=host.ins).one()
        b = Record(
            ins=b_ins,
            status="active",
            created_at=host.clock(),
            display_name="Zoé Second",
            email="zoe@example.org",
            attending_rpps=attending["rpps"],
            trace_size=0,
        )
        s.add(b)
        s.flush()
        a_id, b_id = a.id, b.id
    with host.ps("attending") as ps:
        r = ps.post(
            f"/v1/ps/records/{b_ins}/documents",
            json={"type": "11488-4", "title": "B's own report", "content": "B only"},
        )
        assert r.status_code == 201, r.text
    a_docs = [row[0] for row in host.sql(f"SELECT id FROM documents WHERE record_id = {a_id}")]
    assert a_docs
    return Two(
        host, a_id, b_id, host.ins, b_ins, _session(host, a_id), _session(host, b_id), a_docs
    )


def _snapshot(two: Two) -> dict[str, Any]:
    """Everything of A's record a cross-record call could change."""
    q = two.host.sql
    rid = two.a_id
    return {
        "record": q(
            "SELECT status, attending_rpps, notes, refuses_break_glass, refuses_regulation,"
            f" trace_size FROM records WHERE id = {rid}"
        ),
        "documents": q(f"SELECT id, labels FROM documents WHERE record_id = {rid} ORDER BY id"),
        "authorisations": q(f"SELECT rpps, see_masked FROM authorisations WHERE record_id = {rid}"),
        "blocks": q(f"SELECT rpps FROM blocks WHERE record_id = {rid}"),
        "trace": q(f"SELECT count(*) FROM trace_entries WHERE record_id = {rid}"),
        "notifications": q(
            f"SELECT count(*), count(read_at) FROM notifications WHERE record_id = {rid}"
        ),
        "sessions": q(
            f"SELECT count(*) FROM sessions WHERE record_id = {rid} AND revoked_at IS NULL"
        ),
    }


def _b_trace(two: Two, since_seq: int) -> list[tuple[Any, ...]]:
    return two.host.sql(
        "SELECT action, document_id, outcome, reason FROM trace_entries"
        f" WHERE record_id = {two.b_id} AND seq > {since_seq} ORDER BY seq"
    )


def _b_seq(two: Two) -> int:
    return two.host.sql(
        f"SELECT coalesce(max(seq), 0) FROM trace_entries WHERE record_id = {two.b_id}"
    )[0][0]


# --- patient operations --------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path"), sorted(BY_DOCUMENT))
def test_another_patients_document_is_not_reachable_by_id(two: Two, method: str, path: str) -> None:
    before = _snapshot(two)
    for doc_id in two.a_docs:
        seq = _b_seq(two)
        # A well-formed If-Match where a change needs one: B gets as far as the lookup.
        r = two.b.request(method, path.format(doc_id=doc_id), headers=_IF_MATCH_GUESS)
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.json()["error"] == "not_found"
        assert doc_id not in r.text
        # The refusal is in the trace of the caller's record, denied, with the id tried.
        assert _b_trace(two, seq) == [
            (BY_DOCUMENT[(method, path)], doc_id[:32], "denied", "not_found")
        ]
    assert _snapshot(two) == before
    # The same call by A on A's own document is allowed: the 404 above is about the record.
    own = two.a_docs[-1]
    etag = two.a.get(f"/v1/record/documents/{own}").headers["ETag"]
    r = two.a.request(method, path.format(doc_id=own), headers={"If-Match": etag})
    assert r.status_code in (200, 204), r.text


def test_patient_b_on_its_own_record_never_touches_or_sees_record_a(two: Two) -> None:
    before = _snapshot(two)
    a_rpps = two.host.practitioner("authorised")["rpps"]
    a_name = two.host.creds["patient"]["name"]
    a_notes = two.host.notes()  # A is the demo patient
    secrets = [*two.a_docs, two.a_ins, a_name, a_notes[:40]]
    for method, path, body in OWN_RECORD:
        r = two.b.request(method, path.format(rpps=a_rpps), json=body)
        assert r.status_code < 500, (method, path, r.text)
        for secret in secrets:
            assert secret not in r.text, (method, path, "leaks A's", secret)
    assert _snapshot(two) == before
    # B's calls went to B's record: B's trace holds them, A's holds none of them.
    assert (
        two.host.sql(
            "SELECT count(*) FROM trace_entries"
            f" WHERE record_id = {two.b_id} AND actor_role = 'patient'"
        )[0][0]
        > 5
    )


@pytest.mark.parametrize(("method", "path"), sorted(BY_ACCOUNT_ID))
def test_another_patients_session_or_device_is_not_reachable_by_id(
    two: Two, method: str, path: str
) -> None:
    two.host.sql(
        "INSERT INTO known_devices (record_id, device, first_seen, public_id) "
        "VALUES (:r, 'a-device', :t, 'a-device-public-id')",
        {"r": two.a_id, "t": two.host.clock().replace(tzinfo=None)},
    )
    a_sessions = [
        row[0]
        for row in two.host.sql(
            f"SELECT public_id FROM sessions WHERE record_id = {two.a_id} AND revoked_at IS NULL"
        )
    ]
    ids = a_sessions if "sessions" in path else ["a-device-public-id"]
    assert ids
    before = _snapshot(two)
    devices = two.host.sql(f"SELECT count(*) FROM known_devices WHERE record_id = {two.a_id}")
    for some_id in ids:
        seq = _b_seq(two)
        r = two.b.request(method, path.format(session_id=some_id, device_id=some_id))
        assert r.status_code == 404, (method, path, r.status_code, r.text)
        assert r.json()["error"] == "not_found"
        assert some_id not in r.text
        reason = "no_such_session" if "sessions" in path else "no_such_device"
        assert _b_trace(two, seq) == [(BY_ACCOUNT_ID[(method, path)], None, "denied", reason)]
    assert _snapshot(two) == before
    assert (
        two.host.sql(f"SELECT count(*) FROM known_devices WHERE record_id = {two.a_id}") == devices
    )
    # A's own session can end itself: the 404 above is about the record.
    r = two.a.request(method, path.format(session_id=ids[0], device_id=ids[0]))
    assert r.status_code == 200, r.text


def test_b_sees_its_own_documents_only(two: Two) -> None:
    r = two.b.get("/v1/record/documents")
    assert r.status_code == 200
    titles = [d["title"] for d in r.json()["items"]]
    assert titles == ["B's own report"]
    r = two.b.get("/v1/record")
    assert r.json()["ins"] == two.b_ins


# --- practitioner operations ---------------------------------------------------------------


def _ps_client(host: LiveHost, credential: str | None) -> httpx.Client:
    headers = {PRACTITIONER_HEADER: credential} if credential is not None else {}
    return httpx.Client(base_url=host.url, timeout=30, headers=headers)


def _ps_call(client: httpx.Client, method: str, path: str, ins: str, doc: str, mode: str) -> Any:
    params: dict[str, str] = {}
    body = None
    if mode != "normal" and method != "POST":  # a deposit has no mode: always normal
        params = {"mode": mode, "reason": "patient unconscious in A&E"}
    if method == "POST":
        body = {"type": "11488-4", "title": "Should not land", "content": "no"}
    return client.request(method, path.format(ins=ins, doc_id=doc), params=params, json=body)


def _a_denials(two: Two, since: int) -> list[tuple[Any, ...]]:
    return two.host.sql(
        "SELECT action, actor_rpps, outcome, reason, mode, document_id FROM trace_entries"
        f" WHERE record_id = {two.a_id} AND seq > {since} ORDER BY seq"
    )


def _a_seq(two: Two) -> int:
    return two.host.sql(f"SELECT trace_size FROM records WHERE id = {two.a_id}")[0][0]


BAD_CREDENTIALS = [
    # (who, modes, the reason the trace keeps). Blocked and unauthorised practitioners have no
    # standing on A's record: they are told "no_access", exactly as for an INS with no record
    # (changed: they used to be told "blocked" / "not_authorised"); the professions that never
    # have access are told so, for every INS.
    ("blocked", ("normal", "break-glass"), "blocked"),
    ("unauthorised", ("normal",), "not_authorised"),
    ("occupational", ("normal", "break-glass"), "profession_never_has_access"),
    ("insurer", ("normal", "break-glass"), "profession_never_has_access"),
]
TOLD = {"blocked": "no_access", "not_authorised": "no_access"}


def _credential(two: Two, who: str) -> dict[str, Any]:
    people = two.host.creds["practitioners"]
    if who == "blocked":
        return two.host.practitioner("authorised")
    profession = {
        "unauthorised": "medecin",
        "occupational": "medecin_du_travail",
        "insurer": "medecin_conseil_assurance",
    }[who]
    authorised = {
        row[0]
        for row in two.host.sql(f"SELECT rpps FROM authorisations WHERE record_id = {two.a_id}")
    }
    attending = two.host.practitioner("attending")["rpps"]
    return next(
        p
        for p in people
        if p["role"] == "directory"
        and str(p["profession"]) == profession
        and p["rpps"] not in authorised | {attending}
    )


@pytest.mark.parametrize(("method", "path"), sorted(PRACTITIONER))
@pytest.mark.parametrize(("who", "modes", "reason"), BAD_CREDENTIALS)
def test_practitioner_refused_and_traced(
    two: Two, method: str, path: str, who: str, modes: tuple[str, ...], reason: str
) -> None:
    person = _credential(two, who)
    if who == "blocked":
        # The authorised practitioner, now blocked by A: authorised AND blocked is refused.
        etag = two.a.get("/v1/record/practitioners").headers["ETag"]
        r = two.a.put(f"/v1/record/blocks/{person['rpps']}", headers={"If-Match": etag})
        assert r.status_code == 200, r.text
    before = _snapshot(two)
    with _ps_client(two.host, person["credential"]) as ps:
        for mode in modes:
            seq = _a_seq(two)
            r = _ps_call(ps, method, path, two.a_ins, two.a_docs[0], mode)
            assert r.status_code == 403, (who, mode, r.status_code, r.text)
            body = r.json()
            assert (body["error"], body["reason"]) == ("forbidden", TOLD.get(reason, reason))
            for doc_id in two.a_docs:
                assert doc_id not in r.text or "{doc_id}" in path
            assert "Should not land" not in r.text
            doc = two.a_docs[0][:32] if "{doc_id}" in path else None
            traced_mode = "normal" if method == "POST" else mode  # a deposit has no mode
            assert _a_denials(two, seq) == [
                (PRACTITIONER[(method, path)], person["rpps"], "denied", reason, traced_mode, doc)
            ]
    after = _snapshot(two)
    assert after["documents"] == before["documents"]
    assert after["record"][0][:5] == before["record"][0][:5]


@pytest.mark.parametrize(("method", "path"), sorted(PRACTITIONER))
@pytest.mark.parametrize("credential", [None, "", "cps-not-a-card", "Bearer x"])
def test_unknown_or_missing_credential_is_401_and_leaves_no_trace(
    two: Two, method: str, path: str, credential: str | None
) -> None:
    before = _snapshot(two)
    with _ps_client(two.host, credential) as ps:
        r = _ps_call(ps, method, path, two.a_ins, two.a_docs[0], "normal")
    assert r.status_code == 401, r.text
    assert r.json()["error"] == "unauthenticated"
    assert _snapshot(two) == before  # no practitioner known: nothing to trace, nothing read


@pytest.mark.parametrize(("method", "path"), sorted(PRACTITIONER))
def test_a_patient_token_is_not_a_practitioner_credential(two: Two, method: str, path: str) -> None:
    token = two.a.headers["Authorization"]
    with _ps_client(two.host, None) as ps:
        ps.headers["Authorization"] = token
        r = _ps_call(ps, method, path, two.a_ins, two.a_docs[0], "normal")
    assert r.status_code == 401, r.text


@pytest.mark.parametrize(("method", "path"), sorted(BY_DOCUMENT))
def test_a_practitioner_credential_is_not_a_patient_session(
    two: Two, method: str, path: str
) -> None:
    with two.host.ps("attending") as ps:
        r = ps.request(method, path.format(doc_id=two.a_docs[0]))
    assert r.status_code == 401, r.text
    assert json.loads(r.text)["error"] in ("unauthenticated", "session_expired")


# --- one answer to a practitioner without standing -------------------------------------------


def _new_record(host: LiveHost, first13: str, **columns: Any) -> str:
    ins = f"{first13}{ins_key(first13):02d}"
    with host.app.state.host.tx() as s:
        s.add(
            Record(
                ins=ins,
                created_at=host.clock(),
                display_name="Autre Patiente",
                attending_rpps=host.practitioner("attending")["rpps"],
                trace_size=0,
                **columns,
            )
        )
    return ins


@pytest.mark.parametrize(("method", "path"), sorted(PRACTITIONER))
def test_a_practitioner_without_standing_cannot_tell_records_apart(
    host: LiveHost, method: str, path: str
) -> None:
    # No record, a closed one, an erased one, one that refuses emergency access, one that
    # blocks the practitioner, one the practitioner was never let in: for a practitioner the
    # patient never let in, every refusal reads exactly like "no record" (RULES: the trace of
    # an existing record still says why).
    from dmptui.host.db import Block

    now = host.clock()
    records = {
        "none": "2750175999999",
        "active": "2750175000001",
        "closed": "2750175000002",
        "erased": "2750175000003",
        "refusing": "2750175000004",
        "blocking": "2750175000005",
    }
    columns: dict[str, dict[str, Any]] = {
        "active": {"status": "active"},
        "closed": {"status": "closed", "closed_at": now},
        "erased": {"status": "erased", "erased_at": now},
        "refusing": {"status": "active", "refuses_break_glass": True, "refuses_regulation": True},
        "blocking": {"status": "active"},
    }
    ins = {"none": f"{records['none']}{ins_key(records['none']):02d}"}
    for name, cols in columns.items():
        ins[name] = _new_record(host, records[name], **cols)
    stranger = host.practitioner("regulation")  # a doctor of the call centre, never let in
    with host.app.state.host.tx() as s:
        rid = s.query(Record).filter_by(ins=ins["blocking"]).one().id
        s.add(Block(record_id=rid, rpps=stranger["rpps"], since=now))
    doc = "0" * 32
    with _ps_client(host, stranger["credential"]) as ps:
        for mode in ("normal", "break-glass", "regulation"):
            if method == "POST" and mode != "normal":
                continue  # a deposit has no mode
            answers = {
                name: _ps_call(ps, method, path, number, doc, mode) for name, number in ins.items()
            }
            none = answers["none"]
            assert none.status_code == 403, (mode, none.text)
            assert (none.json()["error"], none.json()["reason"]) == ("forbidden", "no_access")
            # An emergency mode opens the active record (traced, the patient told): a list, the
            # notes, or "no such document". Nothing else opens anything.
            opened = {"active"} if mode != "normal" else set()
            for name, r in answers.items():
                if name in opened:
                    assert r.status_code in (200, 404), (mode, name, r.text)
                else:
                    assert (r.status_code, r.json()) == (none.status_code, none.json()), (
                        mode,
                        name,
                        r.text,
                    )
    # The trace of each existing record that is not erased says why, for the patient.
    reasons = dict(
        host.sql(
            "SELECT r.ins, t.reason FROM trace_entries t JOIN records r ON r.id = t.record_id "
            "WHERE t.mode = 'normal' AND t.outcome = 'denied' AND t.actor_rpps = :rpps",
            {"rpps": stranger["rpps"]},
        )
    )
    assert reasons == {
        ins["active"]: "not_authorised",
        ins["closed"]: "record_closed",
        ins["refusing"]: "not_authorised",
        ins["blocking"]: "blocked",
    }


def test_a_practitioner_let_in_is_told_that_the_record_is_closed(host: LiveHost) -> None:
    closed = _new_record(host, "2750175000006", status="closed", closed_at=host.clock())
    with host.ps("attending") as ps:  # the médecin traitant of that record
        r = ps.get(f"/v1/ps/records/{closed}/documents")
    assert r.status_code == 403
    assert (r.json()["error"], r.json()["reason"]) == ("forbidden", "record_closed")


# --- opening a record ----------------------------------------------------------------------


def _records(host: LiveHost) -> list[tuple[Any, ...]]:
    return host.sql("SELECT id, ins, status, display_name, password_hash FROM records ORDER BY id")


@pytest.mark.parametrize(
    "profession",
    [
        "infirmier",
        "kinesitherapeute",
        "chirurgien_dentiste",
        "sage_femme",
        "medecin_du_travail",
        "medecin_conseil_assurance",
    ],
)
def test_only_doctors_and_pharmacists_open_a_record(two: Two, profession: str) -> None:
    before, a_before = _records(two.host), _snapshot(two)
    person = next(p for p in two.host.creds["practitioners"] if str(p["profession"]) == profession)
    first13 = "1850533063045"
    with _ps_client(two.host, person["credential"]) as ps:
        for ins in (f"{first13}{ins_key(first13):02d}", two.a_ins):
            r = ps.post("/v1/ps/records", json={"ins": ins, "name": "Quelqu'un"})
            assert r.status_code == 403, (profession, r.text)
            assert r.json()["error"] == "forbidden"
            assert r.json()["reason"] in ("profession_may_not_open", "profession_never_has_access")
    assert _records(two.host) == before and _snapshot(two) == a_before


@pytest.mark.parametrize("credential", [None, "", "cps-not-a-card", "Bearer x", "patient"])
def test_opening_needs_a_practitioner_credential(two: Two, credential: str | None) -> None:
    before = _records(two.host)
    with _ps_client(two.host, None if credential == "patient" else credential) as ps:
        if credential == "patient":
            ps.headers["Authorization"] = two.a.headers["Authorization"]
        r = ps.post("/v1/ps/records", json={"ins": "185053306304523", "name": "X"})
    assert r.status_code == 401, r.text
    assert _records(two.host) == before


@pytest.mark.parametrize("role", ["attending", "pharmacist", "emergency"])
def test_opening_an_existing_record_is_refused_and_changes_nothing(two: Two, role: str) -> None:
    before, a_before = _records(two.host), _snapshot(two)
    with two.host.ps(role) as ps:
        for ins in (two.a_ins, two.b_ins):
            r = ps.post("/v1/ps/records", json={"ins": ins, "name": "Usurpateur"})
            assert r.status_code == 409, r.text
            assert (r.json()["error"], r.json()["field"]) == ("record_exists", "ins")
            assert "Usurpateur" not in r.text and "Zoé" not in r.text
    assert _records(two.host) == before and _snapshot(two) == a_before


# --- the support desk ------------------------------------------------------------------------


def _support_credential(host: LiveHost) -> str:
    from dmptui.host import support_desk

    with host.app.state.host.tx() as s:
        return support_desk.add(s, "Agent Matrice", host.clock())[1]


def _patient_calls(two: Two) -> list[tuple[str, str, Any]]:
    """Every patient operation, on A's objects (the same list as above)."""
    a_rpps = two.host.practitioner("authorised")["rpps"]
    calls = [(m, p.format(doc_id=two.a_docs[0]), None) for m, p in sorted(BY_DOCUMENT)]
    calls += [(m, p.format(rpps=a_rpps), body) for m, p, body in OWN_RECORD]
    return calls


def test_a_support_credential_opens_no_patient_or_practitioner_route(two: Two) -> None:
    credential = _support_credential(two.host)
    before = _snapshot(two)
    practitioner_calls = [
        (m, p.format(ins=two.a_ins, doc_id=two.a_docs[0]), None) for m, p in sorted(PRACTITIONER)
    ]
    for headers in (
        {SUPPORT_HEADER: credential},
        {PRACTITIONER_HEADER: credential},
        {"Authorization": f"Bearer {credential}"},
    ):
        for method, path, body in [*_patient_calls(two), *practitioner_calls]:
            r = two.host.http.request(
                method, path, json=body, headers={**headers, **_IF_MATCH_GUESS}
            )
            assert r.status_code == 401, (method, path, headers.keys(), r.status_code, r.text)
    assert _snapshot(two) == before


@pytest.mark.parametrize(("method", "path"), sorted(SUPPORT))
def test_a_patient_token_or_practitioner_credential_opens_no_support_route(
    two: Two, method: str, path: str
) -> None:
    before = _snapshot(two)
    practitioner = two.host.practitioner("attending")["credential"]
    for headers in (
        {"Authorization": two.b.headers["Authorization"]},
        {PRACTITIONER_HEADER: practitioner},
        {SUPPORT_HEADER: practitioner},
        {SUPPORT_HEADER: two.b.headers["Authorization"].removeprefix("Bearer ")},
        {},
    ):
        r = two.host.http.request(method, path.format(ins=two.a_ins), headers=headers)
        assert r.status_code == 401, (headers.keys(), r.text)
        assert r.json()["field"] == SUPPORT_HEADER
    assert _snapshot(two) == before


@pytest.mark.parametrize(("method", "path"), sorted(SUPPORT))
def test_a_support_action_is_in_the_trace_of_the_record_it_was_about(
    two: Two, method: str, path: str
) -> None:
    credential = _support_credential(two.host)
    seq, b_seq = _a_seq(two), _b_seq(two)
    r = two.host.http.request(
        method, path.format(ins=two.a_ins), headers={SUPPORT_HEADER: credential}
    )
    # 409: an unlock of an account that is not locked, a code for an account already activated
    assert r.status_code in (200, 409), r.text
    outcome = "allowed" if r.status_code == 200 else "denied"
    assert two.host.sql(
        "SELECT action, actor_role, actor_name, outcome FROM trace_entries"
        f" WHERE record_id = {two.a_id} AND seq > {seq} ORDER BY seq"
    ) == [(SUPPORT[(method, path)], "support", "Agent Matrice", outcome)]
    assert _b_trace(two, b_seq) == []  # nothing in anyone else's
    # What the desk gets back is the account's state, never the record's content.
    for doc_id in two.a_docs:
        assert doc_id not in r.text
    assert two.host.creds["patient"]["name"] not in r.text
