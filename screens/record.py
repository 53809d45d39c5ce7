"""Screen 6 — My record: its status in words, and its life — close, reopen, erase for good.

Each change explains its consequence (RULES.md), asks for an explicit confirmation and a fresh
code. Erasing also asks the patient to type a word, since nothing can bring the record back.
Closing and erasing end every session: the app goes back to the login screen and says why."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Static

from dmptui import catalogue
from dmptui.i18n import _, format_date, pick
from screens.base import RecordScreen, StatusLine, catalogue_bindings
from screens.confirm import CodeScreen, ConfirmScreen
from screens.keys import KeyWords
from screens.widgets.text import plain


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
                yield Button(_("Cancel"), id="cancel")

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


class RecordLifeScreen(RecordScreen):
    SCREEN_KEY = "record"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("record")

    def __init__(self) -> None:
        super().__init__()
        self.status: str | None = None  # "active", "closed", "erased"; None until loaded

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="record-life"):
            yield Static(id="record-status")
            yield Static(id="record-actions")

    def reload(self) -> None:
        self.call(_("Loading your record…"), self.client.record, self._loaded)

    def _loaded(self, record: Any, done: str | None = None) -> None:
        self.status = str(record.status)
        lines: list[str] = []
        if self.status == "closed":
            lines.append(
                _(
                    "Your record is CLOSED since {closed}: nobody can access it, you included."
                ).format(closed=format_date(record.closed_at))
            )
            if record.purge_after is not None:
                lines.append(
                    _(
                        "It is kept until {date}, then destroyed. You can reopen it until then."
                    ).format(date=format_date(record.purge_after))
                )
        elif self.status == "erased":
            lines.append(_("Your record is ERASED: nothing in it can be recovered."))
        else:
            lines.append(_("Your record is OPEN: you and the practitioners you allow can use it."))
        self.query_one("#record-status", Static).update(plain("\n".join(lines)))
        self.query_one("#record-actions", Static).update(plain("\n".join(self._action_lines())))
        if done:
            self.say("done", done)
        elif self.status == "closed":
            self.say("info", _("Your record is closed. Press o to reopen it."))
        else:
            self.say("info", _("Your record is open."))

    def _action_lines(self) -> list[str]:
        ids = (
            ["record.reactivate", "record.erase"]
            if self.status == "closed"
            else ["record.close", "record.erase"]
        )
        lines = [_("What you can do:")]
        for action_id in ids:
            action = catalogue.ACTION_BY_ID[action_id]
            lines.append(
                _("Press {key} — {label}: {help}").format(
                    key=action.key, label=_(action.label), help=_(action.help)
                )
            )
        return lines

    def _ready(self) -> bool:
        if self.status is None:
            self.say("warning", _("Your record is still loading. Wait a moment, then try again."))
            self.reload()
            return False
        return True

    # --- close -----------------------------------------------------------------------------

    def action_act_close(self) -> None:
        if not self._ready():
            return
        if self.status == "closed":
            self.say("info", _("Your record is already closed. Press o to reopen it."))
            return
        action = catalogue.ACTION_BY_ID["record.close"]
        title = _("Close your record?")
        consequence = _(action.confirm or action.help)

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.app.push_screen(CodeScreen(consequence, title), coded)
            else:
                self.say("info", _("Nothing was changed: your record is still open."))

        def coded(ok: bool | None) -> None:
            if ok:
                self.call(_("Closing your record…"), self.client.close_record, self._gone)
            else:
                self.say("info", _("Nothing was changed: your record is still open."))

        self.app.push_screen(ConfirmScreen(title, consequence, _(action.label)), confirmed)

    # --- reopen ----------------------------------------------------------------------------

    def action_act_reactivate(self) -> None:
        if not self._ready():
            return
        if self.status != "closed":
            self.say("info", _("Your record is already open. There is nothing to reopen."))
            return
        action = catalogue.ACTION_BY_ID["record.reactivate"]
        consequence = _(
            "Your record will be open again: everything it held comes back, with "
            "the same authorisations and blocks, and the practitioners you allow "
            "can use it again. The 10-year countdown stops."
        )

        def confirmed(ok: bool | None) -> None:
            if not ok:
                self.say("info", _("Nothing was changed: your record is still closed."))
                return
            # A login is fresh for a few minutes; if it is not, the host asks for a code and
            # the base screen asks for it, then retries.
            self.call(_("Reopening your record…"), self.client.reactivate_record, self._reopened)

        self.app.push_screen(
            ConfirmScreen(_("Reopen your record?"), consequence, _(action.label)), confirmed
        )

    def _reopened(self, done: Any) -> None:
        message = pick(done.message)
        self.call(
            _("Loading your record…"),
            self.client.record,
            lambda record: self._loaded(record, done=message),
        )

    # --- erase -----------------------------------------------------------------------------

    def action_act_erase(self) -> None:
        if not self._ready():
            return
        action = catalogue.ACTION_BY_ID["record.erase"]
        title = _("Erase your record for good?")
        consequence = _(action.confirm or action.help)
        still = (
            _("Nothing was changed: your record is still closed.")
            if self.status == "closed"
            else _("Nothing was changed: your record is still open.")
        )

        def confirmed(ok: bool | None) -> None:
            if ok:
                self.app.push_screen(CodeScreen(consequence, title), coded)
            else:
                self.say("info", still)

        def coded(ok: bool | None) -> None:
            if ok:
                self.call(_("Erasing your record…"), self.client.erase_record, self._gone)
            else:
                self.say("info", still)

        # The word to type is translated: "erase" in English, "effacer" in French.
        self.app.push_screen(
            TypedConfirmScreen(title, consequence, _("erase"), _(action.label)), confirmed
        )

    # --- after closing or erasing: every session is revoked (the client drops its tokens) --

    def _gone(self, done: Any) -> None:
        from screens.login import LoginScreen

        message = pick(done.message)
        self.say("done", message)
        app = self.app
        while len(app.screen_stack) > 1:
            app.pop_screen()
        app.push_screen(LoginScreen(notice=message))
