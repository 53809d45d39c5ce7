"""The rules of the record as pure functions (dmptui.host.policy): tables and properties.

Properties run over generated facts: record status, attending, authorised / see_masked / blocked
sets and the two oppositions; practitioners drawn from a small RPPS pool (so the same person is
often attending, authorised, blocked and author at once), any profession, with or without the
regulation flag; documents of any type, any subset of labels, any deposit date; every Mode.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from itertools import combinations
from typing import TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dmptui.host import policy
from dmptui.host.policy import (
    NEVER_ACCESS,
    PATIENT_ACTIONS_WHEN_CLOSED,
    READ_MATRIX,
    DocumentFacts,
    PractitionerFacts,
    RecordFacts,
    awaiting_consultation_notice_due,
    legal_representative_sees,
    may_authorise,
    may_block,
    may_deposit,
    may_designate_attending,
    patient_labels,
    patient_may,
    patient_sees,
    practitioner_access,
    practitioner_may_read,
    practitioner_reads_notes,
    reveal_at,
    visible_to_practitioner,
)
from dmptui.schema import DocType, Label, Mode, Profession, RecordStatus

# Valid (Luhn) RPPS numbers; a small pool so that roles collide.
POOL = ["10000000009", "12345678903", "10101010105", "20000000008"]
A, B, C, D = POOL
T0 = datetime(2025, 3, 10, 9, 30, tzinfo=UTC)
PATIENT_ACTIONS = [
    "login",
    "logout",
    "record.status",
    "reactivate",
    "erase",
    "close",
    "documents.list",
    "document.read",
    "document.download",
    "document.mask",
    "document.unmask",
    "document.delete",
    "authorise",
    "revoke",
    "block",
    "unblock",
    "oppositions",
    "trace.read",
    "trace.verify",
    "notes.write",
    "notes.read",
    "attending.designate",
    "notifications.list",
]
ACCESSING = [p for p in Profession if p not in NEVER_ACCESS]
_T = TypeVar("_T")
SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
QUICK = settings(max_examples=100, deadline=None)

# --- strategies -------------------------------------------------------------------------------


def subsets(items: list[_T]) -> list[frozenset[_T]]:
    """Every subset, as one sampled draw (much cheaper than building sets element by element)."""
    return [frozenset(combo) for n in range(len(items) + 1) for combo in combinations(items, n)]


rpps_st = st.sampled_from(POOL)
rpps_set = st.sampled_from(subsets(POOL))
mode_st = st.sampled_from(list(Mode))
profession_st = st.sampled_from(list(Profession))
type_st = st.sampled_from(list(DocType))
labels_st = st.sampled_from(subsets(list(Label)))
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
# aware UTC datetimes from 2000 to about 2090, to the microsecond
utc_st = st.builds(
    lambda s, us: EPOCH + timedelta(seconds=s, microseconds=us),
    st.integers(0, 90 * 365 * 86400),
    st.integers(0, 999_999),
)
reason_st = st.one_of(st.none(), st.just(""), st.just("  \t"), st.text(max_size=20))


@st.composite
def records(draw: st.DrawFn, status: st.SearchStrategy[RecordStatus] | None = None) -> RecordFacts:
    return RecordFacts(
        status=draw(status if status is not None else st.sampled_from(list(RecordStatus))),
        attending=draw(st.one_of(st.none(), rpps_st)),
        authorised=draw(rpps_set),
        see_masked=draw(rpps_set),
        blocked=draw(rpps_set),
        refuses_break_glass=draw(st.booleans()),
        refuses_regulation=draw(st.booleans()),
    )


active_records = records(status=st.just(RecordStatus.ACTIVE))
practitioners = st.builds(
    PractitionerFacts, rpps=rpps_st, profession=profession_st, regulation=st.booleans()
)
documents = st.builds(
    DocumentFacts, type=type_st, author=rpps_st, deposited_at=utc_st, labels=labels_st
)


def modes_and_reasons() -> list[tuple[Mode, str | None]]:
    return [
        (Mode.NORMAL, None),
        (Mode.BREAK_GLASS, "unconscious patient"),
        (Mode.BREAK_GLASS, None),
        (Mode.REGULATION, None),
        (Mode.REGULATION, "call from centre 15"),
    ]


def doc(
    type_: DocType = DocType.CONSULTATION_NOTE,
    author: str = A,
    labels: frozenset[Label] | set[Label] = frozenset(),
    deposited_at: datetime = T0,
) -> DocumentFacts:
    return DocumentFacts(
        type=type_, author=author, deposited_at=deposited_at, labels=frozenset(labels)
    )


def doctor(rpps: str, regulation: bool = False) -> PractitionerFacts:
    return PractitionerFacts(rpps=rpps, profession=Profession.MEDECIN, regulation=regulation)


def active(**kw: object) -> RecordFacts:
    return RecordFacts(status=RecordStatus.ACTIVE, **kw)  # type: ignore[arg-type]


def one_month_later(moment: datetime) -> datetime:
    """Independent calendar month: same day next month, clamped to that month's last day."""
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    next_first = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=moment.tzinfo)
    last_day = (next_first - timedelta(days=1)).day
    return moment.replace(year=year, month=month, day=min(moment.day, last_day))


