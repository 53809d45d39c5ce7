"""Test kit for the host as a real process: ``dmptui host serve`` started with subprocess on a
free loopback port, on a SQLite file (a copy of the seeded demo database) or on PostgreSQL when
DMPTUI_TEST_DATABASE_URL is set; stopped with SIGTERM, or killed with SIGKILL when a test wants
a crash. The host runs on the real clock: a patient logs in with the TOTP code of the moment."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pyotp
from hostkit import copy_key, copy_sqlite

from dmptui.host import crypto
from dmptui.host.context import Host
from dmptui.host.db import migrate
from dmptui.host.seed import seed_demo
from dmptui.schema import PRACTITIONER_HEADER

PG_URL = os.environ.get("DMPTUI_TEST_DATABASE_URL")


@dataclass
class Database:
    url: str
    path: Path | None  # the SQLite file, None on PostgreSQL
    creds: dict[str, Any]


def reset_postgres(url: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def demo_database(template: tuple[Path, dict[str, Any]], tmp_path: Path) -> Database:
    """The seeded demo record on a fresh database: a copy of the template SQLite file, or a
    freshly migrated and seeded PostgreSQL schema; its master key in ``tmp_path / "data"``, the
    data dir the host processes are started with."""
    data_dir = tmp_path / "data"
    if PG_URL:
        reset_postgres(PG_URL)
        migrate(PG_URL)
        crypto.ensure_master_key(data_dir)
        h = Host(PG_URL, data_dir)
        creds = seed_demo(h)
        h.engine.dispose()
        return Database(PG_URL, None, creds)
    src, creds = template
    path = tmp_path / "host.sqlite3"
    copy_sqlite(src, path)
    copy_key(src.parent, data_dir)
    return Database(f"sqlite:///{path}", path, creds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class HostProcess:
    proc: subprocess.Popen[bytes]
    url: str
    log: Path

    def kill(self) -> None:
        """SIGKILL, no goodbye: the crash."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def output(self) -> str:
        return self.log.read_text("utf-8", errors="replace")


def start_host(
    db_url: str, data_dir: Path, *, workers: int = 1, timeout: float = 30
) -> HostProcess:
    """``dmptui host serve`` in its own process group (so a kill reaches every worker), with no
    maintenance thread; returns once /v1/health answers."""
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    log = data_dir / f"host-{port}.log"
    cmd = [sys.executable, "-m", "dmptui.entry.cli", "host", "serve", "--db", db_url]
    cmd += ["--port", str(port), "--workers", str(workers), "--maintenance-every", "0"]
    env = {**os.environ, "DMPTUI_DATA_DIR": str(data_dir)}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    host = HostProcess(proc, f"http://127.0.0.1:{port}", log)
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"the host exited with {proc.returncode}:\n{host.output()}")
        try:
            if httpx.get(f"{host.url}/v1/health", timeout=1).status_code == 200:
                return host
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            host.kill()
            raise RuntimeError(f"the host did not answer in {timeout} s:\n{host.output()}")
        time.sleep(0.05)


def login(url: str, creds: dict[str, Any], **headers: str) -> str:
    """Log the demo patient in (password, then the TOTP code of the moment); the access token.
    A TOTP step is accepted once: call at most once per 30 s per database."""
    patient = creds["patient"]
    with httpx.Client(base_url=url, timeout=30, headers=headers) as http:
        body = {"ins": patient["ins"], "password": patient["password"]}
        r = http.post("/v1/auth/login", json=body)
        assert r.status_code == 200, r.text
        code = pyotp.TOTP(patient["totp_secret"]).now()
        r = http.post("/v1/auth/verify", json={"challenge": r.json()["challenge"], "code": code})
        assert r.status_code == 200, r.text
        return r.json()["access_token"]


def practitioner(creds: dict[str, Any], role: str) -> dict[str, Any]:
    return next(p for p in creds["practitioners"] if p["role"] == role)


def ps_headers(creds: dict[str, Any], role: str) -> dict[str, str]:
    return {PRACTITIONER_HEADER: practitioner(creds, role)["credential"]}
