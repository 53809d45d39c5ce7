"""Screen-reader mode's navigation and parity with the TUI, in process against the real host
over real HTTP: ``g`` and a screen's number from any menu, ``w`` (where am I), ``q``/``h``/Enter
at the password and code questions, a choice that is not offered says why, the médecin traitant
changed (confirmed, the former one keeping ordinary access or not) and unset, the notes edited
a line at a time, and "remember me on this device" in a real keyring backend."""

from __future__ import annotations

import asyncio
import io
import queue
import re
import time
from typing import Any

import pytest
from hostkit import LiveHost
from test_session import MemoryKeyring

from dmptui import i18n
from dmptui.client import Client
from dmptui.reader.app import Reader, ReaderConfig
from dmptui.reader.io import Console
from dmptui.session import LAST_ACCOUNT, TokenStore

CHOICE = "Your choice:"
PASSWORD = "Password (not shown as you type):"
CODE = "One-time code, 6 digits (not shown as you type; Enter alone goes back):"


class Typist(io.TextIOBase):
    """Standard input typed by the test, line by line (the reader reads it in a thread)."""

    def __init__(self) -> None:
        self.lines: queue.Queue[str] = queue.Queue()

    def readline(self, size: int = -1) -> str:
        return self.lines.get(timeout=60)

    def isatty(self) -> bool:
        return False


class Run:
    """The reader on its own task; the test types lines and waits for what comes."""

    def __init__(self, host: LiveHost, store: TokenStore | None = None, ins: str = "") -> None:
        i18n.set_language("en")
        self.host = host
        self.out = io.StringIO()
        self.typist = Typist()
        config = ReaderConfig(host_url=host.url, ins=ins or host.ins, token_store=store)
        self.reader = Reader(
            config, Console(stdin=self.typist, stdout=self.out), Client(host.url, timeout=10)
        )
        self.mark = 0
        self.task: asyncio.Task[int] | None = None

    def start(self) -> None:
        self.task = asyncio.create_task(self.reader.main())

    @property
    def text(self) -> str:
        return self.out.getvalue()

    async def until(self, needle: str, timeout: float = 20) -> str:
        """Wait for ``needle`` after the mark; move the mark past it; return what came."""
        deadline = time.monotonic() + timeout
        while True:
            at = self.text.find(needle, self.mark)
            if at >= 0:
                came = self.text[self.mark : at + len(needle)]
                self.mark = at + len(needle)
                return came
            if self.task is not None and self.task.done():
                raise AssertionError(f"the reader ended before {needle!r}:\n{self.text}")
            if time.monotonic() > deadline:
                raise AssertionError(f"never came: {needle!r}\n--- output ---\n{self.text}")
            await asyncio.sleep(0.02)

    def type(self, line: str) -> None:
        self.typist.lines.put(line + "\n")

    async def answer(self, line: str, question: str = CHOICE) -> str:
        came = await self.until(question)
        self.type(line)
        return came

    async def log_in(self, remember: bool = False) -> None:
        await self.answer("", "Press Enter to keep")
        await self.answer(self.host.password, PASSWORD)
        if remember:
            menu = await self.answer("r")
            assert "r. Remember me on this device: no (r changes it)" in menu
            menu = await self.until(CHOICE)
            assert "r. Remember me on this device: yes (r changes it)" in menu
            self.type("1")
        else:
            await self.answer("1")
        await self.answer(self.host.code(), CODE)
        await self.until("Done: you are logged in.")

    async def quit(self) -> str:
        await self.answer("q")
        came = await self.until("Done: you left dmptui. Goodbye.")
        assert self.task is not None
        assert await asyncio.wait_for(self.task, 10) == 0
        assert "Traceback" not in self.text
        return came


def drive(host: LiveHost, script: Any, store: TokenStore | None = None) -> Run:
    run = Run(host, store)

    async def go() -> None:
        run.start()
        try:
            await script(run)
        finally:
            if run.task is not None and not run.task.done():
                run.task.cancel()

    asyncio.run(go())
    return run


def flat(text: str) -> str:
    """The text with its line breaks as spaces: screen-reader mode splits long lines for braille
    displays where a label starts, and packs short menu entries on one line."""
    return " ".join(text.split())


def offers(menu: str, key: str, label: str) -> bool:
    """Whether ``menu`` offers ``label`` under ``key`` ("1. Label" on a line of its own, or
    "1 Label" among others on one line)."""
    return re.search(rf"(?:^|[\s?:,]){key}\.? {re.escape(label)}\b", flat(menu)) is not None


def number_of(listing: str, name: str) -> str:
    found = re.search(rf"(?m)^(\d+)\. {re.escape(name)}\b", listing)
    assert found, f"{name} is not in:\n{listing}"
    return found.group(1)


# --- navigation ------------------------------------------------------------------------------


