"""A virtual list for long, paged host lists (documents, access trace).

Only what is on screen is drawn, and only a bounded window of pages is kept in memory, so a list
of 100,000 entries costs what a list of a few hundred does:

- The host pages by cursor. The list remembers the cursor of every page it has seen (a short
  string each) and the page's size; the rows themselves are kept only for the ``keep`` pages
  nearest the viewport (and the cursor). A page that was dropped is fetched again, by its own
  cursor, when it is scrolled back to; its rows show "…" meanwhile.
- The row count is what is known so far: it grows as pages arrive. The next page is asked for
  when the viewport or the cursor comes within ``near_end`` rows of the end.
- A local sort (``sort_rows``) needs every row: ``load_rest`` fetches what is missing (the
  pages after the last one seen, and the pages that were dropped, by their own cursors), and
  nothing is dropped while it loads nor while the list is sorted locally (the sorted pages have
  no cursor to be fetched again by). ``host_order`` puts the rows back in the host's order, with
  their cursors, and the window is bounded again; so does ``reset``.
- The list does not call the host itself: it posts ``PagedList.Wanted(page, cursor)`` and the
  screen fetches it (with its usual waiting words and error handling), then hands it back with
  ``put_page``. ``reset()`` starts over; pages asked for before it are ignored when they come.
- Columns have fixed widths (one column may be flexible: it takes the width left over); every
  row is one line, cells are cut with an ellipsis. Cells are strings drawn as segments: data is
  inert text, never markup, and control characters are made visible (``widgets.text``).
- A cursor row moved with up/down/page up/page down/home/end (Ctrl+Home/Ctrl+End too), Enter
  selects. ``Highlighted`` and ``Selected`` carry the row and its item. Screen readers get the
  row from ``readout`` ("Table, row 2 of 50: Date: …"), and the terminal cursor is put on it
  (``focus.cursor_spot``), as for a DataTable.

The pattern (a ScrollView whose ``render_line`` draws rows from a store that is filled behind
it) is the one of Textualize/toolong's ``LogLines``."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding, BindingType
from textual.geometry import Region, Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from screens.widgets.text import visible

Cell = str | tuple[str, str]  # a text, or (text, rich style such as "bold reverse")
LOADING = "…"


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    width: int  # cells; for the flexible column, its least width
    flexible: bool = False
    priority: int = 0  # the most needed first: the columns that do not fit go, least needed first
    least: int = 0  # cells it may shrink to (cut with "…") before a less needed column goes
    # When this column does not fit: its marked cells (those with a style, such as the trace's
    # emergency modes) are written at the start of the column of this key, so what they say in
    # words stays on the row.
    merge_into: str = ""


def arrange(columns: Sequence[Column], width: int) -> tuple[list[int], list[int]]:
    """The columns shown in ``width`` cells (their indexes, in their order) and their widths.

    Columns are taken by ``priority`` while their least widths fit (each cell has one space
    after it, the line one before); the width left is then given back to them in the same
    order, up to their own width (or their heading's), and what remains goes to the flexible
    column. The first column is always shown."""
    order = sorted(range(len(columns)), key=lambda i: (columns[i].priority, i))
    full = [max(c.width, cell_len(c.label)) for c in columns]
    least = [min(c.least or full[i], full[i]) for i, c in enumerate(columns)]
    room = width - 1
    chosen: list[int] = []
    for i in order:
        if chosen and sum(least[j] + 1 for j in chosen) + least[i] + 1 > room:
            break
        chosen.append(i)
    widths = {i: least[i] for i in chosen}
    spare = room - sum(w + 1 for w in widths.values())
    for i in chosen:
        grow = max(min(full[i] - widths[i], spare), 0)
        widths[i] += grow
        spare -= grow
    flexible = [i for i in chosen if columns[i].flexible]
    if flexible and spare > 0:
        widths[flexible[0]] += spare
    shown = sorted(chosen)
    return shown, [widths[i] for i in shown]


@dataclass(slots=True)
class Row:
    key: str
    item: Any
    cells: tuple[str, ...]
    styles: tuple[str, ...]


class PagedList(ScrollView, can_focus=True):
    """A one-line-per-row list over pages fetched by cursor; see the module's docstring."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor_up", "Up", show=False),
        Binding("down", "cursor_down", "Down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
        Binding("home,ctrl+home", "first", "First row", show=False),
        Binding("end,ctrl+end", "last", "Last row", show=False),
        Binding("enter", "select", "Select", show=False),
    ]
    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "paged-list--header",
        "paged-list--cursor",
        "paged-list--even-row",
    }
    DEFAULT_CSS = """
    PagedList {
        background: $surface;
        color: $foreground;
        height: 1fr;
        overflow-y: scroll;
        &:focus {
            background-tint: $foreground 5%;
            & > .paged-list--cursor {
                background: $block-cursor-background;
                color: $block-cursor-foreground;
                text-style: $block-cursor-text-style;
            }
        }
        &:dark > .paged-list--even-row { background: $surface-darken-1 40%; }
        & > .paged-list--even-row { background: $surface-lighten-1 50%; }
        & > .paged-list--header { text-style: bold; background: $panel; color: $foreground; }
        &:ansi > .paged-list--header { background: ansi_bright_blue; color: ansi_default; }
        & > .paged-list--cursor {
            background: $block-cursor-blurred-background;
            color: $block-cursor-blurred-foreground;
            text-style: $block-cursor-blurred-text-style;
        }
    }
    """

    class Wanted(Message):
        """The list needs page ``page``: fetch it with ``cursor`` and call ``put_page``."""

        def __init__(self, paged_list: PagedList, page: int, cursor: str | None, generation: int):
            super().__init__()
            self.paged_list = paged_list
            self.page = page
            self.cursor = cursor
            self.generation = generation

        @property
        def control(self) -> PagedList:
            return self.paged_list

    class Highlighted(Message):
        """The cursor moved to ``row`` (``item`` is None while its page is on its way)."""

        def __init__(self, paged_list: PagedList, row: int, item: Any | None):
            super().__init__()
            self.paged_list = paged_list
            self.row = row
            self.item = item

        @property
        def control(self) -> PagedList:
            return self.paged_list

    class Selected(Highlighted):
        """Enter on a row (its own handler: ``on_paged_list_selected``)."""

    def __init__(
        self,
        columns: Sequence[Column],
        cells: Callable[[Any], Sequence[Cell]],
        key: Callable[[Any], str],
        *,
        page_size: int = 50,
        keep: int = 6,
        near_end: int = 10,
        id: str | None = None,
        classes: str | None = None,
    ) -> None:
        super().__init__(id=id, classes=classes)
        self._columns = list(columns)
        self.columns = {c.key: c for c in self._columns}  # by key, as a DataTable's
        self._make_cells = cells
        self._key = key
        self.page_size = page_size
        self.keep = keep  # pages of rows kept in memory, at most (the cursors of all are kept)
        self.near_end = near_end
        self.cursor_row = 0
        self._shown: list[int] = list(range(len(self._columns)))  # the columns that fit
        self._widths: list[int] = [c.width for c in self._columns]  # of the shown columns
        self._reset_store()

    def _reset_store(self) -> None:
        self.generation = getattr(self, "generation", 0) + 1
        self._pages: dict[int, list[Row]] = {}  # page index -> its rows (the kept window)
        self._sizes: list[int] = []  # rows in each page seen so far
        self._starts: list[int] = [0]  # first row of each page; one more: the row count
        self._cursors: list[str | None] = []  # the cursor that fetches each page
        self.next_cursor: str | None = None  # the cursor of the page after the last one seen
        self.complete = False  # the last page has come (no next cursor)
        self._asked: int | None = None  # the page on its way, if any
        self.fill = False  # keep asking for missing pages until every row is in memory
        # While sorted locally: the host's order (each page's keys) and cursors, to go back to.
        self._host: tuple[list[list[str]], list[str | None]] | None = None

    # --- the store ---------------------------------------------------------------------------

    @property
    def row_count(self) -> int:
        return self._starts[-1]

    @property
    def all_loaded(self) -> bool:
        """Every row of the list is in memory (the list is complete and nothing was dropped)."""
        return self.complete and len(self._pages) == len(self._sizes)

    @property
    def page_count(self) -> int:
        """The pages seen so far (in memory or not)."""
        return len(self._sizes)

    @property
    def sorted_locally(self) -> bool:
        """The rows are in a local order (``sort_rows``): every page is kept until
        ``host_order`` or ``reset``."""
        return self._host is not None

    def reset(self) -> None:
        """Start over (a new search or filter): forget every page; the first is asked for."""
        self._reset_store()
        self.cursor_row = 0
        self.scroll_to(y=0, animate=False, immediate=True)
        self._sized()
        self.refresh()
        self._ask(0, None)

    def put_page(self, page: int, generation: int, items: Sequence[Any], next_cursor: str | None):
        """A page from the host. Pages of an older ``generation`` (before ``reset``) are
        ignored."""
        if generation != self.generation:
            return
        if self._asked == page:
            self._asked = None
        rows = [self._row(item) for item in items]
        if page == len(self._sizes):  # a new page at the end
            self._sizes.append(len(rows))
            if page == len(self._cursors):
                self._cursors.append(self.next_cursor if page else None)
            self.next_cursor = next_cursor
            self.complete = next_cursor is None
        elif page < len(self._sizes):  # a page fetched again: the host may have changed
            self._sizes[page] = len(rows)
            if page + 1 < len(self._cursors) and next_cursor is not None:
                self._cursors[page + 1] = next_cursor
        else:
            return
        self._pages[page] = rows
        self._restart()
        self._drop()
        self._sized()
        self.refresh()
        if page == self.page_of(self.cursor_row):
            self._highlighted()
        self.call_after_refresh(self._want)

    def sort_rows(self, key: Callable[[Any], Any]) -> None:
        """Order a list that is all in memory by ``key(item)``; the cursor stays on its row."""
        if not self.all_loaded:
            return
        if self._host is None:  # the host's order, to go back to (a few bytes a row)
            host_keys = [[row.key for row in self._pages[n]] for n in range(len(self._sizes))]
            self._host = (host_keys, list(self._cursors))
        rows = sorted(
            (row for page in sorted(self._pages) for row in self._pages[page]),
            key=lambda row: key(row.item),
        )
        size = self.page_size
        starts = range(0, len(rows), size)
        self._arranged({n: rows[start : start + size] for n, start in enumerate(starts)})
        # Never fetched again while sorted (``_drop`` keeps every page): no cursors.
        self._cursors = [None] * len(self._sizes)

    def host_order(self) -> None:
        """Back from a local sort to the host's order: each row on its page again, with the
        page's cursor, and the window bounded again (the pages far from the cursor dropped)."""
        if self._host is None:
            return
        host_keys, cursors = self._host
        self._host = None
        by_key = {row.key: row for rows in self._pages.values() for row in rows}
        pages = {n: [by_key[k] for k in keys if k in by_key] for n, keys in enumerate(host_keys)}
        self._arranged(pages)  # rows deleted meanwhile are gone from their page
        self._cursors = cursors
        self._drop()
        self.refresh()

    def _arranged(self, pages: dict[int, list[Row]]) -> None:
        """The same rows in other pages: the cursor stays on its row."""
        current = self.current_key
        self._pages = pages
        self._sizes = [len(pages[n]) for n in range(len(pages))]
        self._restart()
        self._sized()
        self.refresh()
        rows = (row for n in range(len(pages)) for row in pages[n])
        self.move_cursor(next((i for i, r in enumerate(rows) if r.key == current), 0))

    def load_rest(self) -> None:
        """Ask for every page not in memory, one after the other: the pages that were dropped
        (by their own cursors), then the next pages until the list is complete (or ``fill`` is
        turned off by ``stop_loading``); nothing is dropped meanwhile."""
        self.fill = True
        self._want()

    def stop_loading(self) -> None:
        """Stop ``load_rest``: the window is bounded again (unless the list is sorted
        locally)."""
        self.fill = False
        self._drop()
        self.refresh()
        self._want()

    def update_item(self, item: Any) -> None:
        """The host sent a newer version of a shown item: redraw its row."""
        key = self._key(item)
        for rows in self._pages.values():
            for i, row in enumerate(rows):
                if row.key == key:
                    rows[i] = self._row(item)
        self.refresh()

    def remove_item(self, key: str) -> None:
        """An item is gone (deleted): its row goes, the rows after it move up."""
        for page, rows in self._pages.items():
            for i, row in enumerate(rows):
                if row.key == key:
                    del rows[i]
                    self._sizes[page] -= 1
                    self._restart()
                    self._sized()
                    self.move_cursor(min(self.cursor_row, max(self.row_count - 1, 0)))
                    self.refresh()
                    return

    def _row(self, item: Any) -> Row:
        texts, styles = [], []
        for cell in self._make_cells(item):
            text, style = (cell, "") if isinstance(cell, str) else cell
            texts.append(" ".join(visible(text).split()))  # one line, nothing invisible
            styles.append(style)
        return Row(self._key(item), item, tuple(texts), tuple(styles))

    def _restart(self) -> None:
        starts = [0]
        for size in self._sizes:
            starts.append(starts[-1] + size)
        self._starts = starts

    def page_of(self, row: int) -> int:
        return max(0, bisect_right(self._starts, row) - 1)

    def row_at(self, row: int) -> Row | None:
        """The row ``row`` if its page is in memory."""
        if not 0 <= row < self.row_count:
            return None
        page = self.page_of(row)
        rows = self._pages.get(page)
        if rows is None:
            return None
        index = row - self._starts[page]
        return rows[index] if index < len(rows) else None

    @property
    def shown_columns(self) -> list[Column]:
        """The columns on view, in their order (those that fit the width)."""
        return [self._columns[i] for i in self._shown]

    def get_row_at(self, row: int) -> list[str]:
        """The cells of row ``row`` as shown (uncut); "…" for each while its page is away."""
        found = self.row_at(row)
        return list(found.cells) if found else [LOADING] * len(self._columns)

    def items(self) -> list[Any]:
        """The items in memory, in list order."""
        return [row.item for page in sorted(self._pages) for row in self._pages[page]]

    def keys(self) -> Iterator[str]:
        return (row.key for page in sorted(self._pages) for row in self._pages[page])

    @property
    def current(self) -> Any | None:
        found = self.row_at(self.cursor_row)
        return found.item if found else None

    @property
    def current_key(self) -> str | None:
        found = self.row_at(self.cursor_row)
        return found.key if found else None

    # --- fetching ----------------------------------------------------------------------------

    def _ask(self, page: int, cursor: str | None) -> None:
        self._asked = page
        self.post_message(self.Wanted(self, page, cursor, self.generation))

    def failed(self) -> None:
        """The screen could not fetch the page asked for: it may be asked for again later."""
        self._asked = None

    def _window(self) -> tuple[int, int]:
        top = round(self.scroll_y)
        return top, top + max(self.scrollable_content_region.height - 1, 1)

    def _want(self, scrolled: bool = False) -> None:
        """Ask for the page the viewport or the cursor needs, if any, one at a time. The next
        page is asked for when the cursor comes near the end, or the view (``scrolled``: by
        the mouse wheel or the scroll bar, which do not move the cursor)."""
        if self._asked is not None or not self.is_attached:
            return
        if self.fill:  # the pages that were dropped first, then the next ones
            for page in range(len(self._sizes)):
                if page not in self._pages:
                    self._ask(page, self._cursors[page])
                    return
        top, bottom = self._window()
        needed = {self.page_of(r) for r in (top, bottom - 1, self.cursor_row) if r < self.row_count}
        for page in sorted(needed):
            if page not in self._pages and page < len(self._sizes):
                self._ask(page, self._cursors[page])
                return
        if self.complete or not self._sizes:
            return
        end = max(bottom, self.cursor_row) if scrolled else self.cursor_row
        if self.fill or end >= self.row_count - self.near_end:
            self._ask(len(self._sizes), self.next_cursor)

    def _drop(self) -> None:
        """Keep the ``keep`` pages nearest the viewport and the cursor; drop the others (none
        while ``load_rest`` loads or while the list is sorted locally)."""
        if len(self._pages) <= self.keep or self.fill or self._host is not None:
            return
        top, bottom = self._window()
        near = {self.page_of(top), self.page_of(bottom), self.page_of(self.cursor_row)}

        def distance(page: int) -> int:
            return min(abs(page - n) for n in near)

        for page in sorted(self._pages, key=distance)[self.keep :]:
            if page not in near:
                del self._pages[page]

    # --- drawing -----------------------------------------------------------------------------

    def _sized(self) -> None:
        width = self.scrollable_content_region.width or self.size.width
        # The columns that fit, by priority; the flexible one takes what is left.
        shown, widths = arrange(self._columns, width)
        if shown != self._shown or widths != self._widths:
            self._shown, self._widths = shown, widths
            self.refresh()
        size = Size(sum(self._widths) + len(self._widths) + 1, self.row_count + 1)
        if size == self.virtual_size:
            return
        if size.width == self.virtual_size.width and self.show_vertical_scrollbar:
            # More rows only: the vertical scroll bar is always there (overflow-y: scroll), so
            # nothing moves on screen; the scroll bar and the lines are drawn again, without
            # the layout of the whole screen that setting ``virtual_size`` asks for.
            self.set_reactive(PagedList.virtual_size, size)
            self.vertical_scrollbar.window_virtual_size = size.height
            self.vertical_scrollbar.refresh()
            self.refresh()
        else:
            self.virtual_size = size

    def on_resize(self) -> None:
        self._sized()
        self._want()

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)
        if round(old) != round(new):
            self._want(scrolled=True)

    def _line(self, cells: Sequence[str], styles: Sequence[str], base: Style) -> list[Segment]:
        segments = [Segment(" ", base)]
        merged = self._merged(cells, styles)
        for index, width in zip(self._shown, self._widths, strict=True):
            text, style = merged.get(index) or (cells[index], styles[index])
            if cell_len(text) > width:
                text = set_cell_size(text, max(width - 1, 0)) + LOADING
            else:
                text = set_cell_size(text, width)
            segments.append(Segment(text, base + Style.parse(style) if style else base))
            segments.append(Segment(" ", base))
        return segments

    def _merged(self, cells: Sequence[str], styles: Sequence[str]) -> dict[int, tuple[str, str]]:
        """The shown cells that take a hidden column's marked cell (``Column.merge_into``)."""
        merged: dict[int, tuple[str, str]] = {}
        if len(self._shown) == len(self._columns) or len(cells) < len(self._columns):
            return merged
        index = {c.key: i for i, c in enumerate(self._columns)}
        for i, column in enumerate(self._columns):
            target = index.get(column.merge_into)
            if i in self._shown or target is None or target not in self._shown or not styles[i]:
                continue
            text, _style = merged.get(target) or (cells[target], styles[target])
            merged[target] = (f"{cells[i]} — {text}", styles[i])
        return merged

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        base = self.rich_style
        if y == 0:
            style = base + self.get_component_rich_style("paged-list--header")
            labels = [c.label for c in self._columns]
            segments = self._line(labels, [""] * len(labels), style)
            return Strip(segments).crop_extend(scroll_x, scroll_x + width, style)
        index = scroll_y + y - 1
        if index >= self.row_count:
            return Strip.blank(width, base)
        style = base
        if index % 2:
            style = style + self.get_component_rich_style("paged-list--even-row")
        if index == self.cursor_row:
            style = style + self.get_component_rich_style("paged-list--cursor")
        row = self.row_at(index)
        if row is None:
            segments = self._line([LOADING] * len(self._columns), [""] * len(self._columns), style)
        else:
            segments = self._line(row.cells, row.styles, style)
        return Strip(segments).crop_extend(scroll_x, scroll_x + width, style)

    def cursor_line(self) -> int | None:
        """The cursor row's line in the widget's content (under the header), if on screen."""
        line = self.cursor_row - round(self.scroll_y) + 1
        if self.row_count and 1 <= line < self.scrollable_content_region.height:
            return line
        return None

    # --- the cursor --------------------------------------------------------------------------

    def move_cursor(self, row: int) -> None:
        n = self.row_count
        row = min(max(row, 0), max(n - 1, 0))
        old, self.cursor_row = self.cursor_row, row
        height = max(self.scrollable_content_region.height - 1, 1)  # under the header
        top = round(self.scroll_y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)
        for line in {old, row}:
            self.refresh(Region(0, line - round(self.scroll_y) + 1, self.size.width, 1))
        if n:
            self._highlighted()
        self._want()

    def _highlighted(self) -> None:
        self.post_message(self.Highlighted(self, self.cursor_row, self.current))

    def _page_rows(self) -> int:
        return max(self.scrollable_content_region.height - 2, 1)

    def action_cursor_up(self) -> None:
        self.move_cursor(self.cursor_row - 1)

    def action_cursor_down(self) -> None:
        self.move_cursor(self.cursor_row + 1)

    def action_page_up(self) -> None:
        self.move_cursor(self.cursor_row - self._page_rows())

    def action_page_down(self) -> None:
        self.move_cursor(self.cursor_row + self._page_rows())

    def action_first(self) -> None:
        self.move_cursor(0)

    def action_last(self) -> None:
        """To the last row known so far (the next page is then asked for)."""
        self.move_cursor(self.row_count - 1)

    def action_select(self) -> None:
        if self.row_count:
            self.post_message(self.Selected(self, self.cursor_row, self.current))

    async def _on_click(self, event: Any) -> None:
        line = event.y - self.gutter.top
        if line >= 1:
            self.move_cursor(round(self.scroll_y) + line - 1)
