"""Screen 6's actions on the whole record: close it, reopen it, erase it for good; and what the
screen says about it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmptui import catalogue
from dmptui.actions.base import Ask, Outcome, Plan, refused
from dmptui.i18n import N_, _, format_date, pick
from dmptui.state import PARTS, RECORD, RecordState

if TYPE_CHECKING:
    from dmptui.client import Client


WHAT_YOU_CAN_DO = N_("What you can do:")  # before the actions the status allows


def status_lines(state: RecordState) -> list[str]:
    """The record's status in full sentences (screen 6)."""
    record = state.record
    if record is None:
        return []
    status = str(record.status)
    if status == "closed":
        lines = [
            _("Your record is CLOSED since {closed}: nobody can access it, you included.").format(
                closed=format_date(record.closed_at) if record.closed_at else "?"
            )
        ]
        if record.purge_after is not None:
            lines.append(
                _("It is kept until {date}, then destroyed. You can reopen it until then.").format(
                    date=format_date(record.purge_after)
                )
            )
        return lines
    if status == "erased":
        return [_("Your record is ERASED: nothing in it can be recovered.")]
    return [_("Your record is OPEN: you and the practitioners you allow can use it.")]


def available(state: RecordState) -> list[str]:
    """The ids of the actions the record's status allows, in the order they are offered."""
    status = state.status
    if status == "closed":
        return ["record.reactivate", "record.erase", "record.export"]
    if status == "active":
        return ["record.close", "record.erase", "record.export"]
    return []


def _still(state: RecordState) -> str:
    if state.status == "closed":
        return _("Nothing was changed: your record is still closed.")
    return _("Nothing was changed: your record is still open.")


def _loading(action_id: str) -> Plan:
    return refused(
        action_id, _("Your record is still loading. Wait a moment, then try again."), "warning"
    )


async def _ended(state: RecordState, done: object) -> Outcome:
    text = pick(getattr(done, "message", {}))
    state.clear()
    return Outcome(text, ends_session=True)


def close(state: RecordState) -> Plan:
    if state.status is None:
        return _loading("record.close")
    if state.status == "closed":
        return refused("record.close", _("Your record is already closed. Press o to reopen it."))
    action = catalogue.ACTION_BY_ID["record.close"]

    async def run(client: Client, _choice: str | None) -> Outcome:
        return await _ended(state, await client.close_record())

    return Plan(
        "record.close",
        waiting=_("Closing your record…"),
        run=run,
        ask=Ask(
            title=_("Close your record?"),
            consequence=_(action.confirm or action.help),
            confirm_label=_(action.label),
            word=_("close"),
        ),
        step_up=action.step_up,
        cancelled=_still(state),
        changes=PARTS,
    )


def reactivate(state: RecordState) -> Plan:
    if state.status is None:
        return _loading("record.reactivate")
    if state.status != "closed":
        return refused(
            "record.reactivate", _("Your record is already open. There is nothing to reopen.")
        )
    action = catalogue.ACTION_BY_ID["record.reactivate"]

    async def run(client: Client, _choice: str | None) -> Outcome:
        done = await client.reactivate_record()
        state.set_record(await client.record())
        return Outcome(pick(done.message))

    return Plan(
        "record.reactivate",
        waiting=_("Reopening your record…"),
        run=run,
        ask=Ask(
            title=_("Reopen your record?"),
            consequence=_(
                "Your record will be open again: everything it held comes back, with "
                "the same authorisations and blocks, and the practitioners you allow "
                "can use it again. The 10-year countdown stops."
            ),
            confirm_label=_(action.label),
        ),
        # A login is fresh for a few minutes; if it is not, the host asks for a code and the
        # front end asks for it, then calls again.
        step_up=False,
        cancelled=_still(state),
        changes=frozenset({RECORD}),
    )


def erase(state: RecordState) -> Plan:
    if state.status is None:
        return _loading("record.erase")
    action = catalogue.ACTION_BY_ID["record.erase"]

    async def run(client: Client, _choice: str | None) -> Outcome:
        return await _ended(state, await client.erase_record())

    return Plan(
        "record.erase",
        waiting=_("Erasing your record…"),
        run=run,
        # The word to type is translated: "erase" in English, "effacer" in French.
        ask=Ask(
            title=_("Erase your record for good?"),
            consequence=_(action.confirm or action.help),
            confirm_label=_(action.label),
            word=_("erase"),
            typed=True,
        ),
        step_up=action.step_up,
        cancelled=_still(state),
        changes=PARTS,
    )
