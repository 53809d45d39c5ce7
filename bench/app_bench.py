"""Patient-app benchmark: start-up and large lists, from one run, printed against their goals.

1. Start-up: the real ``dmptui`` (``python -m dmptui.entry.cli --host URL --lang en``) and the
   demo (``python -m dmptui.entry.cli demo --lang en``, its host process starting beside it)
   against a minimal Textual app with one Static, each launched under a pseudo-terminal (120x40,
   TERM=xterm-256color), in turn; the clock stops when the terminal output holds a text that
   only the painted screen writes. Goals: both ratios <= 1.5, resident memory <= 60 MB.
2. Large lists: 10,000 documents and 100,000 trace entries for the demo patient, served by the
   real host (its own process); the real app driven with ``App.run_test`` (its own process per
   screen). Goal: the first page painted <= 150 ms after its data arrived; memory is sampled
   while scrolling to the end (the goal says "flat").

Run: ``uv run python bench/app_bench.py`` (``--help`` for the knobs). It always exits 0: the
figures are reported, not asserted. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import json
import os
import platform
import pty
import select
import signal
import sqlite3
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

GOAL_START_RATIO = 1.5  # dmptui start-up / minimal app start-up, at most
GOAL_START_RSS_MB = 60.0  # dmptui resident memory once the login screen is painted, at most
GOAL_FIRST_PAGE_MS = 150.0  # data arrived -> first page painted, at most
GOAL_FLAT_MB_PER_1000 = 0.1  # "memory stays flat": RSS growth per 1,000 rows scrolled, below

COLS, LINES = 120, 40
DMPTUI_MARKER = "0 — Log in"  # the login screen's title row (catalogue.screen_label(LOGIN))
MINIMAL_MARKER = "Minimal app painted"
DEMO_READY_MARKER = "the demo record host is ready."  # reader mode, once the demo host answers
MINIMAL_APP = f"""\
from textual.app import App
from textual.widgets import Static


class Minimal(App):
    def compose(self):
        yield Static({MINIMAL_MARKER!r})


