"""From the login screen: a forgotten password (F5) and a lost phone (F6). One dialog renders
the steps of ``dmptui.actions.recovery`` (a field, or a choice); the new authenticator is shown
as at first login (the secret as text, the QR code, F4 for the QR code alone)."""

from __future__ import annotations

from typing import ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from dmptui.actions import recovery as words
from dmptui.actions.recovery import Problem, Recovery
from dmptui.i18n import _
from screens.base import Calls, StatusLine
from screens.login import SHOW_QR, QrScreen, qr_text
from screens.widgets.text import plain


class RecoveryScreen(Calls, ModalScreen[bool]):
    """Dismissed with True once the recovery is done (back to the login), else False."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f4", "show_qr", SHOW_QR, show=False),
    ]
    AUTO_FOCUS = "#field"

    def __init__(self, recovery: Recovery) -> None:
        super().__init__()
        self.recovery = recovery
        self.qr = ""

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Label(plain(_(self.recovery.title)), id="dialog-title")
            yield StatusLine(id="status")
            yield Static(id="recovery-help")
            with Vertical(id="recovery-step"):
                yield Label(id="field-label")
                yield Input(id="field", max_length=200)
                with Horizontal(id="choices"):
                    yield Button("", id="choice-0")
                    yield Button("", id="choice-1")
            yield Static(id="enrolment")
            yield Static(id="qr")
            with Horizontal(id="dialog-buttons"):
                yield Button(_(words.NEXT), id="next", variant="primary")
                yield Button(_(SHOW_QR), id="show-qr")
                yield Button(_(words.BACK_TO_LOGIN), id="back")

    def on_mount(self) -> None:
        self.say("info", self.recovery.intro())
        self._render_step()

    def _render_step(self) -> None:
        ask = self.recovery.ask()
        self.query_one("#recovery-help", Static).update(plain(ask.help))
        field = self.query_one("#field", Input)
        typed = ask.field not in ("channel", "enrolment", "done")
        self.query_one("#recovery-step").display = ask.field not in ("enrolment", "done")
        field.display = typed
        self.query_one("#field-label", Label).update(plain(ask.label))
        field.password = ask.secret
        field.value = ""
        self.query_one("#choices").display = bool(ask.choices)
        for i, (_value, label) in enumerate(ask.choices[:2]):
            self.query_one(f"#choice-{i}", Button).label = plain(label)
        enrolment = self.recovery.enrolment
        showing = ask.field == "enrolment" and enrolment is not None
        self.qr = qr_text(enrolment.uri) if showing and enrolment is not None else ""
        self.query_one("#enrolment", Static).update(
            plain(words.enrolment_text(enrolment.secret)) if showing and enrolment else ""
        )
        self.query_one("#qr", Static).update(plain(self.qr))
        self.query_one("#show-qr").display = bool(self.qr)
        self.query_one("#next").display = ask.field not in ("channel", "done")
        if typed:
            field.focus()
        elif ask.choices:
            self.query_one("#choice-0", Button).focus()
        else:
            self.query_one("#next" if ask.field == "enrolment" else "#back", Button).focus()

    # --- input -----------------------------------------------------------------------------

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._give(self.query_one("#field", Input).value)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        button = event.button.id or ""
        if button == "back":
            self.dismiss(self.recovery.finished)
        elif button == "show-qr":
            self.action_show_qr()
        elif button.startswith("choice-"):
            choices = self.recovery.ask().choices
            self._give(choices[int(button.rsplit("-", 1)[1])][0])
        elif self.recovery.ask().field == "enrolment":
            self._give("")
        else:
            self._give(self.query_one("#field", Input).value)

    def key_escape(self, event: events.Key) -> None:
        event.stop()  # once the dialog is gone, this Esc must not also mean something below
        self.dismiss(self.recovery.finished)

    def action_show_qr(self) -> None:
        if self.qr:
            self.app.push_screen(QrScreen(self.qr))

    # --- steps -----------------------------------------------------------------------------

    def _give(self, value: str) -> None:
        recovery = self.recovery
        self.query_one("#field", Input).value = ""

        async def give() -> str:
            return await recovery.give(self.client, value)

        self.call(_(words.WORKING), give, self._given)

    def _given(self, said: str) -> None:
        if said:
            self.say("done", said)
        else:
            self.say("info", "")
        self._render_step()

    def on_calls_call_failed(self, message: Calls.CallFailed) -> None:
        message.prevent_default()  # this dialog explains its own failures
        error = message.error
        if isinstance(error, Problem):
            self.say("error", error.text)
        else:
            self.say("error", self.recovery.failed(error))
        self._render_step()