# --- practitioner access: tables --------------------------------------------------------------

ACCESS_TABLE = [
    # (description, record, practitioner, mode, reason, allowed, code)
    ("attending", active(attending=A), doctor(A), Mode.NORMAL, None, True, "ok"),
    ("authorised", active(authorised=frozenset({B})), doctor(B), Mode.NORMAL, None, True, "ok"),
    ("stranger", active(attending=A), doctor(B), Mode.NORMAL, None, False, "not_authorised"),
    (
        "see_masked alone is not an authorisation",
        active(see_masked=frozenset({B})),
        doctor(B),
        Mode.NORMAL,
        None,
        False,
        "not_authorised",
    ),
    (
        "blocked and authorised",
        active(authorised=frozenset({B}), blocked=frozenset({B})),
        doctor(B),
        Mode.NORMAL,
        None,
        False,
        "blocked",
    ),
    (
        "blocked in break-glass",
        active(blocked=frozenset({B})),
        doctor(B),
        Mode.BREAK_GLASS,
        "emergency",
        False,
        "blocked",
    ),
    (
        "blocked in regulation",
        active(blocked=frozenset({B})),
        doctor(B, regulation=True),
        Mode.REGULATION,
        None,
        False,
        "blocked",
    ),
    ("break-glass stranger", active(), doctor(B), Mode.BREAK_GLASS, "coma", True, "ok"),
    (
        "break-glass no reason",
        active(),
        doctor(B),
        Mode.BREAK_GLASS,
        None,
        False,
        "reason_required",
    ),
    ("break-glass empty", active(), doctor(B), Mode.BREAK_GLASS, "", False, "reason_required"),
    ("break-glass blank", active(), doctor(B), Mode.BREAK_GLASS, " \n\t", False, "reason_required"),
    (
        "break-glass refused",
        active(refuses_break_glass=True),
        doctor(B),
        Mode.BREAK_GLASS,
        "coma",
        False,
        "break_glass_refused",
    ),
    (
        "break-glass allowed when only regulation refused",
        active(refuses_regulation=True),
        doctor(B),
        Mode.BREAK_GLASS,
        "coma",
        True,
        "ok",
    ),
    ("regulation", active(), doctor(B, regulation=True), Mode.REGULATION, None, True, "ok"),
    (
        "regulation needs the flag",
        active(authorised=frozenset({B})),
        doctor(B),
        Mode.REGULATION,
        None,
        False,
        "not_regulation",
    ),
    (
        "regulation refused",
        active(refuses_regulation=True),
        doctor(B, regulation=True),
        Mode.REGULATION,
        None,
        False,
        "regulation_refused",
    ),
    (
        "regulation allowed when only break-glass refused",
        active(refuses_break_glass=True),
        doctor(B, regulation=True),
        Mode.REGULATION,
        None,
        True,
        "ok",
    ),
    (
        "closed record, attending",
        RecordFacts(status=RecordStatus.CLOSED, attending=A),
        doctor(A),
        Mode.NORMAL,
        None,
        False,
        "record_closed",
    ),
    (
        "closed record, break-glass",
        RecordFacts(status=RecordStatus.CLOSED),
        doctor(B),
        Mode.BREAK_GLASS,
        "coma",
        False,
        "record_closed",
    ),
    (
        "erased record, regulation",
        RecordFacts(status=RecordStatus.ERASED),
        doctor(B, regulation=True),
        Mode.REGULATION,
        None,
        False,
        "record_erased",
    ),
    (
        "occupational doctor, even as attending",
        active(attending=A, authorised=frozenset({A})),
        PractitionerFacts(A, Profession.MEDECIN_DU_TRAVAIL),
        Mode.NORMAL,
        None,
        False,
        "profession_never_has_access",
    ),
    (
        "insurer's doctor in regulation",
        active(),
        PractitionerFacts(B, Profession.MEDECIN_CONSEIL_ASSURANCE, regulation=True),
        Mode.REGULATION,
        None,
        False,
        "profession_never_has_access",
    ),
    (
        "insurer's doctor in break-glass",
        active(),
        PractitionerFacts(B, Profession.MEDECIN_CONSEIL_ASSURANCE),
        Mode.BREAK_GLASS,
        "coma",
        False,
        "profession_never_has_access",
    ),
]


@pytest.mark.parametrize(
    ("record", "who", "mode", "reason", "allowed", "code"),
    [row[1:] for row in ACCESS_TABLE],
    ids=[row[0] for row in ACCESS_TABLE],
)
def test_practitioner_access_table(
    record: RecordFacts,
    who: PractitionerFacts,
    mode: Mode,
    reason: str | None,
    allowed: bool,
    code: str,
) -> None:
    decision = practitioner_access(record, who, mode, reason=reason)
    assert decision.allowed is allowed
    assert bool(decision) is allowed
    assert decision.reason == code


# --- the profession x type matrix -------------------------------------------------------------

