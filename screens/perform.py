"""Rendering an action's plan (``dmptui.actions``) on a screen: its problem in words, its
question (yes or no, a word to type, or a choice), a fresh code when it needs one, the call, and
its outcome in words. The screens write no sentence about the record of their own."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from screens.confirm import ChoiceScreen, CodeScreen, ConfirmScreen, TypedConfirmScreen

if TYPE_CHECKING:
    from dmptui.actions import Outcome, Plan
    from screens.base import Calls


def perform(screen: Calls, plan: Plan, then: Callable[[Outcome], None] | None = None) -> None:
    from screens.base import RecordScreen

    app = screen.app
    if plan.problem is not None:
        screen.say(plan.problem.kind, plan.problem.text)
        return
    ask = plan.ask

    def cancelled() -> None:
        screen.say("info", plan.cancelled)

    def done(outcome: Outcome) -> None:
        if then is not None:
            then(outcome)
        screen.say(outcome.kind, outcome.text)
        if outcome.ends_session:
            app.session_ended(outcome.text)

    def failed(error: Exception) -> None:
        if isinstance(screen, RecordScreen):
            from dmptui.explain import explain

            screen.refresh_state(plan.changes, ("error", explain(error)))

    def call(choice: str | None) -> None:
        client = screen.client
        screen.call(plan.waiting, lambda: plan.run(client, choice), done, failed=failed)

    def answered(choice: str | None) -> None:
        if not plan.step_up:
            call(choice)
            return

        def coded(ok: bool | None) -> None:
            if ok:
                call(choice)
            else:
                cancelled()

        heading = ask.title if ask else None
        app.push_screen(CodeScreen(ask.consequence if ask else None, heading), coded)

    def yes(ok: bool | None) -> None:
        if ok:
            answered(None)
        else:
            cancelled()

    def chosen(key: str | None) -> None:
        if key:
            answered(key)
        else:
            cancelled()

    if ask is None:
        answered(None)
    elif ask.choices:
        app.push_screen(ChoiceScreen(ask), chosen)
    elif ask.typed:
        app.push_screen(
            TypedConfirmScreen(ask.title, ask.consequence, ask.word, ask.confirm_label), yes
        )
    else:
        app.push_screen(ConfirmScreen(ask.title, ask.consequence, ask.confirm_label), yes)
