"""Every rule of RULES.md, through HTTP, on a real database: masking, invisibility, grants,
blocks, the médecin traitant, oppositions, the profession matrix, the trace, the life of the
record, the personal space and notifications."""

from __future__ import annotations

import base64
import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest
from hostkit import LiveHost
from hypothesis import given
from hypothesis import strategies as st

DOCS = "/v1/record/documents"


def ps_docs(host: LiveHost, role: str, **params: str) -> httpx.Response:
    with host.ps(role) as c:
        return c.get(f"/v1/ps/records/{host.ins}/documents", params=params)


def traced_reason(host: LiveHost) -> str:
    """The reason of the patient's last trace entry (what the patient is told, not the
    practitioner)."""
    rows = host.sql(
        "SELECT t.reason FROM trace_entries t JOIN records r ON r.id = t.record_id "
        "WHERE r.ins = :ins ORDER BY t.seq DESC LIMIT 1",
        {"ins": host.ins},
    )
    return str(rows[0][0])


def ps_ids(host: LiveHost, role: str, **params: str) -> set[str]:
    r = ps_docs(host, role, limit="200", **params)
    assert r.status_code == 200, r.text
    return {d["id"] for d in r.json()["items"]}


def all_patient_docs(client: httpx.Client) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": "7"} | ({"cursor": cursor} if cursor else {})
        page = client.get(DOCS, params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


def deposit(host: LiveHost, role: str = "author", **body) -> httpx.Response:
    payload = {"type": "11488-4", "title": "Consultation de suivi", "content": "Texte."} | body
    with host.ps(role) as c:
        return c.post(f"/v1/ps/records/{host.ins}/documents", json=payload)


# --- documents and labels ------------------------------------------------------------------


def test_patient_lists_pages_and_reads_documents(host: LiveHost) -> None:
    client = host.login()
    docs = all_patient_docs(client)
    assert len(docs) >= 30
    assert len({d["id"] for d in docs}) == len(docs)
    dates = [d["deposited_at"] for d in docs]
    assert dates == sorted(dates, reverse=True)
    first = docs[0]
    assert client.get(f"{DOCS}/{first['id']}").json()["title"] == first["title"]
    content = client.get(f"{DOCS}/{first['id']}/content")
    assert content.status_code == 200 and content.headers["content-type"].startswith("text/")
    lab = client.get(DOCS, params={"type": "11502-2", "limit": "200"}).json()["items"]
    assert lab and all(d["type"] == "11502-2" for d in lab)
    word = first["title"].split()[0]
    found = client.get(DOCS, params={"q": word.lower(), "limit": "200"}).json()["items"]
    assert first["id"] in {d["id"] for d in found}


def test_documents_page_is_what_document_page_writes_and_what_each_read_says(
    host: LiveHost,
) -> None:
    """The page is written straight from its rows (no model per item): its bytes are the ones
    DocumentPage would write, and each item says what the document's own read says. Covered:
    a deposit at a whole second and one with microseconds, with and without a care date, a
    masked one, a revealed INVISIBLE_PATIENT one, the type filter, the search, the cursor."""
    from dmptui.schema import DocumentOut, DocumentPage

    host.clock.moment = host.clock.moment.replace(microsecond=0)
    whole = deposit(host, title="Dépôt à la seconde « pile »", care_date="2024-02-29").json()
    host.clock.advance(microseconds=1)
    no_care = deposit(host, title='Sans date de soins, "guillemets" \\ é').json()
    host.clock.advance(seconds=1, microseconds=123_000)
    hidden = deposit(host, title="Anatomopathologie", labels=["INVISIBLE_PATIENT"]).json()
    host.clock.advance(days=32)
    client = host.login()
    masked = client.post(f"{DOCS}/{whole['id']}/mask")
    assert masked.status_code == 200, masked.text
    pages = [
        client.get(DOCS, params={"limit": "200"}),
        client.get(DOCS, params={"limit": "3"}),
        client.get(DOCS, params={"type": "11488-4", "limit": "5"}),
        client.get(DOCS, params={"q": "anatomo"}),
    ]
    cursor = pages[1].json()["next_cursor"]
    assert cursor
    pages.append(client.get(DOCS, params={"limit": "3", "cursor": cursor}))
    for r in pages:
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/json"
        assert DocumentPage.model_validate_json(r.content).model_dump_json().encode() == r.content
    items = {d["id"]: d for d in pages[0].json()["items"]}
    assert {whole["id"], no_care["id"], hidden["id"]} <= items.keys()
    assert re.search(r"T\d\d:\d\d:\d\dZ$", items[whole["id"]]["deposited_at"])
    assert items[whole["id"]]["care_date"] == "2024-02-29"
    assert "MASQUE_PS" in items[whole["id"]]["labels"]
    assert items[no_care["id"]]["care_date"] is None
    assert re.search(r"\.000001Z$", items[no_care["id"]]["deposited_at"])
    assert items[hidden["id"]]["labels"] == []  # revealed: the label no longer means anything
    found = pages[3].json()["items"]
    assert hidden["id"] in {d["id"] for d in found}
    assert all("anatomo" in d["title"].casefold() for d in found)
    for doc_id in (whole["id"], no_care["id"], hidden["id"], next(iter(items))):
        one = client.get(f"{DOCS}/{doc_id}")
        assert DocumentOut.model_validate(items[doc_id]) == DocumentOut.model_validate_json(
            one.content
        )
        assert items[doc_id]["etag"] == one.headers["etag"]


@given(
    moment=st.datetimes(
        min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.just(UTC)
    )
    | st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)).map(
        lambda m: m.replace(microsecond=0, tzinfo=UTC)
    )
)
def test_times_from_the_driver_are_written_as_pydantic_writes_them(moment: datetime) -> None:
    """What the lean lists write for a stored moment, from SQLite's text or PostgreSQL's naive
    datetime, is what pydantic writes for the aware UTC datetime (and its day)."""
    from pydantic import TypeAdapter

    from dmptui.host.routes.common import utc_day_json, utc_moment, utc_moment_json

    naive = moment.replace(tzinfo=None)
    stored = naive.strftime("%Y-%m-%d %H:%M:%S.%f")  # SQLAlchemy's SQLite DATETIME text
    expected = TypeAdapter(datetime).dump_json(moment).decode().strip('"')
    day = TypeAdapter(date).dump_json(moment.date()).decode().strip('"')
    for raw in (stored, naive, moment.astimezone(ZoneInfo("Europe/Paris"))):
        assert utc_moment(raw) == moment and utc_moment(raw).tzinfo == UTC
        assert utc_moment_json(raw) == expected
        assert utc_day_json(raw) == day
    assert utc_day_json(None) is None


