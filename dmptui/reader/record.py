"""Screens 5 and 6 of screen-reader mode: emergency access (the two oppositions) and my
record (close, reactivate, erase)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dmptui import catalogue
from dmptui import words as w
from dmptui.i18n import _, format_date, pick
from dmptui.reader.flow import Abort, SessionEnded
from dmptui.reader.login import (
    step_up,
)
from dmptui.reader.menus import (
    EMERGENCY_MENU,
    HANDLERS,
    RECORD_MENU,
    choose_yes,
    confirm_word,
    handles,
    keys_of,
    numbered,
    pick_number,
    show_menu,
)

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 5: emergency access --------------------------------------------------------------


async def emergency(r: Reader) -> None:
    r.enter("emergency")
    record = await r.call(_("Loading your emergency access choices…"), r.client.record)
    refused = {
        w.BREAK_GLASS: record.oppositions.break_glass,
        w.REGULATION: record.oppositions.regulation,
    }
    r.say("done", _("Your emergency access choices are loaded."))

    def show() -> None:
        r.say(
            "info",
            _(
                "Two separate choices: you can allow or refuse each one on its "
                "own. Changing one never changes the other."
            ),
        )
        r.say("info", w.state_text(w.BREAK_GLASS, refused[w.BREAK_GLASS]))
        r.say("info", w.state_text(w.REGULATION, refused[w.REGULATION]))
        entries = numbered(EMERGENCY_MENU, list(EMERGENCY_MENU))
        show_menu(r, _("What do you want to change?"), entries)

    show()
    while True:
        answer = await r.ask_choice()
        if answer == "":
            show()
            continue
        action = pick_number(answer, EMERGENCY_MENU, list(EMERGENCY_MENU))
        if action is None:
            r.wrong_choice(answer, keys_of(EMERGENCY_MENU, list(EMERGENCY_MENU)))
            continue
        try:
            await HANDLERS[action](r, refused)
        except Abort:
            continue
        show()


@handles("emergency.break_glass")
async def change_break_glass(r: Reader, refused: dict[str, bool]) -> None:
    await change_opposition(r, refused, w.BREAK_GLASS)


@handles("emergency.regulation")
async def change_regulation(r: Reader, refused: dict[str, bool]) -> None:
    await change_opposition(r, refused, w.REGULATION)


async def change_opposition(r: Reader, refused: dict[str, bool], which: str) -> None:
    refuse = not refused[which]
    question, consequence = w.change_text(which, refuse)
    r.say("info", question)
    r.say("info", consequence)
    if not await confirm_word(r, _("confirm")) or not await step_up(r):
        r.say("info", w.unchanged_text(which, not refuse))
        raise Abort
    wanted = dict(refused)
    wanted[which] = refuse
    result = await r.call(
        _("Saving your choice…"),
        lambda: r.client.set_oppositions(wanted[w.BREAK_GLASS], wanted[w.REGULATION]),
    )
    refused[w.BREAK_GLASS], refused[w.REGULATION] = result.break_glass, result.regulation
    r.say("done", w.done_text(which, getattr(result, which)))


# --- screen 6: my record ---------------------------------------------------------------------


async def record(r: Reader) -> None:
    r.enter("record")
    current = await r.call(_("Loading your record…"), r.client.record)
    r.say("done", _("Your record is loaded."))
    state = {"record": current}

    def show() -> list[str]:
        rec = state["record"]
        status = str(rec.status)
        if status == "closed":
            r.say(
                "info",
                _(
                    "Your record is CLOSED since {closed}: nobody can access it, you included."
                ).format(closed=format_date(rec.closed_at)),
            )
            if rec.purge_after is not None:
                r.say(
                    "info",
                    _(
                        "It is kept until {date}, then destroyed. You can reopen it until then."
                    ).format(date=format_date(rec.purge_after)),
                )
            shown = ["record.reactivate", "record.erase"]
        elif status == "erased":
            r.say("info", _("Your record is ERASED: nothing in it can be recovered."))
            shown = []
        else:
            r.say("info", _("Your record is OPEN: you and the practitioners you allow can use it."))
            shown = ["record.close", "record.erase"]
        entries = numbered(RECORD_MENU, shown)
        show_menu(r, _("What you can do:"), entries)
        for action_id in shown:
            action = catalogue.ACTION_BY_ID[action_id]
            r.say(
                "info",
                _("{label}: {help}").format(label=_(action.label), help=_(action.help)),
            )
        return shown

    shown = show()
    while True:
        answer = await r.ask_choice()
        if answer == "":
            shown = show()
            continue
        action = pick_number(answer, RECORD_MENU, shown)
        if action is None:
            r.wrong_choice(answer, keys_of(RECORD_MENU, shown))
            continue
        try:
            await HANDLERS[action](r, state)
        except Abort:
            continue
        shown = show()


@handles("record.close")
async def close_record(r: Reader, state: dict[str, Any]) -> None:
    still = _("Nothing was changed: your record is still open.")
    r.say("info", _("Close your record?"))
    r.say("info", _(catalogue.ACTION_BY_ID["record.close"].confirm or ""))
    if not await confirm_word(r, _("close")) or not await step_up(r):
        r.say("info", still)
        raise Abort
    done = await r.call(_("Closing your record…"), r.client.close_record)
    r.say("done", pick(done.message))
    raise SessionEnded


@handles("record.reactivate")
async def reopen_record(r: Reader, state: dict[str, Any]) -> None:
    r.say("info", _("Reopen your record?"))
    r.say(
        "info",
        _(
            "Your record will be open again: everything it held comes back, with "
            "the same authorisations and blocks, and the practitioners you allow "
            "can use it again. The 10-year countdown stops."
        ),
    )
    if not await choose_yes(r, _(catalogue.ACTION_BY_ID["record.reactivate"].label)):
        r.say("info", _("Nothing was changed: your record is still closed."))
        raise Abort
    # A login is fresh for a few minutes; if it is not, the host asks for a code (``call``).
    done = await r.call(_("Reopening your record…"), r.client.reactivate_record)
    state["record"] = await r.call(_("Loading your record…"), r.client.record)
    r.say("done", pick(done.message))


@handles("record.erase")
async def erase_record(r: Reader, state: dict[str, Any]) -> None:
    closed = str(state["record"].status) == "closed"
    still = (
        _("Nothing was changed: your record is still closed.")
        if closed
        else _("Nothing was changed: your record is still open.")
    )
    r.say("info", _("Erase your record for good?"))
    r.say("info", _(catalogue.ACTION_BY_ID["record.erase"].confirm or ""))
    if not await confirm_word(r, _("erase")) or not await step_up(r):
        r.say("info", still)
        raise Abort
    done = await r.call(_("Erasing your record…"), r.client.erase_record)
    r.say("done", pick(done.message))
    raise SessionEnded
