"""Crafted input against the real host over HTTP (SQLite, and PostgreSQL with
DMPTUI_TEST_DATABASE_URL): cursors the host did not give, text that is not valid Unicode, control
characters in paths and queries, and bodies over the limits. Every one is an input error (422
naming the field) or over a limit (413), never a 500; a stranger's credential is refused (401)
before its body is read."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hostkit import LiveHost

from dmptui.schema import MAX_BODY_BYTES, PRACTITIONER_HEADER

MB = 1024 * 1024


def cursor_of(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# Each decodes (as base64, then JSON) to something that is not a cursor this host writes.
CRAFTED_PARTS: list[Any] = [
    ["abc"],
    [None],
    [10**30],
    [-1],
    [True],
    [{}],
    [[1]],
    ["x", "y"],
    [1, 2],
    [1.5],
    ["2026-03-02T09:30:00", "demo01"],  # a naive time
    ["2026-03-02T09:30:00+00:00", "a\x00b"],  # a NUL in the id
    ["2026-03-02T09:30:00+00:00", 7],
    ["not a time", "demo01"],
    [99999999999, "demo01"],
    ["2026-03-02T09:30:00+00:00", "x" * 200],
]
CRAFTED = [cursor_of(json.dumps(p).encode()) for p in CRAFTED_PARTS] + [
    cursor_of(b"[1"),  # well-formed base64 of malformed JSON
    cursor_of(b"\xff\xfe"),  # not UTF-8
    cursor_of(b'["\\ud800"]'),  # a lone surrogate
    cursor_of(b"[" * 5000 + b"]" * 5000),  # deep nesting
    "%%%",
    "A" * 2000,
]


@pytest.fixture
def patient(host: LiveHost) -> Iterator[httpx.Client]:
    client = host.login()
    yield client
    client.close()


def assert_input_error(r: httpx.Response, field: str) -> None:
    assert r.status_code == 422, (r.status_code, r.text)
    body = r.json()
    assert body["error"] == "invalid_input" and body["field"] == field, body
    assert body["message"]


@pytest.mark.parametrize("path", ["/v1/record/trace", "/v1/record/notifications"])
def test_crafted_cursor_on_patient_lists_is_an_input_error(
    host: LiveHost, patient: httpx.Client, path: str
) -> None:
    for cursor in CRAFTED:
        assert_input_error(patient.get(path, params={"cursor": cursor}), "cursor")
    # The largest row number a cursor may hold is no error (PostgreSQL's ids are 32-bit); one
    # more is an input error, not a database error.
    r = patient.get(path, params={"cursor": cursor_of(b"[2147483647]")})
    assert r.status_code == 200 and r.json()["items"], r.text
    assert_input_error(patient.get(path, params={"cursor": cursor_of(b"[2147483648]")}), "cursor")
    # A cursor the host gave still pages.
    first = patient.get(path, params={"limit": 1}).json()
    assert first["next_cursor"], first
    r = patient.get(path, params={"limit": 1, "cursor": first["next_cursor"]})
    assert r.status_code == 200 and r.json()["items"] != first["items"]


def test_crafted_cursor_on_the_documents_is_an_input_error(
    host: LiveHost, patient: httpx.Client
) -> None:
    ps = host.ps("attending")
    for cursor in CRAFTED:
        assert_input_error(patient.get("/v1/record/documents", params={"cursor": cursor}), "cursor")
        assert_input_error(
            patient.get("/v1/record/documents", params={"cursor": cursor, "q": "bilan"}), "cursor"
        )
        r = ps.get(f"/v1/ps/records/{host.ins}/documents", params={"cursor": cursor})
        assert_input_error(r, "cursor")
    for client, path in (
        (patient, "/v1/record/documents"),
        (ps, f"/v1/ps/records/{host.ins}/documents"),
    ):
        first = client.get(path, params={"limit": 1}).json()
        r = client.get(path, params={"limit": 1, "cursor": first["next_cursor"]})
        assert r.status_code == 200 and r.json()["items"] != first["items"]


def test_control_characters_in_queries_and_paths_are_input_errors(
    host: LiveHost, patient: httpx.Client
) -> None:
    ps = host.ps("attending")
    doc = host.doc_ids(next(iter(host.titles().values())))[0]
    assert_input_error(patient.get("/v1/directory", params={"q": "Du\x00pont"}), "q")
    assert_input_error(patient.get("/v1/record/trace", params={"actor": "a\x00b"}), "actor")
    assert_input_error(patient.get("/v1/record/trace", params={"actor": "1\x00"}), "actor")
    assert_input_error(patient.get("/v1/record/documents", params={"q": "x\x00"}), "q")
    assert_input_error(patient.get(f"/v1/record/documents/{doc[:4]}%00"), "doc_id")
    assert_input_error(patient.delete(f"/v1/record/documents/{doc[:4]}%00x"), "doc_id")
    assert_input_error(ps.get(f"/v1/ps/records/{host.ins}/documents/ab%00cd"), "doc_id")
    assert_input_error(patient.get("/v1/record/trace", params={"actor": "a\x1bb"}), "actor")
    # The record still answers, and the refusals wrote nothing odd into the trace.
    assert patient.get("/v1/record/trace").status_code == 200
    assert not host.sql("SELECT seq FROM trace_entries WHERE document_id LIKE '%' || :n || '%'",
                        {"n": "\x01"})  # fmt: skip


def _raw_json(client: httpx.Client, method: str, path: str, text: str, **kw: Any) -> httpx.Response:
    """Send ``text`` as the JSON body exactly as written (httpx's ``json=`` cannot carry a lone
    surrogate: the JSON escape is the only way one arrives)."""
    headers = {"content-type": "application/json", **kw.pop("headers", {})}
    return client.request(method, path, content=text.encode("ascii"), headers=headers, **kw)


def test_lone_surrogates_in_bodies_are_input_errors(host: LiveHost, patient: httpx.Client) -> None:
    ps = host.ps("attending")
    docs = f"/v1/ps/records/{host.ins}/documents"
    for field, body in (
        ("content", '{"type":"11488-4","title":"T","content":"\\ud800"}'),
        ("content", '{"type":"11488-4","title":"T","content":"ok \\udfff ok"}'),
        ("title", '{"type":"11488-4","title":"\\ud83d","content":"x"}'),
    ):
        assert_input_error(_raw_json(ps, "POST", docs, body), field)
    # A pair of surrogate escapes is one real character: accepted.
    r = _raw_json(ps, "POST", docs, '{"type":"11488-4","title":"T \\ud83d\\ude00","content":"x"}')
    assert r.status_code == 201, r.text
    assert r.json()["title"] == "T \U0001f600"
    assert_input_error(_raw_json(patient, "PUT", "/v1/record/notes", '{"text":"\\ud800"}'), "text")
    assert_input_error(
        _raw_json(
            host.http, "POST", "/v1/auth/login", f'{{"ins":"{host.ins}","password":"\\ud800"}}'
        ),
        "password",
    )
    assert_input_error(
        _raw_json(host.http, "POST", "/v1/auth/refresh", '{"refresh_token":"\\udc00"}'),
        "refresh_token",
    )
    # An unknown field whose name is not valid text is named back as valid text.
    r = _raw_json(host.http, "POST", "/v1/auth/refresh", '{"refresh_token":"x","\\ud800":1}')
    assert r.status_code == 422 and r.json()["error"] == "invalid_input", r.text
    r.json()["field"].encode("utf-8")


def _chunks(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    yield b'{"type":"11488-4","title":"T","content":"'
    sent = 0
    while sent < total:
        yield b"a" * size
        sent += size
    yield b'"}'


def test_a_chunked_body_over_the_limit_gets_413(host: LiveHost) -> None:
    ps = host.ps("attending")
    r = ps.post(
        f"/v1/ps/records/{host.ins}/documents",
        content=_chunks(15 * MB),
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"] == "too_large"
    # A patient route too (the limit is the host's, whatever the route).
    client = host.login()
    r = client.put(
        "/v1/record/notes", content=_chunks(15 * MB), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413, r.text
    assert host.ps("attending").get(f"/v1/ps/records/{host.ins}/documents").status_code == 200


def test_a_text_content_over_10_mb_gets_413(host: LiveHost) -> None:
    ps = host.ps("attending")
    docs = f"/v1/ps/records/{host.ins}/documents"
    body = {"type": "11488-4", "title": "T", "content": "a" * (11 * MB)}
    r = ps.post(docs, json=body)
    assert r.status_code == 413 and r.json()["error"] == "too_large", r.text[:300]
    r = ps.post(docs, json={**body, "content": "a" * (MAX_BODY_BYTES + 1)})
    assert r.status_code == 413 and r.json()["field"] == "content", r.text[:300]
    # Bytes, not characters: 10 MB of two-byte characters is over the limit.
    r = ps.post(docs, json={**body, "content": "é" * (MAX_BODY_BYTES // 2 + 1)})
    assert r.status_code == 413, r.text[:300]


def test_a_stranger_is_refused_before_the_body_is_read(host: LiveHost) -> None:
    docs = f"/v1/ps/records/{host.ins}/documents"
    big = {"type": "11488-4", "title": "T", "content": "a" * (13 * MB)}
    with httpx.Client(base_url=host.url, timeout=30) as stranger:
        r = stranger.post(docs, json=big, headers={PRACTITIONER_HEADER: "not-a-card"})
        assert r.status_code == 401 and r.json()["error"] == "unauthenticated", r.text[:300]
        # Malformed JSON too: the credential first.
        r = stranger.post(
            docs,
            content=b"{not json",
            headers={PRACTITIONER_HEADER: "not-a-card", "content-type": "application/json"},
        )
        assert r.status_code == 401, r.text
    # A recognised practitioner's malformed body is still the input error it was.
    r = host.ps("attending").post(
        docs, content=b"{not json", headers={"content-type": "application/json"}
    )
    assert_input_error(r, "body")
    r = host.ps("attending").post(docs, json={"type": "11488-4", "title": "T", "extra": 1})
    assert r.status_code == 422 and r.json()["field"] == "extra"


def test_the_app_says_what_to_do_when_the_host_refuses_a_cursor(host: LiveHost) -> None:
    """Through the app's client: the refusal is an input error on ``cursor``, explained in the
    person's language as a list to reopen from its first page."""
    import asyncio

    from dmptui import i18n
    from dmptui.client import Client, InvalidInput
    from dmptui.explain import explain

    async def go() -> None:
        client = Client(host.url)
        challenge = await client.login(host.ins, host.password)
        await client.verify(challenge.challenge, host.code())
        try:
            with pytest.raises(InvalidInput) as e:
                await client.trace(cursor=cursor_of(b"[[1]]"))
            assert e.value.field == "cursor"
            assert "first page" in explain(e.value)
            i18n.set_language("fr")
            assert "première page" in explain(e.value)
        finally:
            await client.aclose()

    asyncio.run(go())
