"""Screen 4 — Access trace: who opened the record, when, what they did, in which mode
(normal, break-glass, regulation) and whether it was allowed or denied.

Newest first, one page of 50 at a time: the next page loads when the cursor nears the end, so a
long trace is never loaded at once. Emergency accesses say so in words ("EMERGENCY — …"), not
by colour only. Filters: practitioner (name or RPPS), mode, and a period of days."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any, ClassVar, cast

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select, Static

from dmptui import loading
from dmptui.i18n import N_, _, format_datetime, format_number, ngettext
from dmptui.identifiers import IdentifierError, parse_rpps
from dmptui.words import (
    ACTOR_PROBLEM,
    DAYS_REVERSED,
    EMERGENCY_CYCLE,
    EMERGENCY_MODES,
    FROM,
    MODE_CHOICES,
    NOTHING_SENT,
    UNTIL,
    TraceFilter,
    day_problem,
    detail_words,
    mode_line,
    outcome_words,
    parse_day,
    trace_lines,
    what_words,
    who_words,
)
from screens.base import Calls, RecordScreen, catalogue_bindings
from screens.widgets.paged_list import Column, PagedList
from screens.widgets.text import LINE_LIMIT, clip, plain
from screens.widgets.trace_seal import TraceSeal

PAGE = 50
NEAR_END = 5  # rows before the end at which the next page is fetched


class FilterBar(Vertical):
    """The inline filter bar; Esc closes it without leaving the screen."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", N_("Close the filter"), show=True)
    ]

    def action_close(self) -> None:
        cast("TraceScreen", self.screen).close_filters()


# Widths (cells), one line a row; the details take the width left over. The detail panel under
# the list shows the current entry whole. On a narrow terminal the columns go by priority
# (``PagedList``): when, who, what and the outcome stay at 80 columns; then the mode, then the
# details (the panel always says both). Without the mode column, an emergency mode is written at
# the start of the "what" cell ("EMERGENCY — break-glass — listed your documents").
COLUMNS = (
    ("when", N_("When (Paris time)"), 27, False, 1, 27),  # "16 septembre 2026 à 18 h 25"
    ("who", N_("Who"), 20, False, 2, 14),
    ("what", N_("What"), 21, False, 3, 16),
    ("mode", N_("Mode"), 23, False, 5, 12),  # "EMERGENCY — break-glass" whole
    ("outcome", N_("Outcome"), 8, False, 4, 8),
    ("details", N_("Details"), 16, True, 6, 10),
)
KEEP_PAGES = 6  # pages of entries kept in memory around the view; the others are fetched again


