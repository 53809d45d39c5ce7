"""Keys named as printed on a keyboard, for the help, the footer and the messages."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from functools import lru_cache

from textual.binding import ActiveBinding, Binding

from dmptui import catalogue
from dmptui.i18n import N_, _, language
from dmptui.settings import SYMBOL_NAMES
from screens.first_show import FirstShow

# Keys as printed on a keyboard, not Textual's names ("escape", "ctrl+l", "question_mark").
KEY_WORDS = {"escape": N_("Esc"), "enter": N_("Enter")}
SYMBOLS = SYMBOL_NAMES


def key_name(key: str) -> str:
    """'ctrl+l' → 'Ctrl+L', 'f1' → 'F1', 'escape' → 'Esc' (translated), 'm' → 'm'."""
    if key in KEY_WORDS:
        return _(KEY_WORDS[key])
    if key in SYMBOLS:
        return SYMBOLS[key]
    parts = key.split("+")
    *mods, last = parts
    last = SYMBOLS.get(last, last)
    last = last.upper() if (mods or (last[:1] == "f" and last[1:].isdigit())) else last
    return "+".join([*(m.capitalize() for m in mods), last])


def key_in_use(binding_id: str, keymap: Mapping[str, str] | None = None) -> str:
    """The key (or keys) of a catalogue binding as printed on a keyboard: the keymap's (the
    config file's ``[keymap]``), else the default. "F5 / Ctrl+X" for two."""
    return " / ".join(key_name(k) for k in catalogue.key_of(binding_id, keymap).split(","))


@lru_cache(maxsize=1024)
def _worded(binding: Binding, lang: str) -> Binding:
    return replace(binding, description=_(binding.description)) if binding.description else binding


def worded(active: dict[str, ActiveBinding]) -> dict[str, ActiveBinding]:
    """Active bindings with their descriptions in the patient's language: bindings are made once,
    with the English words, when their class is (``BINDINGS``); they are put into words where
    they are shown (the key bar, the read-out)."""
    lang = language()
    return {key: a._replace(binding=_worded(a.binding, lang)) for key, a in active.items()}


class KeyWords(FirstShow):
    """A screen whose keys are shown in the patient's language (Textual's footer and the
    read-out show ``active_bindings``), styled once when first shown (``FirstShow``)."""

    @property
    def active_bindings(self) -> dict[str, ActiveBinding]:
        return worded(super().active_bindings)
