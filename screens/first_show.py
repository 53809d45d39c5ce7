"""A screen styled once when it is first shown, not three times.

Textual styles a pushed screen's widgets as they mount, then again for the screen's size
classes ("-w-wide", "-h-small": ``DmpApp.HORIZONTAL_BREAKPOINTS``), set only once its first
Resize arrives, and again when its ScreenResume comes. On the login screen that was twice the
styling work of the first paint (bench/app_bench.py). Here the size classes are set as the
screen is pushed, before its widgets mount, and the first ScreenResume does not restyle what was
just styled; the Resize then finds the classes already right. Later resumes restyle as usual.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from textual import events
from textual.message import Message

if TYPE_CHECKING:
    from textual.geometry import Size
    from textual.screen import Screen

    _ScreenBase = Screen[Any]
else:
    _ScreenBase = object

Breakpoints = list[tuple[int, str]]


def size_classes(size: Size, horizontal: Breakpoints, vertical: Breakpoints) -> set[str]:
    """The size classes for ``size``: for each direction, the class of the largest breakpoint
    it reaches (as Textual's ``Screen`` sets them on resize)."""
    classes = set()
    for dimension, breakpoints in ((size.width, horizontal), (size.height, vertical)):
        for at, name in sorted(breakpoints, reverse=True):
            if dimension >= at:
                classes.add(name)
                break
    return classes


class FirstShow(_ScreenBase):
    _shown = False

    def post_message(self, message: Message) -> bool:
        if isinstance(message, events.ScreenResume) and not self._shown:
            self._shown = True
            app = self.app
            horizontal = self.HORIZONTAL_BREAKPOINTS
            vertical = self.VERTICAL_BREAKPOINTS
            self.add_class(
                *size_classes(
                    app.size,
                    (app.HORIZONTAL_BREAKPOINTS if horizontal is None else horizontal) or [],
                    (app.VERTICAL_BREAKPOINTS if vertical is None else vertical) or [],
                )
            )
            message = events.ScreenResume(refresh_styles=False)
        return super().post_message(message)
