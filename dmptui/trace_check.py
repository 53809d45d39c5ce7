"""Checking the host's access trace at every visit, so the patient need not take it on trust.

The host keeps each record's trace as a Merkle log and signs checkpoints (tree size + root) with
its Ed25519 key (``dmptui.host.ledger``). This module, on the patient's device:

- pins the host's public key the first time it sees it (trust on first use); afterwards a
  different key is accepted only if the host's chain of endorsements leads to it from the pinned
  key, every link signed by the key before it (the host rotated its key: ``dmptui host
  rotate-ledger-key``); the key is then re-pinned, the replaced one remembered, and the patient
  told once. A missing or forged link, or a replaced key coming back, is a failure;
- keeps the last checkpoint it verified for each (host, INS), in a JSON file in the app's data
  dir (``trace-checkpoints.json``, next to the device id; a checkpoint is not a secret);
- at each visit: fetches the key and a fresh checkpoint, checks the signature, checks that the
  new tree extends the stored one (consistency proof), checks that every entry shown is in the
  signed tree as shown (inclusion proofs of the entries' own hashes) and, on an unfiltered page,
  that no entry between them is missing; then stores the new checkpoint.

Limit: entries about a document the patient may not see yet (``INVISIBLE_PATIENT``) are hidden
from the trace page until it is revealed; they are proved by their hash only.

The outcome is a ``Seal``: verified (size, signed at) or a failure kind, with words for both
front ends. A failed check keeps the stored checkpoint, so the warning stays until it is
resolved with the host.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from dmptui import merkle, settings
from dmptui.i18n import _, format_date, format_datetime
from dmptui.schema import MAX_PROOF_SEQS, CheckpointOut, LedgerKeyLinkOut, LedgerKeyOut

STORE_FILE = "trace-checkpoints.json"
MAX_GAP_CHECK = 500  # an unfiltered page spanning more sequence numbers checks its rows only

VERIFIED = "verified"
SMALLER = "smaller"  # the tree shrank: entries were removed
FORK = "fork"  # the new tree does not extend the one seen before
ENTRY = "entry"  # an entry shown is not in the signed tree as shown, or one is missing
SIGNATURE = "signature"  # the checkpoint's signature does not verify
KEY_CHANGED = "key_changed"  # not the pinned key, and no endorsement leads to it
KEY_FORGED = "key_forged"  # an endorsement on the way to the new key does not verify
KEY_ROLLBACK = "key_rollback"  # a key the host replaced signs again
UNAVAILABLE = "unavailable"  # could not check this time (network, host error)

FAILURES = (SMALLER, FORK, ENTRY, SIGNATURE, KEY_CHANGED, KEY_FORGED, KEY_ROLLBACK)


@dataclass(frozen=True)
class Seal:
    kind: str
    size: int = 0
    signed_at: datetime | None = None
    seq: int | None = None  # the entry at fault (ENTRY)
    before: int | None = None  # the size seen before (SMALLER, FORK)
    detail: str = ""  # for logs and support, never shown as the only explanation
    # VERIFIED: the host rotated its key since the last visit (the newest endorsement's date);
    # KEY_ROLLBACK: when the key that signs again was replaced.
    key_changed_at: datetime | None = None

    @property
    def verified(self) -> bool:
        return self.kind == VERIFIED

    @property
    def failed(self) -> bool:
        """The host's trace can't be trusted (as opposed to: could not check this time)."""
        return self.kind in FAILURES

    def words(self, when: Callable[[datetime], str] | None = None) -> str:
        """The seal in words; ``when`` says its time (screen-reader mode's spoken time, its zone
        once per screen), or the date and time with its zone."""
        if self.kind == VERIFIED:
            assert self.signed_at is not None
            said = when(self.signed_at) if when else format_datetime(self.signed_at, zone=True)
            text = _("Verified up to entry {n}, signed on {when}.").format(n=self.size, when=said)
            if self.key_changed_at is not None:
                text += " " + _(
                    "The host changed its signing key on {date}, and its previous key vouched "
                    "for the new one: this device now checks with the new key. Nothing to do."
                ).format(date=format_date(self.key_changed_at))
            return text
        if self.kind == UNAVAILABLE:
            return _(
                "The access trace could not be checked this time. Try again later; if this "
                "keeps happening, tell the record host's support."
            )
        what = {
            SMALLER: _(
                "The host's access trace is shorter than when this device last checked it "
                "({before} entries, now {n}): entries were removed."
            ),
            FORK: _(
                "The host's access trace no longer matches the one this device checked before "
                "(up to entry {before}): past entries were changed or removed."
            ),
            ENTRY: _(
                "Entry {seq} of the access trace was changed or removed since the host signed it."
            ),
            SIGNATURE: _("The host's signature on the access trace is not valid."),
            KEY_CHANGED: _(
                "The host's signing key is not the one this device saw before, and nothing "
                "signed with that earlier key vouches for the new one, so the access trace "
                "cannot be checked against what you saw."
            ),
            KEY_FORGED: _(
                "The host's signing key changed, but the statement meant to vouch for the new "
                "key was not signed by the key this device saw before: it may be forged."
            ),
            KEY_ROLLBACK: _(
                "The host is signing with a key it replaced on {date}: a replaced key must "
                "never sign again."
            ),
        }[self.kind].format(
            before=self.before,
            n=self.size,
            seq=self.seq,
            date=format_date(self.key_changed_at) if self.key_changed_at else "?",
        )
        return (
            what
            + " "
            + _(
                "The host's trace can't be trusted. Keep a copy of this screen (a photo or a "
                "screenshot) and contact the record host's support to report it."
            )
        )


# --- the store ------------------------------------------------------------------------------


def default_data_dir() -> Path:
    from platformdirs import user_data_dir

    return settings.env_value("data_dir") or Path(user_data_dir("dmptui"))


class CheckpointStore:
    """The pinned key per host and the last verified checkpoint per (host, INS), one JSON file
    written atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def in_dir(cls, data_dir: Path | None = None) -> CheckpointStore:
        return cls((data_dir or default_data_dir()) / STORE_FILE)

    def _read(self) -> dict[str, Any]:
        try:
            data = json.loads(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return {"version": 1, "hosts": {}}
        if not isinstance(data, dict) or not isinstance(data.get("hosts"), dict):
            raise ValueError(f"{self.path} is not a checkpoint file")
        return data

    def key(self, host: str) -> LedgerKeyOut | None:
        raw = self._read()["hosts"].get(host, {}).get("key")
        return LedgerKeyOut.model_validate(raw) if raw else None

    def checkpoint(self, host: str, ins: str) -> CheckpointOut | None:
        raw = self._read()["hosts"].get(host, {}).get("records", {}).get(ins)
        return CheckpointOut.model_validate(raw) if raw else None

    def retired(self, host: str) -> dict[str, datetime]:
        """The keys this device followed away from: public key -> when it was replaced."""
        raw = self._read()["hosts"].get(host, {}).get("retired", [])
        return {r["public_key"]: datetime.fromisoformat(r["replaced_at"]) for r in raw}

    def save(
        self,
        host: str,
        key: LedgerKeyOut,
        cp: CheckpointOut,
        *,
        replaced: Sequence[tuple[str, str, datetime]] = (),
    ) -> None:
        """Store ``cp`` and pin ``key``; ``replaced``: (key id, public key, when) of each key
        followed away from, remembered so that it is refused if it ever signs again."""
        data = self._read()
        entry = data["hosts"].setdefault(host, {})
        entry["key"] = key.model_dump(mode="json", exclude={"chain"})
        retired = entry.setdefault("retired", [])
        for key_id, public, at in replaced:
            retired.append({"key_id": key_id, "public_key": public, "replaced_at": at.isoformat()})
        entry.setdefault("records", {})[cp.ins] = cp.model_dump(mode="json")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1, sort_keys=True), "utf-8")
        os.replace(tmp, self.path)


