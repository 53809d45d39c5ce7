"""Screen 7 of screen-reader mode: the personal space (the patient's own notes)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from dmptui.data_text import data_lines
from dmptui.i18n import _, format_datetime, format_number
from dmptui.reader.flow import Abort, Navigate
from dmptui.reader.menus import (
    HANDLERS,
    NOTES_MENU,
    Entry,
    choose_from,
    handles,
    keys_of,
    numbered,
    pick_number,
    show_menu,
)
from dmptui.schema import MAX_NOTES

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 7: personal space ----------------------------------------------------------------


@dataclass
class Notes:
    text: str = ""
    updated_at: Any = None


async def notes(r: Reader) -> None:
    r.enter("notes")
    answer = await r.call(_("Loading your notes…"), r.client.notes)
    st = Notes(answer.text, answer.updated_at)
    r.say("done", _("Your notes are loaded."))

    def show() -> list[Entry]:
        r.say(
            "info",
            _(
                "Your personal space: advance directives, people to contact in "
                "an emergency, allergies you want known. Practitioners you "
                "authorised can read it."
            ),
        )
        if st.text.strip():
            r.say("info", _("Your notes:"))
            for line in data_lines(st.text):
                r.say("text", line)
            r.say("info", _("End of your notes."))
            if st.updated_at is not None:
                r.say(
                    "info",
                    _("Saved — last saved {when}.").format(when=format_datetime(st.updated_at)),
                )
        else:
            r.say("info", _("You have no notes yet."))
        entries = numbered(NOTES_MENU, list(NOTES_MENU))
        show_menu(r, _("What do you want to do?"), entries)
        return entries

    show()
    while True:
        choice = await r.ask_choice()
        if choice == "":
            show()
            continue
        action = pick_number(choice, NOTES_MENU, list(NOTES_MENU))
        if action is None:
            r.wrong_choice(choice, keys_of(NOTES_MENU, list(NOTES_MENU)))
            continue
        try:
            await HANDLERS[action](r, st)
        except Abort:
            continue
        show()


@handles("notes.save")
async def save_notes(r: Reader, st: Notes) -> None:
    entries = [
        Entry("1", _("Add lines at the end of my notes")),
        Entry("2", _("Replace all my notes")),
        Entry("0", _("Cancel")),
    ]
    show_menu(r, _("How do you want to change your notes?"), entries)
    answer = await choose_from(r, entries)
    if answer is None:
        r.say("info", _("Nothing was changed."))
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
            r.say("info", _("Nothing was changed."))
            raise Abort
        lines.append(line)
    added = "\n".join(lines)
    text = f"{st.text.rstrip()}\n{added}" if answer == "1" and st.text.strip() else added
    if len(text) > MAX_NOTES:
        r.say(
            "error",
            _(
                "Your notes are too long: {n} characters, at most {max}. "
                "Shorten them, then save again."
            ).format(n=format_number(len(text)), max=format_number(MAX_NOTES)),
        )
        raise Abort
    try:
        saved = await r.call(_("Saving your notes…"), lambda: r.client.save_notes(text))
    except Navigate:  # changed elsewhere meanwhile: the notes are shown again; keep the lines
        r.say("info", _("The lines you typed, not saved, to type again after checking:"))
        for line in lines:
            r.say("text", line)
        raise
    st.text, st.updated_at = saved.text, saved.updated_at
    r.say("done", _("your notes are saved."))
