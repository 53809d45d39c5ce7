"""Races and retries, over real HTTP against the real host (SQLite file, or PostgreSQL with
DMPTUI_TEST_DATABASE_URL): two sessions of one patient change the same resource at once, round
after round; conditional changes let exactly one win each round. Idempotency keys: a retried
change is applied once and answered the same."""

from __future__ import annotations

import os
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from hostkit import LiveHost

# 300 rounds of two writers at once (the security review's check was 1 winner in 50); more for a
# deeper run: DMPTUI_RACE_ROUNDS=5000 uv run pytest tests/test_races.py
ROUNDS = int(os.environ.get("DMPTUI_RACE_ROUNDS", "300"))


def _two_sessions(host: LiveHost) -> tuple[httpx.Client, httpx.Client]:
    a = host.login(if_match=False)
    b = host.login(if_match=False)
    for c in (a, b):
        host.step_up(c)  # oppositions need a fresh code; the test clock stands still after this
    return a, b


def _race(
    clients: tuple[httpx.Client, httpx.Client],
    read: str,
    write: Callable[[int, int, httpx.Client, httpx.Response], httpx.Response],
) -> list[list[tuple[int, httpx.Response, httpx.Response]]]:
    """``ROUNDS`` rounds: both clients GET ``read`` (same version), then both send their change
    at once. Returns, per round, (client index, what it read, the change's answer)."""
    barrier = threading.Barrier(2, timeout=60)
    results: list[list[tuple[int, httpx.Response, httpx.Response]]] = [[] for _ in range(ROUNDS)]
    errors: list[BaseException] = []

    def run(i: int) -> None:
        c = clients[i]
        try:
            for n in range(ROUNDS):
                barrier.wait()  # the previous round is over for both
                seen = c.get(read)
                assert seen.status_code == 200, seen.text
                barrier.wait()  # both have read the same version
                results[n].append((i, seen, write(n, i, c, seen)))
        except BaseException as e:  # reported by the main thread
            errors.append(e)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(i,)) for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def _winners(results: list[list[tuple[int, httpx.Response, httpx.Response]]]) -> list[Any]:
    """Check each round: one 2xx, one 412 with the usual error shape; the winners in order."""
    winners = []
    for n, pair in enumerate(results):
        assert len(pair) == 2
        assert pair[0][1].headers["etag"] == pair[1][1].headers["etag"], n
        codes = sorted(r.status_code for _, _, r in pair)
        assert codes == [200, 412], (n, [r.text for _, _, r in pair])
        lost = next(r for _, _, r in pair if r.status_code == 412)
        body = lost.json()
        assert body["error"] == "stale" and body["reason"] == "stale"
        assert body["field"] == "If-Match" and body["message"]
        won = next(p for p in pair if p[2].status_code == 200)
        assert won[2].headers["etag"] != won[1].headers["etag"]
        winners.append(won)
    return winners


def _outcomes(host: LiveHost, actions: tuple[str, ...]) -> Counter[tuple[str, str | None]]:
    marks = ", ".join(f"'{a}'" for a in actions)
    rows = host.sql(f"SELECT outcome, reason FROM trace_entries WHERE action IN ({marks})")
    return Counter((outcome, reason if outcome == "denied" else None) for outcome, reason in rows)


def test_two_sessions_change_the_oppositions_at_once(host: LiveHost) -> None:
    clients = _two_sessions(host)

    def write(n: int, i: int, c: httpx.Client, seen: httpx.Response) -> httpx.Response:
        # Every write differs from the other client's in the same round.
        body = {"break_glass": (n + i) % 2 == 0, "regulation": i == 0}
        return c.put(
            "/v1/record/oppositions", json=body, headers={"If-Match": seen.headers["etag"]}
        )

    before = _outcomes(host, ("oppositions",))
    started = time.perf_counter()
    winners = _winners(_race(clients, "/v1/record/oppositions", write))
    elapsed = time.perf_counter() - started
    print(f"\noppositions: {ROUNDS} rounds x 2 clients in {elapsed:.1f} s")

    assert _outcomes(host, ("oppositions",)) - before == {
        ("allowed", None): ROUNDS,
        ("denied", "stale"): ROUNDS,
    }
    last = winners[-1][2].json()
    (state,) = host.sql(
        "SELECT refuses_break_glass, refuses_regulation, oppositions_version FROM records "
        "WHERE ins = :ins",
        {"ins": host.ins},
    )
    assert (bool(state[0]), bool(state[1])) == (last["break_glass"], last["regulation"])
    assert state[2] == 1 + ROUNDS  # one version per applied change, none per refusal
    final = clients[0].get("/v1/record/oppositions")
    assert final.json() == last and final.headers["etag"] == winners[-1][2].headers["etag"]


