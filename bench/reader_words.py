"""What screen-reader mode says, counted: bytes and lines for each task, in English and French,
before and after.

A task is one of the support guide's (``docs/support.md``, run as ``tests/test_support_guide.py``
runs it: a real ``dmptui --screen-reader`` under a pseudo-terminal against the real demo host),
plus ``visits``: from the main menu, ``m`` then Documents, ``m`` then the access trace, ``m``
then Practitioners, ``m`` then Notifications, each screen's first page. A task's figures are
every byte dmptui writes from its first answer to the question that follows its last one (the
terminal's echo of the typed answers included, the same on both sides).

Before and after are two checkouts of the repository, each run with its own code, guide and test
helpers: ``--repo`` (default: this one) and ``--before`` (default: the branch point ``7c9fdec``,
extracted with ``git archive`` into a temporary folder; nothing in the work tree changes)::

    uv run python bench/reader_words.py                  # before = 7c9fdec, after = here
    uv run python bench/reader_words.py --before ../old  # another checkout as "before"
    uv run python bench/reader_words.py --dump out/      # also write each run's transcript

The goal (issue 13): after / before at most 0.5 for the bytes and for the lines of each column's
total, in each language."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from io import BytesIO
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parents[1]
BRANCH_POINT = "7c9fdec"
LANGS = ("en", "fr")
VISITS = ("2", "4", "3", "8")  # Documents, Access trace, Practitioners, Notifications


# --- one checkout, measured in its own process ------------------------------------------------


def measure(repo: Path, lang: str, dump: Path | None) -> dict[str, tuple[int, int]]:
    """Run in a child process whose sys.path starts with ``repo`` and ``repo/tests``."""
    import shutil

    from conftest import copy_key, copy_sqlite  # type: ignore[import-not-found]
    from hostkit import Clock, live_host  # type: ignore[import-not-found]
    from test_support_guide import (  # type: ignore[import-not-found]
        FLOW,
        Reader,
        guide_blocks,
        start,
        verify,
    )

    from dmptui.host import crypto
    from dmptui.host.context import Host
    from dmptui.host.db import migrate
    from dmptui.host.seed import seed_demo

    figures: dict[str, tuple[int, int]] = {}
    with tempfile.TemporaryDirectory(prefix="reader-words-") as tmp:
        work = Path(tmp)
        template = work / "template" / "demo.sqlite3"
        template.parent.mkdir()
        migrate(f"sqlite:///{template}")
        crypto.ensure_master_key(template.parent)
        seeding = Host(f"sqlite:///{template}", template.parent)
        creds = seed_demo(seeding)
        seeding.engine.dispose()

        def run(name: str, body: Any) -> None:
            run_dir = work / name
            run_dir.mkdir()
            path = run_dir / "host.sqlite3"
            copy_sqlite(template, path)
            copy_key(template.parent, run_dir / "data")
            hosts = live_host(f"sqlite:///{path}", path, run_dir / "data", creds, Clock())
            host = next(hosts)
            reader = Reader(host, lang, run_dir)
            try:
                reader.question()
                body(host, reader)
            finally:
                reader.close()
                hosts.close()
                if dump is not None:
                    dump.mkdir(parents=True, exist_ok=True)
                    (dump / f"{repo.name}-{name}-{lang}.txt").write_text(
                        reader.out.replace("\r\n", "\n"), "utf-8"
                    )

        def said(reader: Any, since: int) -> tuple[int, int]:
            text = reader.out[since:].replace("\r\n", "\n")
            return len(text.encode("utf-8")), sum(1 for line in text.split("\n") if line.strip())

        blocks = guide_blocks()

        def guide(host: Any, reader: Any) -> None:
            for task in FLOW:
                block, before, says = start(host, blocks, lang, "reader", task)
                mark = len(reader.out)
                step = reader.do(block)
                verify(host, block, step, before, says)
                b, n = said(reader, mark)
                old = figures.get(task, (0, 0))
                figures[task] = (old[0] + b, old[1] + n)  # log-in runs twice

        def visits(host: Any, reader: Any) -> None:
            (login,) = [
                b
                for b in blocks
                if b.kind == "keys"
                and b.front == "reader"
                and b.task == "log-in"
                and b.lang == lang
                and not getattr(b, "case", "")  # the task, not a troubleshooting case's
            ]
            reader.do(login)
            mark = len(reader.out)
            for number in VISITS:
                for answer in ("m", number):
                    reader.question()
                    reader.child.sendline(answer)
            reader.question()
            figures["visits"] = said(reader, mark)

        run("visits", visits)
        run("guide", guide)
        shutil.rmtree(work / "template")
    return figures


# --- the two checkouts side by side ------------------------------------------------------------


def branch_point(into: Path) -> Path:
    archive = subprocess.run(
        ["git", "-C", str(HERE), "archive", "--format=tar", BRANCH_POINT],
        check=True,
        capture_output=True,
    ).stdout
    folder = into / f"dmptui-{BRANCH_POINT}"
    with tarfile.open(fileobj=BytesIO(archive)) as tar:
        tar.extractall(folder, filter="data")
    return folder


def child(repo: Path, lang: str, dump: Path | None) -> dict[str, tuple[int, int]]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(repo), str(repo / "tests")]))
    args = [sys.executable, str(Path(__file__).resolve()), "--measure", str(repo), "--lang", lang]
    if dump is not None:
        args += ["--dump", str(dump)]
    out = subprocess.run(args, cwd=repo, env=env, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"measuring {repo} ({lang}) failed:\n{out.stderr[-4000:]}")
    return {k: tuple(v) for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}


def table(before: dict[str, tuple[int, int]], after: dict[str, tuple[int, int]], lang: str) -> None:
    print(
        f"\n{lang.upper()}  {'task':<26}{'bytes before':>13}{'after':>8}{'ratio':>7}"
        f"{'lines before':>14}{'after':>7}{'ratio':>7}"
    )
    rows = ["visits", *(t for t in before if t != "visits")]
    for task in [*rows, "total (guide)"]:
        if task == "total (guide)":
            b = tuple(sum(before[t][i] for t in rows if t != "visits") for i in (0, 1))
            a = tuple(sum(after.get(t, (0, 0))[i] for t in rows if t != "visits") for i in (0, 1))
        else:
            b, a = before[task], after.get(task, (0, 0))
        print(
            f"    {task:<26}{b[0]:>13}{a[0]:>8}{a[0] / max(b[0], 1):>7.2f}"
            f"{b[1]:>14}{a[1]:>7}{a[1] / max(b[1], 1):>7.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, default=HERE, help="the checkout measured as after")
    parser.add_argument(
        "--before",
        type=Path,
        help=f"the checkout measured as before "
        f"(default: {BRANCH_POINT}, extracted with git archive)",
    )
    parser.add_argument("--dump", type=Path, help="write every run's transcript in this folder")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--lang", choices=LANGS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.lang, args.dump)))
        return
    with tempfile.TemporaryDirectory(prefix="reader-words-before-") as tmp:
        before_repo = args.before or branch_point(Path(tmp))
        for lang in LANGS:
            before = child(before_repo.resolve(), lang, args.dump)
            after = child(args.repo.resolve(), lang, args.dump)
            table(before, after, lang)


if __name__ == "__main__":
    main()
