"""What the record's data says, in sentences a person hears: one sentence per document, per
practitioner, per trace entry, and "Label: value" lines for one item.

Shared by both front ends (the TUI in ``screens/`` and screen-reader mode in ``dmptui/reader/``),
so they say the same thing in both languages; no Textual here."""

from __future__ import annotations

import asyncio
import os
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from dmptui.i18n import (
    N_,
    _,
    format_date,
    format_datetime,
    format_number,
    joined,
    labelled,
    language,
    ngettext,
    paris_date,
    paris_day_start,
    pick,
    spoken_date,
    spoken_datetime,
)
from dmptui.identifiers import spoken_rpps
from dmptui.schema import DOC_TYPE_LABELS, DocType, Label

# --- the labels of what is said ----------------------------------------------------------------

# The word before a line or a message that says how an action went (both front ends).
# --- documents ---------------------------------------------------------------------------------

SAVE_DIR_ENV = "DMPTUI_SAVE_DIR"

LABEL_WORDS = {
    Label.MASQUE_PS: N_("hidden from practitioners (except its author and your médecin traitant)"),
    Label.INVISIBLE_REPRESENTANTS_LEGAUX: N_("hidden from legal representatives"),
    Label.INVISIBLE_PATIENT: N_("waiting for an announcement consultation"),
}
TYPES: tuple[str, ...] = tuple(t.value for t in DocType)
ALL_TYPES = N_("all types")  # the list's type filter, when there is none
NO_SEARCH = N_("none")  # the list's search, when there is none
SORTS = ("date", "type", "title", "author")
SORT_WORDS = {
    "date": N_("date of care, newest first"),
    "type": N_("type"),
    "title": N_("title"),
    "author": N_("author"),
}


def type_label(code: str) -> str:
    labels = DOC_TYPE_LABELS.get(code)
    if not labels:
        return code
    return labels.get(language()) or labels["en"]