def test_invisible_patient_is_hidden_then_revealed_after_a_month(host: LiveHost) -> None:
    client = host.login()
    r = deposit(host, title="Résultat d'anatomopathologie", labels=["INVISIBLE_PATIENT"])
    assert r.status_code == 201
    doc = r.json()
    assert doc["warning"] == "invisible_to_patient"
    assert doc["id"] not in {d["id"] for d in all_patient_docs(client)}
    assert client.get(f"{DOCS}/{doc['id']}").status_code == 404
    assert client.post(f"{DOCS}/{doc['id']}/mask").status_code == 404
    # Practitioners see it, warned that the patient cannot.
    with host.ps("author") as c:
        read = c.get(f"/v1/ps/records/{host.ins}/documents/{doc['id']}").json()
    assert read["document"]["warning"] == "invisible_to_patient"
    host.clock.advance(days=32)
    client = host.login()
    seen = client.get(f"{DOCS}/{doc['id']}")
    assert seen.status_code == 200
    assert "INVISIBLE_PATIENT" not in seen.json()["labels"]


def test_trace_keeps_invisible_documents_quiet_until_their_reveal(host: LiveHost) -> None:
    client = host.login()
    doc = deposit(host, "author", labels=["INVISIBLE_PATIENT"]).json()
    with host.ps("attending") as c:
        assert c.get(f"/v1/ps/records/{host.ins}/documents/{doc['id']}").status_code == 200

    def traced_ids() -> set[str | None]:
        items = client.get("/v1/record/trace", params={"limit": "200"}).json()["items"]
        return {e["document_id"] for e in items}

    assert doc["id"] not in traced_ids()
    # The entries exist (nothing is dropped from the trace), and show once it is revealed.
    assert host.sql(f"SELECT count(*) FROM trace_entries WHERE document_id='{doc['id']}'") == [(2,)]
    host.clock.advance(days=32)
    client = host.login()
    assert doc["id"] in traced_ids()


def test_two_week_notice_for_a_document_awaiting_consultation(host: LiveHost) -> None:
    from dmptui.host.app import run_maintenance

    r = deposit(host, labels=["INVISIBLE_PATIENT"])
    doc_id = r.json()["id"]
    hostobj = host.app.state.host
    host.clock.advance(days=13)
    run_maintenance(hostobj, None)
    assert host.sql(f"SELECT count(*) FROM notifications WHERE document_id='{doc_id}'") == [(0,)]
    host.clock.advance(days=2)
    run_maintenance(hostobj, None)
    run_maintenance(hostobj, None)
    rows = host.messages(doc_id)
    assert len(rows) == 1 and rows[0][0] == "awaiting_consultation"
    assert "Résultat" not in str(rows[0][1]) and "Consultation de suivi" not in str(rows[0][1])
    # The reveal day in each language's words (a month name), not an ISO date inside the text.
    message = rows[0][1]
    assert not re.search(r"\d{4}-\d{2}-\d{2}", message["fr"] + message["en"])
    assert re.search(r"au plus tard le \d{1,2} [a-zéû]+ \d{4}\.", message["fr"])
    assert re.search(r"visible here by \d{1,2} [A-Z][a-z]+ \d{4} at the latest", message["en"])


