"""Test kit: the real host app, served by uvicorn over real HTTP on loopback, on a real SQLite
file (or PostgreSQL when DMPTUI_TEST_DATABASE_URL is set), with a clock the test moves."""

from __future__ import annotations

import re
import shutil
import socket
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import uvicorn

from dmptui.host.app import create_app
from dmptui.schema import PRACTITIONER_HEADER


class Clock:
    """Host time, moved by the test. Starts at the real time."""

    def __init__(self, start: datetime | None = None) -> None:
        self.moment = start or datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


@contextmanager
def serve(app: Any, lifespan: str = "on") -> Iterator[str]:
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only then (else ~40 ms per answer).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan=lifespan)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the host did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@dataclass
class LiveHost:
    url: str
    db_url: str
    db_path: Path | None
    data_dir: Path
    clock: Clock
    # Not in the repr: pytest prints a failing test's fixtures in its report, and these hold the
    # demo password, the TOTP secret and the practitioners' credentials.
    creds: dict[str, Any] = field(repr=False)
    app: Any = field(repr=False)
    http: httpx.Client = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.http = httpx.Client(base_url=self.url, timeout=30)

    # --- people ---
    @property
    def ins(self) -> str:
        return self.creds["patient"]["ins"]

    @property
    def password(self) -> str:
        return self.creds["patient"]["password"]

    @property
    def totp(self) -> pyotp.TOTP:
        return pyotp.TOTP(self.creds["patient"]["totp_secret"])

    def practitioner(self, role: str) -> dict[str, Any]:
        return next(p for p in self.creds["practitioners"] if p["role"] == role)

    def ps(self, role: str) -> httpx.Client:
        p = self.practitioner(role)
        return httpx.Client(
            base_url=self.url, timeout=30, headers={PRACTITIONER_HEADER: p["credential"]}
        )

    def code(self) -> str:
        """A TOTP code for a step the host has not seen yet: moves the clock one step on."""
        self.clock.advance(seconds=30)
        return self.totp.at(self.clock())

    def login(self, *, if_match: bool = True, **headers: str) -> httpx.Client:
        """A logged-in patient client. With ``if_match`` (the default), a change sent without
        If-Match gets the resource's current ETag, read from the database (as if the test had
        just loaded it, without a trace entry); pass ``if_match=False`` to send exactly what
        the test says."""
        r = self.http.post(
            "/v1/auth/login", json={"ins": self.ins, "password": self.password}, headers=headers
        )
        assert r.status_code == 200, r.text
        challenge = r.json()["challenge"]
        r = self.http.post(
            "/v1/auth/verify",
            json={"challenge": challenge, "code": self.code()},
            headers=headers,  # as the app does: its device id on every request
        )
        assert r.status_code == 200, r.text
        tokens = r.json()
        client = httpx.Client(
            base_url=self.url,
            timeout=30,
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
            event_hooks={"request": [self._add_if_match]} if if_match else None,
        )
        client.tokens = tokens  # type: ignore[attr-defined]
        return client

    def _add_if_match(self, request: httpx.Request) -> None:
        if request.method in ("GET", "HEAD") or "if-match" in request.headers:
            return
        tag = self.etag(request.url.path)
        if tag is not None:
            request.headers["If-Match"] = tag

    def etag(self, path: str) -> str | None:
        """The current ETag a change on ``path`` needs (None: no If-Match needed)."""
        kind = _ETAG_KIND.get(path)
        if kind is None and path.startswith(_PRACTITIONER_PATHS):
            kind = "practitioners"
        if kind is not None:
            (version,) = self.sql(
                f"SELECT {kind}_version FROM records WHERE ins = :ins", {"ins": self.ins}
            )[0]
            return f'"{kind}-{version}"'
        m = re.fullmatch(r"/v1/record/documents/([^/]+)/(mask|unmask)", path)
        if m:
            rows = self.sql("SELECT version FROM documents WHERE id = :id", {"id": m[1]})
            return f'"doc-{m[1]}-{rows[0][0]}"' if rows else '"doc-none"'
        return None

    def step_up(self, client: httpx.Client) -> None:
        r = client.post("/v1/auth/step-up", json={"code": self.code()})
        assert r.status_code == 200, r.text

    # --- database ---
    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        from sqlalchemy import text

        with self.app.state.host.engine.connect() as conn:
            result = conn.execute(text(query), params[0] if params else {})
            rows = [tuple(r) for r in result] if result.returns_rows else []
            conn.commit()
            return rows

    # --- the sealed columns, opened with the host's keyring ---
    def _session(self) -> Any:
        return self.app.state.host.sessions()

    def titles(self) -> dict[str, str]:
        """Every document's id and title (decrypted)."""
        from sqlalchemy import select

        from dmptui.host import crypto
        from dmptui.host.db import Document

        with self._session() as s:
            return {d.id: crypto.document_title(s, d) for d in s.scalars(select(Document))}

    def doc_ids(self, title: str) -> list[str]:
        return [i for i, t in self.titles().items() if t == title]

    def doc_id(self, title: str) -> str:
        (found,) = self.doc_ids(title)
        return found

    def labels_of(self, title: str) -> list[str]:
        return self.sql("SELECT labels FROM documents WHERE id = :i", {"i": self.doc_id(title)})[0][
            0
        ]

    def notes(self) -> str:
        from dmptui.host import crypto
        from dmptui.host.db import Record

        with self._session() as s:
            from sqlalchemy import select

            r = s.scalar(select(Record).where(Record.ins == self.ins))
            return crypto.open_notes(s, r.id, r.notes)

    def messages(self, document_id: str | None = None) -> list[tuple[str, dict[str, str]]]:
        """Notifications (kind, message) decrypted, oldest first."""
        from sqlalchemy import select

        from dmptui.host import crypto
        from dmptui.host.db import Notification

        with self._session() as s:
            stmt = select(Notification).order_by(Notification.id)
            if document_id is not None:
                stmt = stmt.where(Notification.document_id == document_id)
            return [
                (n.kind, crypto.open_message(s, n.record_id, n.id, n.message_sealed))
                for n in s.scalars(stmt)
            ]

    def outbox_body(self, channel: str | None = None, *, unsent: bool = False) -> str:
        """The latest outbox message's body (decrypted)."""
        from sqlalchemy import select

        from dmptui.host import crypto
        from dmptui.host.db import OutboxMessage

        with self._session() as s:
            stmt = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1)
            if channel:
                stmt = stmt.where(OutboxMessage.channel == channel)
            if unsent:
                stmt = stmt.where(OutboxMessage.sent_at.is_(None))
            m = s.scalar(stmt)
            assert m is not None and m.body_sealed is not None, "no such message"
            return crypto.keyring_of(s).open_outbox(str(m.id), m.body_sealed)

    def trace_size(self) -> int:
        return self.sql("SELECT count(*) FROM trace_entries")[0][0]


