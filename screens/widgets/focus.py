"""Focus in text and under the terminal cursor.

- The focused widget gets a heavy border (``dmptui.tcss``) with "> here" written in its top edge:
  focus is shown by a word and a shape, not only by a colour.
- The terminal cursor is put on the focused widget (on the current row of a table or list, on the
  text cursor of a field), so a screen reader or a magnifier that follows the cursor lands there.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from weakref import WeakKeyDictionary

from textual.geometry import Offset
from textual.widget import Widget

from dmptui.i18n import _

if TYPE_CHECKING:
    from textual.widgets import DataTable, OptionList

    from screens.widgets.paged_list import PagedList

_titles: WeakKeyDictionary[Widget, Any] = WeakKeyDictionary()  # the titles before the marker


def _is(widget: Widget, name: str) -> bool:
    """Whether ``widget`` is a ``name`` (a class of that name among its bases). By name, not by
    ``isinstance``: importing DataTable, OptionList and Select here would load them before the
    login screen's first paint, which uses none of them (``bench/app_bench.py``)."""
    return any(cls.__name__ == name for cls in type(widget).__mro__)


def marker() -> str:
    return _("> here")


def _target(widget: Widget) -> Widget:
    """The widget that draws the border: a Select draws it on its current-value box."""
    if _is(widget, "Select"):
        found = widget.query("SelectCurrent")  # by its type's name: Textual does not export it
        if found:
            return found.first()
    return widget


def mark(widget: Widget) -> None:
    """Write the marker in the widget's border title, keeping its own title after it."""
    target = _target(widget)
    if target in _titles:
        return
    own = target.border_title
    _titles[target] = own
    words = marker()
    target.border_title = f"{words} — {own}" if own else words


def unmark(widget: Widget) -> None:
    target = _target(widget)
    if target in _titles:
        target.border_title = _titles.pop(target)


def cursor_spot(widget: Widget) -> Offset:
    """Where the terminal cursor goes for ``widget``: its text cursor, its current row, or the
    first cell of its content."""
    region = widget.content_region
    if region.width <= 0 or region.height <= 0:
        region = widget.region
    spot = getattr(widget, "cursor_screen_offset", None)  # Input, TextArea
    if isinstance(spot, Offset) and region.contains_point(spot):
        return spot
    y = region.y
    if _is(widget, "DataTable"):
        table = cast("DataTable[Any]", widget)
        if table.row_count:
            above = sum(row.height for row in table.ordered_rows[: table.cursor_row])
            header = table.header_height if table.show_header else 0
            y = region.y + header + above - round(table.scroll_y)  # rows scroll, with the header
            if table.show_header and y < region.y + table.header_height:
                y = region.y + table.header_height
    elif _is(widget, "PagedList"):
        paged = cast("PagedList", widget)
        if paged.row_count:
            line = paged.cursor_line()  # under the header; None when scrolled away
            y = region.y + (line if line is not None else 1)
    elif _is(widget, "OptionList"):
        options = cast("OptionList", widget)
        if options.highlighted is not None:
            try:
                # Textual has no public map from an option to its line (prompts can wrap).
                line = options._index_to_line[options.highlighted]
            except KeyError:
                line = 0
            y = region.y + line - round(options.scroll_y)
    y = min(max(y, region.y), region.bottom - 1)
    return Offset(region.x, y)
