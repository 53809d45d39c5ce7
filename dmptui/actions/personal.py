"""Screens 7 and 8's actions: save the personal space, mark every notification as read."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from dmptui.actions.base import Outcome, Plan, refused
from dmptui.i18n import N_, _, format_datetime, format_number
from dmptui.schema import MAX_NOTES
from dmptui.state import UNREAD, RecordState

if TYPE_CHECKING:
    from dmptui.client import Client


NOTES_INTRO = N_(
    "Your personal space: advance directives, people to contact in "
    "an emergency, allergies you want known. Practitioners you "
    "authorised can read it."
)


def saved_when(when: datetime) -> str:
    """When the notes were last saved."""
    return _("Saved — last saved {when}.").format(when=format_datetime(when, zone=True))


def save_notes(state: RecordState, text: str | None) -> Plan:
    """Save ``text`` as the whole personal space (None: the notes are not loaded yet)."""
    if text is None:
        return refused(
            "notes.save",
            _("Your notes are still loading. Wait a moment, then try again."),
            "warning",
        )
    if len(text) > MAX_NOTES:
        return refused(
            "notes.save",
            _(
                "Your notes are too long: {n} characters, at most {max}. "
                "Shorten them, then save again."
            ).format(n=format_number(len(text)), max=format_number(MAX_NOTES)),
            "error",
        )

    async def run(client: Client, _choice: str | None) -> Outcome:
        saved = await client.save_notes(text)
        return Outcome(_("your notes are saved."), value=saved)

    return Plan("notes.save", waiting=_("Saving your notes…"), run=run)


def read_all(state: RecordState, shown: Sequence[Any], complete: bool) -> Plan:
    """Mark every notification as read; ``shown`` are those loaded, ``complete`` when that is
    all of them."""
    if shown and complete and all(n.read for n in shown):
        return refused(
            "notifications.read_all", _("Nothing to do: every notification is already read.")
        )

    async def run(client: Client, _choice: str | None) -> Outcome:
        await client.mark_notifications_read()
        state.all_read()
        return Outcome(_("every notification is now marked as read."))

    return Plan(
        "notifications.read_all",
        waiting=_("Marking every notification as read…"),
        run=run,
        changes=frozenset({UNREAD}),
    )
