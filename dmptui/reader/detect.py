"""Whether screen-reader mode turns on, and why. The mode's first line says which.

In order: ``--screen-reader``; ``ACCESSIBLE`` set (to anything but 0/false/no/off); the config
file's ``screen_reader = true``; ``TERM=dumb``; standard output not a terminal. Cheap to import:
``dmptui`` decides before loading either front end (and ``dmptui doctor`` can say why)."""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from typing import Any, TextIO

from dmptui.i18n import N_, _

FLAG = "flag"
ENV = "env"
CONFIG = "config"
TERM_DUMB = "term_dumb"
NOT_A_TTY = "not_a_tty"

FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})

FIRST_LINES = {
    FLAG: N_("Screen-reader mode is on (you passed --screen-reader)."),
    ENV: N_("Screen-reader mode is on (ACCESSIBLE is set in the environment)."),
    CONFIG: N_("Screen-reader mode is on (screen_reader = true in the config file)."),
    TERM_DUMB: N_("Screen-reader mode is on (TERM=dumb: this terminal cannot draw screens)."),
    NOT_A_TTY: N_("Screen-reader mode is on (the output is not a terminal)."),
}


def reason(
    flag: bool = False,
    config: Mapping[str, Any] | None = None,
    env: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
) -> str | None:
    """Why screen-reader mode turns on (one of the constants above), or None for the TUI."""
    env = os.environ if env is None else env
    if flag:
        return FLAG
    if env.get("ACCESSIBLE", "").strip().lower() not in FALSE_WORDS:
        return ENV
    if config is not None and config.get("screen_reader") is True:
        return CONFIG
    if env.get("TERM", "").strip() == "dumb":
        return TERM_DUMB
    stream = sys.stdout if stdout is None else stdout
    try:
        tty = stream is not None and stream.isatty()
    except (AttributeError, ValueError, OSError):
        tty = False
    if not tty:
        return NOT_A_TTY
    return None


def first_line(why: str) -> str:
    """The mode's first line, in the current language."""
    return _(FIRST_LINES.get(why, FIRST_LINES[FLAG]))
