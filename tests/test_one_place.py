"""One action, one place: no sentence is written in both front ends.

Every sentence a patient reads or hears about the record comes from the core (``dmptui/``: the
action layer, ``words``, ``explain``…); the TUI (``screens/``) and screen-reader mode
(``dmptui/reader/``) only render it. A translatable message id defined in both front ends is a
sentence written twice, which drifts: this test names each one. So is a message id a front end
defines that the core defines too: the front end says it through the core's name for it."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKERS = ("_", "N_", "ngettext")


CORE = "dmptui"
NOT_CORE = ("dmptui/host", "dmptui/reader", "dmptui/entry")  # the host, a front end, the launcher
FRONT_ENDS = ("screens", "dmptui/reader")


def core_files() -> list[str]:
    """The core's modules: ``dmptui/`` without the host, screen-reader mode and the launcher."""
    return [
        str(path.relative_to(ROOT))
        for path in sorted((ROOT / CORE).rglob("*.py"))
        if not any(path.is_relative_to(ROOT / part) for part in NOT_CORE)
    ]


def message_ids(paths: str | list[str]) -> dict[str, str]:
    """Each message id marked in ``paths`` (folders or files: ``_("…")``, ``N_("…")``,
    ``ngettext("…", "…")``), with the first file that defines it."""
    found: dict[str, str] = {}
    files: list[Path] = []
    for name in [paths] if isinstance(paths, str) else paths:
        where = ROOT / name
        files += sorted(where.rglob("*.py")) if where.is_dir() else [where]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            if node.func.id not in MARKERS:
                continue
            for arg in node.args[: 2 if node.func.id == "ngettext" else 1]:
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    found.setdefault(arg.value, str(path.relative_to(ROOT)))
    return found


def test_the_scan_finds_message_ids() -> None:
    # The scan itself works: both front ends mark sentences (else the test below proves nothing).
    assert len(message_ids("screens")) > 50
    assert len(message_ids("dmptui/reader")) > 50
    core = core_files()
    assert "dmptui/words.py" in core and "dmptui/actions/login.py" in core
    assert not any(f.startswith(NOT_CORE) for f in core)
    assert len(message_ids(core)) > 200


def test_no_message_id_is_defined_in_both_front_ends() -> None:
    tui = message_ids("screens")
    reader = message_ids("dmptui/reader")
    both = sorted(set(tui) & set(reader))
    assert not both, "written in both front ends (move them to the core):\n" + "\n".join(
        f"  {m!r}: {tui[m]} and {reader[m]}" for m in both
    )


def test_no_front_end_writes_a_sentence_of_the_core() -> None:
    # A sentence the core defines is said through the core's name for it (a constant, a
    # function), never typed again in a front end: the same words, translated once, in one place.
    core = message_ids(core_files())
    front = message_ids(list(FRONT_ENDS))
    again = [f"  {m!r}: {front[m]} (the core's: {core[m]})" for m in sorted(set(front) & set(core))]
    assert not again, "written again in a front end (use the core's name):\n" + "\n".join(again)
