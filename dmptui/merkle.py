"""RFC 9162 Merkle trees (Certificate Transparency 2.0 hashing), pure: no I/O.

Shared by the host (which stores the tree of each record's access trace and serves proofs) and
the app (which checks them). SHA-256, leaf = H(0x00 ‖ data), node = H(0x01 ‖ left ‖ right).

- ``root(leaves)``: the Merkle tree hash of a list of leaf hashes (MTH, RFC 9162 §2.1.1).
- ``inclusion_ranges`` / ``consistency_ranges``: which subtrees (as leaf ranges) form the proofs
  of §2.1.3.1 and §2.1.4.1, so a store of complete subtrees can answer them with O(log n) reads;
  ``complete_subtrees`` splits such a range into complete subtrees, ``fold`` combines them.
- ``verify_inclusion`` / ``verify_consistency``: the verification algorithms of §2.1.3.2 and
  §2.1.4.2 (tested against the transparency-dev test vectors).
- ``leaf_bytes(entry)``: the canonical bytes of one patient-visible trace entry;
  ``checkpoint_message``: the bytes of a signed checkpoint; ``key_endorsement_message``: the
  bytes an old signing key signs to vouch for its successor.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

HASH_SIZE = 32

# The fields of a trace entry (schema.TraceEntryOut) that are hashed, fixed here so a field added
# to the API later does not change the leaves of existing traces.
LEAF_FIELDS = (
    "seq",
    "at",
    "actor_role",
    "actor_name",
    "actor_rpps",
    "actor_profession",
    "actor_facility",
    "action",
    "document_id",
    "mode",
    "outcome",
    "reason",
)


class ProofError(ValueError):
    """A proof that does not verify, or is malformed."""


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


EMPTY_ROOT = sha256(b"")


def iso(at: datetime) -> str:
    """The one rendering of a time in signed or hashed bytes: ISO 8601, UTC, microseconds, Z."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


CHECKPOINT_CONTEXT = b"dmptui-trace-checkpoint/v1\n"


def checkpoint_message(ins: str, size: int, root_hex: str, signed_at: datetime) -> bytes:
    """The exact bytes the host signs for a checkpoint of a record's trace (and the app
    rebuilds to verify): context line, INS, size, root in hex, signing time as ``iso``."""
    return CHECKPOINT_CONTEXT + f"{ins}\n{size}\n{root_hex}\n{iso(signed_at)}".encode()


KEY_ENDORSEMENT_CONTEXT = b"dmptui-trace-key-endorsement/v1\n"


def key_endorsement_message(old_public: bytes, new_public: bytes, at: datetime) -> bytes:
    """The exact bytes the old signing key signs to vouch for the new one when the host rotates
    its key: its own context line (so no checkpoint can be read as an endorsement, nor the other
    way round), both raw public keys in base64, the moment as ``iso``."""
    if len(old_public) != 32 or len(new_public) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes")
    old64, new64 = base64.b64encode(old_public).decode(), base64.b64encode(new_public).decode()
    return KEY_ENDORSEMENT_CONTEXT + f"{old64}\n{new64}\n{iso(at)}".encode()


