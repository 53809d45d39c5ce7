"""Screen-reader mode (``dmptui/reader``): a real ``dmptui`` process under a pseudo-terminal
(pexpect) against the real host, answering with numbers and Enter, in English and French.

Every byte it writes is checked: no escape character at all (so no cursor move, no erase, no
alternate screen, no colour), no box-drawing, braille or emoji glyph; after each answer the exact
labelled lines come. Passwords and codes are never echoed. And the catalogue's actions exist in
both front ends: the reader's dispatch table and the TUI's bindings."""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pexpect
import pytest
from hostkit import LiveHost

from dmptui import catalogue
from dmptui.catalogue import Action
from dmptui.data_text import speakable, visible
from dmptui.i18n import format_date
from dmptui.identifiers import spoken_ins, spoken_rpps
from dmptui.reader import detect
from dmptui.reader import screens as reader_screens
from dmptui.reader.io import Console, UnsafeLine, check_line

ROOT = Path(__file__).resolve().parents[1]
CONTROL = re.compile(r"\x1b\[[0-9;?]*[A-HJKSTfhlsu]")
SERTRALINE = "Ordonnance — sertraline"
TIMEOUT = 10
WAITING = re.compile(r"(?m)^[^\r\n]*…\r\n")


# --- a dmptui process under a pseudo-terminal ------------------------------------------------


def environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    """A clean environment: no user config, no locale, a terminal that is not dumb."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path / "home"),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "DMPTUI_DATA_DIR": str(tmp_path / "data" / "dmptui"),
        "DMPTUI_SAVE_DIR": str(tmp_path / "saved"),
        "TERM": "xterm-256color",
        "LANG": "C.UTF-8",
        "PYTHONPATH": str(ROOT),
    }
    for name in ("home", "config", "data", "saved"):
        (tmp_path / name).mkdir(exist_ok=True)
    env.update(extra)
    return env


class Session:
    """``dmptui`` in a pseudo-terminal: answer prompts, expect exact whole lines."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.log = io.StringIO()
        self.child = pexpect.spawn(
            sys.executable,
            ["-m", "dmptui.entry.cli", *args],
            env=env,
            cwd=str(ROOT),
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(50, 250),
        )
        self.child.logfile_read = self.log
        self.at_line_start = True

    def _expect(self, pattern: Any, exact: bool = False) -> None:
        try:
            if exact:
                self.child.expect_exact(pattern)
            else:
                self.child.expect(pattern)
        except (pexpect.TIMEOUT, pexpect.EOF) as e:
            tail = self.output[-3000:]
            raise AssertionError(
                f"{type(e).__name__} waiting for {pattern!r}; the output ends with:\n{tail}"
            ) from None

    def _matched(self) -> None:
        self.at_line_start = str(self.child.after).endswith("\n")

    def line(self, text: str) -> None:
        """The next occurrence of ``text`` is a whole line."""
        self._expect(text + "\r\n", exact=True)
        before = str(self.child.before)
        assert before.endswith("\n") or (before == "" and self.at_line_start), (
            f"not a whole line: {before[-80:]!r} + {text!r}"
        )
        self._matched()

    def lines(self, *texts: str) -> None:
        """These whole lines, in this order, and nothing between them."""
        for i, text in enumerate(texts):
            self.line(text)
            if i:
                # Waiting words ("Loading…") come only when the host is slow: they may be there.
                before = WAITING.sub("", str(self.child.before))
                assert before == "", f"unexpected output before {text!r}: {self.child.before!r}"

    def match(self, pattern: str) -> re.Match[str]:
        """A whole line matching ``pattern`` (a regex)."""
        # Compiled here: pexpect would add DOTALL, and ".*" would run past the line's end.
        self._expect(re.compile(r"(?m)^" + pattern + r"\r\n"))
        self._matched()
        return self.child.match

    def prompt(self, question: str = "Your choice:") -> None:
        self._expect(question + " ", exact=True)
        self._matched()

    def answer(self, text: str, question: str = "Your choice:") -> None:
        self.prompt(question)
        self.child.sendline(text)
        self.at_line_start = True  # the terminal echoes the line and its end

    def send(self, text: str) -> None:
        """Answer the question already asked."""
        self.child.sendline(text)
        self.at_line_start = True

    def secret(self, text: str, question: str) -> None:
        self.answer(text, question)

    def quiet_for(self, seconds: float) -> None:
        """Nothing at all is written while the app waits for an answer."""
        with pytest.raises(pexpect.TIMEOUT):
            self.child.read_nonblocking(size=1, timeout=seconds)

    def quit(
        self, question: str = "Your choice:", goodbye: str = "Done: you left dmptui. Goodbye."
    ) -> None:
        self.answer("q", question)
        self.line(goodbye)
        self.child.expect(pexpect.EOF)
        self.child.close()
        self.check()

    @property
    def output(self) -> str:
        return self.log.getvalue()

    def check(self) -> None:
        text = self.output
        assert "\x1b" not in text, "an escape character was written"
        assert not CONTROL.search(text)
        assert "\x1b[?1049h" not in text
        for line in text.replace("\r\n", "\n").split("\n"):
            check_line(line)  # no glyph, no control character but the line ends

    def close(self) -> None:
        if self.child.isalive():
            self.child.terminate(force=True)


