"""The one way out and the one way in of screen-reader mode.

Out: ``Console.emit(kind, text)`` writes whole lines (and prompts), each made visible and
speakable, then checked by ``check_line`` — nothing else writes to the terminal. Lines are only
appended: no control sequence, no carriage return, no glyph read as a symbol name. Every line is
flushed at once (a pipe gets it too), and nothing is written unless the user typed something or
an answer came.

In: one line at a time, read in a daemon thread (so a quit never waits for a last line). Secrets
(passwords, codes) are read with the terminal's echo off; from a pipe, a plain line (nothing
echoes a pipe). Neither is ever written back.
"""

from __future__ import annotations

import asyncio
import re
import sys
import threading
from typing import Any, TextIO

from dmptui.data_text import is_glyph, speakable
from dmptui.i18n import N_, _
from dmptui.loading import KIND_LABELS

LABELS = {"screen": N_("Screen:"), **KIND_LABELS, "demo": N_("Demo phone:")}
# Kinds without a label: "info" (what the screen shows), "wait" (progress in words), "item" (one
# entry of a list or menu), "text" (a document's or notes' own lines), "prompt" (a question).
PLAIN_KINDS = frozenset({"info", "wait", "item", "text", "prompt"})


# A braille display's line. A longer line is split where a label starts inside it ("… 2025.
# Deposited: …", "…; Reason given: …": one to three words and a colon, after a sentence), each
# part starting with its label; a list's entry (one entry, one line), a question and a
# document's own lines are left whole.
BRAILLE_WIDTH = 80
MID_LABEL = re.compile(r"(?<=[.;] )(?=[^\W\d_][^\W\d]*(?: [^\W\d]+){0,2}[ \u00a0\u202f]?: )")
WHOLE_KINDS = frozenset({"item", "text", "prompt", "demo"})


def braille_lines(line: str) -> list[str]:
    """``line`` in parts of at most ``BRAILLE_WIDTH`` characters, cut only where a label starts
    (parts are joined again while they fit); a line without such a place stays whole."""
    if len(line) <= BRAILLE_WIDTH:
        return [line]
    cuts = [m.start() for m in MID_LABEL.finditer(line)]
    if not cuts:
        return [line]
    pieces = [line[a:b].rstrip() for a, b in zip([0, *cuts], [*cuts, len(line)], strict=True)]
    out = [pieces[0]]
    for piece in pieces[1:]:
        if len(out[-1]) + 1 + len(piece) <= BRAILLE_WIDTH:
            out[-1] += " " + piece
        else:
            out.append(piece)
    return out


class UnsafeLine(ValueError):
    """A line that would not be only appended, plain text."""


class EndOfInput(Exception):
    """Standard input is closed (Ctrl+D, or the end of a pipe)."""


def check_line(line: str) -> None:
    """Refuse what a line of screen-reader output must never hold: ESC and every other control
    character (tab excepted), line breaks, and box-drawing, block, braille or emoji glyphs."""
    for char in line:
        code = ord(char)
        if (code < 0x20 and char != "\t") or 0x7F <= code <= 0x9F:
            raise UnsafeLine(f"control character U+{code:04X} in an output line")
        if is_glyph(char):
            raise UnsafeLine(f"glyph U+{code:04X} in an output line")


class Console:
    """Standard input and output, line by line."""

    def __init__(self, stdin: TextIO | None = None, stdout: TextIO | None = None) -> None:
        self.stdin = stdin if stdin is not None else sys.stdin
        self.stdout = stdout if stdout is not None else sys.stdout
        self._echo_off: tuple[int, Any] | None = None  # (fd, saved attributes)

    # --- out ---------------------------------------------------------------------------------

    @property
    def interactive(self) -> bool:
        """A person types at a terminal (their Enter ends the prompt's line on screen)."""
        try:
            return bool(self.stdin.isatty())
        except (AttributeError, ValueError, OSError):
            return False

    def emit(self, kind: str, text: str) -> None:
        """Write ``text`` as one line (or, for a multi-line text, one line per line), labelled
        by its kind. A prompt stays open for the answer when a person types at a terminal."""
        label = _(LABELS[kind]) if kind in LABELS else ""
        if kind not in LABELS and kind not in PLAIN_KINDS:
            raise ValueError(f"unknown kind of line: {kind!r}")
        parts = text.replace("\r\n", "\n").split("\n")
        parts = [f"{label} {part}" if label and i == 0 else part for i, part in enumerate(parts)]
        if kind not in WHOLE_KINDS:
            parts = [p for part in parts for p in braille_lines(part)]
        for i, part in enumerate(parts):
            line = speakable(part)
            check_line(line)
            last = i == len(parts) - 1
            end = "" if kind == "prompt" and last and self.interactive else "\n"
            if kind == "prompt" and last and end == "" and not line.endswith(" "):
                line += " "
            self.stdout.write(line + end)
        self.stdout.flush()

    # --- in ----------------------------------------------------------------------------------

    async def _readline(self) -> str:
        loop = asyncio.get_running_loop()
        answer: asyncio.Future[str] = loop.create_future()

        def deliver(line: str) -> None:
            if not answer.done():
                answer.set_result(line)

        def work() -> None:
            try:
                line = self.stdin.readline()
            except (OSError, ValueError):
                line = ""
            try:
                loop.call_soon_threadsafe(deliver, line)
            except RuntimeError:  # the loop has ended meanwhile
                pass

        threading.Thread(target=work, name="dmptui-reader-input", daemon=True).start()
        line = await answer
        if line == "":
            raise EndOfInput
        return line.rstrip("\r\n")

    async def ask(self, question: str) -> str:
        """Ask, and read one line (the terminal echoes it as usual)."""
        self.emit("prompt", question)
        return await self._readline()

    async def ask_secret(self, question: str) -> str:
        """Ask, and read one line that is never echoed nor written back."""
        if self.interactive and sys.platform == "win32":  # pragma: no cover - no termios there
            import getpass

            self.emit("prompt", question)
            return await asyncio.to_thread(getpass.getpass, "")
        self._no_echo()
        try:
            self.emit("prompt", question)
            return await self._readline()
        finally:
            self.restore()

    def _no_echo(self) -> None:
        if not self.interactive:
            return  # a pipe: nothing echoes it
        import termios

        fd = self.stdin.fileno()
        saved = termios.tcgetattr(fd)
        quiet = list(saved)
        quiet[3] = (quiet[3] & ~termios.ECHO) | termios.ECHONL  # the Enter still ends the line
        termios.tcsetattr(fd, termios.TCSANOW, quiet)
        self._echo_off = (fd, saved)

    def restore(self) -> None:
        """Turn the echo back on (after a secret, or when leaving on Ctrl+C)."""
        if self._echo_off is None:
            return
        import termios

        fd, saved = self._echo_off
        self._echo_off = None
        try:
            termios.tcsetattr(fd, termios.TCSANOW, saved)
        except (OSError, termios.error):
            pass
