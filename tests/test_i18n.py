"""No string a person sees is left out of the French catalogue, and the compiled catalogue is
the one the .po files give."""

from __future__ import annotations

import ast
from pathlib import Path

from dmptui import i18n
from dmptui.i18n import build

ROOT = Path(__file__).resolve().parents[1]


def plural_msgids() -> dict[tuple[str, str], str]:
    """Every ngettext(singular, plural, n) in the code."""
    found: dict[tuple[str, str], str] = {}
    for folder in ("dmptui", "screens"):
        for path in (ROOT / folder).rglob("*.py"):
            if "host" in path.relative_to(ROOT).parts:
                continue
            for node in ast.walk(ast.parse(path.read_text("utf-8"))):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Name)
                    and node.func.id == "ngettext"
                ):
                    one, many = node.args[0], node.args[1]
                    assert isinstance(one, ast.Constant) and isinstance(many, ast.Constant), path
                    found.setdefault((one.value, many.value), str(path.relative_to(ROOT)))
    return found


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


def test_every_count_has_both_french_forms() -> None:
    catalogue = build.merged()
    found = plural_msgids()
    assert found, "no ngettext call found"
    for (one, many), where in found.items():
        message = catalogue.get(one)
        assert message is not None, f"{where}: {one!r} has no French"
        assert message.id == (one, many), f"{where}: {one!r} is not a plural entry"
        assert len(message.string) == 2 and all(message.string), f"{where}: {one!r}"


def test_placeholders_survive_translation() -> None:
    import re

    catalogue = build.merged()
    for message in catalogue:
        if message.id and message.string:
            # "{name:de}" (a French msgstr) is the placeholder "name" said after "de".
            assert set(re.findall(r"{(\w*)}", str(message.id))) == set(
                re.findall(r"{(\w*)(?::de)?}", str(message.string))
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