def test_two_sessions_grant_and_revoke_one_authorisation_at_once(host: LiveHost) -> None:
    clients = _two_sessions(host)
    rpps = host.practitioner("emergency")["rpps"]
    path = f"/v1/record/authorisations/{rpps}"

    def granted(seen: httpx.Response) -> dict[str, Any] | None:
        return next(
            (g for g in seen.json()["authorised"] if g["practitioner"]["rpps"] == rpps), None
        )

    def write(n: int, i: int, c: httpx.Client, seen: httpx.Response) -> httpx.Response:
        headers = {"If-Match": seen.headers["etag"]}
        grant = granted(seen)
        if grant is not None and i == 0:
            return c.delete(path, headers=headers)
        see_masked = (not grant["see_masked"]) if grant is not None else i == 0
        return c.put(path, json={"see_masked": see_masked}, headers=headers)

    before = _outcomes(host, ("authorisation.grant", "authorisation.revoke"))
    started = time.perf_counter()
    winners = _winners(_race(clients, "/v1/record/practitioners", write))
    elapsed = time.perf_counter() - started
    print(f"\nauthorisation: {ROUNDS} rounds x 2 clients in {elapsed:.1f} s")

    counts = _outcomes(host, ("authorisation.grant", "authorisation.revoke")) - before
    assert counts == {("allowed", None): ROUNDS, ("denied", "stale"): ROUNDS}
    last_request = winners[-1][2].request
    rows = host.sql(
        "SELECT a.see_masked FROM authorisations a JOIN records r ON r.id = a.record_id "
        "WHERE r.ins = :ins AND a.rpps = :rpps",
        {"ins": host.ins, "rpps": rpps},
    )
    if last_request.method == "DELETE":
        assert rows == []
    else:
        wanted = httpx.Response(200, content=last_request.content).json()["see_masked"]
        assert [bool(r[0]) for r in rows] == [wanted]
    final = granted(winners[-1][2])
    assert (final is None) == (rows == [])


# --- conditional changes: the refusals -----------------------------------------------------


def test_a_change_without_if_match_is_refused_428_and_traced(host: LiveHost) -> None:
    c = host.login(if_match=False)
    notes = host.sql("SELECT notes FROM records WHERE ins = :ins", {"ins": host.ins})
    before = _outcomes(host, ("notes.write",))
    r = c.put("/v1/record/notes", json={"text": "x"})
    assert r.status_code == 428
    assert r.json()["error"] == "precondition_required" and r.json()["field"] == "If-Match"
    r = c.put("/v1/record/notes", json={"text": "x"}, headers={"If-Match": "*"})
    assert r.status_code == 428
    after = _outcomes(host, ("notes.write",))
    assert after - before == {("denied", "precondition_required"): 2}
    assert host.sql("SELECT notes FROM records WHERE ins = :ins", {"ins": host.ins}) == notes


