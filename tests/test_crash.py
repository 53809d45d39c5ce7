"""Crashes: the host runs as a real process (`dmptui host serve`) on a SQLite file (or on
PostgreSQL with DMPTUI_TEST_DATABASE_URL) while practitioners deposit and the patient masks,
unmasks, grants and revokes over real HTTP. It is killed with SIGKILL at a random moment (seeded),
restarted on the same database, and checked, five rounds in a row:

- every acknowledged write (2xx received) is there; a write whose answer was lost is there or
  not, and nothing that was never sent is;
- nothing is half-written: every document has its body, of its size, and its deposit entry in
  the trace; every record's trace_size equals its count of entries and seq runs 1..n with no gap;
- every applied change has exactly its trace entry (counts between the acknowledged and the
  acknowledged plus the lost answers), and the state equals the last acknowledged write;
- the trace verifies: every stored leaf hash is the hash of its entry, and the host's stored
  tree has the root of those leaves;
- SQLite: `PRAGMA integrity_check` is ok and no foreign key dangles.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from prockit import Database, HostProcess, demo_database, login, ps_headers, start_host
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from dmptui.host import crypto, policy
from dmptui.host.context import Host
from dmptui.host.db import Authorisation, Document, DocumentBody, Record, TraceEntry

pytestmark = pytest.mark.slow

ROUNDS = 5
SEED = 20261129
MASKED = "MASQUE_PS"


@dataclass
class Ledger:
    """What the client knows: acknowledged writes, and writes whose answer never came."""

    deposits: dict[str, tuple[str, str]] = field(default_factory=dict)  # title -> (id, sha256)
    attempted_titles: set[str] = field(default_factory=set)
    acked: Counter[tuple[str, str]] = field(default_factory=Counter)  # (action, target)
    lost: Counter[tuple[str, str]] = field(default_factory=Counter)
    lost_targets: set[str] = field(default_factory=set)  # this round's unknown outcomes
    masked: dict[str, bool] = field(default_factory=dict)
    granted: dict[str, bool] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _key(action: str, target: str) -> tuple[str, str]:
    # A grant's trace entry does not name the practitioner: grants are counted together.
    return (action, "*") if action == "authorisation.grant" else (action, target)


def _call(ledger: Ledger, action: str, target: str, send: Any) -> httpx.Response | None:
    """Send one write; None once the host is gone (and the stream stops)."""
    try:
        r = send()
    except httpx.ConnectError:
        return None  # never reached the host: not applied
    except httpx.TransportError:
        with ledger.lock:  # sent, answer lost: applied or not
            ledger.lost[_key(action, target)] += 1
            ledger.lost_targets.add(target)
        return None
    if not r.is_success:
        with ledger.lock:
            ledger.unexpected.append(f"{action} {target}: {r.status_code} {r.text[:200]}")
        return None
    with ledger.lock:
        ledger.acked[_key(action, target)] += 1
    return r


def _deposits(
    url: str, path: str, headers: dict[str, str], ledger: Ledger, rng: random.Random, tag: str
) -> None:
    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
        for i in range(10_000):
            title = f"crash {tag} {i}"
            content = "".join(rng.choices("abcdefghij \n", k=rng.randint(10, 60_000)))
            with ledger.lock:
                ledger.attempted_titles.add(title)
            body = {"type": "11488-4", "title": title, "content": content}
            r = _call(ledger, "document.deposit", title, lambda: http.post(path, json=body))
            if r is None:
                return
            digest = hashlib.sha256(content.encode()).hexdigest()
            with ledger.lock:
                ledger.deposits[title] = (r.json()["id"], digest)


def _patient(
    url: str,
    token: str,
    ledger: Ledger,
    rng: random.Random,
    docs: list[str],
    pool: list[str],
) -> None:
    headers = {"Authorization": f"Bearer {token}"}

    def version(path: str) -> dict[str, str] | None:
        """If-Match for a change: the ETag of the resource as it is now (None: host gone)."""
        try:
            r = http.get(path)
        except httpx.TransportError:
            return None
        return {"If-Match": r.headers["ETag"]} if r.is_success else None

    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
        while True:
            if rng.random() < 0.5:
                doc = rng.choice(docs)
                action = "document.unmask" if ledger.masked[doc] else "document.mask"
                verb = action.split(".")[1]
                path = f"/v1/record/documents/{doc}/{verb}"
                match = version(f"/v1/record/documents/{doc}")
                if match is None:
                    return
                r = _call(ledger, action, doc, lambda p=path, h=match: http.post(p, headers=h))
                if r is None:
                    return
                ledger.masked[doc] = action == "document.mask"
            else:
                rpps = rng.choice(pool)
                action = "authorisation.revoke" if ledger.granted[rpps] else "authorisation.grant"
                path = f"/v1/record/authorisations/{rpps}"
                method = http.delete if ledger.granted[rpps] else http.put
                match = version("/v1/record/practitioners")
                if match is None:
                    return
                r = _call(ledger, action, rpps, lambda m=method, p=path, h=match: m(p, headers=h))
                if r is None:
                    return
                ledger.granted[rpps] = action == "authorisation.grant"


def _trace_counts(s: Session, record_id: int) -> Counter[tuple[str, str]]:
    """Allowed entries per (action, target): the document for masks, the RPPS for revokes,
    nothing for grants (their entry does not name the practitioner)."""
    rows = s.execute(
        select(TraceEntry.action, TraceEntry.document_id, TraceEntry.reason).where(
            TraceEntry.record_id == record_id, TraceEntry.outcome == "allowed"
        )
    ).all()
    out: Counter[tuple[str, str]] = Counter()
    for action, doc, reason in rows:
        if action in ("document.mask", "document.unmask"):
            out[(action, doc)] += 1
        elif action == "authorisation.revoke":
            out[(action, (reason or "").removeprefix("rpps:"))] += 1
        elif action == "authorisation.grant":
            out[(action, "*")] += 1
    return out


def _check(
    db: Database,
    data_dir: Path,
    ledger: Ledger,
    baseline: Counter[tuple[str, str]],
    ins: str,
) -> None:
    # Sessions of a Host on the same database and key: they open the sealed columns.
    checker = Host(db.url, data_dir)
    try:
        with checker.sessions() as s:
            _check_whole(s, db)
            record_id = s.scalar(select(Record.id).where(Record.ins == ins))
            assert record_id is not None
            _check_writes(s, ledger, baseline, record_id)
    finally:
        checker.engine.dispose()


def _check_tree(s: Session, record_id: int, size: int) -> None:
    """The trace verifies: every entry's stored leaf hash is the hash of the entry as the
    patient is shown it, and the host's tree (its stored subtree hashes) has the root of those
    leaves; so no append was half-written (an entry without its nodes, or nodes without it)."""
    from dmptui import merkle
    from dmptui.host import ledger as host_ledger
    from dmptui.host.routes.patient import trace_out

    if size == 0:
        return
    entries = s.scalars(
        select(TraceEntry).where(TraceEntry.record_id == record_id).order_by(TraceEntry.seq)
    ).all()
    leaves = [bytes(e.leaf_hash) for e in entries]
    assert leaves == [merkle.entry_hash(trace_out(s, e)) for e in entries], record_id
    assert host_ledger.root(s.connection(), record_id, size) == merkle.root(leaves), record_id


def _check_whole(s: Session, db: Database) -> None:
    """Nothing half-written, anywhere in the database."""
    if db.path is not None:
        assert s.execute(text("PRAGMA integrity_check")).scalars().all() == ["ok"]
        assert s.execute(text("PRAGMA foreign_key_check")).all() == []
    # Every record: trace_size entries, seq 1..trace_size, no gap, no repeat.
    per_record = s.execute(
        select(
            Record.id,
            Record.trace_size,
            select(func.count(TraceEntry.id))
            .where(TraceEntry.record_id == Record.id)
            .scalar_subquery(),
            select(func.count(func.distinct(TraceEntry.seq)))
            .where(TraceEntry.record_id == Record.id)
            .scalar_subquery(),
            select(func.coalesce(func.min(TraceEntry.seq), 1))
            .where(TraceEntry.record_id == Record.id)
            .scalar_subquery(),
            select(func.coalesce(func.max(TraceEntry.seq), 0))
            .where(TraceEntry.record_id == Record.id)
            .scalar_subquery(),
        )
    ).all()
    for rid, size, count, distinct, low, high in per_record:
        assert size == count == distinct == high and low == 1, (rid, size, count, low, high)
        _check_tree(s, rid, size)
    # Every document: its body, of its size, and its deposit entry.
    orphans = s.scalars(
        select(Document.id)
        .outerjoin(DocumentBody, DocumentBody.document_id == Document.id)
        .where(
            (DocumentBody.document_id.is_(None))
            | (func.length(DocumentBody.data) != Document.size + crypto.OVERHEAD)
        )
    ).all()
    assert orphans == []
    untraced = s.scalars(
        select(Document.id).where(
            ~select(TraceEntry.id)
            .where(
                TraceEntry.record_id == Document.record_id,
                TraceEntry.document_id == Document.id,
                TraceEntry.action == "document.deposit",
                TraceEntry.outcome == "allowed",
            )
            .exists()
        )
    ).all()
    assert untraced == []


def _check_writes(
    s: Session, ledger: Ledger, baseline: Counter[tuple[str, str]], record_id: int
) -> None:
    # Deposits: every acknowledged one, whole; none that was never sent.
    found = {}
    for doc in s.scalars(select(Document).where(Document.record_id == record_id)):
        title = crypto.document_title(s, doc)
        if title.startswith("crash "):
            content = crypto.document_content(s, doc)
            found[title] = (doc.id, hashlib.sha256(content).hexdigest())
    for title, (doc_id, digest) in ledger.deposits.items():
        assert found.get(title) == (doc_id, digest), f"acknowledged deposit {title} lost"
    assert set(found) <= ledger.attempted_titles
    lost_deposits = sum(n for (a, _), n in ledger.lost.items() if a == "document.deposit")
    assert len(ledger.deposits) <= len(found) <= len(ledger.deposits) + lost_deposits
    # Each applied change has exactly one trace entry.
    counts = _trace_counts(s, record_id)
    for key in set(ledger.acked) | set(ledger.lost) | set(counts):
        if key[0] == "document.deposit":
            continue
        acked, lost, have = ledger.acked[key], ledger.lost[key], counts[key] - baseline[key]
        assert acked <= have <= acked + lost, (key, acked, lost, have)
    # The state is the last acknowledged write (or the lost one, for its own target).
    labels = dict(
        s.execute(select(Document.id, Document.labels).where(Document.id.in_(ledger.masked))).all()
    )
    for doc, masked in ledger.masked.items():
        now_masked = MASKED in labels[doc]
        if doc not in ledger.lost_targets:
            assert now_masked == masked, doc
        ledger.masked[doc] = now_masked
    granted = set(s.scalars(select(Authorisation.rpps).where(Authorisation.record_id == record_id)))
    for rpps, want in ledger.granted.items():
        if rpps not in ledger.lost_targets:
            assert (rpps in granted) == want, rpps
        ledger.granted[rpps] = rpps in granted
    ledger.lost_targets.clear()


def test_sigkill_during_writes_loses_nothing_acknowledged(
    demo_template: tuple[Path, dict[str, Any]], tmp_path: Path
) -> None:
    started = time.monotonic()
    db = demo_database(demo_template, tmp_path)
    creds = db.creds
    ins = creds["patient"]["ins"]
    deposit = f"/v1/ps/records/{ins}/documents"
    data_dir = tmp_path / "data"
    rng = random.Random(SEED)
    host: HostProcess = start_host(db.url, data_dir)
    try:
        # One login: the session lives in the database and outlives every crash.
        token = login(host.url, creds)
        auth = {"Authorization": f"Bearer {token}"}
        items = httpx.get(f"{host.url}/v1/record/documents", headers=auth).json()["items"]
        docs = [d["id"] for d in items[:4]]
        never = {str(p) for p in policy.NEVER_ACCESS}
        pool = [
            p["rpps"]
            for p in creds["practitioners"]
            if p["role"] == "directory" and p["profession"] not in never
        ][:3]
        assert len(docs) == 4 and len(pool) == 3
        ledger = Ledger()
        engine = create_engine(db.url)
        with Session(engine) as s:
            record_id = s.scalar(select(Record.id).where(Record.ins == ins))
            assert record_id is not None
            baseline = _trace_counts(s, record_id)
            labels = dict(s.execute(select(Document.id, Document.labels)).all())
            granted = set(s.scalars(select(Authorisation.rpps)))
        engine.dispose()
        ledger.masked = {d: MASKED in labels[d] for d in docs}
        ledger.granted = {p: p in granted for p in pool}
        for round_no in range(ROUNDS):
            streams = [
                threading.Thread(
                    target=_deposits,
                    args=(
                        host.url,
                        deposit,
                        ps_headers(creds, role),
                        ledger,
                        random.Random(rng.random()),
                        f"{round_no}{role[:3]}",
                    ),
                )
                for role in ("author", "attending")
            ]
            streams.append(
                threading.Thread(
                    target=_patient,
                    args=(host.url, token, ledger, random.Random(rng.random()), docs, pool),
                )
            )
            for t in streams:
                t.start()
            time.sleep(rng.uniform(0.3, 1.5))
            host.kill()
            for t in streams:
                t.join(timeout=30)
                assert not t.is_alive()
            assert ledger.unexpected == []
            host = start_host(db.url, data_dir)
            _check(db, data_dir, ledger, baseline, ins)
            # The patient's session survived the crash.
            r = httpx.get(f"{host.url}/v1/record/documents", headers=auth, params={"limit": 1})
            assert r.status_code == 200, r.text
        acked = sum(ledger.acked.values())
        assert len(ledger.deposits) >= ROUNDS and acked >= 10 * ROUNDS, ledger.acked
    finally:
        host.stop()
    print(
        f"\ncrash test: {ROUNDS} rounds, {sum(ledger.acked.values())} acknowledged writes "
        f"({len(ledger.deposits)} deposits), {sum(ledger.lost.values())} answers lost, "
        f"{time.monotonic() - started:.1f} s"
    )
