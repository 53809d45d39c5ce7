"""Hostile input is shown as text, in both front ends, and the host refuses what it must.

Three layers:

- the host's input rules: control characters (C0, C1, DEL) and, in one-line fields (titles,
  break-glass reasons), bidirectional overrides and isolates are refused with a 422 that names
  the field and says why; markup and long words are accepted (they are text);
- what the host accepts, deposited through the practitioner API, then read in the TUI;
- a compromised host (``hostilekit``: the real host behind a middleware that rewrites its
  answers) sending markup, ANSI/OSC escapes, bidi overrides, zero-width characters, NUL, C1
  controls and a 10,000-character word in every string the app shows: the TUI paints visible
  forms, never a raw escape; nothing runs ([@click], links); nothing crashes; nothing writes an
  OSC 52 (clipboard) to the terminal; the screen-reader mode says exact lines.
"""

from __future__ import annotations

import asyncio
import base64
import re
from pathlib import Path
from typing import Any, ClassVar

import pytest
import textual.drivers.headless_driver as headless
from hostilekit import (
    BIDI,
    ESCAPES,
    LONG_WORD,
    MARKUP,
    NUL_C1,
    RAW,
    SEEN,
    SHORT_VALUES,
    VALUES,
    ZERO_WIDTH,
    compromised,
)
from hostkit import LiveHost
from test_reader import log_in, open_reader, sessions  # noqa: F401 - a fixture
from tuikit import goto, login, make_app, settled, wait_for

from dmptui.schema import MAX_TITLE

TITLE = "[red]x[/red] [@click=app.quit]q[/] [link=http://evil]l[/link]"


def deposit(host: LiveHost, role: str = "author", **body: Any) -> Any:
    payload = {"type": "11488-4", "title": "Compte rendu", "content": "Texte.", **body}
    with host.ps(role) as c:
        return c.post(f"/v1/ps/records/{host.ins}/documents", json=payload)


def documents(host: LiveHost) -> int:
    return host.sql("SELECT count(*) FROM documents")[0][0]


def screen_text(app: Any) -> str:
    """What is painted, cell by cell (not what is stored: markup would vanish from here)."""
    return "\n".join(strip.text for strip in app.screen._compositor.render_strips())


# --- the host's input rules ----------------------------------------------------------------------

CONTROLS = {
    "ESC (ANSI)": "a\x1b[2Jb",
    "OSC 52": "a\x1b]52;c;SGVsbG8=\x07b",
    "NUL": "a\x00b",
    "BEL": "a\x07b",
    "DEL": "a\x7fb",
    "C1 NEL": "a\x85b",
    "C1 CSI": "a\x9b1mb",
    "CR alone": "a\rb",  # goes back over the line; CR LF is a line end (test below)
}
SPOOFING = {
    "RLO U+202E": "abc\u202efdp.exe",
    "LRE U+202A": "a\u202ab",
    "PDF U+202C": "a\u202cb",
    "LRI U+2066": "a\u2066b",
    "RLI U+2067": "a\u2067b",
    "FSI U+2068": "a\u2068b",
    "PDI U+2069": "a\u2069b",
    "BOM U+FEFF": "a\ufeffb",
    "LINE SEPARATOR U+2028": "a\u2028b",
}


@pytest.mark.parametrize(
    "value",
    list({**CONTROLS, "newline": "a\nb", **SPOOFING}.values()),
    ids=list({**CONTROLS, "newline": "", **SPOOFING}),
)
def test_the_host_refuses_controls_and_bidi_overrides_in_a_title(
    host: LiveHost, value: str
) -> None:
    before = documents(host)
    r = deposit(host, title=value)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["error"] == "invalid_input" and body["field"] == "title"
    assert "not allowed" in body["message"]
    assert documents(host) == before


@pytest.mark.parametrize("value", list(CONTROLS.values()), ids=list(CONTROLS))
def test_the_host_refuses_controls_in_texts(host: LiveHost, value: str) -> None:
    before = documents(host)
    r = deposit(host, content=value)
    assert r.status_code == 422 and r.json()["field"] == "content", r.text
    assert "control characters are not allowed" in r.json()["message"]
    # The same text sent as base64 must not get round the rule.
    encoded = base64.b64encode(value.encode()).decode()
    r = deposit(host, content=None, content_base64=encoded)
    assert r.status_code == 422 and r.json()["field"] == "content_base64", r.text
    assert "control characters are not allowed" in r.json()["message"]
    assert documents(host) == before
    # The patient's notes.
    with host.login() as patient:
        r = patient.put("/v1/record/notes", json={"text": value})
    assert r.status_code == 422 and r.json()["field"] == "text", r.text


