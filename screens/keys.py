"""Keys named as printed on a keyboard, for the help, the footer and the messages."""

from __future__ import annotations

from dmptui.i18n import N_, _

# Keys as printed on a keyboard, not Textual's names ("escape", "ctrl+l").
KEY_WORDS = {"escape": N_("Esc"), "enter": N_("Enter")}
SYMBOLS = {"slash": "/"}


def key_name(key: str) -> str:
    """'ctrl+l' → 'Ctrl+L', 'f1' → 'F1', 'escape' → 'Esc' (translated), 'm' → 'm'."""
    if key in KEY_WORDS:
        return _(KEY_WORDS[key])
    if key in SYMBOLS:
        return SYMBOLS[key]
    parts = key.split("+")
    *mods, last = parts
    last = last.upper() if (mods or (last[:1] == "f" and last[1:].isdigit())) else last
    return "+".join([*(m.capitalize() for m in mods), last])
