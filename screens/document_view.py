"""Reading one document (from screen 2 — Documents): its metadata in words and its text, or, for
a PDF, a way to save it. Also the words and file names both document screens share."""

from __future__ import annotations

import asyncio
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from dmptui import catalogue
from dmptui.i18n import N_, _, format_date, format_datetime, format_number, language
from dmptui.schema import DOC_TYPE_LABELS, Label
from screens.base import Calls, StatusLine
from screens.widgets.message_log import MessageLog
from screens.widgets.text import plain

SAVE_DIR_ENV = "DMPTUI_SAVE_DIR"

LABEL_WORDS = {
    Label.MASQUE_PS: N_("hidden from practitioners (except its author and your médecin traitant)"),
    Label.INVISIBLE_REPRESENTANTS_LEGAUX: N_("hidden from legal representatives"),
    Label.INVISIBLE_PATIENT: N_("waiting for an announcement consultation"),
}


# --- words -------------------------------------------------------------------------------------


def type_label(code: str) -> str:
    labels = DOC_TYPE_LABELS.get(code)
    if not labels:
        return code
    return labels.get(language()) or labels["en"]


def is_masked(doc: Any) -> bool:
    return Label.MASQUE_PS.value in doc.labels


def masked_word(doc: Any) -> str:
    return _("HIDDEN") if is_masked(doc) else _("visible")


def doc_date(doc: Any) -> date:
    """The date of care, or the day of deposit when the author gave none."""
    return doc.care_date or doc.deposited_at.astimezone().date()


def short_date(day: date) -> str:
    from babel.dates import format_date as fmt

    return fmt(day, "medium", locale=language())