# Independent statement of who reads what (RULES.md: a pharmacist sees prescriptions and lab
# results, not e.g. a consultation note or a discharge summary).
MATRIX_TABLE = [
    (Profession.PHARMACIEN, DocType.PRESCRIPTION, True),
    (Profession.PHARMACIEN, DocType.LAB_REPORT, True),
    (Profession.PHARMACIEN, DocType.IMMUNISATIONS, True),
    (Profession.PHARMACIEN, DocType.CONSULTATION_NOTE, False),
    (Profession.PHARMACIEN, DocType.DISCHARGE_SUMMARY, False),
    (Profession.PHARMACIEN, DocType.IMAGING_REPORT, False),
    (Profession.INFIRMIER, DocType.DISCHARGE_SUMMARY, True),
    (Profession.INFIRMIER, DocType.PRESCRIPTION, True),
    (Profession.INFIRMIER, DocType.CONSULTATION_NOTE, False),
    (Profession.INFIRMIER, DocType.IMAGING_REPORT, False),
    (Profession.KINESITHERAPEUTE, DocType.IMAGING_REPORT, True),
    (Profession.KINESITHERAPEUTE, DocType.PRESCRIPTION, True),
    (Profession.KINESITHERAPEUTE, DocType.LAB_REPORT, False),
    (Profession.KINESITHERAPEUTE, DocType.CONSULTATION_NOTE, False),
    (Profession.CHIRURGIEN_DENTISTE, DocType.IMAGING_REPORT, True),
    (Profession.CHIRURGIEN_DENTISTE, DocType.CONSULTATION_NOTE, False),
    (Profession.CHIRURGIEN_DENTISTE, DocType.DISCHARGE_SUMMARY, False),
    *[(Profession.MEDECIN, t, True) for t in DocType],
    *[(Profession.SAGE_FEMME, t, True) for t in DocType],
]


@pytest.mark.parametrize(("profession", "type_", "allowed"), MATRIX_TABLE)
@pytest.mark.parametrize("mode", list(Mode))
def test_profession_matrix_table(
    profession: Profession, type_: DocType, allowed: bool, mode: Mode
) -> None:
    record = active(authorised=frozenset({B}))
    who = PractitionerFacts(B, profession, regulation=True)
    decision = practitioner_may_read(record, who, doc(type_, author=A), mode)
    assert decision.allowed is allowed
    assert decision.reason == ("ok" if allowed else "profession_matrix")
    # the author always reads their own document, whatever their profession may read
    assert practitioner_may_read(record, who, doc(type_, author=B), mode)


@pytest.mark.parametrize("profession", sorted(NEVER_ACCESS))
def test_never_access_professions_read_nothing_in_the_matrix(profession: Profession) -> None:
    assert READ_MATRIX[profession] == frozenset()
    assert NEVER_ACCESS == {Profession.MEDECIN_DU_TRAVAIL, Profession.MEDECIN_CONSEIL_ASSURANCE}


def test_every_profession_is_in_the_matrix() -> None:
    assert set(READ_MATRIX) == set(Profession)


# --- masking: tables --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", list(Mode))
def test_masked_document_visibility_table(mode: Mode) -> None:
    record = active(
        attending=A,
        authorised=frozenset({A, B, C, D}),
        see_masked=frozenset({C}),
    )
    masked = doc(DocType.LAB_REPORT, author=D, labels={Label.MASQUE_PS})

    def reads(rpps: str) -> bool:
        return practitioner_may_read(record, doctor(rpps, regulation=True), masked, mode).allowed

    assert reads(A)  # attending
    assert not reads(B)  # merely authorised
    assert reads(C)  # same rights as the attending
    assert reads(D)  # author
    # not told that it is masked
    assert practitioner_may_read(record, doctor(B, True), masked, mode).reason == "not_found"
    listed = visible_to_practitioner(
        record, doctor(B, True), [masked, doc(DocType.LAB_REPORT, author=D)], mode
    )
    assert listed == [doc(DocType.LAB_REPORT, author=D)]


def test_visible_to_practitioner_filters_in_order() -> None:
    record = active(authorised=frozenset({B}))
    pharmacist = PractitionerFacts(B, Profession.PHARMACIEN)
    docs = [
        doc(DocType.PRESCRIPTION, author=A),
        doc(DocType.CONSULTATION_NOTE, author=A),
        doc(DocType.LAB_REPORT, author=A, labels={Label.MASQUE_PS}),
        doc(DocType.CONSULTATION_NOTE, author=B),
        doc(DocType.LAB_REPORT, author=C, labels={Label.INVISIBLE_PATIENT}),
    ]
    assert visible_to_practitioner(record, pharmacist, docs, Mode.NORMAL) == [
        docs[0],
        docs[3],
        docs[4],
    ]
    assert visible_to_practitioner(record, doctor(C), docs, Mode.NORMAL) == []


# --- deposit ----------------------------------------------------------------------------------


