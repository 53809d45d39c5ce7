"""Compile the French catalogue: every ``po/*.po`` merged into ``locale/fr/LC_MESSAGES/dmptui.mo``.

Run ``uv run python -m dmptui.i18n.build`` after changing a ``.po`` file (a test checks the
committed ``.mo`` is up to date)."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

HERE = Path(__file__).parent
# French: 0 and 1 take the singular (every po/*.po file says so in its header too).
PLURAL_FORMS = "nplurals=2; plural=(n > 1);"
MO = HERE / "locale" / "fr" / "LC_MESSAGES" / "dmptui.mo"


def merged() -> Catalog:
    # Fixed header dates: the compiled file depends on the .po files only (reproducible).
    fixed = datetime(2026, 1, 1, tzinfo=UTC)
    out = Catalog(
        locale="fr",
        domain="dmptui",
        charset="utf-8",
        project="dmptui",
        creation_date=fixed,
        revision_date=fixed,
    )
    out.mime_headers = [("Plural-Forms", PLURAL_FORMS)]
    for path in sorted((HERE / "po").glob("*.po")):
        with path.open("rb") as f:
            catalog = read_po(f, locale="fr")
            plurals = any(isinstance(m.id, tuple) for m in catalog)
            if plurals and catalog.plural_forms != PLURAL_FORMS:
                raise ValueError(f"{path.name}: the header must say Plural-Forms: {PLURAL_FORMS}")
            for message in catalog:
                forms = message.string
                if isinstance(message.id, tuple) and not (
                    isinstance(forms, tuple | list) and all(forms)
                ):
                    raise ValueError(f"{path.name}: {message.id[0]!r} lacks a plural form")
                if message.id and message.string:
                    if message.id in out and out[message.id].string != message.string:
                        raise ValueError(f"{path.name}: {message.id!r} translated twice")
                    out.add(message.id, message.string)
    return out


def compiled() -> bytes:
    buf = io.BytesIO()
    write_mo(buf, merged())
    return buf.getvalue()


def main() -> None:
    MO.parent.mkdir(parents=True, exist_ok=True)
    MO.write_bytes(compiled())
    print(f"{MO.relative_to(HERE.parent.parent)}: {len(merged())} messages")


if __name__ == "__main__":
    main()