@pytest.fixture
def sessions() -> Any:
    started: list[Session] = []

    def start(args: list[str], env: dict[str, str]) -> Session:
        s = Session(args, env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.close()


def open_reader(sessions: Any, host: LiveHost, tmp_path: Path, lang: str = "en") -> Session:
    s = sessions(["--screen-reader", "--host", host.url, "--lang", lang], environment(tmp_path))
    return s


def log_in(s: Session, host: LiveHost, lang: str = "en", ins_typed: bool = True) -> None:
    fr = lang == "fr"
    if ins_typed:
        question = (
            "INS (identifiant national de santé, 15 caractères) :"
            if fr
            else "INS (national health identifier, 15 characters):"
        )
        s.answer(host.ins, question)
    else:
        keep = (
            "INS (15 caractères). Appuyez sur Entrée pour garder"
            if fr
            else ("INS (15 characters). Press Enter to keep")
        )
        # The INS in the carte Vitale's groups, said as small numbers (not "trillions").
        s.answer("", f"{keep} {spoken_ins(host.ins)}" + (" :" if fr else ":"))
    s.secret(
        host.password,
        "Mot de passe (il ne s'affiche pas quand vous tapez) :"
        if fr
        else "Password (not shown as you type):",
    )
    choice = "Votre choix :" if fr else "Your choice:"
    s.answer("1", choice)
    code_q = (
        "Code à usage unique, 6 chiffres (il ne s'affiche pas quand vous tapez ; Entrée seule "
        "revient en arrière) :"
        if fr
        else "One-time code, 6 digits (not shown as you type; Enter alone goes back):"
    )
    code = host.code()
    s.secret(code, code_q)
    s.lines(
        "Fait : connexion établie." if fr else "Done: you are logged in.",
        "Écran : 1 — Accueil" if fr else "Screen: 1 — Home",
    )
    assert not echoed(s, host.password, code)


def date_words(host: LiveHost) -> str:
    """Today on the host's clock, as said ('7 December 2026')."""
    return format_date(host.clock())


def echoed(s: Session, *secrets: str) -> list[str]:
    """The secrets that appear in the output as a word of their own."""
    return [x for x in secrets if re.search(rf"(?<![\w-]){re.escape(x)}(?![\w-])", s.output)]


def visible_documents(host: LiveHost) -> int:
    return host.sql("SELECT count(*) FROM documents WHERE labels NOT LIKE '%INVISIBLE_PATIENT%'")[
        0
    ][0]


def labels_of(host: LiveHost, title: str) -> str:
    return host.labels_of(title)


def record_row(host: LiveHost) -> tuple[Any, ...]:
    return host.sql(
        "SELECT status, refuses_break_glass, refuses_regulation FROM records WHERE ins=:i",
        {"i": host.ins},
    )[0]


# --- whole flows, in English -----------------------------------------------------------------


def test_log_in_page_through_documents_hide_save_and_delete(
    host: LiveHost, tmp_path: Path, sessions: Any
) -> None:
    s = open_reader(sessions, host, tmp_path)
    s.lines("Screen-reader mode is on (you passed --screen-reader).", "Screen: 0 — Log in")
    assert s.output.startswith("Screen-reader mode is on (you passed --screen-reader).\r\n")
    s.answer("123", "INS (national health identifier, 15 characters):")
    s.line(
        "Error: INS: it must have 15 characters. The INS has 15 characters: 13 digits (2A or 2B "
        "for Corsica) and a 2-digit key; it is on your carte Vitale."
    )
    s.answer(host.ins, "INS (national health identifier, 15 characters):")
    s.secret(host.password, "Password (not shown as you type):")
    # The demo record is activated: no secret is said (the first enrolment, with the letter's
    # activation code, is test_activation_front's).
    s.lines(
        "One-time code: 1 Authenticator app, 2 SMS, 3 Email,",
        "0 Start again with the INS and password.",
    )
    s.answer("1")
    question = "One-time code, 6 digits (not shown as you type; Enter alone goes back):"
    s.secret("98765", question)
    s.line("Error: the code has 6 digits; you typed 5. Type the code again.")
    code = host.code()
    s.secret(code, question)
    # The waiting words ("Checking the code…") are said only when the host is slow.
    s.lines("Done: you are logged in.", "Screen: 1 — Home", "Record: open")
    counts = r"Documents: ([\d,]+), authorised practitioners: \d+, blocked: \d+\."
    on_home = int(s.match(counts).group(1).replace(",", ""))
    s.prompt()
    s.quiet_for(1.0)  # nothing is written while the app waits for an answer
    assert not echoed(s, host.password, code, "98765")

    n = visible_documents(host)
    s.send("2")
    # What every document of the page shares is said once, in its heading (dates of care);
    # visible to your practitioners, the default, is not said; hidden is.
    s.lines(
        "Screen: 2 — Documents",
        f"Documents 1 to 10 of {n}, dates of care. n: next, p: previous, a number: open.",
    )
    s.match(r"1\. .+, by .+, \d{1,2} [A-Z][a-z]+ \d{4}\.( Hidden from practitioners\.)?")
    s.line("Also: s: search in titles, t: type, o: sort.")
    s.answer("n")
    s.line(f"Documents 11 to 20 of {n}, dates of care. n: next, p: previous, a number: open.")
    s.answer("n")
    s.line(f"Documents 21 to 30 of {n}, dates of care. n: next, p: previous, a number: open.")
    s.answer("p")
    s.answer("p")
    s.line(f"Documents 1 to 10 of {n}, dates of care. n: next, p: previous, a number: open.")
    s.answer("p")
    s.line("This is the first page. n: next page.")
    s.answer("99")
    s.line(
        "Error: there is no entry 99 in this list. Type a number from 1 to 10, or n for the "
        "next page."
    )
    # Each document is one sentence: no "visible to your practitioners" on each.
    assert "visible to your practitioners" not in s.output
    s.answer("n")
    s.line(f"Documents 11 to 20 of {n}, dates of care. n: next, p: previous, a number: open.")
    # An author's facility is said at their first document of the page, not at each.
    number = s.match(
        r"(\d+)\. Ordonnance — sertraline, prescription, by Hugo Sanchez(, .+)?, "
        r"2 October 2025\."
    ).group(1)
    s.answer(number)
    s.lines(
        f"Document {number}: {SERTRALINE}",
        "Prescription, by Hugo Sanchez, Centre hospitalier Charles Perrens — Unité de "
        "psychiatrie périnatale, Bordeaux.",
    )
    s.match(r"Date of care: 2 October 2025\.")
    s.match(r"Deposited: \d{1,2} October 2025 at \d{1,2}(:\d\d)? (am|pm) \(Paris time\)\.")
    s.lines(
        "The text of the document:",
        "Sertraline 25 mg : 1 gélule le matin pendant 7 jours,",
    )
    s.line("End of the document.")
    s.line("What now? 1 Hide from practitioners, 3 Delete, 4 Save to a file, 0 back.")
    # Hide it: the host's labels change, the menu offers to show it again.
    s.answer("1")
    s.lines(
        f'Done: "{SERTRALINE}" is now hidden from practitioners.',
        "What now? 2 Show to practitioners, 3 Delete, 4 Save to a file, 0 back.",
    )
    assert "MASQUE_PS" in labels_of(host, SERTRALINE)
    # Save it to a file.
    s.answer("4")
    saved = s.match(r'Done: "Ordonnance — sertraline" is saved in (.+)').group(1)
    assert Path(saved).parent == tmp_path / "saved"
    assert "Sertraline 25 mg" in Path(saved).read_text("utf-8")
    # Delete it: the consequence, the typed word, then a fresh code.
    s.answer("3")
    s.lines(
        f'Delete "{SERTRALINE}"?',
        "This document will be deleted for everyone, for good. Its content is erased; the access "
        "trace keeps only that it existed and that you deleted it.",
    )
    word_q = "To confirm, type the word “delete”, then press Enter (Enter alone cancels):"
    s.answer("remove", word_q)
    s.line(
        "Error: you typed “remove”, not “delete”. Type “delete” to confirm, or press Enter "
        "alone to cancel."
    )
    s.answer("delete", word_q)
    s.lines(
        "This needs a fresh one-time code: 1 Authenticator app, 2 SMS, 3 Email, 0 Cancel.",
    )
    s.answer("1")
    code = host.code()
    s.secret(code, question)
    s.lines(
        f'Done: "{SERTRALINE}" is deleted for everyone.',
        f"Documents 11 to 20 of {n - 1}, dates of care. n: next, p: previous, a number: open.",
    )
    # The numbers after it moved up: the page is read again, whole, with the list's own keys.
    s.match(r"11\. .+")
    s.line("Also: s: search in titles, t: type, o: sort.")
    assert host.doc_ids(SERTRALINE) == []
    assert not echoed(s, code)
    # An empty list: a number says the list is empty (not "from 1 to 0").
    s.answer("s")
    s.answer("zzzqqq", "Words of the title to search (Enter alone shows every document):")
    s.line("Done: no document matches. s: search again, t: another type.")
    s.answer("1")
    s.lines(  # longer than a braille line: split where a label starts
        "Error: this list is empty: there is nothing to choose. Enter alone reads this screen "
        "again;",
        "h: help.",
    )
    # m gives the main menu, not the summary; 1 reads the summary, as the record is now: one
    # document less.
    s.answer("m")  # the menu is its own heading
    s.lines(
        "Main menu: 1 Home, 2 Documents, 3 Practitioners, 4 Access trace,",
        "5 Emergency access, 6 My record, 7 Personal space, 8 Notifications, 9 Help,",
        "10 My devices and sessions.",
    )
    s.answer("1")
    s.lines("Screen: 1 — Home", "Record: open")
    assert int(s.match(counts).group(1).replace(",", "")) == on_home - 1
    s.quit()


def test_give_remove_and_block_access(host: LiveHost, tmp_path: Path, sessions: Any) -> None:
    who = host.practitioner("emergency")
    name = who["name"]
    s = open_reader(sessions, host, tmp_path)
    log_in(s, host)
    s.answer("3")
    # What was loaded follows at once: no "Loading…" nor "Done: … up to date" before it.
    s.lines(
        "Screen: 3 — Practitioners",
        "Your practitioners (4). A number: choose one; s: search the directory.",
    )
    # The RPPS in pairs: a synthesizer says small numbers, not "ten billion…".
    s.match(r"1\. Sophie Garnier, doctor, .+, RPPS \d\d( \d\d){4} \d: your médecin traitant .*")
    # Search the directory, choose the emergency doctor (not authorised).
    s.answer("s")
    s.answer("1", "Name or RPPS to search in the directory (Enter alone cancels):")
    s.line(
        "Error: Search: type at least 2 letters of a name, or the first digits of an RPPS. "
        "Nothing was searched."
    )
    s.answer(name.split()[-1], "Name or RPPS to search in the directory (Enter alone cancels):")
    surname = name.split()[-1]
    s.line(f"Done: 1 practitioner found in the directory for “{surname}”.")
    s.line("From the directory. A number: choose one; 0: back to your list.")
    s.match(rf"1\. {name}, doctor, .+, RPPS {spoken_rpps(who['rpps'])}: not authorised\.")
    s.answer("1")
    # Who they are was just said in the list: the name and the status.
    s.lines(
        f"{name}: not authorised.",
        "What now? 1 Give access, 3 Block, 5 Make my médecin traitant, 0 back.",
    )
    s.answer("1")
    s.line(f"Give {name} access to your record?")
    s.match(r"1 Ordinary access, 2 Same rights as my médecin traitant .+")
    s.answer("1")
    s.line(f"Done: {name} can now access your record.")
    s.match(rf"{name}: authorised since .+\.")
    rpps = {"r": who["rpps"]}
    assert host.sql("SELECT count(*) FROM authorisations WHERE rpps = :r", rpps) == [(1,)]
    s.lines(
        "What now? 1 Give access, 2 Remove access, 3 Block, 5 Make my médecin traitant,",
        "0 back.",
    )
    s.answer("2")
    s.line(f"Done: {name} can no longer access your record.")
    assert host.sql("SELECT count(*) FROM authorisations WHERE rpps = :r", rpps) == [(0,)]
    # Block: the consequence is read, then confirmed by number.
    s.answer("3")
    s.lines(
        f"Block {name}?",
        "This practitioner will not be able to open your record in any mode, emergencies "
        "included, and loses any authorisation.",
        f"1 Block {name}, 0 Cancel.",
    )
    s.answer("1")
    s.lines(
        f"Done: {name} is blocked: they cannot open your record in any mode, emergencies included.",
    )
    s.match(rf"{name}: BLOCKED since .+\.")
    with host.ps("emergency") as c:
        r = c.get(
            f"/v1/ps/records/{host.ins}/documents",
            params={"mode": "break-glass", "reason": "Patient inconscient"},
        )
    # Told no more than "no_access" (as for an INS without a record); the trace says why.
    assert r.status_code == 403 and r.json()["reason"] == "no_access"
    assert host.sql(
        "SELECT t.reason FROM trace_entries t JOIN records r ON r.id = t.record_id "
        "WHERE r.ins = :ins ORDER BY t.seq DESC LIMIT 1",
        {"ins": host.ins},
    ) == [("blocked",)]
    # Home's summary (1 on the main menu) says the block at once (one record state), then back
    # to the practitioner.
    s.answer("m")  # the main menu, its own heading: no "Screen: 1 — Home" before it
    s.line("Main menu: 1 Home, 2 Documents, 3 Practitioners, 4 Access trace,")
    s.answer("1")
    s.lines("Screen: 1 — Home", "Record: open")
    s.match(r"Documents: \d+, authorised practitioners: \d+, blocked: 1\.")
    s.answer("3")
    s.line("Screen: 3 — Practitioners")
    s.answer("s")
    s.answer(surname, "Name or RPPS to search in the directory (Enter alone cancels):")
    s.line(f"Done: 1 practitioner found in the directory for “{surname}”.")
    s.answer("1")
    s.line(f"{name}: BLOCKED since {date_words(host)}.")
    s.answer("4")
    s.match(rf"Done: {name} is no longer blocked\. .*")
    assert host.sql("SELECT count(*) FROM blocks WHERE rpps = :r", rpps) == [(0,)]
    s.answer("0")  # back to the directory results
    s.line("From the directory. A number: choose one; 0: back to your list.")
    s.answer("0")  # back to your practitioners
    s.match(r"Your practitioners \(\d+\)\. .*")
    s.answer("0")  # back to home
    s.line("Screen: 1 — Home")
    s.quit()


def test_a_change_made_elsewhere_meanwhile_is_reloaded_not_overwritten(
    host: LiveHost, tmp_path: Path, sessions: Any
) -> None:
    who = host.practitioner("authorised")
    name = who["name"]
    s = open_reader(sessions, host, tmp_path)
    log_in(s, host)
    s.answer("3")
    s.line("Screen: 3 — Practitioners")
    number = s.match(rf"(\d+)\. {name}, doctor, .+: authorised since .+\.")[1]
    s.answer(number)
    s.match(rf"{name}: authorised since .+\.")
    # Meanwhile, another session of the patient changes the list.
    with host.login() as other:
        r = other.put(f"/v1/record/authorisations/{who['rpps']}", json={"see_masked": True})
        assert r.status_code == 200, r.text
    s.answer("2")
    s.lines(
        "Warning: This was changed elsewhere (in another session or on another device) since "
        "you loaded it, so nothing was changed here. It has been reloaded: check it, then try "
        "again.",
        "Screen: 3 — Practitioners",
    )
    s.match(rf"\d+\. {name}, doctor, .+: authorised since .+; sees hidden documents\.")
    rpps = {"r": who["rpps"]}
    assert host.sql("SELECT see_masked FROM authorisations WHERE rpps = :r", rpps) == [(1,)]
    s.quit()


def test_notes_saved_elsewhere_meanwhile_give_the_typed_lines_back(
    host: LiveHost, tmp_path: Path, sessions: Any
) -> None:
    s = open_reader(sessions, host, tmp_path)
    log_in(s, host)
    s.answer("7")
    s.line("Screen: 7 — Personal space")
    s.answer("1")
    s.answer("2")  # replace all my notes
    with host.login() as other:
        assert other.put("/v1/record/notes", json={"text": "theirs"}).status_code == 200
    s.answer("Allergie : latex", "Line 1:")
    s.answer(".", "Line 2:")
    s.lines(
        "Warning: This was changed elsewhere (in another session or on another device) since "
        "you loaded it, so nothing was changed here. It has been reloaded: check it, then try "
        "again.",
        "The lines you typed, not saved, to type again after checking:",
        "Allergie : latex",
        "Screen: 7 — Personal space",
    )
    s.line("theirs")
    assert host.notes() == "theirs"
    s.quit()


def test_trace_says_in_french_that_the_host_changed_its_signing_key(
    host: LiveHost, tmp_path: Path, sessions: Any, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """The reader's device pinned the host's key at an earlier visit; the host rotated its key
    since: the seal line says so, in the shared words, and the trace is verified."""
    import asyncio

    from dmptui.client import Client
    from dmptui.entry.cli import EXIT_OK, main
    from dmptui.trace_check import CheckpointStore, TraceChecker

    env = environment(tmp_path)
    store = CheckpointStore.in_dir(Path(env["DMPTUI_DATA_DIR"]))

    async def earlier_visit() -> bool:
        async with Client(host.url) as client:
            tokens = host.login().tokens
            client.access_token = tokens["access_token"]
            client.refresh_token = tokens["refresh_token"]
            return (await TraceChecker(client, store).check([])).verified

    assert asyncio.run(earlier_visit())
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(host.data_dir))
    assert main(["host", "rotate-ledger-key", "--db", host.db_url]) == EXIT_OK
    capsys.readouterr()
    s = sessions(["--screen-reader", "--host", host.url, "--lang", "fr"], env)
    log_in(s, host, "fr")
    s.answer("4", "Votre choix :")
    s.match(
        r"Vérifiée jusqu'à l'entrée \d+, signée le .+\. L'hébergeur a changé sa clé de "
        r"signature le .+, et son ancienne clé s'est portée garante de la nouvelle : cet "
        r"appareil vérifie désormais avec la nouvelle clé\. Rien à faire\."
    )


def test_trace_with_an_emergency_entry_and_refusing_break_glass(
    host: LiveHost, tmp_path: Path, sessions: Any
) -> None:
    s = open_reader(sessions, host, tmp_path)
    log_in(s, host)
    s.answer("4")
    # Every entry (the default) is not said; what the entries share is said once: the zone,
    # normal mode, allowed. Each day once: an entry of the same day as the one before says
    # its time alone.
    s.line("Screen: 4 — Access trace")
    s.match(r"Entries 1 to 10(,| of \d+,) newest first.*")
    s.line("n: next, p: previous, a number: details.")
    s.line("Paris time; normal mode and allowed, unless said.")
    s.match(rf"1\. {date_words(host)} at \d{{1,2}}(:\d\d)? (am|pm), you read the access trace\.")
    s.match(r"2\. \d{1,2}(:\d\d)? (am|pm), you .+\.")
    s.line("Also: f: filter, e: emergency accesses only.")
    # The same line as the trace screen's seal: the host's signed trace was checked.
    s.match(r"Verified up to entry \d+, signed on .+\.")
    # Emergency accesses only: the seeded break-glass access, in one sentence.
    s.answer("e")
    s.lines(
        "Filter: break-glass accesses only.",
        "Entries 1 to 1 of 1, newest first. n: next, p: previous, a number: details.",
    )
    sentence = s.match(r"1\. EMERGENCY ACCESS: .+").group(0)
    assert "Julien Mercier (doctor, CHU de Bordeaux" in sentence
    assert "listed your documents in break-glass (emergency) mode: Reason given: " in sentence
    assert "allowed" not in sentence and "Paris time" not in sentence
    s.answer("1")
    # The zone was said once on this screen, in the page's heading.
    s.match(r"When: \d{1,2} [A-Z][a-z]+ \d{4} at \d{1,2}(:\d\d)? (am|pm)")
    s.match(r"Who: Julien Mercier \(doctor, .+\) — RPPS \d\d( \d\d){4} \d")
    s.lines(
        "What: listed your documents",
        "Mode: EMERGENCY — break-glass",
        "Outcome: allowed",
    )
    s.match(r"Details: Reason given: Patiente inconsciente .+")
    # Refuse break-glass access on screen 5: consequence, typed word, fresh code.
    s.answer("m")  # the main menu, its own heading: no "Screen: 1 — Home" before it
    s.line("Main menu: 1 Home, 2 Documents, 3 Practitioners, 4 Access trace,")
    s.answer("5")
    s.line("Screen: 5 — Emergency access")
    s.match(r"Two separate choices: .+")
    s.match(r"Break-glass access: ALLOWED — .+")
    s.match(r"Emergency call-centre access \(SAMU, centre 15\): ALLOWED — .+")
    s.line("What now? 1 Change break-glass access, 2 Change emergency call-centre access.")
    s.answer("1")
    s.line("Refuse break-glass access?")
    s.match(r"If you refuse break-glass access, .+")
    s.answer(
        "confirm", "To confirm, type the word “confirm”, then press Enter (Enter alone cancels):"
    )
    s.line("This needs a fresh one-time code: 1 Authenticator app, 2 SMS, 3 Email, 0 Cancel.")
    s.answer("1")
    s.secret(host.code(), "One-time code, 6 digits (not shown as you type; Enter alone goes back):")
    s.lines(
        "Done: break-glass access is now refused.",
    )
    s.match(r"Break-glass access: REFUSED — .+")
    s.match(r"Emergency call-centre access \(SAMU, centre 15\): ALLOWED — .+")
    assert record_row(host) == ("active", 1, 0)
    with host.ps("emergency") as c:
        r = c.get(
            f"/v1/ps/records/{host.ins}/documents",
            params={"mode": "break-glass", "reason": "Patient inconscient"},
        )
    # Told no more than "no_access" (as for an INS without a record); the trace says why.
    assert r.status_code == 403 and r.json()["reason"] == "no_access"
    assert host.sql(
        "SELECT t.reason FROM trace_entries t JOIN records r ON r.id = t.record_id "
        "WHERE r.ins = :ins ORDER BY t.seq DESC LIMIT 1",
        {"ins": host.ins},
    ) == [("break_glass_refused",)]
    # Home's summary says the new choice; an access allowed, the default, is not said.
    s.answer("m")  # the main menu, its own heading: no "Screen: 1 — Home" before it
    s.line("Main menu: 1 Home, 2 Documents, 3 Practitioners, 4 Access trace,")
    s.answer("1")
    s.lines("Screen: 1 — Home", "Record: open")
    s.line("Break-glass emergency access: refused")
    s.match(r"Documents: \d+, .+")
    assert "Emergency call-centre access: allowed" not in s.output
    # The refused attempt is in the trace, in words.
    s.answer("4")
    s.line("Screen: 4 — Access trace")
    s.match(
        r"\d+\. EMERGENCY ACCESS: .+, Julien Mercier \(.+\) listed your documents in "
        r"break-glass \(emergency\) mode: DENIED \(you refuse break-glass access\)\."
    )
    s.quit()


def go_on_without_export(s: Session) -> None:
    """Before closing or erasing, the offer to take the record first: 2, go on."""
    s.line("Take your record with you first?")
    s.match(r"Before you go on, you can take your whole record with you: .+")
    s.line("1 Export my record first, 2 Go on without exporting, 0 Cancel.")
    s.answer("2")


def test_close_then_log_in_and_reopen(host: LiveHost, tmp_path: Path, sessions: Any) -> None:
    s = open_reader(sessions, host, tmp_path)
    log_in(s, host)
    s.answer("6")
    s.lines(
        "Screen: 6 — My record",
        "Your record is OPEN: you and the practitioners you allow can use it.",
        # Each choice once, with what it does.
        "1 Close my record: Nobody can access it any more; it is kept 10 years, then destroyed.",
    )
    s.match(r"3 Erase my record for good: Every document, .+")
    s.match(r"4 Export my whole record: One archive of every document .+")
    # Cancel first, with Enter alone at the word: nothing changes.
    s.answer("1")
    go_on_without_export(s)
    s.line("Close your record?")
    word_q = "To confirm, type the word “close”, then press Enter (Enter alone cancels):"
    s.answer("", word_q)
    s.line("Nothing was changed: your record is still open.")
    assert record_row(host)[0] == "active"
    s.answer("1")
    go_on_without_export(s)
    s.answer("close", word_q)
    s.line("This needs a fresh one-time code: 1 Authenticator app, 2 SMS, 3 Email, 0 Cancel.")
    s.answer("1")
    s.secret(host.code(), "One-time code, 6 digits (not shown as you type; Enter alone goes back):")
    s.match(r"Done: .+")
    s.line("Screen: 0 — Log in")
    assert record_row(host)[0] == "closed"
    # Log in again (Enter keeps the INS): the record says it is closed; reopen it.
    log_in(s, host, ins_typed=False)
    s.line("Record: closed")
    s.answer("6")
    s.line("Screen: 6 — My record")
    s.match(r"Your record is CLOSED since .+: nobody can access it, you included\.")
    s.match(r"It is kept until .+, then destroyed\. You can reopen it until then\.")
    s.lines(
        "2 Reopen my record: Everything comes back as it was.",
        "3 Erase my record for good: Every document, note and authorisation is destroyed, at "
        "once and for good.",
        "4 Export my whole record: One archive of every document and of the access trace, that "
        "anyone can check.",
    )
    s.answer("2")
    s.line("Reopen your record?")
    s.match(r"Your record will be open again: .+")
    s.line("1 Reopen my record, 0 Cancel.")
    s.answer("1")
    s.match(r"Done: .+")
    s.line("Your record is OPEN: you and the practitioners you allow can use it.")
    assert record_row(host)[0] == "active"
    # Home's summary says it is open again (it said "closed" before the reopening).
    s.answer("m")  # the main menu, its own heading: no "Screen: 1 — Home" before it
    s.line("Main menu: 1 Home, 2 Documents, 3 Practitioners, 4 Access trace,")
    s.answer("1")
    s.lines("Screen: 1 — Home", "Record: open")
    s.quit()


def test_an_ended_session_logs_in_again_then_does_the_call(
    host: LiveHost, tmp_path: Path, sessions: Any
) -> None:
    s = open_reader(sessions, host, tmp_path)
    log_in(s, host)
    s.prompt()
    host.clock.advance(minutes=16)
    host.sql("UPDATE sessions SET revoked_at=created_at")  # the refresh is refused too
    s.send("2")
    s.lines(
        "Screen: 2 — Documents",
        "Warning: Your session has ended. Log in again to continue where you were.",
        "Screen: 0 — Log in",
    )
    s.answer("", f"INS (15 characters). Press Enter to keep {spoken_ins(host.ins)}:")
    s.secret(host.password, "Password (not shown as you type):")
    s.answer("1")
    s.secret(host.code(), "One-time code, 6 digits (not shown as you type; Enter alone goes back):")
    s.lines(
        "Done: you are logged in.",
        "Screen: 2 — Documents",
        f"Documents 1 to 10 of {visible_documents(host)}, dates of care. n: next, p: previous, "
        "a number: open.",
    )
    s.quit()


def test_an_idle_session_is_not_refreshed_the_reader_says_why_and_logs_in_again(
    host: LiveHost, tmp_path: Path, sessions: Any
) -> None:
    # 15 min 30 s without a request: the host refuses the refresh too (reason "idle") and ends
    # the session; the reader says so in words, then asks for the login, then does the call.
    s = open_reader(sessions, host, tmp_path)
    log_in(s, host)
    s.prompt()
    host.clock.advance(minutes=15, seconds=30)
    s.send("2")
    s.lines(
        "Screen: 2 — Documents",
        "Warning: Your session ended after 15 minutes without activity, to protect your "
        "record. Log in again to continue.",
        "Screen: 0 — Log in",
    )
    assert host.sql("SELECT revoked_at IS NOT NULL FROM sessions") == [(True,)]
    s.answer("", f"INS (15 characters). Press Enter to keep {spoken_ins(host.ins)}:")
    s.secret(host.password, "Password (not shown as you type):")
    s.answer("1")
    s.secret(host.code(), "One-time code, 6 digits (not shown as you type; Enter alone goes back):")
    s.lines(
        "Done: you are logged in.",
        "Screen: 2 — Documents",
        f"Documents 1 to 10 of {visible_documents(host)}, dates of care. n: next, p: previous, "
        "a number: open.",
    )
    s.quit()


# --- in French -------------------------------------------------------------------------------


def test_log_in_and_documents_in_french(host: LiveHost, tmp_path: Path, sessions: Any) -> None:
    s = open_reader(sessions, host, tmp_path, lang="fr")
    s.lines(
        "Le mode lecteur d'écran est activé (option --screen-reader).",
        "Écran : 0 — Se connecter",
    )
    log_in(s, host, lang="fr")
    s.line("Dossier : ouvert")
    n = visible_documents(host)
    s.answer("2", "Votre choix :")
    s.lines(
        "Écran : 2 — Documents",
        f"Documents 1 à 10 sur {n}, dates des soins.",  # a braille line: split at a label
        "n : suivante, p : précédente, un numéro : ouvrir.",
    )
    s.answer("n", "Votre choix :")
    number = s.match(
        r"(\d+)\. Ordonnance — sertraline, ordonnance, par Hugo Sanchez(, .+)?, 2 octobre 2025\."
    ).group(1)
    assert "visible par vos professionnels" not in s.output
    s.answer(number, "Votre choix :")
    s.line(
        "Ordonnance, par Hugo Sanchez, Centre hospitalier Charles Perrens — Unité de "
        "psychiatrie périnatale, Bordeaux."
    )
    # French times with the hour in words: "à 5 heures 47" (a synthesizer says the h of
    # "5 h 47" as the letter "hache").
    s.line("Date des soins : 2 octobre 2025.")
    s.match(
        r"Déposé le : \d{1,2} octobre 2025 à (\d{1,2} heures?( \d{1,2})?|minuit|midi) "
        r"\(heure de Paris\)\."
    )
    s.match(r"Et maintenant \? 1 Masquer aux professionnels, .+")
    s.answer("1", "Votre choix :")
    s.line(f"Fait : « {SERTRALINE} » est maintenant masqué aux professionnels.")
    assert "MASQUE_PS" in labels_of(host, SERTRALINE)
    s.answer("3", "Votre choix :")
    s.answer(
        "supprimer",
        "Pour confirmer, tapez le mot « supprimer », puis appuyez sur Entrée "
        "(Entrée seule annule) :",
    )
    s.line("Il faut un nouveau code : 1 Authentificateur, 2 SMS, 3 E-mail, 0 Annuler.")
    s.answer("0", "Votre choix :")
    s.line(f"Rien n'a été supprimé : « {SERTRALINE} » est toujours dans votre dossier.")
    s.quit("Votre choix :", "Fait : vous avez quitté dmptui. Au revoir.")


# --- how the mode turns on -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "first"),
    [
        (
            {"TERM": "dumb"},
            "Screen-reader mode is on (TERM=dumb: this terminal cannot draw screens).",
        ),
        ({"ACCESSIBLE": "1"}, "Screen-reader mode is on (ACCESSIBLE is set in the environment)."),
    ],
)
def test_turned_on_by_the_environment(
    extra: dict[str, str], first: str, tmp_path: Path, sessions: Any
) -> None:
    s = sessions(["--host", "http://127.0.0.1:9", "--lang", "en"], environment(tmp_path, **extra))
    s.lines(first, "Screen: 0 — Log in")
    s.quit("INS (national health identifier, 15 characters):")