Minimal().run()
"""
# The same programs, run with ``-X importtime``: the import log goes to fd 2 (a file), and
# Textual (which writes to ``sys.__stderr__``) is pointed back at the terminal.
IMPORTTIME_WRAPPER = """\
import os, sys
sys.__stderr__ = sys.stderr = os.fdopen(os.dup(1), "w")
{body}
"""
DMPTUI_BODY = """\
from dmptui.entry.cli import main
sys.exit(main(["--host", {host!r}, "--lang", "en"]))
"""
UNUSED_HOST = "http://127.0.0.1:9"  # the login screen paints without calling the host
# The list of a list screen: a PagedList (screens/widgets/paged_list.py) since the virtual
# list; a DataTable before. Both have ``row_count`` (rows known so far).
LIST_WIDGETS = "PagedList, DataTable"


def rss_kb(pid: int | str = "self") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def mb(kb: float) -> float:
    return kb / 1024


def verdict(ok: bool) -> str:
    return "goal met" if ok else "goal missed"


# --- 1. start-up -----------------------------------------------------------------------------


def launch(argv: list[str], marker: str, env: dict[str, str], stderr_to: Path | None = None):
    """Run ``argv`` on a new pseudo-terminal; return (seconds until ``marker`` was written,
    VmRSS in kB at that moment). The process is killed as soon as the marker is seen."""
    needle = marker.encode()
    started = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # child: size the terminal before the program asks for it
        try:
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", LINES, COLS, 0, 0))
            if stderr_to is not None:
                log = os.open(stderr_to, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                os.dup2(log, 2)
            os.execve(argv[0], argv, env)
        finally:
            os._exit(127)
    buf = b""
    found = None
    try:
        while time.perf_counter() - started < 60:
            ready, _, _ = select.select([fd], [], [], 0.5)
            if not ready:
                continue
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:  # the program ended without painting
                break
            if not chunk:
                break
            tail = buf[-len(needle) :] + chunk
            buf += chunk
            if needle in tail:
                found = time.perf_counter() - started
                break
        rss = rss_kb(pid) if found is not None else 0
    finally:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        os.waitpid(pid, 0)
        os.close(fd)
    if found is None:
        raise RuntimeError(f"{argv[-1]!r}: marker {marker!r} never written; output {buf[-400:]!r}")
    return found, rss


def wait_empty(folder: Path, limit: float = 120.0) -> bool:
    """Wait until ``folder`` is empty: the demo host process of a ``dmptui demo`` that was killed
    removes its own directory when it ends (it sees its stdin close). Not measured: the next
    launch starts on a machine with nothing of the previous one left running."""
    deadline = time.monotonic() + limit
    while any(folder.iterdir()):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def bench_startup(runs: int, env: dict[str, str], tmp: Path) -> dict[str, Any]:
    """The three programs, one launch each per round, the order going through every permutation
    (so none is always first, or always after the demo)."""
    import itertools

    demo_tmp = tmp / "demo-tmp"  # the demo host's directory goes here (TMPDIR)
    demo_tmp.mkdir()
    demo_env = dict(env, TMPDIR=str(demo_tmp))
    progs = {
        "dmptui": (
            [sys.executable, "-m", "dmptui.entry.cli", "--host", UNUSED_HOST, "--lang", "en"],
            DMPTUI_MARKER,
            env,
        ),
        "demo": (
            [sys.executable, "-m", "dmptui.entry.cli", "demo", "--lang", "en"],
            DMPTUI_MARKER,
            demo_env,
        ),
        "minimal": ([sys.executable, "-c", MINIMAL_APP], MINIMAL_MARKER, env),
    }
    leftovers = 0

    def once(name: str) -> tuple[float, int]:
        nonlocal leftovers
        result = launch(*progs[name])
        if name == "demo" and not wait_empty(demo_tmp):
            leftovers += 1
        return result

    for name in progs:  # warm-up: bytecode caches, page cache
        once(name)
    out: dict[str, Any] = {k: {"s": [], "rss": []} for k in progs}
    orders = list(itertools.permutations(progs))
    for i in range(runs):
        for name in orders[i % len(orders)]:
            seconds, rss = once(name)
            out[name]["s"].append(seconds)
            out[name]["rss"].append(rss)
    # For information: how long until the demo host answers (the login can go on), in reader
    # mode, which says so in a line (the TUI says nothing while the patient is still typing).
    ready_argv = [sys.executable, "-m", "dmptui.entry.cli", "demo", "--screen-reader"]
    ready_argv += ["--lang", "en"]
    out["demo_ready"] = []
    for _ in range(3):
        out["demo_ready"].append(launch(ready_argv, DEMO_READY_MARKER, demo_env)[0])
        if not wait_empty(demo_tmp):
            leftovers += 1
    out["demo_leftovers"] = leftovers
    return out


def parse_importtime(path: Path) -> list[tuple[str, int, list[str]]]:
    """(module, self µs, importers from the outermost down) per line of a -X importtime log."""
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, _cumulative, name = line[len("import time:") :].split("|", 2)
        depth = (len(name) - len(name.lstrip(" "))) // 2
        rows.append((name.strip(), int(self_us), depth))
    # Lines come children first: walk backwards to know each module's importers.
    out: list[tuple[str, int, list[str]]] = []
    stack: list[tuple[int, str]] = []
    for name, self_us, depth in reversed(rows):
        while stack and stack[-1][0] >= depth:
            stack.pop()
        out.append((name, self_us, [n for _d, n in stack]))
        stack.append((depth, name))
    out.reverse()
    return out


PROJECT = ("dmptui", "screens")


def import_profile(env: dict[str, str], tmp: Path) -> list[tuple[str, float, int]]:
    """What dmptui imports before its login screen is painted that the minimal app does not,
    each module counted under the package that the project's code imported to get it:
    [(e.g. "keyring, imported by dmptui.session", self ms under -X importtime, modules)]."""
    logs = {}
    bodies = {
        "dmptui": (DMPTUI_BODY.format(host=UNUSED_HOST), DMPTUI_MARKER),
        "minimal": (MINIMAL_APP, MINIMAL_MARKER),
    }
    for name, (body, marker) in bodies.items():
        logs[name] = tmp / f"importtime-{name}.log"
        code = IMPORTTIME_WRAPPER.format(body=body)
        launch([sys.executable, "-X", "importtime", "-c", code], marker, env, logs[name])
    base = {m for m, _us, _via in parse_importtime(logs["minimal"])}
    groups: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for module, self_us, importers in parse_importtime(logs["dmptui"]):
        if module in base:
            continue
        chain = [*importers, module]
        entry = next((i for i, m in enumerate(chain) if m.split(".")[0] not in PROJECT), None)
        if entry is None:
            key = "dmptui and screens modules themselves"
        elif entry == 0:  # no importer: imported inside a function, or by another thread
            key = f"{chain[0].split('.')[0]}, imported at run time (a call or a thread)"
        else:
            key = f"{chain[entry].split('.')[0]}, imported by {chain[entry - 1]}"
        groups[key][0] += self_us
        groups[key][1] += 1
    ranked = sorted(groups.items(), key=lambda kv: -kv[1][0])
    return [(key, us / 1000, n) for key, (us, n) in ranked]


# --- 2. large lists: the host (own process) --------------------------------------------------


def sqlite_time(moment: datetime) -> str:
    """A UTC moment as SQLAlchemy stores it in SQLite (naive, microseconds always)."""
    return moment.astimezone(UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")


def parse_sqlite_time(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def fill_database(
    db_path: Path, creds: dict[str, Any], n_docs: int, n_trace: int, record_key: Any
) -> dict[str, Any]:
    """Bring the demo record to ``n_docs`` documents and ``n_trace`` trace entries with bulk
    inserts (sequence numbers contiguous, ``records.trace_size`` = the last one). Each document
    is sealed as the host seals a deposit: its own key, wrapped by the record's (``record_key``,
    an AESGCM), the title and the body sealed under it."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from dmptui.host import crypto
    from dmptui.schema import DocType

    now = datetime.now(UTC)
    conn = sqlite3.connect(db_path)
    (rid,) = conn.execute(
        "SELECT id FROM records WHERE ins = ?", (creds["patient"]["ins"],)
    ).fetchone()
    (have_docs,) = conn.execute(
        "SELECT count(*) FROM documents WHERE record_id = ?", (rid,)
    ).fetchone()
    (trace_size,) = conn.execute("SELECT trace_size FROM records WHERE id = ?", (rid,)).fetchone()
    (last_at,) = conn.execute(
        "SELECT max(at) FROM trace_entries WHERE record_id = ?", (rid,)
    ).fetchone()
    people = creds["practitioners"]
    types = [t.value for t in DocType if t is not DocType.PATIENT_NOTE]
    filler = "Examen clinique sans particularité. Constantes normales. Suite de prise en charge. "

    docs, bodies, doc_ids = [], [], []
    for i in range(max(0, n_docs - have_docs)):
        author = people[i % len(people)]
        deposited = now - timedelta(days=1, hours=i)
        body = (f"Document de banc d'essai n° {i}.\n" + filler * 3).encode()
        doc_id = uuid.uuid4().hex
        doc_ids.append(doc_id)
        data_key = crypto.new_data_key()
        wrapped = crypto.Keyring.wrap_document_key(record_key, rid, doc_id, data_key)
        doc_key = AESGCM(data_key)
        docs.append(
            (
                doc_id,
                rid,
                types[i % len(types)],
                crypto.seal_title(doc_key, rid, doc_id, f"Compte rendu de suivi n° {i}"),
                wrapped,
                author["rpps"],
                author["facility"],
                sqlite_time(deposited.replace(hour=0, minute=0, second=0, microsecond=0)),
                sqlite_time(deposited),
                sqlite_time(deposited),
                "text/plain",
                len(body),
                "[]",
                0,
            )
        )
        bodies.append((doc_id, crypto.seal_content(doc_key, rid, doc_id, body)))

    start = parse_sqlite_time(last_at) if last_at else now - timedelta(days=400)
    n_new = max(0, n_trace - trace_size)
    step = (now - timedelta(minutes=1) - start) / max(n_new, 1)
    entries = []
    patient_name = creds["patient"].get("name")
    for k in range(n_new):
        seq = trace_size + k + 1
        at = start + step * (k + 1)
        mode, outcome, reason, doc = "normal", "allowed", None, None
        if k % 3 == 0:
            who: tuple[Any, ...] = ("patient", None, patient_name, None, None)
        else:
            p = people[k % len(people)]
            who = ("practitioner", p["rpps"], p["name"], p["profession"], p["facility"])
            if k % 97 == 0:
                mode, reason = "break-glass", "Admission aux urgences : recherche des antécédents"
            elif k % 50 == 0:
                outcome, reason = "denied", "not_authorised"
            if doc_ids and k % 3 == 1:
                doc = doc_ids[k % len(doc_ids)]
        action = "document.read" if doc else "documents.list"
        role, rpps, name, profession, facility = who
        entries.append(
            {
                "seq": seq,
                "at": at,
                "actor_role": role,
                "actor_rpps": rpps,
                "actor_name": name,
                "actor_profession": profession,
                "actor_facility": facility,
                "action": action,
                "document_id": doc,
                "mode": mode,
                "outcome": outcome,
                "reason": reason,
            }
        )
    with conn:
        conn.executemany(
            "INSERT INTO documents (id, record_id, type, title_sealed, wrapped_key, author_rpps,"
            " facility, care_date, deposited_at, patient_visible_from, content_type, size,"
            " labels, notice_sent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            docs,
        )
        conn.executemany("INSERT INTO document_bodies (document_id, data) VALUES (?, ?)", bodies)
        # Leaf hashes and the Merkle tree's nodes too, with the host's hashing.
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from ledger_bench import extend_trace

        extend_trace(conn, rid, entries)
    counts = {
        "documents": conn.execute(
            "SELECT count(*) FROM documents WHERE record_id = ?", (rid,)
        ).fetchone()[0],
        "trace": conn.execute(
            "SELECT count(*), max(seq) FROM trace_entries WHERE record_id = ?", (rid,)
        ).fetchone(),
    }
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return counts


