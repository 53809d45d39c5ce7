"""Screen 3's actions on one practitioner: give access (ordinary, or with the médecin traitant's
rights), take it back, block, unblock, make them the médecin traitant."""

from __future__ import annotations

from typing import TYPE_CHECKING

from dmptui import catalogue
from dmptui.actions.base import Ask, Choice, Outcome, Plan, nothing_changed, refused
from dmptui.explain import BY_REASON
from dmptui.i18n import N_, Name, _, format_number, ngettext
from dmptui.identifiers import IdentifierError, parse_rpps
from dmptui.state import PRACTITIONERS, RECORD, RecordState
from dmptui.words import Person

if TYPE_CHECKING:
    from dmptui.client import Client

CHANGES = frozenset({PRACTITIONERS, RECORD})
ORDINARY = "normal"
SEE_MASKED = "see_masked"


# --- the directory's search ---------------------------------------------------------------------

SHOWING_MINE = N_("Showing your practitioners.")  # the search emptied: the patient's own list


def search_query(raw: str) -> tuple[str, str | None]:
    """What to search the directory for, from what was typed: (query, None), or ("", why it
    is not searched). An empty query means: show the patient's own list."""
    text = " ".join(raw.split())
    compact = text.replace(" ", "")
    if compact.isdigit() and (
        len(compact) == 11 or (len(compact) == 12 and compact.startswith("8"))
    ):
        try:
            text = parse_rpps(compact)
        except IdentifierError as error:
            return "", rpps_problem(error)
    elif compact.isdigit():
        text = compact  # the start of an RPPS
    if text and len(text) < 2:
        return "", _(
            "Search: type at least 2 letters of a name, or the first "
            "digits of an RPPS. Nothing was searched."
        )
    return text, None


def rpps_problem(error: IdentifierError) -> str:
    if error.code == "rpps_key":
        return _(
            "RPPS: the last digit (check digit) does not match the other 10. Check the "
            "11 digits and search again. Nothing was searched."
        )
    return _("RPPS: an RPPS has 11 digits. Check it and search again. Nothing was searched.")


def searching(query: str) -> str:
    return _("Searching the directory for “{q}”…").format(q=query)


def found(query: str, n: int, more: bool) -> tuple[str, str]:
    """(kind, words) once the directory answered with ``n`` practitioners (``more``: there
    are more than those shown)."""
    if n == 0:
        return "info", _("No practitioner in the directory matches “{q}”.").format(q=query)
    words = ngettext(
        "{n} practitioner found in the directory for “{q}”.",
        "{n} practitioners found in the directory for “{q}”.",
        n,
    ).format(n=format_number(n), q=query)
    if more:
        words += " " + _(
            "Only the first {n} are shown: type more of the name to narrow the search."
        ).format(n=n)
    return "done", words


# --- the actions ---------------------------------------------------------------------------------


def grant(state: RecordState, person: Person) -> Plan:
    had = person.rpps in state.links.authorised

    async def run(client: Client, choice: str | None) -> Outcome:
        see_masked = choice == SEE_MASKED
        state.set_practitioners(await client.authorise(person.rpps, see_masked=see_masked))
        if had and see_masked:
            text = _("{name} keeps access to your record and now also sees your hidden documents.")
        elif had:
            text = _("{name} keeps access to your record, without your hidden documents.")
        elif see_masked:
            text = _("{name} can now access your record, hidden documents included.")
        else:
            text = _("{name} can now access your record.")
        return Outcome(text.format(name=Name(person.name)))

    ask = None
    if person.may_access:  # else the host refuses, and says why
        ask = Ask(
            title=_("Give {name} access to your record?").format(name=Name(person.name)),
            consequence=_(
                "{name} will be able to read your documents and add new ones. "
                "You can remove this access at any time.\n\n"
                "You can also give the same rights as your médecin traitant: then "
                "{name} also sees the documents you hid from practitioners. "
                "If unsure, choose ordinary access."
            ).format(name=Name(person.name)),
            confirm_label=_("Ordinary access"),
            choices=(
                Choice(ORDINARY, _("Ordinary access")),
                Choice(SEE_MASKED, _("Same rights as my médecin traitant (sees hidden documents)")),
            ),
        )
    return Plan(
        "practitioners.grant",
        waiting=_("Giving {name} access…").format(name=Name(person.name)),
        run=run,
        ask=ask,
        cancelled=nothing_changed(),
        changes=CHANGES,
    )


