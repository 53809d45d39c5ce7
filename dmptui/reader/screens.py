"""The screens of screen-reader mode, one function each, and one handler per catalogue action.

``HANDLERS`` maps every action id of ``dmptui.catalogue.ACTIONS`` to the function that does it
here (a test compares the two, and the TUI's bindings, so an action added to one front end only
fails the build). ``reader_key(action_id)`` says what to type for it, for the help and the support
guide.

How a patient answers, everywhere: a menu's number and Enter; in a list, a number opens an entry,
``n`` and ``p`` turn the pages, and a screen's own letters (the TUI's keys where they are letters)
do the rest. On every question: Enter alone reads the menu again, ``h`` help, ``m`` main menu,
``0`` or ``b`` back, ``l`` log out, ``q`` quit. Free-text questions (an INS, words to search, a
confirmation word) take the text as typed."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dmptui import catalogue
from dmptui import words as w
from dmptui.explain import BY_REASON
from dmptui.i18n import (
    N_,
    Name,
    _,
    format_date,
    format_datetime,
    format_number,
    ngettext,
    pick,
)
from dmptui.identifiers import IdentifierError, parse_ins, parse_rpps
from dmptui.reader.flow import Abort, Back, Failed, Logout, Navigate, Quit, SessionEnded
from dmptui.reader.text import data_lines
from dmptui.schema import MAX_NOTES

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
RECORD_MENU = ("record.close", "record.reactivate", "record.erase")
NOTES_MENU = ("notes.save",)
MENUS: tuple[tuple[tuple[str, ...], str | None], ...] = (
    (DOCUMENT_MENU, N_("{key}, in a document")),
    (PRACTITIONER_MENU, N_("{key}, for a practitioner chosen by number")),
    (EMERGENCY_MENU, None),
    (RECORD_MENU, None),
    (NOTES_MENU, None),
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
}
OTHER_KEYS = {
    "login.submit": N_("Enter, after the password"),
    "login.send_sms": N_("2, at the code question"),
    "login.send_email": N_("3, at the code question"),
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


def show_menu(r: Reader, title: str | None, entries: list[Entry]) -> None:
    if title:
        r.say("info", title)
    for entry in entries:
        r.say("item", f"{entry.key}. {entry.label}")


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


# --- help ------------------------------------------------------------------------------------


def help_lines(screen_key: str, everywhere: bool = True) -> list[tuple[str, str]]:
    """(kind, line) pairs: the help of one screen, from the catalogue (``everywhere``: with the
    actions of every screen, and the keys of every question)."""
    spec = catalogue.BY_KEY.get(screen_key, catalogue.BY_KEY["home"])
    out = [("info", _("Help for screen {screen}").format(screen=catalogue.screen_label(spec)))]
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
        out.append(("info", _("q: quit.")))
    elif everywhere:
        out.append(("info", GLOBAL_KEYS()))
    return out


def GLOBAL_KEYS() -> str:
    return _(
        "On every question: Enter alone reads the menu again; h: help; m: main menu; "
        "0 or b: back; l: log out; q: quit."
    )


def print_help(r: Reader, screen_key: str) -> None:
    for kind, line in help_lines(screen_key):
        r.say(kind, line)


# --- screen 0: log in ------------------------------------------------------------------------

INS_PROBLEMS = {
    "ins_length": N_("it must have 15 characters"),
    "ins_format": N_("only digits are allowed, and 2A or 2B for Corsica"),
    "ins_key": N_("the last two digits (the key) do not match the rest"),
    "legacy_ins_c": N_("this is an old 22-digit INS-C; use the 15-character INS"),
}
RESTART = ("ChallengeExpired", "InvalidCredentials", "Locked", "TooManyCodes")


async def login(r: Reader, resume: bool = False) -> None:
    """INS, password (not echoed), then the one-time code. Returns once logged in."""
    r.enter("login")
    if not resume:
        r.say("info", _("Type your INS and your password, pressing Enter after each."))
    while True:
        ins = await ask_ins(r)
        password = await r.ask(_("Password (not shown as you type):"), secret=True)
        if not password:
            r.say("error", _("Password: type your password."))
            continue
        try:
            challenge = await HANDLERS["login.submit"](r, ins, password)
        except Failed:
            continue
        if await code_step(r, challenge):
            r.last_input = time.monotonic()
            r.say("done", _("you are logged in."))
            return


async def ask_ins(r: Reader) -> str:
    while True:
        if r.ins:
            question = _("INS (15 characters). Press Enter to keep {ins}:").format(ins=r.ins)
        else:
            question = _("INS (national health identifier, 15 characters):")
        raw = (await r.ask(question)).strip()
        if raw.lower() == "q":
            raise Quit
        if raw.lower() in ("h", "?"):
            print_help(r, "login")
            continue
        try:
            ins = parse_ins(raw or r.ins).value
        except IdentifierError as error:
            problem = _(INS_PROBLEMS.get(error.code, N_("it is not valid")))
            r.say(
                "error",
                _(
                    "INS: {problem}. The INS has 15 characters: 13 digits (2A or 2B "
                    "for Corsica) and a 2-digit key; it is on your carte Vitale."
                ).format(problem=problem),
            )
            continue
        r.ins = ins
        return ins


@handles("login.submit")
async def submit(r: Reader, ins: str, password: str) -> Any:
    return await r.call(
        _("Checking your INS and password…"), lambda: r.client.login(ins, password), relogin=False
    )


def code_entries(channels: set[str], last: Entry) -> list[Entry]:
    entries = []
    if "totp" in channels:
        entries.append(Entry("1", _("Code from my authenticator app")))
    if "sms" in channels:
        entries.append(Entry("2", _("Send me a code by SMS")))
    if "email" in channels:
        entries.append(Entry("3", _("Send me a code by email")))
    return [*entries, last]


async def code_step(r: Reader, challenge: Any) -> bool:
    """The one-time code of a login: True when logged in, False to start again."""
    if challenge.enrolment is not None:
        secret = challenge.enrolment.secret
        grouped = " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))
        r.say(
            "info",
            _(
                "First login: add your record to an authenticator app. Type this secret in "
                "the app (the spaces do not matter): {secret}"
            ).format(secret=grouped),
        )
    channels = set(challenge.channels)
    entries = code_entries(channels, Entry("0", _("Start again with the INS and password")))
    while True:
        show_menu(r, _("How do you want to get your one-time code?"), entries)
        answer = await ask_code_choice(r, "login")
        if answer in ("0", "b"):
            return False
        if answer not in {e.key for e in entries}:
            r.wrong_choice(answer, _("Type one of the numbers above."))
            continue
        if answer in ("2", "3"):
            channel = "sms" if answer == "2" else "email"
            try:
                await HANDLERS[f"login.send_{channel}"](r, challenge.challenge)
            except Failed as failed:
                if type(failed.error).__name__ in RESTART:
                    return False
                continue
        result = await enter_code(
            r, lambda code: r.client.verify(challenge.challenge, code), relogin=False
        )
        if result == "ok":
            return True
        if result == "restart":
            return False


async def ask_code_choice(r: Reader, help_about: str) -> str:
    while True:
        answer = (await r.ask(_("Your choice:"))).strip().lower().rstrip(".")
        if answer == "q":
            raise Quit
        if answer in ("h", "?"):
            print_help(r, help_about)
            continue
        if answer:
            return answer


async def enter_code(r: Reader, check: Callable[[str], Awaitable[Any]], relogin: bool) -> str:
    """Read a code (not echoed) and check it: "ok", "again" (back to the menu) or "restart"."""
    while True:
        raw = await r.ask(
            _("One-time code, 6 digits (not shown as you type; Enter alone goes back):"),
            secret=True,
        )
        code = raw.replace(" ", "").strip()
        if not code:
            return "again"
        if not (code.isascii() and code.isdigit()):
            r.say(
                "error",
                _("the code is made of digits only, with no letters. Type the code again."),
            )
            continue
        if len(code) != 6:
            r.say(
                "error",
                _("the code has 6 digits; you typed {n}. Type the code again.").format(n=len(code)),
            )
            continue
        try:
            await r.call(_("Checking the code…"), lambda c=code: check(c), relogin=relogin)
        except Failed as failed:
            if type(failed.error).__name__ in RESTART:
                return "restart"
            continue
        return "ok"


@handles("login.send_sms")
async def send_sms(r: Reader, challenge: str) -> None:
    await send_code(r, "sms", lambda: r.client.send_code(challenge, "sms"), relogin=False)


@handles("login.send_email")
async def send_email(r: Reader, challenge: str) -> None:
    await send_code(r, "email", lambda: r.client.send_code(challenge, "email"), relogin=False)


def spoken_destination(destination: str) -> str:
    """ "•• •• •• 78" -> "… 78": the hidden part as one pause, not "bullet" six times."""
    return re.sub(r"•[•\s]*•|•", "…", destination).strip()


async def send_code(
    r: Reader, channel: str, send: Callable[[], Awaitable[Any]], relogin: bool
) -> None:
    before = len(await demo_messages(r))
    words = _("Sending a code by SMS…") if channel == "sms" else _("Sending a code by email…")
    sent = await r.call(words, send, relogin=relogin)
    r.say(
        "done",
        _("A code was sent to {destination}. It is valid {minutes} minutes.").format(
            destination=spoken_destination(sent.destination), minutes=sent.expires_in // 60
        ),
    )
    await demo_phone(r, before, channel)


# --- the demo phone --------------------------------------------------------------------------


def read_outbox(path: Path) -> list[dict[str, Any]]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except (FileNotFoundError, UnicodeDecodeError):
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


async def demo_messages(r: Reader) -> list[dict[str, Any]]:
    if r.config.outbox is None:
        return []
    return await asyncio.to_thread(read_outbox, r.config.outbox)


async def demo_phone(r: Reader, before: int, channel: str) -> None:
    """In the demo, say what the demo host sent (it delivers every half second)."""
    if r.config.outbox is None:
        return
    deadline = time.monotonic() + 5.0
    while True:
        new = (await demo_messages(r))[before:]
        if any(m.get("channel") == channel for m in new) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.25)
    for m in new:
        kind = "SMS" if m.get("channel") == "sms" else _("Email")
        lines = str(m.get("body", "")).splitlines()
        body = " ".join(line.strip() for line in lines if line.strip())
        r.say(
            "demo",
            _("{kind} to {recipient}: {body}").format(
                kind=kind, recipient=m.get("recipient", ""), body=body
            ),
        )
    if not any(m.get("channel") == channel for m in new):
        r.say(
            "warning",
            _("the demo phone has no new message yet. Ask for a code again in a moment."),
        )


# --- a fresh code, and typed confirmations ---------------------------------------------------


async def step_up(r: Reader) -> bool:
    """Ask for a fresh one-time code and give it to the host: True when accepted."""
    r.say("info", _("This action needs a fresh one-time code."))
    entries = code_entries({"totp", "sms", "email"}, Entry("0", _("Cancel")))
    while True:
        show_menu(r, _("How do you want to get your one-time code?"), entries)
        answer = await ask_code_choice(r, r.screen)
        if answer in ("0", "b"):
            return False
        if answer not in ("1", "2", "3"):
            r.wrong_choice(answer, _("Type one of the numbers above."))
            continue
        if answer in ("2", "3"):
            channel = "sms" if answer == "2" else "email"
            try:
                await send_code(r, channel, lambda c=channel: r.client.step_up_send(c), True)
            except Failed:
                continue
        if await enter_code(r, r.client.step_up, relogin=True) == "ok":
            return True


async def confirm_word(r: Reader, word: str) -> bool:
    """Ask the patient to type ``word``: True when typed, False when cancelled."""
    while True:
        question = _(
            "To confirm, type the word “{word}”, then press Enter (Enter alone cancels):"
        ).format(word=word)
        typed = (await r.ask(question)).strip()
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
    entries = [Entry("1", label), Entry("0", _("Cancel"))]
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


async def choose_from(r: Reader, entries: list[Entry]) -> str | None:
    """A menu's answer among ``entries`` (None for back); reads the menu again on Enter."""
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
            page = await self.r.call(
                self.more_words, lambda c=self.cursor: self.fetch(c, self.batch)
            )
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
        first, last = self.span()
        self.r.say(
            "error",
            _(
                "there is no entry {n} in this list. Type a number from {first} to {last}, "
                "or n for the next page."
            ).format(n=answer, first=first, last=last),
        )
        return None


