"""Screen 3 of screen-reader mode: practitioners (the patient's, the directory, and each
one's actions: grant, revoke, block, unblock, attending)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from dmptui import catalogue
from dmptui import words as w
from dmptui.explain import BY_REASON
from dmptui.i18n import _
from dmptui.identifiers import IdentifierError, parse_rpps
from dmptui.reader.flow import Back, Failed
from dmptui.reader.menus import (
    DIRECTORY_LIMIT,
    HANDLERS,
    PRACTITIONER_MENU,
    Entry,
    attempt,
    choose_from,
    choose_yes,
    handles,
    numbered,
    pick_number,
    show_menu,
)

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

# --- screen 3: practitioners -----------------------------------------------------------------


@dataclass
class Practitioners:
    links: w.Links = field(default_factory=w.Links)
    found: list[w.Person] = field(default_factory=list)
    query: str = ""


async def practitioners(r: Reader) -> None:
    r.enter("practitioners")
    st = Practitioners()
    answer = await r.call(_("Loading your practitioners…"), r.client.practitioners)
    st.links = w.Links(answer)
    r.say("done", _("Your practitioners are up to date."))
    show_mine(r, st)
    while True:
        choice = await r.ask_choice()
        people = st.links.people()
        if choice == "":
            show_mine(r, st)
        elif choice in ("s", "/"):
            await attempt(HANDLERS["practitioners.search"](r, st))
            show_mine(r, st)
        elif choice.isdigit() and 1 <= int(choice) <= len(people):
            await person_menu(r, st, people[int(choice) - 1])
            show_mine(r, st)
        else:
            r.wrong_choice(choice, _("Type a practitioner's number, or s to search the directory."))


def show_mine(r: Reader, st: Practitioners) -> None:
    people = st.links.people()
    r.say(
        "info",
        _(
            "Your practitioners ({n}): your médecin traitant, those you authorised and those "
            "you blocked. A number: choose one; s: search the directory."
        ).format(n=len(people)),
    )
    for i, person in enumerate(people):
        r.say("item", st.links.sentence(person, i + 1))


@handles("practitioners.search")
async def search_directory(r: Reader, st: Practitioners) -> None:
    while True:
        raw = await r.ask(_("Name or RPPS to search in the directory (Enter alone cancels):"))
        text = " ".join(raw.split())
        compact = text.replace(" ", "")
        if not text:
            r.say("info", _("Showing your practitioners."))
            return
        if compact.isdigit() and (
            len(compact) == 11 or (len(compact) == 12 and compact.startswith("8"))
        ):
            try:
                text = parse_rpps(compact)
            except IdentifierError:
                r.say(
                    "error",
                    _(
                        "RPPS: the last digit (check digit) does not match the other 10. Check "
                        "the 11 digits and search again. Nothing was searched."
                    ),
                )
                continue
        elif compact.isdigit():
            text = compact
        if len(text) < 2:
            r.say(
                "error",
                _(
                    "Search: type at least 2 letters of a name, or the first "
                    "digits of an RPPS. Nothing was searched."
                ),
            )
            continue
        break
    q = text
    page = await r.call(
        _("Searching the directory for “{q}”…").format(q=q),
        lambda: r.client.directory(q, limit=DIRECTORY_LIMIT),
    )
    st.query = q
    st.found = [
        w.Person(e.rpps, e.name, e.profession, e.facility, e.may_access) for e in page.items
    ]
    if not st.found:
        r.say("info", _("No practitioner in the directory matches “{q}”.").format(q=q))
        return
    if len(st.found) == 1:
        words = _("1 practitioner found in the directory for “{q}”.").format(q=q)
    else:
        words = _("{n} practitioners found in the directory for “{q}”.").format(
            n=len(st.found), q=q
        )
    if page.next_cursor or len(st.found) >= DIRECTORY_LIMIT:
        words += " " + _(
            "Only the first {n} are shown: type more of the name to narrow the search."
        ).format(n=len(st.found))
    r.say("done", words)
    await directory_results(r, st)


async def directory_results(r: Reader, st: Practitioners) -> None:
    def show() -> None:
        r.say(
            "info",
            _(
                "Directory results for “{q}”: {n} practitioners. This is the directory, not "
                "your list. A number: choose one; 0: back to your practitioners."
            ).format(q=st.query, n=len(st.found)),
        )
        for i, person in enumerate(st.found):
            r.say("item", st.links.sentence(person, i + 1))

    show()
    while True:
        try:
            choice = await r.ask_choice()
        except Back:
            return
        if choice == "":
            show()
        elif choice.isdigit() and 1 <= int(choice) <= len(st.found):
            await person_menu(r, st, st.found[int(choice) - 1])
            show()
        else:
            r.wrong_choice(choice, _("Type a practitioner's number, or 0 to go back."))


async def person_menu(r: Reader, st: Practitioners, person: w.Person) -> None:
    """What can be done for one practitioner; each change says the new status."""
    while True:
        links = st.links
        rpps = person.rpps
        shown = ["practitioners.grant"]
        if rpps in links.authorised:
            shown.append("practitioners.revoke")
        if rpps not in links.blocked and not links.is_attending(rpps):
            shown.append("practitioners.block")
        if rpps in links.blocked:
            shown.append("practitioners.unblock")
        if not links.is_attending(rpps):
            shown.append("practitioners.attending")
        r.say("info", links.sentence(person))
        entries = numbered(PRACTITIONER_MENU, shown)
        show_menu(r, _("What do you want to do? 0: back."), entries)
        answer = await choose_from(r, entries)
        if answer is None:
            return
        action = pick_number(answer, PRACTITIONER_MENU, shown)
        assert action is not None
        await attempt(HANDLERS[action](r, st, person))


async def practitioners_changed(r: Reader, st: Practitioners, make: Any, waiting: str) -> None:
    try:
        st.links = w.Links(await r.call(waiting, make))
    except Failed as failed:
        if type(failed.error).__name__ == "NotFound":
            st.links = w.Links(
                await r.call(_("Loading your practitioners…"), r.client.practitioners)
            )
        raise


@handles("practitioners.grant")
async def grant(r: Reader, st: Practitioners, person: w.Person) -> None:
    had = person.rpps in st.links.authorised
    see_masked = False
    if person.may_access:
        r.say("info", _("Give {name} access to your record?").format(name=person.name))
        consequence = _(
            "{name} will be able to read your documents and add new ones. "
            "You can remove this access at any time.\n\n"
            "You can also give the same rights as your médecin traitant: then "
            "{name} also sees the documents you hid from practitioners. "
            "If unsure, choose ordinary access."
        ).format(name=person.name)
        for line in consequence.splitlines():
            if line.strip():
                r.say("info", line)
        entries = [
            Entry("1", _("Ordinary access")),
            Entry("2", _("Same rights as my médecin traitant (sees hidden documents)")),
            Entry("0", _("Cancel")),
        ]
        show_menu(r, None, entries)
        answer = await choose_from(r, entries)
        if answer is None:
            r.say("info", _("Nothing was changed."))
            return
        see_masked = answer == "2"
    await practitioners_changed(
        r,
        st,
        lambda: r.client.authorise(person.rpps, see_masked=see_masked),
        _("Giving {name} access…").format(name=person.name),
    )
    if had and see_masked:
        text = _("{name} keeps access to your record and now also sees your hidden documents.")
    elif had:
        text = _("{name} keeps access to your record, without your hidden documents.")
    elif see_masked:
        text = _("{name} can now access your record, hidden documents included.")
    else:
        text = _("{name} can now access your record.")
    r.say("done", text.format(name=person.name))


@handles("practitioners.revoke")
async def revoke(r: Reader, st: Practitioners, person: w.Person) -> None:
    await practitioners_changed(
        r,
        st,
        lambda: r.client.revoke(person.rpps),
        _("Removing {name}'s access…").format(name=person.name),
    )
    if st.links.is_attending(person.rpps):
        text = _(
            "{name}'s authorisation was removed; as your médecin traitant, they "
            "can still access your record."
        )
    else:
        text = _("{name} can no longer access your record.")
    r.say("done", text.format(name=person.name))


@handles("practitioners.block")
async def block(r: Reader, st: Practitioners, person: w.Person) -> None:
    if st.links.is_attending(person.rpps):
        r.say("error", _(BY_REASON["attending_cannot_be_blocked"]))
        return
    r.say("info", _("Block {name}?").format(name=person.name))
    r.say("info", _(catalogue.ACTION_BY_ID["practitioners.block"].confirm or ""))
    if not await choose_yes(r, _("Block {name}").format(name=person.name)):
        r.say("info", _("Nothing was changed."))
        return
    await practitioners_changed(
        r,
        st,
        lambda: r.client.block(person.rpps),
        _("Blocking {name}…").format(name=person.name),
    )
    r.say(
        "done",
        _(
            "{name} is blocked: they cannot open your record in any mode, emergencies included."
        ).format(name=person.name),
    )


@handles("practitioners.unblock")
async def unblock(r: Reader, st: Practitioners, person: w.Person) -> None:
    await practitioners_changed(
        r,
        st,
        lambda: r.client.unblock(person.rpps),
        _("Unblocking {name}…").format(name=person.name),
    )
    r.say(
        "done",
        _(
            "{name} is no longer blocked. They need your authorisation to "
            "access your record, except in an emergency."
        ).format(name=person.name),
    )


@handles("practitioners.attending")
async def attending(r: Reader, st: Practitioners, person: w.Person) -> None:
    previous = st.links.attending
    await practitioners_changed(
        r,
        st,
        lambda: r.client.designate_attending(person.rpps),
        _("Designating {name} as your médecin traitant…").format(name=person.name),
    )
    text = _(
        "{name} is now your médecin traitant: they see all your documents, hidden ones included."
    ).format(name=person.name)
    if previous is not None:
        text += " " + _("{previous} is no longer your médecin traitant.").format(
            previous=previous.name
        )
    r.say("done", text)
