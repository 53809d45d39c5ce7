"""The access trace as a Merkle log: RFC 9162 hashing checked against the published test
vectors, the host's stored tree against a recomputed one, and the proof endpoints over HTTP."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dmptui import merkle

REPO = Path(__file__).resolve().parents[1]


# Published vectors, copied into the repository with their licence (tests/data/rfc6962/README.md).
VECTORS = REPO / "tests" / "data" / "rfc6962"


def _vectors(kind: str) -> list[Path]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    assert files
    return files


def _b(s: str | None) -> bytes:
    return base64.b64decode(s) if s else b""


def _ids(files: list[Path]) -> list[str]:
    return [str(f.relative_to(VECTORS)) for f in files]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for kind in ("inclusion", "consistency"):
        name = f"{kind}_vector"
        if name in metafunc.fixturenames:
            files = sorted((VECTORS / kind).rglob("*.json"))
            metafunc.parametrize(name, files, ids=_ids(files))


def test_inclusion_vectors(inclusion_vector: Path) -> None:
    d = json.loads(inclusion_vector.read_text())
    proof = [_b(x) for x in d["proof"] or []]
    args = (d["leafIdx"], d["treeSize"], _b(d["leafHash"]), proof, _b(d["root"]))
    if d["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


def test_consistency_vectors(consistency_vector: Path) -> None:
    d = json.loads(consistency_vector.read_text())
    proof = [_b(x) for x in d["proof"] or []]
    args = (d["size1"], d["size2"], proof, _b(d["root1"]), _b(d["root2"]))
    if d["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_consistency(*args)
    else:
        merkle.verify_consistency(*args)


def test_the_vectors_are_all_there() -> None:
    assert len(_vectors("inclusion")) + len(_vectors("consistency")) >= 190


def _ref(leaves: list[bytes]) -> bytes:
    """MTH straight from RFC 9162's recursive definition."""
    if not leaves:
        return merkle.EMPTY_ROOT
    if len(leaves) == 1:
        return leaves[0]
    k = 1 << ((len(leaves) - 1).bit_length() - 1)
    return merkle.node_hash(_ref(leaves[:k]), _ref(leaves[k:]))


def test_rfc_example_tree_and_every_proof_up_to_40_leaves() -> None:
    # The 8 leaves of the CT test data give the published root (RFC 6962 reference tree).
    data = [bytes.fromhex(x) for x in ("", "00", "10", "2021", "3031", "40414243",
            "5051525354555657", "606162636465666768696a6b6c6d6e6f")]  # fmt: skip
    leaves = [merkle.leaf_hash(x) for x in data]
    assert merkle.root(leaves).hex() == (
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    )
    leaves = [merkle.leaf_hash(i.to_bytes(2, "big")) for i in range(40)]
    for n in range(1, 41):
        tree = leaves[:n]
        r = merkle.root(tree)
        assert r == _ref(tree)
        for i in range(n):
            merkle.verify_inclusion(i, n, tree[i], merkle.inclusion_proof(tree, i), r)
            with pytest.raises(merkle.ProofError):
                merkle.verify_inclusion(
                    i, n, merkle.leaf_hash(b"x"), merkle.inclusion_proof(tree, i), r
                )
        for m in range(1, n + 1):
            proof = merkle.consistency_proof(tree, m)
            merkle.verify_consistency(m, n, proof, merkle.root(tree[:m]), r)
            if m < n:
                with pytest.raises(merkle.ProofError):
                    merkle.verify_consistency(m, n, proof, merkle.leaf_hash(b"fork"), r)


def test_leaf_bytes_are_canonical() -> None:
    from dmptui.schema import TraceEntryOut

    e = TraceEntryOut(
        seq=7,
        at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        actor_role="practitioner",
        actor_name="Dr Zoé Ĺ",
        actor_rpps="10000000001",
        actor_profession="doctor",
        actor_facility=None,
        action="document.read",
        document_id="abc",
        mode="normal",
        outcome="allowed",
        reason=None,
    )
    raw = merkle.leaf_bytes(e)
    assert raw.startswith(b'{"action":"document.read","actor_facility":null,')
    assert b'"at":"2026-01-02T03:04:05.000006Z"' in raw
    assert "Dr Zoé Ĺ".encode() in raw and b" " not in raw.replace("Dr Zoé Ĺ".encode(), b"")
    # The same entry read back through JSON (as the app gets it) hashes the same.
    again = TraceEntryOut.model_validate_json(e.model_dump_json())
    assert merkle.leaf_bytes(again) == raw
    assert merkle.leaf_bytes(e.model_dump()) == raw