# --- screen 1: home --------------------------------------------------------------------------


def main_menu() -> list[Entry]:
    return [Entry(str(s.number), _(s.title)) for s in catalogue.SCREENS]


async def home(r: Reader) -> None:
    r.enter("home")

    async def fetch() -> tuple[Any, Any]:
        record = await r.client.record()
        notes = None
        if record.status == "active":
            notes = await r.client.notifications(limit=50, unread=True)
        return record, notes

    try:
        record, notes = await r.call(_("Loading your record…"), fetch)
    except Abort:
        pass
    else:
        r.say("done", _("Your record is up to date."))
        for line in summary_lines(record, notes):
            r.say("info", line)
    title = _("Main menu: type a screen's number, then Enter.")
    show_menu(r, title, main_menu())
    while True:
        try:
            answer = await r.ask_choice()
        except Back:
            r.say("info", _("This is the main menu: there is nothing to go back to. q: quit."))
            continue
        if answer == "":
            show_menu(r, title, main_menu())
            continue
        spec = next((s for s in catalogue.SCREENS if str(s.number) == answer), None)
        if spec is not None:
            raise Navigate(spec.key)
        r.wrong_choice(answer, _("Type a number from 1 to 9."))


def summary_lines(record: Any, notes: Any) -> list[str]:
    lines = w.record_summary(record)
    heading, unread = w.unread_summary(notes)
    if heading:
        lines.append(heading)
        lines += [f"{_('EMERGENCY ACCESS:')} {text}" if urgent else text for urgent, text in unread]
    return lines


