"""Screen 9 — Help: what the current screen is for and every key, from the catalogue."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from dmptui import catalogue
from dmptui.i18n import _
from screens.base import RecordScreen
from screens.widgets.text import plain


def help_text(screen_key: str) -> str:
    spec = catalogue.BY_KEY.get(screen_key, catalogue.BY_KEY["home"])
    lines = [_("Help for screen {screen}").format(screen=catalogue.screen_label(spec)), ""]
    for action in catalogue.actions_for(screen_key) + catalogue.actions_for("*"):
        lines.append(f"{action.key:>8}  {_(action.label)} — {_(action.help)}")
    lines += ["", _("Screens (press the digit to go there):")]
    lines += [f"{s.number:>8}  {_(s.title)}" for s in catalogue.SCREENS]
    return "\n".join(lines)


class HelpScreen(RecordScreen):
    SCREEN_KEY = "help"

    def __init__(self, about: str = "home") -> None:
        super().__init__()
        self.about = about

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Static(plain(help_text(self.about)), id="help-text")

    def reload(self) -> None:
        self.say("info", _("Press Esc to go back."))
