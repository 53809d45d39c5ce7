"""The export of a whole record: time, the archive's size, and the host's peak memory while it
streams, for a small record and a 10,000-document one built the same way, side by side.

    uv run python bench/export_bench.py                 # 1,000 and 10,000 documents
    uv run python bench/export_bench.py --docs 1000 10000 --trace 20000

Each record is a host process of its own (``app_bench.host_process``: a fresh SQLite file, the
demo record, then bulk inserts sealed and hashed as the host does). The bench logs in over HTTP,
reads the host's resident memory (VmRSS), asks for the export and streams it to a file, then
reads the host's peak (VmHWM). "Bounded memory" reads as: no document is held, so the peak
grows only by what the zip format itself keeps until the end, its central directory (a few
hundred bytes per file): under 2 MB per 1,000 more documents. Then the archive is checked offline
(``dmptui.export_check``), timed too. It reports; it asserts nothing about time (exit 0).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import pyotp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def reset_peak(pid: int) -> None:
    """Linux ≥ 4.0: writing 5 to clear_refs resets VmHWM to the current RSS."""
    try:
        Path(f"/proc/{pid}/clear_refs").write_text("5")
    except OSError:
        pass


def one(n_docs: int, n_trace: int, work: Path) -> dict[str, Any]:
    host_dir = work / f"host-{n_docs}"
    host_dir.mkdir()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "app_bench.py"), "--_host", str(host_dir),
         "--docs", str(n_docs), "--trace", str(n_trace)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ROOT,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        url, patient = info["url"], info["creds"]["patient"]
        with httpx.Client(base_url=url, timeout=120) as c:
            r = c.post(
                "/v1/auth/login", json={"ins": patient["ins"], "password": patient["password"]}
            )
            r.raise_for_status()
            code = pyotp.TOTP(patient["totp_secret"]).now()
            r = c.post("/v1/auth/verify", json={"challenge": r.json()["challenge"], "code": code})
            r.raise_for_status()
            c.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            c.get("/v1/record").raise_for_status()  # warm: the record's key, the pool
            reset_peak(proc.pid)
            before = status_kb(proc.pid, "VmRSS")
            out = work / f"export-{n_docs}.zip"
            started = time.perf_counter()
            with c.stream("POST", "/v1/record/export") as r, out.open("wb") as f:
                r.raise_for_status()
                for chunk in r.iter_bytes():
                    f.write(chunk)
            took = time.perf_counter() - started
            peak = status_kb(proc.pid, "VmHWM")
        from dmptui import export_check

        started = time.perf_counter()
        verdict = export_check.verify(out)
        checked = time.perf_counter() - started
        return {
            "docs": info["counts"]["documents"],
            "trace": info["counts"]["trace"][0],
            "bytes": out.stat().st_size,
            "seconds": took,
            "rss_before_mb": before / 1024,
            "peak_mb": peak / 1024,
            "growth_mb": (peak - before) / 1024,
            "verified": verdict.ok,
            "verify_s": checked,
        }
    finally:
        if proc.stdin:
            proc.stdin.close()
        proc.wait(timeout=30)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--docs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--trace", type=int, default=20000, help="trace entries per record")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    print(f"dmptui export bench  nproc={os.cpu_count()}  load {load:.2f}")
    results = []
    with tempfile.TemporaryDirectory(prefix="dmptui-export-") as tmp:
        for n in args.docs:
            r = one(n, args.trace, Path(tmp))
            results.append(r)
            print(
                f"{r['docs']:>6} documents, {r['trace']:>6} trace entries: archive "
                f"{r['bytes'] / 1e6:.1f} MB in {r['seconds']:.1f} s; host RSS "
                f"{r['rss_before_mb']:.0f} MB before, peak {r['peak_mb']:.0f} MB "
                f"(+{r['growth_mb']:.1f} MB); verified offline: {r['verified']} "
                f"in {r['verify_s']:.1f} s"
            )
    if len(results) >= 2:
        small, big = results[0], results[-1]
        more = big["docs"] - small["docs"]
        per_1000 = (big["growth_mb"] - small["growth_mb"]) * 1000 / max(more, 1)
        # The zip format ends with a central directory listing every file: an archive written
        # as a stream keeps a few hundred bytes per file until its end. What must not grow is
        # anything like the documents themselves.
        bounded = per_1000 < 2.0
        print(
            f"host peak growth per 1,000 more documents: {per_1000:.2f} MB (goal: the zip's "
            "directory only, < 2 MB per 1,000 documents; no document held): "
            + ("goal met" if bounded else "goal NOT met")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