def revoke(state: RecordState, person: Person) -> Plan:
    if person.rpps not in state.links.authorised:
        return refused(
            "practitioners.revoke",
            _("{name} has no authorisation from you: there is nothing to remove.").format(
                name=Name(person.name)
            ),
            "warning",
        )

    async def run(client: Client, _choice: str | None) -> Outcome:
        state.set_practitioners(await client.revoke(person.rpps))
        if state.links.is_attending(person.rpps):
            text = _(
                "{name}'s authorisation was removed; as your médecin traitant, they "
                "can still access your record."
            )
        else:
            text = _("{name} can no longer access your record.")
        return Outcome(text.format(name=Name(person.name)))

    return Plan(
        "practitioners.revoke",
        waiting=_("Removing {name}'s access…").format(name=Name(person.name)),
        run=run,
        changes=CHANGES,
    )


def block(state: RecordState, person: Person) -> Plan:
    if state.links.is_attending(person.rpps):
        # The host refuses it too (attending_cannot_be_blocked); no use asking to confirm.
        return refused("practitioners.block", _(BY_REASON["attending_cannot_be_blocked"]), "error")
    if person.rpps in state.links.blocked:
        return refused(
            "practitioners.block", _("{name} is already blocked.").format(name=Name(person.name))
        )

    async def run(client: Client, _choice: str | None) -> Outcome:
        state.set_practitioners(await client.block(person.rpps))
        return Outcome(
            _(
                "{name} is blocked: they cannot open your record in any mode, emergencies included."
            ).format(name=Name(person.name))
        )

    return Plan(
        "practitioners.block",
        waiting=_("Blocking {name}…").format(name=Name(person.name)),
        run=run,
        ask=Ask(
            title=_("Block {name}?").format(name=Name(person.name)),
            consequence=_(catalogue.ACTION_BY_ID["practitioners.block"].confirm or ""),
            confirm_label=_("Block {name}").format(name=Name(person.name)),
        ),
        cancelled=nothing_changed(),
        changes=CHANGES,
    )


def unblock(state: RecordState, person: Person) -> Plan:
    if person.rpps not in state.links.blocked:
        return refused(
            "practitioners.unblock",
            _("{name} is not blocked.").format(name=Name(person.name)),
            "warning",
        )

    async def run(client: Client, _choice: str | None) -> Outcome:
        state.set_practitioners(await client.unblock(person.rpps))
        return Outcome(
            _(
                "{name} is no longer blocked. They need your authorisation to "
                "access your record, except in an emergency."
            ).format(name=Name(person.name))
        )

    return Plan(
        "practitioners.unblock",
        waiting=_("Unblocking {name}…").format(name=Name(person.name)),
        run=run,
        changes=CHANGES,
    )


def attending(state: RecordState, person: Person) -> Plan:
    if state.links.is_attending(person.rpps):
        return refused(
            "practitioners.attending",
            _("{name} is already your médecin traitant.").format(name=Name(person.name)),
        )
    previous = state.links.attending

    async def run(client: Client, _choice: str | None) -> Outcome:
        state.set_practitioners(await client.designate_attending(person.rpps))
        text = _(
            "{name} is now your médecin traitant: they see all your documents, hidden "
            "ones included."
        ).format(name=Name(person.name))
        if previous is not None:
            text += " " + _("{previous} is no longer your médecin traitant.").format(
                previous=Name(previous.name)
            )
        return Outcome(text)

    return Plan(
        "practitioners.attending",
        waiting=_("Designating {name} as your médecin traitant…").format(name=Name(person.name)),
        run=run,
        changes=CHANGES,
    )
