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


def _find_vectors() -> Path:
    """``../shared/vectors/rfc6962`` next to the repository (a git worktree may sit one level
    deeper, so the nearest ancestor that has it wins)."""
    for base in REPO.parents:
        candidate = base / "shared" / "vectors" / "rfc6962"
        if candidate.is_dir():
            return candidate
    return REPO.parent / "shared" / "vectors" / "rfc6962"


VECTORS = _find_vectors()


def _vectors(kind: str) -> list[Path]:
    if not VECTORS.is_dir():
        pytest.skip(f"the RFC 6962 test vectors are not at {VECTORS}")
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
            files = (
                sorted((VECTORS / kind).rglob("*.json")) if VECTORS.is_dir() else [Path("absent")]
            )
            ids = _ids(files) if VECTORS.is_dir() else ["absent"]
            metafunc.parametrize(name, files, ids=ids)


def test_inclusion_vectors(inclusion_vector: Path) -> None:
    if not inclusion_vector.exists():
        pytest.skip(f"the RFC 6962 test vectors are not at {VECTORS}")
    d = json.loads(inclusion_vector.read_text())
    proof = [_b(x) for x in d["proof"] or []]
    args = (d["leafIdx"], d["treeSize"], _b(d["leafHash"]), proof, _b(d["root"]))
    if d["wantErr"]:
        with pytest.raises(merkle.ProofError):
            merkle.verify_inclusion(*args)
    else:
        merkle.verify_inclusion(*args)


def test_consistency_vectors(consistency_vector: Path) -> None:
    if not consistency_vector.exists():
        pytest.skip(f"the RFC 6962 test vectors are not at {VECTORS}")
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
