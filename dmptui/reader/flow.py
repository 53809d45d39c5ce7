"""How a screen of screen-reader mode ends: exceptions the loop in ``app`` catches."""

from __future__ import annotations


class Flow(Exception):
    """Leave the current question."""


class Navigate(Flow):
    """Go to a screen (``m`` and the main menu's numbers)."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


class Back(Flow):
    """``0`` or ``b``: one level up (from a document to the list, from a screen to home)."""


class Logout(Flow):
    """``l``: end the session, then log in again."""


class Quit(Flow):
    """``q``: leave dmptui."""


class Abort(Flow):
    """The current action stopped; why was already said. The screen asks again."""


class Failed(Abort):
    """A call to the host failed; ``explain(error)`` was already said."""

    def __init__(self, error: Exception) -> None:
        super().__init__(type(error).__name__)
        self.error = error


class SessionEnded(Flow):
    """The record was closed or erased: every session ended; log in again (``notice`` said)."""


class IdleLocked(Flow):
    """No answer for the idle time: the session is locked; log in again."""
