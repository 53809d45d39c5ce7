"""One action, one place: no sentence is written in both front ends.

Every sentence a patient reads or hears about the record comes from the core (``dmptui/``: the
action layer, ``words``, ``explain``…); the TUI (``screens/``) and screen-reader mode
(``dmptui/reader/``) only render it. A translatable message id defined in both front ends is a
sentence written twice, which drifts: this test names each one."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MARKERS = ("_", "N_", "ngettext")


def message_ids(folder: str) -> dict[str, str]:
    """Each message id marked in ``folder`` (``_("…")``, ``N_("…")``, ``ngettext("…", "…")``),
    with the first file that defines it."""
    found: dict[str, str] = {}
    for path in sorted((ROOT / folder).rglob("*.py")):
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


def test_no_message_id_is_defined_in_both_front_ends() -> None:
    tui = message_ids("screens")
    reader = message_ids("dmptui/reader")
    both = sorted(set(tui) & set(reader))
    assert not both, "written in both front ends (move them to the core):\n" + "\n".join(
        f"  {m!r}: {tui[m]} and {reader[m]}" for m in both
    )