def lower_first(text: str) -> str:
    """ "Prescription" -> "prescription" inside a sentence (an acronym stays as it is)."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def is_masked(doc: Any) -> bool:
    return Label.MASQUE_PS.value in doc.labels


def doc_date(doc: Any) -> date:
    """The date of care, or the day of deposit when the author gave none."""
    return doc.care_date or paris_date(doc.deposited_at)


def is_pdf(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "application/pdf"


def is_text(content_type: str) -> bool:
    return content_type.split(";")[0].strip().lower() == "text/plain"


def text_of(data: bytes, content_type: str) -> str:
    """A text document's words: UTF-8, or the Windows-1252 its content type declares (text
    from older software, kept as deposited)."""
    encoding = "cp1252" if "windows-1252" in content_type.lower() else "utf-8"
    return data.decode(encoding, errors="replace")


FILE_KINDS = {
    "image/png": N_("a PNG image"),
    "image/jpeg": N_("a JPEG image"),
    "image/gif": N_("a GIF image"),
    "image/tiff": N_("a TIFF image"),
    "application/dicom": N_("a DICOM medical image"),
    "application/zip": N_("a zip archive"),
    "application/rtf": N_("an RTF document"),
    "application/msword": N_("a Word document"),
}


def file_kind(content_type: str) -> str:
    """What a document that is neither text nor PDF is, in words: "a PNG image"."""
    kind = FILE_KINDS.get(content_type.split(";")[0].strip().lower())
    return (
        _(kind)
        if kind
        else _("a file of another kind ({content_type})").format(content_type=content_type)
    )


def size_words(size: int) -> str:
    if size < 1024:
        return ngettext("{n} byte", "{n} bytes", size).format(n=format_number(size))
    return _("{n} kB").format(n=format_number((size + 1023) // 1024))


def document_sentence(n: int, doc: Any) -> str:
    """One document in one sentence, its labels in words."""
    visibility = (
        _("hidden from practitioners") if is_masked(doc) else _("visible to your practitioners")
    )
    if doc.care_date:
        when = _("care date {date}").format(date=format_date(doc.care_date))
    else:
        when = _("added on {date}").format(date=format_date(doc.deposited_at))
    return _("{n}. {title}, {type}, by {author} ({facility}), {when}, {visibility}.").format(
        n=n,
        title=doc.title,
        type=lower_first(type_label(doc.type)),
        author=doc.author.name,
        facility=doc.facility,
        when=when,
        visibility=visibility,
    )


def metadata_lines(doc: Any) -> list[str]:
    labels = [_(LABEL_WORDS[Label(lb)]) if lb in LABEL_WORDS else lb for lb in doc.labels]
    visibility = joined(labels) if labels else _("visible to the practitioners you authorised")
    if is_pdf(doc.content_type):
        kind = _("PDF, {size}").format(size=size_words(doc.size))
    elif is_text(doc.content_type):
        kind = _("text, {size}").format(size=size_words(doc.size))
    else:
        kind = _("{kind}, {size}").format(
            kind=file_kind(doc.content_type), size=size_words(doc.size)
        )
    return [
        _("Type: {value}").format(value=type_label(doc.type)),
        _("Title: {value}").format(value=doc.title),
        _("Author: {value}").format(value=doc.author.name),
        _("Facility: {value}").format(value=doc.facility),
        _("Date of care: {value}").format(
            value=format_date(doc.care_date) if doc.care_date else _("not given")
        ),
        _("Deposited: {value}").format(value=format_datetime(doc.deposited_at, zone=True)),
        _("Visibility: {value}").format(value=visibility),
        _("Format: {value}").format(value=kind),
    ]


def sort_key(name: str) -> Callable[[Any], Any]:
    """The key a list of documents is sorted by, for a sort of ``SORTS``."""
    if name == "type":
        return lambda d: (type_label(d.type).casefold(), -doc_date(d).toordinal())
    if name == "title":
        return lambda d: (d.title.casefold(), -doc_date(d).toordinal())
    if name == "author":
        return lambda d: (d.author.name.casefold(), -doc_date(d).toordinal())
    return lambda d: (-doc_date(d).toordinal(), -d.deposited_at.timestamp())


# Said (screen-reader mode): what every entry of a page shares is said once, in its heading;
# defaults are not said; dates and times as a synthesizer says them (``i18n.spoken_*``).


def spoken_document(n: int, doc: Any) -> str:
    """One document, as said in a list whose heading says what every entry shares: the date is
    the date of care (another date says so), visible unless said hidden. The author's facility
    is said in the document's own heading, when it is opened, not in the list: a list says
    what tells its entries apart."""
    if doc.care_date:
        when = spoken_date(doc.care_date)
    else:
        when = _("added on {date}").format(date=spoken_date(doc.deposited_at))
    text = _("{n}. {title}, {type}, by {author}, {when}.").format(
        n=n,
        title=doc.title,
        type=lower_first(type_label(doc.type)),
        author=doc.author.name,
        when=when,
    )
    if is_masked(doc):
        text += " " + _("Hidden from practitioners.")
    return text


def spoken_details(doc: Any, when: Callable[[datetime], str]) -> list[str]:
    """One document's details, said once each (``when`` says the deposit's time, its zone once
    per screen): what every text document shares (its format, a visibility without labels) is
    not said; a PDF says so when it is opened."""
    lines = [
        _("{type}, by {author}, {facility}.").format(
            type=type_label(doc.type), author=doc.author.name, facility=doc.facility
        ),
        _("Date of care: {care}. Deposited: {deposited}.").format(
            care=spoken_date(doc.care_date) if doc.care_date else _("not given"),
            deposited=when(doc.deposited_at),
        ),
    ]
    labels = [_(LABEL_WORDS[Label(lb)]) if lb in LABEL_WORDS else lb for lb in doc.labels]
    if labels:
        lines.append(_("Visibility: {value}").format(value=joined(labels)))
    return lines


# --- saving a document -------------------------------------------------------------------------


def save_dir() -> Path:
    from dmptui import settings

    return settings.env_value("save_dir") or Path.home()


def safe_stem(title: str) -> str:
    """Letters and digits of the title, without accents, joined by hyphens (at most 80)."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^A-Za-z0-9]+", "-", ascii_title).strip("-")[:80].strip("-")
    return stem or "document"


