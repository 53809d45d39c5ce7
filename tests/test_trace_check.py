"""The app checks the host's trace: the real host over HTTP on a real SQLite file, tampered
with behind its back, and the checker must notice every case."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
from pathlib import Path
from typing import Any

import httpx
import pytest
from hostkit import copy_sqlite

from dmptui import trace_check
from dmptui.client import Client
from dmptui.trace_check import CheckpointStore, Seal, TraceChecker


class Tamper(httpx.AsyncBaseTransport):
    """A network in the middle that rewrites the checkpoint answers."""

    def __init__(self, change: Any) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.change = change

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith("/record/trace/checkpoint"):
            return response
        await response.aread()
        data = json.loads(response.content)
        self.change(data)
        return httpx.Response(response.status_code, json=data)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Patient:
    """The app's side: the tokens of a login, and a checkpoint store in a temporary data dir.
    Each visit is one run of the app's loop: a page of the trace, then the check."""

    def __init__(self, host: Any, data_dir: Path, transport: Any = None) -> None:
        self.host = host
        self.tokens = host.login().tokens
        self.store = CheckpointStore.in_dir(data_dir)
        self.transport = transport
        self.page: list = []

    def visit(self, **query: Any) -> Seal:
        async def run() -> Seal:
            async with Client(self.host.url, transport=self.transport) as client:
                client.access_token = self.tokens["access_token"]
                client.refresh_token = self.tokens["refresh_token"]
                page = await client.trace(limit=50, **query)
                self.page = page.items
                return await TraceChecker(client, self.store).check(page.items, complete=not query)

        return asyncio.run(run())


def _patient(host: Any, tmp_path: Path, transport: Any = None) -> Patient:
    return Patient(host, tmp_path / "app", transport)


def _record_id(host: Any) -> int:
    return host.sql("SELECT id FROM records WHERE ins = :ins", {"ins": host.ins})[0][0]


def _activity(host: Any, n: int) -> None:
    client = host.login()
    for _ in range(n):
        assert client.get("/v1/record/notes").status_code == 200


def test_each_visit_is_verified_and_covers_its_own_page(host, tmp_path: Path) -> None:
    p = _patient(host, tmp_path)
    first = p.visit()
    assert first.verified, first
    # The checkpoint, taken after the page, covers the page's own trace.read entry.
    assert first.size == p.page[0].seq and p.page[0].action == "trace.read"
    assert first.words().startswith(f"Verified up to entry {first.size}, signed at ")
    _activity(host, 9)
    second = p.visit()
    assert second.verified and second.size > first.size
    older = p.visit(cursor=None, mode="normal")  # a filtered page: its rows only
    assert older.verified
    stored = json.loads((tmp_path / "app" / trace_check.STORE_FILE).read_text())
    (entry,) = stored["hosts"].values()
    assert entry["records"][host.ins]["tree_size"] == older.size
    assert "signature" in entry["records"][host.ins]


def test_entries_hidden_until_a_consultation_are_proved_by_their_hash(host, tmp_path) -> None:
    p = _patient(host, tmp_path)
    assert p.visit().verified
    with host.ps("author") as ps:
        r = ps.post(
            f"/v1/ps/records/{host.ins}/documents",
            json={
                "type": "11488-4",
                "title": "Résultat à annoncer",
                "content": "Texte.",
                "labels": ["INVISIBLE_PATIENT"],
            },
        )
        assert r.status_code == 201, r.text
    _activity(host, 2)
    seal = p.visit()
    assert seal.verified, seal
    seqs = [e.seq for e in p.page]
    hidden = sorted(set(range(min(seqs), max(seqs) + 1)) - set(seqs))
    assert hidden, "the deposit's entry is not on the patient's page"
    # ...and deleting that hidden entry is noticed all the same.
    host.sql(
        "DELETE FROM trace_entries WHERE record_id = :r AND seq = :s",
        {"r": _record_id(host), "s": hidden[0]},
    )
    _assert_untrusted(p.visit(), trace_check.ENTRY, trace_check.FORK)


def _assert_untrusted(seal: Seal, *kinds: str) -> None:
    assert seal.kind in kinds, seal
    assert seal.failed and not seal.verified
    assert "The host's trace can't be trusted." in seal.words()
    assert "contact the record host's support" in seal.words()