def test_mask_hides_from_practitioners_but_author_and_attending(host: LiveHost) -> None:
    client = host.login()
    doc = deposit(host, "author", type="11502-2", title="Sérologie").json()
    assert doc["id"] in ps_ids(host, "pharmacist")
    r = client.post(f"{DOCS}/{doc['id']}/mask")
    assert r.status_code == 200 and "MASQUE_PS" in r.json()["labels"]
    assert doc["id"] not in ps_ids(host, "pharmacist")
    assert doc["id"] not in ps_ids(host, "authorised")
    assert doc["id"] in ps_ids(host, "author")
    assert doc["id"] in ps_ids(host, "attending")
    # Masking holds in emergency access too, and practitioners are not told.
    assert doc["id"] not in ps_ids(host, "emergency", mode="break-glass", reason="Inconsciente")
    assert doc["id"] not in ps_ids(host, "regulation", mode="regulation")
    with host.ps("pharmacist") as c:
        hidden = c.get(f"/v1/ps/records/{host.ins}/documents/{doc['id']}")
        missing = c.get(f"/v1/ps/records/{host.ins}/documents/{'0' * 32}")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()
    with host.ps("attending") as c:
        seen = c.get(f"/v1/ps/records/{host.ins}/documents/{doc['id']}").json()
    assert "MASQUE_PS" in seen["document"]["labels"]
    # Unmask gives it back.
    client.post(f"{DOCS}/{doc['id']}/unmask")
    assert doc["id"] in ps_ids(host, "pharmacist")


def test_same_rights_as_attending_sees_masked(host: LiveHost) -> None:
    client = host.login()
    doc = deposit(host, "author").json()
    client.post(f"{DOCS}/{doc['id']}/mask")
    rpps = host.practitioner("authorised")["rpps"]
    assert doc["id"] not in ps_ids(host, "authorised")
    r = client.put(f"/v1/record/authorisations/{rpps}", json={"see_masked": True})
    assert r.status_code == 200
    assert doc["id"] in ps_ids(host, "authorised")


def test_labels_combine_clearing_one_never_clears_another(host: LiveHost) -> None:
    client = host.login()
    doc = deposit(host, labels=["INVISIBLE_REPRESENTANTS_LEGAUX"]).json()
    masked = client.post(f"{DOCS}/{doc['id']}/mask").json()
    assert set(masked["labels"]) == {"MASQUE_PS", "INVISIBLE_REPRESENTANTS_LEGAUX"}
    unmasked = client.post(f"{DOCS}/{doc['id']}/unmask").json()
    assert unmasked["labels"] == ["INVISIBLE_REPRESENTANTS_LEGAUX"]


def test_delete_needs_step_up_and_removes_for_everyone(host: LiveHost) -> None:
    client = host.login()
    doc = deposit(host).json()
    host.clock.advance(minutes=6)
    r = client.delete(f"{DOCS}/{doc['id']}")
    assert r.status_code == 401 and r.json()["error"] == "step_up_required"
    host.step_up(client)
    assert client.delete(f"{DOCS}/{doc['id']}").status_code == 204
    assert client.get(f"{DOCS}/{doc['id']}").status_code == 404
    assert doc["id"] not in ps_ids(host, "author")
    assert host.sql(f"SELECT count(*) FROM documents WHERE id='{doc['id']}'") == [(0,)]
    rows = host.sql(
        f"SELECT action, outcome FROM trace_entries WHERE document_id='{doc['id']}' ORDER BY seq"
    )
    assert ("document.delete", "allowed") in rows


def test_patient_cannot_reach_another_records_document(host: LiveHost) -> None:
    client = host.login()
    r = client.get(f"{DOCS}/{'f' * 32}")
    assert r.status_code == 404


# --- access --------------------------------------------------------------------------------


def test_unauthorised_practitioner_is_refused_in_normal_mode(host: LiveHost) -> None:
    r = ps_docs(host, "emergency")
    # Changed: told "no_access", as for an INS without a record (it was "not_authorised");
    # the patient's trace says why.
    assert r.status_code == 403 and r.json()["reason"] == "no_access"
    assert traced_reason(host) == "not_authorised"


