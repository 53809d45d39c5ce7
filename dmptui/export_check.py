"""Check an exported record offline: ``dmptui verify-export FILE``.

No host is asked anything. The archive (``dmptui/host/export.py`` writes it) is checked for:

- the host's key chain: each rotation endorsed by the key before it, ending at the key given;
- the trace checkpoint's signature, by that key;
- the manifest's signature, by that key, and every file against the manifest (SHA-256 and size,
  none missing, none added);
- every trace entry's inclusion proof in the checkpoint's tree, from the entry's own bytes.

A one-byte change anywhere is found: in a document or the FHIR Bundle (the manifest's hashes),
in an entry (its leaf no longer leads to the signed root), in the checkpoint or the key chain
(a signature fails). The result is said in words, each check on its own line, and the exit
status is 0 only when all of them hold.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from dmptui import merkle
from dmptui.export_format import (  # re-exported: the archive's layout
    CHECKPOINT,
    ENTRIES,
    FHIR,
    KEY,
    MANIFEST,
    MANIFEST_SIG,
    PROOFS,
    REQUIRED,
    document_member,
    manifest_message,
)
from dmptui.i18n import N_, _, ngettext

__all__ = [
    "CHECKPOINT", "ENTRIES", "FHIR", "KEY", "MANIFEST", "MANIFEST_SIG", "PROOFS", "REQUIRED",
    "Verdict", "document_member", "manifest_message", "verify",
]  # fmt: skip


class Broken(Exception):
    """A check that does not hold; its message is a msgid, its values the details."""

    def __init__(self, msgid: str, **values: Any) -> None:
        super().__init__(msgid)
        self.msgid = msgid
        self.values = values

    def words(self) -> str:
        return _(self.msgid).format(**self.values)


@dataclass
class Verdict:
    holds: list[str] = field(default_factory=list)
    fails: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.fails and bool(self.holds)

    def lines(self) -> list[str]:
        out = [_("Holds: {what}").format(what=w) for w in self.holds]
        out += [_("Does not hold: {what}").format(what=w) for w in self.fails]
        if self.ok:
            out.append(
                _(
                    "Verdict: this archive is the record as the host signed it; nothing in it "
                    "was changed, added or removed."
                )
            )
        else:
            out.append(
                _(
                    "Verdict: this archive cannot be trusted as it is. Export your record again "
                    "from the app; if this happens again, tell your support."
                )
            )
        return out


def _b64(text: Any, what: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError) as e:
        raise Broken(N_("{what} is not valid base64."), what=what) from e


def _json(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(zf.read(name))
    except (ValueError, UnicodeDecodeError) as e:
        raise Broken(N_("the file {name} is not valid JSON."), name=name) from e


def _verify(public: bytes, signature: bytes, message: bytes) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _key_id(public: bytes) -> str:
    return hashlib.sha256(public).hexdigest()[:16]


def _moment(text: Any) -> datetime:
    try:
        at = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError as e:
        raise Broken(N_("a date in the archive cannot be read ({value})."), value=text) from e
    if at.tzinfo is None:
        raise Broken(N_("a date in the archive has no time zone ({value})."), value=text)
    return at


def check_keys(key: Any) -> dict[str, bytes]:
    """The keys of the chain by id, once every endorsement is checked; the last is the key."""
    if not isinstance(key, dict) or not isinstance(key.get("chain"), list):
        raise Broken(N_("the host's key file is not a key chain."))
    public = _b64(key.get("public_key"), "the host's key")
    if _key_id(public) != key.get("key_id"):
        raise Broken(N_("the host's key does not match its identifier."))
    keys: dict[str, bytes] = {}
    previous: bytes | None = None
    for link in key["chain"]:
        old = _b64(link.get("previous_public_key"), "a key of the chain")
        new = _b64(link.get("public_key"), "a key of the chain")
        signature = _b64(link.get("signature"), "an endorsement")
        if previous is not None and old != previous:
            raise Broken(N_("the host's key chain has a missing link."))
        message = merkle.key_endorsement_message(old, new, _moment(link.get("signed_at")))
        if not _verify(old, signature, message):
            raise Broken(
                N_("an endorsement in the host's key chain does not verify (key {key_id})."),
                key_id=str(link.get("key_id"))[:40],
            )
        keys[_key_id(old)] = old
        previous = new
    if previous is not None and previous != public:
        raise Broken(N_("the host's key chain does not lead to the key given."))
    keys[_key_id(public)] = public
    return keys


def _lines(stream: IO[bytes], name: str) -> Iterator[dict[str, Any]]:
    for number, raw in enumerate(stream, start=1):
        try:
            value = json.loads(raw)
        except (ValueError, UnicodeDecodeError) as e:
            raise Broken(
                N_("line {line} of {name} is not valid JSON."), line=number, name=name
            ) from e
        if not isinstance(value, dict):
            raise Broken(N_("line {line} of {name} is not valid JSON."), line=number, name=name)
        yield value


def check_entries(zf: zipfile.ZipFile, size: int, root: bytes) -> int:
    """Every entry's leaf, from its own bytes, leads to the signed root by its proof."""
    count = 0
    with zf.open(ENTRIES) as entries, zf.open(PROOFS) as proofs:
        proof_lines = _lines(proofs, PROOFS)
        for entry in _lines(entries, ENTRIES):
            proof = next(proof_lines, None)
            seq = entry.get("seq")
            if proof is None or proof.get("seq") != seq or not isinstance(seq, int):
                raise Broken(N_("trace entry {seq} has no inclusion proof."), seq=seq)
            try:
                entry = {**entry, "at": _moment(entry.get("at"))}
                leaf = merkle.entry_hash(entry)
                path = [bytes.fromhex(h) for h in proof.get("path") or []]
                merkle.verify_inclusion(seq - 1, size, leaf, path, root)
            except (merkle.ProofError, KeyError, ValueError, TypeError) as e:
                raise Broken(
                    N_("trace entry {seq} is not in the signed trace (it was changed)."), seq=seq
                ) from e
            count += 1
        if next(proof_lines, None) is not None:
            raise Broken(N_("there are more inclusion proofs than trace entries."))
    return count


