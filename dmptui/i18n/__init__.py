"""Languages: French (default where the locale is French) and English.

Source strings are English; the French catalogue is gettext (``po/*.po``, one file per area,
compiled into ``locale/fr/LC_MESSAGES/dmptui.mo`` by ``python -m dmptui.i18n.build``).
Dates and numbers follow the language through Babel (imported only when first needed); every
date and time is a Paris one (see ``paris_zone`` below).
"""

from __future__ import annotations

import functools
import gettext
import os
import unicodedata
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, tzinfo
from pathlib import Path

HERE = Path(__file__).parent
LANGUAGES = ("fr", "en")
_translation: gettext.NullTranslations = gettext.NullTranslations()
_language = "en"


def detect_language(env: Mapping[str, str] | None = None) -> str:
    """French where the locale is French, English otherwise."""
    env = os.environ if env is None else env
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = env.get(var, "")
        if value:
            return "fr" if value.lower().startswith("fr") else "en"
    return "en"


def set_language(lang: str) -> None:
    global _translation, _language
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}")
    _language = lang
    if lang == "en":
        _translation = gettext.NullTranslations()
    else:
        _translation = gettext.translation("dmptui", HERE / "locale", languages=[lang])


def language() -> str:
    return _language


def _(message: str) -> str:
    return _translation.gettext(message)


def N_(message: str) -> str:
    """Mark a string for translation without translating it now (catalogue entries)."""
    return message


def pick(texts: Mapping[str, str]) -> str:
    """A host message given in both languages ({"fr": …, "en": …})."""
    return texts.get(_language) or texts.get("en") or next(iter(texts.values()), "")


def joined(parts: Iterable[str]) -> str:
    """Parts of one sentence, each ending where a semicolon goes: "a; b" in English, "a ; b"
    in French (a space before the semicolon)."""
    return _("; ").join(parts)


def labelled(label: str) -> str:
    """A question's label and its colon: "Code:" in English, "Code :" in French."""
    return _("{label}:").format(label=label)


# --- dates, times, counts and names: the one place that says them ------------------------------
#
# One time zone for the whole app: the record is French and the host's own texts (notifications,
# e-mails) give Paris times, so every date and time shown is a Paris one, whatever the machine's
# zone, and is labelled so (once per list or table heading, or in the sentence when a time stands
# alone). The host cannot import this module: dmptui/host/notifications.py uses the same patterns
# (a test checks both say the same instant the same way).

PARIS_ZONE = "Europe/Paris"


@functools.cache
def paris_zone() -> tzinfo:
    """The app's one zone (loaded on first use: zoneinfo reads the system's zone files, which
    the login screen does not need before it is painted)."""
    from zoneinfo import ZoneInfo

    return ZoneInfo(PARIS_ZONE)


# (Babel locale, date pattern, date-time pattern, time pattern): the month always in words.
_PATTERNS = {
    "en": ("en_GB", "d MMMM y", "d MMMM y 'at' HH:mm", "HH:mm"),
    "fr": ("fr_FR", "d MMMM y", "d MMMM y 'à' H 'h' mm", "H 'h' mm"),
}


def paris(moment: datetime) -> datetime:
    """The instant in Paris time (a naive datetime is taken as UTC, as the host stores it)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(paris_zone())


def paris_date(moment: date | datetime) -> date:
    """The day in Paris of an instant (a date is already a day)."""
    return paris(moment).date() if isinstance(moment, datetime) else moment


def paris_day_start(day: date) -> datetime:
    """Midnight of that day in Paris, as an aware UTC instant (trace filters' bounds)."""
    return datetime.combine(day, time(), tzinfo=paris_zone()).astimezone(UTC)


def zone_words() -> str:
    """'Paris time' / 'heure de Paris': said once in each list's or table's heading."""
    return _("Paris time")


def format_date(day: date | datetime) -> str:
    """'7 December 2026' / '7 décembre 2026' (an instant: its day in Paris)."""
    from babel.dates import format_date as fmt

    locale, pattern, _dt, _t = _PATTERNS[_language]
    return fmt(paris_date(day), pattern, locale=locale)


def format_datetime(moment: datetime, *, zone: bool = False) -> str:
    """'7 December 2026 at 01:58' / '7 décembre 2026 à 1 h 58', in Paris time; with zone=True
    followed by '(Paris time)' / '(heure de Paris)', for a time that stands alone."""
    from babel.dates import format_datetime as fmt

    locale, _d, pattern, _t = _PATTERNS[_language]
    text = fmt(paris(moment), pattern, locale=locale)
    return _("{when} (Paris time)").format(when=text) if zone else text


def format_time(moment: datetime) -> str:
    """'01:58' / '1 h 58', in Paris time."""
    from babel.dates import format_time as fmt

    locale, _d, _dt, pattern = _PATTERNS[_language]
    return fmt(paris(moment), pattern, locale=locale)


# Said, not shown: screen-reader mode's dates and times, for a speech synthesizer and a braille
# line. The month in words; a time a synthesizer says as a time: "4:09 am", "2 pm", "midnight" /
# "4 heures 9", "14 heures", "minuit" (espeak-ng, NVDA's default voice, says the "h" of "14 h 05"
# as the letter "hache", and "00:00" as "zero zero zero"). No zone here: a screen says it once.


def spoken_time(moment: datetime) -> str:
    """'4:09 am', '2 pm', 'noon', 'midnight' / '4 heures 9', '14 heures', 'midi', 'minuit'."""
    at = paris(moment)
    hour, minute = at.hour, at.minute
    if _language == "fr":
        if minute == 0 and hour in (0, 12):
            return "minuit" if hour == 0 else "midi"
        hours = f"{hour} heure" if hour < 2 else f"{hour} heures"
        return f"{hours} {minute}" if minute else hours
    if minute == 0 and hour in (0, 12):
        return "midnight" if hour == 0 else "noon"
    half = "am" if hour < 12 else "pm"
    twelve = hour % 12 or 12
    return f"{twelve}:{minute:02d} {half}" if minute else f"{twelve} {half}"


def spoken_date(day: date | datetime) -> str:
    """'7 December 2026' / '7 décembre 2026': the month written out (an instant: its Paris day)."""
    return format_date(day)


def spoken_datetime(moment: datetime, *, day: bool = True) -> str:
    """'7 December 2026 at 4:53 am' / '7 décembre 2026 à 4 heures 53' (``day=False``: the time
    alone, for an entry on the same day as the one before it)."""
    if not day:
        return spoken_time(moment)
    link = "à" if _language == "fr" else "at"
    return f"{spoken_date(moment)} {link} {spoken_time(moment)}"


def format_number(n: int) -> str:
    from babel.numbers import format_decimal

    return format_decimal(n, locale=_language)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for n (French: 0 and 1 are singular)."""
    return _translation.ngettext(singular, plural, n)


_VOWELS = frozenset("aeiouyAEIOUY")


def of_name(name: str) -> str:
    """French 'de' before a name, with elision: 'd’Élodie Roussel', 'de Marc Petit'."""
    first = unicodedata.normalize("NFD", name.strip()[:1])[:1]
    return f"d’{name}" if first in _VOWELS else f"de {name}"


class Name(str):
    """A person's name in a message: ``{name}`` gives it as it is, ``{name:de}`` (in a French
    msgstr) gives it after 'de' with elision ('d’Élodie Roussel', 'de Marc Petit')."""

    __slots__ = ()

    def __format__(self, spec: str) -> str:
        if spec == "de":
            return of_name(str(self))
        return format(str(self), spec)