def test_grant_and_revoke(host: LiveHost) -> None:
    client = host.login()
    rpps = host.practitioner("emergency")["rpps"]
    r = client.put(f"/v1/record/authorisations/{rpps}")
    assert r.status_code == 200
    assert rpps in {a["practitioner"]["rpps"] for a in r.json()["authorised"]}
    assert ps_docs(host, "emergency").status_code == 200
    assert deposit(host, "emergency").status_code == 201
    r = client.delete(f"/v1/record/authorisations/{rpps}")
    assert r.status_code == 200
    assert ps_docs(host, "emergency").status_code == 403
    kinds = [n["kind"] for n in client.get("/v1/record/notifications").json()["items"]]
    assert "authorisation" in kinds


def test_directory_search_by_name_and_rpps(host: LiveHost) -> None:
    client = host.login()
    p = host.practitioner("pharmacist")
    by_rpps = client.get("/v1/directory", params={"q": p["rpps"]}).json()["items"]
    assert [e["rpps"] for e in by_rpps] == [p["rpps"]]
    part = p["name"].split()[-1][:4]
    by_name = client.get("/v1/directory", params={"q": part}).json()["items"]
    assert p["rpps"] in {e["rpps"] for e in by_name}


def test_blocked_practitioner_gets_nothing_in_any_mode(host: LiveHost) -> None:
    client = host.login()
    for role in ("author", "emergency", "regulation"):
        rpps = host.practitioner(role)["rpps"]
        assert client.put(f"/v1/record/blocks/{rpps}").status_code == 200
    # Changed: a blocked practitioner is told "no_access", as for an INS without a record (it
    # was "blocked"); the patient's trace says "blocked".
    assert ps_docs(host, "author").json()["reason"] == "no_access"
    assert traced_reason(host) == "blocked"
    assert deposit(host, "author").status_code == 403
    assert traced_reason(host) == "blocked"
    assert (
        ps_docs(host, "emergency", mode="break-glass", reason="Urgence").json()["reason"]
        == "no_access"
    )
    assert traced_reason(host) == "blocked"
    assert ps_docs(host, "regulation", mode="regulation").json()["reason"] == "no_access"
    assert traced_reason(host) == "blocked"
    # Blocking ended the author's authorisation; unblocking does not restore it.
    rpps = host.practitioner("author")["rpps"]
    assert client.delete(f"/v1/record/blocks/{rpps}").status_code == 200
    assert ps_docs(host, "author").json()["reason"] == "no_access"
    assert traced_reason(host) == "not_authorised"


def test_attending_cannot_be_blocked_and_sees_everything(host: LiveHost) -> None:
    client = host.login()
    rpps = host.practitioner("attending")["rpps"]
    r = client.put(f"/v1/record/blocks/{rpps}")
    assert r.status_code == 403 and r.json()["reason"] == "attending_cannot_be_blocked"
    assert ps_docs(host, "attending").status_code == 200
    # Designate another attending, then the former one can be blocked.
    other = host.practitioner("authorised")["rpps"]
    r = client.put(f"/v1/record/attending/{other}")
    assert r.status_code == 200 and r.json()["attending"]["rpps"] == other
    assert client.put(f"/v1/record/blocks/{rpps}").status_code == 200


def attending_trace(client: httpx.Client, action: str) -> list[dict]:
    items = client.get("/v1/record/trace", params={"limit": "200"}).json()["items"]
    return [e for e in items if e["action"] == action]


def test_a_new_attending_leaves_the_former_one_ordinary_access_by_default(
    host: LiveHost,
) -> None:
    """The former médecin traitant keeps ordinary access (a new authorisation, notified and
    traced), without the hidden documents; the new one sees them."""
    client = host.login()
    doc = deposit(host, "author").json()
    client.post(f"{DOCS}/{doc['id']}/mask")
    former = host.practitioner("attending")["rpps"]
    new = host.practitioner("emergency")["rpps"]
    assert doc["id"] in ps_ids(host, "attending")
    r = client.put(f"/v1/record/attending/{new}")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["attending"]["rpps"] == new
    kept = [link for link in body["authorised"] if link["practitioner"]["rpps"] == former]
    assert len(kept) == 1 and kept[0]["see_masked"] is False
    seen = ps_ids(host, "attending")
    assert seen and doc["id"] not in seen  # ordinary access: no hidden document
    assert doc["id"] in ps_ids(host, "emergency")
    name = host.practitioner("attending")["name"]
    notes = client.get("/v1/record/notifications").json()["items"]
    assert any(n["kind"] == "authorisation" and name in n["message"]["en"] for n in notes)
    [entry] = attending_trace(client, "attending.designate")
    assert entry["reason"] == f"rpps:{new};previous:{former}=granted"


