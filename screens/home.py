"""Screen 1 — Home: the record's status, the médecin traitant, the two emergency choices,
unread notifications (emergency accesses first) and counts; a menu of every screen."""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from dmptui import catalogue
from dmptui.i18n import _, pick
from screens.base import RecordScreen
from screens.widgets.text import LINE_LIMIT, MESSAGE_LIMIT, clip, plain


class HomeScreen(RecordScreen):
    SCREEN_KEY = "home"

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
        status = {"active": _("open"), "closed": _("closed"), "erased": _("erased")}
        lines = [_("Record: {status}").format(status=status.get(record.status, record.status))]
        if record.status == "closed":
            lines.append(
                _("Your record is closed: nobody can access it. Reopen it on screen 6 — My record.")
            )
        if record.attending:
            lines.append(
                _("Médecin traitant: {name} ({facility})").format(
                    name=record.attending.name, facility=record.attending.facility
                )
            )
        elif record.status == "active":
            lines.append(_("Médecin traitant: none designated (screen 3 — Practitioners)"))
        bg = _("refused") if record.oppositions.break_glass else _("allowed")
        rg = _("refused") if record.oppositions.regulation else _("allowed")
        lines.append(_("Break-glass emergency access: {state}").format(state=bg))
        lines.append(_("Emergency call-centre access: {state}").format(state=rg))
        if record.counts:
            lines.append(
                _(
                    "Documents: {documents} · authorised practitioners: {authorised} · "
                    "blocked: {blocked}"
                ).format(**record.counts)
            )
        self.query_one("#summary", Static).update(
            plain("\n".join(clip(line, LINE_LIMIT) for line in lines))
        )
        alerts: list[str] = []
        if notes is not None:
            items = sorted(notes.items, key=lambda n: (not n.emergency, -n.id))
            for n in items[:5]:
                prefix = _("EMERGENCY ACCESS:") + " " if n.emergency else "• "
                alerts.append(clip(prefix + pick(n.message), MESSAGE_LIMIT))
            if notes.items:
                alerts.insert(
                    0, _("{n} unread notifications (screen 8):").format(n=len(notes.items))
                )
        self.query_one("#alerts", Static).update(plain("\n".join(alerts)))
        self.say("done", _("Your record is up to date."))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.app.action_goto(event.option.id or "home")  # type: ignore[attr-defined]