def test_a_changed_entry_is_noticed(host, tmp_path: Path) -> None:
    p = _patient(host, tmp_path)
    assert p.visit().verified
    target = p.page[3].seq
    host.sql(
        "UPDATE trace_entries SET outcome = CASE outcome WHEN 'allowed' THEN 'denied' "
        "ELSE 'allowed' END WHERE record_id = :r AND seq = :s",
        {"r": _record_id(host), "s": target},
    )
    seal = p.visit()
    _assert_untrusted(seal, trace_check.ENTRY)
    assert seal.seq == target
    assert f"Entry {target} of the access trace was changed or removed" in seal.words()


def test_a_deleted_entry_is_noticed(host, tmp_path: Path) -> None:
    p = _patient(host, tmp_path)
    assert p.visit().verified
    target = p.page[5].seq
    host.sql(
        "DELETE FROM trace_entries WHERE record_id = :r AND seq = :s",
        {"r": _record_id(host), "s": target},
    )
    seal = p.visit()
    _assert_untrusted(seal, trace_check.ENTRY, trace_check.FORK)
    assert target not in [e.seq for e in p.page]  # the page itself just skips it


def test_two_entries_swapped_are_noticed(host, tmp_path: Path) -> None:
    p = _patient(host, tmp_path)
    assert p.visit().verified
    rid = _record_id(host)
    a, b = p.page[2].seq, p.page[6].seq
    cols = "at, actor_role, actor_rpps, actor_name, actor_profession, actor_facility, action, "
    cols += "document_id, mode, outcome, reason, leaf_hash"
    names = [c.strip() for c in cols.split(",")]
    query = f"SELECT {cols} FROM trace_entries WHERE record_id = :r AND seq = :s"
    rows = {seq: host.sql(query, {"r": rid, "s": seq})[0] for seq in (a, b)}
    assert rows[a] != rows[b]
    for seq, other in ((a, b), (b, a)):
        sets = ", ".join(f"{n} = :{n}" for n in names)
        host.sql(
            f"UPDATE trace_entries SET {sets} WHERE record_id = :r AND seq = :s",
            {**dict(zip(names, rows[other], strict=True)), "r": rid, "s": seq},
        )
    seal = p.visit()
    _assert_untrusted(seal, trace_check.ENTRY)
    assert seal.seq in (a, b)


def _truncate(host: Any, keep: int) -> None:
    rid = _record_id(host)
    host.sql("DELETE FROM trace_entries WHERE record_id = :r AND seq > :k", {"r": rid, "k": keep})
    for level, idx in host.sql(
        "SELECT level, idx FROM trace_nodes WHERE record_id = :r", {"r": rid}
    ):
        if (idx + 1) << level > keep:
            host.sql(
                "DELETE FROM trace_nodes WHERE record_id = :r AND level = :l AND idx = :i",
                {"r": rid, "l": level, "i": idx},
            )
    host.sql("UPDATE records SET trace_size = :k WHERE id = :r", {"r": rid, "k": keep})


def test_a_truncated_trace_is_noticed_and_stays_noticed(host, tmp_path: Path) -> None:
    p = _patient(host, tmp_path)
    seen = p.visit()
    assert seen.verified
    _truncate(host, seen.size - 6)
    seal = p.visit()
    _assert_untrusted(seal, trace_check.SMALLER)
    assert (seal.before, seal.size) == (seen.size, seen.size - 5)
    assert f"({seen.size} entries, now {seen.size - 5}): entries were removed" in seal.words()
    # A failure keeps the last good checkpoint: the warning does not go away by itself, even
    # once the trace has grown past the old size again (it is then a fork).
    assert p.visit().kind == trace_check.SMALLER
    _activity(host, 12)
    _assert_untrusted(p.visit(), trace_check.FORK)


def _restore(host: Any, backup: Path) -> None:
    assert host.db_path is not None
    host.app.state.host.engine.dispose()
    for suffix in ("-wal", "-shm"):
        Path(str(host.db_path) + suffix).unlink(missing_ok=True)
    shutil.copyfile(backup, host.db_path)


def test_an_older_tree_is_noticed(host, tmp_path: Path) -> None:
    if host.db_path is None:
        pytest.skip("restores a copy of the SQLite file")
    p = _patient(host, tmp_path)
    assert p.visit().verified
    backup = tmp_path / "older.sqlite3"
    copy_sqlite(host.db_path, backup)
    _activity(host, 8)
    seen = p.visit()
    assert seen.verified
    _restore(host, backup)
    seal = p.visit()
    _assert_untrusted(seal, trace_check.SMALLER)
    assert seal.before == seen.size and seal.size < seen.size


