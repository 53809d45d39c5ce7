"""Test kit: the real host app, served by uvicorn over real HTTP on loopback, on a real SQLite
file (or PostgreSQL when DMPTUI_TEST_DATABASE_URL is set), with a clock the test moves."""

from __future__ import annotations

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

    def login(self, **headers: str) -> httpx.Client:
        r = self.http.post(
            "/v1/auth/login", json={"ins": self.ins, "password": self.password}, headers=headers
        )
        assert r.status_code == 200, r.text
        challenge = r.json()["challenge"]
        r = self.http.post("/v1/auth/verify", json={"challenge": challenge, "code": self.code()})
        assert r.status_code == 200, r.text
        tokens = r.json()
        client = httpx.Client(
            base_url=self.url,
            timeout=30,
            headers={"Authorization": f"Bearer {tokens['access_token']}"},
        )
        client.tokens = tokens  # type: ignore[attr-defined]
        return client

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

    def trace_size(self) -> int:
        return self.sql("SELECT count(*) FROM trace_entries")[0][0]


def checkpoint(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def copy_sqlite(src: Path, dst: Path) -> None:
    checkpoint(src)
    shutil.copyfile(src, dst)


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