def test_may_deposit_table() -> None:
    record = active(attending=A, authorised=frozenset({B, C}), blocked=frozenset({C}))
    assert may_deposit(record, doctor(A), DocType.CONSULTATION_NOTE)
    assert may_deposit(record, PractitionerFacts(B, Profession.PHARMACIEN), DocType.PRESCRIPTION)
    assert (
        may_deposit(record, PractitionerFacts(B, Profession.PHARMACIEN), DocType.DISCHARGE_SUMMARY)
    ).reason == "profession_matrix"
    assert may_deposit(record, doctor(A), DocType.PATIENT_NOTE).reason == "patient_note_is_patients"
    assert may_deposit(record, doctor(C), DocType.LAB_REPORT).reason == "blocked"
    assert may_deposit(record, doctor(D), DocType.LAB_REPORT).reason == "not_authorised"
    # depositing is a normal-mode act: regulation doctors with no authorisation cannot deposit
    assert not may_deposit(record, doctor(D, regulation=True), DocType.LAB_REPORT)


# --- patient side: tables ---------------------------------------------------------------------

REVEAL_TABLE = [
    (datetime(2025, 1, 15, 10, 0, tzinfo=UTC), datetime(2025, 2, 15, 10, 0, tzinfo=UTC)),
    (datetime(2025, 1, 31, 23, 59, tzinfo=UTC), datetime(2025, 2, 28, 23, 59, tzinfo=UTC)),
    (datetime(2024, 1, 31, 8, 0, tzinfo=UTC), datetime(2024, 2, 29, 8, 0, tzinfo=UTC)),
    (datetime(2025, 3, 31, 0, 0, tzinfo=UTC), datetime(2025, 4, 30, 0, 0, tzinfo=UTC)),
    (datetime(2024, 12, 15, 12, 0, tzinfo=UTC), datetime(2025, 1, 15, 12, 0, tzinfo=UTC)),
    (datetime(2024, 12, 31, 12, 0, tzinfo=UTC), datetime(2025, 1, 31, 12, 0, tzinfo=UTC)),
    (datetime(2025, 2, 28, 12, 0, tzinfo=UTC), datetime(2025, 3, 28, 12, 0, tzinfo=UTC)),
]


@pytest.mark.parametrize(("deposited", "revealed"), REVEAL_TABLE)
def test_reveal_at_table(deposited: datetime, revealed: datetime) -> None:
    invisible = doc(labels={Label.INVISIBLE_PATIENT}, deposited_at=deposited)
    assert reveal_at(invisible) == revealed
    assert one_month_later(deposited) == revealed
    tick = timedelta(microseconds=1)
    assert not patient_sees(invisible, revealed - tick)
    assert patient_sees(invisible, revealed)
    notice = deposited + timedelta(days=14)
    assert not awaiting_consultation_notice_due(invisible, notice - tick)
    assert awaiting_consultation_notice_due(invisible, notice)
    assert awaiting_consultation_notice_due(invisible, revealed - tick)
    assert not awaiting_consultation_notice_due(invisible, revealed)


def test_patient_labels_and_legal_representatives() -> None:
    both = doc(labels={Label.INVISIBLE_PATIENT, Label.MASQUE_PS}, deposited_at=T0)
    before, after = T0 + timedelta(days=3), T0 + timedelta(days=40)
    assert patient_labels(both, before) == {Label.INVISIBLE_PATIENT, Label.MASQUE_PS}
    assert patient_labels(both, after) == {Label.MASQUE_PS}
    rep = doc(labels={Label.INVISIBLE_REPRESENTANTS_LEGAUX}, deposited_at=T0)
    assert patient_sees(rep, before)
    assert not legal_representative_sees(rep, before)
    assert not legal_representative_sees(rep, after)
    assert not legal_representative_sees(both, before)
    assert legal_representative_sees(both, after)


def test_patient_may_sets() -> None:
    assert {
        "reactivate",
        "erase",
        "login",
        "record.status",
        "logout",
        "record.export",  # a closed record is still the patient's to take with them
        # their own sessions and devices: seen and ended whatever the record's status
        "sessions.read",
        "session.revoke",
        "device.forget",
        "logout.everywhere",
    } == PATIENT_ACTIONS_WHEN_CLOSED
    assert patient_may(RecordStatus.CLOSED, "record.export")
    assert patient_may(RecordStatus.ERASED, "record.export").reason == "record_erased"
    assert patient_may(RecordStatus.ACTIVE, "reactivate").reason == "record_not_closed"
    assert patient_may(RecordStatus.ACTIVE, "close")
    assert patient_may(RecordStatus.CLOSED, "reactivate")
    assert patient_may(RecordStatus.CLOSED, "documents.list").reason == "record_closed"
    assert patient_may(RecordStatus.ERASED, "login").reason == "record_erased"


def test_step_up_actions() -> None:
    for action in (
        "document.delete",
        "close",
        "erase",
        "reactivate",
        "oppositions",
        "record.export",
        "password.change",
    ):
        assert policy.needs_step_up(action)
    for action in ("login", "documents.list", "document.read", "trace.read"):
        assert not policy.needs_step_up(action)


def test_the_former_attending_keeps_ordinary_access_unless_the_patient_says_otherwise() -> None:
    access = policy.previous_attending_access
    record = active(attending=A)
    assert access(record, B, True) == policy.PREVIOUS_GRANTED  # the default: ordinary access
    assert access(record, None, True) == policy.PREVIOUS_GRANTED  # unset: the same
    assert access(record, B, False) == policy.PREVIOUS_REMOVED
    assert access(record, None, False) == policy.PREVIOUS_REMOVED
    # An authorisation of their own is kept as it was, or removed.
    own = active(attending=A, authorised=frozenset({A}), see_masked=frozenset({A}))
    assert access(own, B, True) == policy.PREVIOUS_KEEPS
    assert access(own, B, False) == policy.PREVIOUS_REMOVED
    # No former one, or the same one designated again: nothing to decide.
    assert access(active(), B, False) == policy.PREVIOUS_NONE
    assert access(record, A, False) == policy.PREVIOUS_NONE