def host_process(work: Path, n_docs: int, n_trace: int) -> int:
    """Internal: build the database, serve the real host, print one JSON line, and serve until
    stdin closes."""
    sys.path.insert(0, str(ROOT / "tests"))
    from hostkit import serve  # the test kit's uvicorn-in-a-thread server (TCP_NODELAY)
    from sqlalchemy import select

    from dmptui.host import crypto
    from dmptui.host.app import create_app
    from dmptui.host.context import Host
    from dmptui.host.db import Record, migrate
    from dmptui.host.seed import seed_demo

    t0 = time.perf_counter()
    db_path, data_dir = work / "host.sqlite3", work / "data"
    data_dir.mkdir(exist_ok=True)
    url = f"sqlite:///{db_path}"
    migrate(url)
    crypto.ensure_master_key(data_dir)
    host = Host(url, data_dir)
    creds = seed_demo(host)
    with host.sessions() as s:  # the record's key, to seal the bulk documents as the host does
        record = s.scalar(select(Record).where(Record.ins == creds["patient"]["ins"]))
        record_key = crypto.record_cipher(s, record.id)
    host.engine.dispose()
    seeded = time.perf_counter() - t0
    counts = fill_database(db_path, creds, n_docs, n_trace, record_key)
    filled = time.perf_counter() - t0 - seeded
    with serve(create_app(url, data_dir)) as base:
        print(
            json.dumps(
                {"url": base, "creds": creds, "counts": counts, "seed_s": seeded, "fill_s": filled}
            ),
            flush=True,
        )
        sys.stdin.read()
    return 0


