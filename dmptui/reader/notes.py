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
    choose_yes,
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


ADD, REPLACE, CHANGE_LINE, DELETE_LINE = "1", "2", "3", "4"


@handles("notes.save")
async def save_notes(r: Reader, st: Notes) -> None:
    """Change the notes: add lines at the end, replace them all, or change or delete one line
    (the TUI edits the text anywhere; here, a line at a time). Then save."""
    lines = data_lines(st.text.rstrip("\n")) if st.text.strip() else []
    entries = [
        Entry(ADD, _("Add lines at the end of my notes")),
        Entry(REPLACE, _("Replace all my notes")),
    ]
    if lines:
        entries += [
            Entry(CHANGE_LINE, _("Change one line")),
            Entry(DELETE_LINE, _("Delete one line")),
        ]
    entries.append(Entry("0", _(CANCEL)))

    def why(answer: str) -> str | None:
        if answer in (CHANGE_LINE, DELETE_LINE) and not lines:
            return _("You have no notes yet, so there is no line to change: 1 adds lines.")
        return None

    show_menu(r, _("How do you want to change your notes?"), entries)
    answer = await choose_from(r, entries, why=why)
    if answer is None or answer == "0":
        r.say("info", nothing_changed())
        raise Abort
    if answer in (CHANGE_LINE, DELETE_LINE):
        text, typed = await edit_one_line(r, lines, delete=answer == DELETE_LINE)
    else:
        typed = await type_lines(r)
        added = "\n".join(typed)
        text = f"{st.text.rstrip()}\n{added}" if answer == ADD and st.text.strip() else added
    try:
        outcome = await perform(r, personal.save_notes(r.state, text))
    except Navigate:  # changed elsewhere meanwhile: the notes are shown again; keep the lines
        r.say("info", _("The lines you typed, not saved, to type again after checking:"))
        for line in typed:
            r.say("text", line)
        raise
    if outcome is None:
        raise Abort
    st.text, st.updated_at = outcome.value.text, outcome.value.updated_at


async def type_lines(r: Reader) -> list[str]:
    """Lines typed one at a time, up to a line with only a dot; an empty first line cancels."""
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
            return lines
        if not lines and not line.strip():
            r.say("info", nothing_changed())
            raise Abort
        lines.append(line)


async def edit_one_line(r: Reader, lines: list[str], delete: bool) -> tuple[str, list[str]]:
    """One line of the notes chosen by its number, then changed (its new text typed) or
    deleted (confirmed): (the whole new text, what was typed). Enter alone cancels."""
    for i, line in enumerate(lines):
        r.say("item", _("Line {n}: {text}").format(n=i + 1, text=line))
    last = len(lines)
    while True:
        raw = (
            await r.ask_text(
                _("Which line? Type its number, from 1 to {last} (Enter alone cancels):").format(
                    last=last
                )
            )
        ).strip()
        if not raw:
            r.say("info", nothing_changed())
            raise Abort
        if raw.isdigit() and 1 <= int(raw) <= last:
            n = int(raw)
            break
        r.say(
            "error",
            _(
                "there is no line “{raw}”. Type a number from 1 to {last}, or Enter alone "
                "to cancel."
            ).format(raw=raw, last=last),
        )
    r.say("text", _("Line {n}: {text}").format(n=n, text=lines[n - 1]))
    if delete:
        if not await choose_yes(r, _("Delete line {n}").format(n=n)):
            r.say("info", nothing_changed())
            raise Abort
        return "\n".join(lines[: n - 1] + lines[n:]), []
    new = await r.ask(_("New text of line {n} (Enter alone keeps it as it is):").format(n=n))
    if not new.strip():
        r.say("info", nothing_changed())
        raise Abort
    return "\n".join([*lines[: n - 1], new, *lines[n:]]), [new]