def test_a_new_attending_can_take_all_access_from_the_former_one(host: LiveHost) -> None:
    client = host.login()
    former = host.practitioner("attending")["rpps"]
    new = host.practitioner("emergency")["rpps"]
    r = client.put(f"/v1/record/attending/{new}", json={"previous_keeps_access": False})
    assert r.status_code == 200, r.text
    assert former not in {link["practitioner"]["rpps"] for link in r.json()["authorised"]}
    # Without a right, the former one is told no_access; the patient's trace says why.
    assert ps_docs(host, "attending").json()["reason"] == "no_access"
    assert traced_reason(host) == "not_authorised"
    [entry] = attending_trace(client, "attending.designate")
    assert entry["reason"] == f"rpps:{new};previous:{former}=removed"
    # A former médecin traitant who had an authorisation of their own loses it too.
    other = host.practitioner("authorised")["rpps"]
    r = client.put(f"/v1/record/attending/{other}")
    assert r.status_code == 200 and r.json()["attending"]["rpps"] == other
    r = client.put(f"/v1/record/attending/{new}", json={"previous_keeps_access": False})
    assert r.status_code == 200
    assert ps_docs(host, "authorised").json()["reason"] == "no_access"
    assert traced_reason(host) == "not_authorised"


def test_the_attending_can_be_unset_keeping_or_ending_their_access(host: LiveHost) -> None:
    client = host.login()
    former = host.practitioner("attending")["rpps"]
    r = client.delete("/v1/record/attending")
    assert r.status_code == 200, r.text
    assert r.json()["attending"] is None
    assert former in {link["practitioner"]["rpps"] for link in r.json()["authorised"]}
    assert ps_docs(host, "attending").status_code == 200
    [entry] = attending_trace(client, "attending.clear")
    assert entry["reason"] == f"previous:{former}=granted"
    # Unset once more: there is no former one, nothing about them in the trace.
    assert client.delete("/v1/record/attending").status_code == 200
    assert attending_trace(client, "attending.clear")[0]["reason"] is None
    # Designate them again, then unset and end their access: they keep their own
    # authorisation ("kept") until the patient chooses otherwise ("removed").
    assert client.put(f"/v1/record/attending/{former}").status_code == 200
    r = client.request("DELETE", "/v1/record/attending", json={"previous_keeps_access": False})
    assert r.status_code == 200, r.text
    assert ps_docs(host, "attending").json()["reason"] == "no_access"
    assert traced_reason(host) == "not_authorised"
    assert attending_trace(client, "attending.clear")[0]["reason"] == f"previous:{former}=removed"
    # A body that is not the contract is refused, and changes nothing.
    for wrong in ("maybe", 0, None):
        r = client.put(f"/v1/record/attending/{former}", json={"previous_keeps_access": wrong})
        assert r.status_code == 422, (wrong, r.text)
    assert client.get("/v1/record/practitioners").json()["attending"] is None


def test_only_a_doctor_can_be_attending(host: LiveHost) -> None:
    client = host.login()
    rpps = host.practitioner("pharmacist")["rpps"]
    r = client.put(f"/v1/record/attending/{rpps}")
    assert r.status_code == 403 and r.json()["reason"] == "attending_must_be_doctor"


def test_break_glass_needs_a_reason_and_notifies(host: LiveHost) -> None:
    client = host.login()
    assert ps_docs(host, "emergency", mode="break-glass").json()["reason"] == "reason_required"
    r = ps_docs(host, "emergency", mode="break-glass", reason="Patiente inconsciente")
    assert r.status_code == 200 and r.json()["items"]
    notes = client.get("/v1/record/notifications").json()["items"]
    emergency = [n for n in notes if n["kind"] == "emergency_access" and not n["read"]]
    assert emergency and emergency[0]["emergency"]
    assert "bris de glace" in emergency[0]["message"]["fr"]
    # When, in each language's words and in Paris time (said so), never an ISO UTC stamp.
    from babel.dates import format_datetime

    paris = ZoneInfo("Europe/Paris")
    fr = format_datetime(host.clock(), "H 'h' mm", tzinfo=paris, locale="fr_FR")
    en = format_datetime(host.clock(), "HH:mm", tzinfo=paris, locale="en_GB")
    assert f"à {fr} (heure de Paris)" in emergency[0]["message"]["fr"]
    assert f"at {en} (Paris time)" in emergency[0]["message"]["en"]
    assert "UTC" not in emergency[0]["message"]["fr"] + emergency[0]["message"]["en"]
    attending_email = host.sql(
        f"SELECT email FROM practitioners WHERE rpps='{host.practitioner('attending')['rpps']}'"
    )[0][0]
    assert (
        host.sql(
            "SELECT count(*) FROM outbox WHERE recipient=:r AND sent_at IS NULL",
            {"r": attending_email},
        )[0][0]
        >= 1
    )
    trace = client.get("/v1/record/trace", params={"mode": "break-glass"}).json()["items"]
    assert trace[0]["reason"] == "Patiente inconsciente"
    assert trace[0]["actor_rpps"] == host.practitioner("emergency")["rpps"]