def test_block_authorise_designate_table() -> None:
    record = active(attending=A, blocked=frozenset({C}))
    assert may_block(record, A).reason == "attending_cannot_be_blocked"
    assert may_block(record, B)
    assert may_block(active(), A)
    assert may_authorise(record, doctor(B))
    assert may_authorise(record, doctor(C)).reason == "blocked"
    assert may_designate_attending(record, doctor(B))
    assert may_designate_attending(record, doctor(C)).reason == "blocked"
    pharmacist = PractitionerFacts(B, Profession.PHARMACIEN)
    assert may_designate_attending(record, pharmacist).reason == "attending_must_be_doctor"


def test_purge_after_is_ten_years() -> None:
    closed = datetime(2024, 2, 29, 12, 0, tzinfo=UTC)
    assert policy.purge_after(closed) == datetime(2034, 2, 28, 12, 0, tzinfo=UTC)
    assert policy.purge_after(T0) == T0.replace(year=2035)


# --- properties -------------------------------------------------------------------------------


def reference_may_read(
    record: RecordFacts, who: PractitionerFacts, d: DocumentFacts, mode: Mode, reason: str | None
) -> bool:
    """RULES.md written out once more, independently, for allowed/denied only."""
    if record.status != RecordStatus.ACTIVE or who.profession in NEVER_ACCESS:
        return False
    if who.rpps in record.blocked:
        return False
    if mode == Mode.NORMAL:
        opened = who.rpps == record.attending or who.rpps in record.authorised
    elif mode == Mode.BREAK_GLASS:
        opened = not record.refuses_break_glass and bool(reason and reason.strip())
    else:
        opened = who.regulation and not record.refuses_regulation
    if not opened:
        return False
    privileged = who.rpps in {d.author, record.attending} | record.see_masked
    if Label.MASQUE_PS in d.labels and not privileged:
        return False
    return who.rpps == d.author or d.type in READ_MATRIX[who.profession]


@SETTINGS
@given(record=records(), who=practitioners, d=documents, mode=mode_st)
def test_property_read_matches_the_rules(
    record: RecordFacts, who: PractitionerFacts, d: DocumentFacts, mode: Mode
) -> None:
    # practitioner_may_read assumes the record was opened (reason already checked)
    expected = reference_may_read(record, who, d, mode, reason="checked")
    assert practitioner_may_read(record, who, d, mode).allowed is expected
    assert (d in visible_to_practitioner(record, who, [d], mode)) is expected


@SETTINGS
@given(record=records(), who=practitioners, d=documents, mode=mode_st)
def test_property_masked_hidden_from_unprivileged(
    record: RecordFacts, who: PractitionerFacts, d: DocumentFacts, mode: Mode
) -> None:
    # make sure the practitioner is neither author, attending nor given the same rights
    author = d.author if d.author != who.rpps else POOL[(POOL.index(who.rpps) + 1) % len(POOL)]
    masked = replace(d, author=author, labels=d.labels | {Label.MASQUE_PS})
    record = replace(
        record,
        attending=None if record.attending == who.rpps else record.attending,
        see_masked=record.see_masked - {who.rpps},
    )
    decision = practitioner_may_read(record, who, masked, mode)
    assert not decision
    assert "mask" not in decision.reason.lower()  # not told that something is masked
    assert visible_to_practitioner(record, who, [masked], mode) == []


@SETTINGS
@given(
    record=records(),
    who=practitioners,
    d=documents,
    mode=mode_st,
    reason=reason_st,
    type_=type_st,
)
def test_property_blocked_gets_nothing(
    record: RecordFacts,
    who: PractitionerFacts,
    d: DocumentFacts,
    mode: Mode,
    reason: str | None,
    type_: DocType,
) -> None:
    record = replace(record, blocked=record.blocked | {who.rpps})
    assert not practitioner_access(record, who, mode, reason=reason)
    assert not practitioner_access(record, who, mode, reason="life-threatening emergency")
    assert not practitioner_may_read(record, who, d, mode)
    # even their own document, even as attending / authorised / see_masked
    own = replace(d, author=who.rpps)
    assert not practitioner_may_read(record, who, own, mode)
    assert not may_deposit(record, who, type_)
    assert not practitioner_reads_notes(record, who, mode)
    assert visible_to_practitioner(record, who, [d, own], mode) == []
    assert not may_authorise(record, who)
    assert not may_designate_attending(record, who)