def test_g_and_a_number_jumps_from_any_menu_and_w_says_where_you_are(host: LiveHost) -> None:
    attending = host.practitioner("attending")["name"]

    async def script(run: Run) -> None:
        await run.log_in()
        await run.answer("g3")  # from the main menu
        await run.until("Screen: 3 — Practitioners")
        listing = await run.answer("w")
        came = await run.until(CHOICE)
        assert (
            "You are on screen 3 — Practitioners. Keys: s: Search the directory; 1, for a "
            "practitioner chosen by number: Give access;"
        ) in flat(came)
        assert "h: help; m: main menu; g and a number: another screen; 0: back; q: quit." in flat(
            came
        )
        # A free-text question where one letter is never an answer: h alone is the help.
        run.type("s")
        search = "Name or RPPS to search in the directory (Enter alone cancels):"
        await run.answer("h", search)
        came = await run.until(search)
        assert "Help for screen 3 — Practitioners" in came and "Searching" not in came
        run.type("")
        await run.until("Showing your practitioners.")
        await run.until(CHOICE)
        run.type(number_of(listing, attending))
        menu = await run.until(CHOICE)
        # Block is not offered for the médecin traitant: typing its number says why.
        assert not offers(menu, "3", "Block") and offers(menu, "5", "No longer my médecin traitant")
        run.type("3")
        came = await run.until(CHOICE)
        assert (
            "Your médecin traitant cannot be blocked. Choose another médecin traitant first. "
            "Type one of the numbers above." in flat(came)
        )
        assert "there is no choice" not in came
        # From inside a practitioner's menu, straight to another screen.
        run.type("g7")
        await run.until("Screen: 7 — Personal space")
        await run.answer("g12")
        came = await run.until(CHOICE)
        assert (
            "Error: “g12” is not a screen. Type g and a screen's number, from 1 to 10 "
            "(g3: practitioners); m: main menu."
        ) in flat(came)
        run.mark -= len(CHOICE)  # the question is answered below
        await run.answer("w")
        came = await run.until(CHOICE)
        assert "You are on screen 7 — Personal space. Keys: 1: Save my notes;" in flat(came)
        run.mark -= len(CHOICE)  # the question is answered below
        await run.answer("g1")
        await run.until("Screen: 1 — Home")
        await run.quit()

    drive(host, script)


def test_a_document_action_not_offered_says_why(host: LiveHost) -> None:
    async def script(run: Run) -> None:
        await run.log_in()
        await run.answer("g2")
        await run.answer("1")  # the first document
        menu = await run.until(CHOICE)
        hidden = offers(menu, "2", "Show to practitioners")
        assert hidden != offers(menu, "1", "Hide from practitioners")
        run.type("1" if hidden else "2")
        came = await run.until(CHOICE)
        why = "is already hidden from practitioners." if hidden else "is not hidden: practitioners"
        assert why in flat(came) and "Type one of the numbers above." in flat(came)
        assert "there is no choice" not in came
        run.type("7")  # no such entry at all: said as before
        await run.until("Error: there is no choice “7” here.")
        await run.quit()

    drive(host, script)


def test_q_h_and_enter_work_at_the_password_and_code_questions(host: LiveHost) -> None:
    async def script(run: Run) -> None:
        await run.answer("", "Press Enter to keep")
        await run.answer("h", PASSWORD)  # one letter: never a password
        came = await run.until(PASSWORD)
        assert "Help for screen 0 — Log in" in came
        assert "q alone: quit; Enter alone at the password or the code: back." in came
        assert "Checking your INS" not in came
        run.type("w")
        came = await run.until(PASSWORD)
        assert "You are on screen 0 — Log in. Keys:" in flat(came)
        run.mark -= len(PASSWORD)  # the question is answered below
        await run.answer("", PASSWORD)  # Enter alone: back to the INS
        await run.until("Back to the INS question.")
        await run.answer("", "Press Enter to keep")
        await run.answer(run.host.password, PASSWORD)
        await run.answer("1")
        await run.answer("h", CODE)
        came = await run.until(CODE)
        assert "Help for screen 0 — Log in" in came and "Checking the code" not in came
        run.type("q")
        await run.until("Done: you left dmptui. Goodbye.")
        assert run.task is not None and await asyncio.wait_for(run.task, 10) == 0

    run = drive(host, script)
    assert run.host.password not in run.text


# --- the médecin traitant --------------------------------------------------------------------


