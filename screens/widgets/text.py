"""Data is text, never markup: anything a practitioner, the host or a patient wrote goes through
``plain()``, which returns a ``rich.text.Text`` with control characters made visible (the rule
is the core's ``dmptui.data_text.visible``: one rule for both front ends).

``limit`` cuts what would otherwise take a whole screen (a 10,000-character word from a host
that cannot be trusted): at most that many characters, the cut shown by an ellipsis."""

from __future__ import annotations

from rich.text import Text

from dmptui.data_text import visible

__all__ = ["CELL_LIMIT", "ELLIPSIS", "LINE_LIMIT", "MESSAGE_LIMIT", "clip", "plain", "visible"]

ELLIPSIS = "…"
# Where data is wrapped rather than cut on one line: how much of one value is shown.
CELL_LIMIT = 120  # a cell of a table whose rows grow with their text (trace, notifications)
LINE_LIMIT = 400  # one line of a summary, a status line, the reading view's metadata
MESSAGE_LIMIT = 1000  # a notification's text (a 300-character reason fits whole)


def clip(value: str, limit: int | None) -> str:
    """``value`` made visible, and cut at ``limit`` characters with an ellipsis."""
    shown = visible(value)
    if limit is not None and len(shown) > limit:
        return shown[: max(0, limit - 1)] + ELLIPSIS
    return shown


def plain(value: str, style: str = "", limit: int | None = None) -> Text:
    return Text(clip(value, limit), style=style, no_wrap=False, overflow="fold")
