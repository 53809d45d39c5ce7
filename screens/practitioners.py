"""Screen 3 — Practitioners: who may open the record (the médecin traitant, the practitioners the
patient authorised) and who never may (those the patient blocked); a search of the directory by
name or RPPS; give and remove access, block and unblock, designate the médecin traitant.

One table, in one of two modes, always named in words above it: "your practitioners" or "the
directory results for …". Every change returns the new list from the host, shown at once."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal
from textual.widgets import DataTable, Input, Label, Static
from textual.widgets.data_table import CellDoesNotExist

from dmptui import catalogue, loading
from dmptui.actions import Plan
from dmptui.actions import practitioners as actions
from dmptui.i18n import _, format_number, ngettext
from dmptui.state import PRACTITIONERS, RecordState
from dmptui.words import Links, Person, profession_words
from screens.base import RecordScreen, catalogue_bindings
from screens.keys import key_in_use
from screens.widgets.text import CELL_LIMIT, clip, plain

MINE = "mine"
DIRECTORY = "directory"
DIRECTORY_LIMIT = 20


class PractitionersScreen(RecordScreen):
    SCREEN_KEY = "practitioners"
    REFRESH_ON_SHOW = True
    AUTO_FOCUS = "#practitioners-table"
    BINDINGS: ClassVar[list[BindingType]] = [
        *catalogue_bindings("practitioners"),
        Binding("escape", "leave", catalogue.ACTION_BY_ID["app.back"].label, show=False),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.mode = MINE
        self.query_text = ""
        self.found: list[Person] = []  # the last directory results
        self.rows: dict[str, Person] = {}  # what the table shows, by RPPS

    # --- layout ---------------------------------------------------------------------------

    def compose_body(self) -> ComposeResult:
        with Horizontal(classes="toolbar", id="practitioners-toolbar"):
            yield Label(_("Search the directory (name or RPPS):"), id="search-label")
            yield Input(
                id="practitioners-search",
                max_length=100,
                placeholder=_("e.g. Martin, or 11 digits"),
            )
        yield Static(id="list-heading")
        table: DataTable[Any] = DataTable(
            id="practitioners-table", cursor_type="row", zebra_stripes=True
        )
        yield table
        yield Static(id="practitioner-detail", classes="detail")

    def on_mount(self) -> None:
        table = self.query_one("#practitioners-table", DataTable)
        for label, key in (
            (_("Name"), "name"),
            (_("Profession"), "profession"),
            (_("Status"), "status"),
            (_("RPPS"), "rpps"),
            (_("Facility"), "facility"),
        ):
            table.add_column(label, key=key)
        # RecordScreen.on_mount runs next (Textual calls each class's handler): it loads the list.

    # --- loading and showing --------------------------------------------------------------

    @property
    def links(self) -> Links:
        return self.record_state.links

    def reload(self) -> None:
        state, client = self.record_state, self.client
        self.call(
            _(loading.LOADING_PRACTITIONERS),
            lambda: state.refresh(client, frozenset({PRACTITIONERS})),
            lambda _none: self._loaded(),
        )

    def _loaded(self) -> None:
        self.show_record()  # the list redraws on every change; here at once, in the mode on view
        self.say("done", _(loading.PRACTITIONERS_UP_TO_DATE))

    def show_record(self) -> None:
        """The list as the record state holds it now, in the mode on view."""
        if self.mode == MINE:
            self._show_mine()
        else:
            self._show_directory()

    def _key(self, binding_id: str) -> str:
        """The key in use for a binding (the config file's [keymap] may move it)."""
        return key_in_use(binding_id, self.app.config.keymap)

    def _show_mine(self) -> None:
        self.mode = MINE
        self._fill(self.links.people())
        heading = _(
            "Your practitioners: your médecin traitant, the practitioners you authorised "
            "and those you blocked ({n}). Press {key} to search the directory."
        ).format(n=len(self.links.people()), key=self._key("practitioners.search"))
        self.query_one("#list-heading", Static).update(plain(heading))

    def _show_directory(self) -> None:
        self.mode = DIRECTORY
        self._fill(self.found)
        heading = ngettext(
            "Directory results for “{q}”: {n} practitioner. This is the directory, "
            "not your list: press {key} to go back to your practitioners.",
            "Directory results for “{q}”: {n} practitioners. This is the directory, "
            "not your list: press {key} to go back to your practitioners.",
            len(self.found),
        ).format(q=self.query_text, n=format_number(len(self.found)), key=self._key("app.back"))
        self.query_one("#list-heading", Static).update(plain(heading))

    def _fill(self, rows: list[Person]) -> None:
        table = self.query_one("#practitioners-table", DataTable)
        keep = self._selected_rpps()
        index = table.cursor_row
        table.clear()
        self.rows = {row.rpps: row for row in rows}
        for row in rows:
            table.add_row(
                plain(row.name),
                plain(profession_words(row.profession)),
                plain(self.links.status(row.rpps, row.may_access)),
                plain(row.rpps),
                plain(row.facility),
                key=row.rpps,
            )
        if rows:
            if keep in self.rows:
                table.move_cursor(row=table.get_row_index(keep))
            else:
                table.move_cursor(row=min(max(index, 0), len(rows) - 1))
        self._describe()

    def _selected_rpps(self) -> str | None:
        table = self.query_one("#practitioners-table", DataTable)
        if table.row_count == 0:
            return None
        try:
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key
        except CellDoesNotExist:  # no row under the cursor
            return None
        return key.value

    def selected(self) -> Person | None:
        rpps = self._selected_rpps()
        return self.rows.get(rpps) if rpps else None

    def _describe(self) -> None:
        """The selected practitioner in one sentence, under the table."""
        row = self.selected()
        detail = self.query_one("#practitioner-detail", Static)
        if row is None:
            detail.update(
                plain(
                    _("No practitioner in this list.")
                    if self.mode == MINE
                    else _("No practitioner found. Try part of a name, or an RPPS.")
                )
            )
            return
        detail.update(
            plain(
                _("{name} — {profession} — {facility} — RPPS {rpps} — {status}").format(
                    name=clip(row.name, CELL_LIMIT),
                    profession=profession_words(row.profession),
                    facility=clip(row.facility, CELL_LIMIT),
                    rpps=row.rpps,
                    status=self.links.status(row.rpps, row.may_access),
                )
            )
        )

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self._describe()

    # --- search -----------------------------------------------------------------------------

    def action_act_search(self) -> None:
        self.query_one("#practitioners-search", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "practitioners-search":
            return
        text, problem = actions.search_query(event.value)
        if problem:
            self.say("error", problem)
            return
        if not text:
            self._show_mine()
            self.query_one("#practitioners-table", DataTable).focus()
            self.say("info", _(actions.SHOWING_MINE))
            return
        self.call(
            actions.searching(text),
            lambda: self.client.directory(text, limit=DIRECTORY_LIMIT),
            lambda page: self._found(text, page),
        )

    def _found(self, q: str, page: Any) -> None:
        self.query_text = q
        self.found = [
            Person(e.rpps, e.name, e.profession, e.facility, e.may_access) for e in page.items
        ]
        self._show_directory()
        self.query_one("#practitioners-table", DataTable).focus()
        more = bool(page.next_cursor) or len(self.found) >= DIRECTORY_LIMIT
        self.say(*actions.found(q, len(self.found), more))

    def action_leave(self) -> None:
        """Esc: from the directory results back to your list; from your list, back home."""
        if self.mode == DIRECTORY:
            self.query_one("#practitioners-search", Input).value = ""
            self._show_mine()
            self.query_one("#practitioners-table", DataTable).focus()
            self.say("info", _(actions.SHOWING_MINE))
            return
        self.app.go_back()

    # --- actions ----------------------------------------------------------------------------

    def _need_selection(self) -> Person | None:
        row = self.selected()
        if row is None:
            self.say(
                "warning",
                _(
                    "Select a practitioner in the list first, or press {key} to search the "
                    "directory."
                ).format(key=self._key("practitioners.search")),
            )
        return row

    def _act(self, make: Callable[[RecordState, Person], Plan]) -> None:
        row = self._need_selection()
        if row is not None:
            self.perform(make(self.record_state, row))

    def action_act_grant(self) -> None:
        self._act(actions.grant)

    def action_act_revoke(self) -> None:
        self._act(actions.revoke)

    def action_act_block(self) -> None:
        self._act(actions.block)

    def action_act_unblock(self) -> None:
        self._act(actions.unblock)

    def action_act_attending(self) -> None:
        self._act(actions.attending)
