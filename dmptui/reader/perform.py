"""Screen-reader mode's rendering of an action's plan (``dmptui.actions``): one runner for every
action, so each is asked, confirmed and said the same way.

A problem is said, and nothing else happens. A question is said (its title, then its
paragraphs), then answered: the word typed when the plan has one, else a numbered menu of its
choices (0: cancel), else ``1. <yes>`` or ``0. Cancel``. Then a fresh code when the plan needs
one, then the call (``Reader.call``: waiting words, errors explained, a new login or a code
asked for when the host wants one), then its outcome. An outcome that ends the session raises
``SessionEnded`` once said."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmptui.actions.base import CANCEL, Outcome, Plan
from dmptui.i18n import _
from dmptui.reader.flow import SessionEnded
from dmptui.reader.login import step_up
from dmptui.reader.menus import Entry, choose_from, choose_yes, confirm_word, show_menu

if TYPE_CHECKING:
    from dmptui.reader.app import Reader


async def answer(r: Reader, plan: Plan) -> tuple[bool, str | None]:
    """The plan's question, said and answered: (go ahead?, the choice's key)."""
    ask = plan.ask
    if ask is None:
        return True, None
    r.say("info", ask.title)
    for paragraph in ask.paragraphs():
        r.say("info", paragraph)
    if ask.choices:
        entries = [Entry(str(i + 1), c.label) for i, c in enumerate(ask.choices)]
        entries.append(Entry("0", _(CANCEL)))
        show_menu(r, None, entries)
        picked = await choose_from(r, entries)
        if picked is None or picked == "0":
            return False, None
        return True, ask.choices[int(picked) - 1].key
    if ask.word:
        return await confirm_word(r, ask.word), None
    return await choose_yes(r, ask.confirm_label), None


async def perform(r: Reader, plan: Plan) -> Outcome | None:
    """Do ``plan`` as the patient answers: its outcome once said, or None when it was refused
    (the problem said) or cancelled (``plan.cancelled`` said). A failed call raises ``Failed``
    (explained), a change made elsewhere ``Navigate`` (the screen loads again)."""
    if plan.problem is not None:
        r.say(plan.problem.kind, plan.problem.text)
        return None
    go, choice = await answer(r, plan)
    if go and plan.step_up:
        go = await step_up(r)
    if not go:
        r.say("info", plan.cancelled)
        return None
    outcome = await r.call(plan.waiting, lambda: plan.run(r.client, choice))
    r.say(outcome.kind, outcome.text)
    if outcome.ends_session:
        raise SessionEnded
    return outcome
