"""The arrows of DESIGN.md: dmptui/ never imports Textual or screens/ (except cli.py, which
launches the app); the client side never imports the host; policy.py does no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text("utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def modules(folder: str) -> list[Path]:
    return sorted((ROOT / folder).rglob("*.py"))


def test_core_never_imports_textual_or_screens() -> None:
    for path in modules("dmptui"):
        if path.name == "cli.py":
            continue
        bad = {m for m in imports(path) if m.split(".")[0] in ("textual", "screens")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_client_side_never_imports_the_host() -> None:
    for path in modules("dmptui"):
        rel = path.relative_to(ROOT / "dmptui")
        # cli.py launches the host; demo.py embeds it in-process (DESIGN.md).
        if rel.parts[0] in ("host",) or path.name in ("cli.py", "demo.py"):
            continue
        bad = {m for m in imports(path) if m.startswith("dmptui.host")}
        assert not bad, f"{path.relative_to(ROOT)} imports {bad}"


def test_policy_does_no_io() -> None:
    allowed = {
        "__future__",
        "calendar",
        "collections.abc",
        "dataclasses",
        "datetime",
        "dmptui.schema",
    }
    found = imports(ROOT / "dmptui" / "host" / "policy.py")
    assert found <= allowed, found - allowed
    text = (ROOT / "dmptui" / "host" / "policy.py").read_text("utf-8")
    for word in ("open(", "now()", "utcnow", "sqlalchemy", "httpx", "socket"):
        assert word not in text, word
