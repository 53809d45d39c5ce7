"""A checkbox that says its state in its shape: "X" when ticked, a blank when not.

Textual's Checkbox draws the same "X" in both states and tells them apart by colour only, which
NO_COLOR, a monochrome braille display or a colour-blind eye cannot see (ACCESSIBILITY.md 8)."""

from __future__ import annotations

from textual.widgets import Checkbox


class TickBox(Checkbox):
    @property
    def BUTTON_INNER(self) -> str:  # type: ignore[override]  # Textual's class attribute; a property here
        return "X" if self.value else " "
