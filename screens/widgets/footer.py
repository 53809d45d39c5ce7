"""The key bar at the bottom of the screens: Textual's Footer, showing only the keys that fit on
one line, and drawn again only when the keys it shows change.

Fitting: Textual's Footer lays every key on one line and cuts the line at the terminal's edge
(at 120 columns "Ctrl+Q Quit" was cut on most screens). Here the keys are measured first and
the least needed go, in the order of ``DROP_FIRST`` (Colours, Read this screen, Log out), then
the screen's own keys from the last; F1 Help always stays, and says "all keys" once any key is
left out: the help screen lists every key. The choice is made again when the width changes.

Textual's Footer rebuilds all its keys (some 35 widgets here) each time the screen says its
bindings may have changed (``Screen.bindings_updated_signal``): on every focus change and screen
change, several times while a screen opens. Each rebuild lays the screen out again, and that work
delays the first page of a list that arrives meanwhile. Here a rebuild (``recompose``) happens
only when the keys, their words, their state or the width changed since the last one: the
signals that come together give one rebuild, and none at all when nothing the bar shows
changed."""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.binding import Binding
from textual.events import Resize
from textual.widgets import Footer
from textual.widgets._footer import FooterKey  # the key widget of Footer, not exported

from dmptui.i18n import N_, _

HELP = "app.help"
# Binding ids left out first when the keys do not fit, most dispensable first.
DROP_FIRST = ("app.theme", "app.read_screen", "app.logout")
KEEP_LAST = ("app.quit", HELP)  # left out only after every screen key (Help never)
ALL_KEYS = N_("Help, all keys")


def key_width(key_display: str, description: str) -> int:
    """Cells a FooterKey takes (not compact): " key " and "description "."""
    return cell_len(key_display) + 2 + (cell_len(description) + 1 if description else 0)


def fitting(keys: list[tuple[Binding, str, str]], width: int) -> tuple[list[int], bool]:
    """Which keys (indexes into ``keys``, kept in their order) fit in ``width`` cells, and
    whether any was left out. ``keys``: (binding, key as shown, description)."""
    ids = [binding.id or "" for binding, _k, _d in keys]
    order = [i for name in DROP_FIRST for i, b in enumerate(ids) if b == name]
    order += [i for i in reversed(range(len(keys))) if ids[i] not in (*DROP_FIRST, *KEEP_LAST)]
    order += [i for name in KEEP_LAST[:-1] for i, b in enumerate(ids) if b == name]
    shown = set(range(len(keys)))
    help_words = _(ALL_KEYS)

    def total() -> int:
        out = 0
        for i in shown:
            _binding, display, words = keys[i]
            if ids[i] == HELP and len(shown) < len(keys):
                words = help_words
            out += key_width(display, words)
        return out

    for i in order:
        if total() <= width:
            break
        shown.discard(i)
    return sorted(shown), len(shown) < len(keys)


class KeyBar(Footer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._shown: tuple[Any, ...] | None = None

    def _keys(self) -> tuple[Any, ...]:
        return (
            self.app.size.width,
            *(
                (b.key, b.action, b.description, b.show, b.group, enabled, tooltip)
                for _node, b, enabled, tooltip in self.screen.active_bindings.values()
                if b.show
            ),
        )

    def compose(self) -> ComposeResult:
        """The keys that fit (see the module's docstring); one key per action, as Footer."""
        if not self._bindings_ready:
            return
        by_action: dict[str, tuple[Binding, bool, str]] = {}
        for _node, binding, enabled, tooltip in self.screen.active_bindings.values():
            if binding.show and binding.action not in by_action:
                by_action[binding.action] = (binding, enabled, tooltip)
        entries = list(by_action.values())
        keys = [(b, self.app.get_key_display(b), b.description) for b, _e, _t in entries]
        shown, cut = fitting(keys, self.app.size.width)
        for i in shown:
            binding, enabled, tooltip = entries[i]
            words = _(ALL_KEYS) if cut and binding.id == HELP else binding.description
            yield FooterKey(
                binding.key,
                keys[i][1],
                words,
                binding.action,
                disabled=not enabled,
                tooltip=tooltip,
            ).data_bind(compact=Footer.compact)

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

    def on_resize(self, _event: Resize) -> None:
        if self._shown is not None and self._shown[0] != self.app.size.width:
            self.call_after_refresh(self.recompose)
