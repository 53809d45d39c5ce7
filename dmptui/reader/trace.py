"""Screen 4 of screen-reader mode: the access trace (its pages, its seal, its filters)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dmptui import loading
from dmptui import words as w
from dmptui.actions.base import nothing_changed
from dmptui.i18n import _, format_number, paris_date
from dmptui.identifiers import IdentifierError, parse_rpps, spoken_rpps
from dmptui.reader.menus import (
    HANDLERS,
    Entry,
    Pager,
    attempt,
    choose_from,
    handles,
    show_menu,
)

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 4: access trace ------------------------------------------------------------------


@dataclass
class Trace:
    pager: Pager
    filter: w.TraceFilter = field(default_factory=w.TraceFilter)


async def trace(r: Reader) -> None:
    r.enter("trace")

    async def fetch(cursor: str | None, limit: int) -> Any:
        return await r.client.trace(limit=limit, cursor=cursor, **st.filter.query())

    st = Trace(Pager(r, fetch, _(loading.LOADING_OLDER_TRACE)))
    await load_trace(r, st)
    show_trace(r, st)
    await seal_trace(r, st)
    while True:
        answer = await r.ask_choice()
        if answer == "":
            show_trace(r, st)
        elif answer in ("n", "p"):
            if await st.pager.turn(answer):
                show_trace(r, st)
        elif answer.isdigit():
            index = await st.pager.index(answer)
            if index is not None:
                for line in w.trace_lines(st.pager.items[index], when=r.when, rpps=spoken_rpps):
                    r.say("item", line)
        elif answer == "f":
            await attempt(HANDLERS["trace.filter"](r, st))
        elif answer == "e":
            await attempt(HANDLERS["trace.emergency_only"](r, st))
        else:
            r.wrong_choice(
                answer, _("Type an entry's number, n, p, f (filter) or e (emergencies only).")
            )


async def load_trace(r: Reader, st: Trace) -> None:
    await st.pager.load(_(loading.LOADING_TRACE))
    if not st.pager.items:  # otherwise the page's heading says how many, and if older follow
        r.say(
            "done",
            _("no entry matches this filter.")
            if st.filter.active
            else _("the access trace is empty."),
        )


async def seal_trace(r: Reader, st: Trace) -> None:
    """The same line as the trace screen's seal (``dmptui.trace_check``): verified up to entry
    N, or why the host's trace can't be trusted, for the entries loaded."""
    from dmptui.trace_check import CheckpointStore, TraceChecker

    checker = getattr(r, "trace_checker", None)
    if checker is None:
        store = CheckpointStore.in_dir(getattr(r.config, "data_dir", None))
        checker = r.trace_checker = TraceChecker(r.client, store)  # type: ignore[attr-defined]  # made on first use
    seal = await checker.check(st.pager.items, complete=not st.filter.active)
    r.say("error" if seal.failed else "info", seal.words(when=r.when))


def show_trace(r: Reader, st: Trace) -> None:
    if st.filter.active:  # every entry, the default, is not said
        r.say("info", st.filter.words(rpps=spoken_rpps))
    pager = st.pager
    if not pager.items:
        r.say("info", _("f: filter, e: emergency accesses only."))
        return
    first, last = pager.span()
    if pager.complete:
        head = _("Entries {first} to {last} of {total}, newest first.").format(
            first=first, last=last, total=format_number(len(pager.items))
        )
    else:
        head = _("Entries {first} to {last}, newest first; older ones after these.").format(
            first=first, last=last
        )
    r.say("info", head + " " + _("n: next, p: previous, a number: details."))
    r.say("info", _("Paris time; normal mode and allowed, unless said."))
    r.zone_said = True
    day = None
    for i in pager.shown():
        e = pager.items[i]
        r.say("item", w.spoken_trace_sentence(i + 1, e, same_day=paris_date(e.at) == day))
        day = paris_date(e.at)
    r.say("info", _("Also: f: filter, e: emergency accesses only."))


@handles("trace.filter")
async def filter_trace(r: Reader, st: Trace) -> None:
    actor = ""
    while True:
        actor = (await r.ask(_("Practitioner, by name or RPPS (Enter alone: everyone):"))).strip()
        if actor and actor.replace(" ", "").isdigit():
            try:
                actor = parse_rpps(actor, "actor")
            except IdentifierError:
                r.say("error", _(w.ACTOR_PROBLEM) + " " + _(w.NOTHING_SENT))
                continue
        break
    modes = list(w.MODE_CHOICES)
    entries = [Entry(str(i + 1), _(w.MODE_CHOICES[m])) for i, m in enumerate(modes)]
    show_menu(r, _("Which accesses? 0: cancel the filter."), entries)
    answer = await choose_from(r, entries)
    if answer is None:
        r.say("info", nothing_changed())
        return
    mode = modes[int(answer) - 1]
    days: list[Any] = []
    for name, question in (
        (_(w.FROM), _("From which day, as YYYY-MM-DD (Enter alone: no limit):")),
        (_(w.UNTIL), _("Until which day, included, as YYYY-MM-DD (Enter alone: no limit):")),
    ):
        while True:
            try:
                days.append(w.parse_day(await r.ask(question)))
                break
            except ValueError:
                r.say("error", w.day_problem(name) + " " + _(w.NOTHING_SENT))
    since, until = days
    if since and until and until < since:
        r.say("error", _(w.DAYS_REVERSED) + " " + _(w.NOTHING_SENT))
        return
    st.filter = w.TraceFilter(actor=actor, mode=mode, since=since, until=until)
    await load_trace(r, st)
    show_trace(r, st)
    await seal_trace(r, st)


@handles("trace.emergency_only")
async def emergency_only(r: Reader, st: Trace) -> None:
    current = st.filter.mode if st.filter.mode in w.EMERGENCY_CYCLE else "all"
    cycle = w.EMERGENCY_CYCLE
    mode = cycle[(cycle.index(current) + 1) % len(cycle)]
    st.filter = w.TraceFilter(st.filter.actor, mode, st.filter.since, st.filter.until)
    await load_trace(r, st)
    show_trace(r, st)
    await seal_trace(r, st)