def file_name(doc: Any, content_type: str) -> str:
    from dmptui.export_format import extension

    return f"{doc_date(doc).isoformat()}_{safe_stem(doc.title)}.{extension(content_type)}"


def _write_new(directory: Path, name: str, data: bytes) -> Path:
    """Write to a new file readable by its owner only; never overwrite: add -2, -3… instead."""
    stem, dot, ext = name.rpartition(".")
    for n in range(1, 1000):
        path = directory / (name if n == 1 else f"{stem}-{n}{dot}{ext}")
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        return path
    raise FileExistsError(directory / name)


@dataclass
class Saved:
    path: Path | None
    problem: str = ""


async def save_content(doc: Any, data: bytes, content_type: str) -> Saved:
    directory = save_dir()
    try:
        path = await asyncio.to_thread(_write_new, directory, file_name(doc, content_type), data)
    except OSError as error:
        return Saved(
            None,
            _(
                "Could not save the file in {folder} ({reason}). Check that this "
                "folder exists and that you may write in it, or set {env} to "
                "another folder."
            ).format(
                folder=str(directory),
                reason=error.strerror or type(error).__name__,
                env=SAVE_DIR_ENV,
            ),
        )
    return Saved(path)


# --- practitioners -----------------------------------------------------------------------------

PROFESSIONS = {
    "medecin": N_("doctor"),
    "sage_femme": N_("midwife"),
    "pharmacien": N_("pharmacist"),
    "infirmier": N_("nurse"),
    "kinesitherapeute": N_("physiotherapist"),
    "chirurgien_dentiste": N_("dentist"),
    "medecin_du_travail": N_("occupational doctor"),
    "medecin_conseil_assurance": N_("insurer's doctor"),
}


def profession_words(code: str | None) -> str:
    code = code or ""
    return _(PROFESSIONS[code]) if code in PROFESSIONS else code


@dataclass
class Person:
    """One practitioner as a list shows them, with everything the actions need."""

    rpps: str
    name: str
    profession: str
    facility: str
    may_access: bool = True


class Links:
    """The patient's practitioners (a PractitionersOut), looked up by RPPS."""

    def __init__(self, answer: Any = None) -> None:
        self.attending = answer.attending if answer is not None else None
        self.authorised = (
            {link.practitioner.rpps: link for link in answer.authorised}
            if answer is not None
            else {}
        )
        self.blocked = (
            {link.practitioner.rpps: link for link in answer.blocked} if answer is not None else {}
        )

    def is_attending(self, rpps: str) -> bool:
        return self.attending is not None and self.attending.rpps == rpps

    def status(self, rpps: str, may_access: bool = True) -> str:
        """The practitioner's status, in words."""
        parts: list[str] = []
        if not may_access:
            parts.append(_("never has access (occupational or insurance doctor)"))
        if self.is_attending(rpps):
            parts.append(_("your médecin traitant (sees hidden documents)"))
        if rpps in self.blocked:
            parts.append(
                _("BLOCKED since {date}").format(date=format_date(self.blocked[rpps].since))
            )
        if rpps in self.authorised:
            link = self.authorised[rpps]
            parts.append(_("authorised since {date}").format(date=format_date(link.since)))
            if link.see_masked and not self.is_attending(rpps):
                parts.append(_("sees hidden documents"))
        if not parts:
            parts.append(_("not authorised"))
        return joined(parts)

    def people(self) -> list[Person]:
        """Médecin traitant first, then the authorised, then the blocked; each once."""
        found: dict[str, Any] = {}
        if self.attending is not None:
            found[self.attending.rpps] = self.attending
        for link in (*self.authorised.values(), *self.blocked.values()):
            found.setdefault(link.practitioner.rpps, link.practitioner)
        return [Person(p.rpps, p.name, p.profession, p.facility) for p in found.values()]

    def sentence(self, person: Person, n: int | None = None) -> str:
        text = _("{name}, {profession}, {facility}, RPPS {rpps}: {status}.").format(
            name=person.name,
            profession=profession_words(person.profession),
            facility=person.facility,
            rpps=spoken_rpps(person.rpps),
            status=self.status(person.rpps, person.may_access),
        )
        return f"{n}. {text}" if n is not None else text


