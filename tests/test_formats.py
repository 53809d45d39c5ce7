"""One way to say dates, times, counts and names, in both languages: every date and time in
Paris time whatever the machine's zone, the same words as the host's own texts, plurals through
ngettext, French names after "de" with elision, and no French text assuming a gender."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

from dmptui import i18n, words
from dmptui.host import notifications as host_notes
from dmptui.i18n import Name, _, ngettext

PO = Path(i18n.__file__).parent / "po"
# An emergency access at 23:58 UTC on 27 June: 01:58 on 28 June in Paris (summer time).
EMERGENCY = datetime(2026, 6, 27, 23, 58, tzinfo=UTC)
# A grant at 23:30 UTC on 6 December: 00:30 on 7 December in Paris (winter time).
GRANT = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)


@pytest.fixture(params=["UTC", "America/New_York", "Asia/Tokyo"])
def machine_zone(request: pytest.FixtureRequest) -> Iterator[str]:
    """The machine's own zone, set for the test and put back after it."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = request.param
    time.tzset()
    try:
        yield request.param
    finally:
        if before is None:
            os.environ.pop("TZ", None)
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.fixture
def lang() -> Iterator[None]:
    before = i18n.language()
    yield
    i18n.set_language(before)


def said(lang: str, say: object) -> str:
    i18n.set_language(lang)
    assert callable(say)
    return str(say())


def test_dates_and_times_are_paris_ones_on_any_machine(machine_zone: str, lang: None) -> None:
    assert datetime.fromtimestamp(0).astimezone().tzname() is not None  # the zone took effect
    assert said("en", lambda: i18n.format_datetime(EMERGENCY)) == "28 June 2026 at 01:58"
    assert said("fr", lambda: i18n.format_datetime(EMERGENCY)) == "28 juin 2026 à 1 h 58"
    assert said("en", lambda: i18n.format_datetime(EMERGENCY, zone=True)) == (
        "28 June 2026 at 01:58 (Paris time)"
    )
    assert said("fr", lambda: i18n.format_datetime(EMERGENCY, zone=True)) == (
        "28 juin 2026 à 1 h 58 (heure de Paris)"
    )
    assert said("en", lambda: i18n.format_date(GRANT)) == "7 December 2026"
    assert said("fr", lambda: i18n.format_date(GRANT)) == "7 décembre 2026"
    assert said("fr", lambda: i18n.format_date(date(2026, 12, 1))) == "1 décembre 2026"
    assert said("en", lambda: i18n.format_time(EMERGENCY)) == "01:58"
    assert said("fr", lambda: i18n.format_time(EMERGENCY)) == "1 h 58"


def test_the_app_and_the_host_say_an_instant_alike(machine_zone: str, lang: None) -> None:
    for lang_ in ("en", "fr"):
        for moment in (EMERGENCY, GRANT):
            app = said(lang_, lambda m=moment: i18n.format_datetime(m, zone=True))
            assert app == host_notes._when(moment, lang_)
            assert said(lang_, lambda m=moment: i18n.format_date(m)) == host_notes._day(
                moment, lang_
            )


def test_sentences_use_paris_days(machine_zone: str, lang: None) -> None:
    i18n.set_language("en")
    # The grant's status and the document's day of deposit: 7 December, as the host's texts say.
    link = SimpleNamespace(practitioner=SimpleNamespace(rpps="1"), since=GRANT, see_masked=False)
    links = words.Links(SimpleNamespace(attending=None, authorised=[link], blocked=[]))
    assert links.status("1") == "authorised since 7 December 2026"
    doc = SimpleNamespace(care_date=None, deposited_at=GRANT)
    assert words.doc_date(doc) == date(2026, 12, 7)
    # A trace filter's days are Paris days: 28 June starts at 22:00 UTC on 27 June (summer).
    bounds = words.TraceFilter(since=date(2026, 6, 28), until=date(2026, 6, 28)).query()
    assert bounds["since"] == datetime(2026, 6, 27, 22, 0, tzinfo=UTC)
    assert bounds["until"] == datetime(2026, 6, 28, 22, 0, tzinfo=UTC)
    assert EMERGENCY >= bounds["since"] and EMERGENCY < bounds["until"]
    assert words.TraceFilter(since=date(2026, 6, 28)).words() == "Filter: from 28 June 2026."


