"""No string a person sees is left out of the French catalogue, and the compiled catalogue is
the one the .po files give."""

from __future__ import annotations

import ast
from pathlib import Path

from dmptui import i18n
from dmptui.i18n import build

ROOT = Path(__file__).resolve().parents[1]


def msgids() -> dict[str, str]:
    found: dict[str, str] = {}
    for folder in ("dmptui", "screens"):
        for path in (ROOT / folder).rglob("*.py"):
            if "host" in path.relative_to(ROOT).parts:
                continue  # the host answers in both languages itself
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id in ("_", "N_")
                    and node.args
                    and isinstance(node.args[0], ast.Constant)
                    and isinstance(node.args[0].value, str)
                ):
                    found.setdefault(node.args[0].value, str(path.relative_to(ROOT)))
    return found


def test_every_message_has_a_french_translation() -> None:
    catalogue = build.merged()
    missing = {
        m: where for m, where in msgids().items() if m not in catalogue or not catalogue[m].string
    }
    assert not missing, f"{len(missing)} messages without French: {missing}"


def test_placeholders_survive_translation() -> None:
    import re

    catalogue = build.merged()
    for message in catalogue:
        if message.id and message.string:
            assert set(re.findall(r"{\w*}", str(message.id))) == set(
                re.findall(r"{\w*}", str(message.string))
            ), message.id


def test_compiled_catalogue_is_up_to_date() -> None:
    assert build.MO.read_bytes() == build.compiled(), "run: uv run python -m dmptui.i18n.build"


def test_language_detection_and_switch() -> None:
    assert i18n.detect_language({"LANG": "fr_FR.UTF-8"}) == "fr"
    assert i18n.detect_language({"LANG": "en_GB.UTF-8"}) == "en"
    assert i18n.detect_language({"LC_ALL": "fr_CA.UTF-8", "LANG": "en_US"}) == "fr"
    assert i18n.detect_language({}) == "en"
    try:
        i18n.set_language("fr")
        assert i18n._("Documents") == "Documents"
        assert i18n._("Log in") == "Se connecter"
        assert i18n.format_number(1204) == "1\u202f204"
        i18n.set_language("en")
        assert i18n._("Log in") == "Log in"
        assert i18n.format_number(1204) == "1,204"
    finally:
        i18n.set_language("en")