# --- access trace ------------------------------------------------------------------------------

TRACE_ACTIONS = {
    "login": N_("logged in"),
    "logout": N_("logged out"),
    "record.open": N_("opened your record"),
    "activation": N_("activated the record with the activation code"),
    "session.reuse": N_("tried to renew a session with a key that was already used"),
    "record.read": N_("looked at the record's summary"),
    "record.status": N_("looked at the record's summary"),
    "documents.list": N_("listed your documents"),
    "document.read": N_("read a document"),
    "document.download": N_("downloaded a document"),
    "document.deposit": N_("added a document"),
    "document.mask": N_("hid a document from practitioners"),
    "document.unmask": N_("showed a document to practitioners again"),
    "document.delete": N_("deleted a document"),
    "practitioners.list": N_("looked at your practitioners"),
    "directory.search": N_("searched the directory of practitioners"),
    "authorisation.grant": N_("gave a practitioner access"),
    "authorisation.revoke": N_("took back a practitioner's access"),
    "block": N_("blocked a practitioner"),
    "unblock": N_("unblocked a practitioner"),
    "attending.designate": N_("chose a médecin traitant"),
    "attending.clear": N_("removed the médecin traitant"),
    "trace.read": N_("read the access trace"),
    "oppositions": N_("changed the emergency access choices"),
    "close": N_("closed the record"),
    "reactivate": N_("reopened the record"),
    "erase": N_("erased the record"),
    "record.export": N_("exported the whole record"),
    "notes.read": N_("read the personal space"),
    "notes.write": N_("changed the personal space"),
    "notifications.read": N_("read the notifications"),
    "notifications.ack": N_("marked the notifications as read"),
    "notice.awaiting_consultation": N_("told you a document awaits a consultation"),
    "password.reset.start": N_("started a forgotten-password reset"),
    "password.reset": N_("reset the password (forgotten password)"),
    "authenticator.reenrol.start": N_("started replacing the authenticator app"),
    "authenticator.reenrol": N_("replaced the authenticator app"),
    "sessions.read": N_("looked at your devices and sessions"),
    "session.revoke": N_("ended a session"),
    "device.forget": N_("forgot a device"),
    "logout.everywhere": N_("logged out everywhere"),
    "password.change": N_("changed the password"),
    "support.lookup": N_("looked up your account's state (never your documents)"),
    "support.unlock": N_("unlocked your account"),
    "support.activation": N_("sent you a new activation code"),
}

# The mode inside a sentence ("… in break-glass (emergency) mode").
MODE_IN_SENTENCE = {
    "normal": N_("normal"),
    "break-glass": N_("break-glass (emergency)"),
    "regulation": N_("emergency call-centre (SAMU, centre 15)"),
}
# The mode on its own line ("Mode: …"), as the TUI says it.
MODE_LINE = {
    "normal": N_("normal"),
    "break-glass": N_("EMERGENCY — break-glass"),
    "regulation": N_("EMERGENCY — call centre (SAMU, centre 15)"),
}
EMERGENCY_MODES = ("break-glass", "regulation")

MODE_CHOICES = {
    "all": N_("all modes"),
    "normal": N_("normal accesses only"),
    "break-glass": N_("break-glass accesses only"),
    "regulation": N_("call-centre (regulation) accesses only"),
}
EMERGENCY_CYCLE = ("all", "break-glass", "regulation")