def test_counts_take_the_right_plural(lang: None) -> None:
    one, many = "{n} unread notification (screen 8):", "{n} unread notifications (screen 8):"
    i18n.set_language("en")
    assert ngettext(one, many, 1).format(n=1) == "1 unread notification (screen 8):"
    assert ngettext(one, many, 2).format(n=2) == "2 unread notifications (screen 8):"
    assert ngettext(one, many, 0).format(n=0) == "0 unread notifications (screen 8):"
    i18n.set_language("fr")
    # French: 0 and 1 are singular.
    assert ngettext(one, many, 0).format(n=0) == "0 notification non lue (écran 8) :"
    assert ngettext(one, many, 1).format(n=1) == "1 notification non lue (écran 8) :"
    assert ngettext(one, many, 2).format(n=2) == "2 notifications non lues (écran 8) :"
    assert words.size_words(1) == "1 octet"
    assert words.size_words(2) == "2 octets"
    i18n.set_language("en")
    assert words.size_words(1) == "1 byte"
    note = SimpleNamespace(id=1, emergency=False, message={"en": "Hello", "fr": "Bonjour"})
    heading, items = words.unread_summary(SimpleNamespace(items=[note]))
    assert heading == "1 unread notification (screen 8):" and items == [(False, "Hello")]


def test_french_names_after_de_are_elided(lang: None) -> None:
    assert i18n.of_name("Élodie Roussel") == "d’Élodie Roussel"
    assert i18n.of_name("Antoine Garnier") == "d’Antoine Garnier"
    assert i18n.of_name("Yves Morel") == "d’Yves Morel"
    assert i18n.of_name("Marc Petit") == "de Marc Petit"
    assert f"{Name('Élodie Roussel'):de}" == "d’Élodie Roussel"
    assert f"{Name('Élodie Roussel')}" == "Élodie Roussel"
    i18n.set_language("fr")
    assert _("Blocking {name}…").format(name=Name("Élodie Roussel")) == "Blocage d’Élodie Roussel…"
    assert _("Blocking {name}…").format(name=Name("Marc Petit")) == "Blocage de Marc Petit…"
    blocked = _(
        "{name} is blocked: they cannot open your record in any mode, emergencies included."
    ).format(name=Name("Élodie Roussel"))
    assert blocked.startswith("Accès bloqué pour Élodie Roussel")
    i18n.set_language("en")
    assert _("Blocking {name}…").format(name=Name("Élodie Roussel")) == "Blocking Élodie Roussel…"


def test_french_texts_assume_no_gender_and_elide() -> None:
    found = []
    for path in sorted(PO.glob("*.po")):
        text = path.read_text("utf-8")
        for line in text.splitlines():
            if line.startswith(("msgstr", '"')) and not line.startswith('"Plural-Forms'):
                # "connecté(e)", "lue(s)": a form for each gender or number in brackets.
                if re.search(r"\w\((e|s|es|ne|le)\)", line):
                    found.append(f"{path.name}: {line}")
                # "de Élodie": "de" before a vowel is "d’" ("{name:de}" does it for a name).
                if re.search(r"\bde [AEIOUYÉÈÊÀÂÎÔ]", line):
                    found.append(f"{path.name}: {line}")
    assert not found, "\n".join(found)


def test_a_french_trace_sentence_reads_right(lang: None) -> None:
    i18n.set_language("fr")
    entry = SimpleNamespace(
        at=EMERGENCY,
        actor_role="patient",
        actor_name=None,
        action="login",
        mode="normal",
        outcome="allowed",
        reason=None,
    )
    sentence = words.trace_sentence(1, entry)
    assert "s'est" not in sentence and "(e)" not in sentence
    assert sentence.startswith("1. Le 28 juin 2026 à 1 h 58, vous : ")


def test_documents_that_are_neither_text_nor_pdf_are_named_and_saved_with_their_kind() -> None:
    from types import SimpleNamespace

    from dmptui import i18n, words

    i18n.set_language("en")
    assert words.is_text("text/plain; charset=windows-1252") and not words.is_text("image/png")
    assert words.text_of("fièvre à 39°".encode("cp1252"), "text/plain; charset=windows-1252") == (
        "fièvre à 39°"
    )
    assert words.text_of("fièvre".encode(), "text/plain") == "fièvre"
    assert words.file_kind("image/png") == "a PNG image"
    assert words.file_kind("application/x-thing") == "a file of another kind (application/x-thing)"
    doc = SimpleNamespace(title="Radio du thorax", care_date=date(2026, 3, 1), deposited_at=None)
    names = {ct: words.file_name(doc, ct) for ct in ("image/jpeg", "application/dicom", "x/y")}
    assert [n.rsplit(".", 1)[1] for n in names.values()] == ["jpg", "dcm", "bin"]
    i18n.set_language("fr")
    try:
        assert words.file_kind("application/dicom") == "une image médicale DICOM"
    finally:
        i18n.set_language("en")
