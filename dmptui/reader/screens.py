"""The screens of screen-reader mode (``SCREENS``: one function each, by catalogue key) and the
handler of every catalogue action (``HANDLERS``: each screen module registers its own with
``menus.handles``; importing this module imports them all, so the registry is complete).

One module per screen: ``login`` (0), ``home`` (1, and 9: help), ``documents`` (2),
``practitioners`` (3), ``trace`` (4), ``record`` (5: emergency access, 6: my record), ``notes``
(7), ``notifications`` (8), ``account`` (10); what they share is in ``menus``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from dmptui.reader.account import account
from dmptui.reader.documents import documents
from dmptui.reader.home import help_screen, home
from dmptui.reader.menus import HANDLERS, reader_key
from dmptui.reader.notes import notes
from dmptui.reader.notifications import notifications
from dmptui.reader.practitioners import practitioners
from dmptui.reader.record import emergency, record
from dmptui.reader.trace import trace

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

__all__ = ["HANDLERS", "SCREENS", "reader_key"]

SCREENS: dict[str, Callable[[Reader], Awaitable[None]]] = {
    "home": home,
    "documents": documents,
    "practitioners": practitioners,
    "trace": trace,
    "emergency": emergency,
    "record": record,
    "notes": notes,
    "notifications": notifications,
    "help": help_screen,
    "account": account,
}