def test_turned_on_by_the_config_file(tmp_path: Path, sessions: Any) -> None:
    env = environment(tmp_path)
    folder = tmp_path / "config" / "dmptui"
    folder.mkdir(parents=True)
    (folder / "config.toml").write_text('screen_reader = true\nlang = "fr"\n', "utf-8")
    s = sessions(["--host", "http://127.0.0.1:9"], env)
    s.lines(
        "Le mode lecteur d'écran est activé (screen_reader = true dans le fichier de "
        "configuration).",
        "Écran : 0 — Se connecter",
    )
    s.quit(
        "INS (identifiant national de santé, 15 caractères) :",
        "Fait : vous avez quitté dmptui. Au revoir.",
    )


def test_turned_on_when_the_output_is_not_a_terminal(tmp_path: Path) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "dmptui.entry.cli", *args],
            input="q\n",
            capture_output=True,
            text=True,
            env=environment(tmp_path),
            cwd=ROOT,
            timeout=30,
        )

    done = run("--host", "http://127.0.0.1:9", "--lang", "en")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[:3] == [
        "Screen-reader mode is on (the output is not a terminal).",
        "Screen: 0 — Log in",
        "Type your INS and your password, pressing Enter after each.",
    ]
    # From a pipe, each question is a line of its own (nothing echoes the answer).
    assert lines[3] == "INS (national health identifier, 15 characters):"
    assert lines[-1] == "Done: you left dmptui. Goodbye."
    assert "\x1b" not in done.stdout
    # Without a host: said in words, exit code 2.
    nohost = run("--lang", "en")
    assert nohost.returncode == 2
    assert nohost.stdout.splitlines() == [
        "Screen-reader mode is on (the output is not a terminal).",
        "Error: no record host is set. Try “dmptui demo --screen-reader”, or give --host URL "
        "(or DMPTUI_HOST, or host in the config file).",
    ]


