"""Screen 3 of screen-reader mode: practitioners (the patient's, the directory, and each
one's actions: grant, revoke, block, unblock, attending). The patient's practitioners are the
record state's (``r.state.links``); the actions are ``dmptui.actions.practitioners``'."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

from dmptui import loading
from dmptui import words as w
from dmptui.actions import practitioners as actions
from dmptui.actions.base import Plan
from dmptui.explain import error_kind
from dmptui.i18n import _
from dmptui.reader.flow import Back, Failed
from dmptui.reader.menus import (
    DIRECTORY_LIMIT,
    HANDLERS,
    PRACTITIONER_MENU,
    Entry,
    attempt,
    choose_from,
    handles,
    numbered,
    pick_number,
    show_menu,
)
from dmptui.reader.perform import perform
from dmptui.state import PRACTITIONERS, RecordState

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 3: practitioners -----------------------------------------------------------------


@dataclass
class Practitioners:
    """The directory's search: what was searched, and who was found."""

    found: list[w.Person] = field(default_factory=list)
    query: str = ""


async def load_practitioners(r: Reader) -> None:
    await r.call(
        _(loading.LOADING_PRACTITIONERS),
        lambda: r.state.refresh(r.client, frozenset({PRACTITIONERS})),
    )


async def practitioners(r: Reader) -> None:
    r.enter("practitioners")
    st = Practitioners()
    await load_practitioners(r)  # the list follows: no "up to date"
    show_mine(r, st)
    while True:
        choice = await r.ask_choice()
        people = r.state.links.people()
        if choice == "":
            show_mine(r, st)
        elif choice in ("s", "/"):
            await attempt(HANDLERS["practitioners.search"](r, st))
            show_mine(r, st)
        elif choice.isdigit() and 1 <= int(choice) <= len(people):
            await person_menu(r, people[int(choice) - 1])
            show_mine(r, st)
        else:
            r.wrong_choice(choice, _("Type a practitioner's number, or s to search the directory."))


def show_mine(r: Reader, st: Practitioners) -> None:
    links = r.state.links
    people = links.people()
    r.say(
        "info",
        _("Your practitioners ({n}). A number: choose one; s: search the directory.").format(
            n=len(people)
        ),
    )
    for i, person in enumerate(people):
        r.say("item", links.sentence(person, i + 1))


@handles("practitioners.search")
async def search_directory(r: Reader, st: Practitioners) -> None:
    while True:
        raw = await r.ask_text(_("Name or RPPS to search in the directory (Enter alone cancels):"))
        q, problem = actions.search_query(raw)
        if problem is not None:
            r.say("error", problem)
            continue
        if not q:
            r.say("info", _(actions.SHOWING_MINE))
            return
        break
    page = await r.call(actions.searching(q), lambda: r.client.directory(q, limit=DIRECTORY_LIMIT))
    st.query = q
    st.found = [
        w.Person(e.rpps, e.name, e.profession, e.facility, e.may_access) for e in page.items
    ]
    more = bool(page.next_cursor) or len(st.found) >= DIRECTORY_LIMIT
    kind, words = actions.found(q, len(st.found), more)
    r.say(kind, words)
    if st.found:
        await directory_results(r, st)


async def directory_results(r: Reader, st: Practitioners) -> None:
    def show() -> None:
        r.say(
            "info",
            _("From the directory. A number: choose one; 0: back to your list."),
        )
        for i, person in enumerate(st.found):
            r.say("item", r.state.links.sentence(person, i + 1))

    show()
    while True:
        try:
            choice = await r.ask_choice()
        except Back:
            return
        if choice == "":
            show()
        elif choice.isdigit() and 1 <= int(choice) <= len(st.found):
            await person_menu(r, st.found[int(choice) - 1])
            show()
        else:
            r.wrong_choice(choice, _("Type a practitioner's number, or 0 to go back."))


PLANS: dict[str, Callable[[RecordState, w.Person], Plan]] = {
    "practitioners.grant": actions.grant,
    "practitioners.revoke": actions.revoke,
    "practitioners.block": actions.block,
    "practitioners.unblock": actions.unblock,
    "practitioners.attending": actions.attending,
}


def offered(r: Reader, person: w.Person) -> list[str]:
    """The actions offered for ``person`` now: those whose plan has no problem (the others
    say why when their number is typed)."""
    return [a for a in PRACTITIONER_MENU if PLANS[a](r.state, person).problem is None]


async def person_menu(r: Reader, person: w.Person) -> None:
    """What can be done for one practitioner; each change says the new status (the name and
    the status: who they are was said in the list they were chosen from). A number not offered
    says why (the plan's problem), not just that there is no such choice."""
    while True:
        links = r.state.links
        shown = offered(r, person)
        r.say(
            "info",
            _("{name}: {status}.").format(
                name=person.name, status=links.status(person.rpps, person.may_access)
            ),
        )
        entries = [
            Entry(e.key, actions.attending_label(r.state, person))
            if PRACTITIONER_MENU[int(e.key) - 1] == "practitioners.attending"
            else e
            for e in numbered(PRACTITIONER_MENU, shown)
        ]
        show_menu(r, _("What now?"), [*entries, Entry("0", _("back"))])
        answer = await choose_from(r, entries, why=partial(not_offered, r, person))
        if answer is None:
            return
        action = pick_number(answer, PRACTITIONER_MENU, shown)
        assert action is not None
        await attempt(HANDLERS[action](r, person))


def not_offered(r: Reader, person: w.Person, answer: str) -> str | None:
    """Why a number of the practitioner menu is not offered now, or None (no such number)."""
    if answer.isdigit() and 1 <= int(answer) <= len(PRACTITIONER_MENU):
        problem = PLANS[PRACTITIONER_MENU[int(answer) - 1]](r.state, person).problem
        if problem is not None:
            return problem.text
    return None


async def act(r: Reader, make: Callable[[RecordState, w.Person], Plan], person: w.Person) -> None:
    """One action on ``person``; the list is loaded again when the host no longer knows them."""
    try:
        await perform(r, make(r.state, person))
    except Failed as failed:
        if error_kind(failed.error) == "not_found":
            await load_practitioners(r)
        raise


@handles("practitioners.grant")
async def grant(r: Reader, person: w.Person) -> None:
    await act(r, actions.grant, person)


@handles("practitioners.revoke")
async def revoke(r: Reader, person: w.Person) -> None:
    await act(r, actions.revoke, person)


@handles("practitioners.block")
async def block(r: Reader, person: w.Person) -> None:
    await act(r, actions.block, person)


@handles("practitioners.unblock")
async def unblock(r: Reader, person: w.Person) -> None:
    await act(r, actions.unblock, person)


@handles("practitioners.attending")
async def attending(r: Reader, person: w.Person) -> None:
    await act(r, actions.attending, person)
