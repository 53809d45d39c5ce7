"""What screen-reader mode's screens share: the handlers' registry, menus and what to type,
help, typed confirmations and lists read a page at a time.

``HANDLERS`` maps every action id of ``dmptui.catalogue.ACTIONS`` to the function that does it
(each screen module registers its own with ``@handles``; ``dmptui.reader.screens`` imports them
all; a test compares the two, and the TUI's bindings, so an action added to one front end only
fails the build). ``reader_key(action_id)`` says what to type for it, for the help and the support
guide.

How a patient answers, everywhere: a menu's number and Enter; in a list, a number opens an entry,
``n`` and ``p`` turn the pages, and a screen's own letters (the TUI's keys where they are letters)
do the rest. On every question: Enter alone reads the menu again, ``h`` help, ``w`` where you
are (``where_line``), ``m`` main menu, ``g`` and a screen's number that screen (``jump_target``),
``0`` or ``b`` back, ``l`` log out, ``q`` quit. A number not offered says why when the menu has
a ``why`` (``choose_from``). Free-text questions (an INS, words to search, a confirmation word)
take the text as typed; at the login questions a single ``q``, ``h`` or ``w`` is the command
(``login.login_command``)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Any

from dmptui import catalogue
from dmptui.actions.base import CANCEL
from dmptui.i18n import N_, _, format_number, joined
from dmptui.reader.flow import Abort, Back, Failed

if TYPE_CHECKING:
    from dmptui.reader.app import Reader

Handler = Callable[..., Awaitable[Any]]
HANDLERS: dict[str, Handler] = {}

BATCH = 50  # entries asked of the host at a time (lists are read a page at a time)
NOTIFICATIONS_BATCH = 100
DIRECTORY_LIMIT = 20


def handles(action_id: str) -> Callable[[Handler], Handler]:
    """Register the handler of one catalogue action."""

    def register(fn: Handler) -> Handler:
        if action_id in HANDLERS:
            raise ValueError(f"two handlers for {action_id}")
        HANDLERS[action_id] = fn
        return fn

    return register


# --- what to type for each action ----------------------------------------------------------

# Numbered menus of one item (a document, a practitioner) or of a screen; the numbers are stable:
# an action that does not apply is left out, the others keep their number.
DOCUMENT_MENU = ("documents.mask", "documents.unmask", "documents.delete", "documents.save")
PRACTITIONER_MENU = (
    "practitioners.grant",
    "practitioners.revoke",
    "practitioners.block",
    "practitioners.unblock",
    "practitioners.attending",
)
EMERGENCY_MENU = ("emergency.break_glass", "emergency.regulation")
RECORD_MENU = ("record.close", "record.reactivate", "record.erase", "record.export")
NOTES_MENU = ("notes.save",)
ACCOUNT_MENU = (
    "account.end_session",
    "account.forget_device",
    "account.everywhere",
    "account.password",
)
MENUS: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (DOCUMENT_MENU, N_("{key}, in a document")),
    (PRACTITIONER_MENU, N_("{key}, for a practitioner chosen by number")),
    (EMERGENCY_MENU, None),
    (RECORD_MENU, None),
    (NOTES_MENU, None),
    (ACCOUNT_MENU, None),
)
# Letters, in a list or on every question (the TUI's keys where those are letters).
LETTERS = {
    "documents.search": "s",
    "documents.filter": "t",
    "documents.sort": "o",
    "practitioners.search": "s",
    "trace.filter": "f",
    "trace.emergency_only": "e",
    "notifications.read_all": "r",
    "app.help": "h",
    "app.back": N_("0 or b"),
    "app.logout": "l",
    "app.quit": "q",
    "app.demo_phone": "d",
}
OTHER_KEYS = {
    "login.submit": N_("Enter, after the password"),
    "login.send_sms": N_("2, at the code question"),
    "login.send_email": N_("3, at the code question"),
    "login.forgot_password": N_("f alone, at the password question"),
    "login.lost_phone": N_("p alone, at the password question"),
    "documents.open": N_("a document's number, in the list"),
}


def reader_key(action_id: str) -> str:
    """What to type in screen-reader mode for a catalogue action, in words."""
    for ids, where in MENUS:
        if action_id in ids:
            key = str(ids.index(action_id) + 1)
            return _(where).format(key=key) if where else key
    if action_id in LETTERS:
        return _(LETTERS[action_id])
    return _(OTHER_KEYS[action_id])


@dataclass
class Entry:
    key: str
    label: str


WIDTH = 80  # a braille display's line: a menu's lines are filled up to it, split between entries


def menu_lines(title: str | None, entries: list[Entry]) -> list[str]:
    """A menu in as few lines as a braille line allows: the title, then "1 Label, 2 Label."
    (a synthesizer says "one Label, two Label"; an entry is never split across two lines)."""
    parts = [f"{e.key} {e.label}" for e in entries]
    parts = [p + ("." if i == len(parts) - 1 else ",") for i, p in enumerate(parts)]
    lines: list[str] = []
    line = title or ""
    for part in parts:
        if line and len(line) + 1 + len(part) > WIDTH:
            lines.append(line)
            line = part
        else:
            line = f"{line} {part}" if line else part
    if line:
        lines.append(line)
    return lines


def show_menu(r: Reader, title: str | None, entries: list[Entry]) -> None:
    for line in menu_lines(title, entries):
        r.say("item", line)


def numbered(ids: tuple[str, ...], shown: list[str]) -> list[Entry]:
    return [
        Entry(str(ids.index(a) + 1), _(catalogue.ACTION_BY_ID[a].label)) for a in ids if a in shown
    ]


def pick_number(answer: str, ids: tuple[str, ...], shown: list[str]) -> str | None:
    if answer.isdigit() and 1 <= int(answer) <= len(ids) and ids[int(answer) - 1] in shown:
        return ids[int(answer) - 1]
    return None


def keys_of(ids: tuple[str, ...], shown: list[str]) -> str:
    keys = [str(ids.index(a) + 1) for a in ids if a in shown]
    return _("Type {keys}, then Enter.").format(keys=", ".join(keys))


async def menu_loop(
    r: Reader, ids: tuple[str, ...], show: Callable[[], list[str]], *args: Any
) -> None:
    """A screen's numbered menu, asked again and again: ``show()`` says the screen and returns
    the actions it offers now; a number runs that action's handler (with ``args``), then the
    screen is said again. Enter alone says it again; anything else is a wrong choice, said."""
    shown = show()
    while True:
        answer = await r.ask_choice()
        if answer == "":
            shown = show()
            continue
        action = pick_number(answer, ids, shown)
        if action is None:
            r.wrong_choice(answer, keys_of(ids, shown))
            continue
        try:
            await HANDLERS[action](r, *args)
        except Abort:
            continue
        shown = show()


# --- help ------------------------------------------------------------------------------------


def help_lines(screen_key: str, everywhere: bool = True) -> list[tuple[str, str]]:
    """(kind, line) pairs: the help of one screen, from the catalogue (``everywhere``: with the
    actions of every screen, and the keys of every question)."""
    spec = catalogue.BY_KEY.get(screen_key, catalogue.BY_KEY["home"])
    out = [("info", catalogue.help_title(spec))]
    actions = catalogue.actions_for(spec.key)
    if spec.key != "login" and everywhere:
        actions += catalogue.actions_for("*")
    for action in actions:
        out.append(
            (
                "item",
                _("{key}: {label}. {help}").format(
                    key=reader_key(action.id), label=_(action.label), help=_(action.help)
                ),
            )
        )
    if spec.key == "login":
        out.append(("info", LOGIN_KEYS()))
    elif everywhere:
        out.append(("info", GLOBAL_KEYS()))
    return out


def GLOBAL_KEYS() -> str:
    return _(
        "On every question: Enter alone reads the menu again; h: help; w: where you are; "
        "m: main menu; g and a screen's number: go to that screen (g3: practitioners); "
        "0 or b: back; l: log out; q: quit."
    )


def LOGIN_KEYS() -> str:
    return _(
        "At the login questions: h alone: help; w alone: where you are; q alone: quit; Enter "
        "alone at the password or the code: back. A password is never a single letter, so "
        "h or q alone is always this command."
    )


# "g3", "g 3": go to screen 3, from any menu (a plain number answers the menu itself).
GO_PREFIX = "g"


def jump_target(answer: str) -> str | None:
    """The screen key of a ``g<number>`` answer, "" for a ``g`` with no screen's number, or
    None when the answer is not one."""
    if not answer.startswith(GO_PREFIX):
        return None
    number = answer[len(GO_PREFIX) :].strip()
    spec = next((s for s in catalogue.SCREENS if str(s.number) == number), None)
    return spec.key if spec is not None else ""


def where_line(screen_key: str) -> str:
    """Where the patient is, in one line: the screen's number and name, then what to type
    here (the screen's own keys, then the keys of every question)."""
    spec = catalogue.BY_KEY.get(screen_key, catalogue.BY_KEY["home"])
    keys = [
        _("{key}: {label}").format(key=reader_key(a.id), label=_(a.label))
        for a in catalogue.actions_for(spec.key)
    ]
    if spec.key == "home":
        keys.insert(0, _("a screen's number: go there"))
    if spec.key == "login":
        keys.append(_("h: help; q: quit"))
    else:
        keys.append(_("h: help; m: main menu; g and a number: another screen; 0: back; q: quit"))
    return _("You are on screen {screen}. Keys: {keys}.").format(
        screen=catalogue.screen_label(spec), keys=joined(keys)
    )


def print_help(r: Reader, screen_key: str) -> None:
    for kind, line in help_lines(screen_key):
        r.say(kind, line)


# --- typed confirmations, and choices --------------------------------------------------------


async def attempt(action: Awaitable[Any]) -> None:
    """Run an action; one that stopped (and said why) leaves the screen where it was."""
    try:
        await action
    except Abort:
        pass


async def confirm_word(r: Reader, word: str) -> bool:
    """Ask the patient to type ``word``: True when typed, False when cancelled."""
    while True:
        question = _(
            "To confirm, type the word “{word}”, then press Enter (Enter alone cancels):"
        ).format(word=word)
        typed = (await r.ask_text(question)).strip()
        if not typed:
            return False
        if typed.casefold() == word.casefold():
            return True
        r.say(
            "error",
            _(
                "you typed “{typed}”, not “{word}”. Type “{word}” to confirm, or press "
                "Enter alone to cancel."
            ).format(typed=typed, word=word),
        )


async def choose_yes(r: Reader, label: str) -> bool:
    """A two-entry menu: ``1. label`` or ``0. Cancel``."""
    entries = [Entry("1", label), Entry("0", _(CANCEL))]
    show_menu(r, None, entries)
    while True:
        try:
            answer = await r.ask_choice()
        except Back:
            return False
        if answer == "1":
            return True
        if answer == "":
            show_menu(r, None, entries)
            continue
        r.wrong_choice(answer, _("Type 1 to confirm, or 0 to cancel."))


async def choose_from(
    r: Reader, entries: list[Entry], why: Callable[[str], str | None] | None = None
) -> str | None:
    """A menu's answer among ``entries`` (None for back); reads the menu again on Enter.
    ``why(answer)``: why a choice that is not offered is not (said instead of "no choice")."""
    while True:
        try:
            answer = await r.ask_choice()
        except Back:
            return None
        if answer == "":
            show_menu(r, None, entries)
            continue
        if answer in {e.key for e in entries}:
            return answer
        reason = why(answer) if why is not None else None
        if reason:
            r.say("info", _("{reason} Type one of the numbers above.").format(reason=reason))
            continue
        r.wrong_choice(answer, _("Type one of the numbers above."))


# --- lists read a page at a time -------------------------------------------------------------


class Pager:
    """Entries asked of the host ``BATCH`` at a time, read ``size`` at a time."""

    def __init__(
        self,
        r: Reader,
        fetch: Callable[[str | None, int], Awaitable[Any]],
        more_words: str,
        batch: int = BATCH,
    ) -> None:
        self.r = r
        self.fetch = fetch
        self.more_words = more_words
        self.batch = batch
        self.size = r.config.page_size
        self.items: list[Any] = []
        self.cursor: str | None = None
        self.start = 0

    @property
    def complete(self) -> bool:
        return self.cursor is None

    async def load(self, waiting: str) -> None:
        page = await self.r.call(waiting, lambda: self.fetch(None, self.batch))
        self.items, self.cursor, self.start = list(page.items), page.next_cursor, 0

    async def ensure(self, count: int) -> None:
        while len(self.items) < count and self.cursor is not None:
            page = await self.r.call(self.more_words, partial(self.fetch, self.cursor, self.batch))
            self.items.extend(page.items)
            self.cursor = page.next_cursor

    async def everything(self) -> None:
        await self.ensure(10**9)

    def shown(self) -> range:
        return range(self.start, min(self.start + self.size, len(self.items)))

    async def next(self) -> bool:
        await self.ensure(self.start + 2 * self.size)
        if self.start + self.size >= len(self.items):
            return False
        self.start += self.size
        return True

    def previous(self) -> bool:
        if self.start == 0:
            return False
        self.start = max(0, self.start - self.size)
        return True

    def span(self) -> tuple[str, str]:
        page = self.shown()
        return format_number(page.start + 1), format_number(page.stop)

    async def turn(self, answer: str) -> bool:
        """``n`` or ``p``: True when the page changed (False: said why)."""
        if answer == "n":
            try:
                moved = await self.next()
            except Failed:  # said why; the page read so far stays where it was
                return False
            if moved:
                return True
            self.r.say("info", _("This is the last page. p: previous page."))
            return False
        if self.previous():
            return True
        self.r.say("info", _("This is the first page. n: next page."))
        return False

    async def index(self, answer: str) -> int | None:
        """The entry a typed number names (loading up to it), or None after saying why."""
        n = int(answer)
        try:
            await self.ensure(n)
        except Failed:  # said why; the list stays where it was
            return None
        if 1 <= n <= len(self.items):
            return n - 1
        if not self.items:
            self.r.say(
                "error",
                _(
                    "this list is empty: there is nothing to choose. Enter alone reads this "
                    "screen again; h: help."
                ),
            )
            return None
        first, last = self.span()
        self.r.say(
            "error",
            _(
                "there is no entry {n} in this list. Type a number from {first} to {last}, "
                "or n for the next page."
            ).format(n=answer, first=first, last=last),
        )
        return None
