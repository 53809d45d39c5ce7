"""Languages: French (default where the locale is French) and English.

Source strings are English; the French catalogue is gettext (``po/*.po``, one file per area,
compiled into ``locale/fr/LC_MESSAGES/dmptui.mo`` by ``python -m dmptui.i18n.build``).
Dates and numbers follow the language through Babel (imported only when first needed).
"""

from __future__ import annotations

import gettext
import os
from collections.abc import Mapping
from datetime import date, datetime
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


def format_datetime(moment: datetime) -> str:
    from babel.dates import format_datetime as fmt

    local = moment.astimezone()
    return fmt(local, "d MMM y, HH:mm", locale=_language)


def format_date(day: date | datetime) -> str:
    from babel.dates import format_date as fmt

    if isinstance(day, datetime):
        day = day.astimezone().date()
    return fmt(day, "long", locale=_language)


def format_number(n: int) -> str:
    from babel.numbers import format_decimal

    return format_decimal(n, locale=_language)
