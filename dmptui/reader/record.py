"""Screens 5 and 6 of screen-reader mode: emergency access (the two oppositions) and my
record (close, reactivate, erase). Both read the record state (``r.state``), loaded again each
time the screen is shown; the actions are ``dmptui.actions.emergency`` and ``.record``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmptui import catalogue, loading
from dmptui import words as w
from dmptui.actions import emergency as emergency_actions
from dmptui.actions import record as record_actions
from dmptui.actions.base import Plan
from dmptui.i18n import _
from dmptui.reader.export import offer_first
from dmptui.reader.flow import Abort
from dmptui.reader.menus import (
    EMERGENCY_MENU,
    RECORD_MENU,
    handles,
    menu_loop,
    numbered,
    show_menu,
)
from dmptui.reader.perform import perform
from dmptui.state import RECORD

if TYPE_CHECKING:
    from dmptui.reader.app import Reader


async def load_record(r: Reader, waiting: str) -> None:
    await r.call(waiting, lambda: r.state.refresh(r.client, frozenset({RECORD})))


async def perform_or_abort(r: Reader, plan: Plan) -> None:
    """Do the action; refused or cancelled (said why), the screen asks again without
    reading itself again."""
    if await perform(r, plan) is None:
        raise Abort


# --- screen 5: emergency access --------------------------------------------------------------


async def emergency(r: Reader) -> None:
    r.enter("emergency")
    await load_record(r, _(loading.LOADING_EMERGENCY))  # the choices follow: no "loaded"

    intro = [_(emergency_actions.INTRO)]  # said once a visit, not after each change

    def show() -> list[str]:
        while intro:
            r.say("info", intro.pop())
        for which in (w.BREAK_GLASS, w.REGULATION):
            refused = r.state.refused(which)
            if refused is not None:
                r.say("info", w.state_text(which, refused))
        entries = numbered(EMERGENCY_MENU, list(EMERGENCY_MENU))
        show_menu(r, _("What now?"), entries)
        return list(EMERGENCY_MENU)

    await menu_loop(r, EMERGENCY_MENU, show)


@handles("emergency.break_glass")
async def change_break_glass(r: Reader) -> None:
    await perform_or_abort(r, emergency_actions.change(r.state, w.BREAK_GLASS))


@handles("emergency.regulation")
async def change_regulation(r: Reader) -> None:
    await perform_or_abort(r, emergency_actions.change(r.state, w.REGULATION))


# --- screen 6: my record ---------------------------------------------------------------------


async def record(r: Reader) -> None:
    r.enter("record")
    await load_record(r, _(loading.LOADING_RECORD))  # its status follows: no "loaded"

    def show() -> list[str]:
        for line in record_actions.status_lines(r.state):
            r.say("info", line)
        shown = record_actions.available(r.state)
        # Each choice once, with what it does: "1 Close my record: Nobody can access it…".
        for entry in numbered(RECORD_MENU, shown):
            action = catalogue.ACTION_BY_ID[RECORD_MENU[int(entry.key) - 1]]
            r.say(
                "item",
                _("{key} {label}: {help}").format(
                    key=entry.key, label=entry.label, help=_(action.help)
                ),
            )
        return shown

    await menu_loop(r, RECORD_MENU, show)


@handles("record.close")
async def close_record(r: Reader) -> None:
    plan = record_actions.close(r.state)
    if plan.problem is None:
        await offer_first(r)
    await perform_or_abort(r, plan)


@handles("record.reactivate")
async def reopen_record(r: Reader) -> None:
    # A login is fresh for a few minutes; if it is not, the host asks for a code (``call``).
    await perform_or_abort(r, record_actions.reactivate(r.state))


@handles("record.erase")
async def erase_record(r: Reader) -> None:
    plan = record_actions.erase(r.state)
    if plan.problem is None:
        await offer_first(r)
    await perform_or_abort(r, plan)