def test_the_two_oppositions_are_independent(host: LiveHost) -> None:
    client = host.login()
    r = client.put("/v1/record/oppositions", json={"break_glass": True, "regulation": False})
    assert r.status_code == 200
    # Changed: these practitioners were never let in, so they are told "no_access", as for an
    # INS without a record (it was "break_glass_refused" / "regulation_refused"); the
    # patient's trace says which opposition refused them.
    assert (
        ps_docs(host, "emergency", mode="break-glass", reason="x").json()["reason"] == "no_access"
    )
    assert traced_reason(host) == "break_glass_refused"
    assert ps_docs(host, "regulation", mode="regulation").status_code == 200
    host.step_up(client)
    client.put("/v1/record/oppositions", json={"break_glass": False, "regulation": True})
    assert ps_docs(host, "emergency", mode="break-glass", reason="x").status_code == 200
    assert ps_docs(host, "regulation", mode="regulation").json()["reason"] == "no_access"
    assert traced_reason(host) == "regulation_refused"
    assert client.get("/v1/record").json()["oppositions"] == {
        "break_glass": False,
        "regulation": True,
    }


def test_regulation_mode_is_for_regulation_doctors_only(host: LiveHost) -> None:
    assert ps_docs(host, "emergency", mode="regulation").json()["reason"] == "not_regulation"


def test_profession_matrix_limits_the_pharmacist(host: LiveHost) -> None:
    with host.ps("pharmacist") as c:
        items = c.get(f"/v1/ps/records/{host.ins}/documents", params={"limit": "200"}).json()[
            "items"
        ]
    types = {d["type"] for d in items}
    assert types and types <= {"57833-6", "11502-2", "11369-6", "51855-5"}
    consult = deposit(host, "author", type="11488-4").json()
    ((before,),) = host.sql("SELECT trace_size FROM records WHERE ins = :ins", {"ins": host.ins})
    with host.ps("pharmacist") as c:
        r = c.get(f"/v1/ps/records/{host.ins}/documents/{consult['id']}")
        missing = c.get(f"/v1/ps/records/{host.ins}/documents/{'0' * 32}")
    # Changed: a type the profession may not read answers exactly like a missing document (it
    # was 403 profession_matrix, which told that the id exists); the trace keeps why.
    assert r.status_code == 404 and r.json()["error"] == "not_found"
    assert (r.status_code, r.json()) == (missing.status_code, missing.json())
    rows = host.sql(
        "SELECT action, outcome, reason, document_id FROM trace_entries WHERE seq > :n "
        "AND record_id = (SELECT id FROM records WHERE ins = :ins) ORDER BY seq",
        {"n": before, "ins": host.ins},
    )
    assert rows == [
        ("document.read", "denied", "profession_matrix", consult["id"]),
        ("document.read", "denied", "not_found", "0" * 32),
    ]
    # Depositing a type it may not read: about the request, told as it is.
    refused = deposit(host, "pharmacist", type="11488-4")
    assert refused.status_code == 403 and refused.json()["reason"] == "profession_matrix"


def test_occupational_and_insurance_doctors_never_have_access(host: LiveHost) -> None:
    client = host.login()
    from dmptui.host import demo_data

    never = [
        p
        for p in demo_data.DEMO_PRACTITIONERS
        if p["profession"] in ("medecin_du_travail", "medecin_conseil_assurance")
    ]
    assert never
    for p in never:
        r = client.put(f"/v1/record/authorisations/{p['rpps']}")
        assert r.status_code == 403 and r.json()["reason"] == "profession_never_has_access"


# --- input validation ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"title": "x" * 201}, "title"),
        ({"title": "a\x1b[2Jb"}, "title"),
        ({"content": "ok\x00"}, "content"),
        ({"surprise": 1}, "surprise"),
        ({"type": "0000-0"}, "type"),
        ({"labels": ["MASQUE_PS"]}, "labels"),
        (
            {"content_base64": "aGk=", "content": None, "content_type": "application/pdf"},
            "content_base64",
        ),
    ],
)
def test_bad_deposits_name_the_field_and_write_nothing(host: LiveHost, body, field) -> None:
    before = (host.trace_size(), host.sql("SELECT count(*) FROM documents"))
    r = deposit(host, **body)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field
    assert (host.trace_size(), host.sql("SELECT count(*) FROM documents")) == before


def test_malformed_ins_and_rpps_in_paths(host: LiveHost) -> None:
    with host.ps("author") as c:
        r = c.get("/v1/ps/records/123/documents")
    assert r.status_code == 422 and r.json()["field"] == "ins"
    client = host.login()
    r = client.put("/v1/record/blocks/12345678901")
    assert r.status_code == 422 and r.json()["field"] == "rpps"