def test_a_fork_is_noticed(host, tmp_path: Path) -> None:
    if host.db_path is None:
        pytest.skip("restores a copy of the SQLite file")
    p = _patient(host, tmp_path)
    assert p.visit().verified
    backup = tmp_path / "older.sqlite3"
    copy_sqlite(host.db_path, backup)
    _activity(host, 4)
    seen = p.visit()
    assert seen.verified
    _restore(host, backup)
    _activity(host, 10)  # other entries, past the size the app saw
    seal = p.visit()
    _assert_untrusted(seal, trace_check.FORK)
    assert seal.before == seen.size and seal.size > seen.size
    assert f"(up to entry {seen.size}): past entries were changed" in seal.words()


def test_a_new_host_key_is_noticed(host, tmp_path: Path) -> None:
    p = _patient(host, tmp_path)
    assert p.visit().verified
    (host.data_dir / "ledger.key").unlink()
    del host.app.state.host.__dict__["_ledger_key"]  # the host restarts with a new key
    seal = p.visit()
    _assert_untrusted(seal, trace_check.KEY_CHANGED)
    assert "signing key is not the one this device saw before" in seal.words()


def _flip_signature(data: dict) -> None:
    raw = bytearray(base64.b64decode(data["signature"]))
    raw[0] ^= 1
    data["signature"] = base64.b64encode(bytes(raw)).decode()


def _other_root(data: dict) -> None:
    data["root_hash"] = "00" * 32


def _other_size(data: dict) -> None:
    data["tree_size"] += 1


@pytest.mark.parametrize("change", [_flip_signature, _other_root, _other_size])
def test_a_bad_signature_is_noticed(host, tmp_path: Path, change: Any) -> None:
    assert _patient(host, tmp_path).visit().verified  # pins the key
    seal = _patient(host, tmp_path, Tamper(change)).visit()
    _assert_untrusted(seal, trace_check.SIGNATURE)
    assert "signature on the access trace is not valid" in seal.words()


def test_an_unreachable_host_is_not_called_tampering(host, tmp_path: Path) -> None:
    p = _patient(host, tmp_path)
    assert p.visit().verified

    async def run() -> Seal:
        dead = Client("http://127.0.0.1:9", retries=0)
        dead.access_token = "x"
        return await TraceChecker(dead, p.store).check([])

    seal = asyncio.run(run())
    assert seal.kind == trace_check.UNAVAILABLE and not seal.failed
    assert "could not be checked this time" in seal.words()


# --- the trace screen -------------------------------------------------------------------------


def _seal_text(app: Any) -> str:
    return str(app.screen.query_one("#trace-seal").render())


def test_the_trace_screen_shows_the_verified_line(host) -> None:
    from tuikit import goto, login, make_app, settled, status, wait_for

    async def run() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(140, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "trace")
            await settled(pilot)
            await wait_for(pilot, lambda: "Verified up to entry" in _seal_text(app))
            top = app.screen.entries[max(app.screen.entries, key=int)]
            assert _seal_text(app).startswith(f"Verified up to entry {top.seq}, signed at ")
            assert status(app).startswith("Access trace: 50 entries loaded")

    asyncio.run(run())


def test_the_trace_screen_says_the_trace_cannot_be_trusted(host) -> None:
    from tuikit import goto, login, make_app, settled, status, wait_for

    rid = _record_id(host)

    async def visit(lang: str, tamper: Any = None) -> str:
        app = make_app(host, lang)
        async with app.run_test(size=(140, 40)) as pilot:
            await login(pilot, host)
            if tamper:
                tamper()
            await goto(pilot, "trace")
            await settled(pilot)
            await wait_for(pilot, lambda: "…" not in _seal_text(app))
            if tamper:
                assert app.screen.query_one("#trace-seal").has_class("seal-failed")
                assert status(app).startswith(("Error:", "Erreur"))
            return _seal_text(app)

    assert "Verified up to entry" in asyncio.run(visit("en"))
    target = host.sql("SELECT max(seq) FROM trace_entries WHERE record_id = :r", {"r": rid})[0][0]

    def change() -> None:
        host.sql(
            "UPDATE trace_entries SET actor_name = 'Someone else' WHERE record_id = :r "
            "AND seq = :s",
            {"r": rid, "s": target},
        )

    words = asyncio.run(visit("fr", change))
    assert f"L'entrée {target} de la trace des accès a été modifiée ou supprimée" in words
    assert "On ne peut pas se fier à la trace de l'hébergeur." in words
