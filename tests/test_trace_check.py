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
    """A network in the middle that rewrites the checkpoint answers (or those of ``path``)."""

    def __init__(self, change: Any, path: str = "/record/trace/checkpoint") -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.change = change
        self.path = path

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        if not request.url.path.endswith(self.path):
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
    assert first.words().startswith(f"Verified up to entry {first.size}, signed on ")
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


@pytest.mark.sqlite_only  # restores a copy of the SQLite file
def test_an_older_tree_is_noticed(host, tmp_path: Path) -> None:
    assert host.db_path is not None
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


@pytest.mark.sqlite_only  # restores a copy of the SQLite file
def test_a_fork_is_noticed(host, tmp_path: Path) -> None:
    assert host.db_path is not None
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
    assert "signing key is not the one this device saw before, and nothing signed" in seal.words()
    # The host lists the new key, unendorsed: nothing leads to it from the pinned one.
    published = host.http.get("/v1/ledger/key").json()
    assert published["key_id"] == seal.detail.split("now ")[1].split(":")[0]
    assert published["chain"] == []


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
            assert _seal_text(app).startswith(f"Verified up to entry {top.seq}, signed on ")
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


# --- the host rotates its signing key ---------------------------------------------------------


def _rotate(host: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any) -> dict[str, Any]:
    """``dmptui host rotate-ledger-key`` on the running host's database and data dir."""
    from dmptui.entry.cli import EXIT_OK, main

    monkeypatch.setenv("DMPTUI_DATA_DIR", str(host.data_dir))
    capsys.readouterr()
    assert main(["host", "rotate-ledger-key", "--db", host.db_url, "--json"]) == EXIT_OK
    return json.loads(capsys.readouterr().out)


def _private(host: Any) -> Any:
    from dmptui.host import ledger

    return ledger.load_key(host.data_dir)


def _rotated(seal: Seal) -> None:
    assert seal.verified and seal.key_changed_at is not None, seal
    assert "The host changed its signing key on " in seal.words()
    assert "its previous key vouched for the new one" in seal.words()


def test_the_app_follows_one_rotation_then_two(host, tmp_path, monkeypatch, capsys) -> None:
    p = _patient(host, tmp_path)
    first = p.visit()
    assert first.verified and first.key_changed_at is None
    k1 = _private(host)
    out = _rotate(host, monkeypatch, capsys)
    assert out["old_key_id"] == k1.key_id and out["restart_needed"] is False
    k2 = _private(host)
    assert k2.key_id == out["key_id"] != k1.key_id
    seal = p.visit()  # the running host signs with the new key, the app follows the link
    _rotated(seal)
    assert seal.size > first.size
    stored = p.store.key(host.url)
    assert stored is not None and stored.key_id == k2.key_id
    assert base64.b64encode(k1.public_raw).decode() in p.store.retired(host.url)
    again = p.visit()  # told once
    assert again.verified and again.key_changed_at is None
    assert "signing key" not in again.words()
    # Two rotations between visits: the app follows both links in one visit.
    _rotate(host, monkeypatch, capsys)
    k4 = _rotate(host, monkeypatch, capsys)["key_id"]
    _activity(host, 3)
    seal = p.visit()
    _rotated(seal)
    assert p.store.key(host.url).key_id == k4
    assert len(p.store.retired(host.url)) == 3
    assert p.visit(cursor=None, mode="normal").verified  # checkpoints verify after rotation
    # A device that first sees the host now just pins the newest key.
    fresh = Patient(host, tmp_path / "other-app")
    seal = fresh.visit()
    assert seal.verified and seal.key_changed_at is None


def test_the_rotation_is_said_in_french(host, tmp_path, monkeypatch, capsys) -> None:
    from dmptui import i18n

    p = _patient(host, tmp_path)
    assert p.visit().verified
    _rotate(host, monkeypatch, capsys)
    i18n.set_language("fr")
    words = p.visit().words()
    assert "L'hébergeur a changé sa clé de signature le " in words
    assert "son ancienne clé s'est portée garante de la nouvelle" in words
    assert "Rien à faire." in words


def _endorse(signer: Any, old: Any, new: Any, at: Any) -> bytes:
    from dmptui import merkle

    return signer.sign(merkle.key_endorsement_message(old.public_raw, new.public_raw, at))


