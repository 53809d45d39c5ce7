"""INS (NIR / NIA, legacy INS-C) and RPPS validation (RULES.md "Identifiers").

Expected keys are computed here independently of ``dmptui.identifiers`` (digit-by-digit mod 97,
and a Luhn written from its definition), and a few literal values are worked out by hand.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dmptui.identifiers import (
    DEMO_NIR_OID,
    NIA_OID,
    NIR_OID,
    TEST_NIR_OID,
    IdentifierError,
    is_legacy_ins_c,
    parse_ins,
    parse_rpps,
)

# --- independent reference implementations -------------------------------------------------

CORSICA = {"2A": "19", "2B": "18"}


def expected_ins_key(body: str) -> int:
    """97 - (body mod 97), Corsica department 2A -> 19, 2B -> 18, computed digit by digit."""
    assert len(body) == 13
    department = body[5:7]
    digits = body[:5] + CORSICA.get(department, department) + body[7:]
    remainder = 0
    for ch in digits:
        remainder = (remainder * 10 + int(ch)) % 97
    return 97 - remainder


def with_key(body: str) -> str:
    return f"{body}{expected_ins_key(body):02d}"


def luhn_check_digit(first10: str) -> str:
    """The digit d such that first10 + d passes Luhn (double every second digit from the right,
    the check digit itself not doubled)."""
    total = 0
    for i, ch in enumerate(reversed(first10)):
        d = int(ch)
        if i % 2 == 0:  # these positions are odd once the check digit is appended
            d = d * 2
            d = d - 9 if d > 9 else d
        total += d
    return str((10 - total % 10) % 10)


def test_reference_key_formula_agrees_with_hand_computations() -> None:
    # 10^2 = 100 = 97 + 3, so 10^2 = 3 (mod 97), 10^6 = 27, 10^12 = 729 = 7*97 + 50 -> 50.
    # "1000000000000" = 10^12 -> 50 -> key 47.
    assert expected_ins_key("1000000000000") == 47
    # "1 00 00 2A 000 000" -> 1000019000000 = 10^12 + 19 * 10^6 -> 50 + 19*27 = 50 + 513
    # 513 = 5*97 + 28 -> 50 + 28 = 78 -> key 19.
    assert expected_ins_key("100002A000000") == 19
    # "2B" -> 18: 18 * 27 = 486 = 5*97 + 1 -> 50 + 1 = 51 -> key 46.
    assert expected_ins_key("100002B000000") == 46
    # The usual published example: 2 55 08 14 168 025, key 38.
    assert expected_ins_key("2550814168025") == 38
    # Luhn: 1 2 3 4 5 6 7 8 9 0 -> check 3 (sum 50); 1 0 ... 0 -> check 9 (1 + 9 = 10).
    assert luhn_check_digit("1234567890") == "3"
    assert luhn_check_digit("1000000000") == "9"


# --- INS: valid -------------------------------------------------------------------------------

VALID_INS = [
    # raw, normalised value, kind
    ("255081416802538", "255081416802538", "nir"),
    ("2 55 08 14 168 025 38", "255081416802538", "nir"),
    ("100000000000047", "100000000000047", "nir"),
    ("1.00.00.00.000.000.47", "100000000000047", "nir"),
    ("1-00-00-00-000-000-47", "100000000000047", "nir"),
    ("\t1 85 05 78 006 084 91 \n", "185057800608491", "nir"),
    ("1\u00a085\u00a005\u00a078\u00a0006\u00a0084\u00a091", "185057800608491", "nir"),
    # Corsica, key with 2A -> 19 / 2B -> 18 (hand-computed above)
    ("1 00 00 2A 000 000 19", "100002A00000019", "nir"),
    ("1 00 00 2a 000 000 19", "100002A00000019", "nir"),
    ("1 00 00 2B 000 000 46", "100002B00000046", "nir"),
    ("1 00 00 2b 000 000 46", "100002B00000046", "nir"),
    # NIA: first digit 7 or 8
    ("7 12 34 56 789 012 20", "712345678901220", "nia"),
    ("801019912345623", "801019912345623", "nia"),
]


@pytest.mark.parametrize(("raw", "value", "kind"), VALID_INS)
def test_parse_ins_valid(raw: str, value: str, kind: str) -> None:
    ins = parse_ins(raw)
    assert ins.value == value
    assert ins.kind == kind
    assert ins.oid == (NIA_OID if kind == "nia" else NIR_OID)
    # and the literal key agrees with the independent formula
    assert int(value[13:]) == expected_ins_key(value[:13])


@pytest.mark.parametrize(
    "body",
    ["1850578006084", "2940275123456", "169052A123456", "169052B123456", "3000000000000"],
)
def test_parse_ins_valid_computed(body: str) -> None:
    assert parse_ins(with_key(body)).value == with_key(body)


def test_oids() -> None:
    assert NIR_OID == "1.2.250.1.213.1.4.8"
    assert NIA_OID == "1.2.250.1.213.1.4.9"
    assert TEST_NIR_OID == "1.2.250.1.213.1.4.10"
    assert DEMO_NIR_OID == "1.2.250.1.213.1.4.11"


# --- INS: invalid -----------------------------------------------------------------------------

INVALID_INS = [
    # wrong key
    ("255081416802539", "ins_key"),
    ("255081416802537", "ins_key"),
    ("2 55 08 14 168 025 83", "ins_key"),
    ("100000000000074", "ins_key"),
    # Corsica keys swapped (2A with the 2B key and vice versa)
    ("100002A00000046", "ins_key"),
    ("100002B00000019", "ins_key"),
    # Corsica key computed without the substitution (the number read with "2A" as digits "20")
    (f"100002A000000{expected_ins_key('1000020000000'):02d}", "ins_key"),
    # wrong length
    ("", "ins_length"),
    ("25508141680253", "ins_length"),  # 14
    ("2550814168025380", "ins_length"),  # 16
    ("2550814168025", "ins_length"),  # body only
    ("12345678901234567890", "ins_length"),  # 20 digits
    ("123456789012345678901", "ins_length"),  # 21 digits
    ("12345678901234567890123", "ins_length"),  # 23 digits
    # letters and bad shapes
    ("2550814168O2538", "ins_format"),  # letter O for zero
    ("X55081416802538", "ins_format"),
    ("25508141680253X", "ins_format"),
    ("100002C00000019", "ins_format"),  # no department 2C
    ("12A000000000019", "ins_format"),  # 2A outside the department position
    ("10000000002A019", "ins_format"),
    ("555081416802538", "ins_format"),  # first digit must be 1-4, 7 or 8
    ("655081416802538", "ins_format"),
    ("955081416802538", "ins_format"),
    ("055081416802538", "ins_format"),
    ("2550814168025+8", "ins_format"),
    # legacy INS-C: 22 digits
    ("1234567890123456789012", "legacy_ins_c"),
    ("12345 67890 12345 67890 12", "legacy_ins_c"),
    ("0000000000000000000000", "legacy_ins_c"),
]


@pytest.mark.parametrize(("raw", "code"), INVALID_INS)
def test_parse_ins_invalid(raw: str, code: str) -> None:
    with pytest.raises(IdentifierError) as exc:
        parse_ins(raw)
    assert exc.value.code == code
    assert exc.value.field == "ins"
    assert exc.value.expected  # a human hint is always given
    assert "ins" in str(exc.value)


def test_parse_ins_error_names_the_given_field() -> None:
    with pytest.raises(IdentifierError) as exc:
        parse_ins("255081416802539", field="patient_ins")
    assert exc.value.field == "patient_ins"
    assert exc.value.code == "ins_key"
    assert str(exc.value).startswith("patient_ins:")


def test_identifier_error_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        parse_ins("nope")


def test_legacy_ins_c_detection() -> None:
    assert is_legacy_ins_c("1234567890123456789012")
    assert is_legacy_ins_c("1234 5678 9012 3456 7890 12")
    assert not is_legacy_ins_c("255081416802538")
    assert not is_legacy_ins_c("123456789012345678901")
    assert not is_legacy_ins_c("123456789012345678901A")


@pytest.mark.parametrize(
    "raw",
    [
        "1\uff18\uff15\uff10\uff15\uff17\uff18\uff10\uff10\uff16\uff10\uff18\uff14\uff19\uff11",
        "1850578006084\u0669\u0661",  # Arabic-Indic 9 and 1 in the key
        "\u0661850578006084" + "91",
    ],
)
def test_parse_ins_non_ascii_digits_never_come_out(raw: str) -> None:
    """Unicode decimal digits other than 0-9 are either refused or normalised to ASCII: an
    identifier with full-width or Arabic-Indic digits must not be stored as is."""
    try:
        ins = parse_ins(raw)
    except IdentifierError as exc:
        assert exc.field == "ins"
    else:
        assert ins.value.isascii(), ins.value
        assert ins.value == "185057800608491"


# --- INS: properties --------------------------------------------------------------------------

DIGIT = st.sampled_from("0123456789")


@st.composite
def ins_bodies(draw: st.DrawFn) -> str:
    first = draw(st.sampled_from("123478"))
    four = "".join(draw(st.lists(DIGIT, min_size=4, max_size=4)))
    department = draw(
        st.one_of(
            st.just("2A"), st.just("2B"), st.lists(DIGIT, min_size=2, max_size=2).map("".join)
        )
    )
    six = "".join(draw(st.lists(DIGIT, min_size=6, max_size=6)))
    return first + four + department + six


@settings(max_examples=300)
@given(body=ins_bodies(), position=st.sampled_from([13, 14]), delta=st.integers(1, 9))
def test_ins_property_key_accepts_and_any_key_digit_change_refuses(
    body: str, position: int, delta: int
) -> None:
    good = with_key(body)
    ins = parse_ins(good)
    assert ins.value == good
    assert ins.kind == ("nia" if body[0] in "78" else "nir")

    bad = list(good)
    bad[position] = str((int(bad[position]) + delta) % 10)
    with pytest.raises(IdentifierError) as exc:
        parse_ins("".join(bad))
    assert exc.value.code == "ins_key"
    assert exc.value.field == "ins"


@settings(max_examples=200)
@given(
    body=ins_bodies(),
    separators=st.lists(st.sampled_from(["", " ", ".", "  ", "-"]), min_size=15, max_size=15),
)
def test_ins_property_separators_are_normalised(body: str, separators: list[str]) -> None:
    good = with_key(body)
    raw = "".join(ch + sep for ch, sep in zip(good, separators, strict=True))
    assert parse_ins(" " + raw.lower() + " ").value == good


# --- RPPS -------------------------------------------------------------------------------------

VALID_RPPS = [
    # raw, normalised RPPS (hand-checked Luhn values, see above)
    ("10000000009", "10000000009"),
    ("12345678903", "12345678903"),
    ("10101010105", "10101010105"),
    ("20000000008", "20000000008"),
    ("123 456 789 03", "12345678903"),
    ("123.456.789.03", "12345678903"),
    (" 12345678903\n", "12345678903"),
    # CPS card form: "8" + RPPS
    ("812345678903", "12345678903"),
    ("8 12345678903", "12345678903"),
    ("810000000009", "10000000009"),
]


@pytest.mark.parametrize(("raw", "value"), VALID_RPPS)
def test_parse_rpps_valid(raw: str, value: str) -> None:
    assert parse_rpps(raw) == value
    assert luhn_check_digit(value[:10]) == value[10]


INVALID_RPPS = [
    ("12345678904", "rpps_key"),  # bad Luhn
    ("12345678930", "rpps_key"),  # two digits swapped
    ("10000000000", "rpps_key"),
    ("812345678904", "rpps_key"),  # card form, bad Luhn
    ("", "rpps_format"),
    ("1234567890", "rpps_format"),  # 10 digits
    ("123456789031", "rpps_format"),  # 12 digits not starting with 8
    ("8812345678903", "rpps_format"),  # 13 digits
    ("88123456789030", "rpps_format"),
    ("1234567890A", "rpps_format"),
    ("ABCDEFGHIJK", "rpps_format"),
    ("8A2345678903", "rpps_format"),
    ("+2345678903", "rpps_format"),
]


@pytest.mark.parametrize(("raw", "code"), INVALID_RPPS)
def test_parse_rpps_invalid(raw: str, code: str) -> None:
    with pytest.raises(IdentifierError) as exc:
        parse_rpps(raw)
    assert exc.value.code == code
    assert exc.value.field == "rpps"
    assert exc.value.expected


def test_parse_rpps_error_names_the_given_field() -> None:
    with pytest.raises(IdentifierError) as exc:
        parse_rpps("123", field="author_rpps")
    assert exc.value.field == "author_rpps"
    assert exc.value.code == "rpps_format"


@pytest.mark.parametrize(
    "raw",
    [
        "1000000000\u00b2",  # superscript two: str.isdigit() is True, int() refuses it
        "\u00b9\u00b2345678903",
        "\uff11\uff12\uff13\uff14\uff15\uff16\uff17\uff18\uff19\uff10\uff13",  # full-width
        "1234567890\u0663",  # Arabic-Indic 3
    ],
)
def test_parse_rpps_non_ascii_digits(raw: str) -> None:
    """Anything that is not 11 ASCII digits is an IdentifierError (naming the field), or is
    normalised to ASCII; never a bare ValueError, never a non-ASCII RPPS."""
    try:
        value = parse_rpps(raw)
    except IdentifierError as exc:
        assert exc.field == "rpps"
    else:
        assert value.isascii() and len(value) == 11, value


@settings(max_examples=300)
@given(
    first10=st.lists(DIGIT, min_size=10, max_size=10).map("".join),
    delta=st.integers(1, 9),
)
def test_rpps_property_luhn(first10: str, delta: int) -> None:
    good = first10 + luhn_check_digit(first10)
    assert parse_rpps(good) == good
    assert parse_rpps("8" + good) == good
    bad = first10 + str((int(good[-1]) + delta) % 10)
    with pytest.raises(IdentifierError) as exc:
        parse_rpps(bad)
    assert exc.value.code == "rpps_key"
    with pytest.raises(IdentifierError) as exc:
        parse_rpps("8" + bad)
    assert exc.value.code == "rpps_key"


def test_spaced_ins_groups_like_the_card_and_keeps_what_it_cannot_group() -> None:
    from dmptui.identifiers import parse_ins, spaced_ins

    assert spaced_ins("284057512345672") == "2 84 05 75 123 456 72"
    assert spaced_ins("2 84 05 2A 123 456 72".replace(" ", "")) == "2 84 05 2A 123 456 72"
    assert parse_ins(spaced_ins("284057512345672")).value == "284057512345672"
    assert spaced_ins("28405") == "28405"
    assert spaced_ins("") == ""