# --- screen 2: documents ---------------------------------------------------------------------


@dataclass
class Documents:
    pager: Pager
    total: int | None = None  # known when the list is whole or unfiltered
    type: str | None = None
    query: str = ""
    sort: str = ""  # "" is the host's order: newest first


async def documents(r: Reader) -> None:
    r.enter("documents")

    async def fetch(cursor: str | None, limit: int) -> Any:
        return await r.client.documents(limit=limit, cursor=cursor, type=st.type, q=st.query)

    st = Documents(Pager(r, fetch, _("Loading more documents…")))
    await load_documents(r, st)
    show_documents(r, st)
    while True:
        answer = await r.ask_choice()
        if answer == "":
            show_documents(r, st)
        elif answer in ("n", "p"):
            if await st.pager.turn(answer):
                show_documents(r, st)
        elif answer.isdigit():
            index = await st.pager.index(answer)
            if index is not None:
                await attempt(HANDLERS["documents.open"](r, st, index))
                show_documents(r, st, brief=True)
        elif answer in ("s", "/"):
            await attempt(HANDLERS["documents.search"](r, st))
        elif answer == "t":
            await attempt(HANDLERS["documents.filter"](r, st))
        elif answer == "o":
            await attempt(HANDLERS["documents.sort"](r, st))
        else:
            r.wrong_choice(
                answer, _("Type a document's number, n, p, s (search), t (type) or o (sort).")
            )


async def attempt(action: Awaitable[Any]) -> None:
    """Run an action; one that stopped (and said why) leaves the screen where it was."""
    try:
        await action
    except Abort:
        pass


async def load_documents(r: Reader, st: Documents) -> None:
    async def total() -> int | None:
        record = await r.client.record()
        return record.counts.get("documents")

    await st.pager.load(_("Loading your documents…"))
    st.total = len(st.pager.items) if st.pager.complete else None
    if st.total is None and not (st.type or st.query):
        st.total = await r.call(_("Counting your documents…"), total)
    st.sort = ""
    n = st.total
    if n is None:
        r.say(
            "done",
            ngettext(
                "the first {n} document is loaded; more load as you turn the pages.",
                "the first {n} documents are loaded; more load as you turn the pages.",
                len(st.pager.items),
            ).format(n=format_number(len(st.pager.items))),
        )
    elif n == 0:
        r.say(
            "done",
            _("no document matches. s: search again, t: another type.")
            if st.type or st.query
            else _("your record has no documents."),
        )
    elif n == 1:
        r.say("done", _("1 document."))
    else:
        r.say("done", _("{n} documents.").format(n=format_number(n)))
    if st.type or st.query:
        say_view(r, st)


