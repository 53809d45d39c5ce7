"""Screen 6 — My record: its status in words, and its life — close, reopen, erase for good.

Each change explains its consequence (RULES.md), asks for an explicit confirmation and a fresh
code. Erasing also asks the patient to type a word, since nothing can bring the record back.
Closing and erasing end every session: the app goes back to the login screen and says why."""

from __future__ import annotations

from pathlib import Path
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import VerticalScroll
from textual.widgets import ProgressBar, Static

from dmptui import catalogue, loading
from dmptui.actions import export as export_actions
from dmptui.actions import record as actions
from dmptui.actions.base import Outcome, Plan
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
            yield ProgressBar(id="export-progress", show_eta=False)

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
        self._offer_export_then(actions.close(self.record_state))

    def action_act_reactivate(self) -> None:
        self.perform(actions.reactivate(self.record_state))

    def action_act_erase(self) -> None:
        self._offer_export_then(actions.erase(self.record_state))

    # --- export: from its key, and offered before closing or erasing -----------------------

    def action_act_export(self, then: Plan | None = None) -> None:
        from screens.export import ExportPathScreen

        def chosen(path: Path | None) -> None:
            if path is None:
                self.say("info", _(export_actions.NOTHING_EXPORTED))
                return
            bar = self.query_one("#export-progress", ProgressBar)
            bar.update(total=None, progress=0)
            bar.display = True

            def progress(received: int, estimate: int | None) -> None:
                if estimate:
                    bar.update(total=estimate, progress=min(received, estimate - 1))
                self.say("wait", export_actions.progress_words(received, estimate))

            def finished(_outcome: Outcome) -> None:
                bar.display = False
                if then is not None:
                    self.perform(then)

            plan = export_actions.plan(
                self.record_state, export_actions.Destination(path, progress)
            )
            self.perform(plan, finished)

        self.app.push_screen(ExportPathScreen(), chosen)

    def _offer_export_then(self, plan: Plan) -> None:
        """Before closing or erasing: take the record first, or go on, or cancel."""
        if plan.problem is not None:
            self.perform(plan)
            return
        from screens.confirm import ChoiceScreen

        def chosen(key: str | None) -> None:
            if key == "export":
                self.action_act_export(then=plan)
            elif key == "go_on":
                self.perform(plan)
            else:
                self.say("info", plan.cancelled)

        self.app.push_screen(ChoiceScreen(export_actions.offer()), chosen)
