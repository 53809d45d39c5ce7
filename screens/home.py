"""Screen 1 — Home: the record's status, the médecin traitant, the two emergency choices,
unread notifications (emergency accesses first) and counts; a menu of every screen."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from dmptui import catalogue, words
from dmptui.i18n import _
from screens.base import RecordScreen, catalogue_bindings
from screens.widgets.text import LINE_LIMIT, MESSAGE_LIMIT, clip, plain


class HomeScreen(RecordScreen):
    SCREEN_KEY = "home"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("home")

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
        async def fetch() -> tuple[Any, Any]:
            record = await self.client.record()
            notes = None
            if record.status == "active":
                notes = await self.client.notifications(limit=50, unread=True)
            return record, notes

        self.call(_("Loading your record…"), fetch, self._show)

    def _show(self, data: tuple[Any, Any]) -> None:
        record, notes = data
        lines = words.record_summary(record)
        self.query_one("#summary", Static).update(
            plain("\n".join(clip(line, LINE_LIMIT) for line in lines))
        )
        heading, unread = words.unread_summary(notes)
        alerts = [heading] if heading else []
        for urgent, text in unread:
            prefix = _("EMERGENCY ACCESS:") + " " if urgent else "• "
            alerts.append(clip(prefix + text, MESSAGE_LIMIT))
        self.query_one("#alerts", Static).update(plain("\n".join(alerts)))
        self.say("done", _("Your record is up to date."))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.app.action_goto(event.option.id or "home")
