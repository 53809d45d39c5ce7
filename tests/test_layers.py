"""The arrows of DESIGN.md, with no exemptions: they only go down.

Layers: the core (``dmptui/`` but for the folders below, with ``dmptui/i18n``), the host
(``dmptui/host``), the screen-reader front end (``dmptui/reader``), the Textual front end
(``screens/``) and the entry points (``dmptui/entry``), the only modules that import front ends
and the host. The core imports neither front end nor the host; the front ends never import each
other or the host; the host shares only the contract (``schema``) and what both sides compute the
same way (``identifiers``, ``merkle``) with the core. Imports inside functions count the same
(``ast.walk`` sees them). policy.py does no I/O."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

LAYERS = ("core", "host", "reader", "tui", "entry")

# What each layer may never import (a module, or anything under it).
FORBIDDEN = {
    "core": ("textual", "screens", "dmptui.reader", "dmptui.host", "dmptui.entry"),
    "reader": ("textual", "screens", "dmptui.host", "dmptui.entry"),
    "tui": ("dmptui.host", "dmptui.reader", "dmptui.entry"),
    "host": ("textual", "screens", "dmptui.reader", "dmptui.entry"),
    "entry": (),
}

# All the host takes from the core: the package's version, the API contract, the identifiers'
# rules, the Merkle tree's hashing (the client checks the same proofs), the settings model
# (one place reads every DMPTUI_* variable, the host's too; standard library only), the demo
# account (the demo fills it in before its host has started) and the layout of an exported
# record (the host writes it, the offline check reads it).
HOST_FROM_CORE = {
    "dmptui",
    "dmptui.schema",
    "dmptui.identifiers",
    "dmptui.merkle",
    "dmptui.settings",
    "dmptui.demo",
    "dmptui.export_format",
}


def is_module(name: str) -> bool:
    """Whether ``name`` (dotted) is a module or package of this repository."""
    path = ROOT.joinpath(*name.split("."))
    return path.with_suffix(".py").is_file() or (path / "__init__.py").is_file()


def imports(path: Path) -> set[str]:
    """Every module ``path`` imports, at the top or inside a function: ``from a import b`` counts
    as ``a.b`` when ``b`` is a module of this repository (``from dmptui import doctor``)."""
    tree = ast.parse(path.read_text("utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{path.relative_to(ROOT)}: a relative import"
            assert node.module
            out.add(node.module)
            named = {f"{node.module}.{a.name}" for a in node.names}
            out |= {name for name in named if is_module(name)}
    return out


def layer(path: Path) -> str:
    parts = path.relative_to(ROOT).parts
    if parts[0] == "screens":
        return "tui"
    assert parts[0] == "dmptui", path
    sub = parts[1] if len(parts) > 2 else ""
    return {"host": "host", "reader": "reader", "entry": "entry"}.get(sub, "core")


def sources() -> list[Path]:
    return sorted([*(ROOT / "dmptui").rglob("*.py"), *(ROOT / "screens").rglob("*.py")])


def under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_every_layer_holds_modules() -> None:
    found = {layer(path) for path in sources()}
    assert found == set(LAYERS), found
    assert layer(ROOT / "dmptui" / "i18n" / "build.py") == "core"
    assert layer(ROOT / "dmptui" / "host" / "routes" / "auth.py") == "host"


def test_arrows_only_go_down() -> None:
    bad: dict[str, set[str]] = {}
    for path in sources():
        forbidden = FORBIDDEN[layer(path)]
        found = {m for m in imports(path) if any(under(m, f) for f in forbidden)}
        if found:
            bad[str(path.relative_to(ROOT))] = found
    assert not bad, bad


def test_the_host_takes_only_the_contract_from_the_core() -> None:
    bad: dict[str, set[str]] = {}
    for path in sources():
        if layer(path) != "host":
            continue
        found = {
            m
            for m in imports(path)
            if under(m, "dmptui") and not under(m, "dmptui.host") and m not in HOST_FROM_CORE
        }
        if found:
            bad[str(path.relative_to(ROOT))] = found
    assert not bad, bad


def test_the_check_sees_imports_everywhere(tmp_path: Path) -> None:
    """The rules are only as good as ``imports``: a lazy import inside a function, and a module
    taken from its package, are both seen."""
    sample = tmp_path / "sample.py"
    sample.write_text(
        "def f():\n    from dmptui import client\n    import textual.app\n", encoding="utf-8"
    )
    assert {"dmptui.client", "textual.app"} <= imports(sample)


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


def test_the_login_screen_needs_no_schema() -> None:
    """What the app imports before its login screen is painted holds no pydantic, httpx or API
    schema: they load in a thread once it is painted (the start-up figure of bench/README.md).
    A front-end module that imports ``dmptui.words`` or the schema at its top breaks it; so does
    one that imports Textual's ``RichLog``, whose module imports ``rich.pretty`` and ``attr``."""
    import subprocess
    import sys

    probe = (
        "import sys, dmptui.entry.cli, screens.app, screens.login; "
        "print(sorted(m for m in ('pydantic', 'httpx', 'dmptui.schema', 'dmptui.words', "
        "'dmptui.client', 'attr', 'rich.pretty') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