def leaf_bytes(entry: Any) -> bytes:
    """Canonical bytes of a trace entry (a ``TraceEntryOut``, or a mapping with its fields):
    JSON of the fields in ``LEAF_FIELDS``, sorted keys, no spaces, UTF-8, ``at`` as ``iso``."""
    if not isinstance(entry, Mapping):
        entry = {name: getattr(entry, name) for name in LEAF_FIELDS}
    out: dict[str, Any] = {}
    for name in LEAF_FIELDS:
        value = entry[name]
        if name == "at":
            value = iso(value)
        elif hasattr(value, "value"):  # an enum
            value = value.value
        out[name] = value
    text = json.dumps(out, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode("utf-8")


def entry_hash(entry: Any) -> bytes:
    return leaf_hash(leaf_bytes(entry))


# --- trees ---------------------------------------------------------------------------------


def _split(n: int) -> int:
    """The largest power of two smaller than n (n >= 2)."""
    return 1 << ((n - 1).bit_length() - 1)


def root(leaves: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes (iterative, O(n))."""
    if not leaves:
        return EMPTY_ROOT
    # Fold complete subtrees as a stack (like appending one by one), then the right edge.
    stack: list[tuple[int, bytes]] = []  # (size, hash), sizes strictly decreasing
    for h in leaves:
        size, cur = 1, h
        while stack and stack[-1][0] == size:
            left = stack.pop()[1]
            cur = node_hash(left, cur)
            size *= 2
        stack.append((size, cur))
    return fold([h for _, h in stack])


def subtree_nodes(
    leaves: Iterable[bytes], start: int = 0, frontier: Sequence[bytes] = ()
) -> Iterator[tuple[int, int, bytes]]:
    """Every complete subtree above the leaves, as (level >= 1, index, hash), in the order an
    append-only store writes them. To extend a tree of ``start`` leaves, give ``frontier``: the
    hashes of ``complete_subtrees(0, start)``, largest first."""
    if len(frontier) != start.bit_count():
        raise ValueError("the frontier does not match the start size")
    stack = list(frontier)  # the complete subtrees along the right edge, largest first
    for i, h in enumerate(leaves):
        seq = start + i + 1
        cur, level = h, 0
        while seq % 2 == 0:
            cur = node_hash(stack.pop(), cur)
            level += 1
            seq //= 2
            yield level, seq - 1, cur
        stack.append(cur)


def fold(pieces: Sequence[bytes]) -> bytes:
    """Hash of a right-edge range from its complete subtrees, largest (leftmost) first."""
    h = pieces[-1]
    for p in reversed(pieces[:-1]):
        h = node_hash(p, h)
    return h


def complete_subtrees(start: int, end: int) -> list[tuple[int, int]]:
    """Split the leaf range [start, end) into complete subtrees (level, index), left to right.
    For the ranges of a proof (start aligned on a power of two >= the size) the sizes decrease,
    and ``fold`` of their hashes is the range's hash."""
    out = []
    while start < end:
        level = (start & -start).bit_length() - 1 if start else (end - start).bit_length() - 1
        while (1 << level) > end - start:
            level -= 1
        out.append((level, start >> level))
        start += 1 << level
    return out


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form the inclusion path of leaf ``index`` in a tree of
    ``size`` leaves (RFC 9162 §2.1.3.1), from the leaf up."""
    if not 0 <= index < size:
        raise ValueError("index outside the tree")
    out = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = _split(hi - lo)
        if index < lo + k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo = lo + k
    return out[::-1]


def consistency_ranges(first: int, second: int) -> list[tuple[int, int]]:
    """The leaf ranges whose hashes form the consistency proof between sizes ``first`` and
    ``second`` (RFC 9162 §2.1.4.1, SUBPROOF), in proof order."""
    if not 0 < first <= second:
        raise ValueError("sizes out of order")
    out = []
    lo, hi, m, b = 0, second, first, True
    while True:
        n = hi - lo
        if m == n:
            if not b:
                out.append((lo, hi))
            break
        k = _split(n)
        if m <= k:
            out.append((lo + k, hi))
            hi = lo + k
        else:
            out.append((lo, lo + k))
            lo, m, b = lo + k, m - k, False
    return out[::-1]


def range_hash(leaves: Sequence[bytes], start: int, end: int) -> bytes:
    return root(leaves[start:end])


def inclusion_proof(leaves: Sequence[bytes], index: int) -> list[bytes]:
    """Reference proof from the full list of leaves (tests and small trees)."""
    return [range_hash(leaves, a, b) for a, b in inclusion_ranges(index, len(leaves))]


def consistency_proof(leaves: Sequence[bytes], first: int) -> list[bytes]:
    return [range_hash(leaves, a, b) for a, b in consistency_ranges(first, len(leaves))]


# --- verification --------------------------------------------------------------------------


def _check_hashes(proof: Iterable[bytes]) -> list[bytes]:
    out = list(proof)
    for h in out:
        if not isinstance(h, bytes | bytearray) or len(h) != HASH_SIZE:
            raise ProofError("a proof hash is not 32 bytes")
    return out


def root_from_inclusion(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """RFC 9162 §2.1.3.2: the root that ``proof`` and ``leaf`` lead to."""
    if size <= 0 or not 0 <= index < size:
        raise ProofError("the leaf index is outside the tree")
    if len(leaf) != HASH_SIZE:
        raise ProofError("the leaf hash is not 32 bytes")
    path = _check_hashes(proof)
    fn, sn = index, size - 1
    r = leaf
    for p in path:
        if sn == 0:
            raise ProofError("the proof is too long")
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is too short")
    return r


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], root_: bytes
) -> None:
    """Raise ``ProofError`` unless ``leaf`` is leaf ``index`` of the tree of ``size`` with
    root ``root_``."""
    if root_from_inclusion(index, size, leaf, proof) != root_:
        raise ProofError("the inclusion proof does not lead to the root")


def verify_consistency(
    first: int, second: int, proof: Sequence[bytes], first_root: bytes, second_root: bytes
) -> None:
    """RFC 9162 §2.1.4.2. Raise ``ProofError`` unless the tree of ``second`` leaves with root
    ``second_root`` extends the tree of ``first`` leaves with root ``first_root``. A check from
    an empty tree proves nothing and is refused, as in the test vectors."""
    if first <= 0 or second < first:
        raise ProofError("sizes out of order")
    if first == second:
        if proof:
            raise ProofError("equal sizes take an empty proof")
        if first_root != second_root:
            raise ProofError("equal sizes but different roots")
        return
    path = _check_hashes(proof)
    if not path:
        raise ProofError("empty proof")
    if first & (first - 1) == 0:  # a power of two: the first root starts the path
        path = [first_root, *path]
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError("the proof is too long")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while fn and not fn & 1:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the proof is too short")
    if fr != first_root:
        raise ProofError("the proof does not lead to the first root")
    if sr != second_root:
        raise ProofError("the proof does not lead to the second root")