def test_body_over_10_mb_is_refused(host: LiveHost) -> None:
    big = "a" * (14 * 1024 * 1024)
    r = deposit(host, content=big)
    assert r.status_code == 413 and r.json()["error"] == "too_large"
    r = deposit(host, content="a" * (10 * 1024 * 1024 + 1))
    assert r.status_code == 413 and r.json()["field"] == "content"


def test_pdf_deposit_and_download(host: LiveHost) -> None:
    pdf = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
    r = deposit(
        host,
        content=None,
        content_type="application/pdf",
        content_base64=base64.b64encode(pdf).decode(),
        title="Radio du poignet",
    )
    assert r.status_code == 201, r.text
    client = host.login()
    got = client.get(f"{DOCS}/{r.json()['id']}/content")
    assert got.content == pdf and got.headers["content-type"] == "application/pdf"


# --- trace ---------------------------------------------------------------------------------


def test_every_request_on_the_record_appends_exactly_one_entry(host: LiveHost) -> None:
    client = host.login()
    doc_id = all_patient_docs(client)[0]["id"]
    calls = [
        lambda: client.get("/v1/record"),
        lambda: client.get(DOCS),
        lambda: client.get(f"{DOCS}/{doc_id}"),
        lambda: client.get(f"{DOCS}/{doc_id}/content"),
        lambda: client.post(f"{DOCS}/{doc_id}/mask"),
        lambda: client.post(f"{DOCS}/{doc_id}/unmask"),
        lambda: client.get("/v1/record/practitioners"),
        lambda: client.get("/v1/record/trace"),
        lambda: client.get("/v1/record/notes"),
        lambda: client.put("/v1/record/notes", json={"text": "Allergie : pénicilline"}),
        lambda: client.get("/v1/record/notifications"),
        lambda: ps_docs(host, "author"),
        lambda: ps_docs(host, "emergency"),  # denied: still one entry
        lambda: ps_docs(host, "emergency", mode="break-glass", reason="Urgence vitale"),
        lambda: deposit(host, "author"),
        lambda: deposit(host, "pharmacist", type="11488-4"),  # denied
        lambda: client.put(f"/v1/record/blocks/{host.practitioner('attending')['rpps']}"),
    ]
    for call in calls:
        before = host.trace_size()
        call()
        assert host.trace_size() == before + 1
    seqs = [r[0] for r in host.sql("SELECT seq FROM trace_entries ORDER BY seq")]
    assert seqs == list(range(1, len(seqs) + 1))


def test_trace_filters_and_holds_no_title(host: LiveHost) -> None:
    client = host.login()
    doc = deposit(host, title="Titre-très-secret").json()
    ps_docs(host, "emergency", mode="break-glass", reason="Accident")
    items = client.get("/v1/record/trace", params={"limit": "200"}).json()["items"]
    assert all("Titre-très-secret" not in str(e) for e in items)
    rpps = host.practitioner("author")["rpps"]
    mine = client.get("/v1/record/trace", params={"actor": rpps}).json()["items"]
    assert mine and all(e["actor_rpps"] == rpps for e in mine)
    assert any(e["document_id"] == doc["id"] for e in mine)
    bg = client.get("/v1/record/trace", params={"mode": "break-glass"}).json()["items"]
    assert bg and all(e["mode"] == "break-glass" for e in bg)
    since = host.clock().isoformat()
    recent = client.get("/v1/record/trace", params={"since": since}).json()["items"]
    assert all(e["at"] >= since[:19] for e in recent)
    denied = [e for e in items if e["outcome"] == "denied"]
    assert all(e["reason"] for e in denied)


# --- life of the record --------------------------------------------------------------------


def test_close_then_nobody_but_reactivate_or_erase(host: LiveHost) -> None:
    client = host.login()
    r = client.post("/v1/record/close")
    assert r.status_code == 200 and r.json()["status"] == "closed"
    assert client.get("/v1/record").status_code == 401  # sessions revoked at closure
    # The practitioners the patient let in are told the record is closed; the others are told
    # "no_access", as for an INS without a record (changed: every one was told
    # "record_closed"). The patient's trace says "record_closed" for all.
    for role, mode in (("author", "normal"), ("attending", "normal")):
        assert ps_docs(host, role, mode=mode).json()["reason"] == "record_closed"
    assert ps_docs(host, "regulation", mode="regulation").json()["reason"] == "no_access"
    assert traced_reason(host) == "record_closed"
    assert (
        ps_docs(host, "emergency", mode="break-glass", reason="x").json()["reason"] == "no_access"
    )
    assert traced_reason(host) == "record_closed"
    client = host.login()
    status = client.get("/v1/record").json()
    assert status["status"] == "closed" and status["purge_after"].startswith(
        str(int(status["closed_at"][:4]) + 10)
    )
    for path in (DOCS, "/v1/record/trace", "/v1/record/notes", "/v1/record/practitioners"):
        r = client.get(path)
        assert r.status_code == 403 and r.json()["reason"] == "record_closed", path
    r = client.post("/v1/record/reactivate")
    assert r.status_code == 200
    assert len(all_patient_docs(client)) >= 30
    assert ps_docs(host, "author").status_code == 200


