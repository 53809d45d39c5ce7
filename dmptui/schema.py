"""The API contract, shared by the host and the client: pydantic models, codes and limits.

Neither side defines request or response shapes anywhere else.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator

API_PREFIX = "/v1"
MAX_TITLE = 200
MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_NOTES = 100_000
PRACTITIONER_HEADER = "X-Practitioner-Credential"
SUPPORT_HEADER = "X-Support-Credential"
DEVICE_HEADER = "X-Device-Id"

# The one rule of control characters in text: C0 and C1 controls and DEL are refused; tab and
# line feed are allowed in multi-line text only, and so is CR LF (the line end of texts written
# on Windows, kept as sent: ``data_text.data_lines`` breaks lines there). A carriage return
# alone is refused: a terminal would go back over the line and hide what came before.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]|\r(?!\n)")
_CONTROL_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# In a one-line field (a title, a name, a reason): bidirectional embeddings, overrides and
# isolates (U+202A–U+202E, U+2066–U+2069), which reorder what follows them ("Trojan Source"
# spoofing of a title or a name), line and paragraph separators, and the byte order mark.
# Direction marks (U+200E, U+200F, U+061C) and zero-width joiners (U+200C, U+200D) stay
# allowed: real names and titles in Arabic, Hebrew, Persian or Indic scripts need them.
_SPOOFING = re.compile("[\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]")


def _no_controls(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("control characters are not allowed")
    return value


def _no_controls_one_line(value: str) -> str:
    if _CONTROL_ONE_LINE.search(value):
        raise ValueError("control characters and line breaks are not allowed")
    if _SPOOFING.search(value):
        raise ValueError(
            "bidirectional override or isolate characters (U+202A–U+202E, U+2066–U+2069), "
            "line separators and byte order marks are not allowed"
        )
    return value


def check_line(value: str) -> str:
    """The rule of a one-line field, for values that come outside a request body (a query
    parameter): raises ValueError with the reason."""
    return _no_controls_one_line(value)


def check_text(value: str) -> str:
    """The rule of a multi-line text, for content that comes encoded (base64)."""
    return _no_controls(value)


# The pattern documents the rule in the OpenAPI (the validator keeps the plain-words message).
Text = Annotated[
    str,
    AfterValidator(_no_controls),
    Field(json_schema_extra={"pattern": r"^(?:[^\x00-\x08\x0b-\x1f\x7f-\x9f]|\r\n)*$"}),
]
Line = Annotated[
    str,
    AfterValidator(_no_controls_one_line),
    Field(
        json_schema_extra={
            "pattern": r"^[^\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029\ufeff]*$"
        }
    ),
]


class DocType(StrEnum):
    """Document types are LOINC codes, as in the national system."""

    DISCHARGE_SUMMARY = "11490-0"
    CONSULTATION_NOTE = "11488-4"
    LAB_REPORT = "11502-2"
    IMAGING_REPORT = "18748-4"
    PRESCRIPTION = "57833-6"
    IMMUNISATIONS = "11369-6"
    PATIENT_NOTE = "51855-5"


DOC_TYPE_LABELS: dict[str, dict[str, str]] = {
    DocType.DISCHARGE_SUMMARY: {"fr": "Compte rendu d'hospitalisation", "en": "Discharge summary"},
    DocType.CONSULTATION_NOTE: {"fr": "Compte rendu de consultation", "en": "Consultation note"},
    DocType.LAB_REPORT: {"fr": "Résultats de biologie", "en": "Laboratory report"},
    DocType.IMAGING_REPORT: {"fr": "Compte rendu d'imagerie", "en": "Imaging report"},
    DocType.PRESCRIPTION: {"fr": "Ordonnance", "en": "Prescription"},
    DocType.IMMUNISATIONS: {"fr": "Vaccinations", "en": "Immunisations"},
    DocType.PATIENT_NOTE: {"fr": "Note du patient", "en": "Patient note"},
}


class Label(StrEnum):
    """Visibility labels (TRE_A07). A document carries a *set* of them."""

    MASQUE_PS = "MASQUE_PS"
    INVISIBLE_PATIENT = "INVISIBLE_PATIENT"
    INVISIBLE_REPRESENTANTS_LEGAUX = "INVISIBLE_REPRESENTANTS_LEGAUX"


class Profession(StrEnum):
    MEDECIN = "medecin"
    SAGE_FEMME = "sage_femme"
    PHARMACIEN = "pharmacien"
    INFIRMIER = "infirmier"
    KINESITHERAPEUTE = "kinesitherapeute"
    CHIRURGIEN_DENTISTE = "chirurgien_dentiste"
    MEDECIN_DU_TRAVAIL = "medecin_du_travail"
    MEDECIN_CONSEIL_ASSURANCE = "medecin_conseil_assurance"


class Mode(StrEnum):
    NORMAL = "normal"
    BREAK_GLASS = "break-glass"
    REGULATION = "regulation"


class RecordStatus(StrEnum):
    ACTIVE = "active"
    CLOSED = "closed"
    ERASED = "erased"


class Channel(StrEnum):
    SMS = "sms"
    EMAIL = "email"


# A lone UTF-16 surrogate: JSON can write one (the escape \ud800), but it is no character,
# has no UTF-8 form, and nothing could store, hash or send it back.
_SURROGATE = re.compile("[\ud800-\udfff]")


def _no_surrogates(value: object) -> object:
    if isinstance(value, str):
        if _SURROGATE.search(value):
            raise ValueError("lone surrogates (U+D800–U+DFFF) are not valid Unicode text")
    elif isinstance(value, list):
        for item in value:
            _no_surrogates(item)
    return value


class Strict(BaseModel):
    """Requests refuse unknown fields, and text that is not valid Unicode (every string field)."""

    model_config = ConfigDict(extra="forbid")

    @field_validator("*", mode="after")
    @classmethod
    def _valid_unicode(cls, value: object) -> object:
        return _no_surrogates(value)


# --- errors --------------------------------------------------------------------------------


class ErrorBody(BaseModel):
    error: str
    reason: str | None = None
    field: str | None = None
    message: str = ""
    # A wrong password or code (login, step-up), from the third failure in a row: how many
    # tries are left before logging in (or confirming) pauses; 0 when this failure started
    # a pause.
    tries_left: int | None = None
    # ``locked`` (429), or a failure that started a pause: when the pause ends (UTC). The
    # Retry-After header gives the same in seconds.
    locked_until: datetime | None = None


# --- auth ----------------------------------------------------------------------------------


class LoginRequest(Strict):
    ins: Line = Field(max_length=40)
    password: str = Field(max_length=1024)


class LoginChallenge(BaseModel):
    challenge: str
    channels: list[str]  # "totp" and/or "sms", "email"
    enrolment: TotpEnrolment | None = None  # no longer given at login: see ``ActivateRequest``
    # A record not yet activated: the next step is POST /v1/auth/activate with the activation
    # code the patient received by letter; no code is asked nor accepted before that.
    activation_required: bool = False


class ActivateRequest(Strict):
    """The first enrolment of the authenticator: the challenge of a login with the password,
    and the activation code of the letter. Answered with the ``TotpEnrolment``."""

    challenge: str = Field(max_length=100)
    activation_code: str = Field(max_length=40)


class TotpEnrolment(BaseModel):
    """Given once, by POST /v1/auth/activate (the letter's activation code), so the patient can
    add the record to an authenticator app."""

    secret: str
    uri: str


# --- opening a record (a practitioner, with the patient's carte Vitale) ------------------------

_PHONE_FR = re.compile(r"^(?:\+33|0033|0)([1-9]\d{8})$")
_PHONE_INTL = re.compile(r"^\+([1-9]\d{7,14})$")
_EMAIL = re.compile(
    r"^[^@\s]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
)


def normal_phone(value: str) -> str:
    """A French number (06 12 34 56 78, +33 6 12 34 56 78) as "+33 6 12 34 56 78", or another
    country's in international form (+ and 8 to 15 digits); anything else is refused."""
    compact = re.sub(r"[\s.\-()]", "", value)
    fr = _PHONE_FR.match(compact)
    if fr:
        d = fr.group(1)
        return f"+33 {d[0]} {d[1:3]} {d[3:5]} {d[5:7]} {d[7:9]}"
    if _PHONE_INTL.match(compact):
        return compact
    raise ValueError(
        "a phone number is 10 digits (06 12 34 56 78) or international (+33 6 12 34 56 78)"
    )


def normal_email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("an email address looks like name@example.org")
    return value


def _name(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("the patient's name is required")
    return value


class RecordOpenRequest(Strict):
    """A practitioner opens a record for a patient (INS read from the carte Vitale)."""

    ins: Line = Field(max_length=40)
    name: Annotated[Line, AfterValidator(_name)] = Field(max_length=200)
    phone: Annotated[Line, AfterValidator(normal_phone)] | None = Field(None, max_length=32)
    email: Annotated[Line, AfterValidator(normal_email)] | None = Field(None, max_length=254)


class RecordOpened(BaseModel):
    """The record opened. ``password`` is the provisional password the practitioner hands to
    the patient; the activation code goes to the patient by letter only (never in this answer:
    whoever holds both could enrol the authenticator in the patient's place)."""

    ins: str
    name: str
    password: str
    activation: Literal["letter"] = "letter"
    activation_expires_at: datetime


class OtpRequest(Strict):
    challenge: str = Field(max_length=100)
    channel: Channel


class OtpSent(BaseModel):
    channel: Channel
    destination: str  # masked, e.g. "06 •• •• •• 42"
    expires_in: int


class VerifyRequest(Strict):
    challenge: str = Field(max_length=100)
    code: str = Field(max_length=12)


class Tokens(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - a token type, not a secret


class RefreshRequest(Strict):
    refresh_token: str = Field(max_length=200)


class StepUpRequest(Strict):
    code: str = Field(max_length=12)


class StepUpOtpRequest(Strict):
    channel: Channel


class StepUpDone(BaseModel):
    fresh_for: int


# --- recovery: forgotten password, lost authenticator ---------------------------------------

RecoveryStep = Literal["sms", "email", "password"]


class ResetStart(Strict):
    ins: Line = Field(max_length=40)


class ResetStarted(BaseModel):
    """Said alike whether the INS has a record or not: a code went to its registered phone if
    it has one."""

    flow: str
    next: RecoveryStep  # the code awaited: "sms" first (or the authenticator's code)
    expires_in: int  # seconds the flow lives


class RecoveryCode(Strict):
    flow: str = Field(max_length=100)
    code: str = Field(max_length=12)


class ResetProgress(BaseModel):
    proven: list[str]  # "sms", "email", "totp"
    next: RecoveryStep  # "email" (a code was sent there), then "password"
    expires_in: int


class ResetPassword(Strict):
    flow: str = Field(max_length=100)
    password: str = Field(max_length=1024)


class ResetDone(BaseModel):
    sessions_ended: int
    devices_forgotten: int


class ReenrolStart(Strict):
    ins: Line = Field(max_length=40)
    password: str = Field(max_length=1024)
    channel: Channel


class ReenrolStarted(BaseModel):
    flow: str
    channel: Channel
    destination: str  # masked
    expires_in: int


class ReenrolDone(BaseModel):
    """The new authenticator secret, given once: the old one is refused from now on."""

    enrolment: TotpEnrolment
    sessions_ended: int


# --- the patient's account: sessions, devices, password ------------------------------------


class SessionOut(BaseModel):
    """A live session of the patient. ``id`` is opaque (never a token or its digest)."""

    id: str
    first_seen: datetime
    last_seen: datetime
    app: str | None = None  # the app that logged in, as it named itself (User-Agent)
    address: str | None = None  # the network address the host saw
    current: bool = False  # the session making this request: "this device"


class DeviceOut(BaseModel):
    """A remembered device: a login from it is not announced as a new device."""

    id: str
    first_seen: datetime
    last_seen: datetime | None = None
    app: str | None = None
    address: str | None = None
    current: bool = False  # the device of the session making this request


class SessionsOut(BaseModel):
    sessions: list[SessionOut]
    devices: list[DeviceOut]


class AccountDone(BaseModel):
    """What a change of the account did, in words (``fr``, ``en``)."""

    message: dict[str, str]
    sessions_ended: int = 0
    current_ended: bool = False  # the caller's own session ended: log in again


class PasswordChange(Strict):
    current_password: str = Field(max_length=1024)
    new_password: str = Field(max_length=1024)


# --- record --------------------------------------------------------------------------------


class PractitionerOut(BaseModel):
    rpps: str
    name: str
    profession: str
    facility: str


class RecordOut(BaseModel):
    ins: str
    status: RecordStatus
    closed_at: datetime | None = None
    purge_after: datetime | None = None
    attending: PractitionerOut | None = None
    oppositions: Oppositions
    counts: dict[str, int]
    unread_notifications: int
    # The ETags of the record's parts shown here ("status", "oppositions"), for If-Match.
    etags: dict[str, str] = Field(default_factory=dict)


class Oppositions(Strict):
    """True means the patient refuses that emergency access."""

    break_glass: StrictBool
    regulation: StrictBool


class DocumentOut(BaseModel):
    id: str
    type: str
    title: str
    author: PractitionerOut
    facility: str
    care_date: date | None
    deposited_at: datetime
    content_type: str
    size: int
    labels: list[str]
    warning: str | None = None  # for practitioners: "invisible_to_patient"
    etag: str | None = None  # for the patient: the masking state's ETag, for If-Match


class DocumentPage(BaseModel):
    items: list[DocumentOut]
    next_cursor: str | None


class PractitionerLink(BaseModel):
    practitioner: PractitionerOut
    since: datetime
    see_masked: bool = False


class PractitionersOut(BaseModel):
    attending: PractitionerOut | None
    authorised: list[PractitionerLink]
    blocked: list[PractitionerLink]


class DirectoryEntry(PractitionerOut):
    may_access: bool  # False for occupational and insurers' doctors, who never have access


class DirectoryPage(BaseModel):
    items: list[DirectoryEntry]
    next_cursor: str | None = None


class AuthorisationRequest(Strict):
    """Optional body of PUT /v1/record/authorisations/{rpps}: ``see_masked`` gives the same rights
    as the médecin traitant (masked documents included)."""

    see_masked: bool = False


class AttendingChange(Strict):
    """Optional body of PUT /v1/record/attending/{rpps} and DELETE /v1/record/attending: whether
    the former médecin traitant keeps ordinary access to the record (the default), or loses
    every access (their own authorisation, if any, is removed too)."""

    previous_keeps_access: StrictBool = True


class TraceEntryOut(BaseModel):
    seq: int
    at: datetime
    actor_role: str
    actor_name: str | None
    actor_rpps: str | None
    actor_profession: str | None
    actor_facility: str | None
    action: str
    document_id: str | None
    mode: str
    outcome: Literal["allowed", "denied"]
    reason: str | None


class TracePage(BaseModel):
    items: list[TraceEntryOut]
    next_cursor: str | None


# --- the trace as a verifiable log (dmptui.merkle, dmptui.host.ledger) ---

MAX_PROOF_SEQS = 100  # entries per inclusion request

HexHash = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


class LedgerKeyLinkOut(BaseModel):
    """One rotation of the signing key: the key before (``previous_*``) vouches for the next
    one with an Ed25519 signature over ``dmptui-trace-key-endorsement/v1``, both public keys
    and ``signed_at`` (``dmptui.merkle.key_endorsement_message``)."""

    previous_key_id: str
    previous_public_key: str
    key_id: str
    public_key: str
    signed_at: datetime
    signature: str  # base64, by the previous key


class LedgerKeyOut(BaseModel):
    """The host's public key for trace checkpoints (Ed25519, raw 32 bytes in base64), and the
    endorsements of every rotation, oldest first: an app that pinned an earlier key follows them
    link by link to this one."""

    algorithm: Literal["Ed25519"] = "Ed25519"
    key_id: str
    public_key: str
    chain: list[LedgerKeyLinkOut] = Field(default_factory=list)


class CheckpointOut(BaseModel):
    """A signed statement: the record's trace has ``tree_size`` entries and this root."""

    ins: str
    tree_size: int = Field(ge=0)
    root_hash: HexHash
    signed_at: datetime
    key_id: str
    signature: str  # base64


class InclusionProofOut(BaseModel):
    seq: int = Field(ge=1)
    leaf_index: int = Field(ge=0)
    leaf_hash: HexHash  # the host's; the app recomputes it for the entries it shows
    path: list[HexHash]


class ConsistencyProofOut(BaseModel):
    first: int = Field(ge=1)
    second: int = Field(ge=1)
    path: list[HexHash]


class NotesIn(Strict):
    text: Text = Field(max_length=MAX_NOTES)


class NotesOut(BaseModel):
    text: str
    updated_at: datetime | None


class NotificationOut(BaseModel):
    id: int
    kind: str
    at: datetime
    emergency: bool
    read: bool
    message: dict[str, str]  # {"fr": ..., "en": ...}


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None = None


class LifecycleDone(BaseModel):
    status: RecordStatus
    message: dict[str, str]


# --- practitioner --------------------------------------------------------------------------


# What a practitioner may deposit: UTF-8 text, text in the Windows-1252 encoding of older French
# software (kept byte for byte, shown decoded), PDF, and the files care produces that the apps
# cannot show but save as they are (images, DICOM, office documents, archives, any bytes).
DepositType = Literal[
    "text/plain",
    "text/plain; charset=windows-1252",
    "application/pdf",
    "image/png",
    "image/jpeg",
    "image/gif",
    "image/tiff",
    "application/dicom",
    "application/zip",
    "application/rtf",
    "application/msword",
    "application/octet-stream",
]
LEGACY_TEXT = "text/plain; charset=windows-1252"


class DepositRequest(Strict):
    type: DocType
    title: Line = Field(min_length=1, max_length=MAX_TITLE)
    content_type: DepositType = "text/plain"
    content: Text | None = Field(default=None, max_length=MAX_BODY_BYTES)
    content_base64: str | None = Field(default=None, max_length=MAX_BODY_BYTES * 4 // 3 + 4)
    care_date: date | None = None
    labels: list[Label] = Field(default_factory=list, max_length=3)


class DocumentContent(BaseModel):
    """Practitioner read of one document: metadata plus text content (PDF as base64)."""

    document: DocumentOut
    content: str | None = None
    content_base64: str | None = None


LoginChallenge.model_rebuild()
RecordOut.model_rebuild()


# --- the support desk (/v1/support/…, header ``X-Support-Credential``) ---------------------


class AccountState(StrEnum):
    """An account as the support desk sees it: open (activated), not activated yet (no
    password chosen), closed or erased by its patient."""

    OPEN = "open"
    NOT_ACTIVATED = "not_activated"
    CLOSED = "closed"
    ERASED = "erased"


class SupportAccountOut(BaseModel):
    """What the support desk may know of an account: never a document, a note, a name of a
    practitioner or the trace; the contact channels masked (``06 •• •• •• 78``,
    ``m•••@example.org``)."""

    ins: str
    status: AccountState
    locked: bool
    locked_until: datetime | None = None
    phone: str | None = None
    email: str | None = None
    last_login: datetime | None = None


class SupportUnlockOut(BaseModel):
    """The lock ended: the patient can log in again at once."""

    ins: str
    unlocked: bool


class SupportActivationOut(BaseModel):
    """A new activation code is on its way to the patient, by letter; the desk never sees it."""

    ins: str
    sent: bool