def say_view(r: Reader, st: Documents) -> None:
    """Which documents the list holds, and in which order."""
    kind = w.type_label(st.type) if st.type else _("all types")
    order = _(w.SORT_WORDS[st.sort]) if st.sort else _("newest first")
    r.say(
        "info",
        _("Showing: {kind}; search: {search}; order: {order}.").format(
            kind=kind, search=st.query or _("none"), order=order
        ),
    )


def show_documents(r: Reader, st: Documents, brief: bool = False) -> None:
    """The page: a heading with the keys, then one sentence per document (``brief``: the
    heading only, when coming back from a document)."""
    pager = st.pager
    if not pager.items:
        r.say("info", _("s: search, t: filter by type."))
        return
    first, last = pager.span()
    if st.total is not None:
        head = _("Documents {first} to {last} of {total}.").format(
            first=first, last=last, total=format_number(st.total)
        )
    else:
        head = _("Documents {first} to {last}, and more after these.").format(
            first=first, last=last
        )
    r.say("info", head + " " + _("n: next, p: previous, a number: open."))
    if brief:
        r.say("info", _("Enter alone reads this page again."))
        return
    for i in pager.shown():
        r.say("item", w.document_sentence(i + 1, pager.items[i]))
    r.say("info", _("Also: s: search in titles, t: filter by type, o: sort."))


@handles("documents.search")
async def search_documents(r: Reader, st: Documents) -> None:
    words = (
        await r.ask(_("Words of the title to search (Enter alone shows every document):"))
    ).strip()
    st.query = " ".join(words.split())
    await load_documents(r, st)
    show_documents(r, st)


@handles("documents.filter")
async def filter_documents(r: Reader, st: Documents) -> None:
    entries = [Entry("1", _("all types"))] + [
        Entry(str(i + 2), w.type_label(code)) for i, code in enumerate(w.TYPES)
    ]
    show_menu(r, _("Which type of document? 0: cancel."), entries)
    answer = await choose_from(r, entries)
    if answer is None:
        r.say("info", _("Nothing was changed."))
        return
    st.type = None if answer == "1" else w.TYPES[int(answer) - 2]
    await load_documents(r, st)
    show_documents(r, st)


@handles("documents.sort")
async def sort_documents(r: Reader, st: Documents) -> None:
    entries = [Entry(str(i + 1), _(w.SORT_WORDS[key])) for i, key in enumerate(w.SORTS)]
    show_menu(r, _("Sort by what? 0: cancel."), entries)
    answer = await choose_from(r, entries)
    if answer is None:
        r.say("info", _("Nothing was changed."))
        return
    await st.pager.everything()
    st.sort = w.SORTS[int(answer) - 1]
    st.pager.items.sort(key=w.sort_key(st.sort))
    st.pager.start = 0
    r.say(
        "done",
        _("sorted by {sort}, here on this device.").format(sort=_(w.SORT_WORDS[st.sort])),
    )
    say_view(r, st)
    show_documents(r, st)


@dataclass
class DocumentView:
    st: Documents
    index: int
    deleted: bool = False

    @property
    def doc(self) -> Any:
        return self.st.pager.items[self.index]

    def replace(self, new: Any) -> None:
        self.st.pager.items[self.index] = new


@handles("documents.open")
async def open_document(r: Reader, st: Documents, index: int) -> None:
    """Read one document: its details as "Label: value" lines, then its text; then what to do
    with it. Back (0) returns to the list."""
    view = DocumentView(st, index)
    doc = view.doc
    r.say("info", _("Document {n}: {title}").format(n=index + 1, title=doc.title))
    for line in w.metadata_lines(doc):
        r.say("item", line)
    try:
        data, content_type = await r.call(
            _('Opening "{title}"…').format(title=doc.title), lambda: r.client.content(doc.id)
        )
    except Failed as failed:
        await gone(r, st, failed)
        return
    if w.is_pdf(content_type or doc.content_type):
        r.say(
            "info",
            _(
                "This document is a PDF ({size}). Screen-reader mode cannot read a PDF: "
                "choose “Save to a file”, then open the file with your PDF reader."
            ).format(size=w.size_words(len(data))),
        )
    else:
        r.say("info", _("The text of the document:"))
        for line in data_lines(data.decode("utf-8", errors="replace")):
            r.say("text", line)
        r.say("info", _("End of the document."))
    while not view.deleted:
        shown = [
            a
            for a in DOCUMENT_MENU
            if not (a == "documents.mask" and w.is_masked(view.doc))
            and not (a == "documents.unmask" and not w.is_masked(view.doc))
        ]
        entries = numbered(DOCUMENT_MENU, shown)
        show_menu(r, _("What do you want to do with this document? 0: back to the list."), entries)
        answer = await choose_from(r, entries)
        if answer is None:
            return
        action = pick_number(answer, DOCUMENT_MENU, shown)
        assert action is not None
        try:
            await HANDLERS[action](r, view)
        except Failed as failed:
            if type(failed.error).__name__ == "NotFound":
                await gone(r, st, failed)
                return
        except Abort:
            pass


async def gone(r: Reader, st: Documents, failed: Failed) -> None:
    """The document no longer exists (deleted elsewhere): the list is loaded again."""
    if type(failed.error).__name__ != "NotFound":
        raise Abort from None
    await load_documents(r, st)


@handles("documents.mask")
async def mask(r: Reader, view: DocumentView) -> None:
    doc = view.doc
    new = await r.call(
        _('Hiding "{title}"…').format(title=doc.title), lambda: r.client.mask(doc.id)
    )
    view.replace(new)
    r.say("done", _('"{title}" is now hidden from practitioners.').format(title=new.title))


