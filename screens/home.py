"""Screen 1 — Home: the record's status, the médecin traitant, the two emergency choices,
unread notifications (emergency accesses first) and counts; a menu of every screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from dmptui import catalogue, loading, words
from dmptui.i18n import _
from screens.base import RecordScreen, catalogue_bindings
from screens.widgets.text import LINE_LIMIT, MESSAGE_LIMIT, clip, plain


class HomeScreen(RecordScreen):
    SCREEN_KEY = "home"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("home")
    REFRESH_ON_SHOW = True  # the record as it is now, each time home is shown

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="home"):
            yield Static(id="summary")
            yield Static(id="alerts")
            yield OptionList(
                *[
                    Option(catalogue.screen_label(s), id=s.key)
                    for s in catalogue.SCREENS
                    if s.key != "home"
                ],
                id="menu",
            )

    def reload(self) -> None:
        state, client = self.record_state, self.client
        self.call(
            _(loading.LOADING_RECORD),
            lambda: state.refresh(client),
            lambda _none: self.say("done", _(loading.RECORD_UP_TO_DATE)),
        )

    def show_record(self) -> None:
        state = self.record_state
        lines = words.record_summary(state.record) if state.record is not None else []
        self.query_one("#summary", Static).update(
            plain("\n".join(clip(line, LINE_LIMIT) for line in lines))
        )
        heading, unread = words.unread_summary(state.unread)
        alerts = [heading] if heading else []
        for urgent, text in unread:
            prefix = _(words.EMERGENCY_ACCESS_PREFIX) + " " if urgent else "• "
            alerts.append(clip(prefix + text, MESSAGE_LIMIT))
        self.query_one("#alerts", Static).update(plain("\n".join(alerts)))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.app.action_goto(event.option.id or "home")