DENIALS = {
    "blocked": N_("the practitioner is blocked"),
    "not_authorised": N_("the practitioner is not authorised"),
    "break_glass_refused": N_("you refuse break-glass access"),
    "regulation_refused": N_("you refuse call-centre access"),
    "reason_required": N_("no reason was given for the emergency"),
    "not_regulation": N_("the practitioner is not a call-centre doctor"),
    "record_closed": N_("the record is closed"),
    "record_erased": N_("the record is erased"),
    "profession_never_has_access": N_("this profession never has access"),
    "profession_matrix": N_("this profession may not read this type of document"),
    "not_found": N_("the document does not exist or may not be shown"),
    "step_up_required": N_("a fresh one-time code was needed"),
    "stale": N_("it had been changed elsewhere in the meantime; nothing was changed"),
    "precondition_required": N_("the app did not say which version it had loaded"),
    "malformed": N_("the app sent a version the host could not read"),
    "bad_password": N_("wrong password"),
    "bad_code": N_("wrong one-time code"),
    "refresh_reused": N_(
        "that key had already been used, perhaps by someone else: the session was ended"
    ),
    "unknown_practitioner": N_("unknown practitioner"),
    "not_blocked": N_("the practitioner was not blocked"),
    "attending_cannot_be_blocked": N_("the médecin traitant cannot be blocked"),
    "attending_must_be_doctor": N_("only a doctor can be médecin traitant"),
    "record_not_closed": N_("the record was not closed"),
    "patient_note_is_patients": N_("patient notes are written by the patient"),
    "unknown_mode": N_("unknown access mode"),
    "no_such_session": N_("that session had already ended"),
    "no_such_device": N_("that device was not remembered any more"),
    "password_too_short": N_("the new password was too short"),
    "password_too_common": N_("the new password was too common"),
    "password_from_ins": N_("the new password was built from the INS"),
    "password_unchanged": N_("the new password was the same as the old one"),
    "not_locked": N_("the account was not locked"),
    "already_activated": N_("the account was already activated"),
}


def who_words(e: Any) -> str:
    if e.actor_role == "patient":
        return _("you")
    if e.actor_role == "system":
        return _("DMP system")
    if e.actor_role == "support":
        if e.actor_name:
            return _("the support desk ({name})").format(name=e.actor_name)
        return _("the support desk")
    name = e.actor_name or _("unknown practitioner")
    extra = [x for x in (profession_words(e.actor_profession), e.actor_facility) if x]
    return f"{name} ({', '.join(extra)})" if extra else name


def what_words(action: str) -> str:
    return _(TRACE_ACTIONS[action]) if action in TRACE_ACTIONS else action


def outcome_words(e: Any) -> str:
    return _("allowed") if e.outcome == "allowed" else _("DENIED")


PREVIOUS_ATTENDING = {
    "granted": N_("the former médecin traitant {rpps} keeps ordinary access"),
    "kept": N_("the former médecin traitant {rpps} keeps the access you gave them"),
    "removed": N_("the former médecin traitant {rpps} lost all access"),
}


def _reason_part(part: str, rpps: Callable[[str], str] = str) -> str:
    """One part of a practitioners change's reason: ``rpps:<rpps>`` (who), or
    ``previous:<rpps>=<what>`` (what became of the former médecin traitant)."""
    if part.startswith("rpps:"):
        return _("practitioner RPPS {rpps}").format(rpps=rpps(part[5:]))
    number, _sep, what = part.removeprefix("previous:").partition("=")
    if what in PREVIOUS_ATTENDING:
        return _(PREVIOUS_ATTENDING[what]).format(rpps=rpps(number))
    return part


def detail_words(e: Any, rpps: Callable[[str], str] = str) -> str:
    """The reason: why it was denied, the reason given for a break-glass, or what changed
    (``rpps`` says an RPPS number: as written, or in groups)."""
    reason = e.reason or ""
    if e.outcome == "denied":
        return _(DENIALS[reason]) if reason in DENIALS else reason
    if not reason:
        return ""
    if e.mode == "break-glass":
        return _("Reason given: {reason}").format(reason=reason)
    if reason.startswith(("rpps:", "previous:")):
        return joined(_reason_part(part, rpps) for part in reason.split(";"))
    if e.action == "oppositions":
        choices = dict(p.split("=", 1) for p in reason.split(";") if "=" in p)
        state = {"refused": _("refused"), "allowed": _("allowed")}
        return _("break-glass: {bg}; call centre: {rg}").format(
            bg=state.get(choices.get("break_glass", ""), "?"),
            rg=state.get(choices.get("regulation", ""), "?"),
        )
    return reason


