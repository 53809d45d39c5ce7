"""Encryption at rest: envelope encryption with AES-256-GCM and random 96-bit nonces.

- The master key is never in the database: ``DMPTUI_MASTER_KEY`` (base64 of 32 bytes) or the
  file ``<data_dir>/master.key`` (mode 0600, refused if group or others may read it). Its id
  (first 8 bytes of SHA-256, hex) is stored beside every key it wraps.
- Each record has a data key (table ``record_keys``), wrapped by the master key with associated
  data binding the record id.
- Each document has its own key (``documents.wrapped_key``), wrapped by the record key with
  associated data binding record and document; deleting the document shreds its key alone.
- Titles and contents are sealed under the document key; notes, notification messages, the
  patient's TOTP secret and the practitioners' break-glass reasons (in the trace) under the
  record key; outbox bodies (they may carry one-time codes), and the lines of the file outbox
  (outbox_file.py), under host keys derived from the master key with HKDF. Associated data
  binds record, document (or row kind and id) and the format version, so a ciphertext moved to
  another row fails to decrypt.

A sealed value is ``version (1 byte) || nonce (12) || ciphertext || tag (16)``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import stat
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from dmptui import settings

if TYPE_CHECKING:
    from sqlalchemy import CursorResult, Executable
    from sqlalchemy.orm import Session

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16
VERSION = 1
# A sealed value is its plaintext and this much: version byte, nonce, GCM tag.
OVERHEAD = 1 + NONCE_BYTES + TAG_BYTES
ENV_VAR = "DMPTUI_MASTER_KEY"
KEY_FILE = "master.key"


class KeyError_(Exception):
    """Base of the key problems; the message says what happened and what to do."""


class MasterKeyError(KeyError_):
    """No usable master key, or not the one this database was written with."""


class DecryptionError(KeyError_):
    """A ciphertext does not open: wrong key, or moved to another row, or altered."""


# --- the master key ------------------------------------------------------------------------


@dataclass(frozen=True)
class MasterKey:
    key: bytes

    def __post_init__(self) -> None:
        if len(self.key) != KEY_BYTES:
            raise MasterKeyError(f"A master key is {KEY_BYTES} bytes; this one is {len(self.key)}.")

    @property
    def id(self) -> str:
        return key_id(self.key)

    def __repr__(self) -> str:  # never the key
        return f"MasterKey(id={self.id})"


def key_id(key: bytes) -> str:
    return hashlib.sha256(key).digest()[:8].hex()


def key_path(data_dir: Path) -> Path:
    return Path(data_dir) / KEY_FILE


def parse_key(text: str, where: str) -> MasterKey:
    try:
        raw = base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as e:
        raise MasterKeyError(f"{where} is not base64. Give the base64 of 32 random bytes.") from e
    if len(raw) != KEY_BYTES:
        raise MasterKeyError(f"{where} holds {len(raw)} bytes; a master key is {KEY_BYTES} bytes.")
    return MasterKey(raw)


def read_key_file(path: Path) -> MasterKey:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise MasterKeyError(
            f"La clé maîtresse {path} est lisible par d'autres utilisateurs (mode {mode:o}). "
            f"Rendez-la privée avec : chmod 600 {path} / The master key file {path} can be read "
            f"by other users (mode {mode:o}). Make it private with: chmod 600 {path}"
        )
    return parse_key(path.read_text("ascii"), f"The master key file {path}")


def write_key_file(path: Path, key: bytes) -> None:
    """Write a key file with mode 0600 from the first byte (never world-readable, even briefly),
    whole or not at all: written to a file of its own in the same directory, then linked to
    ``path``, so another process starting at the same moment never reads it half-written.
    FileExistsError if ``path`` exists (then it was written whole by whoever made it)."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{os.urandom(4).hex()}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, base64.b64encode(key) + b"\n")
            os.fsync(fd)
        finally:
            os.close(fd)
        os.link(draft, path)  # atomic, and refuses an existing ``path``
    finally:
        os.unlink(draft)


def ensure_master_key(data_dir: Path) -> tuple[MasterKey, bool]:
    """The master key from the environment or ``<data_dir>/master.key``, created there (0600)
    if there is none. Returns the key and whether it was created."""
    if settings.env_value("master_key") is not None:
        return load_master_key(data_dir), False
    path = key_path(data_dir)
    if path.exists():
        return read_key_file(path), False
    key = AESGCM.generate_key(bit_length=256)
    try:
        write_key_file(path, key)
    except FileExistsError:  # another process starting at the same moment made it first
        return read_key_file(path), False
    return MasterKey(key), True


