"""Screen 7 — Personal space: the patient's own notes (advance directives, people to contact,
allergies they want known), read and edited in a text area; authorised practitioners can read them.

An unsaved change is said in words. Leaving with unsaved changes (Esc, or a digit when the text
area does not have the focus) asks first. No keyboard trap: Tab moves the focus out of the text
area, Esc leaves the screen."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static, TextArea

from dmptui import catalogue, loading
from dmptui.actions import Outcome, personal
from dmptui.i18n import _
from screens.base import RecordScreen, catalogue_bindings
from screens.confirm import ConfirmScreen
from screens.widgets.text import plain, visible


class NotesScreen(RecordScreen):
    SCREEN_KEY = "notes"
    # Leaving asks first when there are unsaved changes: Esc, and the digits that jump to
    # another screen (they are text while the text area has the focus).
    BINDINGS: ClassVar[list[BindingType]] = [
        *catalogue_bindings("notes"),
        Binding(
            "escape",
            "leave",
            catalogue.ACTION_BY_ID["app.back"].label,
            id="notes.leave",
            show=False,
        ),
        *(
            Binding(catalogue.digit(spec), f"leave('{spec.key}')", spec.title, show=False)
            for spec in catalogue.SCREENS
        ),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.saved_text: str | None = None  # what the host holds; None until loaded
        self.saved_at: Any = None

    def compose_body(self) -> ComposeResult:
        with Vertical(id="notes"):
            yield Static(
                plain(_(personal.NOTES_INTRO)),
                id="notes-intro",
            )
            yield Static(
                plain(
                    _(
                        "Type in the box below. Ctrl+S saves. Tab moves out of the "
                        "box; Esc goes back (you are asked first if something is not "
                        "saved)."
                    )
                ),
                id="notes-keys",
            )
            yield Static(id="notes-state")
            yield TextArea(
                id="notes-text",
                read_only=True,
                soft_wrap=True,
                tab_behavior="focus",
                show_line_numbers=False,
            )
            with Horizontal(id="notes-buttons"):
                yield Button(
                    plain(_(catalogue.ACTION_BY_ID["notes.save"].label) + " (Ctrl+S)"),
                    id="notes-save",
                    variant="primary",
                )

    # --- state -----------------------------------------------------------------------------

    @property
    def area(self) -> TextArea:
        return self.query_one("#notes-text", TextArea)

    @property
    def unsaved(self) -> bool:
        return self.saved_text is not None and self.area.text != self.saved_text

    def _show_state(self) -> None:
        if self.saved_text is None:
            words = _("Your notes are not loaded yet.")
        elif self.unsaved:
            words = _("UNSAVED CHANGES — press Ctrl+S to save them.")
        elif self.saved_at is not None:
            words = personal.saved_when(self.saved_at)
        else:
            words = _("No notes yet. Type them in the box below, then press Ctrl+S.")
        self.query_one("#notes-state", Static).update(plain(words))

    def on_text_area_changed(self, _event: TextArea.Changed) -> None:
        self._show_state()

    # --- load and save ---------------------------------------------------------------------

    def reload(self) -> None:
        self._show_state()
        self.call(_(loading.LOADING_NOTES), self.client.notes, self._loaded)

    def _loaded(self, notes: Any) -> None:
        # A host that cannot be trusted could send control characters (the host refuses them
        # on input): the text area shows them in visible form, like everything else, and that
        # form is what counts as saved (so nothing is "unsaved" before the patient types).
        text = visible(notes.text)
        self.saved_text = text
        self.saved_at = notes.updated_at
        area = self.area
        area.load_text(text)
        area.read_only = False
        area.move_cursor(area.document.end)  # ready to add to what is there
        area.focus()
        self._show_state()
        self.say("info", _("Your notes are loaded. Type to edit them; Ctrl+S saves."))

    def action_act_save(self) -> None:
        text = None if self.saved_text is None else self.area.text
        self.perform(personal.save_notes(self.record_state, text), self._saved)

    def on_stale(self, error: Exception) -> None:
        """Saved elsewhere since they were loaded: keep what the patient typed, load the saved
        version underneath (the next Ctrl+S replaces it), and say so."""

        def loaded(notes: Any) -> None:
            self.saved_text = notes.text
            self.saved_at = notes.updated_at
            self._show_state()
            self.say(
                "warning",
                _(
                    "Your notes were changed elsewhere (in another session or on another "
                    "device) since you loaded them, so they were not saved. Your text is still "
                    "here. To keep the other version instead, leave without saving and come "
                    "back; to save yours over it, check it, then press Ctrl+S again."
                ),
            )

        self.call(_(loading.LOADING_NOTES), self.client.notes, loaded)

    def _saved(self, outcome: Outcome) -> None:
        notes = outcome.value
        self.saved_text = visible(notes.text)
        self.saved_at = notes.updated_at
        self._show_state()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "notes-save":
            self.action_act_save()

    # --- leaving ---------------------------------------------------------------------------

    def action_leave(self, key: str | None = None) -> None:
        if key == self.SCREEN_KEY:
            return

        def go() -> None:
            if key is None:
                self.app.go_back()
            else:
                self.app.action_goto(key)

        self.before_leaving(go)

    def before_leaving(self, go: Callable[[], None]) -> None:
        """Esc, a digit, Ctrl+L or Ctrl+Q with unsaved changes: ask before they are lost."""
        if not self.unsaved:
            go()
            return

        def answered(leave: bool | None) -> None:
            if leave:
                go()
            else:
                self.say(
                    "info",
                    _(
                        "You stayed: your changes are still here, not saved yet. "
                        "Press Ctrl+S to save them."
                    ),
                )
                self.area.focus()

        self.app.push_screen(
            ConfirmScreen(
                _("Leave without saving?"),
                _(
                    "Your changes to your notes are not saved. If you leave now, they "
                    "are lost. To keep them, choose Cancel, then press Ctrl+S."
                ),
                _("Leave without saving"),
            ),
            answered,
        )