def test_crlf_line_ends_are_text_kept_as_sent(host: LiveHost) -> None:
    """The one rule (``schema._CONTROL``): CR LF is a line end, as sent or as base64."""
    text = "Ligne 1\r\nLigne 2\r\n"
    r = deposit(host, content=text)
    assert r.status_code == 201, r.text
    r = deposit(host, content=None, content_base64=base64.b64encode(text.encode()).decode())
    assert r.status_code == 201, r.text
    with host.login() as patient:
        r = patient.get(f"/v1/record/documents/{r.json()['id']}/content")
        assert r.status_code == 200 and r.content == text.encode()
        r = patient.put("/v1/record/notes", json={"text": text})
    assert r.status_code in (200, 204), r.text


def test_text_sent_as_base64_must_be_utf8(host: LiveHost) -> None:
    r = deposit(host, content=None, content_base64=base64.b64encode(b"\xff\xfe").decode())
    assert r.status_code == 422 and r.json()["message"] == (
        "Text must be UTF-8, or Windows-1252 as its content type says."
    )
    # Text from older software, declared as Windows-1252, is kept as sent; the control
    # character rule holds for it too, decoded.
    legacy = "text/plain; charset=windows-1252"
    raw = "fièvre à 39°".encode("cp1252")
    r = deposit(
        host, content=None, content_type=legacy, content_base64=base64.b64encode(raw).decode()
    )
    assert r.status_code == 201, r.text
    sneaky = base64.b64encode("rouge \x1b[31m".encode("cp1252")).decode()
    r = deposit(host, content=None, content_type=legacy, content_base64=sneaky)
    assert r.status_code == 422 and "not allowed" in r.json()["message"]


@pytest.mark.parametrize(
    "value", list({**CONTROLS, **SPOOFING}.values()), ids=list({**CONTROLS, **SPOOFING})
)
def test_the_host_refuses_controls_in_a_break_glass_reason(host: LiveHost, value: str) -> None:
    """The reason goes into the trace and the patient's notification: before this rule, a
    practitioner could write an escape sequence into both through the query string."""
    trace_before = host.trace_size()
    notices_before = host.sql("SELECT count(*) FROM notifications")[0][0]
    with host.ps("emergency") as c:
        r = c.get(
            f"/v1/ps/records/{host.ins}/documents",
            params={"mode": "break-glass", "reason": value},
        )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "reason" and "not allowed" in r.json()["message"]
    assert host.trace_size() == trace_before
    assert host.sql("SELECT count(*) FROM notifications")[0][0] == notices_before


def test_the_host_keeps_markup_long_words_and_script_joiners_as_text(host: LiveHost) -> None:
    word = "W" * MAX_TITLE
    persian = "گزارش\u200cپزشکی \u200fنتیجه"  # ZWNJ and RLM: ordinary in Persian text
    for title in (TITLE, word, persian):
        r = deposit(host, title=title)
        assert r.status_code == 201, r.text
        assert r.json()["title"] == title
    r = deposit(host, title="W" * (MAX_TITLE + 1))
    assert r.status_code == 422 and r.json()["field"] == "title"


# --- what the host accepts, deposited and read in the TUI ---------------------------------------


def test_markup_and_long_words_deposited_are_shown_as_text(host: LiveHost) -> None:
    long_title = "L" * MAX_TITLE
    assert deposit(host, title=TITLE, care_date="2099-01-02").status_code == 201
    r = deposit(
        host, title=long_title, content=f"{MARKUP}\n{LONG_WORD}\nfin", care_date="2099-01-01"
    )
    assert r.status_code == 201
    with host.login() as patient:
        r = patient.put("/v1/record/notes", json={"text": f"{MARKUP}\n{LONG_WORD}"})
        assert r.status_code == 200, r.text
    with host.ps("emergency") as c:
        r = c.get(
            f"/v1/ps/records/{host.ins}/documents",
            params={"mode": "break-glass", "reason": MARKUP},
        )
        assert r.status_code == 200, r.text

    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(160, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "documents")
            await settled(pilot)
            await pilot.pause(0.2)
            painted = screen_text(app)
            # Painted literally, cut with an ellipsis at the Title column's width.
            row = next(line for line in painted.splitlines() if "[red]x[/red]" in line)
            assert "[red]x[/red] [@click=app.quit]q[/]" in row and "…" in row
            # The 200-character title is cut in its cell, with an ellipsis.
            row = next(line for line in painted.splitlines() if "LLLL" in line)
            assert "L…" in row and long_title not in row
            # Its reading view: the markup and the 10,000-character word, wrapped.
            table = app.screen.table
            row = next(i for i in range(table.row_count) if "LLLL" in str(table.get_row_at(i)[2]))
            table.cursor_row = row
            await pilot.press("enter")
            await wait_for(pilot, lambda: "WWWW" in screen_text(app))
            painted = screen_text(app)
            assert MARKUP in painted  # the content's first line
            assert "L" * 150 in painted.replace("\n", "")  # the title, whole in the metadata
            assert max(len(line) for line in painted.splitlines()) <= 160  # wrapped
            await pilot.press("escape")
            await goto(pilot, "trace")
            await settled(pilot)
            # Emergency accesses only: the break-glass entry is selected, its detail shown whole.
            await pilot.press("e")
            await wait_for(pilot, lambda: "[@click=app.quit]" in screen_text(app))
            await goto(pilot, "notes")
            await settled(pilot)
            assert app.screen.query_one("#notes-text").text == f"{MARKUP}\n{LONG_WORD}"
            assert "UNSAVED" not in screen_text(app)
            assert app.is_running  # no @click ran

    asyncio.run(go())