def verify(path: Path) -> Verdict:
    verdict = Verdict()
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError:
        verdict.fails.append(_("the file {path} does not exist.").format(path=path))
        return verdict
    except (zipfile.BadZipFile, OSError, ValueError):
        verdict.fails.append(
            _("{path} is not an export archive: it is not a zip file, or it was cut short.").format(
                path=path
            )
        )
        return verdict
    with zf:
        try:
            _verify_archive(zf, verdict)
        except Broken as e:
            verdict.fails.append(e.words())
        except (
            zipfile.BadZipFile, OSError, EOFError, KeyError, ValueError, RuntimeError,
            AttributeError, TypeError,
        ):  # fmt: skip
            verdict.fails.append(
                _("a file in the archive cannot be read: the archive is damaged or cut short.")
            )
    return verdict


def _verify_archive(zf: zipfile.ZipFile, verdict: Verdict) -> None:
    names = [i.filename for i in zf.infolist()]
    if len(set(names)) != len(names):
        raise Broken(N_("the archive holds the same file name twice."))
    missing = [n for n in REQUIRED if n not in names]
    if missing:
        raise Broken(N_("files are missing from the archive: {names}."), names=", ".join(missing))

    keys = check_keys(_json(zf, KEY))
    chain = len(keys) - 1
    verdict.holds.append(
        ngettext(
            "the host's key chain: {count} change of key, endorsed by the key before it.",
            "the host's key chain: {count} changes of key, each endorsed by the key before it.",
            chain,
        ).format(count=chain)
        if chain
        else _("the host's key chain: one key, never changed.")
    )

    cp = _json(zf, CHECKPOINT)
    public = keys.get(str(cp.get("key_id")))
    if public is None:
        raise Broken(N_("the trace checkpoint is signed by a key that is not in the chain."))
    size, root_hex = cp.get("tree_size"), str(cp.get("root_hash"))
    if not isinstance(size, int) or size < 0:
        raise Broken(N_("the trace checkpoint cannot be read."))
    message = merkle.checkpoint_message(
        str(cp.get("ins")), size, root_hex, _moment(cp.get("signed_at"))
    )
    if not _verify(public, _b64(cp.get("signature"), "the checkpoint's signature"), message):
        raise Broken(N_("the trace checkpoint's signature does not verify."))
    verdict.holds.append(
        _("the trace checkpoint ({size} entries) is signed by the host's key {key_id}.").format(
            size=size, key_id=cp["key_id"]
        )
    )

    manifest_bytes = zf.read(MANIFEST)
    manifest = _json(zf, MANIFEST)
    signer = keys.get(str(manifest.get("key_id")))
    signature = _b64(zf.read(MANIFEST_SIG).strip().decode("ascii", "replace"), "the signature")
    if signer is None or not _verify(signer, signature, manifest_message(manifest_bytes)):
        raise Broken(N_("the manifest's signature does not verify."))
    if manifest.get("ins") != cp.get("ins"):
        raise Broken(N_("the manifest and the checkpoint are about different records."))
    listed = {f.get("path"): f for f in manifest.get("files") or [] if isinstance(f, dict)}
    extra = [str(n) for n in names if n not in listed and n not in (MANIFEST, MANIFEST_SIG)]
    if extra:
        raise Broken(N_("files were added to the archive: {names}."), names=", ".join(extra[:5]))
    absent = [str(n) for n in listed if n not in names]
    if absent:
        raise Broken(N_("files are missing from the archive: {names}."), names=", ".join(absent))
    for name, facts in listed.items():
        digest = hashlib.sha256()
        length = 0
        with zf.open(str(name)) as f:
            while chunk := f.read(1 << 16):
                digest.update(chunk)
                length += len(chunk)
        if digest.hexdigest() != facts.get("sha256") or length != facts.get("size"):
            raise Broken(N_("the file {name} was changed."), name=name)
    documents = sum(1 for n in listed if str(n).startswith("documents/"))
    verdict.holds.append(
        ngettext(
            "the manifest is signed by the host, and every file matches it ({count} document "
            "original included).",
            "the manifest is signed by the host, and every file matches it ({count} document "
            "originals included).",
            documents,
        ).format(count=documents)
    )

    root = bytes.fromhex(root_hex)
    count = check_entries(zf, size, root)
    verdict.holds.append(
        ngettext(
            "{count} trace entry is in the signed trace, each proven by its inclusion proof.",
            "{count} trace entries are in the signed trace, each proven by its inclusion proof.",
            count,
        ).format(count=count)
    )
