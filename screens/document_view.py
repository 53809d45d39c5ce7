"""Reading one document (from screen 2 — Documents): its metadata in words and its text, or, for
a PDF, a way to save it. Also the words and file names both document screens share."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from dmptui import catalogue, loading
from dmptui.actions import documents
from dmptui.data_text import data_lines
from dmptui.explain import error_kind
from dmptui.i18n import _, format_date
from dmptui.words import (
    file_kind,
    is_masked,
    is_pdf,
    is_text,
    metadata_lines,
    size_words,
    text_of,
)
from screens.base import Calls, StatusLine
from screens.keys import key_in_use
from screens.widgets.footer import KeyBar
from screens.widgets.message_log import MessageLog
from screens.widgets.text import CELL_LIMIT, LINE_LIMIT, clip, plain

# --- words -------------------------------------------------------------------------------------


def masked_word(doc: Any) -> str:
    return _("HIDDEN") if is_masked(doc) else _("visible")


def short_date(day: date) -> str:
    """A table cell's date: the app's one date style, the month in words."""
    return format_date(day)


# --- the reading view --------------------------------------------------------------------------


SAVE = catalogue.ACTION_BY_ID["documents.save"]


class DocumentScreen(Calls, Screen[None]):
    """One document: metadata lines, then its text in a scrollable area (or, for a PDF, how to
    save it). Esc goes back to the list."""

    SCREEN_KEY = "documents"
    AUTO_FOCUS = "#doc-body"
    BINDINGS: ClassVar[list[BindingType]] = [Binding(SAVE.key, "act_save", SAVE.label, id=SAVE.id)]

    def __init__(self, doc: Any, on_gone: Callable[[Exception], None] | None = None) -> None:
        super().__init__()
        self.doc = doc
        self.on_gone = on_gone  # the document no longer exists: the list refreshes and says so
        self.data: bytes | None = None
        self.content_type = doc.content_type

    def compose(self) -> ComposeResult:
        spec = catalogue.BY_KEY[self.SCREEN_KEY]
        yield Static(plain(catalogue.screen_label(spec)), id="screen-id")
        yield StatusLine(id="status")
        yield Static(
            plain("\n".join(clip(line, LINE_LIMIT) for line in metadata_lines(self.doc))),
            id="doc-meta",
        )
        with VerticalScroll(id="doc-body"):
            yield Static(id="doc-text")
        yield MessageLog()
        yield KeyBar()

    def on_mount(self) -> None:
        self.app.title = _("dmptui — reading “{title}”").format(
            title=clip(self.doc.title, CELL_LIMIT)
        )
        doc_id = self.doc.id
        self.call(
            loading.opening(self.doc.title),
            lambda: self.client.content(doc_id),
            self._show,
        )

    def _show(self, result: tuple[bytes, str]) -> None:
        data, content_type = result
        self.data, self.content_type = data, content_type or self.doc.content_type
        text = self.query_one("#doc-text", Static)
        if is_pdf(self.content_type):
            keymap = self.app.config.keymap
            save, back = key_in_use(SAVE.id, keymap), key_in_use("app.back", keymap)
            text.update(
                plain(
                    _(
                        "This document is a PDF ({size}). This app cannot show a PDF: "
                        "press {key} to save it to a file, then open that file with your "
                        "PDF reader."
                    ).format(size=size_words(len(data)), key=save)
                )
            )
            self.say(
                "info",
                _(
                    '"{title}" is a PDF: press {key} to save it to a file; {back} goes back to '
                    "the list."
                ).format(title=self.doc.title, key=save, back=back),
            )
            return
        if not is_text(self.content_type):  # an image, DICOM, an archive: saved, not shown
            save = key_in_use(SAVE.id, self.app.config.keymap)
            text.update(
                plain(
                    _(
                        "This document is {kind} ({size}). This app cannot show it: press {key} "
                        "to save it to a file, then open that file with a program made for it."
                    ).format(
                        kind=file_kind(self.content_type), size=size_words(len(data)), key=save
                    )
                )
            )
            return
        # Lines broken where the data breaks them (CR LF too, which the host keeps as sent).
        text.update(plain("\n".join(data_lines(text_of(data, self.content_type)))))
        self.say(
            "info",
            _(
                'Reading "{title}". Arrow keys and Page Down scroll; w saves it to a '
                "file; Esc goes back to the list."
            ).format(title=self.doc.title),
        )

    def on_calls_call_failed(self, message: Calls.CallFailed) -> None:
        if error_kind(message.error) == "not_found" and self.on_gone is not None:
            message.prevent_default()
            self.app.pop_screen()
            self.on_gone(message.error)

    def action_act_save(self) -> None:
        self.perform(documents.save(self.record_state, self.doc))