def test_detection_order() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty = Tty()
    assert detect.reason(False, {}, {"TERM": "xterm"}, tty) is None
    assert detect.reason(True, {}, {"TERM": "xterm"}, tty) == detect.FLAG
    assert detect.reason(False, {}, {"ACCESSIBLE": "1"}, tty) == detect.ENV
    assert detect.reason(False, {}, {"ACCESSIBLE": "0"}, tty) is None
    assert detect.reason(False, {"screen_reader": True}, {}, tty) == detect.CONFIG
    assert detect.reason(False, {"screen_reader": False}, {"TERM": "xterm"}, tty) is None
    assert detect.reason(False, {}, {"TERM": "dumb"}, tty) == detect.TERM_DUMB
    assert detect.reason(False, {}, {"TERM": "xterm"}, io.StringIO()) == detect.NOT_A_TTY


def test_the_demo_in_screen_reader_mode(tmp_path: Path, sessions: Any) -> None:
    s = sessions(["demo", "--screen-reader", "--lang", "en"], environment(tmp_path))
    s.lines(
        "Screen-reader mode is on (you passed --screen-reader).",
        "Starting the demo record host on this computer…",
    )
    s.child.timeout = 30  # the demo seeds a fresh database first
    s.line("Done: the demo record host is ready.")
    password = s.match(
        r"This is a demo\. The INS is \d  \d\d  \d\d  \d\d  \d{3}  \d{3}  \d\d and the password "
        r"is (\S+)\. .*"
    ).group(1)
    s.child.timeout = TIMEOUT
    s.line("Screen: 0 — Log in")
    s.answer("", "INS (15 characters). Press Enter to keep 2  84  05  75  123  456  72:")
    s.secret(password, "Password (not shown as you type):")
    s.answer("2")
    s.match(r"Done: A code was sent to .+\. It is valid \d+ minutes\.")
    # The code in the message, digit by digit: not "four hundred eighty-one thousand…".
    code = s.match(r"Demo phone: SMS to .+: Votre code DMP : (\d( \d){5}) .*").group(1)
    code = code.replace(" ", "")
    s.secret(code, "One-time code, 6 digits (not shown as you type; Enter alone goes back):")
    s.lines("Done: you are logged in.", "Screen: 1 — Home")
    # d, on any menu: the demo phone read again, newest first (the login code, and the notices
    # the demo host's maintenance may have sent meanwhile).
    s.answer("d")
    shown, total = s.match(
        r"The demo phone: the latest (\d) of (\d) messages, newest first\."
    ).groups()
    assert 1 <= int(shown) == min(int(total), 5)
    read = [s.match(r"Demo phone: (.*)").group(1) for _ in range(int(shown))]
    assert sum(f"Votre code DMP : {' '.join(code)} " in line for line in read) == 1
    s.quit()
    assert s.output.count(password) == 1  # said once, by the demo; never echoed


