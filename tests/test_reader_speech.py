"""Screen-reader mode heard through a real speech engine, and read on a braille line.

The support guide's tasks run end to end in reader mode (a real ``dmptui --screen-reader`` under a
pseudo-terminal, against the real demo host: ``test_support_guide``'s runner), in English and in
French, and everything dmptui wrote is checked:

- Keep: no control sequence and no glyph in any byte of the run.
- Braille: no line longer than 80 characters where it could be split at a label.
- Speech: espeak-ng (Debian's package; ``.ci/run`` installs it) turns what is said into phonemes
  (``espeak-ng -q -x``): every INS, RPPS number and secret said in the run comes out as its
  groups or characters one by one, never as one big number ("trillion", "milliards"); every date
  with its month in words, never an abbreviation ("dek"); every time as a time (no "zero zero",
  no French "hache" for the h of "14 h 05").
"""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any, cast

import pytest
from hostkit import LiveHost
from test_support_guide import FLOW, Reader, guide_blocks, start, verify

from dmptui import i18n
from dmptui.data_text import is_glyph
from dmptui.i18n import spoken_datetime, spoken_time
from dmptui.identifiers import spelled, spelled_groups, spoken_ins, spoken_rpps
from dmptui.reader.app import QUIET, ReaderConfig
from dmptui.reader.app import Reader as ReaderApp
from dmptui.reader.io import BRAILLE_WIDTH, Console, braille_lines

ESPEAK = shutil.which("espeak-ng")
VOICES = {"en": "en", "fr": "fr"}
MONTHS = {
    "en": "January February March April May June July August September October November December",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
}
ABBREVIATIONS = {
    "en": "Jan Feb Apr Jun Jul Aug Oct Nov Dec",
    "fr": "janv. févr. avr. juil. oct. nov. déc.",
}
# Big-number words, as espeak-ng says them (stress marks taken off): an identifier said as one
# number has them.
BIG = {
    "en": {"TaUz@nd", "mIli@n", "bIli@n", "trIli@n"},
    "fr": {"mil", "miljO~", "miljA~r", "bijO~"},
}


def espeak_ok() -> None:
    assert ESPEAK, (
        "espeak-ng is not installed: apt-get install espeak-ng (.ci/run installs it). These "
        "tests hear screen-reader mode through it."
    )


