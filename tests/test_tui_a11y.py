"""Accessibility of the TUI (ACCESSIBILITY.md 6–10), against the real host.

Two kinds of test:
- the real ``dmptui`` under a pseudo-terminal, its output fed to a terminal emulator (pyte): the
  screen id is in the first row and in the terminal title; after each Tab the terminal cursor is
  inside the focused widget, whose heavy border says "> here", and the screen text changed;
  nothing is written while idle; the same text with and without ``NO_COLOR``;
- the app under Pilot, keys only: every binding has a description, Tab goes round every screen in
  reading order and comes back (no trap), Ctrl+R reads the screen into the message log, every
  notice lands in the log; and the contrast of every colour pair of every theme offered."""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import os
import pty
import re
import signal
import struct
import sys
import termios
import threading
import time
from pathlib import Path
from typing import Any

import pyte
import pytest
from hostkit import LiveHost
from textual.pilot import Pilot
from tuikit import goto, login, make_app, settled, status, wait_for

from dmptui import catalogue
from screens import themes
from screens.app import animation_level
from screens.widgets.message_log import MessageLog

COLS, ROWS = 120, 40
MARKER = "> here"


def run(coro: Any) -> None:
    asyncio.run(coro)


# --- the real app in a pseudo-terminal -----------------------------------------------------------