# --- the host's stored tree ----------------------------------------------------------------


def _leaves(host) -> list[bytes]:
    rows = host.sql(
        "SELECT leaf_hash FROM trace_entries WHERE record_id = "
        "(SELECT id FROM records WHERE ins = :ins) ORDER BY seq",
        {"ins": host.ins},
    )
    return [bytes(h) for (h,) in rows]


def _all_entries(client) -> list:
    from dmptui.schema import TracePage

    out, cursor = [], None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = TracePage.model_validate(client.get("/v1/record/trace", params=params).json())
        out += page.items
        cursor = page.next_cursor
        if not cursor:
            return out


def test_host_tree_matches_a_recomputed_one_and_its_proofs_verify(host) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from dmptui.host.ledger import checkpoint_message
    from dmptui.schema import CheckpointOut, ConsistencyProofOut, InclusionProofOut, LedgerKeyOut

    client = host.login()
    for _ in range(70):  # grow the trace across several power-of-two boundaries
        assert client.get("/v1/record/notes").status_code == 200
    sizes_seen = []
    for _ in range(3):
        client.get("/v1/record")
        cp = CheckpointOut.model_validate(client.get("/v1/record/trace/checkpoint").json())
        sizes_seen.append(cp)
    leaves = _leaves(host)
    cp = sizes_seen[-1]
    assert cp.tree_size == len(leaves) and cp.ins == host.ins
    assert cp.root_hash == merkle.root(leaves).hex()

    # The signature verifies with the published key, over the message that binds the record.
    key = LedgerKeyOut.model_validate(host.http.get("/v1/ledger/key").json())  # no login
    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key.public_key))
    message = checkpoint_message(cp.ins, cp.tree_size, cp.root_hash, cp.signed_at)
    public.verify(base64.b64decode(cp.signature), message)
    assert key.key_id == cp.key_id

    # Every entry the patient sees hashes to the stored leaf, and its inclusion proof verifies.
    entries = _all_entries(client)
    assert len(entries) >= 100
    root = bytes.fromhex(cp.root_hash)
    shown = [e for e in entries if e.seq <= cp.tree_size]
    for batch in (shown[i : i + 100] for i in range(0, len(shown), 100)):
        r = client.get(
            "/v1/record/trace/proof/inclusion",
            params=[("size", cp.tree_size)] + [("seq", e.seq) for e in batch],
        )
        assert r.status_code == 200, r.text
        proofs = {p.seq: p for p in (InclusionProofOut.model_validate(x) for x in r.json())}
        for e in batch:
            p = proofs[e.seq]
            leaf = merkle.entry_hash(e)
            assert leaf.hex() == p.leaf_hash
            merkle.verify_inclusion(
                p.leaf_index, cp.tree_size, leaf, [bytes.fromhex(h) for h in p.path], root
            )

    # Consistency between each pair of checkpoints, and from every size to the last.
    for a, b in [(sizes_seen[0], sizes_seen[1]), (sizes_seen[1], sizes_seen[2])]:
        r = client.get(
            "/v1/record/trace/proof/consistency",
            params={"first": a.tree_size, "second": b.tree_size},
        )
        proof = ConsistencyProofOut.model_validate(r.json())
        merkle.verify_consistency(
            a.tree_size,
            b.tree_size,
            [bytes.fromhex(h) for h in proof.path],
            bytes.fromhex(a.root_hash),
            bytes.fromhex(b.root_hash),
        )
    for first in range(1, cp.tree_size + 1, 7):
        r = client.get(
            "/v1/record/trace/proof/consistency",
            params={"first": first, "second": cp.tree_size},
        )
        path = [bytes.fromhex(h) for h in r.json()["path"]]
        merkle.verify_consistency(first, cp.tree_size, path, merkle.root(leaves[:first]), root)

    # The stored subtrees are exactly those of the recomputed tree.
    stored = host.sql(
        "SELECT level, idx, hash FROM trace_nodes WHERE record_id = "
        "(SELECT id FROM records WHERE ins = :ins) ORDER BY level, idx",
        {"ins": host.ins},
    )
    want = sorted(merkle.subtree_nodes(leaves))
    assert [(lv, i, bytes(h)) for lv, i, h in stored] == want