def test_an_if_match_that_is_not_one_etag_as_sent_is_refused_428_not_called_stale(
    host: LiveHost,
) -> None:
    # The contract declares one strong ETag, quoted. Anything else says no version the host can
    # compare: a malformed request (428, reason "malformed"), not a stale one (412).
    c = host.login(if_match=False)
    current = c.get("/v1/record/notes").headers["ETag"]
    notes = host.sql("SELECT notes FROM records WHERE ins = :ins", {"ins": host.ins})
    before = _outcomes(host, ("notes.write",))
    for value in ("f)", current.strip('"'), f"W/{current}", f'{current}, "other-1"', '""'):
        r = c.put("/v1/record/notes", json={"text": "x"}, headers={"If-Match": value})
        assert r.status_code == 428, value
        body = r.json()
        assert (body["error"], body["reason"], body["field"]) == (
            "precondition_required",
            "malformed",
            "If-Match",
        ), value
    after = _outcomes(host, ("notes.write",))
    assert after - before == {("denied", "malformed"): 5}
    assert host.sql("SELECT notes FROM records WHERE ins = :ins", {"ins": host.ins}) == notes
    r = c.put("/v1/record/notes", json={"text": "x"}, headers={"If-Match": current})
    assert r.status_code == 200


def test_every_mutable_resource_has_an_etag_that_a_change_moves(host: LiveHost) -> None:
    c = host.login(if_match=False)
    host.step_up(c)
    doc_id = c.get("/v1/record/documents").json()["items"][0]["id"]
    rpps = host.practitioner("emergency")["rpps"]
    cases = [
        ("/v1/record/notes", "PUT", "/v1/record/notes", {"text": "Allergie : pénicilline"}),
        (
            "/v1/record/oppositions",
            "PUT",
            "/v1/record/oppositions",
            {"break_glass": True, "regulation": False},
        ),
        ("/v1/record/practitioners", "PUT", f"/v1/record/authorisations/{rpps}", None),
        ("/v1/record/practitioners", "PUT", f"/v1/record/blocks/{rpps}", None),
        (f"/v1/record/documents/{doc_id}", "POST", f"/v1/record/documents/{doc_id}/mask", None),
    ]
    for read, method, change, body in cases:
        seen = c.get(read)
        tag = seen.headers["etag"]
        assert tag.startswith('"') and not tag.startswith("W/"), read
        assert c.get(read).headers["etag"] == tag  # reading does not move it
        done = c.request(method, change, json=body, headers={"If-Match": tag})
        assert done.status_code == 200, (change, done.text)
        assert done.headers["etag"] != tag and c.get(read).headers["etag"] == done.headers["etag"]
        again = c.request(method, change, json=body, headers={"If-Match": tag})
        assert again.status_code == 412, change
        assert again.headers["etag"] == done.headers["etag"]  # the current one, to reload
    # The document list carries each document's ETag; the summary, the status's.
    listed = c.get("/v1/record/documents").json()["items"]
    assert (
        next(d for d in listed if d["id"] == doc_id)["etag"]
        == c.get(f"/v1/record/documents/{doc_id}").headers["etag"]
    )
    summary = c.get("/v1/record")
    assert summary.json()["etags"]["status"] == summary.headers["etag"]
    assert summary.json()["etags"]["oppositions"] == c.get("/v1/record/oppositions").headers["etag"]
    closed = c.post("/v1/record/close", headers={"If-Match": '"status-0"'})
    assert closed.status_code == 412
    closed = c.post("/v1/record/close", headers={"If-Match": summary.headers["etag"]})
    assert closed.status_code == 200


# --- idempotency keys ----------------------------------------------------------------------


def _deposit_body(title: str = "Compte rendu") -> dict[str, Any]:
    return {
        "type": "11488-4",
        "title": title,
        "content": "Tension normale.",
        "content_type": "text/plain",
    }


def test_a_retried_deposit_is_stored_once_and_answered_the_same(host: LiveHost) -> None:
    ps = host.ps("attending")
    path = f"/v1/ps/records/{host.ins}/documents"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    before = host.sql("SELECT count(*) FROM documents")[0][0]
    deposited = _outcomes(host, ("document.deposit",))[("allowed", None)]
    first = ps.post(path, json=_deposit_body(), headers=key)
    assert first.status_code == 201, first.text
    again = ps.post(path, json=_deposit_body(), headers=key)
    assert again.status_code == 201
    assert again.json() == first.json() and again.headers.get("idempotent-replayed") == "true"
    assert host.sql("SELECT count(*) FROM documents")[0][0] == before + 1
    assert _outcomes(host, ("document.deposit",))[("allowed", None)] == deposited + 1
    other = ps.post(path, json=_deposit_body("Autre titre"), headers=key)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert other.json()["reason"] == "key_reused"
    assert host.sql("SELECT count(*) FROM documents")[0][0] == before + 1
    # Another practitioner's key space is their own.
    mine = host.ps("authorised").post(path, json=_deposit_body(), headers=key)
    assert mine.status_code in (201, 403) and mine.headers.get("idempotent-replayed") is None