def test_change_the_attending_keeping_the_former_one_then_unset_it(host: LiveHost) -> None:
    former = host.practitioner("attending")
    new = host.practitioner("authorised")

    async def script(run: Run) -> None:
        await run.log_in()
        listing = await run.answer("3")
        listing = await run.until(CHOICE)
        run.type(number_of(listing, new["name"]))
        await run.answer("5")
        came = await run.until(CHOICE)
        assert f"Make {new['name']} your médecin traitant instead of {former['name']}?" in came
        assert offers(came, "1", f"Yes, and {former['name']} keeps ordinary access")
        assert offers(came, "2", f"Yes, and {former['name']} loses all access")
        assert offers(came, "0", "Cancel")
        run.type("0")  # cancelled: nothing changes
        await run.until("Nothing was changed.")
        assert host.sql("SELECT attending_rpps FROM records") == [(former["rpps"],)]
        await run.answer("5")
        await run.answer("1")
        await run.until(
            f"Done: {new['name']} is now your médecin traitant: they see all your documents, "
            f"hidden ones included. {former['name']} keeps ordinary access to your record; "
            "you can remove it at any time."
        )
        assert host.sql("SELECT attending_rpps FROM records") == [(new["rpps"],)]
        assert host.sql(
            "SELECT see_masked FROM authorisations WHERE rpps = :r", {"r": former["rpps"]}
        ) == [(0,)]
        # On the médecin traitant, 5 unsets them; the second choice ends their access.
        menu = await run.until(CHOICE)
        assert offers(menu, "5", "No longer my médecin traitant")
        run.type("5")
        came = await run.until(CHOICE)
        assert f"Stop having {new['name']} as your médecin traitant?" in came
        run.type("2")
        await run.until(
            f"Done: You no longer have a médecin traitant. {new['name']} can no longer access "
            "your record."
        )
        assert host.sql("SELECT attending_rpps FROM records") == [(None,)]
        assert host.sql(
            "SELECT count(*) FROM authorisations WHERE rpps = :r", {"r": new["rpps"]}
        ) == [(0,)]
        await run.quit()

    drive(host, script)


# --- notes, a line at a time -----------------------------------------------------------------


def test_notes_change_one_line_and_delete_one_line(host: LiveHost) -> None:
    async def script(run: Run) -> None:
        await run.log_in()
        await run.answer("7")
        await run.answer("1")
        menu = await run.until(CHOICE)
        if not offers(menu, "3", "Change one line"):  # no notes yet: add three lines first
            run.type("3")
            await run.until("You have no notes yet, so there is no line to change")
            await run.answer("1")
            for line in ("Allergie : pénicilline", "Personne à prévenir : Jeanne", "fin", "."):
                await run.answer(line, ":")
            await run.until("Done: your notes are saved.")
            await run.answer("1")
            menu = await run.until(CHOICE)
        lines = host_notes(host).split("\n")
        assert offers(menu, "3", "Change one line") and offers(menu, "4", "Delete one line")
        run.type("3")
        came = await run.until("(Enter alone cancels):")
        assert f"Line 1: {lines[0]}" in came
        run.type("99")
        await run.until(f"Error: there is no line “99”. Type a number from 1 to {len(lines)}")
        await run.answer("2", "(Enter alone cancels):")
        await run.answer("Personne à prévenir : Paul", "(Enter alone keeps it as it is):")
        await run.until("Done: your notes are saved.")
        assert host_notes(host).split("\n") == [lines[0], "Personne à prévenir : Paul", *lines[2:]]
        await run.answer("1")
        await run.answer("4")
        await run.answer("1", "(Enter alone cancels):")
        await run.answer("1")  # 1. Delete line 1
        await run.until("Done: your notes are saved.")
        assert host_notes(host).split("\n") == ["Personne à prévenir : Paul", *lines[2:]]
        await run.quit()

    drive(host, script)


def host_notes(host: LiveHost) -> str:
    client = host.login()
    return str(client.get("/v1/record/notes").json()["text"]).rstrip("\n")


# --- remember me -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en"])
def test_remember_me_in_a_real_keyring_backend_opens_without_password(
    host: LiveHost, lang: str
) -> None:
    store = TokenStore(backend=MemoryKeyring())
    store.save(host.ins, "a-refresh-token-the-host-never-gave")  # an ended session

    async def first(run: Run) -> None:
        came = await run.until("Your remembered session has ended. Type your password to log in.")
        assert "Opening your remembered session…" in came
        await run.log_in(remember=True)
        await run.until("Done: You will be remembered on this device.")
        came = await run.quit()
        assert "Your session stays remembered on this device." in came

    drive(host, first, store)
    assert store.load(host.ins) and store.load(LAST_ACCOUNT) == host.ins

    async def second(run: Run) -> None:
        came = await run.until("Done: you are logged in.")
        assert "Opening your remembered session…" in came
        assert PASSWORD not in came
        await run.until("Screen: 1 — Home")
        await run.answer("l")  # logging out ends it: the next start asks for the password
        await run.until("Done: You are logged out.")
        await run.until("Press Enter to keep")
        run.type("q")
        await run.until("Goodbye.")

    drive(host, second, store)
    deadline = time.monotonic() + 5
    while store.load(host.ins) and time.monotonic() < deadline:
        time.sleep(0.05)  # the keyring is written off the loop, in order
    assert store.load(host.ins) is None

    async def without_keyring(run: Run) -> None:
        await run.log_in(remember=True)
        await run.until("Warning: This device has no usable keyring, so you will not be remembered")
        await run.quit()

    from keyring.backends import null

    drive(host, without_keyring, TokenStore(backend=null.Keyring()))
