"""Where to write the exported record: a dialog with the file's name, filled in with the
default (``dmptui.actions.export.default_path``)."""

from __future__ import annotations

from pathlib import Path

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from dmptui import catalogue
from dmptui.actions import export as export_actions
from dmptui.actions.base import CANCEL
from dmptui.i18n import _
from screens.keys import KeyWords
from screens.widgets.text import plain


class ExportPathScreen(KeyWords, ModalScreen[Path | None]):
    """The archive's file name; Enter or Export to go on, Esc or Cancel to stop."""

    AUTO_FOCUS = "#export-path"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            action = catalogue.ACTION_BY_ID["record.export"]
            yield Label(plain(_(action.label)), id="dialog-title")
            yield Static(plain(_(action.help)), id="consequence")
            yield Label(_(export_actions.WHERE))
            yield Input(str(export_actions.default_path()), id="export-path")
            with Horizontal(id="dialog-buttons"):
                yield Button(_(export_actions.EXPORT), id="confirm", variant="primary")
                yield Button(_(CANCEL), id="cancel")

    def _chosen(self) -> None:
        text = self.query_one("#export-path", Input).value.strip()
        self.dismiss(Path(text).expanduser() if text else export_actions.default_path())

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._chosen()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(None)
        else:
            self._chosen()

    def key_escape(self, event: events.Key) -> None:
        event.stop()
        self.dismiss(None)
