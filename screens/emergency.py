"""Screen 5 — Emergency access: the two separate choices (refuse break-glass, refuse the emergency
call centre), each shown in words and explained before it is changed.

Changing one keeps the other as it is. Each change: read the consequence of *this* change
(allowing and refusing say different things), confirm, type a fresh code, then the host."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from dmptui import catalogue, words
from dmptui.i18n import _
from dmptui.words import BREAK_GLASS, REGULATION, done_text, state_text, unchanged_text
from screens.base import RecordScreen, catalogue_bindings
from screens.confirm import CodeScreen, ConfirmScreen
from screens.widgets.text import plain


def change_text(which: str, refuse: bool) -> tuple[str, str, str]:
    """(title, consequence, confirm label) of changing one choice to ``refuse``: the question and
    its consequence as both front ends say them (``dmptui.words``), and the button's words."""
    title, consequence = words.change_text(which, refuse)
    if which == BREAK_GLASS:
        label = _("Refuse break-glass access") if refuse else _("Allow break-glass access")
    else:
        label = (
            _("Refuse emergency call-centre access")
            if refuse
            else _("Allow emergency call-centre access")
        )
    return title, consequence, label


class EmergencyScreen(RecordScreen):
    SCREEN_KEY = "emergency"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("emergency")

    def __init__(self) -> None:
        super().__init__()
        # True = refused; None until the host has answered.
        self.refused: dict[str, bool] | None = None

    def compose_body(self) -> ComposeResult:
        bg = catalogue.ACTION_BY_ID["emergency.break_glass"]
        rg = catalogue.ACTION_BY_ID["emergency.regulation"]
        with VerticalScroll(id="emergency"):
            yield Static(
                plain(
                    _(
                        "Two separate choices: you can allow or refuse each one on its "
                        "own. Changing one never changes the other."
                    )
                ),
                id="emergency-intro",
            )
            yield Static(id="break-glass-state", classes="choice-state")
            yield Static(plain(_(bg.confirm or bg.help)), classes="choice-help")
            yield Static(
                plain(_("Press {key} to change it.").format(key=bg.key)), classes="choice-key"
            )
            yield Static(id="regulation-state", classes="choice-state")
            yield Static(plain(_(rg.confirm or rg.help)), classes="choice-help")
            yield Static(
                plain(_("Press {key} to change it.").format(key=rg.key)), classes="choice-key"
            )

    def reload(self) -> None:
        self.call(_("Loading your emergency access choices…"), self.client.record, self._loaded)

    def _loaded(self, record: Any) -> None:
        self._show(record.oppositions.break_glass, record.oppositions.regulation)
        self.say(
            "info", _("Your emergency access choices are shown below. Press b or r to change one.")
        )

    def _show(self, break_glass: bool, regulation: bool) -> None:
        self.refused = {BREAK_GLASS: break_glass, REGULATION: regulation}
        self.query_one("#break-glass-state", Static).update(
            plain(state_text(BREAK_GLASS, break_glass))
        )
        self.query_one("#regulation-state", Static).update(
            plain(state_text(REGULATION, regulation))
        )

    # --- actions ---------------------------------------------------------------------------

    def action_act_break_glass(self) -> None:
        self._change(BREAK_GLASS)

    def action_act_regulation(self) -> None:
        self._change(REGULATION)

    def _change(self, which: str) -> None:
        if self.refused is None:
            self.say("warning", _("Your choices are still loading. Wait a moment, then try again."))
            self.reload()
            return
        refuse = not self.refused[which]
        title, consequence, label = change_text(which, refuse)

        def confirmed(ok: bool | None) -> None:
            if not ok:
                self.say("info", unchanged_text(which, not refuse))
                return
            self.app.push_screen(CodeScreen(consequence, title), coded)

        def coded(ok: bool | None) -> None:
            if not ok:
                self.say("info", unchanged_text(which, not refuse))
                return
            self._apply(which, refuse)

        self.app.push_screen(ConfirmScreen(title, consequence, label), confirmed)

    def _apply(self, which: str, refuse: bool) -> None:
        assert self.refused is not None
        wanted = dict(self.refused)
        wanted[which] = refuse

        def done(result: Any) -> None:
            self._show(result.break_glass, result.regulation)
            self.say("done", done_text(which, getattr(result, which)))

        self.call(
            _("Saving your choice…"),
            lambda: self.client.set_oppositions(wanted[BREAK_GLASS], wanted[REGULATION]),
            done,
        )
