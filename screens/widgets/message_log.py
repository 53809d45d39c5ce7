"""The message log: a few lines at the bottom of every screen that keep every notice, so that
nothing is said only for a moment. Ctrl+R reads the whole screen out into it as text.

It shows the app's ``state.messages`` (the same list on every screen), one line each:
"14:05 Done: …", "14:06 Error: …". It can take the focus (Tab reaches it last, as it is the last
thing on the screen) and then scrolls with the arrow keys and Page Up / Page Down.

It is a line-API widget of its own on Textual's ``ScrollView`` rather than a ``RichLog``: the
module of ``RichLog`` imports ``rich.pretty`` and with it ``attrs`` when it is installed (about
20 ms before the login screen is painted), and the log writes only ``Text`` (data, not markup)."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from rich.segment import Segment
from rich.text import Text
from textual.events import Resize
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from dmptui import loading
from dmptui.i18n import _, format_time
from screens.widgets.text import plain

if TYPE_CHECKING:
    from textual import getters

    from screens.app import DmpApp


def labels() -> dict[str, str]:
    return {
        **{k: _(label) for k, label in loading.KIND_LABELS.items()},
        "info": "",
        "read": "",
    }


def line_text(entry: Any) -> str:
    """One log entry as one line of text: its time, its label, its words."""
    label = labels().get(entry.kind, "")
    when = format_time(entry.at)  # Paris time, as every time the app shows
    return " ".join(part for part in (when, label, entry.text) if part)


MAX_ENTRIES = 1000  # the oldest entries go when there are more


class MessageLog(ScrollView, can_focus=True):
    """Every notice of this session, newest last."""

    DEFAULT_CSS = """
    MessageLog {
        background: $surface;
        color: $foreground;
        overflow-y: scroll;
        &:focus {
            background-tint: $foreground 5%;
        }
    }
    """

    if TYPE_CHECKING:
        app = getters.app(DmpApp)

    def __init__(self) -> None:
        super().__init__(id="message-log")
        self.auto_scroll = True  # written lines scroll the log to its end
        self.lines: list[Strip] = []  # the entries wrapped to the width, as screen lines
        self._entries: deque[Text] = deque()  # what was written, to wrap again on a resize
        self._counts: deque[int] = deque()  # how many lines each entry takes
        self._width = 0  # the width the lines are wrapped to (0: not known yet)
        self.shown = 0  # how many of the app's messages are written here
        self.epoch = 0  # the app's ``state.epoch`` they came from (it changes at log out)
        self.border_title = _("Messages (Ctrl+R reads this screen here)")

    @property
    def texts(self) -> list[str]:
        """Each entry's text, as written (not wrapped to the width)."""
        return [text.plain for text in self._entries]

    # --- the lines ---------------------------------------------------------------------------

    def _wrap(self, text: Text) -> list[Strip]:
        """One entry as screen lines, wrapped to the width (a long word folds)."""
        console = self.app.console
        options = console.options.update_width(self._width)
        lines = list(Segment.split_lines(console.render(text, options)))
        return Strip.from_lines(lines) if lines else [Strip.blank(self._width)]

    def _update_size(self) -> None:
        widest = max((line.cell_length for line in self.lines), default=0)
        self.virtual_size = Size(widest, len(self.lines))
        if self.auto_scroll:
            self.scroll_end(animate=False, immediate=False, x_axis=False)

    def write(self, text: Text) -> MessageLog:
        """Add one entry at the end (a ``Text``: what it holds is shown as it is)."""
        text = text.copy()
        text.expand_tabs()
        self._entries.append(text)
        if len(self._entries) > MAX_ENTRIES:
            self._entries.popleft()
            if self._width:
                del self.lines[: self._counts.popleft()]
            self.refresh()
        if self._width:  # otherwise it is wrapped once the width is known
            strips = self._wrap(text)
            self._counts.append(len(strips))
            self.lines.extend(strips)
            self._update_size()
        return self

    def clear(self) -> MessageLog:
        """Remove every entry."""
        self._entries.clear()
        self._counts.clear()
        self.lines = []
        self.virtual_size = Size(0, 0)
        self.refresh()
        return self

    def on_resize(self, event: Resize) -> None:
        # From the event's size (the widget's, border included): the widget's region may not be
        # known yet when the event is handled (a screen being laid out or no longer on view).
        width = event.size.width - self.styles.gutter.width - self.scrollbar_gutter.width
        if width and width != self._width:  # wrap every entry again to the new width
            self._width = width
            self.lines, self._counts = [], deque()
            for text in self._entries:
                strips = self._wrap(text)
                self._counts.append(len(strips))
                self.lines.extend(strips)
            self._update_size()
            self.refresh()

    def render_line(self, y: int) -> Strip:
        scroll_x, scroll_y = self.scroll_offset
        width = self.scrollable_content_region.width
        style = self.rich_style
        index = scroll_y + y
        if index >= len(self.lines):
            return Strip.blank(width, style)
        return self.lines[index].crop_extend(scroll_x, scroll_x + width, style).apply_style(style)

    # --- the app's messages ------------------------------------------------------------------

    def on_mount(self) -> None:
        self.sync()

    def on_show(self) -> None:
        self.sync()

    def sync(self) -> int:
        """Write the app's messages not written yet; returns the line where they start."""
        state = self.app.state
        messages = state.messages
        if state.epoch != self.epoch:  # the messages were emptied (log out): start again
            self.clear()
            self.shown, self.epoch = 0, state.epoch
        start = len(self.lines)
        for entry in messages[self.shown :]:
            self.write(plain(line_text(entry)))
        self.shown = len(messages)
        return start