def test_a_retried_patient_change_is_applied_once(host: LiveHost) -> None:
    c = host.login(if_match=False)
    before = _outcomes(host, ("notes.write",))
    tag = c.get("/v1/record/notes").headers["etag"]
    headers = {"If-Match": tag, "Idempotency-Key": str(uuid.uuid4())}
    first = c.put("/v1/record/notes", json={"text": "un"}, headers=headers)
    assert first.status_code == 200
    again = c.put("/v1/record/notes", json={"text": "un"}, headers=headers)
    assert again.status_code == 200  # not 412: the stored answer, not a second change
    assert again.json() == first.json() and again.headers["etag"] == first.headers["etag"]
    assert _outcomes(host, ("notes.write",)) - before == {("allowed", None): 1}
    reused = c.put("/v1/record/notes", json={"text": "deux"}, headers=headers)
    assert reused.status_code == 422 and reused.json()["reason"] == "key_reused"
    # A refusal is an answer too: a stale change retried with its key gets the same 412.
    stale = {"If-Match": tag, "Idempotency-Key": str(uuid.uuid4())}
    r1 = c.put("/v1/record/notes", json={"text": "trois"}, headers=stale)
    r2 = c.put("/v1/record/notes", json={"text": "trois"}, headers=stale)
    assert r1.status_code == r2.status_code == 412 and r1.json() == r2.json()


def test_idempotency_keys_are_scoped_to_the_session(host: LiveHost) -> None:
    a, b = host.login(if_match=False), host.login(if_match=False)
    before = _outcomes(host, ("notes.write",))
    key = str(uuid.uuid4())
    tag = a.get("/v1/record/notes").headers["etag"]
    first = a.put(
        "/v1/record/notes", json={"text": "x"}, headers={"If-Match": tag, "Idempotency-Key": key}
    )
    assert first.status_code == 200
    # The same key and the same request from another session is another request.
    second = b.put(
        "/v1/record/notes",
        json={"text": "x"},
        headers={"If-Match": first.headers["etag"], "Idempotency-Key": key},
    )
    assert second.status_code == 200 and second.headers.get("idempotent-replayed") is None
    assert second.headers["etag"] != first.headers["etag"]
    assert _outcomes(host, ("notes.write",)) - before == {("allowed", None): 2}


