"""Below the smallest terminal the screens work in, one line in place of the screen: how big the
terminal must be, in words, rather than tables with no room for a single row.

The widget is on every screen (``RecordScreen`` and the login screen compose it) and hidden; the
screen's size classes (``DmpApp.HORIZONTAL_BREAKPOINTS`` / ``VERTICAL_BREAKPOINTS``) show it
over everything, without moving the focus nor the layout underneath: when the terminal grows
again, the screen is as it was."""

from __future__ import annotations

from textual.widgets import Static

from dmptui.i18n import _
from screens.widgets.text import plain

# The smallest terminal every screen works in: at 76 columns the access trace still shows when,
# who, what and the outcome of each entry; at 20 rows the lists keep a few rows between their
# fields, the message log and the keys.
MIN_WIDTH = 76
MIN_HEIGHT = 20


def too_small_words(width: int, height: int) -> str:
    return _(
        "This terminal is too small ({width}×{height}): make it at least {min_width} columns "
        "by {min_height} rows, or use a smaller font."
    ).format(width=width, height=height, min_width=MIN_WIDTH, min_height=MIN_HEIGHT)


class TooSmall(Static):
    """ "Make the terminal bigger", in the patient's language, with the size needed."""

    def __init__(self) -> None:
        super().__init__(id="too-small")

    def on_resize(self) -> None:
        self._say()

    def on_show(self) -> None:
        self._say()

    def _say(self) -> None:
        size = self.app.size
        self.update(plain(too_small_words(size.width, size.height)))
