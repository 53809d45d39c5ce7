"""Screen 9 — Help: what the current screen is for and every key, from the catalogue."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from dmptui import catalogue
from dmptui.i18n import _
from screens.base import RecordScreen, catalogue_bindings
from screens.keys import key_in_use
from screens.widgets.text import plain


def help_text(screen_key: str, keymap: Mapping[str, str] | None = None) -> str:
    """A screen's help: every key that works there, as it is now (``keymap``: the config
    file's ``[keymap]``, which moves them)."""
    spec = catalogue.BY_KEY.get(screen_key, catalogue.BY_KEY["home"])
    actions = [
        *catalogue.actions_for(screen_key),
        *catalogue.actions_for("*"),
        *catalogue.TUI_ACTIONS,
    ]
    rows = [(key_in_use(a.id, keymap), _(a.label), _(a.help)) for a in actions]
    rows += [(key_in_use(catalogue.goto_id(s), keymap), _(s.title), "") for s in catalogue.SCREENS]
    width = max(len(key) for key, _label, _help in rows) + 2
    lines = [catalogue.help_title(spec), ""]
    screens_from = len(rows) - len(catalogue.SCREENS)
    for i, (key, label, help_) in enumerate(rows):
        if i == screens_from:
            lines += ["", _("Screens (press the digit to go there):")]
        lines.append(key.ljust(width) + (f"{label} — {help_}" if help_ else label))
    return "\n".join(lines)


class HelpScreen(RecordScreen):
    SCREEN_KEY = "help"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("help")

    def __init__(self, about: str = "home") -> None:
        super().__init__()
        self.about = about

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(plain(help_text(self.about, self.app.config.keymap)), id="help-text")

    def reload(self) -> None:
        back = key_in_use("app.back", self.app.config.keymap)
        self.say("info", _("Press {key} to go back.").format(key=back))