# --- 2. large lists: the app (own process per screen) ----------------------------------------


def cell_cache_size(bound: bool = False) -> int:
    """Strings in rich's cache of cell widths (``rich.cells.cached_cell_len``, an LRU bounded
    at 4,096), or its bound: every text drawn or wrapped is measured through it, so new texts
    (the count in the status line, the dates of new rows) fill it up to its bound, then
    replace each other."""
    from rich.cells import cached_cell_len

    info = cached_cell_len.cache_info()
    return (info.maxsize or 0) if bound else info.currsize


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    """Let the app run (plain event-loop sleeps: no forced repaint) until ``predicate()``."""
    deadline = time.perf_counter() + timeout
    while not predicate():
        if time.perf_counter() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        await asyncio.sleep(0.002)


async def drive_list(conf: dict[str, Any]) -> dict[str, Any]:
    import pyotp

    from dmptui import catalogue, i18n
    from screens.app import AppConfig, DmpApp

    key, target = conf["screen"], conf["rows"]
    method = {"documents": "documents", "trace": "trace"}[key]
    patient = conf["creds"]["patient"]
    i18n.set_language("en")
    app = DmpApp(AppConfig(host_url=conf["url"], lang="en", ins=patient["ins"]))
    result: dict[str, Any] = {"screen": key}
    async with app.run_test(size=(COLS, LINES)) as pilot:
        # Log in with the keyboard, as tests/tuikit.py does.
        await wait_until(lambda: type(app.screen).__name__ == "LoginScreen", 30, "login")
        app.screen.query_one("#password").focus()
        await pilot.press(*patient["password"])
        await pilot.press("enter")
        await wait_until(lambda: app.screen.query_one("#code-step").display, 30, "code step")
        step = int(time.time()) // 30
        while step <= conf.get("after_step", 0):  # the host refuses a step already used
            await asyncio.sleep(0.5)
            step = int(time.time()) // 30
        await pilot.press(*pyotp.TOTP(patient["totp_secret"]).at(step * 30))
        await pilot.press("enter")
        await wait_until(lambda: type(app.screen).__name__ == "HomeScreen", 30, "home")
        await pilot.pause(0.5)
        result["step"] = step
        result["rss_home_kb"] = rss_kb()

        # Instruments: when each page's data arrived (the client call returned), and each
        # paint of the list screen (the update is rendered to terminal text, as a real
        # terminal run does; headless Textual skips only that last step).
        arrivals: list[tuple[float, int, int | None, bool]] = []
        real_call = getattr(app.client, method)

        async def timed_call(*args: Any, **kwargs: Any) -> Any:
            page = await real_call(*args, **kwargs)
            arrivals.append(
                (
                    time.perf_counter(),
                    len(page.items),
                    kwargs.get("limit"),
                    kwargs.get("cursor") is not None,
                )
            )
            return page

        setattr(app.client, method, timed_call)
        paints: list[tuple[float, int]] = []
        real_display = app._display
        tables: list[Any] = []

        def display(screen: Any, renderable: Any) -> None:
            if renderable is not None and getattr(screen, "SCREEN_KEY", "") == key:
                if hasattr(renderable, "render_segments"):
                    renderable.render_segments(app.console)
                if not tables:
                    tables.extend(screen.query(LIST_WIDGETS))
                if tables:
                    paints.append((time.perf_counter(), tables[0].row_count))
            real_display(screen, renderable)

        app._display = display  # type: ignore[method-assign]

        def painted_after(t: float, rows: int) -> float | None:
            """The first paint after ``t`` that showed at least ``rows`` rows."""
            found = None
            for p, n in reversed(paints):  # newest first: stop at the paints before ``t``
                if p <= t:
                    break
                if n >= rows:
                    found = p
            return found

        # Open the screen several times (Esc back home in between): the first-page figure is
        # the median over the openings. The last opening is then scrolled.
        opened = []
        for i in range(conf["openings"]):
            if i:
                await pilot.press("escape")
                await wait_until(lambda: type(app.screen).__name__ == "HomeScreen", 30, "home")
                await pilot.pause(0.3)
            tables.clear()
            calls, n_paints = len(arrivals), len(paints)
            t_open = time.perf_counter()
            await pilot.press(str(catalogue.BY_KEY[key].number))
            await wait_until(lambda c=calls: len(arrivals) > c, 30, "the first page")
            arrived = arrivals[calls][0]
            await wait_until(lambda a=arrived: painted_after(a, 1), 10, "the first paint")
            shown = painted_after(arrived, 1)
            opened.append(
                {
                    "first_page_ms": (shown - arrived) * 1000,
                    "screen_painted": (paints[n_paints][0] - t_open) * 1000,
                    "data_arrived": (arrived - t_open) * 1000,
                    "rows_painted": (shown - t_open) * 1000,
                }
            )
        first = arrivals[-1]
        result["openings"] = opened
        result["first_page_ms"] = statistics.median(o["first_page_ms"] for o in opened)
        result["open_ms"] = {
            k: statistics.median(o[k] for o in opened)
            for k in ("screen_painted", "data_arrived", "rows_painted")
        }
        result["first_call"] = {"items": first[1], "limit": first[2], "cursor": first[3]}
        table = app.screen.query(LIST_WIDGETS).first()
        calls = len(arrivals)
        await asyncio.sleep(1.0)  # nothing moves: does the screen fetch more on its own?
        result["lazy"] = {
            "calls_after_1s": len(arrivals) - calls + 1,
            "rows_after_1s": table.row_count,
        }

        def more_to_load() -> bool:
            screen = app.screen
            return bool(getattr(screen, "next_cursor", None))

        # The bench's own records live in the measured process: while scrolling, each page's
        # call and paints are forgotten once the page is timed (only their count and the
        # limits asked are kept), so that they do not grow with the rows themselves.
        calls_before = 0
        limits = {a[2] for a in arrivals if a[2] is not None}
        samples = [(table.row_count, rss_kb())]
        cell_cache = [cell_cache_size()]
        page_ms: list[float] = []
        next_sample = conf["sample_every"]
        t_scroll = time.perf_counter()
        capped = False
        while table.row_count < target and more_to_load():
            if time.perf_counter() - t_scroll > conf["max_scroll_s"]:
                capped = True
                break
            limits.update(a[2] for a in arrivals if a[2] is not None)
            calls_before += len(arrivals)
            arrivals.clear()
            paints.clear()
            rows, calls = table.row_count, len(arrivals)
            await pilot.press("ctrl+end")
            await wait_until(
                lambda r=rows, c=calls: (
                    (len(arrivals) > c and table.row_count > r) or not more_to_load()
                ),
                60,
                "the next page",
            )
            if len(arrivals) > calls:
                arrived, n = arrivals[-1][0], table.row_count
                await wait_until(lambda a=arrived, n=n: painted_after(a, n), 10, "a paint")
                page_ms.append((painted_after(arrived, n) - arrived) * 1000)
            if table.row_count >= next_sample:
                samples.append((table.row_count, rss_kb()))
                next_sample += conf["sample_every"]
        result["scroll_s"] = time.perf_counter() - t_scroll
        if samples[-1][0] != table.row_count:
            samples.append((table.row_count, rss_kb()))
        result["samples"] = samples
        result["cell_cache"] = [*cell_cache, cell_cache_size(), cell_cache_size(bound=True)]
        result["page_ms"] = page_ms
        result["rows"] = table.row_count
        limits.update(a[2] for a in arrivals if a[2] is not None)
        result["calls"] = calls_before + len(arrivals)
        result["limits"] = sorted(limits)
        result["more_left"] = more_to_load()
        result["capped"] = capped
    return result


