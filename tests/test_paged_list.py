"""screens/widgets/paged_list.py on its own: a bounded window of pages over a list fetched by
cursor, keys, inert text, and the read-out. The pages come from a list in this file (the screens
that use the widget are tested against the real host in test_tui_documents/test_tui_trace)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from textual.app import App, ComposeResult

from screens.widgets.paged_list import Column, PagedList
from screens.widgets.readout import describe

TOTAL = 230
SIZE = 10


@dataclass
class Item:
    n: int
    title: str


def cells(item: Item) -> list[Any]:
    return [str(item.n), (item.title, "bold" if item.n % 7 == 0 else "")]


class ListApp(App[None]):
    def __init__(self, items: list[Item]) -> None:
        super().__init__()
        self.items = items
        self.asked: list[tuple[int, str | None]] = []
        self.selected: list[Any] = []

    def compose(self) -> ComposeResult:
        yield PagedList(
            [Column("n", "Number", 6), Column("title", "Title", 10, flexible=True)],
            cells,
            lambda item: str(item.n),
            page_size=SIZE,
            keep=3,
            near_end=3,
            id="list",
        )

    def on_mount(self) -> None:
        self.query_one(PagedList).focus()
        self.query_one(PagedList).reset()

    def on_paged_list_wanted(self, event: PagedList.Wanted) -> None:
        """A host that pages by cursor: the cursor is the index of the page's first item."""
        self.asked.append((event.page, event.cursor))
        start = int(event.cursor or 0)
        items = self.items[start : start + SIZE]
        nxt = str(start + SIZE) if start + SIZE < len(self.items) else None
        table, page, generation = event.paged_list, event.page, event.generation
        self.call_later(table.put_page, page, generation, items, nxt)

    def on_paged_list_selected(self, event: PagedList.Selected) -> None:
        self.selected.append(event.item)


async def until(pilot: Any, predicate: Any) -> None:
    for _ in range(500):
        if predicate():
            return
        await pilot.pause(0.01)
    raise AssertionError("timed out")


def test_window_of_pages_cursor_keys_and_refetch() -> None:
    async def run() -> None:
        items = [Item(n, f"Title {n}") for n in range(TOTAL)]
        app = ListApp(items)
        async with app.run_test(size=(60, 20)) as pilot:
            table = app.query_one(PagedList)
            await until(pilot, lambda: table.row_count == SIZE)
            await pilot.pause(0.1)
            assert table.row_count == SIZE and app.asked == [(0, None)]  # lazy: one page
            assert table.get_row_at(0) == ["0", "Title 0"]

            # To the end, a page at a time: never more than `keep` pages in memory.
            while not table.complete:
                before = table.row_count
                await pilot.press("end")
                await until(pilot, lambda b=before: table.row_count > b)
                assert len(table.items()) <= 3 * SIZE
            assert table.row_count == TOTAL
            assert table.cursor_row < TOTAL
            await pilot.press("end")
            assert table.cursor_row == TOTAL - 1
            assert table.current == items[-1]
            assert not table.all_loaded  # the first pages were dropped

            # Back to the top: page 0 is fetched again, with its own (empty) cursor.
            asked = len(app.asked)
            await pilot.press("home")
            await until(pilot, lambda: table.row_at(0) is not None)
            assert app.asked[asked] == (0, None)
            assert table.current == items[0]
            assert table.row_count == TOTAL  # the count is remembered
            # The middle, by page down: each page by its own cursor.
            for _ in range(10):
                await pilot.press("pagedown")
            await until(pilot, lambda: table.current is not None)
            row = table.cursor_row
            assert table.current == items[row]
            assert all(cursor == str(page * SIZE) for page, cursor in app.asked if page)

            # Up and down, Enter selects; the read-out says where we are.
            await pilot.press("down", "down", "up")
            assert table.cursor_row == row + 1
            await pilot.press("enter")
            await pilot.pause()
            assert app.selected == [items[row + 1]]
            assert describe(table) == (
                f"Table, row {row + 2} of {TOTAL}: Number: {row + 1}; Title: Title {row + 1}"
            )

    asyncio.run(run())