def trace_sentence(n: int, e: Any) -> str:
    """One trace entry in one sentence: who, when, what, the mode in words, allowed or denied and
    why. An emergency access starts with EMERGENCY ACCESS."""
    mode = _(MODE_IN_SENTENCE[e.mode]) if e.mode in MODE_IN_SENTENCE else e.mode
    detail = detail_words(e).rstrip(". ")
    outcome = outcome_words(e)
    if e.outcome != "allowed" and detail:
        outcome = _("{outcome} ({why})").format(outcome=outcome, why=detail)
        detail = ""
    text = _("On {when}, {who} {what}, in {mode} mode: {outcome}.").format(
        when=format_datetime(e.at),
        who=who_words(e),
        what=what_words(e.action),
        mode=mode,
        outcome=outcome,
    )
    if detail:
        text += f" {detail}."
    if e.mode in EMERGENCY_MODES:
        text = f"{_('EMERGENCY ACCESS:')} {text}"
    return f"{n}. {text}"


def mode_line(mode: str) -> str:
    """The mode on its own ("EMERGENCY — break-glass"): the trace's column and "Mode:" line."""
    return _(MODE_LINE[mode]) if mode in MODE_LINE else mode


def trace_lines(
    e: Any,
    when: Callable[[datetime], str] | None = None,
    rpps: Callable[[str], str] = str,
) -> list[str]:
    """One trace entry as "Label: value" lines (``when`` and ``rpps`` say its time and RPPS
    numbers; by default the date and time with the zone, the number as written)."""
    who = who_words(e)
    if e.actor_rpps:
        who += " — " + _("RPPS {rpps}").format(rpps=rpps(e.actor_rpps))
    what = what_words(e.action)
    if e.document_id:
        what += " — " + _("document {id}").format(id=e.document_id)
    lines = [
        _("When: {when}").format(when=when(e.at) if when else format_datetime(e.at, zone=True)),
        _("Who: {who}").format(who=who),
        _("What: {what}").format(what=what),
        _("Mode: {mode}").format(mode=mode_line(e.mode)),
        _("Outcome: {outcome}").format(outcome=outcome_words(e)),
    ]
    if detail := detail_words(e, rpps):
        lines.append(_("Details: {details}").format(details=detail))
    return lines


def spoken_trace_sentence(n: int, e: Any, same_day: bool = False) -> str:
    """One entry, as said in a page whose heading says what most share: Paris time, normal mode,
    allowed. The day once for entries of the same day; a mode or an outcome only when it is
    not those; an RPPS in groups; an emergency access starts with EMERGENCY ACCESS."""
    text = _("{when}, {who} {what}").format(
        when=spoken_datetime(e.at, day=not same_day), who=who_words(e), what=what_words(e.action)
    )
    if e.mode != "normal":
        mode = _(MODE_IN_SENTENCE[e.mode]) if e.mode in MODE_IN_SENTENCE else e.mode
        text += " " + _("in {mode} mode").format(mode=mode)
    detail = detail_words(e, spoken_rpps).rstrip(". ")
    if e.outcome != "allowed":
        outcome = outcome_words(e)
        if detail:
            outcome = _("{outcome} ({why})").format(outcome=outcome, why=detail)
        text = f"{labelled(text)} {outcome}"
    elif detail:
        text = f"{labelled(text)} {detail}"
    text += "."
    if e.mode in EMERGENCY_MODES:
        text = f"{_('EMERGENCY ACCESS:')} {text}"
    return f"{n}. {text}"


@dataclass(frozen=True)
class TraceFilter:
    actor: str = ""
    mode: str = "all"
    since: date | None = None
    until: date | None = None

    @property
    def active(self) -> bool:
        return bool(self.actor or self.mode != "all" or self.since or self.until)

    def words(self, rpps: Callable[[str], str] = str) -> str:
        """The filter in words (``rpps`` says a practitioner searched by RPPS number)."""
        if not self.active:
            return _("Showing every entry.")
        parts = []
        if self.mode != "all":
            parts.append(_(MODE_CHOICES[self.mode]))
        if self.actor:
            who = rpps(self.actor) if self.actor.isdigit() else self.actor
            parts.append(_("practitioner “{who}”").format(who=who))
        if self.since:
            parts.append(_("from {day}").format(day=format_date(self.since)))
        if self.until:
            parts.append(_("until {day} included").format(day=format_date(self.until)))
        return _("Filter: {filter}.").format(filter=", ".join(parts))

    def query(self) -> dict[str, Any]:
        """The client's keyword arguments: days (Paris days, as every date shown) become aware
        UTC bounds."""
        return {
            "actor": self.actor or None,
            "mode": None if self.mode == "all" else self.mode,
            "since": _day_start(self.since) if self.since else None,
            "until": _day_start(self.until + timedelta(days=1)) if self.until else None,
        }


