"""The file outbox at rest: ``<dir>/outbox.jsonl``, one JSON line per message sent, each sealed.

A line is ``{"id": <message id>, "record_id": <record id or null>, "sealed": <base64>}``; the
sealed part holds channel, recipient, subject, body and time, under the host's outbox-file key
(derived from the master key, ``crypto.Keyring.outbox_file``), bound to the message and record
ids. Nothing readable is in the file: neither the phone nor the email address, nor the text.
``read_messages`` opens it with the master key (the demo phone, the tests, ``dmptui host
outbox``); ``erase_records`` rewrites it without an erased record's lines (``Host.erased``);
``reseal`` rewrites it under a new master key (``crypto.rotate_master_key``).

Appends and rewrites hold an exclusive lock on the directory, so a rewrite (a new file renamed
over the old one) never loses a line appended at the same time, in this process or another.
The file and its directory are the owner's alone (0600, 0700).
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from dmptui.host import crypto

FILENAME = "outbox.jsonl"


def default_path(data_dir: Path) -> Path:
    """Where the host's fallback file transport writes (``outbox.transport_from_env``)."""
    return Path(data_dir) / "outbox" / FILENAME


def seal_line(keyring: crypto.Keyring, message_id: int, record_id: int | None, fields: dict) -> str:
    """The line for one message (without its newline)."""
    plain = json.dumps(fields, ensure_ascii=False).encode("utf-8")
    sealed = keyring.seal_outbox_file(message_id, record_id, plain)
    line = {"id": message_id, "record_id": record_id, "sealed": base64.b64encode(sealed).decode()}
    return json.dumps(line)


def open_line(keyring: crypto.Keyring, line: str) -> dict[str, Any] | None:
    """The message of one line, with its ``id`` and ``record_id``; None if it does not open
    (another key, altered, not a line of this format)."""
    try:
        outer = json.loads(line)
        sealed = base64.b64decode(outer["sealed"], validate=True)
        plain = keyring.open_outbox_file(outer["id"], outer.get("record_id"), sealed)
        fields = json.loads(plain)
    except (ValueError, KeyError, TypeError, crypto.DecryptionError):
        return None
    return {"id": outer["id"], "record_id": outer.get("record_id"), **fields}


def read_messages(path: Path, keyring: crypto.Keyring) -> list[dict[str, Any]]:
    """Every message in the file outbox at ``path``, opened, oldest first: dicts with ``id``,
    ``record_id``, ``channel``, ``recipient``, ``subject``, ``body``, ``created_at``. Lines that
    do not open with this key are left out. No file: no message."""
    try:
        text = Path(path).read_text("utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return []
    out = []
    for line in text.splitlines():
        message = open_line(keyring, line)
        if message is not None:
            out.append(message)
    return out


def reader(path: Path, data_dir: Path) -> Callable[[], list[dict[str, Any]]]:
    """A function that reads the file outbox at ``path`` with the master key of ``data_dir``
    (the key is read once, here): what the demo phone calls."""
    keyring = crypto.host_keyring(data_dir)
    return lambda: read_messages(path, keyring)


# --- writing ---------------------------------------------------------------------------------


def ensure_directory(directory: Path) -> None:
    if directory.is_dir():
        return
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        directory.mkdir(mode=0o700)
    except FileExistsError:
        return  # another process made it
    os.chmod(directory, 0o700)  # whatever the umask


@contextmanager
def locked(directory: Path) -> Iterator[None]:
    """An exclusive lock on the outbox directory (released on exit, or if the process dies)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX
        yield
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # releases the lock


def append(path: Path, line: str) -> None:
    """Append one line, fsynced, under the directory's lock; the file is created 0600."""
    directory = path.parent
    ensure_directory(directory)
    data = (line + "\n").encode("utf-8")
    with locked(directory):
        flags = os.O_WRONLY | os.O_APPEND | getattr(os, "O_CLOEXEC", 0)
        try:
            fd = os.open(path, flags | os.O_CREAT | os.O_EXCL, 0o600)
            created = True
        except FileExistsError:
            fd = os.open(path, flags)
            created = False
        try:
            if os.fstat(fd).st_mode & 0o077:  # created 0600 whatever the umask; kept so
                os.fchmod(fd, 0o600)
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_directory(directory)


def _rewrite(path: Path, change: Callable[[list[str]], list[str]]) -> int:
    """Replace the file by ``change(lines)``, under the lock: written to a new 0600 file, fsynced,
    renamed over the old one. Returns how many lines changed or went."""
    directory = path.parent
    if not path.exists():
        return 0
    with locked(directory):
        try:
            lines = path.read_text("utf-8").splitlines()
        except FileNotFoundError:
            return 0
        kept = change(lines)
        changed = sum(1 for a, b in zip(lines, kept, strict=False) if a != b)
        changed += len(lines) - len(kept)
        if not changed:
            return 0
        fresh = path.with_name(path.name + ".new")
        fresh.unlink(missing_ok=True)
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, "".join(line + "\n" for line in kept).encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(fresh, path)
        _fsync_directory(directory)
        return changed


def erase_records(path: Path, record_ids: Iterable[int]) -> int:
    """Take the lines of these records out of the file outbox (an erasure); returns how many.
    Lines are matched by the record id beside the sealed part: no key needed."""
    ids = set(record_ids)
    if not ids:
        return 0

    def keep(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            try:
                rid = json.loads(line).get("record_id")
            except (ValueError, AttributeError):
                rid = None
            if rid not in ids:
                out.append(line)
        return out

    return _rewrite(path, keep)


def reseal(path: Path, before: crypto.Keyring, after: crypto.Keyring) -> int:
    """Seal every line again under ``after`` (a new master key); lines ``before`` cannot open
    are kept as they are. Returns how many were resealed."""

    def again(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            message = open_line(before, line)
            if message is None:
                out.append(line)
                continue
            mid, rid = message.pop("id"), message.pop("record_id")
            out.append(seal_line(after, mid, rid, message))
        return out

    return _rewrite(path, again)


def seal_legacy(
    path: Path, keyring: crypto.Keyring, record_of: Callable[[int], tuple[bool, int | None]]
) -> int:
    """Seal the lines an older version wrote in clear (``{"id", "channel", "recipient",
    "subject", "body", "created_at"}``). ``record_of(message id)``: whether the outbox row is
    still there, and its record. A line whose row is gone belonged to an erased record: it goes.
    Returns how many lines were sealed or dropped."""

    def seal_them(lines: list[str]) -> list[str]:
        out = []
        for line in lines:
            try:
                old = json.loads(line)
            except ValueError:
                out.append(line)
                continue
            if not isinstance(old, dict) or "sealed" in old or "body" not in old:
                out.append(line)
                continue
            kept, rid = record_of(int(old.get("id", 0)))
            if not kept:
                continue
            fields = {k: old.get(k) for k in ("channel", "recipient", "subject", "body")}
            fields["created_at"] = old.get("created_at")
            out.append(seal_line(keyring, int(old["id"]), rid, fields))
        return out

    return _rewrite(path, seal_them)


def _fsync_directory(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)
