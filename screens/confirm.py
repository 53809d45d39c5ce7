"""Modal screens: type a fresh one-time code (step-up), and confirm a consequential action
after reading its consequence: yes or no, a word to type for what cannot be undone, or one of
several choices (``dmptui.actions.Ask``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from dmptui.actions import login as login_words
from dmptui.actions.base import CANCEL
from dmptui.i18n import _
from screens.base import Calls, StatusLine
from screens.keys import KeyWords
from screens.widgets.text import plain

if TYPE_CHECKING:
    from dmptui.actions import Ask


def code_problem(code: str) -> str | None:
    """What is wrong with a typed one-time code (spaces taken out), or None."""
    if len(code) != 6 or not code.isdigit():
        return _("Code: the code has 6 digits; you typed {n}. Type the code again.").format(
            n=len(code)
        )
    return None


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
                yield Button(_(login_words.SEND_SMS), id="sms")
                yield Button(_(CANCEL), id="cancel")

    def on_mount(self) -> None:
        self.say("info", _(login_words.STEP_UP_NEEDED))

    def say(self, kind: str, text: str) -> None:
        self.query_one(StatusLine).say(kind, text)

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "cancel":
            self.dismiss(False)
        elif event.button.id == "sms":
            self.call(
                login_words.sending("sms"), lambda: self.client.step_up_send("sms"), self._sent
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
        if problem := code_problem(code):
            self.say("error", problem)
            return
        self.query_one("#step-code", Input).value = ""
        self.call(
            _(login_words.CHECKING_CODE),
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
                yield Button(_(CANCEL), id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "confirm")

    def key_escape(self, event: events.Key) -> None:
        event.stop()  # once the dialog is gone, this Esc must not also mean "Back" below
        self.dismiss(False)


class TypedConfirmScreen(KeyWords, ModalScreen[bool]):
    """Read the consequence, then type a word to confirm: for what cannot be undone.
    Confirm works only when the word is typed; Esc or Cancel cancels."""

    AUTO_FOCUS = "#typed-word"

    def __init__(self, title: str, consequence: str, word: str, confirm_label: str) -> None:
        super().__init__()
        self.heading = title
        self.consequence = consequence
        self.word = word
        self.confirm_label = confirm_label

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(plain(self.heading), id="dialog-title")
            yield Static(plain(self.consequence), id="consequence")
            yield Label(
                plain(
                    _("To confirm, type the word “{word}”, then press Enter.").format(
                        word=self.word
                    )
                ),
                id="typed-label",
            )
            yield Input(id="typed-word", max_length=40)
            yield StatusLine(id="typed-status")
            with Horizontal(id="dialog-buttons"):
                yield Button(plain(self.confirm_label), id="confirm", variant="error")
                yield Button(_(CANCEL), id="cancel")

    def on_mount(self) -> None:
        self.query_one(StatusLine).say("info", _("Press Esc to cancel: nothing is changed."))

    def matches(self) -> bool:
        typed = self.query_one("#typed-word", Input).value.strip().casefold()
        return typed == self.word.casefold()

    def _confirm(self) -> None:
        if self.matches():
            self.dismiss(True)
            return
        typed = self.query_one("#typed-word", Input).value.strip()
        self.query_one(StatusLine).say(
            "error",
            _(
                "You typed “{typed}”, not “{word}”. Type “{word}” to confirm, or press "
                "Esc to cancel."
            ).format(typed=typed, word=self.word),
        )
        self.query_one("#typed-word", Input).focus()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._confirm()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "confirm":
            self._confirm()
        else:
            self.dismiss(False)

    def key_escape(self, event: events.Key) -> None:
        # Stop the key here: once this dialog is gone it must not also mean "Back" on the
        # screen below.
        event.stop()
        self.dismiss(False)


class ChoiceScreen(KeyWords, ModalScreen[str | None]):
    """Read the consequence, then pick one of the choices (the first, the safe one, has the
    focus) or cancel. Dismisses the chosen key (None: cancelled). A button's id is
    ``choice-<key>``."""

    def __init__(self, ask: Ask) -> None:
        super().__init__()
        self.ask = ask  # the focus starts on the first button: the first choice

    @staticmethod
    def button_id(key: str) -> str:
        return "choice-" + key.replace("_", "-")

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(plain(self.ask.title), id="dialog-title")
            yield Static(plain(self.ask.consequence), id="consequence")
            with Vertical(id="choice-buttons"):
                for index, choice in enumerate(self.ask.choices):
                    yield Button(
                        plain(choice.label),
                        id=self.button_id(choice.key),
                        variant="primary" if index == 0 else "warning",
                    )
                yield Button(_(CANCEL), id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        keys = {self.button_id(choice.key): choice.key for choice in self.ask.choices}
        self.dismiss(keys.get(event.button.id or ""))

    def key_escape(self, event: events.Key) -> None:
        event.stop()  # once the dialog is gone, this Esc must not also mean "Back" below
        self.dismiss(None)