# --- the check ------------------------------------------------------------------------------


def _hex(values: Sequence[str]) -> list[bytes]:
    return [bytes.fromhex(v) for v in values]


def _signed_by(public_b64: str, signature_b64: str, message: Callable[[], bytes]) -> bool:
    """Whether ``signature_b64`` is the Ed25519 signature of ``message()`` by ``public_b64``
    (bad base64, a malformed key or a bad signature: no)."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        public = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_b64))
        public.verify(base64.b64decode(signature_b64), message())
    except (InvalidSignature, ValueError):
        return False
    return True


def _signature_ok(key: LedgerKeyOut, cp: CheckpointOut) -> bool:
    return _signed_by(
        key.public_key,
        cp.signature,
        lambda: merkle.checkpoint_message(cp.ins, cp.tree_size, cp.root_hash, cp.signed_at),
    )


def _endorsement_ok(link: LedgerKeyLinkOut) -> bool:
    return _signed_by(
        link.previous_public_key,
        link.signature,
        lambda: merkle.key_endorsement_message(
            base64.b64decode(link.previous_public_key),
            base64.b64decode(link.public_key),
            link.signed_at,
        ),
    )


def _walk(chain: Sequence[LedgerKeyLinkOut], start: str, end: str) -> list[LedgerKeyLinkOut]:
    """The links from public key ``start`` to ``end``, in order, as far as they go (unchecked)."""
    out: list[LedgerKeyLinkOut] = []
    seen, cur = {start}, start
    while cur != end:
        link = next((x for x in chain if x.previous_public_key == cur), None)
        if link is None or link.public_key in seen:
            break
        out.append(link)
        seen.add(cur := link.public_key)
    return out


def follow(
    pinned: LedgerKeyOut, key: LedgerKeyOut, retired: dict[str, datetime]
) -> Seal | list[LedgerKeyLinkOut]:
    """The links from the pinned key to ``key``, every one verified by the key before it; or
    why ``key`` cannot be trusted: a key this device or the host's chain saw replaced
    (rollback), a link signed by another key (forged), no way from the pinned key (changed)."""
    detail = f"pinned {pinned.key_id}, now {key.key_id}"
    if key.public_key in retired:
        return Seal(KEY_ROLLBACK, detail=detail, key_changed_at=retired[key.public_key])
    back = _walk(key.chain, key.public_key, pinned.public_key)
    if back and back[-1].public_key == pinned.public_key and all(map(_endorsement_ok, back)):
        return Seal(KEY_ROLLBACK, detail=detail, key_changed_at=back[0].signed_at)
    links = _walk(key.chain, pinned.public_key, key.public_key)
    for link in links:
        if not _endorsement_ok(link):
            return Seal(KEY_FORGED, detail=f"{detail}: link to {link.key_id} does not verify")
    if not links or links[-1].public_key != key.public_key:
        return Seal(KEY_CHANGED, detail=f"{detail}: no endorsement chain")
    return links


class TraceChecker:
    """One per app: checks run one at a time (pages can arrive while a check runs)."""

    def __init__(self, client: Any, store: CheckpointStore) -> None:
        self.client = client
        self.store = store
        self._lock = asyncio.Lock()

    async def check(
        self, entries: Sequence[Any], *, complete: bool = True, ins: str | None = None
    ) -> Seal:
        """Check the signed trace and the ``entries`` shown. ``complete``: the entries are one
        unfiltered page, so every sequence number between them should be there."""
        from dmptui.client import HostError

        async with self._lock:
            try:
                return await self._check(entries, complete, ins)
            except HostError as e:
                return Seal(UNAVAILABLE, detail=e.code)

    async def _check(self, entries: Sequence[Any], complete: bool, ins: str | None) -> Seal:
        host = self.client.base_url
        key = await self.client.ledger_key()
        cp = await self.client.trace_checkpoint()
        if cp.key_id != key.key_id:  # the host rotated its key between the two calls
            key = await self.client.ledger_key()
        pinned = self.store.key(host)
        replaced: list[tuple[str, str, datetime]] = []
        rotated_at = None
        if pinned is not None and pinned.public_key != key.public_key:
            links = follow(pinned, key, self.store.retired(host))
            if isinstance(links, Seal):
                return links
            replaced = [(x.previous_key_id, x.previous_public_key, x.signed_at) for x in links]
            rotated_at = links[-1].signed_at
        if not _signature_ok(key, cp):
            return Seal(SIGNATURE, size=cp.tree_size)
        if ins is not None and cp.ins != ins:
            return Seal(SIGNATURE, size=cp.tree_size, detail="checkpoint of another record")
        root = bytes.fromhex(cp.root_hash)
        prev = self.store.checkpoint(host, cp.ins)
        if prev is not None and prev.tree_size > 0:
            if cp.tree_size < prev.tree_size:
                return Seal(SMALLER, size=cp.tree_size, before=prev.tree_size)
            proof = await self.client.trace_consistency(prev.tree_size, cp.tree_size)
            try:
                merkle.verify_consistency(
                    prev.tree_size,
                    cp.tree_size,
                    _hex(proof.path),
                    bytes.fromhex(prev.root_hash),
                    root,
                )
            except merkle.ProofError as e:
                return Seal(FORK, size=cp.tree_size, before=prev.tree_size, detail=str(e))

        shown = {e.seq: e for e in entries}
        wanted = set(shown)
        if complete and shown:
            low, high = min(shown), max(shown)
            if high - low < MAX_GAP_CHECK:
                wanted.update(range(low, high + 1))
        if any(not 1 <= q <= cp.tree_size for q in wanted):
            bad = max(wanted)
            return Seal(ENTRY, size=cp.tree_size, seq=bad, detail="beyond the signed tree")
        ordered = sorted(wanted, reverse=True)
        for start in range(0, len(ordered), MAX_PROOF_SEQS):
            batch = ordered[start : start + MAX_PROOF_SEQS]
            proofs = {p.seq: p for p in await self.client.trace_inclusion(cp.tree_size, batch)}
            for seq in batch:
                p = proofs.get(seq)
                if p is None:
                    return Seal(ENTRY, size=cp.tree_size, seq=seq, detail="not proved")
                entry = shown.get(seq)
                leaf = merkle.entry_hash(entry) if entry is not None else bytes.fromhex(p.leaf_hash)
                try:
                    merkle.verify_inclusion(seq - 1, cp.tree_size, leaf, _hex(p.path), root)
                except merkle.ProofError as err:
                    return Seal(ENTRY, size=cp.tree_size, seq=seq, detail=str(err))
        self.store.save(host, key, cp, replaced=replaced)
        return Seal(VERIFIED, size=cp.tree_size, signed_at=cp.signed_at, key_changed_at=rotated_at)
