"""Screen 5 — Emergency access: the two separate choices (refuse break-glass, refuse the emergency
call centre), each shown in words and explained before it is changed.

Changing one keeps the other as it is. Each change: read the consequence of *this* change
(allowing and refusing say different things), confirm, type a fresh code, then the host."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from dmptui import catalogue, loading
from dmptui.actions import emergency as actions
from dmptui.i18n import _
from dmptui.state import RECORD
from dmptui.words import BREAK_GLASS, REGULATION, state_text
from screens.base import RecordScreen, catalogue_bindings
from screens.keys import key_in_use
from screens.widgets.text import plain


class EmergencyScreen(RecordScreen):
    SCREEN_KEY = "emergency"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("emergency")
    REFRESH_ON_SHOW = True

    def compose_body(self) -> ComposeResult:
        bg = catalogue.ACTION_BY_ID["emergency.break_glass"]
        rg = catalogue.ACTION_BY_ID["emergency.regulation"]
        keymap = self.app.config.keymap
        with VerticalScroll(id="emergency"):
            yield Static(
                plain(_(actions.INTRO)),
                id="emergency-intro",
            )
            yield Static(id="break-glass-state", classes="choice-state")
            yield Static(plain(_(bg.confirm or bg.help)), classes="choice-help")
            yield Static(
                plain(_("Press {key} to change it.").format(key=key_in_use(bg.id, keymap))),
                classes="choice-key",
            )
            yield Static(id="regulation-state", classes="choice-state")
            yield Static(plain(_(rg.confirm or rg.help)), classes="choice-help")
            yield Static(
                plain(_("Press {key} to change it.").format(key=key_in_use(rg.id, keymap))),
                classes="choice-key",
            )

    def reload(self) -> None:
        state, client = self.record_state, self.client
        self.call(
            _(loading.LOADING_EMERGENCY),
            lambda: state.refresh(client, frozenset({RECORD})),
            lambda _none: self.say(
                "info",
                _(
                    "Your emergency access choices are shown below. Press {one} or {other} to "
                    "change one."
                ).format(
                    one=key_in_use("emergency.break_glass", self.app.config.keymap),
                    other=key_in_use("emergency.regulation", self.app.config.keymap),
                ),
            ),
        )

    def show_record(self) -> None:
        for which, widget_id in (
            (BREAK_GLASS, "#break-glass-state"),
            (REGULATION, "#regulation-state"),
        ):
            refused = self.record_state.refused(which)
            text = "" if refused is None else state_text(which, refused)
            self.query_one(widget_id, Static).update(plain(text))

    # --- actions: each changes one choice and keeps the other ------------------------------

    def action_act_break_glass(self) -> None:
        self.perform(actions.change(self.record_state, BREAK_GLASS))

    def action_act_regulation(self) -> None:
        self.perform(actions.change(self.record_state, REGULATION))