def test_a_forged_endorsement_is_refused(host, tmp_path, monkeypatch, capsys) -> None:
    """The host's history names a new key as endorsed by the pinned one, but the signature was
    made by a key that is not in the chain."""
    from datetime import UTC, datetime

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

    from dmptui.host import ledger

    p = _patient(host, tmp_path)
    assert p.visit().verified
    k1 = _private(host)
    stranger = ledger.LedgerKey(Ed25519PrivateKey.generate())
    new = ledger.LedgerKey(Ed25519PrivateKey.generate())
    at = datetime.now(UTC)
    host.sql(
        "INSERT INTO ledger_keys (key_id, public_key, created_at, previous_key_id, endorsement) "
        "VALUES (:k, :p, :at, :prev, :sig)",
        {
            "k": new.key_id,
            "p": new.public_raw,
            "at": at.replace(tzinfo=None),
            "prev": k1.key_id,
            "sig": _endorse(stranger, k1, new, at),
        },
    )
    raw = new.private.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    (host.data_dir / "ledger.key").write_text(base64.b64encode(raw).decode())
    seal = p.visit()
    _assert_untrusted(seal, trace_check.KEY_FORGED)
    assert "was not signed by the key this device saw before: it may be forged" in seal.words()
    assert p.store.key(host.url).key_id == k1.key_id  # still pinned to the old key
    assert p.visit().kind == trace_check.KEY_FORGED  # and it stays said


def _drop_first_link(data: dict) -> None:
    data["chain"] = data["chain"][1:]


def _skip_with_the_second_signature(data: dict) -> None:
    """One link from the first key straight to the third, carrying the second key's signature."""
    first, second = data["chain"]
    data["chain"] = [
        {
            **second,
            "previous_key_id": first["previous_key_id"],
            "previous_public_key": first["previous_public_key"],
        }
    ]


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        (_drop_first_link, trace_check.KEY_CHANGED),
        (_skip_with_the_second_signature, trace_check.KEY_FORGED),
    ],
)
def test_a_chain_that_skips_a_key_is_refused(
    host, tmp_path, monkeypatch, capsys, change, kind
) -> None:
    assert _patient(host, tmp_path).visit().verified  # pins the first key
    _rotate(host, monkeypatch, capsys)
    _rotate(host, monkeypatch, capsys)
    seal = _patient(host, tmp_path, Tamper(change, "/ledger/key")).visit()
    _assert_untrusted(seal, kind)
    # The untampered chain is followed across both rotations.
    _rotated(_patient(host, tmp_path).visit())


def test_a_rollback_to_a_replaced_key_is_refused(host, tmp_path, monkeypatch, capsys) -> None:
    """After a rotation the app moved on; the host then signs with the old key again (its data
    dir and database put back as they were before the rotation, as a restore would)."""
    p = _patient(host, tmp_path)
    assert p.visit().verified
    old_file = (host.data_dir / "ledger.key").read_text()
    out = _rotate(host, monkeypatch, capsys)
    _rotated(p.visit())
    host.sql("DELETE FROM ledger_keys WHERE key_id = :k", {"k": out["key_id"]})
    (host.data_dir / "ledger.key").write_text(old_file)
    seal = p.visit()
    _assert_untrusted(seal, trace_check.KEY_ROLLBACK)
    assert "The host is signing with a key it replaced on " in seal.words()
    assert "a replaced key must never sign again" in seal.words()


def test_a_replaced_key_is_refused_by_a_device_that_never_pinned_it(
    host, tmp_path, monkeypatch, capsys
) -> None:
    """Someone who kept the replaced private key answers in the host's place with it (the
    host's own chain shows that key was replaced): a device that pinned the newer key refuses,
    though it never saw the old one."""
    from dmptui import merkle

    k1 = _private(host)
    _rotate(host, monkeypatch, capsys)
    p = _patient(host, tmp_path)
    assert p.visit().verified  # pins the second key

    def old_key(data: dict) -> None:
        data["key_id"] = data["chain"][0]["previous_key_id"]
        data["public_key"] = data["chain"][0]["previous_public_key"]

    def signed_by_the_old_key(data: dict) -> None:
        from datetime import datetime

        at = datetime.fromisoformat(data["signed_at"])
        msg = merkle.checkpoint_message(data["ins"], data["tree_size"], data["root_hash"], at)
        data["key_id"] = k1.key_id
        data["signature"] = base64.b64encode(k1.sign(msg)).decode()

    class Both(httpx.AsyncBaseTransport):
        def __init__(self) -> None:
            self.key = Tamper(old_key, "/ledger/key")
            self.cp = Tamper(signed_by_the_old_key)

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/ledger/key"):
                return await self.key.handle_async_request(request)
            return await self.cp.handle_async_request(request)

    seal = _patient(host, tmp_path, Both()).visit()
    _assert_untrusted(seal, trace_check.KEY_ROLLBACK)


def test_a_checkpoint_signed_during_a_rotation_is_checked_with_the_new_key(
    host, tmp_path, monkeypatch, capsys
) -> None:
    """The key is read, then the host rotates before the checkpoint: the app reads the key
    again rather than call the new signature invalid."""
    p = _patient(host, tmp_path)
    assert p.visit().verified
    rotated = []

    def rotate_now(data: dict) -> None:
        if not rotated:
            rotated.append(_rotate(host, monkeypatch, capsys))

    _rotated(_patient(host, tmp_path, Tamper(rotate_now, "/ledger/key")).visit())