@handles("documents.unmask")
async def unmask(r: Reader, view: DocumentView) -> None:
    doc = view.doc
    new = await r.call(
        _('Showing "{title}" again…').format(title=doc.title), lambda: r.client.unmask(doc.id)
    )
    view.replace(new)
    r.say("done", _('"{title}" is now visible to practitioners again.').format(title=new.title))


@handles("documents.delete")
async def delete(r: Reader, view: DocumentView) -> None:
    doc = view.doc
    kept = _('Nothing was deleted: "{title}" is still in your record.').format(title=doc.title)
    r.say("info", _('Delete "{title}"?').format(title=doc.title))
    r.say("info", _(catalogue.ACTION_BY_ID["documents.delete"].confirm or ""))
    if not await confirm_word(r, _("delete")) or not await step_up(r):
        r.say("info", kept)
        return
    await r.call(
        _('Deleting "{title}"…').format(title=doc.title),
        lambda: r.client.delete_document(doc.id),
    )
    r.say("done", _('"{title}" is deleted for everyone.').format(title=doc.title))
    view.deleted = True
    st = view.st
    del st.pager.items[view.index]
    if st.total is not None:
        st.total -= 1
    if st.pager.start >= len(st.pager.items) and st.pager.start > 0:
        st.pager.start = max(0, st.pager.start - st.pager.size)


@handles("documents.save")
async def save(r: Reader, view: DocumentView) -> None:
    doc = view.doc

    async def fetch_and_save() -> w.Saved:
        data, content_type = await r.client.content(doc.id)
        return await w.save_content(doc, data, content_type or doc.content_type)

    saved = await r.call(_('Saving "{title}"…').format(title=doc.title), fetch_and_save)
    if saved.path is None:
        r.say("error", saved.problem)
    else:
        r.say(
            "done",
            _('"{title}" is saved in {path}').format(title=doc.title, path=str(saved.path)),
        )


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
    words = ngettext(
        "{n} practitioner found in the directory for “{q}”.",
        "{n} practitioners found in the directory for “{q}”.",
        len(st.found),
    ).format(n=format_number(len(st.found)), q=q)
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
            ngettext(
                "Directory results for “{q}”: {n} practitioner. This is the directory, not "
                "your list. A number: choose one; 0: back to your practitioners.",
                "Directory results for “{q}”: {n} practitioners. This is the directory, not "
                "your list. A number: choose one; 0: back to your practitioners.",
                len(st.found),
            ).format(q=st.query, n=format_number(len(st.found))),
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
        _("Removing {name}'s access…").format(name=Name(person.name)),
    )
    if st.links.is_attending(person.rpps):
        text = _(
            "{name}'s authorisation was removed; as your médecin traitant, they "
            "can still access your record."
        )
    else:
        text = _("{name} can no longer access your record.")
    r.say("done", text.format(name=Name(person.name)))


@handles("practitioners.block")
async def block(r: Reader, st: Practitioners, person: w.Person) -> None:
    if st.links.is_attending(person.rpps):
        r.say("error", _(BY_REASON["attending_cannot_be_blocked"]))
        return
    r.say("info", _("Block {name}?").format(name=Name(person.name)))
    r.say("info", _(catalogue.ACTION_BY_ID["practitioners.block"].confirm or ""))
    if not await choose_yes(r, _("Block {name}").format(name=Name(person.name))):
        r.say("info", _("Nothing was changed."))
        return
    await practitioners_changed(
        r,
        st,
        lambda: r.client.block(person.rpps),
        _("Blocking {name}…").format(name=Name(person.name)),
    )
    r.say(
        "done",
        _(
            "{name} is blocked: they cannot open your record in any mode, emergencies included."
        ).format(name=Name(person.name)),
    )


@handles("practitioners.unblock")
async def unblock(r: Reader, st: Practitioners, person: w.Person) -> None:
    await practitioners_changed(
        r,
        st,
        lambda: r.client.unblock(person.rpps),
        _("Unblocking {name}…").format(name=Name(person.name)),
    )
    r.say(
        "done",
        _(
            "{name} is no longer blocked. They need your authorisation to "
            "access your record, except in an emergency."
        ).format(name=Name(person.name)),
    )


@handles("practitioners.attending")
async def attending(r: Reader, st: Practitioners, person: w.Person) -> None:
    previous = st.links.attending
    await practitioners_changed(
        r,
        st,
        lambda: r.client.designate_attending(person.rpps),
        _("Designating {name} as your médecin traitant…").format(name=Name(person.name)),
    )
    text = _(
        "{name} is now your médecin traitant: they see all your documents, hidden ones included."
    ).format(name=Name(person.name))
    if previous is not None:
        text += " " + _("{previous} is no longer your médecin traitant.").format(
            previous=previous.name
        )
    r.say("done", text)


# --- screen 4: access trace ------------------------------------------------------------------


@dataclass
class Trace:
    pager: Pager
    filter: w.TraceFilter = field(default_factory=w.TraceFilter)


async def trace(r: Reader) -> None:
    r.enter("trace")

    async def fetch(cursor: str | None, limit: int) -> Any:
        return await r.client.trace(limit=limit, cursor=cursor, **st.filter.query())

    st = Trace(Pager(r, fetch, _("Loading older entries…")))
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
                for line in w.trace_lines(st.pager.items[index]):
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
    await st.pager.load(_("Loading the access trace…"))
    n = len(st.pager.items)
    if n == 0:
        text = (
            _("no entry matches this filter.")
            if st.filter.active
            else _("the access trace is empty.")
        )
    elif n == 1 and st.pager.complete:
        text = _("1 entry in the access trace.")
    elif st.pager.complete:
        text = ngettext(
            "{n} entry in the access trace, newest first.",
            "{n} entries in the access trace, newest first.",
            n,
        ).format(n=format_number(n))
    else:
        text = ngettext(
            "the newest {n} entry of the access trace is loaded; older ones load as you "
            "turn the pages.",
            "the newest {n} entries of the access trace are loaded; older ones load as you "
            "turn the pages.",
            n,
        ).format(n=format_number(n))
    if n:
        text += " " + _("Times are Paris time.")
    r.say("done", text)


