"""Screen 3 — Practitioners: who may open the record (the médecin traitant, the practitioners the
patient authorised) and who never may (those the patient blocked); a search of the directory by
name or RPPS; give and remove access, block and unblock, designate the médecin traitant.

One table, in one of two modes, always named in words above it: "your practitioners" or "the
directory results for …". Every change returns the new list from the host, shown at once."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, DataTable, Input, Label, Static
from textual.widgets.data_table import CellDoesNotExist

from dmptui import catalogue
from dmptui.explain import BY_REASON, explain
from dmptui.i18n import N_, Name, _, format_number, ngettext
from dmptui.identifiers import IdentifierError, parse_rpps
from dmptui.words import Links, Person, profession_words
from screens.base import RecordScreen
from screens.confirm import ConfirmScreen
from screens.widgets.text import CELL_LIMIT, clip, plain

MINE = "mine"
DIRECTORY = "directory"
DIRECTORY_LIMIT = 20


class GrantScreen(ModalScreen[str | None]):
    """Give access: ordinary access (the default), or the same rights as the médecin traitant."""

    AUTO_FOCUS = "#grant-normal"

    def __init__(self, name: str) -> None:
        super().__init__()
        self.who = name

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(
                plain(_("Give {name} access to your record?").format(name=self.who)),
                id="dialog-title",
            )
            yield Static(
                plain(
                    _(
                        "{name} will be able to read your documents and add new ones. "
                        "You can remove this access at any time.\n\n"
                        "You can also give the same rights as your médecin traitant: then "
                        "{name} also sees the documents you hid from practitioners. "
                        "If unsure, choose ordinary access."
                    ).format(name=self.who)
                ),
                id="consequence",
            )
            with Vertical(id="grant-buttons"):
                yield Button(_("Ordinary access"), id="grant-normal", variant="primary")
                yield Button(
                    _("Same rights as my médecin traitant (sees hidden documents)"),
                    id="grant-see-masked",
                    variant="warning",
                )
                yield Button(_("Cancel"), id="cancel")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        choice = {"grant-normal": "normal", "grant-see-masked": "see_masked"}
        self.dismiss(choice.get(event.button.id or ""))

    def key_escape(self, event: events.Key) -> None:
        event.stop()  # once the dialog is gone, this Esc must not also mean "Back" below
        self.dismiss(None)


class PractitionersScreen(RecordScreen):
    SCREEN_KEY = "practitioners"
    AUTO_FOCUS = "#practitioners-table"
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "leave", N_("Back"), show=False)]

    def __init__(self) -> None:
        super().__init__()
        self.links = Links()
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

    def reload(self) -> None:
        self.call(
            _("Loading your practitioners…"), lambda: self.client.practitioners(), self._loaded
        )

    def _loaded(self, answer: Any) -> None:
        self.links = Links(answer)
        self._show_mine()
        self.say("done", _("Your practitioners are up to date."))

    def _show_mine(self) -> None:
        self.mode = MINE
        self._fill(self.links.people())
        heading = _(
            "Your practitioners: your médecin traitant, the practitioners you authorised "
            "and those you blocked ({n}). Press / to search the directory."
        ).format(n=len(self.links.people()))
        self.query_one("#list-heading", Static).update(plain(heading))

    def _show_directory(self) -> None:
        self.mode = DIRECTORY
        self._fill(self.found)
        heading = ngettext(
            "Directory results for “{q}”: {n} practitioner. This is the directory, "
            "not your list: press Esc to go back to your practitioners.",
            "Directory results for “{q}”: {n} practitioners. This is the directory, "
            "not your list: press Esc to go back to your practitioners.",
            len(self.found),
        ).format(q=self.query_text, n=format_number(len(self.found)))
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

    def _changed(self, answer: Any) -> None:
        """A change went through: the host's answer is the new list; show it."""
        self.links = Links(answer)
        if self.mode == MINE:
            self._show_mine()
        else:
            self._show_directory()

    def on_calls_call_failed(self, message: Any) -> None:
        # RecordScreen's handler runs after this one and explains the failure. A practitioner
        # that is no longer where the list showed them: refresh, then say it again.
        if type(message.error).__name__ != "NotFound":
            return
        words = explain(message.error)

        def refreshed(answer: Any) -> None:
            self._changed(answer)
            self.say("error", words)

        self.call(_("Loading your practitioners…"), lambda: self.client.practitioners(), refreshed)

    # --- search -----------------------------------------------------------------------------

    def action_act_search(self) -> None:
        self.query_one("#practitioners-search", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        if event.input.id != "practitioners-search":
            return
        text = " ".join(event.value.split())
        compact = text.replace(" ", "")
        if not text:
            self._show_mine()
            self.query_one("#practitioners-table", DataTable).focus()
            self.say("info", _("Showing your practitioners."))
            return
        if compact.isdigit() and (
            len(compact) == 11 or (len(compact) == 12 and compact.startswith("8"))
        ):
            try:
                text = parse_rpps(compact)
            except IdentifierError as error:
                self.say("error", self._rpps_problem(error))
                return
        elif compact.isdigit():
            text = compact  # the start of an RPPS
        if len(text) < 2:
            self.say(
                "error",
                _(
                    "Search: type at least 2 letters of a name, or the first "
                    "digits of an RPPS. Nothing was searched."
                ),
            )
            return
        self.call(
            _("Searching the directory for “{q}”…").format(q=text),
            lambda: self.client.directory(text, limit=DIRECTORY_LIMIT),
            lambda page: self._found(text, page),
        )

    def _rpps_problem(self, error: IdentifierError) -> str:
        if error.code == "rpps_key":
            return _(
                "RPPS: the last digit (check digit) does not match the other 10. Check the "
                "11 digits and search again. Nothing was searched."
            )
        return _("RPPS: an RPPS has 11 digits. Check it and search again. Nothing was searched.")

    def _found(self, q: str, page: Any) -> None:
        self.query_text = q
        self.found = [
            Person(e.rpps, e.name, e.profession, e.facility, e.may_access) for e in page.items
        ]
        self._show_directory()
        self.query_one("#practitioners-table", DataTable).focus()
        if self.found:
            words = ngettext(
                "{n} practitioner found in the directory for “{q}”.",
                "{n} practitioners found in the directory for “{q}”.",
                len(self.found),
            ).format(n=format_number(len(self.found)), q=q)
            if page.next_cursor or len(self.found) >= DIRECTORY_LIMIT:
                words += " " + _(
                    "Only the first {n} are shown: type more of the name to narrow the search."
                ).format(n=len(self.found))
            self.say("done", words)
        else:
            self.say("info", _("No practitioner in the directory matches “{q}”.").format(q=q))

    def action_leave(self) -> None:
        """Esc: from the directory results back to your list; from your list, back home."""
        if self.mode == DIRECTORY:
            self.query_one("#practitioners-search", Input).value = ""
            self._show_mine()
            self.query_one("#practitioners-table", DataTable).focus()
            self.say("info", _("Showing your practitioners."))
            return
        self.app.action_back()  # type: ignore[attr-defined]

    # --- actions ----------------------------------------------------------------------------

    def _need_selection(self) -> Person | None:
        row = self.selected()
        if row is None:
            self.say(
                "warning",
                _("Select a practitioner in the list first, or press / to search the directory."),
            )
        return row

    def action_act_grant(self) -> None:
        row = self._need_selection()
        if row is None:
            return

        def chosen(choice: str | None) -> None:
            if choice is None:
                self.say("info", _("Nothing was changed."))
                return
            self._grant(row, choice == "see_masked")

        if not row.may_access:
            self._grant(row, False)  # the host refuses, and says why
            return
        self.app.push_screen(GrantScreen(row.name), chosen)

    def _grant(self, row: Person, see_masked: bool) -> None:
        had = row.rpps in self.links.authorised

        def done(answer: Any) -> None:
            self._changed(answer)
            if had and see_masked:
                text = _(
                    "{name} keeps access to your record and now also sees your hidden documents."
                )
            elif had:
                text = _("{name} keeps access to your record, without your hidden documents.")
            elif see_masked:
                text = _("{name} can now access your record, hidden documents included.")
            else:
                text = _("{name} can now access your record.")
            self.say("done", text.format(name=row.name))

        self.call(
            _("Giving {name} access…").format(name=row.name),
            lambda: self.client.authorise(row.rpps, see_masked=see_masked),
            done,
        )

    def action_act_revoke(self) -> None:
        row = self._need_selection()
        if row is None:
            return
        if row.rpps not in self.links.authorised:
            self.say(
                "warning",
                _("{name} has no authorisation from you: there is nothing to remove.").format(
                    name=Name(row.name)
                ),
            )
            return

        def done(answer: Any) -> None:
            self._changed(answer)
            if self.links.is_attending(row.rpps):
                text = _(
                    "{name}'s authorisation was removed; as your médecin traitant, they "
                    "can still access your record."
                )
            else:
                text = _("{name} can no longer access your record.")
            self.say("done", text.format(name=Name(row.name)))

        self.call(
            _("Removing {name}'s access…").format(name=Name(row.name)),
            lambda: self.client.revoke(row.rpps),
            done,
        )

    def action_act_block(self) -> None:
        row = self._need_selection()
        if row is None:
            return
        if self.links.is_attending(row.rpps):
            # The host refuses it too (attending_cannot_be_blocked); no use asking to confirm.
            self.say("error", _(BY_REASON["attending_cannot_be_blocked"]))
            return
        if row.rpps in self.links.blocked:
            self.say("info", _("{name} is already blocked.").format(name=Name(row.name)))
            return
        consequence = catalogue.ACTION_BY_ID["practitioners.block"].confirm
        assert consequence is not None

        def confirmed(ok: bool | None) -> None:
            if not ok:
                self.say("info", _("Nothing was changed."))
                return
            self.call(
                _("Blocking {name}…").format(name=Name(row.name)),
                lambda: self.client.block(row.rpps),
                done,
            )

        def done(answer: Any) -> None:
            self._changed(answer)
            self.say(
                "done",
                _(
                    "{name} is blocked: they cannot open your record in any mode, "
                    "emergencies included."
                ).format(name=Name(row.name)),
            )

        self.app.push_screen(
            ConfirmScreen(
                _("Block {name}?").format(name=Name(row.name)),
                _(consequence),
                _("Block {name}").format(name=Name(row.name)),
            ),
            confirmed,
        )

    def action_act_unblock(self) -> None:
        row = self._need_selection()
        if row is None:
            return
        if row.rpps not in self.links.blocked:
            self.say("warning", _("{name} is not blocked.").format(name=Name(row.name)))
            return

        def done(answer: Any) -> None:
            self._changed(answer)
            self.say(
                "done",
                _(
                    "{name} is no longer blocked. They need your authorisation to "
                    "access your record, except in an emergency."
                ).format(name=Name(row.name)),
            )

        self.call(
            _("Unblocking {name}…").format(name=Name(row.name)),
            lambda: self.client.unblock(row.rpps),
            done,
        )

    def action_act_attending(self) -> None:
        row = self._need_selection()
        if row is None:
            return
        if self.links.is_attending(row.rpps):
            self.say(
                "info", _("{name} is already your médecin traitant.").format(name=Name(row.name))
            )
            return
        previous = self.links.attending

        def done(answer: Any) -> None:
            self._changed(answer)
            text = _(
                "{name} is now your médecin traitant: they see all your documents, hidden "
                "ones included."
            ).format(name=Name(row.name))
            if previous is not None:
                text += " " + _("{previous} is no longer your médecin traitant.").format(
                    previous=previous.name
                )
            self.say("done", text)

        self.call(
            _("Designating {name} as your médecin traitant…").format(name=Name(row.name)),
            lambda: self.client.designate_attending(row.rpps),
            done,
        )
