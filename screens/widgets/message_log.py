"""The message log: a few lines at the bottom of every screen that keep every notice, so that
nothing is said only for a moment. Ctrl+R reads the whole screen out into it as text.

It shows the app's ``state.messages`` (the same list on every screen), one line each:
"14:05 Done: …", "14:06 Error: …". It can take the focus (Tab reaches it last, as it is the last
thing on the screen) and then scrolls with the arrow keys and Page Up / Page Down."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual.widgets import RichLog

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


class MessageLog(RichLog):
    """Every notice of this session, newest last."""

    if TYPE_CHECKING:
        app = getters.app(DmpApp)

    def __init__(self) -> None:
        super().__init__(
            id="message-log",
            wrap=True,
            markup=False,
            highlight=False,
            auto_scroll=True,
            max_lines=1000,
        )
        self.shown = 0  # how many of the app's messages are written here
        self.epoch = 0  # the app's ``state.epoch`` they came from (it changes at log out)
        self.border_title = _("Messages (Ctrl+R reads this screen here)")

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