async def seal_trace(r: Reader, st: Trace) -> None:
    """The same line as the trace screen's seal (``dmptui.trace_check``): verified up to entry
    N, or why the host's trace can't be trusted, for the entries loaded."""
    from dmptui.trace_check import CheckpointStore, TraceChecker

    checker = getattr(r, "trace_checker", None)
    if checker is None:
        store = CheckpointStore.in_dir(getattr(r.config, "data_dir", None))
        checker = r.trace_checker = TraceChecker(r.client, store)  # type: ignore[attr-defined]
    seal = await checker.check(st.pager.items, complete=not st.filter.active)
    r.say("error" if seal.failed else "info", seal.words())


def show_trace(r: Reader, st: Trace) -> None:
    r.say("info", st.filter.words())
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
    for i in pager.shown():
        r.say("item", w.trace_sentence(i + 1, pager.items[i]))
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
                r.say(
                    "error",
                    _(
                        "Practitioner: an RPPS number has 11 digits (check the last one), or "
                        "type part of a name."
                    )
                    + " "
                    + _("Nothing was sent."),
                )
                continue
        break
    modes = list(w.MODE_CHOICES)
    entries = [Entry(str(i + 1), _(w.MODE_CHOICES[m])) for i, m in enumerate(modes)]
    show_menu(r, _("Which accesses? 0: cancel the filter."), entries)
    answer = await choose_from(r, entries)
    if answer is None:
        r.say("info", _("Nothing was changed."))
        return
    mode = modes[int(answer) - 1]
    days: list[Any] = []
    for name, question in (
        (_("From"), _("From which day, as YYYY-MM-DD (Enter alone: no limit):")),
        (_("Until"), _("Until which day, included, as YYYY-MM-DD (Enter alone: no limit):")),
    ):
        while True:
            try:
                days.append(w.parse_day(await r.ask(question)))
                break
            except ValueError:
                r.say(
                    "error",
                    _("{field}: write the day as YYYY-MM-DD, for example 2026-01-31.").format(
                        field=name
                    )
                    + " "
                    + _("Nothing was sent."),
                )
    since, until = days
    if since and until and until < since:
        r.say(
            "error",
            _("Until: the last day comes before the first day. Correct one of them.")
            + " "
            + _("Nothing was sent."),
        )
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


# --- screen 5: emergency access --------------------------------------------------------------


async def emergency(r: Reader) -> None:
    r.enter("emergency")
    record = await r.call(_("Loading your emergency access choices…"), r.client.record)
    refused = {
        w.BREAK_GLASS: record.oppositions.break_glass,
        w.REGULATION: record.oppositions.regulation,
    }
    r.say("done", _("Your emergency access choices are loaded."))

    def show() -> None:
        r.say(
            "info",
            _(
                "Two separate choices: you can allow or refuse each one on its "
                "own. Changing one never changes the other."
            ),
        )
        r.say("info", w.state_text(w.BREAK_GLASS, refused[w.BREAK_GLASS]))
        r.say("info", w.state_text(w.REGULATION, refused[w.REGULATION]))
        entries = numbered(EMERGENCY_MENU, list(EMERGENCY_MENU))
        show_menu(r, _("What do you want to change?"), entries)

    show()
    while True:
        answer = await r.ask_choice()
        if answer == "":
            show()
            continue
        action = pick_number(answer, EMERGENCY_MENU, list(EMERGENCY_MENU))
        if action is None:
            r.wrong_choice(answer, keys_of(EMERGENCY_MENU, list(EMERGENCY_MENU)))
            continue
        try:
            await HANDLERS[action](r, refused)
        except Abort:
            continue
        show()


@handles("emergency.break_glass")
async def change_break_glass(r: Reader, refused: dict[str, bool]) -> None:
    await change_opposition(r, refused, w.BREAK_GLASS)


@handles("emergency.regulation")
async def change_regulation(r: Reader, refused: dict[str, bool]) -> None:
    await change_opposition(r, refused, w.REGULATION)


async def change_opposition(r: Reader, refused: dict[str, bool], which: str) -> None:
    refuse = not refused[which]
    question, consequence = w.change_text(which, refuse)
    r.say("info", question)
    r.say("info", consequence)
    if not await confirm_word(r, _("confirm")) or not await step_up(r):
        r.say("info", w.unchanged_text(which, not refuse))
        raise Abort
    wanted = dict(refused)
    wanted[which] = refuse
    result = await r.call(
        _("Saving your choice…"),
        lambda: r.client.set_oppositions(wanted[w.BREAK_GLASS], wanted[w.REGULATION]),
    )
    refused[w.BREAK_GLASS], refused[w.REGULATION] = result.break_glass, result.regulation
    r.say("done", w.done_text(which, getattr(result, which)))


# --- screen 6: my record ---------------------------------------------------------------------