@SETTINGS
@given(
    record=records(),
    who=practitioners,
    d=documents,
    mode=mode_st,
    reason=reason_st,
)
def test_property_oppositions_are_independent(
    record: RecordFacts,
    who: PractitionerFacts,
    d: DocumentFacts,
    mode: Mode,
    reason: str | None,
) -> None:
    flip_bg = replace(record, refuses_break_glass=not record.refuses_break_glass)
    flip_reg = replace(record, refuses_regulation=not record.refuses_regulation)
    # flipping the break-glass refusal never changes a non-break-glass decision, and vice versa
    for flipped, untouched_modes in (
        (flip_bg, {Mode.NORMAL, Mode.REGULATION}),
        (flip_reg, {Mode.NORMAL, Mode.BREAK_GLASS}),
    ):
        if mode in untouched_modes:
            assert practitioner_access(flipped, who, mode, reason) == practitioner_access(
                record, who, mode, reason
            )
            assert practitioner_may_read(flipped, who, d, mode) == practitioner_may_read(
                record, who, d, mode
            )
    # deposits happen in normal mode: no refusal changes them
    for flipped in (flip_bg, flip_reg):
        assert may_deposit(flipped, who, d.type) == may_deposit(record, who, d.type)


@SETTINGS
@given(record=active_records, who=practitioners, reason=reason_st)
def test_property_each_refusal_bites_its_own_mode(
    record: RecordFacts, who: PractitionerFacts, reason: str | None
) -> None:
    if who.profession in NEVER_ACCESS:
        who = replace(who, profession=Profession.MEDECIN)
    record = replace(record, blocked=record.blocked - {who.rpps})
    refusing_bg = replace(record, refuses_break_glass=True)
    refusing_reg = replace(record, refuses_regulation=True)
    bg = practitioner_access(refusing_bg, who, Mode.BREAK_GLASS, reason)
    # Changed with the one answer to practitioners: the request's own checks (here, a reason
    # for break-glass) come before the record's, so they are answered alike for every INS.
    has_reason = bool(reason and reason.strip())
    assert bg.reason == ("break_glass_refused" if has_reason else "reason_required")
    reg = practitioner_access(refusing_reg, who, Mode.REGULATION, reason)
    assert not reg
    assert reg.reason == ("regulation_refused" if who.regulation else "not_regulation")


@SETTINGS
@given(d=documents, offset=st.integers(-5 * 86400, 70 * 86400), micro=st.integers(0, 999_999))
def test_property_invisible_patient_until_one_month(
    d: DocumentFacts, offset: int, micro: int
) -> None:
    now = d.deposited_at + timedelta(seconds=offset, microseconds=micro)
    reveal = one_month_later(d.deposited_at)
    assert reveal_at(d) == reveal
    assert timedelta(days=28) <= reveal - d.deposited_at <= timedelta(days=31)
    if Label.INVISIBLE_PATIENT in d.labels:
        assert patient_sees(d, now) is (now >= reveal)
        due = d.deposited_at + timedelta(days=14) <= now < reveal
        assert awaiting_consultation_notice_due(d, now) is due
        # seen from then on
        assert patient_sees(d, reveal)
        assert patient_sees(d, reveal + timedelta(days=offset % 4000))
        assert not patient_sees(d, reveal - timedelta(microseconds=1))
    else:
        assert patient_sees(d, now)
        assert not awaiting_consultation_notice_due(d, now)


@SETTINGS
@given(d=documents, offset=st.integers(-5 * 86400, 70 * 86400), micro=st.integers(0, 999_999))
def test_property_list_labels_say_what_patient_sees_and_patient_labels_say(
    d: DocumentFacts, offset: int, micro: int
) -> None:
    """The list shortcut (the deposit time read only when a label depends on it) answers as the
    two rules do, for any labels and any moment."""
    now = d.deposited_at + timedelta(seconds=offset, microseconds=micro)
    asked: list[bool] = []

    def deposited() -> datetime:
        asked.append(True)
        return d.deposited_at

    shown = policy.patient_list_labels(d.type, d.author, d.labels, deposited, now)
    assert shown == (patient_labels(d, now) if patient_sees(d, now) else None)
    assert bool(asked) is (Label.INVISIBLE_PATIENT in d.labels)


@SETTINGS
@given(
    record=records(status=st.sampled_from([RecordStatus.CLOSED, RecordStatus.ERASED])),
    who=practitioners,
    d=documents,
    mode=mode_st,
    reason=reason_st,
    action=st.one_of(st.sampled_from(PATIENT_ACTIONS), st.text(max_size=15)),
)
def test_property_closed_or_erased_answers_no_practitioner(
    record: RecordFacts,
    who: PractitionerFacts,
    d: DocumentFacts,
    mode: Mode,
    reason: str | None,
    action: str,
) -> None:
    code = "record_closed" if record.status == RecordStatus.CLOSED else "record_erased"
    # make the practitioner as privileged as possible: it must not matter
    best = replace(
        record,
        attending=who.rpps,
        authorised=record.authorised | {who.rpps},
        see_masked=record.see_masked | {who.rpps},
        blocked=frozenset(),
        refuses_break_glass=False,
        refuses_regulation=False,
    )

    # Changed with the one answer to practitioners: the request's own checks (profession, mode,
    # break-glass reason) come first, whatever the record; then the record's state.
    def expected(r: str | None) -> str:
        request = policy.practitioner_request(who, mode, r)
        return code if request else request.reason

    for rec in (record, best):
        for r in (reason, "cardiac arrest"):
            assert practitioner_access(rec, who, mode, r).reason == expected(r)
        read = practitioner_may_read(rec, who, replace(d, author=who.rpps), mode)
        assert read.reason == expected("checked")
        assert not may_deposit(rec, who, d.type)
        assert not practitioner_reads_notes(rec, who, mode)
    decision = patient_may(record.status, action)
    if record.status == RecordStatus.CLOSED:
        assert decision.allowed is (action in PATIENT_ACTIONS_WHEN_CLOSED)
    else:
        assert not decision
        assert decision.reason == "record_erased"


