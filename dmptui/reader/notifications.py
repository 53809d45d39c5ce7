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
                ),
            )

    def show(brief: bool = False) -> None:
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
        if brief:
            r.say("info", _("Enter alone reads this page again."))
            return
        r.say("info", _("Paris time; read, unless said UNREAD."))
        r.zone_said = True
        for i in pager.shown():
            r.say("item", notification_sentence(r, i + 1, pager.items[i]))

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
                r.say("item", notification_sentence(r, index + 1, pager.items[index]))
        elif answer == "r":
            try:
                await HANDLERS["notifications.read_all"](r, pager)
            except Abort:
                continue
            await load()
            show(brief=True)  # the same page, now all read: not read out again
        else:
            r.wrong_choice(answer, _("Type n, p, a number, or r to mark all as read."))


def spoken_message(r: Reader, item: Any) -> str:
    """The host's message, its time as said (the zone once per screen), and that time only: a
    message that gives none starts with the notification's own time."""
    message = pick(item.message)
    host_time = format_datetime(item.at, zone=True)  # the host's own pattern (a test checks)
    if host_time in message:
        return message.replace(host_time, r.when(item.at), 1)
    return _("{when}: {message}").format(when=r.when(item.at), message=message)


def notification_sentence(r: Reader, n: int, item: Any) -> str:
    """One notification: UNREAD when it is (read is the default), EMERGENCY ACCESS for one, then
    the host's message (which says what it is about: no kind before it)."""
    marks = [_(w.UNREAD)] if not item.read else []
    if item.emergency:
        marks.append(_(w.EMERGENCY_ACCESS))
    text = spoken_message(r, item)
    return f"{n}. {', '.join(marks)}: {text}" if marks else f"{n}. {text}"


@handles("notifications.read_all")
async def read_all(r: Reader, pager: Pager) -> None:
    if await perform(r, personal.read_all(r.state, pager.items, pager.complete)) is None:
        raise Abort