async def record(r: Reader) -> None:
    r.enter("record")
    current = await r.call(_("Loading your record…"), r.client.record)
    r.say("done", _("Your record is loaded."))
    state = {"record": current}

    def show() -> list[str]:
        rec = state["record"]
        status = str(rec.status)
        if status == "closed":
            r.say(
                "info",
                _(
                    "Your record is CLOSED since {closed}: nobody can access it, you included."
                ).format(closed=format_date(rec.closed_at)),
            )
            if rec.purge_after is not None:
                r.say(
                    "info",
                    _(
                        "It is kept until {date}, then destroyed. You can reopen it until then."
                    ).format(date=format_date(rec.purge_after)),
                )
            shown = ["record.reactivate", "record.erase"]
        elif status == "erased":
            r.say("info", _("Your record is ERASED: nothing in it can be recovered."))
            shown = []
        else:
            r.say("info", _("Your record is OPEN: you and the practitioners you allow can use it."))
            shown = ["record.close", "record.erase"]
        entries = numbered(RECORD_MENU, shown)
        show_menu(r, _("What you can do:"), entries)
        for action_id in shown:
            action = catalogue.ACTION_BY_ID[action_id]
            r.say(
                "info",
                _("{label}: {help}").format(label=_(action.label), help=_(action.help)),
            )
        return shown

    shown = show()
    while True:
        answer = await r.ask_choice()
        if answer == "":
            shown = show()
            continue
        action = pick_number(answer, RECORD_MENU, shown)
        if action is None:
            r.wrong_choice(answer, keys_of(RECORD_MENU, shown))
            continue
        try:
            await HANDLERS[action](r, state)
        except Abort:
            continue
        shown = show()


@handles("record.close")
async def close_record(r: Reader, state: dict[str, Any]) -> None:
    still = _("Nothing was changed: your record is still open.")
    r.say("info", _("Close your record?"))
    r.say("info", _(catalogue.ACTION_BY_ID["record.close"].confirm or ""))
    if not await confirm_word(r, _("close")) or not await step_up(r):
        r.say("info", still)
        raise Abort
    done = await r.call(_("Closing your record…"), r.client.close_record)
    r.say("done", pick(done.message))
    raise SessionEnded


@handles("record.reactivate")
async def reopen_record(r: Reader, state: dict[str, Any]) -> None:
    r.say("info", _("Reopen your record?"))
    r.say(
        "info",
        _(
            "Your record will be open again: everything it held comes back, with "
            "the same authorisations and blocks, and the practitioners you allow "
            "can use it again. The 10-year countdown stops."
        ),
    )
    if not await choose_yes(r, _(catalogue.ACTION_BY_ID["record.reactivate"].label)):
        r.say("info", _("Nothing was changed: your record is still closed."))
        raise Abort
    # A login is fresh for a few minutes; if it is not, the host asks for a code (``call``).
    done = await r.call(_("Reopening your record…"), r.client.reactivate_record)
    state["record"] = await r.call(_("Loading your record…"), r.client.record)
    r.say("done", pick(done.message))


@handles("record.erase")
async def erase_record(r: Reader, state: dict[str, Any]) -> None:
    closed = str(state["record"].status) == "closed"
    still = (
        _("Nothing was changed: your record is still closed.")
        if closed
        else _("Nothing was changed: your record is still open.")
    )
    r.say("info", _("Erase your record for good?"))
    r.say("info", _(catalogue.ACTION_BY_ID["record.erase"].confirm or ""))
    if not await confirm_word(r, _("erase")) or not await step_up(r):
        r.say("info", still)
        raise Abort
    done = await r.call(_("Erasing your record…"), r.client.erase_record)
    r.say("done", pick(done.message))
    raise SessionEnded


# --- screen 7: personal space ----------------------------------------------------------------


@dataclass
class Notes:
    text: str = ""
    updated_at: Any = None


async def notes(r: Reader) -> None:
    r.enter("notes")
    answer = await r.call(_("Loading your notes…"), r.client.notes)
    st = Notes(answer.text, answer.updated_at)
    r.say("done", _("Your notes are loaded."))

    def show() -> list[Entry]:
        r.say(
            "info",
            _(
                "Your personal space: advance directives, people to contact in "
                "an emergency, allergies you want known. Practitioners you "
                "authorised can read it."
            ),
        )
        if st.text.strip():
            r.say("info", _("Your notes:"))
            for line in data_lines(st.text):
                r.say("text", line)
            r.say("info", _("End of your notes."))
            if st.updated_at is not None:
                r.say(
                    "info",
                    _("Saved — last saved {when}.").format(
                        when=format_datetime(st.updated_at, zone=True)
                    ),
                )
        else:
            r.say("info", _("You have no notes yet."))
        entries = numbered(NOTES_MENU, list(NOTES_MENU))
        show_menu(r, _("What do you want to do?"), entries)
        return entries

    show()
    while True:
        choice = await r.ask_choice()
        if choice == "":
            show()
            continue
        action = pick_number(choice, NOTES_MENU, list(NOTES_MENU))
        if action is None:
            r.wrong_choice(choice, keys_of(NOTES_MENU, list(NOTES_MENU)))
            continue
        try:
            await HANDLERS[action](r, st)
        except Abort:
            continue
        show()


