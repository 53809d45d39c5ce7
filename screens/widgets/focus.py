"""Focus in text and under the terminal cursor.

- The focused widget gets a heavy border (``dmptui.tcss``) with "> here" written in its top edge:
  focus is shown by a word and a shape, not only by a colour.
- The terminal cursor is put on the focused widget (on the current row of a table or list, on the
  text cursor of a field), so a screen reader or a magnifier that follows the cursor lands there.
"""

from __future__ import annotations

from typing import Any
from weakref import WeakKeyDictionary

from textual.geometry import Offset
from textual.widget import Widget
from textual.widgets import DataTable, OptionList, Select

from dmptui.i18n import _
from screens.widgets.paged_list import PagedList

_titles: WeakKeyDictionary[Widget, Any] = WeakKeyDictionary()  # the titles before the marker


def marker() -> str:
    return _("> here")


def _target(widget: Widget) -> Widget:
    """The widget that draws the border: a Select draws it on its current-value box."""
    if isinstance(widget, Select):
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
    if isinstance(widget, DataTable) and widget.row_count:
        above = sum(row.height for row in widget.ordered_rows[: widget.cursor_row])
        header = widget.header_height if widget.show_header else 0
        y = region.y + header + above - round(widget.scroll_y)  # the rows scroll, with the header
        if widget.show_header and y < region.y + widget.header_height:
            y = region.y + widget.header_height
    elif isinstance(widget, PagedList) and widget.row_count:
        line = widget.cursor_line()  # under the header; None when scrolled away
        y = region.y + (line if line is not None else 1)
    elif isinstance(widget, OptionList) and widget.highlighted is not None:
        try:
            # Textual has no public map from an option to its line (prompts can wrap).
            line = widget._index_to_line[widget.highlighted]
        except KeyError:
            line = 0
        y = region.y + line - round(widget.scroll_y)
    y = min(max(y, region.y), region.bottom - 1)
    return Offset(region.x, y)
