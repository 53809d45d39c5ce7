"""Modal screens: type a fresh one-time code (step-up), and confirm a consequential action
after reading its consequence (with the code when the action needs one)."""

from __future__ import annotations

from typing import Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from dmptui.i18n import _
from screens.base import Calls, StatusLine
from screens.keys import KeyWords
from screens.widgets.text import plain


class CodeScreen(Calls, ModalScreen[bool]):
    """Ask for a fresh code, send it to the host (step-up), dismiss True when accepted."""

    AUTO_FOCUS = "#step-code"

    def __init__(self, consequence: str | None = None, title: str | None = None) -> None:
        super().__init__()
        self.consequence = consequence
        self.heading = title

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            if self.heading:
                yield Label(plain(self.heading), id="dialog-title")
            if self.consequence:
                yield Static(plain(self.consequence), id="consequence")
            yield Label(_("One-time code (6 digits) from your authenticator app"))
            yield Input(id="step-code", max_length=12, restrict=r"[0-9 ]*")
            yield StatusLine(id="status")
            with Horizontal(id="dialog-buttons"):
                yield Button(_("Confirm"), id="confirm", variant="error")
                yield Button(_("Send me a code by SMS"), id="sms")
                yield Button(_("Cancel"), id="cancel")

    def on_mount(self) -> None:
        self.say("info", _("This action needs a fresh one-time code."))

    def say(self, kind: str, text: str) -> None:
        self.query_one(StatusLine).say(kind, text)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(False)
        elif event.button.id == "sms":
            self.call(
                _("Sending a code by SMS…"), lambda: self.client.step_up_send("sms"), self._sent
            )
        else:
            self._confirm()

    def key_escape(self, event: events.Key) -> None:
        event.stop()  # once the dialog is gone, this Esc must not also mean "Back" below
        self.dismiss(False)

    def _sent(self, sent: Any) -> None:
        self.say(
            "done", _("A code was sent to {destination}.").format(destination=sent.destination)
        )

    def _confirm(self) -> None:
        code = self.query_one("#step-code", Input).value.replace(" ", "")
        if len(code) != 6 or not code.isdigit():
            self.say(
                "error",
                _("Code: the code has 6 digits; you typed {n}. Type the code again.").format(
                    n=len(code)
                ),
            )
            return
        self.query_one("#step-code", Input).value = ""
        self.call(
            _("Checking the code…"),
            lambda: self.client.step_up(code),
            lambda _r: self.dismiss(True),
        )

    def on_calls_call_failed(self, message: Calls.CallFailed) -> None:
        from dmptui.explain import explain

        message.prevent_default()  # this screen explains its own failures
        self.say("error", explain(message.error))


class ConfirmScreen(KeyWords, ModalScreen[bool]):
    """Read the consequence, then confirm or cancel. Cancel is the default focus."""

    AUTO_FOCUS = "#cancel"

    def __init__(self, title: str, consequence: str, confirm_label: str) -> None:
        super().__init__()
        self.heading = title
        self.consequence = consequence
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(plain(self.heading), id="dialog-title")
            yield Static(plain(self.consequence), id="consequence")
            with Horizontal(id="dialog-buttons"):
                yield Button(plain(self.confirm_label), id="confirm", variant="error")
                yield Button(_("Cancel"), id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def key_escape(self, event: events.Key) -> None:
        event.stop()  # once the dialog is gone, this Esc must not also mean "Back" below
        self.dismiss(False)
