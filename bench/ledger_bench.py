"""Trace-log benchmark: a record with 1,000,000 trace entries, the real host over HTTP.

    uv run python bench/ledger_bench.py [--entries 1000000] [--rounds 200]
    uv run python bench/ledger_bench.py --database-url postgresql+psycopg://… --reset

Builds the demo database (a fresh SQLite file, or ``--database-url``), extends the demo
patient's trace to ``--entries`` with bulk inserts (``executemany``; ``COPY`` on PostgreSQL) that
use the host's own hashing (``dmptui.merkle``: each entry's leaf hash and every complete subtree,
exactly what ``ledger.append`` would have written), checks the stored root against the one
recomputed from all the leaves, then serves the real host and measures, as median server time
(request arrival to last body byte, ``host_bench.ServerTimer``):

- the trace page ``GET /v1/record/trace?limit=50`` (goal <= 20 ms);
- an inclusion proof (one entry, random) plus a consistency proof (random older size to the
  current one): ``GET /v1/record/trace/proof/inclusion`` + ``.../consistency`` (goal <= 5 ms
  for the two together), and the signed checkpoint, the batch proof of a whole page (50
  entries) and the app's full check of a page (``TraceChecker``) for information.

Every proof measured is verified with ``dmptui.merkle`` once before timing. Always exits 0.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchdb import add_database_args, connect, database_url, describe, is_pg, is_sqlite, sql
from host_bench import Clock, ServerTimer, login, serve, setup_database

from dmptui import merkle
from dmptui.host.app import create_app

GOAL_PAGE_MS = 20.0
GOAL_PROOF_MS = 5.0

FIELDS = ("actor_role", "actor_rpps", "actor_name", "actor_profession", "actor_facility")
FIELDS += ("action", "document_id", "mode", "outcome", "reason")
COLUMNS = ", ".join(("record_id", "seq", "at", *FIELDS, "leaf_hash"))


def sqlite_time(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def naive_utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def frontier(conn: Any, rid: int, size: int) -> list[bytes]:
    """The hashes of the complete subtrees that make a tree of ``size`` entries, largest first."""
    out = []
    for level, idx in merkle.complete_subtrees(0, size):
        if level == 0:
            row = conn.execute(
                sql(conn, "SELECT leaf_hash FROM trace_entries WHERE record_id = ? AND seq = ?"),
                (rid, idx + 1),
            ).fetchone()
        else:
            row = conn.execute(
                sql(
                    conn,
                    "SELECT hash FROM trace_nodes WHERE record_id = ? AND level = ? AND idx = ?",
                ),
                (rid, level, idx),
            ).fetchone()
        out.append(bytes(row[0]))
    return out


def bulk_insert(conn: Any, table: str, columns: str, rows: list[tuple[Any, ...]]) -> None:
    """``executemany`` on SQLite; ``COPY … FROM STDIN`` on PostgreSQL (psycopg)."""
    if is_pg(conn):
        with conn.cursor() as cur, cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marks = ", ".join("?" * len(columns.split(", ")))
    conn.executemany(f"INSERT INTO {table} ({columns}) VALUES ({marks})", rows)


def extend_trace(
    conn: Any, rid: int, entries: Iterable[dict[str, Any]], chunk: int = 50_000
) -> int:
    """Append ``entries`` (dicts with the fields of ``merkle.LEAF_FIELDS``, ``at`` aware, ``seq``
    following ``records.trace_size``) to record ``rid`` in bulk: rows with their leaf hashes,
    the tree's new nodes, the counter. ``conn``: ``sqlite3`` or ``psycopg``. The caller
    commits. Returns the new size."""
    (size,) = conn.execute(
        sql(conn, "SELECT trace_size FROM records WHERE id = ?"), (rid,)
    ).fetchone()
    stack = frontier(conn, rid, size)
    start = size
    rows: list[tuple[Any, ...]] = []
    leaves: list[bytes] = []
    when = naive_utc if is_pg(conn) else sqlite_time

    def flush() -> None:
        nonlocal stack, start
        bulk_insert(conn, "trace_entries", COLUMNS, rows)
        nodes = list(merkle.subtree_nodes(leaves, start, stack))
        bulk_insert(
            conn,
            "trace_nodes",
            "record_id, level, idx, hash",
            [(rid, level, idx, h) for level, idx, h in nodes],
        )
        # The new right edge: recompute from what is now stored.
        start += len(leaves)
        stack = frontier(conn, rid, start)
        rows.clear()
        leaves.clear()

    for e in entries:
        size += 1
        if e["seq"] != size:
            raise ValueError("sequence numbers must follow the trace's size")
        leaf = merkle.entry_hash(e)
        leaves.append(leaf)
        rows.append((rid, e["seq"], when(e["at"]), *(e[f] for f in FIELDS), leaf))
        if len(rows) >= chunk:
            flush()
    if rows:
        flush()
    conn.execute(sql(conn, "UPDATE records SET trace_size = ? WHERE id = ?"), (size, rid))
    return size


def synthetic(
    first_seq: int, n: int, creds: dict[str, Any], start: datetime
) -> Iterable[dict[str, Any]]:
    people = creds["practitioners"]
    for k in range(n):
        p = people[k % len(people)]
        patient = k % 3 == 0
        yield {
            "seq": first_seq + k,
            "at": start + timedelta(seconds=k * 7, microseconds=k % 1_000_000),
            "actor_role": "patient" if patient else "practitioner",
            "actor_rpps": None if patient else p["rpps"],
            "actor_name": None if patient else p["name"],
            "actor_profession": None if patient else p["profession"],
            "actor_facility": None if patient else p["facility"],
            "action": "documents.list",
            "document_id": None,
            "mode": "break-glass" if k % 997 == 0 else "normal",
            "outcome": "denied" if k % 50 == 0 else "allowed",
            "reason": "not_authorised" if k % 50 == 0 else None,
        }


def ms(seconds: float) -> float:
    return seconds * 1000


def median_ms(values: Sequence[float]) -> float:
    return ms(statistics.median(values))


def verdict(ok: bool) -> str:
    return "meets the goal" if ok else "MISSES the goal"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--entries", type=int, default=1_000_000)
    ap.add_argument("--rounds", type=int, default=200)
    ap.add_argument("--warmup", type=int, default=20)
    ap.add_argument("--dir", type=Path, default=None)
    add_database_args(ap)
    args = ap.parse_args(argv)

    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        work = Path(tmp)
        db_url = database_url(args, work)
        backend = describe(db_url)
        clock = Clock()
        creds, rid, _ = setup_database(db_url, work / "data", clock)

        started = time.perf_counter()
        conn = connect(db_url)
        (size,) = conn.execute(
            sql(conn, "SELECT trace_size FROM records WHERE id = ?"), (rid,)
        ).fetchone()
        n_new = max(0, args.entries - size)
        begin = clock() - timedelta(days=400)
        size = extend_trace(conn, rid, synthetic(size + 1, n_new, creds, begin))
        conn.commit()
        built = time.perf_counter() - started
        how = "COPY" if is_pg(conn) else "executemany"
        if is_sqlite(db_url):
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        else:
            # What autovacuum would have done on a live host by then: planner statistics and the
            # visibility map for the new rows.
            conn.autocommit = True
            conn.execute("VACUUM ANALYZE trace_entries")
            conn.execute("VACUUM ANALYZE trace_nodes")
        settled = time.perf_counter() - started - built
        leaves = [
            bytes(h)
            for (h,) in conn.execute(
                sql(conn, "SELECT leaf_hash FROM trace_entries WHERE record_id = ? ORDER BY seq"),
                (rid,),
            )
        ]
        expected_root = merkle.root(leaves)
        conn.close()
        print(
            f"dmptui ledger bench  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  nproc={os.cpu_count()}"
            f"  python {platform.python_version()}  {backend}  load {load_before:.2f}"
        )
        print(
            f"trace of {size:,} entries built in {built:.1f} s ({how}, host hashing)"
            + ("" if is_sqlite(db_url) else f"; VACUUM ANALYZE {settled:.1f} s")
        )

        timer = ServerTimer(create_app(db_url, work / "data", clock=clock))
        rng = random.Random(9162)
        with serve(timer) as url, httpx.Client(base_url=url, timeout=60) as http:
            http.headers["Authorization"] = f"Bearer {login(http, creds, clock)}"
            cp = http.get("/v1/record/trace/checkpoint").json()
            n = cp["tree_size"]
            assert n >= args.entries, n
            root = bytes.fromhex(cp["root_hash"])

            def inclusion(seqs: list[int]) -> list[dict[str, Any]]:
                params = [("size", n)] + [("seq", q) for q in seqs]
                r = http.get("/v1/record/trace/proof/inclusion", params=params)
                r.raise_for_status()
                return r.json()

            def consistency(first: int) -> list[str]:
                r = http.get(
                    "/v1/record/trace/proof/consistency", params={"first": first, "second": n}
                )
                r.raise_for_status()
                return r.json()["path"]

            # The signed tree extends the one recomputed from every stored leaf (the login added
            # entries since), and the proofs verify against the signed root.
            path = [bytes.fromhex(h) for h in consistency(len(leaves))]
            merkle.verify_consistency(len(leaves), n, path, expected_root, root)
            for seq in (1, n // 2, n):
                (p,) = inclusion([seq])
                path = [bytes.fromhex(h) for h in p["path"]]
                merkle.verify_inclusion(seq - 1, n, bytes.fromhex(p["leaf_hash"]), path, root)
            for first in (1, 777_777 % n or 1, n - 1):
                path = [bytes.fromhex(h) for h in consistency(first)]
                older = merkle.root(leaves[:first]) if first <= len(leaves) else None
                if older is not None:
                    merkle.verify_consistency(first, n, path, older, root)

            page_seqs = list(range(n, n - 50, -1))
            for round_ in range(args.warmup + args.rounds):
                if round_ == args.warmup:
                    timer.reset()
                http.get("/v1/record/trace", params={"limit": 50})
                http.get("/v1/record/trace/checkpoint")
                n = http.get("/v1/record/trace/checkpoint").json()["tree_size"]
                inclusion([rng.randint(1, n)])
                consistency(rng.randint(1, n - 1))
                inclusion(page_seqs)

            # The app's own check of a page (key, checkpoint, consistency, 50 inclusions).
            from dmptui.client import Client
            from dmptui.trace_check import CheckpointStore, TraceChecker

            async def app_checks() -> list[float]:
                times = []
                async with Client(url) as client:
                    client.access_token = http.headers["Authorization"].split()[1]
                    checker = TraceChecker(client, CheckpointStore.in_dir(work / "app"))
                    for _ in range(20):
                        page = await client.trace(limit=50)
                        t0 = time.perf_counter()
                        seal = await checker.check(page.items)
                        times.append(time.perf_counter() - t0)
                        assert seal.verified, seal
                return times

            check_times = asyncio.run(app_checks())

        # The proofs alone: the ledger's functions on a connection, no HTTP, no session.
        from dmptui.host import ledger
        from dmptui.host.db import make_engine

        engine = make_engine(db_url)
        times = []
        with engine.connect() as c:
            for _ in range(args.rounds):
                t0 = time.perf_counter()
                ledger.inclusion(c, rid, n, [rng.randint(1, n)])
                ledger.consistency(c, rid, rng.randint(1, n - 1), n)
                times.append(time.perf_counter() - t0)
        engine.dispose()
        inproc = median_ms(times)

        t = timer.times
        page = median_ms(t["/v1/record/trace"])
        inc = median_ms(
            t["/v1/record/trace/proof/inclusion"][0::2]
        )  # alternating: 1 entry, then 50
        inc50 = median_ms(t["/v1/record/trace/proof/inclusion"][1::2])
        con = median_ms(t["/v1/record/trace/proof/consistency"])
        chk = median_ms(t["/v1/record/trace/checkpoint"])
        print(f"entries: {n:,}; rounds: {args.rounds} after {args.warmup} warm-up")
        print(
            f"trace page (limit 50), median server time: {page:.2f} ms "
            f"(goal <= {GOAL_PAGE_MS:.0f} ms): {verdict(page <= GOAL_PAGE_MS)}"
        )
        print(
            f"inclusion (1 entry) + consistency proof, median server time: {inc:.2f} + "
            f"{con:.2f} = {inc + con:.2f} ms (goal <= {GOAL_PROOF_MS:.0f} ms): "
            f"{verdict(inc + con <= GOAL_PROOF_MS)}"
        )
        print(f"signed checkpoint, median server time: {chk:.2f} ms")
        print(f"inclusion proofs of a whole page (50 entries), median server time: {inc50:.2f} ms")
        print(
            f"in process, no HTTP: inclusion (1 entry) + consistency computed from the database:"
            f" {inproc:.3f} ms median"
        )
        check = median_ms(check_times)
        print(f"the app's full check of a page (5 requests): {check:.1f} ms median")
        print(f"load (1-min average) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    return 0


if __name__ == "__main__":
    sys.exit(main())
