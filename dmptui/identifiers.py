"""National identifiers: INS (NIR / NIA), legacy INS-C, RPPS.

Pure functions, no I/O. Each check returns a result or raises ``IdentifierError`` whose
``field`` and ``code`` let a front end say, in the user's language, what is expected.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

NIR_OID = "1.2.250.1.213.1.4.8"
NIA_OID = "1.2.250.1.213.1.4.9"
TEST_NIR_OID = "1.2.250.1.213.1.4.10"
DEMO_NIR_OID = "1.2.250.1.213.1.4.11"

_SPACES = re.compile(r"[\s.\-]")
_INS_SHAPE = re.compile(r"^[1-478][0-9]{4}([0-9]{2}|2A|2B)[0-9]{8}$")


class IdentifierError(ValueError):
    """A malformed identifier. ``code`` is stable; ``expected`` is a short English hint."""

    def __init__(self, field: str, code: str, expected: str) -> None:
        super().__init__(f"{field}: {expected}")
        self.field = field
        self.code = code
        self.expected = expected


@dataclass(frozen=True)
class Ins:
    value: str  # 15 characters, no spaces
    kind: str  # "nir" | "nia"

    @property
    def oid(self) -> str:
        return NIA_OID if self.kind == "nia" else NIR_OID


def _digits(value: str) -> bool:
    """ASCII 0-9 only: str.isdigit() also says yes to superscripts and other scripts' digits."""
    return value.isascii() and value.isdigit()


def normalise(raw: str) -> str:
    return _SPACES.sub("", raw or "").upper()


def spaced_ins(raw: str) -> str:
    """The INS grouped as on the carte Vitale: '1 84 05 75 123 456 72'. Left as typed when it
    is not 15 characters (the check says what is wrong; the patient's typing stays)."""
    value = normalise(raw)
    if len(value) != 15:
        return raw
    groups = (value[0], value[1:3], value[3:5], value[5:7], value[7:10], value[10:13], value[13:])
    return " ".join(groups)


# Said, not shown (screen-reader mode): digits in groups a synthesizer says as small numbers, and
# codes character by character. Groups of the INS are two spaces apart: espeak-ng's French takes
# one space between groups of three digits for a thousands separator ("75 123 456": millions).
SPOKEN_GAP = "  "


def spoken_ins(raw: str) -> str:
    """The INS in the carte Vitale's groups (sex, year, month, department, commune, order, key),
    two spaces apart: '2  84  05  75  123  456  72'. Left as typed when not 15 characters."""
    grouped = spaced_ins(raw)
    return grouped.replace(" ", SPOKEN_GAP) if grouped != raw else raw


def spoken_rpps(rpps: str) -> str:
    """An RPPS number in pairs: '10031964207' -> '10 03 19 64 20 7' (not ten billion…)."""
    value = rpps.strip()
    if not _digits(value):
        return rpps
    return " ".join(value[i : i + 2] for i in range(0, len(value), 2))


def spelled(code: str) -> str:
    """A code or a secret character by character: '481027' -> '4 8 1 0 2 7'."""
    return " ".join(code.replace(" ", ""))


def spelled_groups(secret: str, size: int = 4) -> str:
    """A long secret letter by letter, a comma after each and a semicolon between groups:
    '4, U, 7, Y; X, P, J, D; …' (espeak-ng says the A of "Q A Z" as the article "uh")."""
    value = secret.replace(" ", "")
    return "; ".join(", ".join(value[i : i + size]) for i in range(0, len(value), size))


def ins_key(first13: str) -> int:
    """Key = 97 - (number mod 97), with 2A -> 19 and 2B -> 18 (Corsica)."""
    digits = first13.replace("2A", "19").replace("2B", "18")
    return 97 - (int(digits) % 97)


def parse_ins(raw: str, field: str = "ins") -> Ins:
    """Validate a NIR or NIA (13 characters + 2-digit key)."""
    value = normalise(raw)
    if is_legacy_ins_c(value):
        raise IdentifierError(
            field,
            "legacy_ins_c",
            "a 22-digit INS-C is a legacy identifier; use the 15-character INS",
        )
    if len(value) != 15:
        raise IdentifierError(field, "ins_length", "15 characters (13 + a 2-digit key)")
    if not _INS_SHAPE.match(value):
        raise IdentifierError(field, "ins_format", "digits only, except 2A or 2B for Corsica")
    if int(value[13:]) != ins_key(value[:13]):
        raise IdentifierError(field, "ins_key", "the last two digits (the key) do not match")
    kind = "nia" if value[0] in "78" else "nir"
    return Ins(value=value, kind=kind)


def is_legacy_ins_c(raw: str) -> bool:
    value = normalise(raw)
    return len(value) == 22 and _digits(value)


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def luhn_complete(first10: str) -> str:
    """Append the Luhn check digit to ten digits (used to build demo and test RPPS)."""
    for last in "0123456789":
        if luhn_ok(first10 + last):
            return first10 + last
    raise AssertionError("unreachable")


def parse_rpps(raw: str, field: str = "rpps") -> str:
    """An RPPS: 11 digits, Luhn-checked. The CPS card form "8" + RPPS is accepted too."""
    value = normalise(raw)
    if len(value) == 12 and value.startswith("8"):
        value = value[1:]
    if len(value) != 11 or not _digits(value):
        raise IdentifierError(field, "rpps_format", "11 digits")
    if not luhn_ok(value):
        raise IdentifierError(field, "rpps_key", "the RPPS check digit does not match")
    return value