def _day_start(day: date) -> datetime:
    return paris_day_start(day)


# The trace filter's fields, and what is said when one is wrong (then nothing is sent).
FROM = N_("From")
UNTIL = N_("Until")
NOTHING_SENT = N_("Nothing was sent.")
ACTOR_PROBLEM = N_(
    "Practitioner: an RPPS number has 11 digits (check the last one), or type part of a name."
)
DAYS_REVERSED = N_("Until: the last day comes before the first day. Correct one of them.")


def day_problem(field: str) -> str:
    """A day not written as YYYY-MM-DD; ``field`` is ``FROM`` or ``UNTIL``, translated."""
    return _("{field}: write the day as YYYY-MM-DD, for example 2026-01-31.").format(field=field)


def parse_day(raw: str) -> date | None:
    """A day typed as YYYY-MM-DD (empty: no bound); ValueError otherwise."""
    raw = raw.strip()
    if not raw:
        return None
    if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", raw):
        raise ValueError(raw)
    return date.fromisoformat(raw)


# --- emergency access --------------------------------------------------------------------------

BREAK_GLASS = "break_glass"
REGULATION = "regulation"


def state_text(which: str, refused: bool) -> str:
    """The current state of one choice, in words (never in colour alone)."""
    if which == BREAK_GLASS:
        if refused:
            return _(
                "Break-glass access: REFUSED — no practitioner can open your record in an "
                "emergency when you cannot consent, not even to save your life."
            )
        return _(
            "Break-glass access: ALLOWED — any practitioner may open your record in an "
            "emergency when you cannot consent; you are told each time."
        )
    if refused:
        return _(
            "Emergency call-centre access (SAMU, centre 15): REFUSED — the SAMU doctor "
            "will not see your record when someone calls for help for you."
        )
    return _(
        "Emergency call-centre access (SAMU, centre 15): ALLOWED — the SAMU doctor may "
        "open your record when someone calls for help for you; you are told each time."
    )


def change_text(which: str, refuse: bool) -> tuple[str, str]:
    """(question, consequence) of changing one choice to ``refuse``."""
    if which == BREAK_GLASS:
        if refuse:
            return (
                _("Refuse break-glass access?"),
                _(
                    "If you refuse break-glass access, no practitioner can open your record in "
                    "an emergency when you cannot consent — not even to save your life. "
                    "Emergency call-centre access does not change."
                ),
            )
        return (
            _("Allow break-glass access?"),
            _(
                "If you allow break-glass access, any practitioner may open your record in an "
                "emergency when you cannot consent, after stating a reason. You and your médecin "
                "traitant are told each time, and documents you hid stay hidden. Emergency "
                "call-centre access does not change."
            ),
        )
    if refuse:
        return (
            _("Refuse emergency call-centre access?"),
            _(
                "If you refuse emergency call-centre access, the SAMU doctor (centre 15) will not "
                "see your record when someone calls for help for you. Break-glass access does "
                "not change."
            ),
        )
    return (
        _("Allow emergency call-centre access?"),
        _(
            "If you allow emergency call-centre access, the SAMU doctor (centre 15) may open your "
            "record when someone calls for help for you. You and your médecin traitant are told "
            "each time, and documents you hid stay hidden. Break-glass access does not change."
        ),
    )


def done_text(which: str, refused: bool) -> str:
    if which == BREAK_GLASS:
        return (
            _("break-glass access is now refused.")
            if refused
            else _("break-glass access is now allowed.")
        )
    return (
        _("emergency call-centre access is now refused.")
        if refused
        else _("emergency call-centre access is now allowed.")
    )


