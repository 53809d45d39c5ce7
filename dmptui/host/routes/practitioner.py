"""The practitioner's API. The ``X-Practitioner-Credential`` header stands for the CPS card.
Deposit a document; list and read a record in normal, break-glass or regulation mode.

One answer to a practitioner without standing (the contract, in ``REFUSALS`` below): an INS with
no record, a closed or erased record, a record that blocks the practitioner, one they were never
authorised on, or one whose patient refuses the emergency mode asked for, all answer 403
``forbidden``, reason ``no_access``, with the same message, to a practitioner the patient has
not let in (``policy.has_standing``: médecin traitant or authorised, not blocked). The médecin
traitant and the authorised are told the real reason (``record_closed``, ``break_glass_refused``).
Reasons about the request itself (``profession_never_has_access``, ``reason_required``,
``not_regulation``) are told to everyone, for every INS. A document the practitioner may not
read, masked or of a type outside their profession's, answers 404 ``not_found`` exactly like a
missing one. The patient's trace keeps the real reason of every refusal."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from starlette.requests import ClientDisconnect

from dmptui.host import activation, concurrency, crypto, ledger, notifications, opening, policy
from dmptui.host.context import ApiError, Refused
from dmptui.host.db import Document, DocumentBody, Notification, Practitioner, Record
from dmptui.host.routes.common import (
    decode_cursor,
    document_facts,
    document_out,
    encode_cursor,
    host_of,
    ins_param,
    practitioner_call,
    practitioner_facts,
    practitioner_present,
    practitioners_by_rpps,
    record_facts,
)
from dmptui.schema import (
    LEGACY_TEXT,
    MAX_BODY_BYTES,
    DepositRequest,
    DocumentContent,
    DocumentOut,
    DocumentPage,
    ErrorBody,
    Label,
    Mode,
    NotesOut,
    RecordOpened,
    RecordOpenRequest,
    check_line,
    check_text,
)

router = APIRouter(
    prefix="/v1/ps", tags=["practitioner"], dependencies=[Depends(practitioner_present)]
)

REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {
        "model": ErrorBody,
        "description": "Refused (error `forbidden`). Reason `no_access` for an INS without a "
        "record and for any record the patient has not let this practitioner into, whatever "
        "its state: the two cannot be told apart. Reasons about the request, told to everyone: "
        "`profession_never_has_access`, `reason_required`, `not_regulation`. To the médecin "
        "traitant and the authorised only: `record_closed`, `break_glass_refused`, "
        "`regulation_refused`; for a deposit, `profession_matrix`, `patient_note_is_patients`.",
    },
}
DOCUMENT_REFUSALS: dict[int | str, dict[str, Any]] = {
    **REFUSALS,
    404: {
        "model": ErrorBody,
        "description": "No such document in this record, or one this practitioner may not read "
        "(masked, or a type outside their profession's): the same answer (error `not_found`).",
    },
}
EMERGENCY_ALERT_EVERY = timedelta(hours=1)
PRACTITIONER_LABELS = {Label.INVISIBLE_PATIENT, Label.INVISIBLE_REPRESENTANTS_LEGAUX}
ModeQ = Query(Mode.NORMAL, description="normal, break-glass (reason required) or regulation")
ReasonQ = Query(None, max_length=300, description="required in break-glass mode")

_MESSAGES = {
    "blocked": "The patient has blocked you: you cannot access this record in any mode.",
    "not_authorised": "The patient has not authorised you. In an emergency where the patient "
    "cannot consent, use break-glass mode with a reason.",
    "break_glass_refused": "The patient refuses break-glass access.",
    "regulation_refused": "The patient refuses access by the emergency call centre.",
    "reason_required": "Break-glass access needs a reason: give it in `reason`.",
    "not_regulation": "Regulation mode is for emergency call-centre (centre 15) doctors.",
    "record_closed": "This record is closed.",
    "record_erased": "This record no longer exists.",
    "profession_never_has_access": "Occupational and insurers' doctors never have access.",
    "profession_matrix": "Your profession may not read or add this type of document.",
    "patient_note_is_patients": "Patient notes are written by the patient.",
    "profession_may_not_open": "Only a doctor or a pharmacist may open a record for a patient.",
    policy.NO_ACCESS: "You have no access to a record for this INS in this mode: either there "
    "is none, or its patient has not given you access. In an emergency where the patient "
    "cannot consent, use break-glass mode with a reason.",
}
NOT_FOUND_DOCUMENT = "No such document in this record."


def _refuse(
    record: policy.RecordFacts | None, who: Practitioner, refused: policy.Decision
) -> Refused:
    """The answer to a refused practitioner: ``policy.told_reason`` says what may be told."""
    told = policy.told_reason(record, practitioner_facts(who), refused)
    return Refused(403, "forbidden", reason=told, message=_MESSAGES.get(told, ""))


def _checked_reason(reason: str | None) -> str | None:
    """A break-glass reason is stored in the trace and sent to the patient: the rule of a
    one-line field (no control character, no bidirectional override)."""
    if reason is None:
        return None
    try:
        return check_line(reason)
    except ValueError as e:
        raise ApiError(
            422, "invalid_input", field="reason", reason="value_error", message=str(e) + "."
        ) from None


def _open(
    s: Session,
    request: Request,
    ins: str,
    action: str,
    mode: Mode,
    reason: str | None,
    document_id: str | None = None,
) -> tuple[Record, Practitioner, policy.RecordFacts, ledger.Actor, datetime]:
    """Authenticate, find the record, decide access in this mode; trace a refusal."""
    reason = _checked_reason(reason)
    host = host_of(request)
    now = host.now()
    who = practitioner_call(s, request)
    record = s.scalar(select(Record).where(Record.ins == ins))
    if record is None:
        # No record: the same answer as a record this practitioner may not open.
        request_check = policy.practitioner_request(practitioner_facts(who), mode, reason)
        raise _refuse(None, who, request_check if not request_check else policy.deny("no_record"))
    facts = record_facts(s, record)
    actor = ledger.Actor.of_practitioner(who)
    decision = policy.practitioner_access(facts, practitioner_facts(who), mode, reason)
    if not decision:
        if record.status != "erased":
            ledger.append(
                s,
                record.id,
                actor,
                action,
                now=now,
                allowed=False,
                reason=decision.reason,
                document_id=document_id,
                mode=mode.value,
            )
        raise _refuse(facts, who, decision)
    return record, who, facts, actor, now


def _emergency(
    s: Session, record: Record, who: Practitioner, mode: Mode, reason: str | None, now: datetime
) -> None:
    """Tell the patient and the médecin traitant; once per practitioner and mode per hour, so a
    doctor reading ten documents in one emergency sends one alert, not ten."""
    if not policy.emergency(mode):
        return
    recent = s.scalar(
        select(Notification.id)
        .where(
            Notification.record_id == record.id,
            Notification.kind == "emergency_access",
            Notification.actor_rpps == who.rpps,
            Notification.at > now - EMERGENCY_ALERT_EVERY,
            Notification.mode == mode.value,
        )
        .limit(1)
    )
    if recent is None:
        notifications.emergency_access(s, record, who, mode.value, reason, now)


def _trace_reason(mode: Mode, reason: str | None) -> str | None:
    return reason.strip() if mode == Mode.BREAK_GLASS and reason else None


def _recognised(request: Request) -> None:
    with host_of(request).tx() as s:
        practitioner_call(s, request)


OPEN_REFUSALS: dict[int | str, dict[str, Any]] = {
    403: {
        "model": ErrorBody,
        "description": "Refused (error `forbidden`): reason `profession_may_not_open` (only a "
        "doctor or a pharmacist opens a record) or `profession_never_has_access`.",
    },
    409: {
        "model": ErrorBody,
        "description": "A record already exists for this INS (error `record_exists`, field "
        "`ins`): the patient logs in to it, or asks the support desk.",
    },
}


@router.post(
    "/records",
    response_model=RecordOpened,
    status_code=201,
    responses=OPEN_REFUSALS,
    description="Open a record for a patient (the INS read from the carte Vitale). The answer "
    "holds the provisional password to hand to the patient; the activation code goes to the "
    "patient by letter, never in this answer. Accepts an Idempotency-Key (scoped to the "
    "credential): a retry is answered the same, password included.",
)
def open_record(body: RecordOpenRequest, request: Request) -> Response:
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        who = practitioner_call(s, request)
        ins = ins_param(body.ins)
        keyed = concurrency.keyed(s, request, f"ps:{who.rpps}", now, body)
        if keyed.replay is not None:
            return keyed.replay
        decision = policy.may_open_record(practitioner_facts(who))
        if not decision:
            raise ApiError(
                403, "forbidden", reason=decision.reason, message=_MESSAGES[decision.reason]
            )
        if s.scalar(select(Record.id).where(Record.ins == ins)) is not None:
            raise ApiError(
                409,
                "record_exists",
                field="ins",
                message="A record already exists for this INS: the patient logs in to it (or "
                "asks the support desk for a new activation code). No second record is opened.",
            )
        try:
            opened = opening.open_record(
                s, who, ins=ins, name=body.name, phone=body.phone, email=body.email, now=now
            )
        except IntegrityError:  # the same INS opened at the same moment elsewhere
            raise ApiError(
                409,
                "record_exists",
                field="ins",
                message="A record already exists for this INS: the patient logs in to it.",
            ) from None
        record = opened.record
        if keyed.row is not None:
            keyed.row.record_id = record.id
        answer = RecordOpened(
            ins=ins,
            name=record.display_name,
            password=opened.password,
            activation_expires_at=now + activation.TTL,
        )
        return keyed.store(
            Response(answer.model_dump_json(), status_code=201, media_type="application/json")
        )


def _too_large() -> ApiError:
    return ApiError(413, "too_large", field="content", message="A document is at most 10 MB.")


_JSON = ("json", "+json")


async def deposit_body(request: Request) -> DepositRequest:
    """Dependency: the deposit's body, read only once the credential is recognised (a stranger
    gets 401 without the host reading, let alone parsing, up to 13 MB), then parsed and
    checked as FastAPI would (the same 422s), a content over 10 MB answered 413."""
    await run_in_threadpool(_recognised, request)
    try:
        raw = await request.body()
    except ClientDisconnect:  # over the body limit: BodyLimit has answered 413 already
        raise _too_large() from None
    kind = request.headers.get("content-type", "application/json").split(";")[0].strip().lower()
    if not kind.startswith("application/") or not kind.endswith(_JSON):
        raise RequestValidationError(
            [
                {
                    "type": "model_attributes_type",
                    "loc": ("body",),
                    "msg": "The body must be JSON (Content-Type: application/json).",
                    "input": None,
                }
            ]
        )
    try:
        # As FastAPI reads a body: the standard JSON parser, then the model (the same errors).
        parsed = json.loads(raw)
    except ValueError as e:  # not JSON, or not UTF-8
        raise RequestValidationError(
            [{"type": "json_invalid", "loc": ("body",), "msg": "The body is not valid JSON."}]
        ) from e
    try:
        return DepositRequest.model_validate(parsed)
    except ValidationError as e:
        errors = e.errors(include_url=False, include_input=False, include_context=False)
        for err in errors:
            if err["type"] in ("string_too_long", "too_long") and err["loc"][:1] in (
                ("content",),
                ("content_base64",),
            ):
                raise _too_large() from None
        raise RequestValidationError(
            [{**err, "loc": ("body", *err["loc"])} for err in errors]
        ) from None


@router.post(
    "/records/{ins}/documents",
    response_model=DocumentOut,
    status_code=201,
    responses=REFUSALS,
    description="Accepts an Idempotency-Key (scoped to the credential): a retried deposit is "
    "stored once and answered the same.",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": "#/components/schemas/DepositRequest"}}
            },
        }
    },
)
def deposit(ins: str, request: Request, body: DepositRequest = Depends(deposit_body)) -> Response:
    ins = ins_param(ins)
    if (body.content is None) == (body.content_base64 is None):
        raise ApiError(
            422,
            "invalid_input",
            field="content",
            message="Give exactly one of `content` (text) or `content_base64`.",
        )
    if Label.MASQUE_PS in body.labels:
        raise ApiError(
            422, "invalid_input", field="labels", message="MASQUE_PS is set by the patient only."
        )
    if body.content is not None:
        if body.content_type != "text/plain":
            raise ApiError(
                422,
                "invalid_input",
                field="content_type",
                message="Text content must be text/plain; send a PDF as base64.",
            )
        data = body.content.encode("utf-8")
    else:
        try:
            data = base64.b64decode(body.content_base64 or "", validate=True)
        except (binascii.Error, ValueError) as e:
            raise ApiError(
                422, "invalid_input", field="content_base64", message="Not valid base64."
            ) from e
        if body.content_type == "application/pdf" and not data.startswith(b"%PDF-"):
            raise ApiError(
                422, "invalid_input", field="content_base64", message="This is not a PDF file."
            )
        if body.content_type in ("text/plain", LEGACY_TEXT):
            # Text sent as base64 obeys the rule of text sent as text: UTF-8 (or the declared
            # Windows-1252, kept as sent), no control character (else the base64 door would
            # let escape sequences in).
            encoding = "cp1252" if body.content_type == LEGACY_TEXT else "utf-8"
            try:
                check_text(data.decode(encoding))
            except UnicodeDecodeError:
                raise ApiError(
                    422,
                    "invalid_input",
                    field="content_base64",
                    message="Text must be UTF-8, or Windows-1252 as its content type says.",
                ) from None
            except ValueError as e:
                raise ApiError(
                    422,
                    "invalid_input",
                    field="content_base64",
                    reason="value_error",
                    message=str(e) + ".",
                ) from None
    if len(data) > MAX_BODY_BYTES:
        raise _too_large()
    host = host_of(request)
    with host.tx() as s:
        record, who, facts, actor, now = _open(
            s, request, ins, "document.deposit", Mode.NORMAL, None
        )
        keyed = concurrency.keyed(s, request, f"ps:{who.rpps}", now, body, record_id=record.id)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            return keyed.store(_deposit(s, body, data, record, who, facts, actor, now))


def _deposit(
    s: Session,
    body: DepositRequest,
    data: bytes,
    record: Record,
    who: Practitioner,
    facts: policy.RecordFacts,
    actor: ledger.Actor,
    now: datetime,
) -> Response:
    decision = policy.may_deposit(facts, practitioner_facts(who), body.type.value)
    if not decision:
        ledger.append(
            s,
            record.id,
            actor,
            "document.deposit",
            now=now,
            allowed=False,
            reason=decision.reason,
        )
        raise Refused(
            403, "forbidden", reason=decision.reason, message=_MESSAGES.get(decision.reason, "")
        )
    labels = frozenset(label.value for label in body.labels)
    doc_id = uuid.uuid4().hex
    doc_key, wrapped = crypto.new_document_key(s, record.id, doc_id, now)
    doc = Document(
        id=doc_id,
        record_id=record.id,
        type=body.type.value,
        title_sealed=crypto.seal_title(doc_key, record.id, doc_id, body.title),
        wrapped_key=wrapped,
        author_rpps=who.rpps,
        facility=who.facility,
        care_date=(
            datetime(body.care_date.year, body.care_date.month, body.care_date.day, tzinfo=UTC)
            if body.care_date
            else None
        ),
        deposited_at=now,
        content_type=body.content_type,
        size=len(data),
        body=DocumentBody(data=crypto.seal_content(doc_key, record.id, doc_id, data)),
        labels=sorted(labels),
        notice_sent=False,
        patient_visible_from=now,
    )
    doc.patient_visible_from = (
        policy.reveal_at(document_facts(doc)) if Label.INVISIBLE_PATIENT in labels else now
    )
    s.add(doc)
    s.flush()
    ledger.append(
        s, record.id, actor, "document.deposit", now=now, allowed=True, document_id=doc.id
    )
    if Label.INVISIBLE_PATIENT not in labels:
        notifications.new_document(s, record, who, doc.type, doc.id, now)
    out = _practitioner_view(doc, body.title, who, facts, who, now)
    return concurrency.json_answer(out, status=201)


def _practitioner_view(
    doc: Document,
    title: str,
    author: Practitioner,
    facts: policy.RecordFacts,
    who: Practitioner,
    now: datetime,
) -> DocumentOut:
    d = document_facts(doc)
    labels = d.labels
    if not policy.sees_masked(facts, practitioner_facts(who), d):
        labels = labels - {Label.MASQUE_PS}  # not told that something is masked
    warning = "invisible_to_patient" if policy.invisible_to_patient(d, now) else None
    return document_out(doc, title, author, labels, warning)


@router.get("/records/{ins}/documents", response_model=DocumentPage, responses=REFUSALS)
def list_documents(
    ins: str,
    request: Request,
    mode: Mode = ModeQ,
    reason: str | None = ReasonQ,
    limit: int = Query(50, ge=1, le=200),
    cursor: str | None = None,
) -> DocumentPage:
    ins = ins_param(ins)
    host = host_of(request)
    with host.tx() as s:
        record, who, facts, actor, now = _open(s, request, ins, "documents.list", mode, reason)
        ledger.append(
            s,
            record.id,
            actor,
            "documents.list",
            now=now,
            allowed=True,
            mode=mode.value,
            free_reason=_trace_reason(mode, reason),
        )
        _emergency(s, record, who, mode, reason, now)
        pf = practitioner_facts(who)
        stmt = select(Document).where(Document.record_id == record.id)
        if cursor:
            moment, last_id = decode_cursor(cursor, "moment", "id")
            stmt = stmt.where(
                (Document.deposited_at < moment)
                | ((Document.deposited_at == moment) & (Document.id < last_id))
            )
        stmt = stmt.order_by(Document.deposited_at.desc(), Document.id.desc())
        page: list[Document] = []
        last_seen: Document | None = None
        more = False
        # Masked and out-of-profession documents are filtered here, by policy.py; read in
        # batches until the page is full.
        for doc in s.scalars(stmt.execution_options(yield_per=limit * 2)):
            if len(page) == limit:
                more = True
                break
            last_seen = doc
            if policy.practitioner_may_read(facts, pf, document_facts(doc), mode):
                page.append(doc)
        authors = practitioners_by_rpps(s, {d.author_rpps for d in page})
        items = [
            _practitioner_view(
                d, crypto.document_title(s, d), authors[d.author_rpps], facts, who, now
            )
            for d in page
        ]
        nxt = (
            encode_cursor(last_seen.deposited_at.isoformat(), last_seen.id)
            if more and last_seen
            else None
        )
        return DocumentPage(items=items, next_cursor=nxt)


@router.get(
    "/records/{ins}/documents/{doc_id}", response_model=DocumentContent, responses=DOCUMENT_REFUSALS
)
def read_document(
    ins: str, doc_id: str, request: Request, mode: Mode = ModeQ, reason: str | None = ReasonQ
) -> DocumentContent:
    ins = ins_param(ins)
    doc_id = doc_id[:32]
    host = host_of(request)
    with host.tx() as s:
        record, who, facts, actor, now = _open(
            s, request, ins, "document.read", mode, reason, doc_id
        )
        doc = s.get(Document, doc_id)
        decision = (
            policy.practitioner_may_read(facts, practitioner_facts(who), document_facts(doc), mode)
            if doc is not None and doc.record_id == record.id
            else policy.deny("not_found")
        )
        if not decision:
            ledger.append(
                s,
                record.id,
                actor,
                "document.read",
                now=now,
                allowed=False,
                reason=decision.reason,
                document_id=doc_id,
                mode=mode.value,
            )
            # Masked documents, and documents of a type this profession may not read, answer
            # exactly like missing ones: an id says nothing about what is behind it (the trace
            # keeps the real reason). The list never shows either.
            if decision.reason in ("not_found", "profession_matrix"):
                raise Refused(404, "not_found", message=NOT_FOUND_DOCUMENT)
            raise _refuse(facts, who, decision)
        assert doc is not None
        ledger.append(
            s,
            record.id,
            actor,
            "document.read",
            now=now,
            allowed=True,
            document_id=doc.id,
            mode=mode.value,
            free_reason=_trace_reason(mode, reason),
        )
        _emergency(s, record, who, mode, reason, now)
        author = s.get(Practitioner, doc.author_rpps)
        assert author is not None
        out = _practitioner_view(doc, crypto.document_title(s, doc), author, facts, who, now)
        data = crypto.document_content(s, doc)
        if doc.content_type == "text/plain":
            return DocumentContent(document=out, content=data.decode("utf-8"))
        return DocumentContent(document=out, content_base64=base64.b64encode(data).decode())


@router.get("/records/{ins}/notes", response_model=NotesOut, responses=REFUSALS)
def read_notes(
    ins: str, request: Request, mode: Mode = ModeQ, reason: str | None = ReasonQ
) -> NotesOut:
    """The patient's personal space (advance directives, people to contact, allergies)."""
    ins = ins_param(ins)
    host = host_of(request)
    with host.tx() as s:
        record, who, _facts, actor, now = _open(s, request, ins, "notes.read", mode, reason)
        ledger.append(
            s,
            record.id,
            actor,
            "notes.read",
            now=now,
            allowed=True,
            mode=mode.value,
            free_reason=_trace_reason(mode, reason),
        )
        _emergency(s, record, who, mode, reason, now)
        return NotesOut(
            text=crypto.open_notes(s, record.id, record.notes), updated_at=record.notes_updated_at
        )