@QUICK
@given(action=st.one_of(st.sampled_from(PATIENT_ACTIONS), st.text(max_size=15)))
def test_property_patient_may_on_active_record(action: str) -> None:
    assert patient_may(RecordStatus.ACTIVE, action).allowed is (action != "reactivate")


@SETTINGS
@given(
    record=records(),
    rpps=rpps_st,
    profession=st.sampled_from(sorted(NEVER_ACCESS)),
    regulation=st.booleans(),
    d=documents,
    mode=mode_st,
    reason=reason_st,
)
def test_property_never_access_professions(
    record: RecordFacts,
    rpps: str,
    profession: Profession,
    regulation: bool,
    d: DocumentFacts,
    mode: Mode,
    reason: str | None,
) -> None:
    who = PractitionerFacts(rpps, profession, regulation)
    record = replace(
        record,
        status=RecordStatus.ACTIVE,
        attending=rpps,
        authorised=record.authorised | {rpps},
        see_masked=record.see_masked | {rpps},
        refuses_break_glass=False,
        refuses_regulation=False,
    )
    for r in (reason, "emergency"):
        assert not practitioner_access(record, who, mode, r)
    assert not practitioner_may_read(record, who, replace(d, author=rpps), mode)
    assert not may_deposit(record, who, d.type)
    assert not may_authorise(record, who)
    assert may_authorise(record, who).reason == "profession_never_has_access"
    assert not may_designate_attending(record, who)
    assert not practitioner_reads_notes(record, who, mode)


@QUICK
@given(record=records(), rpps=rpps_st)
def test_property_attending_cannot_be_blocked(record: RecordFacts, rpps: str) -> None:
    assert may_block(record, rpps).allowed is (rpps != record.attending)
    assert not may_block(replace(record, attending=rpps), rpps)


@SETTINGS
@given(record=active_records, who=practitioners, d=documents, mode=mode_st)
def test_property_author_always_reads_own_document(
    record: RecordFacts, who: PractitionerFacts, d: DocumentFacts, mode: Mode
) -> None:
    own = replace(d, author=who.rpps)
    if practitioner_access(record, who, mode, reason="checked"):
        assert practitioner_may_read(record, who, own, mode)  # any type, any labels


@SETTINGS
@given(
    record=active_records,
    rpps=rpps_st,
    profession=st.sampled_from(ACCESSING),
    d=documents,
    mode=mode_st,
)
def test_property_matrix_for_non_authors(
    record: RecordFacts, rpps: str, profession: Profession, d: DocumentFacts, mode: Mode
) -> None:
    who = PractitionerFacts(rpps, profession, regulation=True)
    record = replace(
        record,
        authorised=record.authorised | {rpps},
        blocked=record.blocked - {rpps},
        refuses_break_glass=False,
        refuses_regulation=False,
    )
    author = d.author if d.author != rpps else POOL[(POOL.index(rpps) + 1) % len(POOL)]
    plain = replace(d, author=author, labels=d.labels - {Label.MASQUE_PS})
    decision = practitioner_may_read(record, who, plain, mode)
    assert decision.allowed is (plain.type in READ_MATRIX[profession])
    if not decision:
        assert decision.reason == "profession_matrix"
    deposit = may_deposit(record, who, d.type)
    assert deposit.allowed is (d.type in READ_MATRIX[profession] and d.type != DocType.PATIENT_NOTE)


@SETTINGS
@given(record=active_records, who=practitioners, reason=reason_st)
def test_property_break_glass_needs_a_reason(
    record: RecordFacts, who: PractitionerFacts, reason: str | None
) -> None:
    record = replace(record, refuses_break_glass=False, blocked=record.blocked - {who.rpps})
    if who.profession in NEVER_ACCESS:
        who = replace(who, profession=Profession.INFIRMIER)
    decision = practitioner_access(record, who, Mode.BREAK_GLASS, reason)
    blank = reason is None or not reason.strip()
    assert decision.allowed is (not blank)
    if blank:
        assert decision.reason == "reason_required"