def list_process(conf_path: Path) -> int:
    """Internal: measure one list screen, print the result as one JSON line."""
    sys.path.insert(0, str(ROOT))
    conf = json.loads(conf_path.read_text())
    result = asyncio.run(drive_list(conf))
    print("RESULT " + json.dumps(result), flush=True)
    return 0


def run_list(
    screen: str,
    url: str,
    creds: dict[str, Any],
    rows: int,
    after_step: int,
    max_scroll_s: float,
    openings: int,
    tmp: Path,
) -> dict[str, Any]:
    conf_path = tmp / f"{screen}.json"
    conf = {
        "screen": screen,
        "url": url,
        "creds": creds,
        "rows": rows,
        "after_step": after_step,
        "sample_every": 1000,
        "max_scroll_s": max_scroll_s,
        "openings": openings,
    }
    conf_path.write_text(json.dumps(conf))
    # The app's own files (the trace's checked checkpoints, its device id) go under the run's
    # temporary directory, not the user's data and config folders.
    env = dict(os.environ, DMPTUI_DATA_DIR=str(tmp / "app-data"))
    for xdg in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        env[xdg] = str(tmp / xdg.lower())
    proc = subprocess.run(
        [sys.executable, __file__, "--_list", str(conf_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
        env=env,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise RuntimeError(f"{screen} run failed ({proc.returncode}): {proc.stderr[-2000:]}")


# --- report ----------------------------------------------------------------------------------


def growth_per_1000(samples: list[list[int]]) -> float:
    """Least-squares slope of RSS (kB) over rows, per 1,000 rows, in MB."""
    if len(samples) < 2 or samples[-1][0] == samples[0][0]:
        return 0.0
    xs = [s[0] for s in samples]
    ys = [s[1] for s in samples]
    return mb(statistics.linear_regression(xs, ys).slope * 1000)


def report_list(r: dict[str, Any], total: int) -> list[str]:
    samples = r["samples"]
    start, end = samples[0], samples[-1]
    middle = min(samples, key=lambda s: abs(s[0] - end[0] / 2))
    half = [s for s in samples if s[0] >= middle[0]]
    pages, lazy, first = r["page_ms"], r["lazy"], r["first_call"]
    opened = [o["first_page_ms"] for o in r["openings"]]
    if r["capped"]:
        where = "STOPPED by --max-scroll-s, more left on the host"
    elif r["more_left"]:
        where = "more left on the host"
    else:
        where = "end of the list reached"
    lines = [
        f"  lazy: the first call asks limit={first['limit']} and gets {first['items']} items;"
        f" left alone 1 s: {lazy['calls_after_1s']} call, {lazy['rows_after_1s']} rows"
        f" (the host holds {total})",
        f"  first page painted after its data arrived: median {r['first_page_ms']:.0f} ms"
        f" over {len(opened)} openings (min {min(opened):.0f}, max {max(opened):.0f})",
        "  opening, from the key press (medians): screen painted {screen_painted:.0f} ms,"
        " data arrived {data_arrived:.0f} ms, first rows painted {rows_painted:.0f} ms".format(
            **r["open_ms"]
        ),
        f"  scrolled with ctrl+end to row {r['rows']}: {r['calls'] - len(opened) + 1} pages of"
        f" {','.join(map(str, r['limits']))} in {r['scroll_s']:.0f} s; {where}",
    ]
    if pages:
        lines.append(
            f"  next page, data arrived -> painted, median ms: first 10 pages"
            f" {statistics.median(pages[:10]):.0f}, last 10 pages"
            f" {statistics.median(pages[-10:]):.0f}"
        )
    lines.append(
        f"  RSS MB: home {mb(r['rss_home_kb']):.1f}, first page {mb(start[1]):.1f}"
        f" (row {start[0]}), middle {mb(middle[1]):.1f} (row {middle[0]}),"
        f" end {mb(end[1]):.1f} (row {end[0]})"
    )
    lines.append(
        f"  RSS growth per 1,000 rows: {growth_per_1000(samples):.2f} MB overall,"
        f" {growth_per_1000(half):.2f} MB over the second half"
    )
    if "cell_cache" in r:
        lines.append(
            "  rich's cell-width cache: {} strings at the first page, {} at the end (its bound:"
            " {})".format(*r["cell_cache"])
        )
    return lines


# What the start-up imports cost, in wall-clock time: each snippet runs in a fresh interpreter
# after Textual (what the minimal app pays too) is imported, and times only the part named.
MARGINAL = {
    "keyring (dmptui.session)": ("", "import keyring, keyring.backend, keyring.errors"),
    "httpx (with its CLI)": ("", "import httpx"),
    "httpx, CLI blocked": ("sys.modules['httpx._main'] = None", "import httpx"),
    "dmptui.schema (pydantic)": ("import httpx", "import dmptui.schema"),
    "dmptui.client, all in": ("", "import dmptui.client"),
    "Client(url) (AsyncClient)": (
        "import dmptui.client",
        "dmptui.client.Client('http://127.0.0.1:9')",
    ),
}
MARGINAL_CODE = """\
import sys, time
import textual.app, textual.widgets
{before}
t = time.perf_counter()
{timed}
print(time.perf_counter() - t)
"""


def marginal_imports(rounds: int, env: dict[str, str]) -> dict[str, float]:
    times: dict[str, list[float]] = defaultdict(list)
    for _ in range(rounds):
        for name, (before, timed) in MARGINAL.items():
            code = MARGINAL_CODE.format(before=before, timed=timed)
            out = subprocess.run(
                [sys.executable, "-c", code],
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
                check=True,
            ).stdout
            times[name].append(float(out.strip().splitlines()[-1]))
    return {name: statistics.median(v) * 1000 for name, v in times.items()}


def startup_section(args: argparse.Namespace, env: dict[str, str], tmp: Path):
    st = bench_startup(args.runs, env, tmp)
    leftovers = st.pop("demo_leftovers")
    ready = st.pop("demo_ready")
    profile = import_profile(env, tmp)
    marginal = marginal_imports(5, env)
    med = {k: statistics.median(v["s"]) for k, v in st.items()}
    ratio = med["dmptui"] / med["minimal"]
    demo_ratio = med["demo"] / med["minimal"]
    rss = mb(statistics.median(st["dmptui"]["rss"]))
    lines = [
        f"start-up to painted: {args.runs} rounds of the three after one warm-up each, the order"
        f" going through every permutation, pty {COLS}x{LINES}; dmptui = --host URL, demo ="
        " `dmptui demo` (its host process starts once the login is painted)",
        f"  {'':9}{'median ms':>10}{'min ms':>9}{'max ms':>9}{'RSS MB':>9}",
    ]
    for name in ("dmptui", "demo", "minimal"):
        v = st[name]["s"]
        lines.append(
            f"  {name:9}{statistics.median(v) * 1000:>10.0f}{min(v) * 1000:>9.0f}"
            f"{max(v) * 1000:>9.0f}{mb(statistics.median(st[name]['rss'])):>9.1f}"
        )
    for name in ("dmptui", "demo"):  # each launch over the minimal app's of the same round
        per_round = [a / b for a, b in zip(st[name]["s"], st["minimal"]["s"], strict=True)]
        q1, q2, q3 = statistics.quantiles(per_round, n=4)
        lines.append(
            f"  {name} over minimal, round by round: median {q2:.2f}, middle half"
            f" {q1:.2f}–{q3:.2f} (the spread of this machine's noise)"
        )
    lines.append(
        f"  demo host answering (reader mode, launch to 'ready', 3 launches, for information):"
        f" median {statistics.median(ready) * 1000:.0f} ms"
    )
    if leftovers:
        lines.append(f"  ({leftovers} demo host process(es) still running 120 s after a launch)")
    lines.append(
        "  imported before the login screen is painted, not by the minimal app"
        " (self ms under -X importtime, inflated; top 8):"
    )
    for key, self_ms, n in profile[:8]:
        lines.append(f"    {self_ms:>5.0f} ms {n:>3} modules  {key}")
    lines.append("  wall-clock ms on top of Textual, median of 5 fresh interpreters:")
    lines.append("    " + ", ".join(f"{name} {value:.0f}" for name, value in marginal.items()))
    goals = [
        f"start-up ratio {ratio:.2f} (goal <= {GOAL_START_RATIO}):"
        f" {verdict(ratio <= GOAL_START_RATIO)}",
        f"demo start-up ratio {demo_ratio:.2f} (goal <= {GOAL_START_RATIO}):"
        f" {verdict(demo_ratio <= GOAL_START_RATIO)}",
        f"start-up RSS {rss:.1f} MB (goal <= {GOAL_START_RSS_MB:.0f} MB):"
        f" {verdict(rss <= GOAL_START_RSS_MB)}",
    ]
    return lines, goals


def lists_section(args: argparse.Namespace, tmp: Path):
    host_dir = tmp / "host"
    host_dir.mkdir()
    host = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--_host",
            str(host_dir),
            "--docs",
            str(args.docs),
            "--trace",
            str(args.trace),
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    try:
        assert host.stdout is not None
        ready = host.stdout.readline()
        if not ready:
            raise RuntimeError("the host process ended before serving")
        info = json.loads(ready)
        url, creds = info["url"], info["creds"]
        results: dict[str, dict[str, Any] | str] = {}
        step = 0
        for screen, rows in (("documents", args.doc_rows), ("trace", args.trace_rows)):
            try:
                r = run_list(screen, url, creds, rows, step, args.max_scroll_s, args.openings, tmp)
                step = r["step"]
                results[screen] = r
            except Exception as error:  # reported, not raised: the other figures still count
                step = int(time.time()) // 30  # a login may have used this step
                results[screen] = f"{type(error).__name__}: {error}"
    finally:
        if host.stdin is not None:
            host.stdin.close()  # the host process ends when its stdin closes
        try:
            host.wait(timeout=20)
        except subprocess.TimeoutExpired:
            host.kill()
            host.wait()
    totals = {"documents": info["counts"]["documents"], "trace": info["counts"]["trace"][0]}
    titles = {
        "documents": f"documents (screen 2), {totals['documents']} documents for the patient",
        "trace": f"trace (screen 4), {totals['trace']} entries",
    }
    lines = [
        f"large lists: host in its own process, app through run_test {COLS}x{LINES} in its own"
        f" process per screen; set-up: seed {info['seed_s']:.1f} s, bulk insert"
        f" {info['fill_s']:.1f} s",
    ]
    goals = []
    for name, r in results.items():
        lines.append(titles[name])
        if isinstance(r, str):
            lines.append(f"  NOT MEASURED: {r.strip()[-1500:]}")
            goals.append(f"{name}: not measured (the app failed, see above)")
            continue
        lines.extend(report_list(r, totals[name]))
        goals.append(
            f"{name} first page {r['first_page_ms']:.0f} ms after its data"
            f" (goal <= {GOAL_FIRST_PAGE_MS:.0f} ms):"
            f" {verdict(r['first_page_ms'] <= GOAL_FIRST_PAGE_MS)}"
        )
        slope = growth_per_1000(r["samples"])
        goals.append(
            f"{name} memory while scrolling to row {r['rows']}: {slope:.2f} MB per 1,000 rows"
            f" (goal flat: < {GOAL_FLAT_MB_PER_1000} MB): {verdict(slope < GOAL_FLAT_MB_PER_1000)}"
        )
    return lines, goals


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10, help="start-ups of each app (10)")
    parser.add_argument("--docs", type=int, default=10_000, help="documents on the host (10,000)")
    parser.add_argument("--trace", type=int, default=100_000, help="trace entries (100,000)")
    parser.add_argument(
        "--doc-rows", type=int, default=10_000, help="document rows to scroll to (10,000: all)"
    )
    parser.add_argument(
        "--trace-rows",
        type=int,
        default=100_000,
        help="trace rows to scroll to (100,000: all, about 5 minutes)",
    )
    parser.add_argument(
        "--openings", type=int, default=5, help="openings of each list screen timed (5)"
    )
    parser.add_argument(
        "--max-scroll-s",
        type=float,
        default=900.0,
        help="stop scrolling a screen after this many seconds, and say so (900)",
    )
    parser.add_argument("--skip-startup", action="store_true", help="lists only")
    parser.add_argument("--skip-lists", action="store_true", help="start-up only")
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary files go")
    parser.add_argument("--_host", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--_list", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args._host:
        return host_process(args._host, args.docs, args.trace)
    if args._list:
        return list_process(args._list)

    load_before = os.getloadavg()[0]
    started = time.perf_counter()
    lines: list[str] = []
    goals: list[str] = []
    with tempfile.TemporaryDirectory(prefix="dmptui-app-bench-", dir=args.dir) as tmp:
        tmp_path = Path(tmp)
        env = dict(os.environ, TERM="xterm-256color", COLUMNS=str(COLS), LINES=str(LINES))
        # PYTHONDONTWRITEBYTECODE (set on these machines) would make every launch compile every
        # module from source, and the warm-up would warm nothing: both programs are measured as
        # a person runs them from the second launch on, with their bytecode cached.
        for name in ("NO_COLOR", "TEXTUAL", "DMPTUI_HOST", "ACCESSIBLE", "PYTHONDONTWRITEBYTECODE"):
            env.pop(name, None)
        for xdg in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            env[xdg] = str(tmp_path / xdg.lower())  # no config.toml, no remembered session
        if not args.skip_startup:
            more, met = startup_section(args, env, tmp_path)
            lines += [*more, ""]
            goals += met
        if not args.skip_lists:
            more, met = lists_section(args, tmp_path)
            lines += [*more, ""]
            goals += met

    print(
        f"dmptui app bench  {datetime.now(UTC):%Y-%m-%d %H:%M} UTC  nproc={os.cpu_count()}  "
        f"python {platform.python_version()}  load {load_before:.2f}  "
        f"run {time.perf_counter() - started:.0f} s"
    )
    print()
    for line in [*lines, *goals]:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
