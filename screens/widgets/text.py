"""Data is text, never markup: anything a practitioner, the host or a patient wrote goes through
``plain()``, which returns a ``rich.text.Text`` with control characters made visible."""

from __future__ import annotations

import re

from rich.text import Text

# C0/C1 controls, DEL, bidirectional overrides and isolates, zero-width characters.
_INVISIBLE = re.compile(
    r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069"
    r"\ufeff]"
)


def visible(value: str) -> str:
    """Replace control and invisible characters by a visible code point notation."""
    return _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", value)


def plain(value: str, style: str = "") -> Text:
    return Text(visible(value), style=style, no_wrap=False, overflow="fold")
