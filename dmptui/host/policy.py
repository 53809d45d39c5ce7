"""The rules of the record (RULES.md) as pure functions. No I/O, no clock: ``now`` is passed in.

Routes gather the facts (record state, practitioner, documents), ask here, and act on the answer.
Every ``Decision`` carries a stable ``reason`` code that goes to the trace and to the 403 body.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from dmptui.schema import (
    AccountState,
    DocType,
    Label,
    Mode,
    Profession,
    RecordStatus,
    RecoveryStep,
)

INVISIBLE_NOTICE_AFTER = timedelta(days=14)
RETENTION_YEARS = 10
STEP_UP_FOR = timedelta(minutes=5)

# Professions that never have access, in any mode (RULES.md "Access").
NEVER_ACCESS = frozenset({Profession.MEDECIN_DU_TRAVAIL, Profession.MEDECIN_CONSEIL_ASSURANCE})

ALL_TYPES = frozenset(DocType)
# Profession x document type: what each profession may read. Doctors and midwives read all types.
READ_MATRIX: dict[str, frozenset[str]] = {
    Profession.MEDECIN: ALL_TYPES,
    Profession.SAGE_FEMME: ALL_TYPES,
    Profession.PHARMACIEN: frozenset(
        {DocType.PRESCRIPTION, DocType.LAB_REPORT, DocType.IMMUNISATIONS, DocType.PATIENT_NOTE}
    ),
    Profession.INFIRMIER: frozenset(
        {
            DocType.PRESCRIPTION,
            DocType.LAB_REPORT,
            DocType.IMMUNISATIONS,
            DocType.DISCHARGE_SUMMARY,
            DocType.PATIENT_NOTE,
        }
    ),
    Profession.KINESITHERAPEUTE: frozenset(
        {DocType.PRESCRIPTION, DocType.IMAGING_REPORT, DocType.DISCHARGE_SUMMARY}
    ),
    Profession.CHIRURGIEN_DENTISTE: frozenset(
        {DocType.PRESCRIPTION, DocType.LAB_REPORT, DocType.IMAGING_REPORT, DocType.IMMUNISATIONS}
    ),
    Profession.MEDECIN_DU_TRAVAIL: frozenset(),
    Profession.MEDECIN_CONSEIL_ASSURANCE: frozenset(),
}
# Who may deposit: every profession that may access, and only types it may read.


@dataclass(frozen=True)
class Decision:
    allowed: bool
    reason: str  # stable code: "ok", "blocked", "not_authorised", ...

    def __bool__(self) -> bool:
        return self.allowed


ALLOW = Decision(True, "ok")


def deny(reason: str) -> Decision:
    return Decision(False, reason)


@dataclass(frozen=True)
class RecordFacts:
    status: RecordStatus
    attending: str | None = None  # RPPS of the médecin traitant
    authorised: frozenset[str] = frozenset()
    see_masked: frozenset[str] = frozenset()  # authorised with the same rights as the attending
    blocked: frozenset[str] = frozenset()
    refuses_break_glass: bool = False
    refuses_regulation: bool = False


@dataclass(frozen=True)
class PractitionerFacts:
    rpps: str
    profession: str
    regulation: bool = False  # acts for an emergency call centre (SAMU, centre 15)


@dataclass(frozen=True)
class DocumentFacts:
    type: str
    author: str
    deposited_at: datetime
    labels: frozenset[str] = field(default_factory=frozenset)


# --- dates ---------------------------------------------------------------------------------


def add_months(moment: datetime, months: int) -> datetime:
    month0 = moment.month - 1 + months
    year = moment.year + month0 // 12
    month = month0 % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


def reveal_at(doc: DocumentFacts) -> datetime:
    """INVISIBLE_PATIENT lifts by itself one month after deposit."""
    return add_months(doc.deposited_at, 1)


def purge_after(closed_at: datetime) -> datetime:
    return add_months(closed_at, 12 * RETENTION_YEARS)


# --- patient -------------------------------------------------------------------------------


def invisible_to_patient(doc: DocumentFacts, now: datetime) -> bool:
    return Label.INVISIBLE_PATIENT in doc.labels and now < reveal_at(doc)


def patient_sees(doc: DocumentFacts, now: datetime) -> bool:
    return not invisible_to_patient(doc, now)


def patient_labels(doc: DocumentFacts, now: datetime) -> frozenset[str]:
    """Labels as the patient sees them: INVISIBLE_PATIENT has no meaning once revealed."""
    if Label.INVISIBLE_PATIENT in doc.labels and now >= reveal_at(doc):
        return doc.labels - {Label.INVISIBLE_PATIENT}
    return doc.labels


def patient_list_labels(
    doc_type: str,
    author: str,
    labels: frozenset[str],
    deposited_at: Callable[[], datetime],
    now: datetime,
) -> frozenset[str] | None:
    """``patient_sees`` and ``patient_labels`` in one call, for the rows of a list: None when
    the patient does not see the document, else its labels as the patient sees them. The
    deposit time is asked for (``deposited_at()``) only when a label depends on it."""
    if Label.INVISIBLE_PATIENT not in labels:
        return labels
    doc = DocumentFacts(doc_type, author, deposited_at(), labels)
    return patient_labels(doc, now) if patient_sees(doc, now) else None


def legal_representative_sees(doc: DocumentFacts, now: datetime) -> bool:
    return patient_sees(doc, now) and Label.INVISIBLE_REPRESENTANTS_LEGAUX not in doc.labels


def awaiting_consultation_notice_due(doc: DocumentFacts, now: datetime) -> bool:
    """Still invisible two weeks after deposit: the patient is told a document awaits them."""
    return invisible_to_patient(doc, now) and now >= doc.deposited_at + INVISIBLE_NOTICE_AFTER


# Patient actions on a record in each status. A closed record answers only reactivate and erase
# (and the login that precedes them, and the status read that tells the app it is closed).
# A closed record is still the patient's: they may take it with them (export) before erasing it.
PATIENT_ACTIONS_WHEN_CLOSED = frozenset(
    {
        "login",
        "record.status",
        "reactivate",
        "erase",
        "logout",
        "record.export",
        # The patient's own sessions: a closed record's patient may still see and end them.
        "sessions.read",
        "session.revoke",
        "device.forget",
        "logout.everywhere",
    }
)
STEP_UP_ACTIONS = frozenset(
    {
        "document.delete",
        "close",
        "erase",
        "oppositions",
        "reactivate",
        "record.export",
        "password.change",
    }
)


def patient_may(status: RecordStatus, action: str) -> Decision:
    if status == RecordStatus.ERASED:
        return deny("record_erased")
    if status == RecordStatus.CLOSED:
        return ALLOW if action in PATIENT_ACTIONS_WHEN_CLOSED else deny("record_closed")
    if action == "reactivate":
        return deny("record_not_closed")
    return ALLOW


def needs_step_up(action: str) -> bool:
    return action in STEP_UP_ACTIONS


# Who may open a record for a patient, with the carte Vitale: a doctor or a pharmacist, as in
# the DMP (a pharmacy is where most records are opened).
MAY_OPEN_RECORD = frozenset({Profession.MEDECIN, Profession.PHARMACIEN})


def may_open_record(who: PractitionerFacts) -> Decision:
    """A practitioner opening a record: doctors and pharmacists only; never the professions that
    never have access (an occupational or insurer's doctor is a ``medecin`` of no kind here)."""
    if who.profession in NEVER_ACCESS:
        return deny("profession_never_has_access")
    if who.profession not in MAY_OPEN_RECORD:
        return deny("profession_may_not_open")
    return ALLOW


def may_block(record: RecordFacts, rpps: str) -> Decision:
    if record.attending == rpps:
        return deny("attending_cannot_be_blocked")
    return ALLOW


def may_designate_attending(record: RecordFacts, who: PractitionerFacts) -> Decision:
    if who.rpps in record.blocked:
        return deny("blocked")
    if who.profession != Profession.MEDECIN:
        return deny("attending_must_be_doctor")
    return ALLOW


# What becomes of the former médecin traitant's access when the patient designates another one or
# none: the patient chooses; by default they keep ordinary access.
PREVIOUS_GRANTED = "granted"  # given an ordinary authorisation (they had none of their own)
PREVIOUS_KEEPS = "kept"  # keeps the authorisation they already had, as it was
PREVIOUS_REMOVED = "removed"  # no access any more: their authorisation, if any, is removed
PREVIOUS_NONE = "none"  # there was no médecin traitant, or the same one is designated again


def previous_attending_access(record: RecordFacts, new: str | None, keeps_access: bool) -> str:
    """The former médecin traitant's access after the change to ``new`` (None: no médecin
    traitant any more): one of the ``PREVIOUS_*`` codes, which the route applies and traces."""
    previous = record.attending
    if previous is None or previous == new:
        return PREVIOUS_NONE
    if not keeps_access:
        return PREVIOUS_REMOVED
    return PREVIOUS_KEEPS if previous in record.authorised else PREVIOUS_GRANTED


def may_authorise(record: RecordFacts, who: PractitionerFacts) -> Decision:
    if who.profession in NEVER_ACCESS:
        return deny("profession_never_has_access")
    if who.rpps in record.blocked:
        return deny("blocked")
    return ALLOW


# --- practitioner --------------------------------------------------------------------------


# What a practitioner is told when refused. Reasons about the practitioner and the request only
# (never about a record) are told as they are, to everyone, whether a record exists or not.
# Every other refusal is told as NO_ACCESS to a practitioner without a standing right on the
# record (``has_standing``): no record, a closed or erased one, blocked, not authorised, or the
# patient refusing an emergency mode all look the same, so a practitioner the patient never let
# in cannot learn whether an INS has a record, nor its state. The trace keeps the real reason.
REQUEST_REASONS = frozenset({"profession_never_has_access", "reason_required", "not_regulation"})
NO_ACCESS = "no_access"


def practitioner_request(who: PractitionerFacts, mode: Mode, reason: str | None) -> Decision:
    """The checks that need no record: the profession, the mode, the break-glass reason."""
    if who.profession in NEVER_ACCESS:
        return deny("profession_never_has_access")
    if mode == Mode.BREAK_GLASS and not (reason and reason.strip()):
        return deny("reason_required")
    if mode == Mode.REGULATION and not who.regulation:
        return deny("not_regulation")
    return ALLOW


def has_standing(record: RecordFacts, who: PractitionerFacts) -> bool:
    """Let in by the patient: the médecin traitant or an authorised practitioner, not blocked,
    on a record that is not erased (erasing ends every link). Such a practitioner is told why
    a refusal happens (the record is closed, the patient refuses break-glass)."""
    return (
        record.status != RecordStatus.ERASED
        and who.rpps not in record.blocked
        and (who.rpps == record.attending or who.rpps in record.authorised)
    )


def told_reason(record: RecordFacts | None, who: PractitionerFacts, refused: Decision) -> str:
    """The reason a refused practitioner is told (``record`` None: no record for this INS)."""
    if refused.reason in REQUEST_REASONS:
        return refused.reason
    if record is not None and has_standing(record, who):
        return refused.reason
    return NO_ACCESS


def practitioner_access(
    record: RecordFacts, who: PractitionerFacts, mode: Mode, reason: str | None = None
) -> Decision:
    """May this practitioner open this record in this mode at all? The request's own checks
    come first: they are answered alike whatever the record (``told_reason``)."""
    request = practitioner_request(who, mode, reason)
    if not request:
        return request
    if record.status == RecordStatus.ERASED:
        return deny("record_erased")
    if record.status == RecordStatus.CLOSED:
        return deny("record_closed")
    if who.rpps in record.blocked:
        return deny("blocked")
    if mode == Mode.NORMAL:
        if who.rpps == record.attending or who.rpps in record.authorised:
            return ALLOW
        return deny("not_authorised")
    if mode == Mode.BREAK_GLASS:
        if record.refuses_break_glass:
            return deny("break_glass_refused")
        return ALLOW
    if mode == Mode.REGULATION:
        if record.refuses_regulation:
            return deny("regulation_refused")
        return ALLOW
    return deny("unknown_mode")


def sees_masked(record: RecordFacts, who: PractitionerFacts, doc: DocumentFacts) -> bool:
    return who.rpps in (doc.author, record.attending) or who.rpps in record.see_masked


def practitioner_may_read(
    record: RecordFacts, who: PractitionerFacts, doc: DocumentFacts, mode: Mode
) -> Decision:
    """One document, given that ``practitioner_access`` allowed the record. Masking holds in
    every mode; the profession matrix holds in every mode (the author always reads their own)."""
    access = practitioner_access(record, who, mode, reason="checked")
    if not access:
        return access
    if Label.MASQUE_PS in doc.labels and not sees_masked(record, who, doc):
        return deny("not_found")  # practitioners are not told that something is masked
    if who.rpps != doc.author and doc.type not in READ_MATRIX.get(who.profession, frozenset()):
        return deny("profession_matrix")
    return ALLOW


def visible_to_practitioner(
    record: RecordFacts, who: PractitionerFacts, docs: Iterable[DocumentFacts], mode: Mode
) -> list[DocumentFacts]:
    return [d for d in docs if practitioner_may_read(record, who, d, mode)]


def may_deposit(record: RecordFacts, who: PractitionerFacts, doc_type: str) -> Decision:
    access = practitioner_access(record, who, Mode.NORMAL)
    if not access:
        return access
    if doc_type == DocType.PATIENT_NOTE:
        return deny("patient_note_is_patients")
    if doc_type not in READ_MATRIX.get(who.profession, frozenset()):
        return deny("profession_matrix")
    return ALLOW


def emergency(mode: Mode) -> bool:
    return mode in (Mode.BREAK_GLASS, Mode.REGULATION)


def practitioner_reads_notes(record: RecordFacts, who: PractitionerFacts, mode: Mode) -> Decision:
    """The personal space is readable by authorised practitioners (and in emergency modes)."""
    return practitioner_access(record, who, mode, reason="checked")


# --- recovery: forgotten password, lost authenticator -----------------------------------------

# A forgotten password is reset with two factors out of three: a code sent by SMS to the
# registered phone, a code sent to the registered email, and the authenticator (TOTP), which may
# stand in for ONE of the two sent codes. One factor alone, whichever, never suffices: whoever
# holds one (a stolen phone, a read mailbox) cannot take the account.
RESET_FACTORS = frozenset({"sms", "email", "totp"})
# A new authenticator (the phone is lost): the password, and a code sent by email or by SMS.
REENROL_SENT = frozenset({"sms", "email"})
# Starts of a reset or re-enrolment per INS (known or not) in the window.
RECOVERY_STARTS = 3
RECOVERY_WINDOW = timedelta(hours=1)
# How long a reset or re-enrolment may take, start to end.
RECOVERY_TTL = timedelta(minutes=15)


def reset_may_set_password(proven: frozenset[str]) -> Decision:
    """May a new password be set, the factors ``proven`` so far?"""
    if len(proven & RESET_FACTORS) >= 2:
        return ALLOW
    return deny("factors_missing")


def reset_next(proven: frozenset[str]) -> RecoveryStep:
    """What the reset asks for next: the code sent by ``"sms"`` (first), then by ``"email"``,
    then ``"password"`` once enough factors are proven. The authenticator's code is taken in
    place of the one asked, once (``reset_takes_totp``)."""
    if reset_may_set_password(proven):
        return "password"
    if "sms" not in proven and "totp" not in proven:
        return "sms"
    return "email"


def reset_takes_totp(proven: frozenset[str]) -> bool:
    """The authenticator's code stands in for one sent code, never for both."""
    return "totp" not in proven and not reset_may_set_password(proven)


def reenrol_may_issue(password_ok: bool, proven: frozenset[str]) -> Decision:
    """May a new authenticator secret be issued (the old one revoked)? The password and a code
    sent by email or SMS; the authenticator itself does not count (it is what was lost)."""
    if not password_ok:
        return deny("password_required")
    if not proven & REENROL_SENT:
        return deny("factors_missing")
    return ALLOW


def recovery_may_start(recent_starts: int) -> Decision:
    """Starts already made for this INS in ``RECOVERY_WINDOW``: the same rule whether the INS
    has a record or not."""
    if recent_starts >= RECOVERY_STARTS:
        return deny("too_many_starts")
    return ALLOW


# --- logging in: tries and pauses (docs/rules.md "Logging in") ------------------------------

FREE_TRIES = 5  # wrong passwords or codes in a row before the first pause
WARN_FROM = 3  # from this failure on, the refusal says how many tries are left
FIRST_PAUSE = timedelta(minutes=1)  # then 2, 4, 8 … for each further failure after a pause
LONGEST_PAUSE = timedelta(minutes=60)
# Failures are forgotten once this long has passed since the last one (or since the end of
# the pause it caused): a pause keeps its length across attempts made after it, so waiting out
# a pause does not reset the growth, but a quiet day does.
FORGET_AFTER = timedelta(hours=24)

# Who is counted apart. Every login attempt on an INS is counted in one of these:
UNKNOWN_DEVICES = "shared"  # every device that never logged in to this record, and any INS
KNOWN_DEVICE = "device:"  # + the device's id: a device that logged in to this record before
STEP_UP = "step-up"  # a logged-in patient confirming an action with a fresh code
KNOWN_DEVICE_ID_MIN = 16  # a device id shorter than this is not trusted to be the app's own


@dataclass(frozen=True)
class Tries:
    """One counter's state: failures in a row, the last one, and the pause it runs (if any)."""

    failures: int = 0
    last_failure: datetime | None = None
    paused_until: datetime | None = None


@dataclass(frozen=True)
class TryVerdict:
    """What one failure leads to: the counter's new state, the tries left before a pause (only
    from the ``WARN_FROM``-th failure, 0 when this failure starts a pause), and the pause."""

    tries: Tries
    tries_left: int | None
    paused_until: datetime | None


def throttle_scope(step_up: bool, device: str | None, device_known: bool) -> str:
    """The counter an attempt goes to. A step-up has its own (a login pause never refuses it);
    a device that logged in to this record before has its own, so failures from other devices
    (a stranger who knows only the INS) never pause it; everything else shares one counter per
    INS, whether or not the INS has a record (so no answer tells a stranger which)."""
    if step_up:
        return STEP_UP
    if device is not None and device_known:
        return KNOWN_DEVICE + device
    return UNKNOWN_DEVICES


def current_tries(tries: Tries, now: datetime) -> Tries:
    """The counter as it stands at ``now``: forgotten after ``FORGET_AFTER`` of quiet."""
    quiet_since = max(
        (t for t in (tries.last_failure, tries.paused_until) if t is not None), default=None
    )
    if quiet_since is None or now - quiet_since >= FORGET_AFTER:
        return Tries()
    return tries


def paused_until(tries: Tries, now: datetime) -> datetime | None:
    """When the running pause ends, or None if attempts are allowed at ``now``. An attempt
    during a pause is refused without being checked or counted, so it never lengthens it."""
    if tries.paused_until is not None and tries.paused_until > now:
        return tries.paused_until
    return None


def pause_length(failures: int) -> timedelta:
    """The pause after the ``failures``-th failure in a row (none before ``FREE_TRIES``)."""
    if failures < FREE_TRIES:
        return timedelta(0)
    doublings = min(failures - FREE_TRIES, 16)
    return min(FIRST_PAUSE * 2**doublings, LONGEST_PAUSE)


def after_failure(tries: Tries, now: datetime) -> TryVerdict:
    """One more failure on the counter: maybe a pause (growing with each failure after it)."""
    failures = current_tries(tries, now).failures + 1
    pause = pause_length(failures)
    until = now + pause if pause else None
    left = max(FREE_TRIES - failures, 0)
    return TryVerdict(Tries(failures, now, until), left if failures >= WARN_FROM else None, until)


# --- the support desk (docs/rules.md, "The support desk") -----------------------------------
# A support agent helps a patient with their account, never with their health data: they may
# see an account's state (status, lock, masked contact channels, last login), end a login lock,
# and send a new activation code to an account not activated yet. Nothing else: no document, no
# note, no practitioner, no trace. Every one of these, allowed or refused, is in the patient's
# trace.

SUPPORT_LOOKUP = "support.lookup"
SUPPORT_UNLOCK = "support.unlock"
SUPPORT_ACTIVATION = "support.activation"
SUPPORT_ACTIONS = frozenset({SUPPORT_LOOKUP, SUPPORT_UNLOCK, SUPPORT_ACTIVATION})


def account_state(status: RecordStatus, activated: bool) -> AccountState:
    """The account's state as the support desk says it: a record open but whose patient has not
    yet given their activation code (``activation.py``) is not activated."""
    if status == RecordStatus.ERASED:
        return AccountState.ERASED
    if status == RecordStatus.CLOSED:
        return AccountState.CLOSED
    return AccountState.OPEN if activated else AccountState.NOT_ACTIVATED


def support_sees_channels(state: AccountState) -> bool:
    """The masked phone and email, and the last login: not of an erased record (its patient
    is gone; only that it was erased is said)."""
    return state != AccountState.ERASED


def support_may(action: str, state: AccountState, locked: bool) -> Decision:
    """What a support agent may do on an account in ``state`` (``locked``: its login is
    locked now)."""
    if action not in SUPPORT_ACTIONS:
        return deny("not_support")
    if action == SUPPORT_LOOKUP:
        return ALLOW
    if state == AccountState.ERASED:
        return deny("record_erased")
    if action == SUPPORT_UNLOCK:
        return ALLOW if locked else deny("not_locked")
    # SUPPORT_ACTIVATION
    return ALLOW if state == AccountState.NOT_ACTIVATED else deny("already_activated")


def support_traced(state: AccountState) -> bool:
    """An erased record has no trace any more: a support action on it is not written."""
    return state != AccountState.ERASED


def masked_phone(phone: str) -> str:
    """A phone number as the support desk sees it: its first two and last two digits, the
    French way ("+33 6 12 34 56 78" -> "06 •• •• •• 78"), enough for the patient to recognise
    it on the phone, not enough to call it."""
    digits = "".join(ch for ch in phone if ch.isdigit())
    if digits.startswith("33") and len(digits) == 11:
        digits = "0" + digits[2:]
    if len(digits) < 6:
        return "•• ••"
    hidden = " ".join(["••"] * ((len(digits) - 3) // 2))
    return f"{digits[:2]} {hidden} {digits[-2:]}"


def masked_email(email: str) -> str:
    """An email address as the support desk sees it: its first letter and its domain
    ("marie.dupont@example.org" -> "m•••@example.org")."""
    name, at, domain = email.partition("@")
    if not at or not name:
        return "•••"
    return f"{name[:1]}•••@{domain}"