# --- a compromised host --------------------------------------------------------------------------


class RecordingDriver(headless.HeadlessDriver):
    """Textual's headless driver, made to write like a terminal driver: every byte the app would
    send to the terminal is kept (Textual writes nothing at all in headless mode)."""

    written: ClassVar[list[str]] = []

    @property
    def is_headless(self) -> bool:
        return False

    def write(self, data: str) -> None:
        RecordingDriver.written.append(data)

    def flush(self) -> None:
        pass


def raw_in(text: str) -> list[str]:
    return [repr(r) for r in RAW if r in text]


SCREENS = ("home", "documents", "trace", "practitioners", "notifications", "notes")


def test_a_compromised_host_cannot_run_or_hide_anything_in_the_tui(
    host: LiveHost, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(headless, "HeadlessDriver", RecordingDriver)
    RecordingDriver.written = []
    seen: dict[str, str] = {}
    notes = ""
    with compromised(host) as h:

        async def go() -> None:
            app = make_app(h, "en")
            async with app.run_test(size=(120, 40)) as pilot:
                await login(pilot, h)
                for key in SCREENS:
                    await goto(pilot, key)
                    await settled(pilot)
                    await pilot.pause(0.2)
                    seen[key] = screen_text(app)
                    if key == "trace":  # the detail of an entry by a practitioner
                        await pilot.press(*["down"] * 6)
                        await pilot.pause(0.2)
                        seen["trace detail"] = screen_text(app)
                    if key == "practitioners":  # the directory search
                        await pilot.press("slash")
                        await pilot.press(*"Martin", "enter")
                        await settled(pilot)
                        await pilot.pause(0.2)
                        seen["directory"] = screen_text(app)
                nonlocal notes
                notes = app.screen.query_one("#notes-text").text
                await pilot.press("escape")  # leave the notes (nothing was typed)
                await goto(pilot, "documents")
                await settled(pilot)
                await pilot.press("enter")
                await wait_for(
                    pilot,
                    lambda: (
                        app.screen.__class__.__name__ == "DocumentScreen"
                        and SEEN[ZERO_WIDTH] in screen_text(app)
                    ),
                )
                seen["document"] = screen_text(app)
                await pilot.press("ctrl+r")  # the screen read out into the message log
                await pilot.pause(0.2)
                seen["read out"] = screen_text(app)
                assert app.is_running  # no [@click=app.quit] ran, no crash

        asyncio.run(go())
        rewritten = dict(h.front.rewritten) if h.front else {}
    # The middleware did put hostile values in every kind of answer.
    for key in ("title", "name", "facility", "actor_name", "reason", "message", "notes", "content"):
        assert rewritten.get(key), f"nothing rewritten for {key}: {rewritten}"
    for where, text in seen.items():
        assert raw_in(text) == [], f"raw control characters painted on {where}"
    everything = "\n".join(seen.values())
    for value in SHORT_VALUES:
        assert SEEN[value] in everything, f"the visible form of {value!r} is not on screen"
    for value in SHORT_VALUES:  # cut at the title column's width
        assert SEEN[value][:24] in seen["documents"], value
    for value in SHORT_VALUES:  # the reading view: the whole text
        assert SEEN[value] in seen["document"], value
    assert SEEN[ESCAPES] in seen["home"]
    assert SEEN[BIDI] in seen["practitioners"]
    assert SEEN[ZERO_WIDTH] in seen["notifications"] and SEEN[NUL_C1] in seen["notifications"]
    assert re.search(r"Who: .*(<U\+|\[red\])", seen["trace detail"])
    assert "<U+001B>" in seen["directory"] or "<U+202E>" in seen["directory"]
    assert notes == "\n".join(SEEN[v] for v in SHORT_VALUES) + "\n" + LONG_WORD
    # The 10,000-character word: cut with an ellipsis in the list and the trace, never a row
    # taller than the screen; wrapped within the width in the reading view.
    assert re.search(r"W{20,}…", seen["documents"])
    assert re.search(r"W{10,}…", seen["trace"])
    for where, text in seen.items():
        assert max(len(line) for line in text.splitlines()) <= 120, where
    # What reached the terminal: Textual's own sequences and the app's window title only.
    out = "".join(RecordingDriver.written)
    assert out, "the recording driver saw nothing: the check would be vacuous"
    assert "\x1b]52" not in out and "SGVsbG8=\x07" not in out
    assert "\x1b]0;title" not in out and "\x00" not in out and "\x9b" not in out
    assert "\u202e" not in out and "\u200b" not in out
    for osc in re.findall(r"\x1b\][^\x07\x1b]*", out):
        assert osc.startswith(("\x1b]2;dmptui — ", "\x1b]22;")), repr(osc)
    assert "<U+001B>]52;c;SGVsbG8=" in out  # the data did go out, as visible text


# --- the screen-reader mode, against a compromised host --------------------------------------


def test_the_screen_reader_says_hostile_values_as_visible_text(
    host: LiveHost,
    tmp_path: Path,
    sessions: Any,  # noqa: F811
) -> None:
    """Exact lines: every value in its visible form, the 10,000-character word whole (a line of
    the screen-reader mode is only appended, so a long one wraps in the terminal and breaks
    nothing), and never a control character written (``Session.check`` at the end)."""
    with compromised(host) as h:
        s = open_reader(sessions, h, tmp_path)
        log_in(s, h)
        # log_in heard "Screen: 1 — Home"; the waiting words ("Loading your record…") are said
        # only when the host is slow, and may come between.
        s.lines("Record: open", f"Médecin traitant: {SEEN[ESCAPES]} ({SEEN[BIDI]})")
        s.answer("2")
        # What the page's documents share (dates of care) is said once, in its heading;
        # visible to your practitioners, the default, is not said; the facility is said in the
        # document's own heading (below), not in the list.
        s.line("Screen: 2 — Documents")
        s.match(r"Documents 1 to 10 of \d+, dates of care\. n: next, p: previous, a number: open\.")
        for i in range(len(VALUES)):
            title = SEEN[VALUES[i % 6]]
            name = SEEN[VALUES[(1 + i) % 6]]
            s.match(
                re.escape(f"{i + 1}. {title}, ")
                + r"[a-z ]+"
                + re.escape(f", by {name}, 2 January 2025.")
            )
        s.answer("1")
        # The title is said once, in the heading; then the type, the author and the facility.
        s.lines(
            f"Document 1: {SEEN[MARKUP]}",
            f"Immunisations, by {SEEN[ESCAPES]}, {SEEN[ZERO_WIDTH]}.",
            "Date of care: 2 January 2025.",
        )
        # The waiting words ('Opening "…"…') are said only when the host is slow.
        s.lines("The text of the document:", *(SEEN[v] for v in SHORT_VALUES), LONG_WORD, "fin")
        s.line("End of the document.")
        s.match(r"What now\? .*0 back\.")
        s.quit()  # and Session.check: no escape, no control character, no glyph written


def test_the_screen_reader_says_a_hostile_trace_entry_as_visible_text(
    host: LiveHost,
    tmp_path: Path,
    sessions: Any,  # noqa: F811
) -> None:
    """The seeded break-glass access, its practitioner's name and facility and its reason
    rewritten by the compromised host: one sentence, then the detail, in exact lines."""
    with compromised(host) as h:
        s = open_reader(sessions, h, tmp_path)
        log_in(s, h)
        s.answer("4")
        s.line("Screen: 4 — Access trace")
        s.answer("e")
        # The waiting words ("Loading the access trace…") only when the host is slow; what the
        # entries share (the zone, allowed) is said once, before them.
        s.lines(
            "Filter: break-glass accesses only.",
            "Entries 1 to 1 of 1, newest first. n: next, p: previous, a number: details.",
            "Paris time; normal mode and allowed, unless said.",
        )
        who = f"{SEEN[MARKUP]} (doctor, {SEEN[ESCAPES]})"
        s.match(
            r"1\. EMERGENCY ACCESS: \d+ June \d{4} at \d{1,2}(:\d\d)? (am|pm), "
            + re.escape(
                f"{who} listed your documents in break-glass (emergency) mode: "
                f"Reason given: {SEEN[BIDI]}."
            )
        )
        s.answer("1")
        s.match(r"When: .+")
        s.match(re.escape(f"Who: {who} — RPPS ") + r"\d\d( \d\d){4} \d")
        s.lines(
            "What: listed your documents",
            "Mode: EMERGENCY — break-glass",
            "Outcome: allowed",
            f"Details: Reason given: {SEEN[BIDI]}",
        )
        s.quit()
