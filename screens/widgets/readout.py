"""Ctrl+R: the current screen read out as plain lines, top to bottom, for the message log.

What a person on the phone with support would read aloud: the screen id, the status line, what
has the focus, then every text, field, button, list and table row on the screen, and the keys.
A table is read as its size and its current row in "Label: value" form; a password field says
how many characters it holds, never what they are."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    DataTable,
    Footer,
    Input,
    Label,
    OptionList,
    Select,
    Static,
    TextArea,
)

from dmptui.i18n import _
from screens.widgets.message_log import MessageLog
from screens.widgets.paged_list import PagedList


def _text(widget: Widget) -> str:
    try:
        return str(widget.render()).strip()
    except Exception:  # a widget that cannot render now has nothing to read
        return ""


def _shown(widget: Widget) -> bool:
    node: Any = widget
    while node is not None and isinstance(node, Widget):
        if not node.display or not node.visible:
            return False
        node = node.parent
    return True


def _label_for(widget: Widget) -> str:
    """The text of the Label just before ``widget`` (how the screens label their fields)."""
    parent = widget.parent
    if parent is None:
        return ""
    siblings = list(parent.children)
    index = siblings.index(widget)
    for before in reversed(siblings[:index]):
        if isinstance(before, Label):
            return _text(before).rstrip(" :")
        if before.can_focus:
            break
    return ""


def _cell(value: Any) -> str:
    return " ".join(str(value).split())


def describe(widget: Widget) -> str:
    """One line about a focusable widget: what it is and what it holds."""
    if isinstance(widget, Input):
        name = _label_for(widget) or widget.placeholder or _("Text field")
        if widget.password:
            return _("Password field {name}: {n} characters typed (hidden)").format(
                name=name, n=len(widget.value)
            )
        return _("Text field {name}: {value}").format(name=name, value=widget.value or _("(empty)"))
    if isinstance(widget, Checkbox):
        state = _("checked") if widget.value else _("not checked")
        return _("Checkbox {label}: {state}").format(label=str(widget.label), state=state)
    if isinstance(widget, Button):
        words = _("Button {label}").format(label=str(widget.label))
        return words + (" " + _("(not available)") if widget.disabled else "")
    if isinstance(widget, Select):
        value = _text(widget.query_one("SelectCurrent #label")) if widget.children else ""
        return _("Choice {name}: {value}").format(name=_label_for(widget), value=value)
    if isinstance(widget, DataTable):
        return _table([str(c.label) for c in widget.ordered_columns], widget)
    if isinstance(widget, PagedList):
        return _table([c.label for c in widget.columns.values()], widget)
    if isinstance(widget, OptionList):
        return _options(widget)
    if isinstance(widget, TextArea):
        row = widget.cursor_location[0]
        count = widget.document.line_count
        line = widget.document.get_line(row) if count else ""
        return _("Text box, line {row} of {count}: {line}").format(
            row=row + 1, count=count, line=line or _("(empty)")
        )
    if isinstance(widget, MessageLog):
        return _("Message log, {n} lines").format(n=len(widget.lines))
    return _("Scrolling area: use the arrow keys and Page Down to read further.")


def _table(columns: list[str], table: Any) -> str:
    """A DataTable or a PagedList: its size and its current row as "Label: value" pairs."""
    n = table.row_count
    if not n:
        return _("Table, empty. Columns: {columns}").format(columns=", ".join(columns))
    row = table.cursor_row
    cells = table.get_row_at(row)
    pairs = "; ".join(
        f"{label}: {_cell(value)}" for label, value in zip(columns, cells, strict=False)
    )
    return _("Table, row {row} of {count}: {cells}").format(row=row + 1, count=n, cells=pairs)


def _options(options: OptionList) -> str:
    prompts = [_cell(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
    current = options.highlighted
    if current is None or current >= len(prompts):
        return _("List of {n} choices: {choices}. Selected: none").format(
            n=len(prompts), choices=", ".join(prompts)
        )
    return _("List of {n} choices: {choices}. Selected: {chosen}").format(
        n=len(prompts), choices=", ".join(prompts), chosen=prompts[current]
    )


def _body(screen: Any) -> Iterator[str]:
    """Texts and widgets of the screen, in reading order (the order they are laid out)."""
    from screens.base import StatusLine

    skip = (StatusLine, MessageLog, Footer)
    for widget in screen.query("*"):
        if widget.id in ("screen-id", "dialog-title") or not _shown(widget):
            continue
        if any(isinstance(a, skip) for a in (widget, *widget.ancestors)):
            continue
        if any(isinstance(a, Select | Input | Button | Checkbox) for a in widget.ancestors):
            continue  # read with the widget it belongs to
        if widget.can_focus:
            mark = "> " if widget.has_focus else ""
            yield mark + describe(widget)
        elif isinstance(widget, Static) and not isinstance(widget, Button):
            if isinstance(widget, Label) and _is_field_label(widget):
                continue  # read with its field
            for line in _text(widget).splitlines():
                if line.strip():
                    yield line.rstrip()


def _is_field_label(label: Label) -> bool:
    parent = label.parent
    if parent is None:
        return False
    siblings = list(parent.children)
    after = siblings[siblings.index(label) + 1 :]
    return bool(after) and isinstance(after[0], Input | Select)


_KEY_WORDS = {
    "ctrl": "Ctrl",
    "shift": "Shift",
    "alt": "Alt",
    "escape": "Esc",
    "enter": "Enter",
    "slash": "/",
    "tab": "Tab",
    "space": "Space",
    "delete": "Delete",
    "backspace": "Backspace",
}


def key_words(key: str) -> str:
    """A key as a person says it: "ctrl+r" is "Ctrl+R", "f1" is "F1", "slash" is "/"."""
    parts = key.split("+")
    named = [
        _KEY_WORDS.get(p, p.upper() if len(parts) > 1 or re.fullmatch(r"f\d+", p) else p)
        for p in parts
    ]
    return "+".join(named)


def _keys(app: Any) -> str:
    seen: list[str] = []
    for active in app.active_bindings.values():
        binding = active.binding
        shown = binding.show or binding.key == "escape"  # Esc goes back on every screen
        if not shown or not binding.description or not active.enabled:
            continue
        words = f"{key_words(binding.key)} {binding.description}"
        if words not in seen:
            seen.append(words)
    return ", ".join(seen)


def read_screen(app: Any) -> list[str]:
    """The current screen as lines of text."""
    from screens.base import StatusLine

    screen = app.screen
    lines: list[str] = []
    found = screen.query("#screen-id")
    if found:
        lines.append(_("Screen: {screen}").format(screen=_text(found.first())))
    else:  # a dialog above a screen
        title = screen.query("#dialog-title")
        heading = _text(title.first()) if title else ""
        lines.append(_("Dialog: {title}").format(title=heading))
    for status in screen.query(StatusLine):
        if _shown(status) and _text(status):
            lines.append(_("Status: {text}").format(text=_text(status)))
    focused = app.focused
    if focused is not None:
        lines.append(_("You are here: {what}").format(what=describe(focused)))
    else:
        lines.append(_("You are on nothing that takes keys: press Tab."))
    lines.extend(_body(screen))
    keys = _keys(app)
    if keys:
        lines.append(_("Keys: {keys}").format(keys=keys))
    return lines