@handles("notes.save")
async def save_notes(r: Reader, st: Notes) -> None:
    entries = [
        Entry("1", _("Add lines at the end of my notes")),
        Entry("2", _("Replace all my notes")),
        Entry("0", _("Cancel")),
    ]
    show_menu(r, _("How do you want to change your notes?"), entries)
    answer = await choose_from(r, entries)
    if answer is None:
        r.say("info", _("Nothing was changed."))
        raise Abort
    r.say(
        "info",
        _(
            "Type your text one line at a time, pressing Enter after each line. A line with "
            "only a dot (.) ends the text and saves it. An empty first line cancels."
        ),
    )
    lines: list[str] = []
    while True:
        line = await r.ask(_("Line {n}:").format(n=len(lines) + 1))
        if line.strip() == ".":
            break
        if not lines and not line.strip():
            r.say("info", _("Nothing was changed."))
            raise Abort
        lines.append(line)
    added = "\n".join(lines)
    text = f"{st.text.rstrip()}\n{added}" if answer == "1" and st.text.strip() else added
    if len(text) > MAX_NOTES:
        r.say(
            "error",
            _(
                "Your notes are too long: {n} characters, at most {max}. "
                "Shorten them, then save again."
            ).format(n=format_number(len(text)), max=format_number(MAX_NOTES)),
        )
        raise Abort
    try:
        saved = await r.call(_("Saving your notes…"), lambda: r.client.save_notes(text))
    except Navigate:  # changed elsewhere meanwhile: the notes are shown again; keep the lines
        r.say("info", _("The lines you typed, not saved, to type again after checking:"))
        for line in lines:
            r.say("text", line)
        raise
    st.text, st.updated_at = saved.text, saved.updated_at
    r.say("done", _("your notes are saved."))


# --- screen 8: notifications -----------------------------------------------------------------


async def notifications(r: Reader) -> None:
    r.enter("notifications")

    async def fetch(cursor: str | None, limit: int) -> Any:
        return await r.client.notifications(limit=limit, cursor=cursor)

    pager = Pager(r, fetch, _("Loading more notifications…"), NOTIFICATIONS_BATCH)

    async def load(after: str | None = None) -> None:
        await pager.load(_("Loading your notifications…"))
        await pager.everything()  # emergency accesses first: all of them are needed
        pager.items.sort(key=w.notification_order)
        items = pager.items
        if after:
            r.say("done", after)
        elif not items:
            r.say("done", _("you have no notifications."))
        else:
            r.say(
                "done",
                _(
                    "Notifications: {total}, {unread} unread; emergency accesses first "
                    "({emergencies})."
                ).format(
                    total=len(items),
                    unread=sum(1 for n in items if not n.read),
                    emergencies=sum(1 for n in items if n.emergency),
                )
                + " "
                + _("Times are Paris time."),
            )

    def show() -> None:
        if not pager.items:
            return
        first, last = pager.span()
        r.say(
            "info",
            _("Notifications {first} to {last} of {total}.").format(
                first=first, last=last, total=format_number(len(pager.items))
            )
            + " "
            + _("n: next, p: previous, r: mark all as read."),
        )
        for i in pager.shown():
            r.say("item", notification_sentence(i + 1, pager.items[i]))

    await load()
    show()
    while True:
        answer = await r.ask_choice()
        if answer == "":
            show()
        elif answer in ("n", "p"):
            if await pager.turn(answer):
                show()
        elif answer.isdigit():
            index = await pager.index(answer)
            if index is not None:
                r.say("item", notification_sentence(index + 1, pager.items[index]))
        elif answer == "r":
            try:
                await HANDLERS["notifications.read_all"](r, pager)
            except Abort:
                continue
            await load(after=_("every notification is now marked as read."))
            show()
        else:
            r.wrong_choice(answer, _("Type n, p, a number, or r to mark all as read."))


def notification_sentence(n: int, item: Any) -> str:
    if item.emergency:
        about = _("EMERGENCY ACCESS")
    elif item.kind in w.NOTIFICATION_KINDS:
        about = _(w.NOTIFICATION_KINDS[item.kind])
    else:
        about = item.kind
    return _("{n}. {about}, {status}, {when}: {message}").format(
        n=n,
        about=about,
        status=_("read") if item.read else _("UNREAD"),
        when=format_datetime(item.at),
        message=pick(item.message),
    )


@handles("notifications.read_all")
async def read_all(r: Reader, pager: Pager) -> None:
    if pager.items and pager.complete and all(n.read for n in pager.items):
        r.say("info", _("Nothing to do: every notification is already read."))
        raise Abort
    await r.call(_("Marking every notification as read…"), r.client.mark_notifications_read)


# --- screen 9: help, and the actions of every screen -----------------------------------------


async def help_screen(r: Reader) -> None:
    r.enter("help")

    def show() -> None:
        r.say(
            "info",
            _(
                "Screen-reader mode: every screen has a number (the main menu lists them). "
                "Answer each question with a number or a letter, then Enter."
            ),
        )
        for action in catalogue.actions_for("*"):
            r.say(
                "item",
                _("{key}: {label}. {help}").format(
                    key=reader_key(action.id), label=_(action.label), help=_(action.help)
                ),
            )
        r.say("info", GLOBAL_KEYS())
        for spec in catalogue.SCREENS:
            if catalogue.actions_for(spec.key):
                for kind, line in help_lines(spec.key, everywhere=False):
                    r.say(kind, line)
        r.say("info", _("0: back to the main menu."))

    show()
    while True:
        answer = await r.ask_choice()
        if answer == "":
            show()
        else:
            r.wrong_choice(answer, _("Type 0 to go back, or m for the main menu."))


@handles("app.help")
async def app_help(r: Reader) -> None:
    print_help(r, r.screen)


@handles("app.back")
async def app_back(r: Reader) -> None:
    raise Back


@handles("app.logout")
async def app_logout(r: Reader) -> None:
    raise Logout


@handles("app.quit")
async def app_quit(r: Reader) -> None:
    raise Quit


SCREENS: dict[str, Callable[[Reader], Awaitable[None]]] = {
    "home": home,
    "documents": documents,
    "practitioners": practitioners,
    "trace": trace,
    "emergency": emergency,
    "record": record,
    "notes": notes,
    "notifications": notifications,
    "help": help_screen,
}