def test_reactivate_an_active_record_is_refused(host: LiveHost) -> None:
    client = host.login()
    r = client.post("/v1/record/reactivate")
    assert r.status_code == 403 and r.json()["reason"] == "record_not_closed"


def test_erase_destroys_everything_readable(host: LiveHost) -> None:
    client = host.login()
    assert client.post("/v1/record/erase").status_code == 200
    for table in (
        "documents",
        "authorisations",
        "blocks",
        "notifications",
        "sessions",
        "known_devices",
        "record_keys",
    ):
        assert host.sql(f"SELECT count(*) FROM {table}") == [(0,)], table
    assert host.sql("SELECT status, totp_secret_sealed, notes FROM records") == [
        ("erased", None, None)
    ]
    assert host.sql("SELECT action FROM trace_entries") == [("erase",)]
    # The password's hash stays, for one answer: the right password is told the record was
    # erased (410 account_erased, tests/test_lockout.py); any other gets the usual 401.
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
    assert r.status_code == 410 and r.json()["error"] == "account_erased"
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": "Pas-le-bon-2026"})
    assert r.status_code == 401
    assert ps_docs(host, "attending").status_code == 403


def test_ten_year_purge(host: LiveHost) -> None:
    from dmptui.host.app import run_maintenance

    client = host.login()
    client.post("/v1/record/close")
    host.clock.advance(days=365 * 10)
    run_maintenance(host.app.state.host, None)
    assert host.sql("SELECT status FROM records") == [("closed",)]
    host.clock.advance(days=5)
    run_maintenance(host.app.state.host, None)
    assert host.sql("SELECT status FROM records") == [("erased",)]
    assert host.sql("SELECT count(*) FROM documents") == [(0,)]


# --- personal space and notifications ------------------------------------------------------


def test_notes_are_written_by_patient_and_read_by_authorised(host: LiveHost) -> None:
    client = host.login()
    text = "Personne de confiance : Jeanne Martin, 06 11 22 33 44\nAllergie : pénicilline"
    assert client.put("/v1/record/notes", json={"text": text}).status_code == 200
    assert client.get("/v1/record/notes").json()["text"] == text
    with host.ps("authorised") as c:
        assert c.get(f"/v1/ps/records/{host.ins}/notes").json()["text"] == text
    with host.ps("emergency") as c:
        assert c.get(f"/v1/ps/records/{host.ins}/notes").status_code == 403
    assert client.put("/v1/record/notes", json={"text": "a\x07"}).status_code == 422


def test_new_document_notifies_without_title(host: LiveHost) -> None:
    client = host.login()
    deposit(host, title="Titre-confidentiel")
    items = client.get("/v1/record/notifications", params={"unread": "true"}).json()["items"]
    assert items[0]["kind"] == "new_document"
    assert "Titre-confidentiel" not in str(items[0]["message"])
    assert client.post("/v1/record/notifications/read").status_code == 204
    assert client.get("/v1/record").json()["unread_notifications"] == 0


def test_demo_record_shape(host: LiveHost) -> None:
    client = host.login()
    rec = client.get("/v1/record").json()
    assert rec["attending"]["rpps"] == host.practitioner("attending")["rpps"]
    assert rec["counts"]["documents"] >= 30
    trace = client.get("/v1/record/trace", params={"mode": "break-glass"}).json()["items"]
    assert trace, "the demo holds a past break-glass access"
    roles = {p["role"] for p in host.creds["practitioners"]}
    assert {"author", "authorised", "attending", "emergency", "regulation", "pharmacist"} <= roles


def test_an_undeclared_query_parameter_is_refused_on_every_route(host: LiveHost) -> None:
    """The names each operation declares are worked out once per route: a name declared by one
    operation is still refused by another that does not declare it."""
    client = host.login()
    for _ in range(2):  # the second time from the route's stored names
        r = client.get(DOCS, params={"limt": "5"})
        assert r.status_code == 422 and r.json()["field"] == "limt", r.text
        assert client.get(DOCS, params={"limit": "5", "type": "11488-4"}).status_code == 200
        assert client.get("/v1/record/trace", params={"actor": "Dupont"}).status_code == 200
        r = client.get("/v1/record/trace", params={"type": "11488-4"})
        assert r.status_code == 422 and r.json()["field"] == "type", r.text
        assert client.get("/v1/record/notes", params={"limit": "5"}).status_code == 422
