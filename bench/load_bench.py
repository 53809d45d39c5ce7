"""Load benchmark: 50 patients browsing and 5 practitioners depositing at the same time, for
60 s, against one host process on loopback.

- The host is `dmptui host serve` started as a subprocess (`--workers` processes, default 1) on a
  fresh SQLite file in a temporary directory, or on `--database-url` (PostgreSQL; `--reset`
  drops and recreates its schema `public` first).
- The records come from `seed_records.seed_bench`: one record per patient with 20 documents,
  every bench practitioner authorised, and an open session per patient (logins are not measured:
  argon2 would dominate).
- Each patient and each practitioner is one asyncio task with its own keep-alive
  `httpx.AsyncClient` (one connection): a closed loop, one request at a time, then `--think`
  seconds (default 0: as fast as the host answers). Patients pick among record, documents page,
  one document, its content, trace page, notifications, practitioners; practitioners deposit a
  2,000-byte text document in a random bench record.
- Printed per route kind: requests, errors, 5xx, p50, p99 and max latency as the client sees it;
  then totals. Exits 1 if any answer was a 5xx (there must be none), else 0; latency is
  reported, not asserted.

Run: ``uv run python bench/load_bench.py`` (``--help`` for the knobs). See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import UTC, datetime
from pathlib import Path

import httpx
from benchdb import add_database_args, database_url
from seed_records import Seeded, seed_bench

from dmptui.host import crypto
from dmptui.host.db import migrate
from dmptui.schema import PRACTITIONER_HEADER

PATIENT_ROUTES = [  # (kind, weight)
    ("record", 1),
    ("documents", 4),
    ("document", 2),
    ("content", 1),
    ("trace", 2),
    ("notifications", 1),
    ("practitioners", 1),
]


class Stats:
    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: Counter[str] = Counter()
        self.server_errors: Counter[str] = Counter()
        self.samples: dict[str, str] = {}

    def add(self, kind: str, seconds: float, status: int | None, detail: str = "") -> None:
        self.latency[kind].append(seconds)
        if status is None or status >= 400:
            self.errors[kind] += 1
            self.samples.setdefault(kind, f"{status}: {detail[:200]}")
        if status is not None and status >= 500:
            self.server_errors[kind] += 1


async def _timed(stats: Stats, kind: str, send: object) -> None:
    started = time.perf_counter()
    try:
        r = await send()  # type: ignore[operator]
    except httpx.HTTPError as e:
        stats.add(kind, time.perf_counter() - started, None, type(e).__name__)
        return
    stats.add(kind, time.perf_counter() - started, r.status_code, r.text)


async def patient(
    url: str,
    token: str,
    docs: list[str],
    rng: random.Random,
    stats: Stats,
    deadline: float,
    think: float,
) -> None:
    kinds = [k for k, _ in PATIENT_ROUTES]
    weights = [w for _, w in PATIENT_ROUTES]
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as http:
        await http.get("/v1/record")  # connection set up, not measured
        while time.monotonic() < deadline:
            kind = rng.choices(kinds, weights)[0]
            doc = rng.choice(docs)
            path = {
                "record": "/v1/record",
                "documents": "/v1/record/documents?limit=50",
                "document": f"/v1/record/documents/{doc}",
                "content": f"/v1/record/documents/{doc}/content",
                "trace": "/v1/record/trace?limit=50",
                "notifications": "/v1/record/notifications",
                "practitioners": "/v1/record/practitioners",
            }[kind]
            await _timed(stats, kind, lambda p=path: http.get(p))
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def practitioner(
    url: str,
    credential: str,
    records: list[str],
    rng: random.Random,
    stats: Stats,
    deadline: float,
    think: float,
) -> None:
    async with httpx.AsyncClient(
        base_url=url, headers={PRACTITIONER_HEADER: credential}, timeout=60
    ) as http:
        await http.get("/v1/health")
        n = 0
        while time.monotonic() < deadline:
            n += 1
            ins = rng.choice(records)
            body = {
                "type": "11488-4",
                "title": f"Compte rendu de charge {n}",
                "content": ("Texte du compte rendu. " * 100)[:2000],
            }
            await _timed(
                stats,
                "deposit",
                lambda i=ins, b=body: http.post(f"/v1/ps/records/{i}/documents", json=b),
            )
            if think:
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def drive(url: str, seeded: Seeded, duration: float, think: float, seed: int) -> Stats:
    stats = Stats()
    rng = random.Random(seed)
    deadline = time.monotonic() + duration
    records = [ins for ins, _ in seeded.patients]
    tasks = [
        patient(
            url, token, seeded.documents[ins], random.Random(rng.random()), stats, deadline, think
        )
        for ins, token in seeded.patients
    ]
    tasks += [
        practitioner(url, cred, records, random.Random(rng.random()), stats, deadline, think)
        for _, cred in seeded.practitioners
    ]
    await asyncio.gather(*tasks)
    return stats


def start_host(
    url: str, data_dir: Path, workers: int, log: Path
) -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [
        sys.executable,
        "-m",
        "dmptui.entry.cli",
        "host",
        "serve",
        "--db",
        url,
        "--port",
        str(port),
    ]
    cmd += ["--workers", str(workers)]
    env = {**os.environ, "DMPTUI_DATA_DIR": str(data_dir)}
    with log.open("ab") as out:
        proc = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"the host exited ({proc.returncode}); see {log}")
        try:
            if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                return proc, base
        except httpx.HTTPError:
            time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)
    sys.exit(f"the host did not answer within 60 s; see {log}")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000


def report(stats: Stats, duration: float, header: str) -> int:
    print(header)
    print(
        f"  {'route':<14} {'requests':>8} {'errors':>6} {'5xx':>4}"
        f" {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
    )
    order = [k for k, _ in PATIENT_ROUTES] + ["deposit"]
    for kind in order:
        values = stats.latency.get(kind, [])
        if not values:
            continue
        print(
            f"  {kind:<14} {len(values):>8} {stats.errors[kind]:>6} {stats.server_errors[kind]:>4}"
            f" {pct(values, 0.5):>8.1f} {pct(values, 0.99):>8.1f} {max(values) * 1000:>8.1f}"
        )
    browse = [v for k, vs in stats.latency.items() if k != "deposit" for v in vs]
    total = sum(len(v) for v in stats.latency.values())
    errors, fives = sum(stats.errors.values()), sum(stats.server_errors.values())
    if browse:
        print(
            f"  {'all browsing':<14} {len(browse):>8} {'':>6} {'':>4}"
            f" {pct(browse, 0.5):>8.1f} {pct(browse, 0.99):>8.1f} {max(browse) * 1000:>8.1f}"
        )
    print(
        f"total {total} requests in {duration:.0f} s ({total / duration:.0f} req/s),"
        f" errors {errors}, 5xx {fives}"
    )
    for kind, sample in stats.samples.items():
        print(f"  first error, {kind}: {sample}")
    return 1 if fives else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--patients", type=int, default=50)
    parser.add_argument("--practitioners", type=int, default=5)
    parser.add_argument("--docs", type=int, default=20, help="documents per patient record")
    parser.add_argument("--think", type=float, default=0.0, help="mean pause between requests, s")
    parser.add_argument("--workers", type=int, default=1, help="host worker processes")
    add_database_args(parser)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--dir", help="directory for the SQLite file, data dir and host log")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="dmptui-load-", dir=args.dir))
    url = database_url(args, work)
    migrate(url)
    # The seeding seals documents under the same master key the host then serves with.
    crypto.ensure_master_key(work / "data")
    t0 = time.monotonic()
    seeded = seed_bench(
        url,
        work / "data",
        patients=args.patients,
        practitioners=args.practitioners,
        docs_per_patient=args.docs,
    )
    seeding = time.monotonic() - t0
    log = work / "host.log"
    proc, base = start_host(url, work / "data", args.workers, log)
    try:
        t0 = time.monotonic()
        stats = asyncio.run(drive(base, seeded, args.duration, args.think, args.seed))
        elapsed = time.monotonic() - t0
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
    from sqlalchemy.engine import make_url

    backend = make_url(url).get_backend_name()
    header = (
        f"dmptui load bench  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  nproc={os.cpu_count()}"
        f"  python {platform.python_version()}  load {os.getloadavg()[0]:.2f}\n"
        f"host: {backend}, {args.workers} worker(s), loopback; {args.patients} patients browsing +"
        f" {args.practitioners} practitioners depositing for {args.duration:.0f} s, think"
        f" {args.think} s; seeding {seeding:.1f} s"
    )
    code = report(stats, elapsed, header)
    tracebacks = log.read_text("utf-8", errors="replace").count("Traceback")
    print(f"host log: {log} ({tracebacks} tracebacks)")
    return code


if __name__ == "__main__":
    sys.exit(main())
