"""Screen-reader mode: take the whole record (``dmptui.actions.export``), from screen 6, before
closing or erasing, and as ``dmptui export`` (log in, export, leave)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dmptui.actions import export as export_actions
from dmptui.actions.base import Plan, nothing_changed
from dmptui.i18n import _
from dmptui.reader.flow import Abort, Failed
from dmptui.reader.menus import handles
from dmptui.reader.perform import answer, perform

if TYPE_CHECKING:
    from dmptui.reader.app import Reader


def progress_lines(r: Reader) -> export_actions.Progress:
    """A line at each tenth of the way (the host's estimate), or each 5 MB without one: enough
    to know it moves, few enough to hear."""
    said = {"step": 0}

    def progress(received: int, estimate: int | None) -> None:
        step = received * 10 // estimate if estimate else received // 5_000_000
        if step > said["step"]:
            said["step"] = step
            r.say("wait", export_actions.progress_words(received, estimate))

    return progress


async def ask_path(r: Reader) -> Path | None:
    default = export_actions.default_path()
    answer_ = (
        await r.ask(
            _("Where to write the archive? Enter alone: {path}. 0: cancel.").format(path=default)
        )
    ).strip()
    if answer_ == "0":
        return None
    return Path(answer_).expanduser() if answer_ else default


@handles("record.export")
async def export_record(r: Reader) -> None:
    path = await ask_path(r)
    if path is None:
        r.say("info", _(export_actions.NOTHING_EXPORTED))
        raise Abort
    plan = export_actions.plan(r.state, export_actions.Destination(path, progress_lines(r)))
    if await perform(r, plan) is None:
        raise Abort


async def offer_first(r: Reader) -> None:
    """Before closing or erasing: take the record first, go on, or cancel (``Abort``)."""
    offer = Plan("record.export", ask=export_actions.offer())
    go, choice = await answer(r, offer)
    if not go:
        r.say("info", nothing_changed())
        raise Abort
    if choice == "export":
        await export_record(r)


async def export_and_leave(r: Reader, path: Path, remembered: bool = False) -> int:
    """``dmptui export``: log in (unless ``remembered``: the session this device remembers is
    already in the client), export to ``path``. 0 when the archive is written and checked."""
    from dmptui.reader.login import login

    if not remembered:
        await login(r)
    plan = export_actions.plan(r.state, export_actions.Destination(path, progress_lines(r)))
    if plan.problem is not None:
        r.say(plan.problem.kind, plan.problem.text)
        return 1
    try:
        outcome = await r.call(plan.waiting, lambda: plan.run(r.client, None))
    except (Failed, Abort):
        return 1
    r.say(outcome.kind, outcome.text)
    return 0 if outcome.kind == "done" else 1