def test_proofs_and_checkpoints_need_the_patient_and_are_not_traced(host) -> None:
    for path in (
        "/v1/record/trace/checkpoint",
        "/v1/record/trace/proof/inclusion?size=1&seq=1",
        "/v1/record/trace/proof/consistency?first=1&second=1",
    ):
        assert host.http.get(path).status_code == 401
        ps = host.ps("attending")
        assert ps.get(path).status_code == 401
    client = host.login()
    before = host.trace_size()
    size = client.get("/v1/record/trace/checkpoint").json()["tree_size"]
    assert (
        size == host.sql("SELECT trace_size FROM records WHERE ins = :ins", {"ins": host.ins})[0][0]
    )
    r = client.get("/v1/record/trace/proof/inclusion", params={"size": size, "seq": [1, size]})
    assert [p["seq"] for p in r.json()] == [1, size]
    client.get("/v1/record/trace/proof/consistency", params={"first": 1, "second": size})
    assert host.trace_size() == before
    # Out of range, too many, in the wrong order: refused with the field named.
    bad = [
        ("inclusion", {"size": size + 1, "seq": 1}, "size"),
        ("inclusion", {"size": size, "seq": size + 1}, "seq"),
        ("inclusion", {"size": size, "seq": list(range(1, 102))}, "seq"),
        ("consistency", {"first": 3, "second": 2}, "first"),
        ("consistency", {"first": 1, "second": size + 1}, "second"),
    ]
    for kind, params, field in bad:
        r = client.get(f"/v1/record/trace/proof/{kind}", params=params)
        assert r.status_code == 422 and r.json()["field"] == field, (kind, r.text)


_PROOF_PATHS = (
    "/v1/record/trace/checkpoint",
    "/v1/record/trace/proof/inclusion?size=1&seq=1",
    "/v1/record/trace/proof/consistency?first=1&second=1",
)


def test_proofs_on_a_closed_record_are_refused_and_the_refusal_is_traced(host) -> None:
    """The proofs read on a read-only connection only for a plain yes; a refusal still goes
    through ``patient_call`` in a write transaction, and its trace entry is kept."""
    from dmptui.host import lifecycle
    from dmptui.host.db import Record

    h = host.app.state.host
    with h.tx() as s:
        lifecycle.close(s, s.query(Record).filter_by(ins=host.ins).one(), h.now())
    client = host.login()  # a closed record's patient may still log in
    for path in _PROOF_PATHS:
        before = host.trace_size()
        r = client.get(path)
        assert r.status_code == 403 and r.json()["reason"] == "record_closed", (path, r.text)
        assert host.trace_size() == before + 1
        last = host.sql("SELECT action, outcome FROM trace_entries ORDER BY id DESC LIMIT 1")
        assert last == [("trace.read", "denied")]


def test_proofs_do_not_keep_a_session_alive_and_end_with_it(host) -> None:
    client = host.login()
    assert client.get(_PROOF_PATHS[0]).status_code == 200
    host.clock.advance(minutes=10)
    for path in _PROOF_PATHS:
        assert client.get(path).status_code == 200, path  # not activity: the idle time runs on
    host.clock.advance(minutes=6)
    for path in _PROOF_PATHS:
        r = client.get(path)
        assert r.status_code == 401 and r.json()["error"] == "session_expired", (path, r.text)


