"""Screen 8 of screen-reader mode: notifications (read a page at a time, all marked read)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from dmptui import loading
from dmptui import words as w
from dmptui.actions import personal
from dmptui.i18n import _, format_datetime, format_number, pick
from dmptui.reader.flow import Abort
from dmptui.reader.menus import (
    HANDLERS,
    NOTIFICATIONS_BATCH,
    Pager,
    handles,
)
from dmptui.reader.perform import perform

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 8: notifications -----------------------------------------------------------------


async def notifications(r: Reader) -> None:
    r.enter("notifications")

    async def fetch(cursor: str | None, limit: int) -> Any:
        return await r.client.notifications(limit=limit, cursor=cursor)

    pager = Pager(r, fetch, _("Loading more notifications…"), NOTIFICATIONS_BATCH)

    async def load() -> None:
        await pager.load(_(loading.LOADING_NOTIFICATIONS))
        await pager.everything()  # emergency accesses first: all of them are needed
        pager.items.sort(key=w.notification_order)
        items = pager.items
        if not items:
            r.say("done", _("you have no notifications."))
        else:
            r.say(
                "done",
                w.notifications_summary(
                    len(items),
                    sum(1 for n in items if not n.read),
                    sum(1 for n in items if n.emergency),
                )
                + " "
                + _("Times are Paris time."),
            )

    def show() -> None:
        if not pager.items:
            return
        first, last = pager.span()
        r.say(
            "info",
            _("Notifications {first} to {last} of {total}.").format(
                first=first, last=last, total=format_number(len(pager.items))
            )
            + " "
            + _("n: next, p: previous, r: mark all as read."),
        )
        for i in pager.shown():
            r.say("item", notification_sentence(i + 1, pager.items[i]))

    await load()
    show()
    while True:
        answer = await r.ask_choice()
        if answer == "":
            show()
        elif answer in ("n", "p"):
            if await pager.turn(answer):
                show()
        elif answer.isdigit():
            index = await pager.index(answer)
            if index is not None:
                r.say("item", notification_sentence(index + 1, pager.items[index]))
        elif answer == "r":
            try:
                await HANDLERS["notifications.read_all"](r, pager)
            except Abort:
                continue
            await load()
            show()
        else:
            r.wrong_choice(answer, _("Type n, p, a number, or r to mark all as read."))


def notification_sentence(n: int, item: Any) -> str:
    if item.emergency:
        about = _(w.EMERGENCY_ACCESS)
    elif item.kind in w.NOTIFICATION_KINDS:
        about = _(w.NOTIFICATION_KINDS[item.kind])
    else:
        about = item.kind
    return _("{n}. {about}, {status}, {when}: {message}").format(
        n=n,
        about=about,
        status=_(w.READ) if item.read else _(w.UNREAD),
        when=format_datetime(item.at),
        message=pick(item.message),
    )


@handles("notifications.read_all")
async def read_all(r: Reader, pager: Pager) -> None:
    if await perform(r, personal.read_all(r.state, pager.items, pager.complete)) is None:
        raise Abort