class TraceScreen(RecordScreen):
    SCREEN_KEY = "trace"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("trace")

    def __init__(self) -> None:
        super().__init__()
        self.filter = TraceFilter()

    def compose_body(self) -> ComposeResult:
        with FilterBar(id="trace-filterbar"):
            with Horizontal(classes="toolbar"):
                yield Label(_("Practitioner (name or RPPS)"))
                yield Input(id="trace-actor", max_length=200)
                yield Label(_("Mode"))
                yield Select(
                    [(_(label), key) for key, label in MODE_CHOICES.items()],
                    value="all",
                    allow_blank=False,
                    id="trace-mode",
                )
            with Horizontal(classes="toolbar"):
                yield Label(_("From (YYYY-MM-DD)"))
                yield Input(id="trace-since", max_length=10, restrict=r"[0-9-]*")
                yield Label(_("Until (YYYY-MM-DD)"))
                yield Input(id="trace-until", max_length=10, restrict=r"[0-9-]*")
                yield Button(_("Apply"), id="trace-apply", variant="primary")
                yield Button(_("Show everything"), id="trace-clear")
        yield TraceSeal()
        yield PagedList(
            [
                Column(k, _(label), w, flex, rank, least, "what" if k == "mode" else "")
                for k, label, w, flex, rank, least in COLUMNS
            ],
            self._cells,
            lambda e: str(e.seq),
            page_size=PAGE,
            keep=KEEP_PAGES,
            near_end=NEAR_END,
            id="trace-table",
        )
        yield Static(id="trace-detail", classes="detail")

    def on_mount(self) -> None:
        self.query_one("#trace-filterbar").display = False
        self.table.focus()

    @property
    def table(self) -> PagedList:
        return self.query_one("#trace-table", PagedList)

    @property
    def entries(self) -> dict[str, Any]:
        """The entries in memory (a window of pages around the view), by sequence number."""
        return {str(e.seq): e for e in self.table.items()}

    @property
    def next_cursor(self) -> str | None:
        return self.table.next_cursor

    # --- loading ------------------------------------------------------------------------------

    def reload(self) -> None:
        self.query_one("#trace-detail", Static).update("")
        self.table.reset()  # asks for the first page: on_paged_list_wanted

    def on_paged_list_wanted(self, event: PagedList.Wanted) -> None:
        event.stop()
        page, cursor, generation = event.page, event.cursor, event.generation
        query = self.filter.query()

        async def fetch() -> Any:
            return await self.client.trace(limit=PAGE, cursor=cursor, **query)

        def done(result: Any) -> None:
            self._show_page(page, generation, result)

        waiting = _(loading.LOADING_TRACE if page == 0 else loading.LOADING_OLDER_TRACE)
        self.call(waiting, fetch, done)

    def _show_page(self, page_number: int, generation: int, page: Any) -> None:
        table = self.table
        if generation != table.generation:
            return  # the filter changed meanwhile: this page belongs to an older list
        table.put_page(page_number, generation, page.items, page.next_cursor)
        self.query_one(TraceSeal).check(page.items, complete=not self.filter.active)
        n = table.row_count
        if n == 0:
            text = (
                _("No entry matches this filter.")
                if self.filter.active
                else _("The access trace is empty.")
            )
        elif self.next_cursor:
            text = ngettext(
                "Access trace: {n} entry loaded, newest first; more load as you scroll.",
                "Access trace: {n} entries loaded, newest first; more load as you scroll.",
                n,
            ).format(n=format_number(n))
        else:
            text = ngettext(
                "Access trace: {n} entry shown, newest first; there are no more.",
                "Access trace: {n} entries shown, newest first; there are no more.",
                n,
            ).format(n=format_number(n))
        if self.filter.active:
            text = f"{self.filter.words()} {text}"
        self.say("info", text)

    def _cells(self, e: Any) -> list[tuple[str, str]]:
        emergency = e.mode in EMERGENCY_MODES
        denied = e.outcome != "allowed"
        return [
            (format_datetime(e.at), ""),
            (who_words(e), ""),
            (what_words(e.action), ""),
            (mode_line(e.mode), "bold reverse" if emergency else ""),
            (outcome_words(e), "bold" if denied else ""),
            (detail_words(e), ""),
        ]

    def on_paged_list_highlighted(self, event: PagedList.Highlighted) -> None:
        self._show_detail(event.row)

    def on_calls_call_failed(self, _message: Calls.CallFailed) -> None:
        # The base class explains the failure (and retries after a login or a code); a page
        # that did not come must not stop the next ones from loading.
        self.table.failed()

    def _show_detail(self, row: int) -> None:
        found = self.table.row_at(row)
        if found is None:
            return
        lines = [clip(line, LINE_LIMIT) for line in trace_lines(found.item)]
        self.query_one("#trace-detail", Static).update(plain("\n".join(lines)))

    # --- filters ------------------------------------------------------------------------------

    def action_act_filter(self) -> None:
        self.query_one("#trace-filterbar").display = True
        self.query_one("#trace-actor", Input).focus()
        self.say(
            "info",
            _(
                "Type a practitioner, choose a mode or days, then press Enter. "
                "Esc closes the filter."
            ),
        )

    def close_filters(self) -> None:
        self.query_one("#trace-filterbar").display = False
        self.table.focus()
        self.say("info", self.filter.words())

    def action_act_emergency_only(self) -> None:
        current = self.filter.mode if self.filter.mode in EMERGENCY_CYCLE else "all"
        mode = EMERGENCY_CYCLE[(EMERGENCY_CYCLE.index(current) + 1) % len(EMERGENCY_CYCLE)]
        self._apply(replace(self.filter, mode=mode))

    def _apply(self, new: TraceFilter) -> None:
        self.filter = new
        select = self.query_one("#trace-mode", Select)
        if select.value != new.mode:
            select.value = new.mode
        self.reload()

    def _read_bar(self) -> TraceFilter | None:
        """The filter typed in the bar, or None after saying which field is wrong."""
        actor = self.query_one("#trace-actor", Input).value.strip()
        if actor and actor.replace(" ", "").isdigit():
            try:
                actor = parse_rpps(actor, "actor")
            except IdentifierError:
                self._wrong("#trace-actor", _(ACTOR_PROBLEM))
                return None
        days: list[date | None] = []
        for field, name in (("#trace-since", _(FROM)), ("#trace-until", _(UNTIL))):
            try:
                days.append(parse_day(self.query_one(field, Input).value))
            except ValueError:
                self._wrong(field, day_problem(name))
                return None
        since, until = days
        if since and until and until < since:
            self._wrong("#trace-until", _(DAYS_REVERSED))
            return None
        mode = self.query_one("#trace-mode", Select).value
        return TraceFilter(actor=actor, mode=str(mode), since=since, until=until)

    def _wrong(self, field: str, text: str) -> None:
        self.say("error", text + " " + _(NOTHING_SENT))
        self.query_one(field, Input).focus()

    def _apply_bar(self) -> None:
        new = self._read_bar()
        if new is None:
            return
        self.table.focus()
        self._apply(new)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self._apply_bar()

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        if event.value != self.filter.mode and self.query_one("#trace-filterbar").display:
            self._apply_bar()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "trace-apply":
            self._apply_bar()
        elif event.button.id == "trace-clear":
            for field in ("#trace-actor", "#trace-since", "#trace-until"):
                self.query_one(field, Input).value = ""
            self.table.focus()
            self._apply(TraceFilter())