@SETTINGS
@given(
    record=active_records,
    who=practitioners,
    authorised=rpps_set,
    attending=st.one_of(st.none(), rpps_st),
    reason=reason_st,
    d=documents,
)
def test_property_regulation_needs_flag_and_ignores_authorisation(
    record: RecordFacts,
    who: PractitionerFacts,
    authorised: frozenset[str],
    attending: str | None,
    reason: str | None,
    d: DocumentFacts,
) -> None:
    decision = practitioner_access(record, who, Mode.REGULATION, reason)
    other = replace(record, authorised=authorised, attending=attending)
    assert practitioner_access(other, who, Mode.REGULATION, reason) == decision
    without = replace(record, authorised=record.authorised - {who.rpps})
    if record.attending != who.rpps:
        assert practitioner_access(without, who, Mode.REGULATION, reason) == decision
    if not who.regulation:
        assert not decision
    elif (
        who.profession not in NEVER_ACCESS
        and who.rpps not in record.blocked
        and not record.refuses_regulation
    ):
        assert decision  # no authorisation needed
        # every profession that has access reads prescriptions
        plain = replace(d, labels=d.labels - {Label.MASQUE_PS}, type=DocType.PRESCRIPTION)
        assert practitioner_may_read(without, who, plain, Mode.REGULATION)
    # break-glass likewise ignores authorisation
    bg = practitioner_access(record, who, Mode.BREAK_GLASS, reason)
    assert practitioner_access(other, who, Mode.BREAK_GLASS, reason) == bg


@SETTINGS
@given(record=records(), who=practitioners, d=documents, mode=mode_st, now=utc_st)
def test_property_labels_combine(
    record: RecordFacts, who: PractitionerFacts, d: DocumentFacts, mode: Mode, now: datetime
) -> None:
    masked, invisible = Label.MASQUE_PS, Label.INVISIBLE_PATIENT
    reps = Label.INVISIBLE_REPRESENTANTS_LEGAUX
    # the patient's view depends on INVISIBLE_PATIENT only
    for removed in (masked, reps):
        assert patient_sees(replace(d, labels=d.labels - {removed}), now) == patient_sees(d, now)
        assert awaiting_consultation_notice_due(
            replace(d, labels=d.labels - {removed}), now
        ) == awaiting_consultation_notice_due(d, now)
    # the practitioners' view depends on MASQUE_PS only
    for removed in (invisible, reps):
        assert practitioner_may_read(
            record, who, replace(d, labels=d.labels - {removed}), mode
        ) == practitioner_may_read(record, who, d, mode)
    # clearing one label keeps the other's effect
    both = replace(d, labels=d.labels | {masked, invisible})
    early = both.deposited_at + timedelta(days=1)
    only_invisible = replace(both, labels=both.labels - {masked})
    only_masked = replace(both, labels=both.labels - {invisible})
    assert invisible in only_invisible.labels and masked in only_masked.labels
    assert not patient_sees(only_invisible, early)
    if not policy.sees_masked(record, who, both):
        assert not practitioner_may_read(record, who, only_masked, mode)
    # the patient's label view never drops MASQUE_PS or the legal-representative label
    assert patient_labels(d, now) >= d.labels - {invisible}
    # legal representatives see only what the patient sees, and never the hidden-from-them label
    assert legal_representative_sees(d, now) is (patient_sees(d, now) and reps not in d.labels)


def _told(
    record: RecordFacts | None, who: PractitionerFacts, mode: Mode, reason: str | None
) -> str:
    """What the host answers a practitioner about one INS (``record`` None: no record)."""
    if record is None:
        request = policy.practitioner_request(who, mode, reason)
        return policy.NO_ACCESS if request else request.reason
    decision = practitioner_access(record, who, mode, reason)
    return "ok" if decision else policy.told_reason(record, who, decision)


@SETTINGS
@given(
    record=records(),
    who=practitioners,
    mode=mode_st,
    reason=reason_st,
)
def test_property_a_practitioner_without_standing_cannot_tell_records_apart(
    record: RecordFacts, who: PractitionerFacts, mode: Mode, reason: str | None
) -> None:
    # No record, closed, erased, blocked, not authorised, an emergency mode refused: to a
    # practitioner the patient never let in, a refusal reads exactly like "no record".
    told = _told(record, who, mode, reason)
    if not policy.has_standing(record, who) and told != "ok":
        assert told == _told(None, who, mode, reason)
        assert told in policy.REQUEST_REASONS | {policy.NO_ACCESS}


def test_a_practitioner_with_standing_is_told_why() -> None:
    who = doctor(A)
    closed = RecordFacts(status=RecordStatus.CLOSED, authorised=frozenset({A}))
    assert _told(closed, who, Mode.NORMAL, None) == "record_closed"
    refusing = active(attending=A, refuses_break_glass=True)
    assert _told(refusing, who, Mode.BREAK_GLASS, "arrêt cardiaque") == "break_glass_refused"
    # Not let in: the same closed record, the same refusal, say nothing more than "no access".
    assert _told(replace(closed, authorised=frozenset()), who, Mode.NORMAL, None) == "no_access"
    assert _told(replace(refusing, attending=B), who, Mode.BREAK_GLASS, "x") == "no_access"
    assert _told(active(blocked=frozenset({A})), who, Mode.NORMAL, None) == "no_access"
    erased = RecordFacts(status=RecordStatus.ERASED, attending=A)
    assert _told(erased, who, Mode.NORMAL, None) == "no_access"
    # About the request, not the record: told to everyone, record or not.
    assert _told(None, who, Mode.BREAK_GLASS, " ") == "reason_required"
    assert _told(None, who, Mode.REGULATION, None) == "not_regulation"