def test_cells_are_inert_text_on_one_line() -> None:
    markup = "[bold red]Not markup[/] and\nnew line \x1b[31m"
    long = "A very long title that does not fit in the column at all, cut with an ellipsis"

    async def run() -> None:
        app = ListApp([Item(1, markup), Item(2, long)])
        async with app.run_test(size=(60, 10)) as pilot:
            table = app.query_one(PagedList)
            await until(pilot, lambda: table.row_count == 2 and table.complete)
            await pilot.pause()
            lines = [strip.text for strip in (table.render_line(y) for y in range(3))]
            assert "Number" in lines[0] and "Title" in lines[0]
            assert "[bold red]Not markup[/] and new line <U+001B>[31m" in lines[1]
            assert long not in lines[2] and lines[2].rstrip().endswith("…")
            assert table.get_row_at(1) == ["2", long]  # the read-out gets it whole

    asyncio.run(run())


def test_sort_after_dropped_pages_loads_them_and_goes_back_to_the_window() -> None:
    """Scrolled to the end, the first pages dropped: ``load_rest`` fetches them again by their
    own cursors (it used to continue only from the end, and waited forever on a complete list);
    every page is kept while the list is sorted locally; ``host_order`` puts the host's order,
    its cursors and the bounded window back."""

    async def run() -> None:
        items = [Item(n, f"Title {(n * 37) % TOTAL:03d}") for n in range(TOTAL)]
        app = ListApp(items)
        async with app.run_test(size=(60, 20)) as pilot:
            table = app.query_one(PagedList)
            await until(pilot, lambda: table.row_count == SIZE)
            while not table.complete:
                before = table.row_count
                await pilot.press("end")
                await until(pilot, lambda b=before: table.row_count > b)
            await pilot.press("end")
            await pilot.pause(0.1)
            assert table.complete and not table.all_loaded
            assert len(table.items()) <= 3 * SIZE
            asked = len(app.asked)

            table.load_rest()
            await until(pilot, lambda: table.all_loaded)
            table.fill = False
            refetched = app.asked[asked:]
            assert sorted(page for page, _ in refetched) == list(range(TOTAL // SIZE - 3))
            assert all(cursor == (str(page * SIZE) if page else None) for page, cursor in refetched)
            assert table.items() == items and table.row_count == TOTAL

            table.sort_rows(lambda item: item.title)
            assert table.sorted_locally
            assert [i.title for i in table.items()] == sorted(i.title for i in items)
            assert table.current == items[-1]  # the cursor stays on its row
            # Moving around a sorted list fetches nothing and drops nothing.
            for key in ("home", "pagedown", "pagedown", "end", "pageup"):
                await pilot.press(key)
            await pilot.pause(0.1)
            assert len(app.asked) == asked + len(refetched) and len(table.items()) == TOTAL
            await pilot.press("home")
            first_sorted = table.current
            assert first_sorted.title == "Title 000"

            table.host_order()
            assert not table.sorted_locally
            assert table.current == first_sorted and table.cursor_row == first_sorted.n
            assert len(table.items()) <= 3 * SIZE  # bounded again
            assert table.items() == items[: len(table.items())]  # the host's order
            # Dropped pages come back by their own cursors (the view at the end spans two).
            asked = len(app.asked)
            await pilot.press("end")
            await until(pilot, lambda: table.current is not None)
            again = app.asked[asked:]
            assert (TOTAL // SIZE - 1, str(TOTAL - SIZE)) in again
            assert all(cursor == str(page * SIZE) for page, cursor in again)
            assert table.current == items[-1]
            assert len(table.items()) <= 3 * SIZE

    asyncio.run(run())
