"""Screen 5's actions: allow or refuse break-glass access, allow or refuse emergency call-centre
access. Two separate choices: changing one keeps the other as it is."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmptui import catalogue, words
from dmptui.actions.base import Ask, Outcome, Plan, refused
from dmptui.i18n import N_, _
from dmptui.state import RECORD, RecordState
from dmptui.words import BREAK_GLASS, REGULATION

if TYPE_CHECKING:
    from dmptui.client import Client

ACTION_IDS = {BREAK_GLASS: "emergency.break_glass", REGULATION: "emergency.regulation"}
INTRO = N_(
    "Two separate choices: you can allow or refuse each one on its "
    "own. Changing one never changes the other."
)


def confirm_label(which: str, refuse: bool) -> str:
    if which == BREAK_GLASS:
        return _("Refuse break-glass access") if refuse else _("Allow break-glass access")
    return (
        _("Refuse emergency call-centre access")
        if refuse
        else _("Allow emergency call-centre access")
    )


def change(state: RecordState, which: str) -> Plan:
    """Turn one choice around: refused becomes allowed, allowed becomes refused."""
    action_id = ACTION_IDS[which]
    now = state.refused(which)
    if now is None or state.record is None:
        return refused(
            action_id,
            _("Your choices are still loading. Wait a moment, then try again."),
            "warning",
        )
    refuse = not now
    kept = state.record.oppositions
    title, consequence = words.change_text(which, refuse)

    async def run(client: Client, _choice: str | None) -> Outcome:
        wanted = {BREAK_GLASS: kept.break_glass, REGULATION: kept.regulation}
        wanted[which] = refuse
        result = await client.set_oppositions(wanted[BREAK_GLASS], wanted[REGULATION])
        state.set_oppositions(result)
        return Outcome(words.done_text(which, getattr(result, which)), value=result)

    return Plan(
        action_id,
        waiting=_("Saving your choice…"),
        run=run,
        ask=Ask(
            title=title,
            consequence=consequence,
            confirm_label=confirm_label(which, refuse),
            word=_("confirm"),
        ),
        step_up=catalogue.ACTION_BY_ID[action_id].step_up,
        cancelled=words.unchanged_text(which, now),
        changes=frozenset({RECORD}),
    )