def load_master_key(data_dir: Path, explicit: bytes | None = None) -> MasterKey:
    """An explicit key, else ``DMPTUI_MASTER_KEY``, else ``<data_dir>/master.key``."""
    if explicit is not None:
        return MasterKey(explicit)
    env = settings.env_value("master_key")
    if env is not None:
        return parse_key(env, ENV_VAR)
    path = key_path(data_dir)
    if not path.exists():
        raise MasterKeyError(
            f"No master key: {ENV_VAR} is not set and {path} does not exist. "
            "Create one with `dmptui host init`, or restore the key this database was written with."
        )
    return read_key_file(path)


def old_key_paths(data_dir: Path) -> list[Path]:
    return sorted(Path(data_dir).glob(KEY_FILE + ".old-*"))


# --- sealing -------------------------------------------------------------------------------


def aad(*parts: str | int) -> bytes:
    """Associated data: the format version and the row's identity, each part length-prefixed
    so no two different tuples give the same bytes."""
    return (f"dmptui/{VERSION}" + "".join(_aad_part(p) for p in parts)).encode()


def _aad_part(part: str | int) -> str:
    s = str(part)
    return f"|{len(s)}:{s}"


def seal(cipher: AESGCM, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    return bytes([VERSION]) + nonce + cipher.encrypt(nonce, plaintext, associated)


def open_sealed(cipher: AESGCM, sealed: bytes, associated: bytes) -> bytes:
    if len(sealed) < OVERHEAD or sealed[0] != VERSION:
        raise DecryptionError("not a sealed value of this version")
    view = memoryview(sealed)
    try:
        return cipher.decrypt(view[1 : 1 + NONCE_BYTES], view[1 + NONCE_BYTES :], associated)
    except InvalidTag as e:
        raise DecryptionError("the ciphertext does not open with this key and this row") from e


def new_data_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


# --- the keyring a host holds --------------------------------------------------------------


class Keyring:
    """The master key (and the ones rotated out, while rows still need them), the operations on
    record keys, document keys and sealed values. Keys unwrapped during a request are cached in
    the request's session (``Session.info``), so each is unwrapped at most once per request."""

    DOCUMENT_CACHE = 20_000

    def __init__(self, master: MasterKey, older: list[MasterKey] | None = None) -> None:
        self.master = master
        # Unwrapped document keys, by (record id, document id, wrapped bytes): the documents page
        # opens 50 titles per request. A key moved to another row misses (its wrapped bytes or
        # ids differ) and is unwrapped, so it fails as it must. Dropped when the document or
        # the record is deleted (``forget``); cleared whole when full.
        self.document_keys: dict[tuple[int, str, bytes], AESGCM] = {}
        self.by_id = {k.id: AESGCM(k.key) for k in [*(older or []), master]}
        self._master = self.by_id[master.id]
        self.outbox = AESGCM(_derive(master.key, b"dmptui outbox v1"))
        # The file outbox's lines (outbox_file.py): what was sent, kept sealed on disk.
        self.outbox_file = AESGCM(_derive(master.key, b"dmptui outbox file v1"))
        # Answers kept for Idempotency-Key retries hold titles, notes and names.
        self.answers = AESGCM(_derive(master.key, b"dmptui stored answers v1"))

    def __repr__(self) -> str:
        return f"Keyring(master={self.master.id})"

    # record keys
    def wrap_record_key(self, record_id: int, key: bytes) -> bytes:
        return seal(self._master, key, aad("record-key", record_id))

    def unwrap_record_key(self, record_id: int, wrapped: bytes, master_id: str) -> bytes:
        cipher = self.by_id.get(master_id)
        if cipher is None:
            raise MasterKeyError(
                f"Record {record_id}'s key is wrapped by master key {master_id}, "
                f"which this host does not have (it has {self.master.id})."
            )
        return open_sealed(cipher, wrapped, aad("record-key", record_id))

    # documents
    @staticmethod
    def wrap_document_key(record: AESGCM, record_id: int, doc_id: str, key: bytes) -> bytes:
        return seal(record, key, aad("document-key", record_id, doc_id))

    @staticmethod
    def unwrap_document_key(record: AESGCM, record_id: int, doc_id: str, wrapped: bytes) -> AESGCM:
        return AESGCM(open_sealed(record, wrapped, aad("document-key", record_id, doc_id)))

    def cached_document_key(self, record_id: int, doc_id: str, wrapped: bytes) -> AESGCM | None:
        return self.document_keys.get((record_id, doc_id, bytes(wrapped)))

    def cache_document_key(
        self, record_id: int, doc_id: str, wrapped: bytes, cipher: AESGCM
    ) -> None:
        if len(self.document_keys) >= self.DOCUMENT_CACHE:
            self.document_keys.clear()
        self.document_keys[(record_id, doc_id, bytes(wrapped))] = cipher

    def forget_keys(self, record_id: int, doc_id: str | None = None) -> None:
        for k in [k for k in list(self.document_keys) if k[0] == record_id]:
            if doc_id is None or k[1] == doc_id:
                self.document_keys.pop(k, None)

    # outbox
    def seal_outbox(self, message_id_hint: str, body: str) -> bytes:
        return seal(self.outbox, body.encode("utf-8"), aad("outbox", message_id_hint))

    def open_outbox(self, message_id_hint: str, sealed: bytes) -> str:
        return open_sealed(self.outbox, sealed, aad("outbox", message_id_hint)).decode("utf-8")

    # the file outbox
    def seal_outbox_file(self, message_id: int, record_id: int | None, plain: bytes) -> bytes:
        return seal(self.outbox_file, plain, _outbox_file_aad(message_id, record_id))

    def open_outbox_file(self, message_id: int, record_id: int | None, sealed: bytes) -> bytes:
        return open_sealed(self.outbox_file, sealed, _outbox_file_aad(message_id, record_id))

    # stored answers (idempotency keys)
    def seal_answer(self, scope: str, key: str, body: bytes) -> bytes:
        return seal(self.answers, body, aad("answer", scope, key))

    def open_answer(self, scope: str, key: str, sealed: bytes) -> bytes:
        return open_sealed(self.answers, sealed, aad("answer", scope, key))


def _outbox_file_aad(message_id: int, record_id: int | None) -> bytes:
    return aad("outbox-file", int(message_id), "-" if record_id is None else int(record_id))


def _derive(master: bytes, info: bytes) -> bytes:
    """A host-level key for one purpose, derived from the master key (HKDF-SHA256)."""
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(master)


# --- inside a request: the session's keyring and its cache of unwrapped keys ---------------


def keyring_of(s: Session) -> Keyring:
    keyring = s.info.get("keyring")
    if keyring is None:
        raise MasterKeyError("This database session has no keyring (Host gives one).")
    return keyring


def record_cipher(s: Session, record_id: int, now: datetime | None = None) -> AESGCM:
    """The record's data key, unwrapped once per session; created (and wrapped) when the record
    has none yet and ``now`` is given."""
    from dmptui.host.db import RecordKey

    cache: dict[int, AESGCM] = s.info.setdefault("record_ciphers", {})
    cipher = cache.get(record_id)
    if cipher is not None:
        return cipher
    keyring = keyring_of(s)
    row = s.get(RecordKey, record_id)
    if row is None:
        if now is None:
            raise DecryptionError(f"record {record_id} has no key")
        key = new_data_key()
        # Two requests may give a record its first key at once (PostgreSQL, several processes):
        # the second one's insert does nothing, and it uses the key the first one committed.
        values = {
            "record_id": record_id,
            "wrapped_key": keyring.wrap_record_key(record_id, key),
            "master_key_id": keyring.master.id,
            "created_at": now,
        }
        first: Executable
        if s.get_bind().dialect.name == "postgresql":
            from sqlalchemy.dialects import postgresql

            first = (
                postgresql.insert(RecordKey)
                .values(values)
                .on_conflict_do_nothing(index_elements=["record_id"])
            )
        else:
            from sqlalchemy.dialects import sqlite

            first = (
                sqlite.insert(RecordKey)
                .values(values)
                .on_conflict_do_nothing(index_elements=["record_id"])
            )
        # An INSERT's result is a CursorResult (Session.execute is typed for any statement).
        created = cast("CursorResult[Any]", s.execute(first))
        if not created.rowcount:
            row = s.get(RecordKey, record_id, populate_existing=True)
            if row is None:  # pragma: no cover - it was there a moment ago
                raise DecryptionError(f"record {record_id} has no key")
    if row is not None:
        key = keyring.unwrap_record_key(record_id, row.wrapped_key, row.master_key_id)
    cipher = AESGCM(key)
    cache[record_id] = cipher
    return cipher


def document_cipher(s: Session, record_id: int, doc_id: str, wrapped: bytes) -> AESGCM:
    """The document's key: from the keyring's cache, else unwrapped by the record key (itself
    unwrapped at most once per request)."""
    keyring = keyring_of(s)
    cipher = keyring.cached_document_key(record_id, doc_id, wrapped)
    if cipher is None:
        cipher = Keyring.unwrap_document_key(
            record_cipher(s, record_id), record_id, doc_id, wrapped
        )
        keyring.cache_document_key(record_id, doc_id, wrapped, cipher)
    return cipher


def new_document_key(
    s: Session, record_id: int, doc_id: str, now: datetime
) -> tuple[AESGCM, bytes]:
    """A fresh key for a new document: the cipher, and the key wrapped by the record key."""
    key = new_data_key()
    wrapped = Keyring.wrap_document_key(record_cipher(s, record_id, now), record_id, doc_id, key)
    cipher = AESGCM(key)
    keyring_of(s).cache_document_key(record_id, doc_id, wrapped, cipher)
    return cipher, wrapped


def seal_title(cipher: AESGCM, record_id: int, doc_id: str, title: str) -> bytes:
    return seal(cipher, title.encode("utf-8"), aad("document-title", record_id, doc_id))


def open_title(cipher: AESGCM, record_id: int, doc_id: str, sealed: bytes) -> str:
    return open_sealed(cipher, sealed, aad("document-title", record_id, doc_id)).decode("utf-8")


def title_opener(s: Session, record_id: int) -> Callable[[str, bytes, bytes], str]:
    """``open(doc_id, wrapped_key, title_sealed)`` for the titles of one record's list: the
    same keys (cached document keys, the record key unwrapped at most once) and the same
    associated data as ``open_title``, with the per-record work done once."""
    cached = keyring_of(s).cached_document_key
    prefix = aad("document-title", record_id)  # + the document's part: aad(…, record_id, doc_id)

    def open_one(doc_id: str, wrapped: bytes, sealed: bytes) -> str:
        cipher = cached(record_id, doc_id, wrapped) or document_cipher(
            s, record_id, doc_id, wrapped
        )
        associated = prefix + _aad_part(doc_id).encode()
        return open_sealed(cipher, sealed, associated).decode("utf-8")

    return open_one


def seal_content(cipher: AESGCM, record_id: int, doc_id: str, data: bytes) -> bytes:
    return seal(cipher, data, aad("document-content", record_id, doc_id))


def open_content(cipher: AESGCM, record_id: int, doc_id: str, sealed: bytes) -> bytes:
    return open_sealed(cipher, sealed, aad("document-content", record_id, doc_id))


def document_title(s: Session, doc: Any) -> str:
    cipher = document_cipher(s, doc.record_id, doc.id, doc.wrapped_key)
    return open_title(cipher, doc.record_id, doc.id, doc.title_sealed)


def document_content(s: Session, doc: Any) -> bytes:
    from sqlalchemy import select

    from dmptui.host.db import DocumentBody

    sealed = s.scalar(select(DocumentBody.data).where(DocumentBody.document_id == doc.id))
    if sealed is None:
        raise DecryptionError(f"document {doc.id} has no content")
    cipher = document_cipher(s, doc.record_id, doc.id, doc.wrapped_key)
    return open_content(cipher, doc.record_id, doc.id, sealed)


def seal_notes(s: Session, record_id: int, text: str, now: datetime) -> bytes:
    return seal(record_cipher(s, record_id, now), text.encode("utf-8"), aad("notes", record_id))


def open_notes(s: Session, record_id: int, sealed: bytes | None) -> str:
    if sealed is None:
        return ""
    return open_sealed(record_cipher(s, record_id), sealed, aad("notes", record_id)).decode()


def seal_message(
    s: Session, record_id: int, row_id: int, message: dict[str, str], now: datetime
) -> bytes:
    plain = json.dumps(message, ensure_ascii=False).encode("utf-8")
    return seal(record_cipher(s, record_id, now), plain, aad("notification", record_id, row_id))


def open_message(s: Session, record_id: int, row_id: int, sealed: bytes) -> dict[str, str]:
    plain = open_sealed(record_cipher(s, record_id), sealed, aad("notification", record_id, row_id))
    return json.loads(plain)


def seal_totp(s: Session, record_id: int, secret: str, now: datetime) -> bytes:
    """The patient's authenticator secret, sealed under the record key: a copy of the database
    and a cracked password no longer give the second factor; erasing the record shreds it."""
    return seal(record_cipher(s, record_id, now), secret.encode("ascii"), aad("totp", record_id))


def open_totp(s: Session, record_id: int, sealed: bytes | None) -> str | None:
    if sealed is None:
        return None
    return open_sealed(record_cipher(s, record_id), sealed, aad("totp", record_id)).decode()


def seal_reason(s: Session, record_id: int, seq: int, reason: str, now: datetime) -> bytes:
    """A practitioner's own words in the trace (a break-glass reason), sealed under the record
    key and bound to the entry's place in the record's trace."""
    plain = reason.encode("utf-8")
    return seal(record_cipher(s, record_id, now), plain, aad("trace-reason", record_id, seq))


def open_reason(s: Session, record_id: int, seq: int, sealed: bytes) -> str:
    plain = open_sealed(record_cipher(s, record_id), sealed, aad("trace-reason", record_id, seq))
    return plain.decode("utf-8")


def forget(s: Session, record_id: int, doc_id: str | None = None) -> None:
    """Drop unwrapped keys from memory after a deletion: the document's, or all the record's."""
    keyring_of(s).forget_keys(record_id, doc_id)
    if doc_id is None:
        s.info.get("record_ciphers", {}).pop(record_id, None)


# --- rotation ------------------------------------------------------------------------------


def host_keyring(data_dir: Path) -> Keyring:
    """The keyring of the host whose data dir this is: its master key and any rotated-out key
    files still beside it."""
    master = load_master_key(data_dir)
    older = [read_key_file(p) for p in old_key_paths(data_dir)]
    return Keyring(master, [k for k in older if k.id != master.id])


def rotate_master_key(url: str, data_dir: Path) -> tuple[str, str, int]:
    """A new master key in ``<data_dir>/master.key``; every record key rewrapped by it (no data
    re-encrypted), unsent outbox bodies and stored answers resealed, in one transaction, then the
    file outbox's lines. The old
    key stays as ``master.key.old-<id>`` until that transaction is committed. Returns (old id,
    new id, record keys rewrapped). Interrupted, it can be run again: the old key files are read."""
    from sqlalchemy import select

    from dmptui.host.context import Host
    from dmptui.host.db import IdempotencyKey, OutboxMessage, RecordKey

    if settings.env_value("master_key") is not None:
        raise MasterKeyError(
            f"The master key comes from {ENV_VAR}: rotate it where it is kept, not here "
            "(unset it to rotate the key file)."
        )
    host = Host(url, data_dir)  # refuses a key that cannot open the database
    try:
        before = host.keyring
        old = before.master
        new = MasterKey(new_data_key())
        path = key_path(data_dir)
        fresh = path.with_name(KEY_FILE + ".new")
        fresh.unlink(missing_ok=True)
        write_key_file(fresh, new.key)
        os.replace(path, path.with_name(f"{KEY_FILE}.old-{old.id}"))
        os.replace(fresh, path)
        _fsync_dir(path.parent)
        older = [MasterKey(k) for k in _older_keys(data_dir)]
        after = Keyring(new, [old, *[k for k in older if k.id not in (old.id, new.id)]])
        count = 0
        with host.sessions.begin() as s:
            for row in s.scalars(select(RecordKey)):
                key = before.unwrap_record_key(row.record_id, row.wrapped_key, row.master_key_id)
                row.wrapped_key = after.wrap_record_key(row.record_id, key)
                row.master_key_id = new.id
                count += 1
            for m in s.scalars(select(OutboxMessage).where(OutboxMessage.body_sealed.is_not(None))):
                assert m.body_sealed is not None
                body = before.open_outbox(str(m.id), m.body_sealed)
                m.body_sealed = after.seal_outbox(str(m.id), body)
            for a in s.scalars(select(IdempotencyKey).where(IdempotencyKey.body.is_not(None))):
                assert a.body is not None
                answer = before.open_answer(a.scope, a.key, a.body)
                a.body = after.seal_answer(a.scope, a.key, answer)
        host.checkpoint()
        from dmptui.host import outbox_file  # what was sent, kept sealed in the file outbox

        outbox_file.reseal(outbox_file.default_path(data_dir), before, after)
        for p in old_key_paths(data_dir):
            p.unlink()
        _fsync_dir(path.parent)
        return old.id, new.id, count
    finally:
        host.engine.dispose()


def _older_keys(data_dir: Path) -> list[bytes]:
    return [read_key_file(p).key for p in old_key_paths(data_dir)]


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - not POSIX
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
