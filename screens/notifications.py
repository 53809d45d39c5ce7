"""Screen 8 — Notifications: what the host told the patient (new documents, emergency accesses,
new authorisations, logins from a new device, documents awaiting a consultation).

Emergency accesses come first and say so in words ("EMERGENCY ACCESS"); each row says whether it
is read or unread in words. 'r' marks every notification as read."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.coordinate import Coordinate
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey

from dmptui import loading, words
from dmptui.actions import Outcome, personal
from dmptui.i18n import _, format_datetime, pick
from screens.base import Calls, RecordScreen, catalogue_bindings
from screens.widgets.text import MESSAGE_LIMIT, plain

PAGE = 100
NEAR_END = 5


class NotificationsScreen(RecordScreen):
    SCREEN_KEY = "notifications"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("notifications")

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[str, Any] = {}
        self.next_cursor: str | None = None
        self.loading = False
        self.generation = 0

    def compose_body(self) -> ComposeResult:
        yield DataTable(id="notifications-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        when, about, message = self._widths()
        table.add_column(_("When (Paris time)"), key="when", width=when)
        table.add_column(_("Status"), key="status", width=8)
        table.add_column(_("About"), key="about", width=about)
        table.add_column(_("Message"), key="message", width=message)
        table.focus()

    def _widths(self) -> tuple[int, int, int]:
        """Widths of the when, about and message columns for the terminal's width: the message
        takes what is left (its lines wrap inside its cell), never cut at the right edge. On a
        narrow terminal the date and the subject wrap on two lines to leave it room."""
        width = self.app.size.width - 4  # the list's border and scroll bar
        when, about = (27, 18) if width >= 96 else (17, 12)
        cells = when + 8 + about + 2 * 4  # each cell has one space each side
        return when, about, max(width - cells, 24)

    def on_resize(self) -> None:
        """The terminal changed size: the columns are sized again, the rows wrapped again."""
        table = self.query_one(DataTable)
        widths = dict(zip(("when", "about", "message"), self._widths(), strict=True))
        changed = False
        for key, width in widths.items():
            column = table.columns[ColumnKey(key)]
            if column.width != width:
                column.width, changed = width, True
        if changed and table.row_count:
            self._fill()

    # --- loading ------------------------------------------------------------------------------

    def reload(self, after: str | None = None) -> None:
        """Load the first page again; ``after`` is said once it is shown (a "done" line)."""
        self.generation += 1
        self.items.clear()
        self.next_cursor = None
        self._fetch(None, after)

    def _fetch(self, cursor: str | None, after: str | None = None) -> None:
        generation = self.generation
        self.loading = True

        async def page() -> Any:
            return await self.client.notifications(limit=PAGE, cursor=cursor)

        def done(result: Any) -> None:
            self._show_page(generation, result, after)

        self.call(_(loading.LOADING_NOTIFICATIONS), page, done)

    def _show_page(self, generation: int, page: Any, after: str | None) -> None:
        if generation != self.generation:
            return
        self.loading = False
        for n in page.items:
            self.items[str(n.id)] = n
        self.next_cursor = page.next_cursor
        self._fill()
        if after:
            self.say("done", after)
            return
        total = len(self.items)
        unread = sum(1 for n in self.items.values() if not n.read)
        emergencies = sum(1 for n in self.items.values() if n.emergency)
        if not total:
            self.say("info", _("You have no notifications."))
            return
        text = words.notifications_summary(total, unread, emergencies)
        if self.next_cursor:
            text += " " + _("Older ones load as you scroll.")
        self.say("info", text)

    def _fill(self) -> None:
        """Show every loaded notification in order, keeping the cursor on the same one."""
        table = self.query_one(DataTable)
        current = None
        if table.row_count:
            current = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0)).row_key.value
        table.clear()
        for n in sorted(self.items.values(), key=words.notification_order):
            table.add_row(*self._cells(n), key=str(n.id), height=None)
        if current in self.items:
            table.move_cursor(row=table.get_row_index(current), animate=False)

    def _cells(self, n: Any) -> list[Text]:
        status = plain(_(words.READ)) if n.read else plain(_(words.UNREAD), "bold")
        if n.emergency:
            about = plain(_(words.EMERGENCY_ACCESS), "bold reverse")
        elif n.kind in words.NOTIFICATION_KINDS:
            about = plain(_(words.NOTIFICATION_KINDS[n.kind]))
        else:
            about = plain(n.kind)
        return [
            plain(format_datetime(n.at)),
            status,
            about,
            plain(pick(n.message), limit=MESSAGE_LIMIT),
        ]

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        table = event.data_table
        if self.next_cursor and not self.loading and event.cursor_row >= table.row_count - NEAR_END:
            self._fetch(self.next_cursor)

    def on_calls_call_failed(self, _message: Calls.CallFailed) -> None:
        # The base class explains the failure (and retries after a login or a code); a page
        # that did not come must not stop the next ones from loading.
        self.loading = False

    # --- actions ------------------------------------------------------------------------------

    def action_act_read_all(self) -> None:
        shown = list(self.items.values())
        plan = personal.read_all(self.record_state, shown, complete=not self.next_cursor)
        self.perform(plan, self._all_read)

    def _all_read(self, _outcome: Outcome) -> None:
        """Every notification is read now: the rows loaded say so (the next pages will)."""
        for key, n in self.items.items():
            self.items[key] = n.model_copy(update={"read": True})
        self._fill()
