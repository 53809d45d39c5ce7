"""Screen 6 — My record: its status in words, and its life — close, reopen, erase for good.

Each change explains its consequence (RULES.md), asks for an explicit confirmation and a fresh
code. Erasing also asks the patient to type a word, since nothing can bring the record back.
Closing and erasing end every session: the app goes back to the login screen and says why."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from dmptui import catalogue, loading
from dmptui.actions import record as actions
from dmptui.i18n import _
from dmptui.state import RECORD
from screens.base import RecordScreen, catalogue_bindings
from screens.keys import key_in_use
from screens.widgets.text import plain


class RecordLifeScreen(RecordScreen):
    SCREEN_KEY = "record"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("record")
    REFRESH_ON_SHOW = True

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="record-life"):
            yield Static(id="record-status")
            yield Static(id="record-actions")

    def reload(self) -> None:
        state, client = self.record_state, self.client
        self.call(
            _(loading.LOADING_RECORD),
            lambda: state.refresh(client, frozenset({RECORD})),
            lambda _none: self._loaded(),
        )

    def _loaded(self) -> None:
        if self.record_state.status == "closed":
            key = key_in_use("record.reactivate", self.app.config.keymap)
            self.say("info", _("Your record is closed. Press {key} to reopen it.").format(key=key))
        else:
            self.say("info", _("Your record is open."))

    def show_record(self) -> None:
        state = self.record_state
        self.query_one("#record-status", Static).update(
            plain("\n".join(actions.status_lines(state)))
        )
        lines = []
        for action_id in actions.available(state):
            action = catalogue.ACTION_BY_ID[action_id]
            lines.append(
                _("Press {key} — {label}: {help}").format(
                    key=key_in_use(action.id, self.app.config.keymap),
                    label=_(action.label),
                    help=_(action.help),
                )
            )
        if lines:
            lines.insert(0, _(actions.WHAT_YOU_CAN_DO))
        self.query_one("#record-actions", Static).update(plain("\n".join(lines)))

    # --- close, reopen, erase: closing and erasing end every session (the login screen) ----

    def action_act_close(self) -> None:
        self.perform(actions.close(self.record_state))

    def action_act_reactivate(self) -> None:
        self.perform(actions.reactivate(self.record_state))

    def action_act_erase(self) -> None:
        self.perform(actions.erase(self.record_state))
