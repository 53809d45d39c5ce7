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

from dmptui.host.db import make_engine, sessionmaker_for, utcnow


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
    ) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.reason = reason
        self.field = field
        self.message = message
        self.headers = headers

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"error": self.error, "message": self.message}
        if self.reason:
            out["reason"] = self.reason
        if self.field:
            out["field"] = self.field
        return out


class Refused(ApiError):
    """A refusal whose trace entry must be kept: ``Host.tx`` commits, then re-raises."""


def forbidden(reason: str, message: str = "") -> Refused:
    return Refused(403, "forbidden", reason=reason, message=message)


@dataclass
class Host:
    url: str
    data_dir: Path
    clock: Callable[[], datetime] = utcnow
    engine: Engine = field(init=False)
    sessions: sessionmaker[Session] = field(init=False)

    def __post_init__(self) -> None:
        self.engine = make_engine(self.url)
        self.sessions = sessionmaker_for(self.engine)

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