def unchanged_text(which: str, refused: bool) -> str:
    if which == BREAK_GLASS:
        return (
            _("Nothing was changed: break-glass access is still refused.")
            if refused
            else _("Nothing was changed: break-glass access is still allowed.")
        )
    return (
        _("Nothing was changed: emergency call-centre access is still refused.")
        if refused
        else _("Nothing was changed: emergency call-centre access is still allowed.")
    )


# --- notifications -----------------------------------------------------------------------------

NOTIFICATION_KINDS = {
    "new_document": N_("New document"),
    "authorisation": N_("New authorisation"),
    "new_device": N_("Login from a new device"),
    "awaiting_consultation": N_("Document awaiting a consultation"),
    "emergency_access": N_("EMERGENCY ACCESS"),
    "password_reset": N_("Password reset"),
    "authenticator_reenrolled": N_("New authenticator app"),
    "support_lookup": N_("Support desk: account looked up"),
    "support_unlock": N_("Support desk: account unlocked"),
    "support_activation": N_("Support desk: new activation code"),
}


EMERGENCY_ACCESS = N_("EMERGENCY ACCESS")  # a notification about an emergency access
EMERGENCY_ACCESS_PREFIX = N_("EMERGENCY ACCESS:")  # before an unread one's message, on home
READ = N_("read")
UNREAD = N_("UNREAD")


def notifications_summary(total: int, unread: int, emergencies: int) -> str:
    """How many notifications, unread, and emergency accesses (listed first)."""
    return _(
        "Notifications: {total}, {unread} unread; emergency accesses first ({emergencies})."
    ).format(total=total, unread=unread, emergencies=emergencies)


def notification_order(n: Any) -> tuple[bool, float, int]:
    """Emergency accesses first, then newest first."""
    return (not n.emergency, -n.at.timestamp(), -n.id)


# --- home: the record at a glance --------------------------------------------------------------


def record_summary(record: Any, defaults: bool = True) -> list[str]:
    """The record's state in lines of words: status, médecin traitant, the two emergency choices,
    counts (home, in both front ends; ``defaults=False``: an emergency access allowed, the
    default, is not said, as screen-reader mode says it)."""
    status = {"active": _("open"), "closed": _("closed"), "erased": _("erased")}
    lines = [_("Record: {status}").format(status=status.get(record.status, record.status))]
    if record.status == "closed":
        lines.append(
            _("Your record is closed: nobody can access it. Reopen it on screen 6 — My record.")
        )
    if record.attending:
        lines.append(
            _("Médecin traitant: {name} ({facility})").format(
                name=record.attending.name, facility=record.attending.facility
            )
        )
    elif record.status == "active":
        lines.append(_("Médecin traitant: none designated (screen 3 — Practitioners)"))
    bg = _("refused") if record.oppositions.break_glass else _("allowed")
    rg = _("refused") if record.oppositions.regulation else _("allowed")
    if defaults or record.oppositions.break_glass:
        lines.append(_("Break-glass emergency access: {state}").format(state=bg))
    if defaults or record.oppositions.regulation:
        lines.append(_("Emergency call-centre access: {state}").format(state=rg))
    if record.counts:
        lines.append(
            _(
                "Documents: {documents}, authorised practitioners: {authorised}, "
                "blocked: {blocked}."
            ).format(
                documents=format_number(record.counts.get("documents", 0)),
                authorised=format_number(record.counts.get("authorised", 0)),
                blocked=format_number(record.counts.get("blocked", 0)),
            )
        )
    return lines


UNREAD_SHOWN = 5  # unread notifications listed on home (the rest are on screen 8)


def unread_summary(notes: Any) -> tuple[str, list[tuple[bool, str]]]:
    """Home's unread notifications: a heading, then up to five (emergency?, text), emergency
    accesses first, newest first. ("", []) when there are none."""
    if notes is None or not notes.items:
        return "", []
    n = len(notes.items)
    heading = ngettext(
        "{n} unread notification (screen 8):", "{n} unread notifications (screen 8):", n
    ).format(n=format_number(n))
    items = sorted(notes.items, key=lambda n: (not n.emergency, -n.id))[:UNREAD_SHOWN]
    return heading, [(n.emergency, pick(n.message)) for n in items]
