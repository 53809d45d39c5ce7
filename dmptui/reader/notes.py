"""Screen 7 of screen-reader mode: the personal space (the patient's own notes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dmptui import loading
from dmptui.actions import personal
from dmptui.actions.base import CANCEL, nothing_changed
from dmptui.data_text import data_lines
from dmptui.i18n import _
from dmptui.reader.flow import Abort, Navigate
from dmptui.reader.menus import (
    NOTES_MENU,
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

# --- screen 7: personal space ----------------------------------------------------------------


@dataclass
class Notes:
    text: str = ""
    updated_at: Any = None


async def notes(r: Reader) -> None:
    r.enter("notes")
    answer = await r.call(_(loading.LOADING_NOTES), r.client.notes)
    st = Notes(answer.text, answer.updated_at)  # the notes follow: no "loaded"

    def show() -> list[str]:
        r.say("info", _(personal.NOTES_INTRO))
        if st.text.strip():
            r.say("info", _("Your notes:"))
            for line in data_lines(st.text):
                r.say("text", line)
            r.say("info", _("End of your notes."))
            if st.updated_at is not None:
                r.say("info", personal.saved_when(st.updated_at))
        else:
            r.say("info", _("You have no notes yet."))
        show_menu(r, _("What do you want to do?"), numbered(NOTES_MENU, list(NOTES_MENU)))
        return list(NOTES_MENU)

    await menu_loop(r, NOTES_MENU, show, st)


@handles("notes.save")
async def save_notes(r: Reader, st: Notes) -> None:
    entries = [
        Entry("1", _("Add lines at the end of my notes")),
        Entry("2", _("Replace all my notes")),
        Entry("0", _(CANCEL)),
    ]
    show_menu(r, _("How do you want to change your notes?"), entries)
    answer = await choose_from(r, entries)
    if answer is None:
        r.say("info", nothing_changed())
        raise Abort
    r.say(
        "info",
        _(
            "Type your text one line at a time, pressing Enter after each line. A line with "
            "only a dot (.) ends the text and saves it. An empty first line cancels."
        ),
    )
    lines: list[str] = []
    while True:
        line = await r.ask(_("Line {n}:").format(n=len(lines) + 1))
        if line.strip() == ".":
            break
        if not lines and not line.strip():
            r.say("info", nothing_changed())
            raise Abort
        lines.append(line)
    added = "\n".join(lines)
    text = f"{st.text.rstrip()}\n{added}" if answer == "1" and st.text.strip() else added
    try:
        outcome = await perform(r, personal.save_notes(r.state, text))
    except Navigate:  # changed elsewhere meanwhile: the notes are shown again; keep the lines
        r.say("info", _("The lines you typed, not saved, to type again after checking:"))
        for line in lines:
            r.say("text", line)
        raise
    if outcome is None:
        raise Abort
    st.text, st.updated_at = outcome.value.text, outcome.value.updated_at
