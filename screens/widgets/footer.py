"""The key bar at the bottom of the screens: Textual's Footer, drawn again only when the keys it
shows change.

Textual's Footer rebuilds all its keys (some 35 widgets here) each time the screen says its
bindings may have changed: on every focus change and screen change, several times while a
screen opens. Each rebuild lays the screen out again, and that work delays the first page of a
list that arrives meanwhile. Here the signals that come together give one rebuild, after the
next refresh, and none at all when the keys, their words and their state are the same."""

from __future__ import annotations

from typing import Any

from textual.screen import Screen
from textual.widgets import Footer


class KeyBar(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending = False
        self._shown: tuple[Any, ...] | None = None

    def _keys(self) -> tuple[Any, ...]:
        return tuple(
            (b.key, b.action, b.description, b.show, b.group, enabled, tooltip)
            for _node, b, enabled, tooltip in self.screen.active_bindings.values()
            if b.show
        )

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen and not self._pending:
            self._pending = True
            self.call_after_refresh(self._rebuild)

    async def _rebuild(self) -> None:
        self._pending = False
        if not self.is_attached:
            return
        keys = self._keys()
        if keys == self._shown:
            return
        self._shown = keys
        await self.recompose()
