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


# What becomes of the former médecin traitant (the choices of a change or of an unset).
KEEP = "keep"  # the default: they keep ordinary access
REMOVE = "remove"  # they lose every access


def previous_choices(state: RecordState, previous: Person) -> tuple[Choice, Choice]:
    """Keep (first: the safe default) or remove the former médecin traitant's access."""
    name = Name(previous.name)
    return (
        Choice(KEEP, _("Yes, and {previous} keeps ordinary access").format(previous=name)),
        Choice(REMOVE, _("Yes, and {previous} loses all access").format(previous=name)),
    )


def previous_consequence(state: RecordState, previous: Person) -> str:
    """What happens to the former médecin traitant, for the question."""
    name = Name(previous.name)
    if previous.rpps in state.links.authorised:
        return _(
            "{previous} is your médecin traitant now. They can keep the access you gave "
            "them, without the rights of a médecin traitant, or lose all access to your record."
        ).format(previous=name)
    return _(
        "{previous} is your médecin traitant now. They can keep ordinary access to your "
        "record (they no longer see your hidden documents), or lose all access. If unsure, "
        "let them keep ordinary access."
    ).format(previous=name)


def previous_outcome(state: RecordState, previous: Person, choice: str | None) -> str:
    name = Name(previous.name)
    if choice == REMOVE:
        return _("{previous} can no longer access your record.").format(previous=name)
    return _(
        "{previous} keeps ordinary access to your record; you can remove it at any time."
    ).format(previous=name)


def current_attending(state: RecordState) -> Person | None:
    a = state.links.attending
    return None if a is None else Person(a.rpps, a.name, a.profession, a.facility)


def attending_label(state: RecordState, person: Person) -> str:
    """The menu entry of the médecin traitant action for ``person``: make them the médecin
    traitant, or, for the current one, stop having them as such."""
    if state.links.is_attending(person.rpps):
        return _("No longer my médecin traitant")
    return _(catalogue.ACTION_BY_ID["practitioners.attending"].label)


def attending(state: RecordState, person: Person) -> Plan:
    """Make ``person`` the médecin traitant (asked first; the former one keeps ordinary access
    unless the patient chooses otherwise), or, when they are the médecin traitant already,
    stop having one (``unset_attending``)."""
    if state.links.is_attending(person.rpps):
        return unset_attending(state, person)
    if person.rpps in state.links.blocked:
        return refused(
            "practitioners.attending",
            _("{name} is blocked, so cannot be your médecin traitant: unblock them first.").format(
                name=Name(person.name)
            ),
            "warning",
        )
    if person.profession and person.profession != "medecin":
        return refused("practitioners.attending", _(BY_REASON["attending_must_be_doctor"]), "error")
    previous = current_attending(state)
    name = Name(person.name)
    sees_all = _(
        "{name} will be your médecin traitant: they see all your documents, hidden ones included."
    ).format(name=name)

    async def run(client: Client, choice: str | None) -> Outcome:
        keeps = choice != REMOVE
        state.set_practitioners(
            await client.designate_attending(person.rpps, previous_keeps_access=keeps)
        )
        text = _(
            "{name} is now your médecin traitant: they see all your documents, hidden "
            "ones included."
        ).format(name=name)
        if previous is not None:
            text += " " + previous_outcome(state, previous, choice)
        return Outcome(text)

    if previous is None:
        ask = Ask(
            title=_("Make {name} your médecin traitant?").format(name=name),
            consequence=sees_all,
            confirm_label=_("Make {name} my médecin traitant").format(name=name),
        )
    else:
        ask = Ask(
            title=_("Make {name} your médecin traitant instead of {previous}?").format(
                name=name, previous=Name(previous.name)
            ),
            consequence=sees_all + "\n\n" + previous_consequence(state, previous),
            confirm_label=previous_choices(state, previous)[0].label,
            choices=previous_choices(state, previous),
        )
    return Plan(
        "practitioners.attending",
        waiting=_("Designating {name} as your médecin traitant…").format(name=name),
        run=run,
        ask=ask,
        cancelled=nothing_changed(),
        changes=CHANGES,
    )


def unset_attending(state: RecordState, person: Person) -> Plan:
    """No médecin traitant any more (asked first: ``person`` keeps ordinary access unless the
    patient chooses otherwise)."""
    if not state.links.is_attending(person.rpps):
        return refused(
            "practitioners.attending",
            _("{name} is not your médecin traitant.").format(name=Name(person.name)),
            "warning",
        )
    name = Name(person.name)

    async def run(client: Client, choice: str | None) -> Outcome:
        keeps = choice != REMOVE
        state.set_practitioners(await client.clear_attending(previous_keeps_access=keeps))
        text = _("You no longer have a médecin traitant.") + " "
        return Outcome(text + previous_outcome(state, person, choice))

    return Plan(
        "practitioners.attending",
        waiting=_("Removing {name} as your médecin traitant…").format(name=name),
        run=run,
        ask=Ask(
            title=_("Stop having {name} as your médecin traitant?").format(name=name),
            consequence=_(
                "You will have no médecin traitant until you choose one. Nobody else gains access."
            )
            + "\n\n"
            + previous_consequence(state, person),
            confirm_label=previous_choices(state, person)[0].label,
            choices=previous_choices(state, person),
        ),
        cancelled=nothing_changed(),
        changes=CHANGES,
    )
