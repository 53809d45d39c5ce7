"""Screen 2 — Documents: the list (date, type, title, author, facility, hidden or not), with a
search on titles, a filter by type and a local sort; read, save, hide, show again, delete.

The list is loaded a page at a time (``PAGE_SIZE``): the next page is fetched when the cursor
comes within ``NEAR_END`` rows of the last loaded row, never the whole record at once."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal
from textual.widgets import Input, Label, Static

from dmptui import catalogue, loading
from dmptui.actions import Outcome, documents
from dmptui.explain import error_kind, explain
from dmptui.i18n import N_, _, format_number, ngettext
from dmptui.schema import DocType
from dmptui.state import DOCUMENTS
from dmptui.words import ALL_TYPES, NO_SEARCH, SORT_WORDS, SORTS, doc_date, sort_key, type_label
from screens.base import Calls, RecordScreen, catalogue_bindings, update_text
from screens.document_view import DocumentScreen, masked_word, short_date
from screens.keys import key_in_use
from screens.widgets.paged_list import Column, PagedList
from screens.widgets.text import plain

# Widths (cells); the title takes the width left over. The hidden-or-not column comes before
# author and facility so that it stays near the start of the line; a cut is shown by an ellipsis
# (the reading view shows everything whole). On a narrow terminal the columns go by priority
# (``PagedList``): date, title and hidden-or-not stay; then type, author, facility.
COLUMNS = (
    ("date", N_("Date of care"), 17, False, 1, 17),  # "27 September 2026"
    ("type", N_("Type"), 20, False, 4, 12),
    ("title", N_("Title"), 24, True, 2, 16),
    # Whether practitioners see it: headed by the name of their screen.
    ("visibility", catalogue.BY_KEY["practitioners"].title, 8, False, 3, 8),
    ("author", N_("Author"), 16, False, 5, 12),
    ("facility", N_("Facility"), 16, False, 6, 12),
)
ADDED = N_("date added, newest first")
# Pages of rows kept in memory while browsing (the others are fetched again, as the trace's).
KEEP_PAGES = 6
# A local sort is offered on lists of up to this many documents: what is missing is loaded
# first (dropped pages included), and every page is kept while the list is sorted locally.
SORT_LIMIT = 500

TYPES: tuple[str | None, ...] = (None, *(t.value for t in DocType))


def cells(doc: Any) -> list[str]:
    return [
        short_date(doc_date(doc)),
        type_label(doc.type),
        doc.title,
        masked_word(doc),
        doc.author.name,
        doc.facility,
    ]


class DocumentsScreen(RecordScreen):
    SCREEN_KEY = "documents"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("documents")
    AUTO_FOCUS = "#doc-table"
    PAGE_SIZE: ClassVar[int] = 50
    NEAR_END: ClassVar[int] = 10

    def __init__(self) -> None:
        super().__init__()
        self.type_filter: str | None = None
        self.query_text = ""
        self.sort = "date"
        self._then_say: tuple[str, str] | None = None  # said once the first page is shown
        self._sort_when_loaded = False  # a sort asked for before the whole list was loaded
        self._view_words = ""

    # --- layout ----------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="toolbar", id="doc-toolbar"):
            yield Label(_("Search in titles (/):"), id="doc-search-label")
            yield Input(
                id="doc-search", max_length=200, placeholder=_("words of the title, then Enter")
            )
        yield Static(id="doc-view")
        yield PagedList(
            [
                Column(k, _(label), w, flex, rank, least)
                for k, label, w, flex, rank, least in COLUMNS
            ],
            cells,
            lambda doc: doc.id,
            page_size=self.PAGE_SIZE,
            keep=KEEP_PAGES,
            near_end=self.NEAR_END,
            id="doc-table",
        )

    def on_mount(self) -> None:
        self._show_view_line()
        # RecordScreen.on_mount runs next (Textual calls each class's handler) and reloads.

    def _show_view_line(self) -> None:
        kind = type_label(self.type_filter) if self.type_filter else _(ALL_TYPES)
        search = self.query_text or _(NO_SEARCH)
        table = self.query("#doc-table").first(PagedList) if self.query("#doc-table") else None
        if table and table.row_count and not table.all_loaded and self.sort == "date":
            sort = _(ADDED)  # a long list comes in the host's order
        else:
            sort = _(SORT_WORDS[self.sort])
        words = _("Showing: {kind} · search: {search} · sorted by {sort}").format(
            kind=kind, search=search, sort=sort
        )
        if words != self._view_words:  # an update lays the screen out again: only on change
            self._view_words = words
            update_text(self.query_one("#doc-view", Static), plain(words))

    @property
    def table(self) -> PagedList:
        return self.query_one("#doc-table", PagedList)

    @property
    def rows(self) -> list[Any]:
        """The documents in memory, in the order shown (all of them unless the list is long)."""
        return self.table.items()

    @property
    def next_cursor(self) -> str | None:
        return self.table.next_cursor

    def current(self) -> Any | None:
        return self.table.current

    def _loaded_words(self) -> str:
        n = self.table.row_count
        if self.next_cursor:
            return _("Documents 1 to {last} loaded; more load as you scroll.").format(last=n)
        if n == 0:
            if self.type_filter or self.query_text:
                keymap = self.app.config.keymap
                return _(
                    "No document matches. Press {filter} to change the type or {search} to "
                    "search again."
                ).format(
                    filter=key_in_use("documents.filter", keymap),
                    search=key_in_use("documents.search", keymap),
                )
            return _("Your record has no documents.")
        if n == 1:
            return _("1 document loaded (all of them).")
        return _("{n} documents loaded (all of them).").format(n=n)

    # --- loading ---------------------------------------------------------------------------

    def reload(self, then_say: tuple[str, str] | None = None) -> None:
        self._then_say = then_say
        self._sort_when_loaded = False
        self._show_view_line()
        self.table.reset()  # asks for the first page: on_paged_list_wanted

    def on_paged_list_wanted(self, event: PagedList.Wanted) -> None:
        event.stop()
        table, page, generation = event.paged_list, event.page, event.generation
        cursor, kind, q, limit = (
            event.cursor,
            self.type_filter,
            self.query_text or None,
            self.PAGE_SIZE,
        )

        def done(result: Any) -> None:
            if generation != table.generation:
                return
            table.put_page(page, generation, result.items, result.next_cursor)
            self._arrange()
            if self._sort_when_loaded and table.all_loaded:
                self._sort_when_loaded = False
                table.fill = False
                self.say("info", self._sorted_words())
            elif self._sort_when_loaded and table.row_count >= self._sort_limit():
                self._sort_when_loaded = False
                table.stop_loading()  # back to the bounded window
                self.sort = "date"
                self._show_view_line()
                self.say(
                    "warning",
                    _(
                        "This list is too long to sort here: it stays in the order the "
                        "documents were added, newest first. Narrow it with t (type) or / "
                        "(search), then sort."
                    ),
                )
            elif page == 0 and self._then_say:
                self.say(*self._then_say)
                self._then_say = None
            elif not self._sort_when_loaded:
                self.say("info", self._loaded_words())
            self._show_view_line()

        waiting = _(loading.LOADING_DOCUMENTS if page == 0 else loading.LOADING_MORE_DOCUMENTS)
        self.call(
            waiting,
            lambda: self.client.documents(limit=limit, cursor=cursor, type=kind, q=q),
            done,
            group="more",
        )

    def on_paged_list_selected(self, event: PagedList.Selected) -> None:
        event.stop()
        self.action_act_open()

    def on_calls_call_failed(self, message: Calls.CallFailed) -> None:
        self.table.failed()
        self.table.fill = False
        if error_kind(message.error) == "not_found":
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
        table = self.table
        if self.sort == "date" and table.page_count > table.keep:
            # A list longer than the window: by date is the host's order (date added), in a
            # bounded window of pages again.
            self._sort_when_loaded = False
            table.stop_loading()
            table.host_order()
            self.say(
                "info",
                _(
                    "Back in the order the documents were added, newest first, as your record "
                    "host sends them; the list loads as you scroll."
                ),
            )
        elif table.all_loaded:
            self._arrange()
            self.say("info", self._sorted_words())
        elif table.row_count >= self._sort_limit():
            self.sort = "date"
            self.say(
                "warning",
                _(
                    "This list is too long to sort here: it stays in the order the documents "
                    "were added, newest first. Narrow it with t (type) or / (search), then sort."
                ),
            )
        else:  # a short list not loaded to its end: load the rest, then sort
            self._sort_when_loaded = True
            table.load_rest()
            self.say("wait", _("Loading the rest of the list to sort it…"))
        self._show_view_line()

    def _sort_limit(self) -> int:
        return SORT_LIMIT

    def _sorted_words(self) -> str:
        n = self.table.row_count
        return ngettext(
            "Sorted by {sort}, here on this device: the {n} document loaded so far.",
            "Sorted by {sort}, here on this device: the {n} documents loaded so far.",
            n,
        ).format(sort=_(SORT_WORDS[self.sort]), n=format_number(n))

    def _arrange(self) -> None:
        """A list that is all in memory is shown in the local order (as it always was); a
        longer one stays in the host's order, by date added."""
        if self.table.all_loaded:
            self.table.sort_rows(sort_key(self.sort))

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
        if doc is not None:
            self.perform(documents.save(self.record_state, doc))

    def action_act_mask(self) -> None:
        doc = self._selected()
        if doc is not None:
            self.perform(documents.mask(self.record_state, doc), self._replace)

    def action_act_unmask(self) -> None:
        doc = self._selected()
        if doc is not None:
            self.perform(documents.unmask(self.record_state, doc), self._replace)

    def action_act_delete(self) -> None:
        doc = self._selected()
        if doc is not None:
            self.perform(documents.delete(self.record_state, doc), self._removed)

    def _replace(self, outcome: Outcome) -> None:
        """Update one row in place after the host answered."""
        self.table.update_item(outcome.value)

    def _removed(self, outcome: Outcome) -> None:
        self.table.remove_item(outcome.value.id)

    def refresh_state(self, parts: frozenset[str], then: tuple[str, str]) -> None:
        """The host refused a change: the list as it is now, then the record's counts."""
        if DOCUMENTS in parts:
            self.reload(then_say=then)
        super().refresh_state(parts - {DOCUMENTS}, then)
