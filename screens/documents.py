"""Screen 2 — Documents: the list (date, type, title, author, facility, hidden or not), with a
search on titles, a filter by type and a local sort; read, save, hide, show again, delete.

The list is loaded a page at a time (``PAGE_SIZE``): the next page is fetched when the cursor
comes within ``NEAR_END`` rows of the last loaded row, never the whole record at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Static

from dmptui import catalogue
from dmptui.explain import explain
from dmptui.i18n import N_, _
from dmptui.schema import DocType
from dmptui.words import SORT_WORDS, SORTS, doc_date, is_masked, type_label
from screens.base import Calls, RecordScreen
from screens.confirm import CodeScreen, ConfirmScreen
from screens.document_view import (
    DocumentScreen,
    masked_word,
    save_content,
    say_saved,
    short_date,
)
from screens.widgets.text import plain

# The hidden-or-not column comes before author and facility so that it stays on screen in
# 120 columns; titles are cut at TITLE_WIDTH in the list (the reading view shows them whole).
COLUMNS = (
    ("date", N_("Date of care")),
    ("type", N_("Type")),
    ("title", N_("Title")),
    ("visibility", N_("Practitioners")),
    ("author", N_("Author")),
    ("facility", N_("Facility")),
)
TITLE_WIDTH = 44

TYPES: tuple[str | None, ...] = (None, *(t.value for t in DocType))


def cell(value: str) -> Any:
    """Data as plain text on one line; a cut is shown by an ellipsis."""
    text = plain(value)
    text.no_wrap, text.overflow = True, "ellipsis"
    return text


def sort_key(name: str) -> Callable[[Any], Any]:
    if name == "type":
        return lambda d: (type_label(d.type).casefold(), -doc_date(d).toordinal())
    if name == "title":
        return lambda d: (d.title.casefold(), -doc_date(d).toordinal())
    if name == "author":
        return lambda d: (d.author.name.casefold(), -doc_date(d).toordinal())
    return lambda d: (-doc_date(d).toordinal(), -d.deposited_at.timestamp())


class DocumentsScreen(RecordScreen):
    SCREEN_KEY = "documents"
    AUTO_FOCUS = "#doc-table"
    PAGE_SIZE: ClassVar[int] = 50
    NEAR_END: ClassVar[int] = 10

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[Any] = []  # loaded documents, in the order shown
        self.next_cursor: str | None = None
        self.type_filter: str | None = None
        self.query_text = ""
        self.sort = "date"
        self._generation = 0  # a page from an older query is dropped
        self._loading_more = False

    # --- layout ----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="toolbar", id="doc-toolbar"):
            yield Label(_("Search in titles (/):"), id="doc-search-label")
            yield Input(
                id="doc-search", max_length=200, placeholder=_("words of the title, then Enter")
            )
        yield Static(id="doc-view")
        yield DataTable(id="doc-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#doc-table", DataTable)
        for key, label in COLUMNS:
            table.add_column(_(label), key=key, width=TITLE_WIDTH if key == "title" else None)
        self._show_view_line()
        # RecordScreen.on_mount runs next (Textual calls each class's handler) and reloads.

    def _show_view_line(self) -> None:
        kind = type_label(self.type_filter) if self.type_filter else _("all types")
        search = self.query_text or _("none")
        self.query_one("#doc-view", Static).update(
            plain(
                _("Showing: {kind} · search: {search} · sorted by {sort}").format(
                    kind=kind, search=search, sort=_(SORT_WORDS[self.sort])
                )
            )
        )

    @property
    def table(self) -> DataTable[Any]:
        return self.query_one("#doc-table", DataTable)

    def _cells(self, doc: Any) -> list[Any]:
        return [
            cell(short_date(doc_date(doc))),
            cell(type_label(doc.type)),
            cell(doc.title),
            cell(masked_word(doc)),
            cell(doc.author.name),
            cell(doc.facility),
        ]

    def _fill(self, keep_id: str | None = None) -> None:
        """Show ``self.rows`` sorted; keep the cursor on the same document when possible."""
        self.rows.sort(key=sort_key(self.sort))
        table = self.table
        table.clear()
        for doc in self.rows:
            table.add_row(*self._cells(doc), key=doc.id)
        if keep_id is not None:
            index = next((i for i, d in enumerate(self.rows) if d.id == keep_id), 0)
            table.move_cursor(row=index, animate=False)

    def current(self) -> Any | None:
        if not self.rows or self.table.row_count == 0:
            return None
        row = self.table.cursor_row
        return self.rows[row] if 0 <= row < len(self.rows) else None

    def _loaded_words(self) -> str:
        n = len(self.rows)
        if self.next_cursor:
            return _("Documents 1 to {last} loaded; more load as you scroll.").format(last=n)
        if n == 0:
            if self.type_filter or self.query_text:
                return _("No document matches. Press t to change the type or / to search again.")
            return _("Your record has no documents.")
        if n == 1:
            return _("1 document loaded (all of them).")
        return _("{n} documents loaded (all of them).").format(n=n)

    # --- loading ---------------------------------------------------------------------------

    def reload(self, then_say: tuple[str, str] | None = None) -> None:
        self._generation += 1
        generation = self._generation
        self._loading_more = False
        kind, q, limit = self.type_filter, self.query_text or None, self.PAGE_SIZE

        def done(page: Any) -> None:
            if generation != self._generation:
                return
            self.rows = list(page.items)
            self.next_cursor = page.next_cursor
            self._fill()
            if then_say:
                self.say(*then_say)
            else:
                self.say("info", self._loaded_words())
            self._maybe_more(0)

        self.call(
            _("Loading your documents…"),
            lambda: self.client.documents(limit=limit, cursor=None, type=kind, q=q),
            done,
        )

    def _maybe_more(self, row: int) -> None:
        if not self.next_cursor or self._loading_more:
            return
        if row < len(self.rows) - self.NEAR_END:
            return
        self._loading_more = True
        generation = self._generation
        cursor, kind, q, limit = (
            self.next_cursor,
            self.type_filter,
            self.query_text or None,
            self.PAGE_SIZE,
        )

        def done(page: Any) -> None:
            if generation != self._generation:
                return
            self._loading_more = False
            current = self.current()
            known = {d.id for d in self.rows}
            self.rows.extend(d for d in page.items if d.id not in known)
            self.next_cursor = page.next_cursor
            self._fill(keep_id=current.id if current else None)
            self.say("info", self._loaded_words())

        self.call(
            _("Loading more documents…"),
            lambda: self.client.documents(limit=limit, cursor=cursor, type=kind, q=q),
            done,
            group="more",
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        self._maybe_more(event.cursor_row)

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_act_open()

    def on_calls_call_failed(self, message: Calls.CallFailed) -> None:
        self._loading_more = False
        if type(message.error).__name__ == "NotFound":
            # Deleted elsewhere meanwhile: say so, and show the list as it is now.
            message.prevent_default()
            self._gone(message.error)

    # --- search, filter, sort --------------------------------------------------------------

    def action_act_search(self) -> None:
        self.query_one("#doc-search", Input).focus()
        self.say(
            "info",
            _(
                "Type words of the title, then Enter. An empty search shows every "
                "document. Esc goes back to the list."
            ),
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "doc-search":
            return
        event.stop()
        self.query_text = event.value.strip()
        self._show_view_line()
        self.table.focus()
        self.reload()

    def on_key(self, event: events.Key) -> None:
        if event.key == "escape" and self.focused is self.query_one("#doc-search", Input):
            event.stop()
            event.prevent_default()
            self.table.focus()

    def action_act_filter(self) -> None:
        index = TYPES.index(self.type_filter) if self.type_filter in TYPES else 0
        self.type_filter = TYPES[(index + 1) % len(TYPES)]
        self._show_view_line()
        self.reload()

    def action_act_sort(self) -> None:
        self.sort = SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]
        self._show_view_line()
        current = self.current()
        self._fill(keep_id=current.id if current else None)
        n = len(self.rows)
        words = _("Sorted by {sort}, here on this device: the {n} documents loaded so far.").format(
            sort=_(SORT_WORDS[self.sort]), n=n
        )
        if self.next_cursor:
            words += " " + _("Documents loaded later are sorted in as they arrive.")
        self.say("info", words)

    # --- actions on the selected document ---------------------------------------------------

    def _selected(self) -> Any | None:
        doc = self.current()
        if doc is None:
            self.say("warning", _("No document is selected. Move to one with the arrow keys."))
        return doc

    def action_act_open(self) -> None:
        doc = self._selected()
        if doc is not None:
            self.app.push_screen(DocumentScreen(doc, on_gone=self._gone))

    def _gone(self, error: Exception) -> None:
        self.reload(then_say=("error", explain(error)))

    def action_act_save(self) -> None:
        doc = self._selected()
        if doc is None:
            return
        client = self.client

        async def fetch_and_save() -> Any:
            data, content_type = await client.content(doc.id)
            return await save_content(doc, data, content_type or doc.content_type)

        self.call(
            _('Saving "{title}"…').format(title=doc.title),
            fetch_and_save,
            lambda saved: say_saved(self, doc, saved),
        )

    def _replace(self, new: Any) -> None:
        """Update one row in place after the host answered."""
        for i, d in enumerate(self.rows):
            if d.id == new.id:
                self.rows[i] = new
        table = self.table
        if new.id in table.rows:
            table.update_cell(new.id, "visibility", cell(masked_word(new)))

    def action_act_mask(self) -> None:
        doc = self._selected()
        if doc is None:
            return
        if is_masked(doc):
            self.say(
                "info", _('"{title}" is already hidden from practitioners.').format(title=doc.title)
            )
            return

        def done(new: Any) -> None:
            self._replace(new)
            self.say(
                "done", _('"{title}" is now hidden from practitioners.').format(title=new.title)
            )

        doc_id = doc.id
        self.call(
            _('Hiding "{title}"…').format(title=doc.title), lambda: self.client.mask(doc_id), done
        )

    def action_act_unmask(self) -> None:
        doc = self._selected()
        if doc is None:
            return
        if not is_masked(doc):
            self.say(
                "info",
                _('"{title}" is not hidden: practitioners you authorised can see it.').format(
                    title=doc.title
                ),
            )
            return

        def done(new: Any) -> None:
            self._replace(new)
            self.say(
                "done",
                _('"{title}" is now visible to practitioners again.').format(title=new.title),
            )

        doc_id = doc.id
        self.call(
            _('Showing "{title}" again…').format(title=doc.title),
            lambda: self.client.unmask(doc_id),
            done,
        )

    def action_act_delete(self) -> None:
        doc = self._selected()
        if doc is None:
            return
        action = catalogue.ACTION_BY_ID["documents.delete"]
        consequence = _(action.confirm or "")
        heading = _('Delete "{title}"?').format(title=doc.title)

        def confirmed(ok: bool | None) -> None:
            if not ok:
                self.say(
                    "info",
                    _('Nothing was deleted: "{title}" is still in your record.').format(
                        title=doc.title
                    ),
                )
                return
            self.app.push_screen(CodeScreen(consequence, heading), coded)

        def coded(ok: bool | None) -> None:
            if not ok:
                self.say(
                    "info",
                    _('Nothing was deleted: "{title}" is still in your record.').format(
                        title=doc.title
                    ),
                )
                return
            self._delete(doc)

        self.app.push_screen(
            ConfirmScreen(heading, consequence, _("Delete for everyone")), confirmed
        )

    def _delete(self, doc: Any) -> None:
        def done(_result: Any) -> None:
            index = next((i for i, d in enumerate(self.rows) if d.id == doc.id), None)
            if index is not None:
                del self.rows[index]
            if doc.id in self.table.rows:
                self.table.remove_row(doc.id)
            self.say("done", _('"{title}" is deleted for everyone.').format(title=doc.title))

        doc_id = doc.id
        self.call(
            _('Deleting "{title}"…').format(title=doc.title),
            lambda: self.client.delete_document(doc_id),
            done,
        )