_ETAG_KIND = {
    "/v1/record/oppositions": "oppositions",
    "/v1/record/notes": "notes",
    "/v1/record/close": "status",
    "/v1/record/reactivate": "status",
    "/v1/record/erase": "status",
}
_PRACTITIONER_PATHS = ("/v1/record/authorisations/", "/v1/record/blocks/", "/v1/record/attending")


def checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def copy_key(src_dir: Path, dst_dir: Path) -> None:
    """The master key goes with the database it wrote (mode 0600)."""
    from dmptui.host import crypto

    key = crypto.read_key_file(crypto.key_path(src_dir))
    crypto.write_key_file(crypto.key_path(dst_dir), key.key)


def copy_sqlite(src: Path, dst: Path) -> None:
    """A copy of the database, private as the host keeps it (0600: the host would make a copy
    with the umask's mode private at start, and say so in its log)."""
    import os

    checkpoint(src)
    shutil.copyfile(src, dst)
    os.chmod(dst, 0o600)


def live_host(
    db_url: str, db_path: Path | None, data_dir: Path, creds: dict[str, Any], clock: Clock
) -> Iterator[LiveHost]:
    app = create_app(db_url, data_dir, clock=clock)
    with serve(app) as url:
        h = LiveHost(url, db_url, db_path, data_dir, clock, creds, app)
        try:
            yield h
        finally:
            h.http.close()