def is_pdf(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/pdf"


def size_words(size: int) -> str:
    if size < 1024:
        return _("{n} bytes").format(n=format_number(size))
    return _("{n} kB").format(n=format_number((size + 1023) // 1024))


def metadata_lines(doc: Any) -> list[str]:
    labels = [_(LABEL_WORDS[Label(lb)]) if lb in LABEL_WORDS else lb for lb in doc.labels]
    visibility = "; ".join(labels) if labels else _("visible to the practitioners you authorised")
    kind = (
        _("PDF, {size}").format(size=size_words(doc.size))
        if is_pdf(doc.content_type)
        else _("text, {size}").format(size=size_words(doc.size))
    )
    return [
        _("Type: {value}").format(value=type_label(doc.type)),
        _("Title: {value}").format(value=doc.title),
        _("Author: {value}").format(value=doc.author.name),
        _("Facility: {value}").format(value=doc.facility),
        _("Date of care: {value}").format(
            value=format_date(doc.care_date) if doc.care_date else _("not given")
        ),
        _("Deposited: {value}").format(value=format_datetime(doc.deposited_at)),
        _("Visibility: {value}").format(value=visibility),
        _("Format: {value}").format(value=kind),
    ]


# --- saving to a file --------------------------------------------------------------------------


def save_dir() -> Path:
    return Path(os.environ.get(SAVE_DIR_ENV) or Path.home())


def safe_stem(title: str) -> str:
    """Letters and digits of the title, without accents, joined by hyphens (at most 80)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-")[:80].strip("-")
    return stem or "document"


def file_name(doc: Any, content_type: str) -> str:
    ext = ".pdf" if is_pdf(content_type) else ".txt"
    return f"{doc_date(doc).isoformat()}_{safe_stem(doc.title)}{ext}"


@dataclass
class Saved:
    path: Path | None
    problem: str = ""


def _write_new(directory: Path, name: str, data: bytes) -> Path:
    """Write to a new file readable by its owner only; never overwrite: add -2, -3… instead."""
    stem, dot, ext = name.rpartition(".")
    for n in range(1, 1000):
        path = directory / (name if n == 1 else f"{stem}-{n}{dot}{ext}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path
    raise FileExistsError(directory / name)


async def save_content(doc: Any, data: bytes, content_type: str) -> Saved:
    """Runs in a worker: writes the file, touches no widget."""
    directory = save_dir()
    try:
        path = await asyncio.to_thread(_write_new, directory, file_name(doc, content_type), data)
    except OSError as error:
        return Saved(
            None,
            _(
                "Could not save the file in {folder} ({reason}). Check that this "
                "folder exists and that you may write in it, or set {env} to "
                "another folder."
            ).format(
                folder=str(directory),
                reason=error.strerror or type(error).__name__,
                env=SAVE_DIR_ENV,
            ),
        )
    return Saved(path)


def say_saved(screen: Calls, doc: Any, saved: Saved) -> None:
    if saved.path is None:
        screen.say("error", saved.problem)
    else:
        screen.say(
            "done", _('"{title}" is saved in {path}').format(title=doc.title, path=str(saved.path))
        )


# --- the reading view --------------------------------------------------------------------------


class DocumentScreen(Calls, Screen[None]):
    """One document: metadata lines, then its text in a scrollable area (or, for a PDF, how to
    save it). Esc goes back to the list."""

    SCREEN_KEY = "documents"
    AUTO_FOCUS = "#doc-body"

    def __init__(self, doc: Any, on_gone: Callable[[Exception], None] | None = None) -> None:
        super().__init__()
        self.doc = doc
        self.on_gone = on_gone  # the document no longer exists: the list refreshes and says so
        self.data: bytes | None = None
        self.content_type = doc.content_type
        action = catalogue.ACTION_BY_ID["documents.save"]
        self._bindings.key_to_bindings.setdefault(action.key, []).append(
            Binding(action.key, "act_save", _(action.label), id=action.id, show=True)
        )

    def compose(self) -> ComposeResult:
        spec = catalogue.BY_KEY[self.SCREEN_KEY]
        yield Static(plain(catalogue.screen_label(spec)), id="screen-id")
        yield StatusLine(id="status")
        yield Static(plain("\n".join(metadata_lines(self.doc))), id="doc-meta")
        with VerticalScroll(id="doc-body"):
            yield Static(id="doc-text")
        yield MessageLog()
        yield Footer()

    def on_mount(self) -> None:
        self.app.title = _("dmptui — reading “{title}”").format(title=self.doc.title)
        doc_id = self.doc.id
        self.call(
            _('Opening "{title}"…').format(title=self.doc.title),
            lambda: self.client.content(doc_id),
            self._show,
        )

    def _show(self, result: tuple[bytes, str]) -> None:
        data, content_type = result
        self.data, self.content_type = data, content_type or self.doc.content_type
        text = self.query_one("#doc-text", Static)
        if is_pdf(self.content_type):
            text.update(
                plain(
                    _(
                        "This document is a PDF ({size}). This app cannot show a PDF: "
                        "press w to save it to a file, then open that file with your "
                        "PDF reader."
                    ).format(size=size_words(len(data)))
                )
            )
            self.say(
                "info",
                _(
                    '"{title}" is a PDF: press w to save it to a file; Esc goes back to the list.'
                ).format(title=self.doc.title),
            )
            return
        text.update(plain(data.decode("utf-8", errors="replace")))
        self.say(
            "info",
            _(
                'Reading "{title}". Arrow keys and Page Down scroll; w saves it to a '
                "file; Esc goes back to the list."
            ).format(title=self.doc.title),
        )

    def on_calls_call_failed(self, message: Calls.CallFailed) -> None:
        if type(message.error).__name__ == "NotFound" and self.on_gone is not None:
            message.prevent_default()
            self.app.pop_screen()
            self.on_gone(message.error)

    def action_act_save(self) -> None:
        doc, data, content_type = self.doc, self.data, self.content_type
        if data is None:
            self.say(
                "warning", _("The document is not loaded yet. Wait a moment, then press w again.")
            )
            return
        self.call(
            _('Saving "{title}"…').format(title=doc.title),
            lambda: save_content(doc, data, content_type),
            lambda saved: say_saved(self, doc, saved),
        )