@pytest.mark.sqlite_only
def test_proofs_answer_while_a_writer_holds_the_sqlite_write_lock(host) -> None:
    """Read-only: they neither take SQLite's write lock nor wait for it (a write transaction
    would wait out the busy timeout, then fail)."""
    import sqlite3

    assert host.db_path is not None
    client = host.login()
    writer = sqlite3.connect(host.db_path, isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE records SET display_name = display_name")
        for path in _PROOF_PATHS:
            r = client.get(path)
            assert r.status_code == 200, (path, r.text)
    finally:
        writer.execute("ROLLBACK")
        writer.close()


def test_the_ledger_key_is_created_once_with_mode_0600(host) -> None:
    path = host.data_dir / "ledger.key"
    assert path.stat().st_mode & 0o777 == 0o600
    first = host.http.get("/v1/ledger/key").json()
    from dmptui.host import ledger

    assert ledger.create_key_file(host.data_dir) is False  # never overwritten
    assert ledger.load_key(host.data_dir).key_id == first["key_id"]


@pytest.mark.sqlite_only  # a copy of the SQLite file
def test_migration_computes_the_tree_of_existing_entries(host) -> None:
    from alembic import command
    from alembic.config import Config

    assert host.db_path is not None
    host.login().get("/v1/record")
    before = _leaves(host)
    nodes = host.sql("SELECT record_id, level, idx, hash FROM trace_nodes ORDER BY 1, 2, 3")
    host.app.state.host.engine.dispose()
    cfg = Config()
    cfg.set_main_option("script_location", str(REPO / "dmptui" / "host" / "migrations"))
    cfg.set_main_option("sqlalchemy.url", host.db_url)
    # The master key opens (going down) and seals again (going up) the TOTP secret and the
    # break-glass reasons (0007).
    cfg.attributes["keyring"] = host.app.state.host.keyring
    command.downgrade(cfg, "0003")  # the revision before the Merkle log
    columns = [row[1] for row in host.sql("PRAGMA table_info(trace_entries)")]
    assert "leaf_hash" not in columns and "id" in columns
    command.upgrade(cfg, "head")
    assert _leaves(host) == before
    assert host.sql("SELECT record_id, level, idx, hash FROM trace_nodes ORDER BY 1, 2, 3") == nodes


def test_erasing_a_record_erases_its_tree(host) -> None:
    from dmptui.host import ledger, lifecycle
    from dmptui.host.db import Record

    h = host.app.state.host
    with h.tx() as s:
        record = s.query(Record).filter_by(ins=host.ins).one()
        rid = record.id
        lifecycle.erase(s, record, ledger.SYSTEM, h.now())
    assert host.sql("SELECT count(*) FROM trace_nodes WHERE record_id = :r", {"r": rid}) == [(0,)]
    assert host.sql("SELECT seq FROM trace_entries WHERE record_id = :r", {"r": rid}) == [(1,)]


def test_an_append_from_a_size_seen_earlier_is_gap_free_whether_or_not_it_moved(host) -> None:
    """``size_seen`` (PostgreSQL: the counter and the entry in one statement, on condition that
    the size is still the one seen) gives the same entries as the usual append: the right seq
    when the size is the one seen, and when another entry came in between; the tree verifies."""
    from sqlalchemy import event

    from dmptui.host import ledger
    from dmptui.host.db import Record

    h = host.app.state.host
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        statements.append(statement)

    with h.tx() as s:
        rid, size = s.query(Record.id, Record.trace_size).filter_by(ins=host.ins).one()
    event.listen(h.engine, "before_cursor_execute", count)
    try:
        with h.tx() as s:
            first = ledger.append(
                s, rid, ledger.SYSTEM, "trace.read", now=h.now(), allowed=True, size_seen=size
            )
        moved = len(statements)
        with h.tx() as s:  # seen before the entry above: another entry came in between
            second = ledger.append(
                s, rid, ledger.SYSTEM, "trace.read", now=h.now(), allowed=True, size_seen=size
            )
    finally:
        event.remove(h.engine, "before_cursor_execute", count)
    assert (first, second) == (size + 1, size + 2)
    assert host.trace_size() == size + 2
    seqs = [r[0] for r in host.sql("SELECT seq FROM trace_entries ORDER BY seq")]
    assert seqs == list(range(1, size + 3))
    if h.engine.dialect.name == "postgresql":
        assert any(st.lstrip().startswith("WITH size_moved") for st in statements[:moved])
        assert not any(st.lstrip().startswith("UPDATE records") for st in statements[:moved])
    client = host.login()
    size_now = host.trace_size()
    r = client.get(f"/v1/record/trace/proof/consistency?first={size}&second={size_now}")
    assert r.status_code == 200, r.text
