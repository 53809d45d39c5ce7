"""What every route shares: the database, the clock, the data dir, typed API errors, and the
one-transaction-per-request helper that keeps a refusal's trace entry while dropping the rest."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from dmptui.host import crypto
from dmptui.host.db import checkpoint, make_engine, sessionmaker_for, utcnow


class ApiError(Exception):
    """An answer other than success: status, stable error code, optional field and reason."""

    def __init__(
        self,
        status: int,
        error: str,
        *,
        reason: str | None = None,
        field: str | None = None,
        message: str = "",
        headers: dict[str, str] | None = None,
        tries_left: int | None = None,
        locked_until: datetime | None = None,
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.reason = reason
        self.field = field
        self.message = message
        self.headers = headers
        self.tries_left = tries_left
        self.locked_until = locked_until

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.reason:
            out["reason"] = self.reason
        if self.field:
            out["field"] = self.field
        if self.tries_left is not None:
            out["tries_left"] = self.tries_left
        if self.locked_until is not None:
            out["locked_until"] = self.locked_until.isoformat().replace("+00:00", "Z")
        return out


class Refused(ApiError):
    """A refusal whose trace entry must be kept: ``Host.tx`` commits, then re-raises."""


def forbidden(reason: str, message: str = "") -> Refused:
    return Refused(403, "forbidden", reason=reason, message=message)


@dataclass
class Host:
    """The database, the clock, the data dir and the keyring. The master key comes from
    ``master_key`` if given, else ``DMPTUI_MASTER_KEY``, else ``<data_dir>/master.key``; a key
    that did not write this database's record keys is refused here (``crypto.MasterKeyError``)."""

    url: str
    data_dir: Path
    clock: Callable[[], datetime] = utcnow
    master_key: bytes | None = field(default=None, repr=False)
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)
    keyring: crypto.Keyring = field(init=False)

    def __post_init__(self) -> None:
        master = crypto.load_master_key(self.data_dir, self.master_key)
        older = []
        if self.master_key is None:
            older = [crypto.read_key_file(p) for p in crypto.old_key_paths(self.data_dir)]
        self.keyring = crypto.Keyring(master, [k for k in older if k.id != master.id])
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker_for(self.engine, self.keyring)
        try:
            self.check_key()
        except BaseException:
            self.engine.dispose()
            raise

    def check_key(self) -> None:
        """Refuse a master key that cannot open this database's record keys."""
        from sqlalchemy import func, inspect, select

        from dmptui.host.db import RecordKey

        if not inspect(self.engine).has_table("record_keys"):
            return  # not migrated yet
        with self.sessions() as s:
            for master_id, record_id in s.execute(
                select(RecordKey.master_key_id, func.min(RecordKey.record_id)).group_by(
                    RecordKey.master_key_id
                )
            ):
                row = s.get(RecordKey, record_id)
                assert row is not None
                try:
                    self.keyring.unwrap_record_key(record_id, row.wrapped_key, master_id)
                except (crypto.MasterKeyError, crypto.DecryptionError) as e:
                    raise crypto.MasterKeyError(
                        f"This master key (id {self.keyring.master.id}) cannot open this "
                        f"database: its record keys are wrapped by master key {master_id}. "
                        "Start the host with the key this database was written with "
                        f"({crypto.ENV_VAR} or {crypto.key_path(self.data_dir)})."
                    ) from e

    def checkpoint(self) -> None:
        """After an erasure: leave no older page copy in SQLite's -wal file."""
        checkpoint(self.engine)

    def seal_legacy_outbox(self) -> int:
        """At start: the lines an older version wrote in clear to the file outbox, sealed (or,
        for a record since erased, taken out). Nothing to do once done."""
        from sqlalchemy import select

        from dmptui.host import outbox_file
        from dmptui.host.db import OutboxMessage

        path = outbox_file.default_path(self.data_dir)
        if not path.exists() or b'"body"' not in path.read_bytes():
            return 0
        with self.sessions() as s:
            result = s.execute(select(OutboxMessage.id, OutboxMessage.record_id))
            rows = {message_id: record_id for message_id, record_id in result}

        def record_of(message_id: int) -> tuple[bool, int | None]:
            return message_id in rows, rows.get(message_id)

        return outbox_file.seal_legacy(path, self.keyring, record_of)

    def erased(self, record_ids: list[int]) -> None:
        """After the erasure of these records is committed: no older page copy in SQLite's -wal
        file, and none of their lines in the file outbox (``<data_dir>/outbox/outbox.jsonl``)."""
        from dmptui.host import outbox_file

        self.checkpoint()
        outbox_file.erase_records(outbox_file.default_path(self.data_dir), record_ids)

    @property
    def ledger_key(self) -> Any:
        """The trace-checkpoint signing key (``ledger.load_key``), loaded once."""
        key = self.__dict__.get("_ledger_key")
        if key is None:
            from dmptui.host import ledger

            key = self.__dict__["_ledger_key"] = ledger.load_key(self.data_dir)
        return key

    def now(self) -> datetime:
        return self.clock()

    @contextmanager
    def tx(self) -> Iterator[Session]:
        """One transaction for the whole request. A ``Refused`` keeps what was written before it
        (the trace entry of the refusal, nothing else by construction) and is re-raised."""
        s = self.sessions()
        try:
            yield s
            s.commit()
        except Refused:
            s.commit()
            raise
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
