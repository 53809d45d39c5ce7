"""Screens 1 and 9 of screen-reader mode: home (the main menu and the record's summary) and
help, with the actions of every screen (help, back, log out, quit)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmptui import catalogue, loading
from dmptui import words as w
from dmptui.i18n import _
from dmptui.reader.flow import Abort, Back, Logout, Navigate, Quit
from dmptui.reader.menus import (
    GLOBAL_KEYS,
    Entry,
    handles,
    help_lines,
    print_help,
    reader_key,
    show_menu,
)

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 1: home --------------------------------------------------------------------------


def main_menu() -> list[Entry]:
    return [Entry(str(s.number), _(s.title)) for s in catalogue.SCREENS]


async def home(r: Reader) -> None:
    r.enter("home", say=not r.menu_asked)  # after m, "Main menu: …" is the heading
    r.menu_asked = False
    if r.summary:  # after a login, or asked for (1): ``m`` and back give the menu alone
        r.summary = False
        try:
            await r.call(_(loading.LOADING_RECORD), lambda: r.state.refresh(r.client))
        except Abort:
            pass
        else:  # the summary follows: no "up to date"
            for line in summary_lines(r):
                r.say("info", line)
    title = _("Main menu:")
    show_menu(r, title, main_menu())
    while True:
        try:
            answer = await r.ask_choice()
        except Back:
            r.say("info", _("This is the main menu: there is nothing to go back to. q: quit."))
            continue
        if answer == "":
            show_menu(r, title, main_menu())
            continue
        spec = next((s for s in catalogue.SCREENS if str(s.number) == answer), None)
        if spec is not None:
            r.summary = spec.key == "home"
            raise Navigate(spec.key)
        r.wrong_choice(answer, _("Type a number from 1 to 10."))


def summary_lines(r: Reader) -> list[str]:
    """The record at a glance, from the record state: its status, the choices, the counts,
    then the unread notifications (their times as said, the zone once)."""
    from dmptui.reader.notifications import spoken_message

    state = r.state
    if state.record is None:
        return []
    lines = w.record_summary(state.record, defaults=False)  # an access allowed is not said
    heading, _unread = w.unread_summary(state.unread)
    if heading and state.unread is not None:
        lines.append(heading)
        prefix = _(w.EMERGENCY_ACCESS_PREFIX)
        items = sorted(state.unread.items, key=lambda n: (not n.emergency, -n.id))
        for item in items[: w.UNREAD_SHOWN]:
            text = spoken_message(r, item)
            lines.append(f"{prefix} {text}" if item.emergency else text)
    return lines


# --- screen 9: help, and the actions of every screen -----------------------------------------


async def help_screen(r: Reader) -> None:
    r.enter("help")

    def show() -> None:
        r.say(
            "info",
            _(
                "Screen-reader mode: every screen has a number (the main menu lists them). "
                "Answer each question with a number or a letter, then Enter."
            ),
        )
        for action in catalogue.actions_for("*"):
            r.say(
                "item",
                _("{key}: {label}. {help}").format(
                    key=reader_key(action.id), label=_(action.label), help=_(action.help)
                ),
            )
        r.say("info", GLOBAL_KEYS())
        for spec in catalogue.SCREENS:
            if catalogue.actions_for(spec.key):
                for kind, line in help_lines(spec.key, everywhere=False):
                    r.say(kind, line)
        r.say("info", _("0: back to the main menu."))

    show()
    while True:
        answer = await r.ask_choice()
        if answer == "":
            show()
        else:
            r.wrong_choice(answer, _("Type 0 to go back, or m for the main menu."))


@handles("app.help")
async def app_help(r: Reader) -> None:
    print_help(r, r.screen)


@handles("app.back")
async def app_back(r: Reader) -> None:
    raise Back


@handles("app.logout")
async def app_logout(r: Reader) -> None:
    raise Logout


@handles("app.quit")
async def app_quit(r: Reader) -> None:
    raise Quit
