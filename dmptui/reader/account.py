"""Screen 10 of screen-reader mode: my devices and sessions (each said in a sentence, "this
device" first among them), and the actions on them: end a session, forget a device, log out
everywhere, change the password (``dmptui.actions.account``)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from dmptui.actions import account as actions
from dmptui.actions.base import CANCEL
from dmptui.i18n import _, spoken_datetime
from dmptui.reader.flow import Abort
from dmptui.reader.menus import (
    ACCOUNT_MENU,
    Entry,
    choose_from,
    handles,
    menu_loop,
    numbered,
    show_menu,
)
from dmptui.reader.perform import perform

if TYPE_CHECKING:
    from dmptui.reader.app import Reader


@dataclass
class Account:
    """The host's last answer (``SessionsOut``), loaded again after each change."""

    listing: Any = None


async def load(r: Reader, st: Account) -> None:
    st.listing = await r.call(_(actions.LOADING), r.client.account_sessions)


async def account(r: Reader) -> None:
    r.enter("account")
    st = Account()
    await load(r, st)
    r.say("info", _(actions.INTRO))

    def show() -> list[str]:
        listing = st.listing
        r.say("info", _(actions.SESSIONS_HEADING))
        for i, item in enumerate(listing.sessions):
            r.say("item", f"{i + 1}. {actions.session_line(item, spoken_datetime)}")
        r.say("info", _(actions.DEVICES_HEADING))
        for i, item in enumerate(listing.devices):
            r.say("item", f"{i + 1}. {actions.device_line(item, spoken_datetime)}")
        if not listing.devices:
            r.say("item", _(actions.NO_DEVICES))
        show_menu(r, _("What now?"), numbered(ACCOUNT_MENU, list(ACCOUNT_MENU)))
        return list(ACCOUNT_MENU)

    await menu_loop(r, ACCOUNT_MENU, show, st)


async def _pick(r: Reader, items: list[Any], line: Any, question: str) -> Any | None:
    """One of ``items`` by its number (0: back), or None."""
    if not items:
        return None
    entries = [Entry(str(i + 1), line(item)) for i, item in enumerate(items)]
    r.say("info", question)
    for entry in entries:
        r.say("item", f"{entry.key}. {entry.label}")
    cancel = Entry("0", _(CANCEL))
    show_menu(r, None, [cancel])
    picked = await choose_from(r, [*entries, cancel])
    return None if picked in (None, "0") else items[int(picked) - 1]


async def _do(r: Reader, st: Account, plan: Any) -> None:
    if await perform(r, plan) is None:
        raise Abort
    await load(r, st)


@handles("account.end_session")
async def end_session(r: Reader, st: Account) -> None:
    item = await _pick(
        r,
        st.listing.sessions,
        partial(actions.session_line, when=spoken_datetime),
        _(actions.WHICH_SESSION),
    )
    await _do(r, st, actions.end_session(r.state, item, spoken_datetime))


@handles("account.forget_device")
async def forget_device(r: Reader, st: Account) -> None:
    item = await _pick(
        r,
        st.listing.devices,
        partial(actions.device_line, when=spoken_datetime),
        _(actions.WHICH_DEVICE),
    )
    await _do(r, st, actions.forget_device(r.state, item, spoken_datetime))


@handles("account.everywhere")
async def everywhere(r: Reader, st: Account) -> None:
    await _do(r, st, actions.everywhere(r.state))


@handles("account.password")
async def change_password(r: Reader, st: Account) -> None:
    r.say("info", _(actions.PASSWORD_INTRO))
    current = await r.ask(_(actions.CURRENT_PASSWORD) + ":", secret=True)
    new = repeat = ""
    if current:
        new = await r.ask(_(actions.NEW_PASSWORD) + ":", secret=True)
    if new:
        repeat = await r.ask(_(actions.REPEAT_PASSWORD) + ":", secret=True)
    await _do(r, st, actions.change_password(r.state, current, new, repeat))
