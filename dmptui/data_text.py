"""Data as text, for both front ends: control and invisible characters made visible
(``visible``: the TUI's ``screens/widgets/text.py`` and the screen-reader mode use this one rule),
glyphs that a speech synthesiser reads as symbol names (box drawing, braille, emoji…) replaced by
their code point (``speakable``), and data's own lines (``data_lines``)."""

from __future__ import annotations

import re

# What a terminal would act on, or what changes or hides text without showing itself: C0/C1
# controls and DEL (tab and line feed are kept; a line of output never holds a line feed), the
# Arabic letter mark, the Mongolian vowel separator, zero-width characters and direction marks,
# line and paragraph separators, bidirectional embeddings, overrides and isolates, invisible
# operators and deprecated format characters, the byte order mark, interlinear annotations, tag
# characters, and lone surrogates. The TUI (``screens/widgets/text.py``) uses this same rule.
_INVISIBLE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u180e\u200b-\u200f\u2028-\u202e"
    "\u2060-\u2064\u2066-\u206f\ufeff\ufff9-\ufffb\U000e0000-\U000e007f\ud800-\udfff]"
)

# Glyphs that are read aloud as symbol names ("box drawings light horizontal", "black square",
# "grinning face") or shown as noise on a braille display.
GLYPH_RANGES: tuple[tuple[int, int], ...] = (
    (0x2300, 0x23FF),  # miscellaneous technical (watch, hourglass, …)
    (0x2500, 0x257F),  # box drawing
    (0x2580, 0x259F),  # block elements
    (0x25A0, 0x25FF),  # geometric shapes (squares, triangles, circles)
    (0x2600, 0x27BF),  # miscellaneous symbols, dingbats (check marks, stars, …)
    (0x2800, 0x28FF),  # braille patterns
    (0x2B00, 0x2BFF),  # miscellaneous symbols and arrows (emoji stars, squares)
    (0xE000, 0xF8FF),  # private use (icon fonts)
    (0xFE00, 0xFE0F),  # variation selectors (emoji presentation)
    (0x1F000, 0x1FAFF),  # emoji, pictographs, flags, playing cards
    (0x1FB00, 0x1FBFF),  # symbols for legacy computing (block sextants)
)
_GLYPHS = re.compile(
    "[" + "".join(f"{re.escape(chr(lo))}-{re.escape(chr(hi))}" for lo, hi in GLYPH_RANGES) + "]"
)


def _notation(match: re.Match[str]) -> str:
    return f"<U+{ord(match.group()):04X}>"


def visible(value: str) -> str:
    """Replace control and invisible characters by a visible code point notation."""
    return _INVISIBLE.sub(_notation, value)


def is_glyph(char: str) -> bool:
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in GLYPH_RANGES)


def speakable(value: str) -> str:
    """``visible()``, and glyphs read as symbol names replaced by their code point too."""
    return _GLYPHS.sub(_notation, visible(value))


def data_lines(value: str) -> list[str]:
    """Data's own lines: broken at line feeds (and CR LF) only. Not ``str.splitlines()``,
    which also breaks at U+0085, U+2028, vertical tab, form feed…: those are shown in their
    visible form, where they are, like every other control character."""
    return value.replace("\r\n", "\n").split("\n")