class Terminal:
    """``dmptui --host URL --lang en`` in a pty of COLS × ROWS, read by pyte."""

    def __init__(self, url: str, tmp: Path, **env: str) -> None:
        self.screen = pyte.Screen(COLS, ROWS)
        self.stream = pyte.ByteStream(self.screen)
        self.raw = bytearray()
        self.lock = threading.Lock()
        self.last = time.monotonic()
        clean = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("TEXTUAL", "DMPTUI", "NO_COLOR", "ACCESSIBLE", "COLORTERM"))
            and k not in ("COLUMNS", "LINES")
        }
        clean.update(
            TERM="xterm-256color",
            XDG_CONFIG_HOME=str(tmp / "config"),  # no config file: the TUI, not screen-reader mode
            DMPTUI_DATA_DIR=str(tmp / "data"),
            PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
            LANG="C.UTF-8",
            TZ="UTC",
        )
        clean.update(env)
        argv = [sys.executable, "-m", "dmptui.entry.cli", "--host", url, "--lang", "en"]
        pid, fd = pty.fork()
        if pid == 0:  # the child: a terminal of the right size, then the app
            fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLS, 0, 0))
            os.execve(sys.executable, argv, clean)
        self.pid, self.fd = pid, fd
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self.fd, 65536)
            except OSError:
                return
            if not data:
                return
            with self.lock:
                self.raw += data
                self.stream.feed(data)
                self.last = time.monotonic()

    def text(self) -> str:
        with self.lock:
            return "\n".join(self.screen.display)

    def lines(self) -> list[str]:
        with self.lock:
            return list(self.screen.display)

    def cursor(self) -> tuple[int, int]:
        with self.lock:
            return self.screen.cursor.x, self.screen.cursor.y

    def title(self) -> str:
        with self.lock:
            return self.screen.title

    def quiet(self, quiet: float = 0.3, timeout: float = 15) -> None:
        """Wait until nothing has been written for ``quiet`` seconds."""
        deadline = time.monotonic() + timeout
        while time.monotonic() - self.last < quiet:
            assert time.monotonic() < deadline, "the app never stops writing"
            time.sleep(0.02)

    def press(self, keys: str) -> None:
        """Type ``keys``; wait for the app to answer, then to be quiet."""
        before = len(self.raw)
        os.write(self.fd, keys.encode())
        deadline = time.monotonic() + 10
        while len(self.raw) == before:
            assert time.monotonic() < deadline, f"no answer to {keys!r}:\n{self.text()}"
            time.sleep(0.02)
        self.quiet()

    def wait(self, *texts: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while not all(t in self.text() for t in texts):
            assert time.monotonic() < deadline, f"{texts!r} not on screen:\n{self.text()}"
            time.sleep(0.05)
        self.quiet()

    def close(self) -> None:
        try:
            os.kill(self.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        os.waitpid(self.pid, 0)
        os.close(self.fd)


@pytest.fixture
def terminals(tmp_path: Path) -> Any:
    started: list[Terminal] = []

    def start(url: str, **env: str) -> Terminal:
        term = Terminal(url, tmp_path / str(len(started)), **env)
        started.append(term)
        return term

    yield start
    for term in started:
        term.close()


def focus_box(lines: list[str]) -> tuple[int, int, int, int] | None:
    """(top, left, bottom, right) of the heavy box whose top edge says "> here" (None unless
    there is exactly one)."""
    found = [(y, line) for y, line in enumerate(lines) if MARKER in line and "┏" in line]
    if len(found) != 1 or sum(MARKER in line for line in lines) != 1:
        return None
    top, line = found[0]
    at = line.index(MARKER)
    if "┏" not in line[:at] or "┓" not in line[at:]:
        return None
    left, right = line.rindex("┏", 0, at), line.index("┓", at)
    bottom = next(
        (y for y in range(top + 1, len(lines)) if lines[y][left : left + 1] == "┗"), len(lines)
    )
    return top, left, bottom, right


def cursor_in_focus(term: Terminal) -> tuple[int, int, int, int] | None:
    """The focused box, if the terminal cursor is inside it."""
    box = focus_box(term.lines())
    if box is None:
        return None
    top, left, bottom, right = box
    x, y = term.cursor()
    return box if top < y < bottom and left < x < right else None


def settle(term: Terminal, done: Any, what: str, timeout: float = 10) -> Any:
    """Wait until ``done()`` gives something, and the app has stopped writing."""
    deadline = time.monotonic() + timeout
    while True:
        term.quiet(0.2)
        found = done()
        if found:
            return found
        assert time.monotonic() < deadline, (
            f"{what}; cursor at {term.cursor()}, screen:\n{term.text()}"
        )
        time.sleep(0.05)


def assert_cursor_in_focus(term: Terminal) -> tuple[int, int, int, int]:
    return settle(term, lambda: cursor_in_focus(term), "the cursor is not in a focused widget")


def tab_round(term: Terminal) -> list[tuple[int, int, int, int]]:
    """Tab until the focus is back where it started: each time the screen text changes and the
    cursor is inside the focused widget. Returns the focused boxes, in order."""
    boxes = [assert_cursor_in_focus(term)]
    while len(boxes) == 1 or boxes[-1] != boxes[0]:
        assert len(boxes) < 12, "Tab never comes back to where it started"
        before = term.text()
        term.press("\t")
        box = settle(
            term,
            lambda: (b := cursor_in_focus(term)) and b != boxes[-1] and b,
            f"after Tab, the focus did not move from {boxes[-1]} with the cursor in it",
        )
        assert term.text() != before
        boxes.append(box)
    return boxes[:-1]


def log_in(term: Terminal, host: LiveHost) -> None:
    term.press(host.ins)
    term.press("\t")
    term.press(host.password + "\r")
    term.wait("Type the 6-digit code")
    term.press(host.code() + "\r")
    term.wait("1 — Home", "up to date")


def blank_times(lines: list[str]) -> list[str]:
    return [re.sub(r"\b\d\d:\d\d\b", "hh:mm", line) for line in lines]


def idle(term: Terminal, where: str) -> None:
    before = len(term.raw)
    time.sleep(3)
    assert term.raw[before:] == b"", f"{where} wrote while nobody typed"


def test_screen_id_title_cursor_on_the_focus_and_nothing_written_while_idle(
    host: LiveHost, terminals: Any
) -> None:
    term = terminals(host.url)
    term.wait("0 — Log in", MARKER)
    assert term.lines()[0].strip() == "0 — Log in"
    assert term.title() == "dmptui — 0 — Log in"
    idle(term, "the login screen")  # the INS field has the focus: its cursor does not blink
    # INS, password, remember me, log in, the message log (and the form, when it scrolls).
    boxes = tab_round(term)
    assert len(set(boxes)) == len(boxes) >= 5
    log_in(term, host)
    assert term.lines()[0].strip() == "1 — Home"
    assert term.title() == "dmptui — 1 — Home"
    # Home: the summary, the menu of screens, the message log.
    assert len(tab_round(term)) >= 3
    term.press("2")
    term.wait("2 — Documents", "documents loaded")
    assert term.title() == "dmptui — 2 — Documents"
    assert_cursor_in_focus(term)  # the table has the focus
    idle(term, "the documents screen")
    x, y = term.cursor()
    term.press("\x1b[B")  # Down: the cursor follows the current row
    settle(term, lambda: term.cursor() == (x, y + 1), "the cursor did not follow the row")
    assert len(tab_round(term)) >= 3  # the table, the message log, the search field


_SGR = re.compile(rb"\x1b\[([0-9;]*)m")
_GREYS_256 = {0, 7, 8, 15, *(16 + 43 * i for i in range(6)), *range(232, 256)}


def colours(raw: bytes) -> list[tuple[int, ...]]:
    """The colours an output sets: (n,) for the 256-colour palette, (r, g, b) for true colour."""
    out: list[tuple[int, ...]] = []
    for match in _SGR.finditer(raw):
        params = [int(p) for p in match.group(1).split(b";") if p]
        i = 0
        while i < len(params):
            if params[i] in (38, 48) and i + 1 < len(params):
                if params[i + 1] == 5:
                    out.append((params[i + 2],))
                    i += 3
                    continue
                if params[i + 1] == 2:
                    out.append(tuple(params[i + 2 : i + 5]))
                    i += 5
                    continue
            if 30 <= params[i] <= 37 or 90 <= params[i] <= 97 or 40 <= params[i] <= 47:
                out.append((params[i],))
            i += 1
    return out


def is_grey(colour: tuple[int, ...]) -> bool:
    if len(colour) == 3:
        return colour[0] == colour[1] == colour[2]
    return colour[0] in _GREYS_256


def test_the_same_text_with_and_without_no_color(host: LiveHost, terminals: Any) -> None:
    coloured, plain = terminals(host.url), terminals(host.url, NO_COLOR="1")  # start together
    shown: dict[str, list[list[str]]] = {"login": [], "documents": []}
    for term in (coloured, plain):
        term.wait("0 — Log in", MARKER)
        shown["login"].append(blank_times(term.lines()))
    for term in (coloured, plain):
        log_in(term, host)
        term.press("2")
        term.wait("2 — Documents", "documents loaded")
        shown["documents"].append(blank_times(term.lines()))
    for where, (with_colour, without_colour) in shown.items():
        assert with_colour == without_colour, where
    assert not all(is_grey(c) for c in colours(bytes(coloured.raw)))
    hues = [c for c in colours(bytes(plain.raw)) if not is_grey(c)]
    assert hues == [], f"NO_COLOR, yet colours were written: {sorted(set(hues))[:10]}"


def test_the_remember_me_box_says_its_state_in_its_shape_not_its_colour(host: LiveHost) -> None:
    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            box = app.screen.query_one("#remember")

            def drawn() -> str:
                return "".join(strip.text for strip in box.render_lines(box.region.reset_offset))

            assert "X" not in drawn() and "Remember me" in drawn()
            box.focus()
            await pilot.press("space")
            await pilot.pause()
            assert box.value is True and "▐X▌" in drawn()
            await pilot.press("space")
            await pilot.pause()
            assert box.value is False and "X" not in drawn()

    asyncio.run(go())


# --- themes --------------------------------------------------------------------------------------


def test_every_theme_offered_passes_the_contrast_checks() -> None:
    assert themes.DEFAULT in themes.THEMES
    assert len(themes.THEMES) >= 2 and "dmptui-high-contrast" in themes.THEMES
    for theme in themes.THEMES.values():
        measured = themes.measure(theme)
        assert len(measured) >= 50  # every text colour on every background, and the focus
        assert themes.problems(theme) == []
    # The check bites: Textual's own default theme fails it, so the app does not offer it.
    from textual.theme import BUILTIN_THEMES

    assert themes.problems(BUILTIN_THEMES["textual-dark"])


def test_contrast_ratio_is_the_wcag_one() -> None:
    from textual.color import Color

    assert themes.contrast(Color(0, 0, 0), Color(255, 255, 255)) == pytest.approx(21.0)
    assert themes.contrast(Color(119, 119, 119), Color(255, 255, 255)) == pytest.approx(
        4.48, abs=0.01
    )


def test_theme_from_the_environment_the_config_and_ctrl_t(host: LiveHost, monkeypatch) -> None:
    assert themes.choose("", {}) == themes.DEFAULT
    assert themes.choose("light", {}) == "dmptui-light"
    assert themes.choose("light", {"DMPTUI_THEME": "high-contrast"}) == "dmptui-high-contrast"
    assert themes.choose("no-such-theme", {}) == themes.DEFAULT
    monkeypatch.setenv("DMPTUI_THEME", "high-contrast")

    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await pilot.pause()
            assert app.theme == "dmptui-high-contrast"
            seen = {app.theme}
            for _ in themes.THEMES:
                await pilot.press("ctrl+t")
                seen.add(app.theme)
            assert seen == set(themes.THEMES)  # Ctrl+T goes through the app's themes only
            assert "Colours: dark. Ctrl+T changes them again." in log_text(app)

    run(go())


def test_no_animation_by_default_nor_in_the_accessible_profile(host: LiveHost) -> None:
    assert animation_level({}) == "none"
    assert animation_level({"TEXTUAL_ANIMATIONS": "full"}) == "full"
    assert animation_level({"TEXTUAL_ANIMATIONS": "full", "ACCESSIBLE": "1"}) == "none"
    assert make_app(host, "en").animation_level == "none"


# --- keyboard (Pilot) ----------------------------------------------------------------------------


def log_text(app: Any) -> str:
    """The log's entries, one a line (as written: not where the width wraps them)."""
    return "\n".join(app.screen.query_one(MessageLog).texts)


def describe_bindings(app: Any) -> list[str]:
    """Active bindings of the current screen without a description."""
    return [
        f"{type(app.screen).__name__}: {key} -> {active.binding.action}"
        for key, active in app.active_bindings.items()
        if not (active.binding.description or "").strip()
    ]


def focus_round(app: Any) -> list[Any]:
    return list(app.screen.focus_chain)


async def check_tab_round(pilot: Pilot, where: str, backwards: bool = False) -> None:
    """Tab goes through every focusable widget once, in reading order, and comes back to the
    first; Shift+Tab goes round the other way."""
    app = pilot.app
    chain = focus_round(app)
    assert chain, f"{where}: nothing can take the focus"
    if app.focused is None:
        await pilot.press("tab")
    start = app.focused
    visited = [start]
    for _ in range(len(chain)):
        await pilot.press("tab")
        visited.append(app.focused)
    assert visited[-1] is start, f"{where}: Tab did not come back ({visited})"
    first = chain.index(start)
    assert visited[:-1] == chain[first:] + chain[:first], f"{where}: Tab skips or repeats"
    # Reading order: along the chain, never up-and-left, never leftwards on the same row (a move
    # up is only allowed into a column further right).
    for a, b in itertools.pairwise(chain):
        (xa, ya), (xb, yb) = a.region.offset, b.region.offset
        assert not ((yb < ya and xb <= xa) or (yb == ya and xb < xa)), (
            f"{where}: focus goes from {a} at {(xa, ya)} back to {b} at {(xb, yb)}"
        )
    if not backwards:
        return
    back = [app.focused]
    for _ in range(len(chain)):
        await pilot.press("shift+tab")
        back.append(app.focused)
    assert back[-1] is start and set(back) == set(chain), f"{where}: Shift+Tab is stuck"


def test_every_screen_by_keyboard_bindings_described_tab_round_no_trap(host: LiveHost) -> None:
    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            missing = describe_bindings(app)
            await check_tab_round(pilot, "0 — Log in", backwards=True)
            await login(pilot, host)
            for spec in catalogue.SCREENS:
                if spec.key != "home":
                    await goto(pilot, spec.key)
                await settled(pilot)
                missing += describe_bindings(app)
                label = catalogue.screen_label(spec)
                await check_tab_round(pilot, label, backwards=spec.key == "documents")
                if spec.key == "documents":
                    # The reading view, and a dialog: keys only, described, no trap.
                    app.screen.query_one("#doc-table").focus()
                    await pilot.press("enter")
                    await wait_for(pilot, lambda: type(app.screen).__name__ == "DocumentScreen")
                    await settled(pilot)
                    missing += describe_bindings(app)
                    await check_tab_round(pilot, "document view")
                    await pilot.press("escape")
                    await wait_for(pilot, lambda: type(app.screen).__name__ == "DocumentsScreen")
                    app.screen.query_one("#doc-table").focus()
                    await pilot.press("d")
                    await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
                    missing += describe_bindings(app)
                    await check_tab_round(pilot, "delete dialog")
                    app.screen.query_one("#cancel").focus()
                    await pilot.press("enter")
                    await wait_for(pilot, lambda: type(app.screen).__name__ == "DocumentsScreen")
                if spec.key == "trace":
                    await pilot.press("f")  # the filter bar opens: still a round, no trap
                    await pilot.pause()
                    await check_tab_round(pilot, "trace filter")
                    missing += describe_bindings(app)
                    await pilot.press("escape")
                if spec.key == "notes":
                    # Digits are text in the notes: leave with Esc (asked first if unsaved).
                    await pilot.press("escape")
                    await wait_for(pilot, lambda: type(app.screen).__name__ == "HomeScreen")
            assert missing == []

    run(go())


def test_ctrl_r_reads_the_screen_into_the_message_log(host: LiveHost) -> None:
    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            await pilot.press(*"secret-words")  # into the password field (the INS is filled)
            await pilot.press("ctrl+r")
            text = log_text(app)
            assert "Screen: 0 — Log in" in text
            assert "Status: Type your INS and your password, then press Enter." in text
            assert "You are here: Password field Password: 12 characters typed (hidden)" in text
            assert "secret-words" not in text
            assert "Text field INS (national health identifier, 15 characters): " in text
            assert "Checkbox Remember me on this device: not checked" in text
            assert "Button Log in" in text
            assert "Keys: " in text and "Ctrl+R Read this screen" in text
            app.screen.query_one("#password").value = ""
            await login(pilot, host)
            await goto(pilot, "documents")
            await settled(pilot)
            table = app.screen.query_one("#doc-table")
            await pilot.press("down")
            await pilot.press("ctrl+r")
            await pilot.pause()
            text = log_text(app)
            lines = text.splitlines()
            first = max(i for i, line in enumerate(lines) if "Screen: 2 — Documents" in line)
            read = "\n".join(lines[first:])
            assert re.search(r"Status: \d+ documents loaded", read)
            assert f"You are here: Table, row 2 of {table.row_count}: Date of care: " in read
            assert "Type: " in read and "Title: " in read and "Practitioners: " in read
            assert "Showing: all types" in read
            assert "Hide from practitioners" in read  # the keys of the screen
            log = app.screen.query_one(MessageLog)
            top = log.lines[round(log.scroll_y)].text
            assert "Screen: 2 — Documents" in top  # the log shows the read-out from its start
            # In a dialog: the dialog is read, into the log of the screen beneath (on view).
            await pilot.press("d")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "ConfirmScreen")
            await pilot.press("ctrl+r")
            await pilot.pause()
            text = "\n".join(log.texts)
            assert "Dialog: Delete " in text
            assert "You are here: Button Cancel" in text
            assert "This document will be deleted for everyone, for good." in text

    run(go())


def test_every_notice_stays_in_the_log_and_log_out_empties_it(host: LiveHost) -> None:
    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await login(pilot, host)
            assert "Done: Your record is up to date." in log_text(app)
            app.notify("A toast goes away; its words stay.")
            await pilot.press("ctrl+c")  # Textual's "how to quit" toast, in words
            await pilot.pause()
            text = log_text(app)
            assert "A toast goes away; its words stay." in text
            assert "To quit dmptui, press Ctrl+Q." in text
            await goto(pilot, "documents")
            await settled(pilot)
            assert "A toast goes away; its words stay." in log_text(app)  # on every screen
            await pilot.press("ctrl+l")
            await wait_for(pilot, lambda: type(app.screen).__name__ == "LoginScreen")
            await pilot.pause()
            text = log_text(app)
            assert "Done: You are logged out." in text
            assert "toast" not in text and "record is up to date" not in text

    run(go())


def test_french_read_out(host: LiveHost) -> None:
    async def go() -> None:
        app = make_app(host, "fr")
        async with app.run_test(size=(COLS, ROWS)) as pilot:
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            await pilot.press("ctrl+r")
            text = log_text(app)
            assert "Écran : 0 — Se connecter" in text
            here = "Vous êtes ici : Champ de mot de passe Mot de passe : caractères tapés : 0"
            assert here in text
            assert "Touches : " in text and "Lire cet écran" in text
            assert status(app).startswith("Tapez")

    run(go())


def test_help_names_keys_as_printed_on_the_keyboard_and_lists_every_app_key() -> None:
    import re

    from dmptui import catalogue, i18n
    from screens.help import help_text

    for spec in (catalogue.LOGIN, *catalogue.SCREENS):
        text = help_text(spec.key)
        # Textual's own key names ("escape", "ctrl+l", "slash") never reach the patient.
        assert not re.search(r"\b(escape|enter|slash)\b|ctrl\+|\bf\d\b", text), text
        for shown in ("F1", "Esc", "Ctrl+L", "Ctrl+Q", "Ctrl+R", "Ctrl+T"):
            assert re.search(rf"^{re.escape(shown)} +\S", text, re.M), (spec.key, shown)
    assert re.search(r"^/ +Search", help_text("documents"), re.M)
    i18n.set_language("fr")
    text = help_text("documents")
    assert re.search(r"^Échap +Retour", text, re.M)
    assert re.search(r"^Entrée +\S", text, re.M)
