"""The key bar at the bottom of the screens: Textual's Footer, drawn again only when the keys it
shows change.

Textual's Footer rebuilds all its keys (some 35 widgets here) each time the screen says its
bindings may have changed (``Screen.bindings_updated_signal``): on every focus change and screen
change, several times while a screen opens. Each rebuild lays the screen out again, and that work
delays the first page of a list that arrives meanwhile. Here a rebuild (``recompose``) happens
only when the keys, their words or their state changed since the last one: the signals that come
together give one rebuild, and none at all when nothing the bar shows changed."""

from __future__ import annotations

from typing import Any

from textual.widgets import Footer


class KeyBar(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[Any, ...] | None = None

    def _keys(self) -> tuple[Any, ...]:
        return tuple(
            (b.key, b.action, b.description, b.show, b.group, enabled, tooltip)
            for _node, b, enabled, tooltip in self.screen.active_bindings.values()
            if b.show
        )

    async def recompose(self) -> None:
        """Footer's ``bindings_changed`` asks for this after each signal: build the keys again
        only when they changed."""
        if not self.is_attached:
            return
        keys = self._keys()
        if keys == self._shown:
            return
        self._shown = keys
        await super().recompose()
