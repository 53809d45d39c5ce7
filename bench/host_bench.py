"""Record-host benchmark: two figures from one run, printed against their goals.

1. Documents page of 50: the real host's GET /v1/record/documents (bearer session, policy, one
   trace entry, one committed transaction) against a bare FastAPI endpoint reading the same 50
   rows from the same database with the same driver (``sqlite3`` on the SQLite file by default,
   ``psycopg`` with ``--database-url postgresql+psycopg://…``; no auth, no trace). Requests
   alternate between the two over real HTTP on loopback; the figure is
   throughput(real) / throughput(bare), goal >= 0.5.
2. Login server time: POST /v1/auth/login + POST /v1/auth/verify, timed inside the server by an
   ASGI middleware wrapped around the app; the figure is the median of the sum, goal <= 60 ms.

Run: ``uv run python bench/host_bench.py [--database-url URL --reset]`` (``--help``). It always
exits 0: the figures are reported, not asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp
import uvicorn
from fastapi import FastAPI
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import add_database_args, connect, database_url, describe, is_sqlite

from dmptui.host import crypto
from dmptui.host.app import create_app
from dmptui.host.context import Host
from dmptui.host.db import migrate
from dmptui.host.seed import seed_demo
from dmptui.schema import PRACTITIONER_HEADER, DocType, Label

PAGE = 50
GOAL_PAGE_RATIO = 0.5  # throughput(real) / throughput(bare), at least
GOAL_LOGIN_MS = 60.0  # median server time of login + verify, at most

# Types a médecin may deposit, cycled through for the extra documents.
DEPOSIT_TYPES = [
    DocType.CONSULTATION_NOTE,
    DocType.LAB_REPORT,
    DocType.PRESCRIPTION,
    DocType.IMAGING_REPORT,
    DocType.DISCHARGE_SUMMARY,
]


# --- plumbing --------------------------------------------------------------------------------


class Clock:
    """Host time, moved by the bench (TOTP steps must be fresh for every login)."""

    def __init__(self) -> None:
        self.moment = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.moment

    def advance(self, **delta: float) -> datetime:
        self.moment += timedelta(**delta)
        return self.moment


class ServerTimer:
    """ASGI middleware: wall time from the request's arrival to its last body byte handed to
    the server, recorded per path (seconds)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.times: dict[str, list[float]] = defaultdict(list)

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        path = scope["path"]

        async def timed_send(message: dict) -> None:
            # Recorded before the last body is handed on, so the client cannot have the
            # answer (and reset or read the figures) before its time is in.
            if message["type"] == "http.response.body" and not message.get("more_body"):
                self.times[path].append(time.perf_counter() - start)
            await send(message)

        await self.app(scope, receive, timed_send)

    def reset(self) -> None:
        self.times.clear()


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` with uvicorn on a free loopback port, in a thread of this process.

    The socket is made with ``proto=IPPROTO_TCP``: asyncio sets TCP_NODELAY on accepted
    connections only when the listening socket says so, and without it every response (headers
    and body are two writes) waits ~40 ms for a delayed ACK."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def sqlite_time(moment: datetime) -> str:
    """A UTC moment as SQLAlchemy stores it in SQLite (naive, microseconds always)."""
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


# --- the bare endpoint -----------------------------------------------------------------------

BARE_SQL = """
SELECT d.id, d.type, d.title_sealed, p.rpps, p.name, p.profession, p.facility, d.facility,
       d.care_date, d.deposited_at, d.content_type, d.size, d.labels, d.version
FROM documents AS d JOIN practitioners AS p ON p.rpps = d.author_rpps
WHERE d.record_id = ? AND d.patient_visible_from <= ?
ORDER BY d.deposited_at DESC, d.id DESC
LIMIT ?
"""


def bare_app(url: str, record_id: int, clock: Clock) -> FastAPI:
    """The same page, the plainest way: the driver the host's engine uses (``sqlite3``, or
    ``psycopg`` in autocommit), one connection per worker thread, no pool, no auth, no trace, no
    transaction beyond the read, a dict returned to FastAPI. Titles are returned sealed, as
    stored (no key, no decryption)."""
    local = threading.local()
    pg = not is_sqlite(url)
    statement = BARE_SQL.replace("?", "%s") if pg else BARE_SQL

    def conn() -> Any:
        c = getattr(local, "conn", None)
        if c is None:
            c = connect(url, autocommit=True)
            local.conn = c
        return c

    def when(value: Any) -> str:  # naive UTC: a datetime from psycopg, a string from sqlite3
        return value.isoformat() if pg else value.replace(" ", "T")

    app = FastAPI()

    @app.get("/documents")
    def documents(limit: int = PAGE) -> dict[str, Any]:
        now = clock().astimezone(UTC).replace(tzinfo=None) if pg else sqlite_time(clock())
        rows = conn().execute(statement, (record_id, now, limit)).fetchall()
        return {
            "items": [
                {
                    "id": r[0],
                    "type": r[1],
                    "title": base64.b64encode(r[2]).decode(),  # sealed; no key, no decryption
                    "author": {"rpps": r[3], "name": r[4], "profession": r[5], "facility": r[6]},
                    "facility": r[7],
                    "care_date": when(r[8])[:10] if r[8] else None,
                    "deposited_at": when(r[9]) + "Z",
                    "content_type": r[10],
                    "size": r[11],
                    "labels": sorted(r[12] if pg else json.loads(r[12])),
                    "warning": None,
                    "etag": f'"doc-{r[0]}-{r[13]}"',
                }
                for r in rows
            ]
        }

    return app


# --- set-up ----------------------------------------------------------------------------------


def setup_database(url: str, data_dir: Path, clock: Clock) -> tuple[dict[str, Any], int, float]:
    """Migrate the (empty) database at ``url``, seed the demo; the demo record's id."""
    started = time.perf_counter()
    migrate(url)
    crypto.ensure_master_key(data_dir)
    host = Host(url, data_dir, clock=clock)
    creds = seed_demo(host)
    with host.engine.connect() as c:
        record_id = c.execute(
            text("SELECT id FROM records WHERE ins = :ins"), {"ins": creds["patient"]["ins"]}
        ).scalar_one()
    host.engine.dispose()
    return creds, record_id, time.perf_counter() - started


def deposit_documents(url: str, creds: dict[str, Any], clock: Clock, n: int, size: int) -> float:
    """``n`` text documents through the practitioner API, one clock minute apart. One in 25 is
    INVISIBLE_PATIENT (hidden from the patient's list), one in 10 INVISIBLE_REPRESENTANTS_LEGAUX."""
    author = next(p for p in creds["practitioners"] if p["role"] == "author")
    ins = creds["patient"]["ins"]
    filler = "Examen clinique sans particularité. Constantes normales. Suite de prise en charge. "
    started = time.perf_counter()
    with httpx.Client(
        base_url=url, timeout=30, headers={PRACTITIONER_HEADER: author["credential"]}
    ) as ps:
        for i in range(n):
            clock.advance(minutes=1)
            labels = []
            if i % 25 == 7:
                labels.append(Label.INVISIBLE_PATIENT.value)
            if i % 10 == 3:
                labels.append(Label.INVISIBLE_REPRESENTANTS_LEGAUX.value)
            content = f"Document de banc d'essai n° {i}.\n" + filler * (size // len(filler) + 1)
            r = ps.post(
                f"/v1/ps/records/{ins}/documents",
                json={
                    "type": DEPOSIT_TYPES[i % len(DEPOSIT_TYPES)].value,
                    "title": f"Compte rendu de suivi n° {i}",
                    "content": content[:size],
                    "care_date": (clock().date() - timedelta(days=i % 40)).isoformat(),
                    "labels": labels,
                },
            )
            if r.status_code != 201:
                raise RuntimeError(f"deposit {i} refused: {r.status_code} {r.text}")
    return time.perf_counter() - started


def login(http: httpx.Client, creds: dict[str, Any], clock: Clock) -> str:
    """One full login; moves the clock a TOTP step on first (a used step is refused)."""
    patient = creds["patient"]
    r = http.post("/v1/auth/login", json={"ins": patient["ins"], "password": patient["password"]})
    if r.status_code != 200:
        raise RuntimeError(f"login refused: {r.status_code} {r.text}")
    challenge = r.json()["challenge"]
    code = pyotp.TOTP(patient["totp_secret"]).at(clock.advance(seconds=30))
    r = http.post("/v1/auth/verify", json={"challenge": challenge, "code": code})
    if r.status_code != 200:
        raise RuntimeError(f"verify refused: {r.status_code} {r.text}")
    return r.json()["access_token"]


# --- measurements ----------------------------------------------------------------------------


def ms(seconds: float) -> float:
    return seconds * 1000


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[94]


def same_rows(real: list[dict[str, Any]], bare: list[dict[str, Any]]) -> str | None:
    """None if both pages hold the same rows with the same values, else what differs. Titles
    are sealed at rest: the bare side returns them as stored (no key), so they are not compared."""
    if len(real) != len(bare):
        return f"{len(real)} rows vs {len(bare)}"
    for a, b in zip(real, bare, strict=True):
        for key in a.keys() | b.keys():
            x, y = a.get(key), b.get(key)
            if key == "title":
                continue
            if key == "deposited_at":
                x, y = datetime.fromisoformat(x), datetime.fromisoformat(y)
            if x != y:
                return f"row {a.get('id')}: {key} {x!r} vs {y!r}"
    return None


def bench_documents(
    real: httpx.Client, bare: httpx.Client, rounds: int, warmup: int
) -> dict[str, list[float]]:
    out: dict[str, list[float]] = {"real": [], "bare": []}
    sides = {"real": (real, "/v1/record/documents"), "bare": (bare, "/documents")}
    for i in range(warmup + rounds):
        order = ("real", "bare") if i % 2 == 0 else ("bare", "real")
        for side in order:
            client, path = sides[side]
            t0 = time.perf_counter()
            r = client.get(path, params={"limit": PAGE})
            elapsed = time.perf_counter() - t0
            if r.status_code != 200:
                raise RuntimeError(f"{side} page: {r.status_code} {r.text}")
            if i >= warmup:
                out[side].append(elapsed)
    return out


def filesystem_of(path: Path) -> str:
    try:
        out = subprocess.run(
            ["df", "-T", str(path)], capture_output=True, text=True, check=True
        ).stdout.splitlines()
        return out[-1].split()[1]
    except (OSError, subprocess.CalledProcessError, IndexError):
        return "?"


def verdict(ok: bool) -> str:
    return "goal met" if ok else "goal missed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=500, help="extra documents (default 500)")
    parser.add_argument("--doc-bytes", type=int, default=2000, help="content size of each")
    parser.add_argument("--rounds", type=int, default=300, help="measured rounds (default 300)")
    parser.add_argument("--warmup", type=int, default=30, help="unmeasured rounds first")
    parser.add_argument("--logins", type=int, default=30, help="measured logins (default 30)")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary db goes")
    add_database_args(parser)
    args = parser.parse_args(argv)

    load_before = os.getloadavg()[0]
    clock = Clock()
    with tempfile.TemporaryDirectory(prefix="dmptui-bench-", dir=args.dir) as tmp:
        tmp_path = Path(tmp)
        url = database_url(args, tmp_path)
        backend = describe(url)
        data_dir = tmp_path / "data"
        data_dir.mkdir()
        creds, record_id, seed_s = setup_database(url, data_dir, clock)

        timer = ServerTimer(create_app(url, data_dir, clock=clock))
        bare_timer = ServerTimer(bare_app(url, record_id, clock))
        with serve(timer) as real_url, serve(bare_timer) as bare_url:
            deposit_s = deposit_documents(real_url, creds, clock, args.docs, args.doc_bytes)
            with httpx.Client(base_url=real_url, timeout=30) as anon:
                token = login(anon, creds, clock)
            real = httpx.Client(
                base_url=real_url, timeout=30, headers={"Authorization": f"Bearer {token}"}
            )
            bare = httpx.Client(base_url=bare_url, timeout=30)
            with real, bare:
                real_items = real.get("/v1/record/documents", params={"limit": PAGE}).json()
                bare_items = bare.get("/documents", params={"limit": PAGE}).json()["items"]
                diff = same_rows(real_items["items"], bare_items)
                if diff is not None:
                    print(f"warning: the two endpoints disagree: {diff}", file=sys.stderr)
                timer.reset()
                bare_timer.reset()
                lat = bench_documents(real, bare, args.rounds, args.warmup)
                doc_server = {
                    "real": timer.times["/v1/record/documents"][-args.rounds :],
                    "bare": bare_timer.times["/documents"][-args.rounds :],
                }

            # Logins: one unmeasured first (warm paths), then the measured ones.
            with httpx.Client(base_url=real_url, timeout=30) as anon:
                login(anon, creds, clock)
                timer.reset()
                login_client: list[float] = []
                for _ in range(args.logins):
                    t0 = time.perf_counter()
                    login(anon, creds, clock)
                    login_client.append(time.perf_counter() - t0)
            logins = timer.times["/v1/auth/login"]
            verifies = timer.times["/v1/auth/verify"]
            totals = [a + b for a, b in zip(logins, verifies, strict=True)]

    # --- report ---
    rps = {side: len(v) / sum(v) for side, v in lat.items()}
    ratio = rps["real"] / rps["bare"]
    login_median = ms(statistics.median(totals))
    server_ratio = statistics.median(doc_server["bare"]) / statistics.median(doc_server["real"])
    print(
        f"dmptui host bench  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  nproc={os.cpu_count()}  "
        f"python {platform.python_version()}  {backend}  "
        + (
            f"db on {filesystem_of(Path(args.dir or tempfile.gettempdir()))}  "
            if not args.database_url
            else ""
        )
        + f"load {load_before:.2f} before, {os.getloadavg()[0]:.2f} after (1-min average)"
    )
    print(
        f"set-up: seed {seed_s:.1f} s, {args.docs} deposits of {args.doc_bytes} B "
        f"in {deposit_s:.1f} s; same {PAGE} rows on both sides: {'yes' if diff is None else 'NO'}"
    )
    print()
    print(f"documents page of {PAGE}, {args.rounds} alternating rounds after {args.warmup} warm-up")
    print(f"  {'':6}{'median ms':>11}{'p95 ms':>9}{'req/s':>9}{'server median ms':>19}")
    for side in ("real", "bare"):
        v = lat[side]
        print(
            f"  {side:6}{ms(statistics.median(v)):>11.2f}{ms(p95(v)):>9.2f}{rps[side]:>9.0f}"
            f"{ms(statistics.median(doc_server[side])):>19.2f}"
        )
    print(f"  server-time ratio bare/real {server_ratio:.2f} (for information: no HTTP, no client)")
    print()
    print(f"login + verify, {args.logins} logins (server time, ServerTimer middleware)")
    print(f"  {'':8}{'median ms':>11}{'p95 ms':>9}")
    for name, v in (("login", logins), ("verify", verifies), ("sum", totals)):
        print(f"  {name:8}{ms(statistics.median(v)):>11.2f}{ms(p95(v)):>9.2f}")
    print(
        f"  {'client':8}{ms(statistics.median(login_client)):>11.2f}"
        f"{ms(p95(login_client)):>9.2f}   (round trips seen by httpx)"
    )
    print()
    print(
        f"documents page ratio {ratio:.2f} (goal >= {GOAL_PAGE_RATIO}): "
        f"{verdict(ratio >= GOAL_PAGE_RATIO)}"
    )
    print(
        f"login server time {login_median:.1f} ms (goal <= {GOAL_LOGIN_MS:.0f} ms): "
        f"{verdict(login_median <= GOAL_LOGIN_MS)}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