def test_concurrent_duplicates_apply_once_and_get_the_same_answer(host: LiveHost) -> None:
    ps = host.ps("attending")
    path = f"/v1/ps/records/{host.ins}/documents"
    before = host.sql("SELECT count(*) FROM documents")[0][0]
    for _ in range(20):
        key = {"Idempotency-Key": str(uuid.uuid4())}
        barrier = threading.Barrier(2)
        answers: list[httpx.Response] = []

        def send(key: dict[str, str] = key, barrier: threading.Barrier = barrier) -> None:
            with httpx.Client(base_url=host.url, headers=dict(ps.headers), timeout=30) as c:
                barrier.wait()
                answers.append(c.post(path, json=_deposit_body(), headers=key))

        threads = [threading.Thread(target=send) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert [r.status_code for r in answers] == [201, 201]
        assert answers[0].json() == answers[1].json()
    assert host.sql("SELECT count(*) FROM documents")[0][0] == before + 20


@pytest.mark.parametrize("key", ["", "x" * 101])
def test_a_malformed_key_is_refused(host: LiveHost, key: str) -> None:
    c = host.login()
    r = c.put("/v1/record/notes", json={"text": "x"}, headers={"Idempotency-Key": key})
    assert r.status_code == 422 and r.json()["field"] == "Idempotency-Key"


def test_keys_expire_after_a_day_and_are_purged(host: LiveHost) -> None:
    from dmptui.host.app import run_maintenance

    ps = host.ps("attending")
    path = f"/v1/ps/records/{host.ins}/documents"
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = ps.post(path, json=_deposit_body(), headers=key)
    host.clock.advance(hours=23)
    assert ps.post(path, json=_deposit_body("Autre"), headers=key).status_code == 422
    host.clock.advance(hours=2)
    # A day on, the key is free again: a new request, applied.
    later = ps.post(path, json=_deposit_body("Autre"), headers=key)
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    assert host.sql("SELECT count(*) FROM idempotency_keys")[0][0] == 1
    host.clock.advance(hours=25)
    run_maintenance(host.app.state.host, None)
    assert host.sql("SELECT count(*) FROM idempotency_keys")[0][0] == 0


def test_erasing_the_record_erases_its_stored_answers(host: LiveHost) -> None:
    c = host.login()
    key = {"Idempotency-Key": str(uuid.uuid4())}
    assert c.put("/v1/record/notes", json={"text": "secret"}, headers=key).status_code == 200
    with host.ps("attending") as ps:
        r = ps.post(f"/v1/ps/records/{host.ins}/documents", json=_deposit_body(), headers=key)
        assert r.status_code == 201
    assert host.sql("SELECT count(*) FROM idempotency_keys")[0][0] == 2
    host.step_up(c)
    assert c.post("/v1/record/erase").status_code == 200
    assert host.sql("SELECT count(*) FROM idempotency_keys")[0][0] == 0


# --- deletes -------------------------------------------------------------------------------


def test_twenty_concurrent_deletes_of_one_document_delete_it_once(host: LiveHost) -> None:
    # One session, twenty connections, one DELETE each at the same moment, round after round:
    # the delete takes the record's lock, so exactly one finds the document (204, one "allowed"
    # trace entry) and every other one finds it gone (404, traced as a refusal), on SQLite and
    # PostgreSQL alike.
    rounds, n = 5, 20
    with host.ps("attending") as ps:
        for i in range(rounds):
            r = ps.post(
                f"/v1/ps/records/{host.ins}/documents", json=_deposit_body(f"Compte rendu {i}")
            )
            assert r.status_code == 201, r.text
    c = host.login(if_match=False)
    host.step_up(c)  # a delete needs a fresh code; the test clock stands still after this
    doc_ids = [d["id"] for d in c.get("/v1/record/documents").json()["items"][:rounds]]
    before = _outcomes(host, ("document.delete",))
    for doc_id in doc_ids:
        barrier = threading.Barrier(n, timeout=60)
        answers: list[httpx.Response] = []
        errors: list[BaseException] = []

        def send(doc_id: str = doc_id, barrier: threading.Barrier = barrier) -> None:
            try:
                with httpx.Client(base_url=host.url, headers=dict(c.headers), timeout=60) as one:
                    barrier.wait()
                    answers.append(one.delete(f"/v1/record/documents/{doc_id}"))
            except BaseException as e:  # reported by the main thread
                errors.append(e)
                barrier.abort()

        threads = [threading.Thread(target=send) for _ in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        assert Counter(r.status_code for r in answers) == {204: 1, 404: n - 1}, [
            r.status_code for r in answers
        ]
        assert all(r.json()["error"] == "not_found" for r in answers if r.status_code == 404)
        rows = host.sql(
            "SELECT count(*) FROM trace_entries WHERE action = 'document.delete' "
            "AND outcome = 'allowed' AND document_id = :id",
            {"id": doc_id},
        )
        assert rows == [(1,)], doc_id
        assert host.sql("SELECT count(*) FROM documents WHERE id = :id", {"id": doc_id}) == [(0,)]
    assert _outcomes(host, ("document.delete",)) - before == {
        ("allowed", None): rounds,
        ("denied", "not_found"): rounds * (n - 1),
    }