@cache
def phonemes(text: str, lang: str) -> tuple[str, ...]:
    """espeak-ng's phonemes for ``text``, one per word, stress and pause marks taken off."""
    espeak_ok()
    out = subprocess.run(
        [ESPEAK or "espeak-ng", "-q", "-x", "-v", VOICES[lang], text],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    words = (re.sub(r"[',_:!|#]", "", w) for w in out.split())
    return tuple(w for w in words if w)


def said_one_by_one(fragment: str, parts: list[str], lang: str) -> None:
    """``fragment`` is spoken as its ``parts`` are, each on its own: as many words, none of them
    a big number."""
    whole = phonemes(fragment, lang)
    alone = [p for part in parts for p in phonemes(part, lang)]
    assert len(whole) == len(alone), f"{fragment!r} is said {whole}, not as {parts}: {alone}"
    assert not BIG[lang] & set(whole), f"{fragment!r} is said with a big number: {whole}"


# --- fewer lines ------------------------------------------------------------------------------


def test_waiting_words_are_said_only_when_the_host_is_slow() -> None:
    """What a call loaded or did follows at once: "Loading…" before it is said only when the
    answer takes longer than ``QUIET`` (a person then knows something is going on)."""
    out = io.StringIO()
    config = ReaderConfig(host_url="http://127.0.0.1:9")
    r = ReaderApp(config, Console(io.StringIO(), out), cast(Any, None))

    async def fast() -> int:
        return 1

    async def slow() -> int:
        await asyncio.sleep(QUIET + 0.5)
        return 2

    assert asyncio.run(r.call("Loading your documents…", fast)) == 1
    assert out.getvalue() == ""
    assert asyncio.run(r.call("Loading your documents…", slow)) == 2
    assert out.getvalue() == "Loading your documents…\n"


def test_a_long_line_is_split_where_a_label_starts() -> None:
    line = "Date of care: 2 October 2025. Deposited: 10 October 2025 at 5:39 am (Paris time)."
    assert braille_lines(line) == [
        "Date of care: 2 October 2025.",
        "Deposited: 10 October 2025 at 5:39 am (Paris time).",
    ]
    french = (
        "Documents 1 à 10 sur 43, dates des soins. n : suivante, p : précédente, numéro : ouvrir."
    )
    assert braille_lines(french) == [
        "Documents 1 à 10 sur 43, dates des soins.",
        "n : suivante, p : précédente, numéro : ouvrir.",
    ]
    prose = (
        "Error: INS: it must have 15 characters. The INS has 15 characters: 13 digits (2A or 2B)"
    )
    assert braille_lines(prose + " and a key.") == [prose + " and a key."]  # no label: whole


# --- the formatters, heard ------------------------------------------------------------------


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_identifiers_codes_and_secrets_are_said_in_groups_or_one_by_one(lang: str) -> None:
    ins = "284057512345672"
    assert spoken_ins(ins) == "2  84  05  75  123  456  72"
    assert spoken_rpps("10031964207") == "10 03 19 64 20 7"
    assert spelled("481027") == "4 8 1 0 2 7"
    assert spelled_groups("4U7YXPJD") == "4, U, 7, Y; X, P, J, D"
    # The engine, before: in English the INS as one number ("two hundred eighty-four
    # trillion…"); in French, one space between its groups is a thousands separator.
    before = ins if lang == "en" else "2 84 05 75 123 456 72"
    assert BIG[lang] & set(phonemes(before, lang))
    said_one_by_one(spoken_ins(ins), spoken_ins(ins).split(), lang)
    said_one_by_one(spoken_rpps("10031964207"), spoken_rpps("10031964207").split(), lang)
    said_one_by_one(spelled("481027"), list("481027"), lang)
    said_one_by_one(spelled_groups("QAZR2345"), list("QAZR2345"), lang)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_times_are_said_as_times_and_months_in_words(lang: str) -> None:
    from datetime import UTC, datetime

    i18n.set_language(lang)
    midnight = datetime(2026, 12, 6, 23, 0, tzinfo=UTC)  # 00:00 in Paris (winter: UTC+1)
    five_past_two = datetime(2026, 12, 7, 13, 5, tzinfo=UTC)  # 14:05 in Paris
    if lang == "en":
        assert spoken_time(midnight) == "midnight"
        assert spoken_time(five_past_two) == "2:05 pm"
        assert spoken_datetime(five_past_two) == "7 December 2026 at 2:05 pm"
        # The engine says "00:00" as "zero zero zero".
        assert phonemes("00:00", lang).count("zi@roU") == 3
    else:
        assert spoken_time(midnight) == "minuit"
        assert spoken_time(five_past_two) == "14 heures 5"
        assert spoken_datetime(five_past_two) == "7 décembre 2026 à 14 heures 5"
        # The engine says the h of "14 h 05" as the letter: "quatorze hache zéro cinq".
        assert "aS" in phonemes("14 h 05", lang)
    heard_time(spoken_time(midnight), lang)
    heard_time(spoken_time(five_past_two), lang)
    heard_date(spoken_datetime(five_past_two), lang)


def heard_time(fragment: str, lang: str) -> None:
    said = phonemes(fragment, lang)
    if lang == "en":
        assert "zi@roU zi@roU" not in " ".join(said), f"{fragment!r} is said {said}"
    else:
        assert "aS" not in said, f"{fragment!r}: the h is said as a letter: {said}"
        hour = any(w.startswith("Wr") for w in said)  # heure, heures, heures-z-un
        assert fragment in ("minuit", "midi") or hour, f"{fragment!r} is said {said}"


def heard_date(fragment: str, lang: str) -> None:
    """The month in words: its phonemes are the full month's, never an abbreviation's."""
    said = phonemes(fragment, lang)
    months = [m for m in MONTHS[lang].split() if re.search(rf"\b{m}\b", fragment)]
    assert months, f"no month written out in {fragment!r}"
    assert set(phonemes(months[0], lang)) <= set(said), f"{fragment!r} is said {said}"
    for short in ABBREVIATIONS[lang].split():
        assert phonemes(short, lang)[0] not in said, f"{fragment!r}: said like {short!r}"


# --- the support guide's run, end to end --------------------------------------------------------


def guide_run(host: LiveHost, lang: str, tmp_path: Path) -> str:
    """Every task of the guide in reader mode, one process; what it wrote, whole."""
    blocks = guide_blocks()
    reader = Reader(host, lang, tmp_path)
    try:
        reader.question()
        for task in FLOW:
            block, before, says = start(host, blocks, lang, "reader", task)
            step = reader.do(block)
            verify(host, block, step, before, says)
    finally:
        reader.close()
    return reader.out


def spoken_lines(out: str) -> list[str]:
    """The lines dmptui wrote, less a document's own text (data, said as written)."""
    lines, inside = [], False
    for line in out.replace("\r\n", "\n").split("\n"):
        if line in ("The text of the document:", "Le texte du document :"):
            inside = True
        elif line in ("End of the document.", "Fin du document."):
            inside = False
        elif not inside:
            lines.append(line)
    return lines


INS = re.compile(r"\d  \d\d  \d\d  (?:\d\d|2A|2B)  \d{3}  \d{3}  \d\d")
RPPS = re.compile(r"RPPS (\d\d(?: \d\d){4} \d)")
SECRET = re.compile(r"[A-Z2-7](?:, [A-Z2-7]){3}(?:; [A-Z2-7](?:, [A-Z2-7]){3})+")
BARE_NUMBER = re.compile(r"(?<![\d ])\d{9,}(?!\d)")
TIMES = {
    "en": re.compile(r"\b(?:\d{1,2}(?::\d\d)? [ap]m|midnight|noon)\b"),
    "fr": re.compile(r"\b(?:\d{1,2} heures?(?: \d{1,2})?|minuit|midi)\b"),
}
DATES = {
    lang: re.compile(rf"\b\d{{1,2}} (?:{'|'.join(MONTHS[lang].split())}) \d{{4}}\b")
    for lang in MONTHS
}
CLOCK = re.compile(r"\b\d{1,2}:\d\d\b(?! [ap]m)|\b\d{1,2} h \d\d\b")


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_guide_run_is_heard_right_and_fits_a_braille_line(
    host: LiveHost, lang: str, tmp_path: Path
) -> None:
    espeak_ok()
    out = guide_run(host, lang, tmp_path)
    i18n.set_language(lang)

    # Keep: only whole lines appended; no control sequence, no glyph, in any byte.
    raw = out.replace("\r\n", "")
    bad = sorted({f"U+{ord(c):04X}" for c in raw if ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F})
    assert not bad, f"control characters in the output: {bad}"
    glyphs = sorted({f"U+{ord(c):04X}" for c in raw if is_glyph(c)})
    assert not glyphs, f"glyphs in the output: {glyphs}"

    lines = spoken_lines(out)
    # Braille: a line longer than a braille display holds cannot be split at a label (an entry
    # of a list is one line, whole: "12. …").
    long = [
        line
        for line in lines
        if len(line) > BRAILLE_WIDTH
        and not re.match(r"\d+\. ", line)
        and braille_lines(line) != [line]
    ]
    assert not long, "lines to split at a label:\n" + "\n".join(long)

    text = "\n".join(lines)
    # Identifiers: each said in its groups, the secret and codes one by one.
    said_ins = set(INS.findall(text))
    assert said_ins == {spoken_ins(host.ins)}, said_ins
    rpps = set(RPPS.findall(text))
    assert len(rpps) >= 4, rpps
    secrets = set(SECRET.findall(text))
    # The demo record is activated (issue 12): its login shows no authenticator secret; the
    # secret a new authenticator shows is spelled as test_identifiers_codes_and_secrets_… hears.
    # Any secret said here is checked one character at a time below.
    assert len(secrets) <= 1, secrets
    for fragment in said_ins | rpps:
        said_one_by_one(fragment, fragment.split(), lang)
    for fragment in secrets:
        said_one_by_one(fragment, re.findall(r"[A-Z2-7]", fragment), lang)
    # No identifier left as a bare long number (but what the patient typed, echoed).
    bare = [n for n in BARE_NUMBER.findall(text) if n != host.ins]
    assert not bare, f"numbers said whole: {bare}"
    # Times: as a time, the zone once per screen; dates: the month in words.
    times = set(TIMES[lang].findall(text))
    assert len(times) >= 2, times
    for fragment in times:
        heard_time(fragment, lang)
    dates = set(DATES[lang].findall(text))
    assert len(dates) >= 5, dates
    for fragment in dates:
        heard_date(fragment, lang)
    assert not CLOCK.findall(text), f"clock times left: {CLOCK.findall(text)}"
    alternatives = "|".join(re.escape(a) for a in ABBREVIATIONS[lang].split())
    short = re.findall(rf"\b(?:{alternatives})(?!\w)", text)
    assert not short, f"abbreviated months: {short}"
    zone = i18n._("(Paris time)")
    screens = text.split(i18n._("Screen:") + " ")
    assert all(screen.count(zone) <= 1 for screen in screens), "a zone said twice on a screen"


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_notifications_say_each_time_once_and_r_does_not_read_them_again(
    host: LiveHost, lang: str, tmp_path: Path
) -> None:
    blocks = guide_blocks()
    (login,) = [
        b
        for b in blocks
        if (b.kind, b.front, b.task, b.lang, b.case) == ("keys", "reader", "log-in", lang, "")
    ]
    reader = Reader(host, lang, tmp_path)
    try:
        reader.question()
        reader.do(login)
        mark = len(reader.out)
        reader.child.sendline("8")
        reader.question()
        page = spoken_lines(reader.out[mark:])
        mark = len(reader.out)
        reader.child.sendline("r")
        reader.question()
        after = spoken_lines(reader.out[mark:])
    finally:
        reader.close()
    i18n.set_language(lang)
    items = [line for line in page if re.match(r"\d+\. ", line)]
    assert len(items) == 10, page
    zone = i18n._("(Paris time)")
    for item in items:
        # Its time once (the host's message has it), the zone not at all (said in the heading).
        assert len(TIMES[lang].findall(item)) == 1, item
        assert zone not in item, item
        for fragment in TIMES[lang].findall(item):
            heard_time(fragment, lang)
    heading = [line.casefold() for line in page if not re.match(r"\d+\. ", line)]
    assert any(i18n._("Paris time").casefold() in line for line in heading), page
    assert sum(i18n._("UNREAD") in item for item in items) == 2  # read, the default, is not said
    # Mark all as read: done, and the page is not read out again.
    assert any(line.startswith(i18n._("Done:")) for line in after), after
    assert not [line for line in after if re.match(r"\d+\. ", line)], after


def test_a_trace_filter_by_rpps_says_the_number_in_pairs() -> None:
    from dmptui.words import TraceFilter

    i18n.set_language("en")
    words = TraceFilter(actor="10068733012").words(rpps=spoken_rpps)
    assert words == "Filter: practitioner “10 06 87 33 01 2”."
    said_one_by_one("10 06 87 33 01 2", "10 06 87 33 01 2".split(), "en")
    assert TraceFilter(actor="Mercier").words(rpps=spoken_rpps) == (
        "Filter: practitioner “Mercier”."
    )