def test_the_demo_phone_command_outside_the_demo(
    host: LiveHost, tmp_path: Path, sessions: Any
) -> None:
    s = open_reader(sessions, host, tmp_path)
    log_in(s, host)
    s.answer("d")
    s.line(
        "There is no demo phone here: this is not the demo. Your codes go to your own phone or "
        "email. To try the app with a demo phone, run “dmptui demo”."
    )
    s.quit()


# --- the same actions in both front ends -----------------------------------------------------


def uncovered(actions: tuple[Action, ...], handlers: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(catalogue actions without a reader handler, reader handlers without an action)."""
    ids = {a.id for a in actions}
    return ids - set(handlers), set(handlers) - ids


def test_every_catalogue_action_has_a_reader_handler() -> None:
    assert uncovered(catalogue.ACTIONS, reader_screens.HANDLERS) == (set(), set())
    for action in catalogue.ACTIONS:
        assert reader_screens.reader_key(action.id)  # and the help says what to type
    # An action added to the catalogue only (or to the reader only) is caught.
    extra = Action("documents.print", "documents", "p", "Print", "Print the document.")
    assert uncovered((*catalogue.ACTIONS, extra), reader_screens.HANDLERS) == (
        {"documents.print"},
        set(),
    )
    assert uncovered(catalogue.ACTIONS[1:], reader_screens.HANDLERS) == (
        set(),
        {catalogue.ACTIONS[0].id},
    )


def tui_unbound(actions: tuple[Action, ...]) -> set[str]:
    """The actions the TUI does not bind to a key with an action method behind it: each screen's
    actions on its screen class (``catalogue_bindings``), the "*" actions on the app."""
    from screens.app import SCREEN_CLASSES, AppConfig, DmpApp
    from screens.login import LoginScreen

    bound: set[str] = set()

    def collect(node: Any) -> None:
        for bindings in node._bindings.key_to_bindings.values():
            for b in bindings:
                method = b.action.split("(", 1)[0]
                if b.id and hasattr(node, f"action_{method}"):
                    bound.add(b.id)

    app = DmpApp(AppConfig(host_url="http://127.0.0.1:9"))
    missing: set[str] = set()
    for action in actions:
        bound.clear()
        if action.screen == "*":
            collect(app)
        else:
            key = action.screen
            cls = LoginScreen if key == "login" else app.screen_class(key)
            if key in ("login", *SCREEN_CLASSES):
                collect(cls())
        if action.id not in bound:
            missing.add(action.id)
    return missing


def test_every_catalogue_action_is_bound_in_the_tui() -> None:
    assert tui_unbound(catalogue.ACTIONS) == set(), "catalogue actions without a TUI binding"
    extra = Action("documents.print", "documents", "p", "Print", "Print the document.")
    assert tui_unbound((*catalogue.ACTIONS, extra)) == {"documents.print"}


# --- the output itself -----------------------------------------------------------------------


def test_check_line_refuses_what_is_not_plain_appended_text() -> None:
    check_line("Screen: 2 — Documents")
    check_line("Fait : « Ordonnance » est maintenant masqué… 1\u202f204")
    for bad in (
        "\x1b[2J",
        "\x1b[?1049h",
        "colour \x1b[31mred",
        "a\rb",
        "box ─ drawing",
        "block █",
        "braille ⠿",
        "emoji 😀",
        "check ✓",
        "star ⭐",
        "square ■",
    ):
        with pytest.raises(UnsafeLine):
            check_line(bad)


def test_emit_makes_data_visible_and_speakable() -> None:
    out = io.StringIO()
    console = Console(stdin=io.StringIO(""), stdout=out)
    console.emit("done", "“Bilan\x1b[2J” ✓ is hidden 😀\u202e")
    console.emit("screen", "2 — Documents")
    console.emit("prompt", "Your choice:")
    assert out.getvalue().splitlines() == [
        "Done: “Bilan<U+001B>[2J” <U+2713> is hidden <U+1F600><U+202E>",
        "Screen: 2 — Documents",
        "Your choice:",  # from a pipe, a question is a line of its own
    ]
    with pytest.raises(ValueError):
        console.emit("shout", "no such kind")


def test_visible_is_the_tuis_rule() -> None:
    from screens.widgets.text import visible as tui_visible

    for sample in ("plain", "tab\tok", "bell\x07", "bidi\u202eevil", "zero\u200bwidth", "\x9b1m"):
        assert visible(sample) == tui_visible(sample)
    assert speakable("─😀") == "<U+2500><U+1F600>"


def test_help_does_not_import_textual_or_httpx() -> None:
    code = (
        "import sys\n"
        "from dmptui.entry.cli import main\n"
        "assert main(['--help']) == 0\n"
        "bad = [m for m in ('textual', 'httpx', 'screens') if m in sys.modules]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=30
    )
    assert done.returncode == 0, done.stderr
    assert "--screen-reader" in done.stdout


def test_reader_never_imports_textual_or_screens() -> None:
    code = (
        "import sys\n"
        "import dmptui.reader.app, dmptui.reader.screens\n"
        "bad = [m for m in sys.modules if m.split('.')[0] in ('textual', 'screens')]\n"
        "assert not bad, bad\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=30
    )
    assert done.returncode == 0, done.stderr


def test_export_first_then_erase(host: LiveHost, tmp_path: Path, sessions: Any) -> None:
    """Before erasing, the record is offered for export: taken first (progress lines, then the
    archive checked at once), then the erasure goes on; the archive still verifies offline."""
    from datetime import datetime

    from dmptui import export_check

    s = open_reader(sessions, host, tmp_path)
    log_in(s, host)
    s.answer("6")
    s.match(r"4 Export my whole record: .+")
    s.answer("3")
    s.line("Take your record with you first?")
    s.match(r"Before you go on, .+")
    s.line("1 Export my record first, 2 Go on without exporting, 0 Cancel.")
    s.answer("1")
    target = tmp_path / "saved" / "my-record.zip"
    default = tmp_path / "saved" / f"dmp-export-{datetime.now():%Y-%m-%d}.zip"
    s.answer(str(target), f"Where to write the archive? Enter alone: {default}. 0: cancel.")
    s.line("Export your whole record?")
    s.match(r"Every document you can see, your choices and the access trace go into .+")
    s.line("1 Export, 0 Cancel.")
    s.answer("1")
    done = s.match(r"Done: Your record is exported to (.+) \(\d+ KB\) and checked: .+")
    assert done.group(1) == str(target)
    # Then the erasure it came from.
    s.line("Erase your record for good?")
    s.answer("erase", "To confirm, type the word “erase”, then press Enter (Enter alone cancels):")
    s.line("This needs a fresh one-time code: 1 Authenticator app, 2 SMS, 3 Email, 0 Cancel.")
    s.answer("1")
    s.secret(host.code(), "One-time code, 6 digits (not shown as you type; Enter alone goes back):")
    s.match(r"Done: Your record is erased for good.+")
    assert record_row(host)[0] == "erased"
    assert target.stat().st_mode & 0o777 == 0o600  # health data: the patient's only
    verdict = export_check.verify(target)
    assert verdict.ok, verdict.lines()
