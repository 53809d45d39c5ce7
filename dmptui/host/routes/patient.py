"""The patient's API: their record, documents, practitioners, trace, oppositions, life of the
record, personal space and notifications. Each handler is one transaction: authenticate, ask
policy.py, read or write, append exactly one trace entry."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

import pydantic_core
from fastapi import APIRouter, Body, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, String, Text, bindparam, cast, func, or_, select, type_coerce
from sqlalchemy.orm import Session

from dmptui.host import concurrency, crypto, export, ledger, lifecycle, notifications, policy
from dmptui.host.concurrency import Keyed, json_answer
from dmptui.host.context import ApiError, Refused, forbidden
from dmptui.host.db import (
    Authorisation,
    Block,
    Document,
    Notification,
    Practitioner,
    Record,
    TraceEntry,
    table,
)
from dmptui.host.routes.common import (
    IsoDatetime,
    PatientCall,
    decode_cursor,
    document_facts,
    document_out,
    encode_cursor,
    host_of,
    patient_call,
    patient_keyed,
    patient_present,
    practitioner_facts,
    practitioner_out,
    practitioners_by_rpps,
    record_facts,
    rpps_param,
    utc_day_json,
    utc_moment,
    utc_moment_json,
)
from dmptui.host.routes.ledger import signing_key_or_503
from dmptui.schema import (
    AttendingChange,
    AuthorisationRequest,
    DirectoryEntry,
    DirectoryPage,
    DocType,
    DocumentOut,
    DocumentPage,
    ErrorBody,
    Label,
    LifecycleDone,
    Mode,
    NotesIn,
    NotesOut,
    NotificationOut,
    NotificationPage,
    Oppositions,
    PractitionerLink,
    PractitionersOut,
    RecordOut,
    RecordStatus,
    TraceEntryOut,
    TracePage,
)

router = APIRouter(prefix="/v1", tags=["patient"], dependencies=[Depends(patient_present)])

Limit = Query(50, ge=1, le=200)


def _trace(
    s: Session,
    call: PatientCall,
    action: str,
    now: datetime,
    *,
    document_id: str | None = None,
    allowed: bool = True,
    reason: str | None = None,
) -> None:
    call.trace_size = ledger.append(
        s,
        call.record_id,
        call.actor,
        action,
        now=now,
        allowed=allowed,
        reason=reason,
        document_id=document_id,
        size_seen=call.trace_size,
    )


CONDITIONAL: dict[int | str, dict[str, Any]] = {
    412: {
        "model": ErrorBody,
        "description": "Stale: the resource changed since the ETag in If-Match (error `stale`); "
        "nothing was changed. The answer's ETag is the current one: reload, then decide again.",
    },
    428: {
        "model": ErrorBody,
        "description": "If-Match is missing or `*` (error `precondition_required`), or is not "
        "one strong ETag as the host sent it (the same error, reason `malformed`).",
    },
}


_keyed = patient_keyed


def _guard(
    s: Session, request: Request, call: PatientCall, action: str, now: datetime, kind: str
) -> Record:
    """Lock the record and check If-Match against ``kind``'s version; a missing or stale one
    is a refused change: traced (denied, reason ``precondition_required``, ``malformed`` or
    ``stale``), kept,
    answered 428 or 412."""
    record = concurrency.lock_record(s, call.record_id)
    current = concurrency.record_etag(record, kind)
    reason = concurrency.precondition(request, current)
    if reason:
        _trace(s, call, action, now, allowed=False, reason=reason)
        raise concurrency.refusal(reason, current)
    return record


# --- record --------------------------------------------------------------------------------


@router.get("/record", response_model=RecordOut)
def get_record(request: Request, response: Response) -> RecordOut:
    """The record's summary. ``ETag``: the record's status (close, reactivate, erase);
    ``etags`` in the body: the status's and the oppositions'."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "record.status")
        r = call.record
        _trace(s, call, "record.read", now)
        closed = r.status == RecordStatus.CLOSED
        counts: dict[str, int] = {}
        unread = 0
        attending = None
        if not closed:
            visible = (
                select(func.count())
                .select_from(Document)
                .where(Document.record_id == r.id, Document.patient_visible_from <= now)
            )
            docs = s.scalar(visible) or 0
            counts = {
                "documents": docs,
                "authorised": s.scalar(
                    select(func.count())
                    .select_from(Authorisation)
                    .where(Authorisation.record_id == r.id)
                )
                or 0,
                "blocked": s.scalar(
                    select(func.count()).select_from(Block).where(Block.record_id == r.id)
                )
                or 0,
            }
            unread = (
                s.scalar(
                    select(func.count())
                    .select_from(Notification)
                    .where(Notification.record_id == r.id, Notification.read_at.is_(None))
                )
                or 0
            )
            if r.attending_rpps:
                p = s.get(Practitioner, r.attending_rpps)
                attending = practitioner_out(p) if p else None
        return RecordOut(
            ins=r.ins,
            status=RecordStatus(r.status),
            closed_at=r.closed_at,
            purge_after=policy.purge_after(r.closed_at) if r.closed_at else None,
            attending=attending,
            oppositions=Oppositions(
                break_glass=r.refuses_break_glass, regulation=r.refuses_regulation
            ),
            counts=counts,
            unread_notifications=unread,
            etags=_record_etags(r, response),
        )


def _record_etags(r: Record, response: Response) -> dict[str, str]:
    response.headers["ETag"] = concurrency.record_etag(r, "status")
    return {
        "status": concurrency.record_etag(r, "status"),
        "oppositions": concurrency.record_etag(r, "oppositions"),
    }


# --- documents -----------------------------------------------------------------------------


def _patient_document(
    s: Session, call: PatientCall, doc_id: str, action: str, now: datetime
) -> Document:
    doc = s.get(Document, doc_id)
    if (
        doc is None
        or doc.record_id != call.record_id
        or not policy.patient_sees(document_facts(doc), now)
    ):
        _trace(s, call, action, now, document_id=doc_id[:32], allowed=False, reason="not_found")
        raise Refused(404, "not_found", message="No such document in your record.")
    return doc


def _patient_view(s: Session, doc: Document, now: datetime) -> DocumentOut:
    author = s.get(Practitioner, doc.author_rpps)
    assert author is not None
    title = crypto.document_title(s, doc)
    out = document_out(doc, title, author, policy.patient_labels(document_facts(doc), now))
    out.etag = concurrency.document_etag(doc.id, doc.version)
    return out


@router.get("/record/documents", response_model=DocumentPage)
def list_documents(
    request: Request,
    limit: int = Limit,
    cursor: str | None = None,
    type: DocType | None = None,
    q: str | None = Query(None, max_length=200),
) -> Response:
    """The hottest read of the API, kept lean: the session check, the trace entry and the page
    are Core statements built once, run on the request's one connection; the page's rows are
    plain tuples (no ORM entities); the answer is validated and serialised once."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "documents.list")
        _trace(s, call, "documents.list", now)
        rid = call.record_id
        params: dict[str, Any] = {"rid": rid, "now": now}
        if type is not None:
            params["type"] = type.value
        if cursor:
            params["at"], params["last_id"] = decode_cursor(cursor, "moment", "id")
        needle = q.casefold() if q else None
        # Titles are sealed: a search decrypts then filters here, within the record, reading
        # the record's documents in order until the page is full and one more match is seen.
        # Without a search a page is `limit` rows, as before.
        stmt = _page_query(type is not None, bool(cursor), needle is None)
        if needle is None:
            params["limit"] = limit + 1
        else:
            stmt = stmt.execution_options(yield_per=4 * limit)
        result = s.connection().execute(stmt, params)
        rows = result if needle is not None else result.all()
        open_title = crypto.title_opener(s, rid)
        items: list[dict[str, Any]] = []
        nxt = None
        scanned = 0
        last: Any = None
        for r in rows:
            if needle is None and scanned == limit:
                nxt = _cursor_after(last)
                break
            scanned += 1
            (doc_id, doc_type, sealed, wrapped, author, facility, care_date, at, content_type,
             size, raw_labels, version, name, profession, author_facility) = r  # fmt: skip
            # Policy decides (the SQL filter only pages); the deposit time is parsed only if a
            # label makes it matter.
            shown = policy.patient_list_labels(
                doc_type, author, _labels(raw_labels), functools.partial(utc_moment, at), now
            )
            if shown is None:
                last = r
                continue
            title = open_title(doc_id, wrapped, sealed)
            if needle is not None and needle not in title.casefold():
                continue
            if needle is not None and len(items) == limit:
                nxt = _cursor_after(last)
                break
            # DocumentOut's fields in its order, as pydantic would write them (a test compares).
            items.append(
                {
                    "id": doc_id,
                    "type": doc_type,
                    "title": title,
                    "author": {
                        "rpps": author,
                        "name": name,
                        "profession": profession,
                        "facility": author_facility,
                    },
                    "facility": facility,
                    "care_date": utc_day_json(care_date),
                    "deposited_at": utc_moment_json(at),
                    "content_type": content_type,
                    "size": size,
                    "labels": sorted(shown),
                    "warning": None,
                    "etag": concurrency.document_etag(doc_id, version),
                }
            )
            last = r
        # Plain data written once as JSON; tests check it is what DocumentPage would write.
        body = {"items": items, "next_cursor": nxt}
        return Response(pydantic_core.to_json(body), media_type="application/json")


def _cursor_after(row: Any) -> str:
    return encode_cursor(utc_moment(row[_AT]).isoformat(), row[_ID])


_DOCS = table(Document)
_AUTHORS = table(Practitioner)
# Selected columns, in the order list_documents unpacks them. Times as the driver gives them
# (text on SQLite, a naive UTC datetime on PostgreSQL), written straight to JSON
# (utc_moment_json). Labels as text on both (PostgreSQL's driver would parse each row's JSON):
# read through _labels' cache, parsed once per distinct value.
_PAGE_COLUMNS = (
    _DOCS.c.id,
    _DOCS.c.type,
    _DOCS.c.title_sealed,
    _DOCS.c.wrapped_key,
    _DOCS.c.author_rpps,
    _DOCS.c.facility,
    type_coerce(_DOCS.c.care_date, String).label("care_date"),
    type_coerce(_DOCS.c.deposited_at, String).label("deposited_at"),
    _DOCS.c.content_type,
    _DOCS.c.size,
    cast(_DOCS.c.labels, Text).label("labels"),
    _DOCS.c.version,
    _AUTHORS.c.name,
    _AUTHORS.c.profession,
    _AUTHORS.c.facility,
)
_ID, _AT = 0, 7  # positions of id and deposited_at in a page row


@functools.cache
def _page_query(by_type: bool, after: bool, limited: bool) -> Select[Any]:
    """The page's statement for one combination of filters, built once."""
    stmt = (
        select(*_PAGE_COLUMNS)
        .select_from(_DOCS.join(_AUTHORS, _AUTHORS.c.rpps == _DOCS.c.author_rpps))
        .where(
            _DOCS.c.record_id == bindparam("rid"),
            _DOCS.c.patient_visible_from <= bindparam("now", type_=_DOCS.c.deposited_at.type),
        )
    )
    if by_type:
        stmt = stmt.where(_DOCS.c.type == bindparam("type"))
    if after:
        at = bindparam("at", type_=_DOCS.c.deposited_at.type)
        stmt = stmt.where(
            or_(
                _DOCS.c.deposited_at < at,
                (_DOCS.c.deposited_at == at) & (_DOCS.c.id < bindparam("last_id")),
            )
        )
    stmt = stmt.order_by(_DOCS.c.deposited_at.desc(), _DOCS.c.id.desc())
    return stmt.limit(bindparam("limit")) if limited else stmt


@functools.lru_cache(maxsize=256)
def _labels(raw: str | None) -> frozenset[str]:
    """A document's labels (stored JSON text, read as text) as a set, parsed once per distinct
    value: a record's documents share a handful of label sets."""
    return frozenset(json.loads(raw)) if raw is not None else frozenset()


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


@router.get("/record/documents/{doc_id}", response_model=DocumentOut)
def get_document(doc_id: str, request: Request, response: Response) -> DocumentOut:
    """One document's metadata. ``ETag``: its masking state (mask, unmask)."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "document.read", doc_id[:32])
        doc = _patient_document(s, call, doc_id, "document.read", now)
        _trace(s, call, "document.read", now, document_id=doc.id)
        out = _patient_view(s, doc, now)
        response.headers["ETag"] = out.etag or ""
        return out


@router.get(
    "/record/documents/{doc_id}/content",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}, "application/pdf": {}}}},
)
def get_content(doc_id: str, request: Request) -> Response:
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "document.download", doc_id[:32])
        doc = _patient_document(s, call, doc_id, "document.download", now)
        _trace(s, call, "document.download", now, document_id=doc.id)
        media = (
            "text/plain; charset=utf-8" if doc.content_type == "text/plain" else doc.content_type
        )
        return Response(
            content=crypto.document_content(s, doc),
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="{doc.id}"',
                "X-Content-Type-Options": "nosniff",
            },
        )


def _set_mask(doc_id: str, request: Request, masked: bool) -> Response:
    host = host_of(request)
    action = "document.mask" if masked else "document.unmask"
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, action, doc_id[:32])
        keyed = _keyed(s, request, call, now)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            concurrency.lock_record(s, call.record_id)
            doc = _patient_document(s, call, doc_id, action, now)
            current = concurrency.document_etag(doc.id, doc.version)
            reason = concurrency.precondition(request, current)
            if reason:
                _trace(s, call, action, now, document_id=doc.id, allowed=False, reason=reason)
                raise concurrency.refusal(reason, current)
            labels = set(doc.labels)
            if masked:
                labels.add(Label.MASQUE_PS.value)
            else:
                labels.discard(Label.MASQUE_PS.value)  # other labels stay: labels combine
            doc.labels = sorted(labels)
            doc.version += 1
            _trace(s, call, action, now, document_id=doc.id)
            out = _patient_view(s, doc, now)
            return keyed.store(json_answer(out, tag=out.etag))


@router.post(
    "/record/documents/{doc_id}/mask",
    response_model=DocumentOut,
    responses=CONDITIONAL,
)
def mask(doc_id: str, request: Request) -> Response:
    """Needs If-Match: the document's ETag. Accepts an Idempotency-Key."""
    return _set_mask(doc_id, request, True)


@router.post(
    "/record/documents/{doc_id}/unmask",
    response_model=DocumentOut,
    responses=CONDITIONAL,
)
def unmask(doc_id: str, request: Request) -> Response:
    """Needs If-Match: the document's ETag. Accepts an Idempotency-Key."""
    return _set_mask(doc_id, request, False)


@router.delete("/record/documents/{doc_id}", status_code=204)
def delete_document(doc_id: str, request: Request) -> Response:
    """Accepts an Idempotency-Key (a retry gets the same 204, not a 404)."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "document.delete", doc_id[:32])
        keyed = _keyed(s, request, call, now)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            # The record's lock first, as every change of the record takes it: concurrent
            # deletes of one document run one after the other, and each one after the first
            # finds the document gone (404), so it is deleted and traced once.
            concurrency.lock_record(s, call.record_id)
            doc = _patient_document(s, call, doc_id, "document.delete", now)
            # The row holds the document's wrapped key: deleting it shreds title and content
            # (and the body row goes with it); the trace keeps the id, never the title.
            s.delete(doc)
            crypto.forget(s, doc.record_id, doc.id)
            _trace(s, call, "document.delete", now, document_id=doc.id)
            answer = keyed.store(Response(status_code=204))
    host.checkpoint()
    return answer


# --- practitioners -------------------------------------------------------------------------


def _practitioners(s: Session, record: Record) -> PractitionersOut:
    grants = s.scalars(
        select(Authorisation)
        .where(Authorisation.record_id == record.id)
        .order_by(Authorisation.since)
    ).all()
    blocks = s.scalars(
        select(Block).where(Block.record_id == record.id).order_by(Block.since)
    ).all()
    people = practitioners_by_rpps(
        s, {g.rpps for g in grants} | {b.rpps for b in blocks} | {record.attending_rpps or ""}
    )
    attending = people.get(record.attending_rpps or "")
    return PractitionersOut(
        attending=practitioner_out(attending) if attending else None,
        authorised=[
            PractitionerLink(
                practitioner=practitioner_out(people[g.rpps]),
                since=g.since,
                see_masked=g.see_masked,
            )
            for g in grants
        ],
        blocked=[
            PractitionerLink(practitioner=practitioner_out(people[b.rpps]), since=b.since)
            for b in blocks
        ],
    )


@router.get("/record/practitioners", response_model=PractitionersOut)
def list_practitioners(request: Request, response: Response) -> PractitionersOut:
    """``ETag``: the practitioners set (authorisations, blocks, médecin traitant)."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "practitioners.list")
        _trace(s, call, "practitioners.list", now)
        response.headers["ETag"] = concurrency.record_etag(call.record, "practitioners")
        return _practitioners(s, call.record)


@router.get("/directory", response_model=DirectoryPage)
def directory(
    request: Request,
    q: str = Query(min_length=2, max_length=100),
    limit: int = Query(20, ge=1, le=100),
) -> DirectoryPage:
    """Search practitioners by name or RPPS (a directory read, not a read of the record)."""
    host = host_of(request)
    with host.tx() as s:
        patient_call(s, request, "directory.search")
        term = q.strip()
        stmt = select(Practitioner)
        if term.isdigit():
            stmt = stmt.where(Practitioner.rpps.startswith(term))
        else:
            stmt = stmt.where(Practitioner.name.ilike(f"%{_like_escape(term)}%", escape="\\"))
        rows = s.scalars(stmt.order_by(Practitioner.name).limit(limit)).all()
        return DirectoryPage(
            items=[
                DirectoryEntry(
                    **practitioner_out(p).model_dump(),
                    may_access=p.profession not in policy.NEVER_ACCESS,
                )
                for p in rows
            ]
        )


def _target(s: Session, call: PatientCall, rpps: str, action: str, now: datetime) -> Practitioner:
    p = s.get(Practitioner, rpps)
    if p is None:
        _trace(s, call, action, now, allowed=False, reason="unknown_practitioner")
        raise Refused(
            404,
            "not_found",
            field="rpps",
            message="No practitioner with this RPPS in the directory.",
        )
    return p


def _refuse(
    s: Session, call: PatientCall, action: str, now: datetime, reason: str, message: str
) -> Refused:
    _trace(s, call, action, now, allowed=False, reason=reason)
    return forbidden(reason, message)


def _change_practitioners(
    request: Request,
    action: str,
    apply: Callable[[Session, PatientCall, datetime], None],
    body: Any = None,
) -> Response:
    """One change of the practitioners set (authorisations, blocks, médecin traitant): keyed,
    conditional on the set's ETag, traced once; answers the new set and its ETag."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, action)
        keyed = _keyed(s, request, call, now, body)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            record = _guard(s, request, call, action, now, "practitioners")
            apply(s, call, now)
            tag = concurrency.bump(record, "practitioners")
            s.flush()
            return keyed.store(json_answer(_practitioners(s, record), tag=tag))


_NEEDS_PRACTITIONERS_ETAG = "Needs If-Match: the ETag of GET /v1/record/practitioners. "
_ACCEPTS_KEY = "Accepts an Idempotency-Key."


@router.put(
    "/record/authorisations/{rpps}",
    response_model=PractitionersOut,
    description=_NEEDS_PRACTITIONERS_ETAG + _ACCEPTS_KEY,
    responses=CONDITIONAL,
)
def authorise(
    rpps: str, request: Request, body: AuthorisationRequest | None = Body(None)
) -> Response:
    rpps = rpps_param(rpps)
    wanted = body or AuthorisationRequest()

    def apply(s: Session, call: PatientCall, now: datetime) -> None:
        p = _target(s, call, rpps, "authorisation.grant", now)
        decision = policy.may_authorise(record_facts(s, call.record), practitioner_facts(p))
        if not decision:
            raise _refuse(
                s,
                call,
                "authorisation.grant",
                now,
                decision.reason,
                "This practitioner cannot be given access.",
            )
        grant = s.get(Authorisation, (call.record_id, rpps))
        if grant is None:
            s.add(
                Authorisation(
                    record_id=call.record_id, rpps=rpps, since=now, see_masked=wanted.see_masked
                )
            )
            notifications.authorisation(s, call.record, p, now)
        else:
            grant.see_masked = wanted.see_masked
        ledger.append(
            s,
            call.record_id,
            call.actor,
            "authorisation.grant",
            now=now,
            allowed=True,
            reason="see_masked" if wanted.see_masked else None,
        )

    return _change_practitioners(request, "authorisation.grant", apply, wanted)


@router.delete(
    "/record/authorisations/{rpps}",
    response_model=PractitionersOut,
    description=_NEEDS_PRACTITIONERS_ETAG + _ACCEPTS_KEY,
    responses=CONDITIONAL,
)
def revoke(rpps: str, request: Request) -> Response:
    rpps = rpps_param(rpps)

    def apply(s: Session, call: PatientCall, now: datetime) -> None:
        grant = s.get(Authorisation, (call.record_id, rpps))
        if grant is None:
            _trace(s, call, "authorisation.revoke", now, allowed=False, reason="not_authorised")
            raise Refused(
                404,
                "not_found",
                field="rpps",
                message="This practitioner has no authorisation to remove.",
            )
        s.delete(grant)
        _trace(s, call, "authorisation.revoke", now, reason=f"rpps:{rpps}")

    return _change_practitioners(request, "authorisation.revoke", apply)


@router.put(
    "/record/blocks/{rpps}",
    response_model=PractitionersOut,
    description=_NEEDS_PRACTITIONERS_ETAG + _ACCEPTS_KEY,
    responses=CONDITIONAL,
)
def block(rpps: str, request: Request) -> Response:
    rpps = rpps_param(rpps)

    def apply(s: Session, call: PatientCall, now: datetime) -> None:
        _target(s, call, rpps, "block", now)
        decision = policy.may_block(record_facts(s, call.record), rpps)
        if not decision:
            raise _refuse(
                s,
                call,
                "block",
                now,
                decision.reason,
                "Your médecin traitant cannot be blocked. Choose another médecin traitant first.",
            )
        if s.get(Block, (call.record_id, rpps)) is None:
            s.add(Block(record_id=call.record_id, rpps=rpps, since=now))
        grant = s.get(Authorisation, (call.record_id, rpps))
        if grant is not None:
            s.delete(grant)  # a block ends any authorisation
        _trace(s, call, "block", now, reason=f"rpps:{rpps}")

    return _change_practitioners(request, "block", apply)


@router.delete(
    "/record/blocks/{rpps}",
    response_model=PractitionersOut,
    description=_NEEDS_PRACTITIONERS_ETAG + _ACCEPTS_KEY,
    responses=CONDITIONAL,
)
def unblock(rpps: str, request: Request) -> Response:
    rpps = rpps_param(rpps)

    def apply(s: Session, call: PatientCall, now: datetime) -> None:
        row = s.get(Block, (call.record_id, rpps))
        if row is None:
            _trace(s, call, "unblock", now, allowed=False, reason="not_blocked")
            raise Refused(
                404, "not_found", field="rpps", message="This practitioner is not blocked."
            )
        s.delete(row)
        _trace(s, call, "unblock", now, reason=f"rpps:{rpps}")

    return _change_practitioners(request, "unblock", apply)


def _previous_attending(
    s: Session, call: PatientCall, now: datetime, new: str | None, keeps_access: bool
) -> str:
    """Apply ``policy.previous_attending_access`` to the former médecin traitant (an ordinary
    authorisation given, and notified, or theirs removed); the trace reason's part about them
    (``;previous:<rpps>=<code>``), or "" when there was none."""
    previous = call.record.attending_rpps
    what = policy.previous_attending_access(record_facts(s, call.record), new, keeps_access)
    if previous is None or what == policy.PREVIOUS_NONE:
        return ""
    grant = s.get(Authorisation, (call.record_id, previous))
    if what == policy.PREVIOUS_GRANTED and grant is None:
        s.add(Authorisation(record_id=call.record_id, rpps=previous, since=now, see_masked=False))
        p = s.get(Practitioner, previous)
        if p is not None:
            notifications.authorisation(s, call.record, p, now)
    elif what == policy.PREVIOUS_REMOVED and grant is not None:
        s.delete(grant)
    return f";previous:{previous}={what}"


@router.put(
    "/record/attending/{rpps}",
    response_model=PractitionersOut,
    description=_NEEDS_PRACTITIONERS_ETAG
    + _ACCEPTS_KEY
    + " Body (optional): whether the former médecin traitant keeps ordinary access (default).",
    responses=CONDITIONAL,
)
def designate_attending(
    rpps: str, request: Request, body: AttendingChange | None = Body(None)
) -> Response:
    rpps = rpps_param(rpps)
    wanted = body or AttendingChange()

    def apply(s: Session, call: PatientCall, now: datetime) -> None:
        p = _target(s, call, rpps, "attending.designate", now)
        decision = policy.may_designate_attending(
            record_facts(s, call.record), practitioner_facts(p)
        )
        if not decision:
            raise _refuse(
                s,
                call,
                "attending.designate",
                now,
                decision.reason,
                "This practitioner cannot be your médecin traitant.",
            )
        previous = _previous_attending(s, call, now, rpps, wanted.previous_keeps_access)
        call.record.attending_rpps = rpps
        _trace(s, call, "attending.designate", now, reason=f"rpps:{rpps}{previous}")

    return _change_practitioners(request, "attending.designate", apply, wanted)


@router.delete(
    "/record/attending",
    response_model=PractitionersOut,
    description=_NEEDS_PRACTITIONERS_ETAG
    + _ACCEPTS_KEY
    + " Body (optional): whether the former médecin traitant keeps ordinary access (default).",
    responses=CONDITIONAL,
)
def clear_attending(request: Request, body: AttendingChange | None = Body(None)) -> Response:
    wanted = body or AttendingChange()

    def apply(s: Session, call: PatientCall, now: datetime) -> None:
        previous = _previous_attending(s, call, now, None, wanted.previous_keeps_access)
        call.record.attending_rpps = None
        _trace(s, call, "attending.clear", now, reason=previous.removeprefix(";") or None)

    return _change_practitioners(request, "attending.clear", apply, wanted)


# --- trace ---------------------------------------------------------------------------------


def trace_out(s: Session, e: TraceEntry) -> TraceEntryOut:
    reason = e.reason
    if e.reason_sealed is not None:  # a practitioner's own words, sealed under the record key
        reason = crypto.open_reason(s, e.record_id, e.seq, e.reason_sealed)
    return TraceEntryOut(
        seq=e.seq,
        at=e.at,
        actor_role=e.actor_role,
        actor_name=e.actor_name,
        actor_rpps=e.actor_rpps,
        actor_profession=e.actor_profession,
        actor_facility=e.actor_facility,
        action=e.action,
        document_id=e.document_id,
        mode=e.mode,
        outcome=e.outcome,  # type: ignore[arg-type]  # a str column; the model checks it
        reason=reason,
    )


@router.get("/record/trace", response_model=TracePage)
def trace(
    request: Request,
    limit: int = Limit,
    cursor: str | None = None,
    actor: str | None = Query(None, max_length=200, description="an RPPS, or part of a name"),
    mode: Mode | None = None,
    since: IsoDatetime | None = None,
    until: IsoDatetime | None = None,
) -> TracePage:
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "trace.read")
        _trace(s, call, "trace.read", now)
        # Entries about a document the patient may not see yet (INVISIBLE_PATIENT, before its
        # reveal) wait with it: who deposited or read it would tell what it is about.
        hidden = select(Document.id).where(
            Document.record_id == call.record_id, Document.patient_visible_from > now
        )
        stmt = select(TraceEntry).where(
            TraceEntry.record_id == call.record_id,
            or_(TraceEntry.document_id.is_(None), TraceEntry.document_id.not_in(hidden)),
        )
        if actor:
            if actor.isdigit():
                stmt = stmt.where(TraceEntry.actor_rpps == actor)
            else:
                stmt = stmt.where(
                    TraceEntry.actor_name.ilike(f"%{_like_escape(actor)}%", escape="\\")
                )
        if mode is not None:
            stmt = stmt.where(TraceEntry.mode == mode.value)
        for bound, op in ((since, "ge"), (until, "lt")):
            if bound is not None:
                if bound.tzinfo is None:
                    raise ApiError(
                        422,
                        "invalid_input",
                        field="since" if op == "ge" else "until",
                        message="Give a time zone, e.g. 2026-01-31T00:00:00Z.",
                    )
                stmt = stmt.where(TraceEntry.at >= bound if op == "ge" else TraceEntry.at < bound)
        if cursor:
            (last_seq,) = decode_cursor(cursor, "seq")
            stmt = stmt.where(TraceEntry.seq < last_seq)
        rows = s.scalars(stmt.order_by(TraceEntry.seq.desc()).limit(limit + 1)).all()
        nxt = encode_cursor(rows[limit - 1].seq) if len(rows) > limit else None
        return TracePage(items=[trace_out(s, e) for e in rows[:limit]], next_cursor=nxt)


# --- oppositions, life of the record -------------------------------------------------------


@router.get("/record/oppositions", response_model=Oppositions)
def get_oppositions(request: Request, response: Response) -> Oppositions:
    """The two emergency-access choices. ``ETag``: their version (PUT needs it in If-Match)."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "record.status")
        _trace(s, call, "oppositions.read", now)
        r = call.record
        response.headers["ETag"] = concurrency.record_etag(r, "oppositions")
        return Oppositions(break_glass=r.refuses_break_glass, regulation=r.refuses_regulation)


@router.put(
    "/record/oppositions",
    response_model=Oppositions,
    description="Needs a fresh step-up and If-Match: the oppositions' ETag (GET "
    "/v1/record/oppositions, or `etags.oppositions` of GET /v1/record). " + _ACCEPTS_KEY,
    responses=CONDITIONAL,
)
def set_oppositions(body: Oppositions, request: Request) -> Response:
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "oppositions")
        keyed = _keyed(s, request, call, now, body)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            r = _guard(s, request, call, "oppositions", now, "oppositions")
            r.refuses_break_glass = body.break_glass
            r.refuses_regulation = body.regulation
            tag = concurrency.bump(r, "oppositions")
            _trace(
                s,
                call,
                "oppositions",
                now,
                reason=f"break_glass={'refused' if body.break_glass else 'allowed'};"
                f"regulation={'refused' if body.regulation else 'allowed'}",
            )
            out = Oppositions(break_glass=r.refuses_break_glass, regulation=r.refuses_regulation)
            return keyed.store(json_answer(out, tag=tag))


_CLOSED_MSG = {
    "fr": "Votre dossier est fermé : plus personne ne peut y accéder. Il est conservé 10 ans, "
    "puis détruit. Vous pouvez le rouvrir à tout moment pendant ce délai.",
    "en": "Your record is closed: nobody can access it any more. It is kept for 10 years, then "
    "destroyed. You can reopen it at any time during those years.",
}


_STATUS_DOC = (
    "Needs a fresh step-up and If-Match: the record status's ETag (GET /v1/record). " + _ACCEPTS_KEY
)


def _lifecycle(
    request: Request,
    action: str,
    apply: Callable[[Session, PatientCall, datetime], None],
    done: LifecycleDone,
    *,
    keyed_ok: bool = True,
) -> Response:
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, action)
        # Erasing deletes the sessions (a retry cannot even authenticate) and every stored answer.
        keyed = _keyed(s, request, call, now) if keyed_ok else Keyed(s)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            record = _guard(s, request, call, action, now, "status")
            apply(s, call, now)
            answer = keyed.store(json_answer(done, tag=concurrency.record_etag(record, "status")))
    if action == "erase":  # no older copy in SQLite's WAL, no line in the file outbox
        host.erased([call.record_id])
    return answer


@router.post(
    "/record/close",
    response_model=LifecycleDone,
    description=_STATUS_DOC,
    responses=CONDITIONAL,
)
def close(request: Request) -> Response:
    def apply(s: Session, call: PatientCall, now: datetime) -> None:
        _trace(s, call, "close", now)
        lifecycle.close(s, call.record, now)

    return _lifecycle(
        request, "close", apply, LifecycleDone(status=RecordStatus.CLOSED, message=_CLOSED_MSG)
    )


@router.post(
    "/record/reactivate",
    response_model=LifecycleDone,
    description=_STATUS_DOC,
    responses=CONDITIONAL,
)
def reactivate(request: Request) -> Response:
    def apply(s: Session, call: PatientCall, now: datetime) -> None:
        lifecycle.reactivate(s, call.record)
        _trace(s, call, "reactivate", now)

    return _lifecycle(
        request,
        "reactivate",
        apply,
        LifecycleDone(
            status=RecordStatus.ACTIVE,
            message={
                "fr": "Votre dossier est rouvert : tout ce qu'il contenait est de nouveau là, avec "
                "les mêmes autorisations et blocages.",
                "en": "Your record is open again: everything it held is back, with the same "
                "authorisations and blocks.",
            },
        ),
    )


@router.post(
    "/record/erase",
    response_model=LifecycleDone,
    description=_STATUS_DOC,
    responses=CONDITIONAL,
)
def erase(request: Request) -> Response:
    def apply(s: Session, call: PatientCall, now: datetime) -> None:
        lifecycle.erase(s, call.record, call.actor, now)

    return _lifecycle(
        request,
        "erase",
        apply,
        keyed_ok=False,
        done=LifecycleDone(
            status=RecordStatus.ERASED,
            message={
                "fr": "Votre dossier est effacé définitivement : ses documents, notes et "
                "autorisations n'existent plus et ne peuvent pas être récupérés.",
                "en": "Your record is erased for good: its documents, notes and authorisations no "
                "longer exist and cannot be recovered.",
            },
        ),
    )


# --- export --------------------------------------------------------------------------------


@router.post(
    "/record/export",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/zip": {}}}},
    description="The whole record as a zip archive that can be checked offline "
    "(`dmptui verify-export`): a FHIR R4 Bundle, the originals, the trace's entries with their "
    "inclusion proofs, a signed checkpoint, the host's key chain and a signed manifest. Needs a "
    "fresh code (401 `step_up_required`); traced and notified. Streamed: the answer starts at "
    "once and holds one document at a time.",
)
def export_record(request: Request) -> Response:
    host = host_of(request)
    key = signing_key_or_503(host)  # before the trace entry: a replaced key answers 503 first
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "record.export")
        _trace(s, call, "record.export", now)
        notifications.exported(s, call.record, now)
        record_id = call.record_id
        estimate = export.estimate(s, record_id, call.trace_size)
    job = export.Export(host, record_id, now, key)
    return StreamingResponse(
        job.stream(),
        media_type="application/zip",
        headers={
            "Content-Disposition": 'attachment; filename="dmp-export.zip"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
            "X-Export-Estimate": str(estimate),
        },
    )


# --- personal space, notifications ---------------------------------------------------------


@router.get("/record/notes", response_model=NotesOut)
def get_notes(request: Request, response: Response) -> NotesOut:
    """``ETag``: the notes' version (PUT needs it in If-Match)."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "notes.read")
        _trace(s, call, "notes.read", now)
        r = call.record
        response.headers["ETag"] = concurrency.record_etag(r, "notes")
        return NotesOut(text=crypto.open_notes(s, r.id, r.notes), updated_at=r.notes_updated_at)


@router.put(
    "/record/notes",
    response_model=NotesOut,
    description="Needs If-Match: the ETag of GET /v1/record/notes. " + _ACCEPTS_KEY,
    responses=CONDITIONAL,
)
def put_notes(body: NotesIn, request: Request) -> Response:
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "notes.write")
        keyed = _keyed(s, request, call, now, body)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            r = _guard(s, request, call, "notes.write", now, "notes")
            r.notes = crypto.seal_notes(s, r.id, body.text, now)
            r.notes_updated_at = now
            tag = concurrency.bump(r, "notes")
            _trace(s, call, "notes.write", now)
            return keyed.store(json_answer(NotesOut(text=body.text, updated_at=now), tag=tag))


@router.get("/record/notifications", response_model=NotificationPage)
def list_notifications(
    request: Request, limit: int = Limit, cursor: str | None = None, unread: bool = False
) -> NotificationPage:
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "notifications.read")
        _trace(s, call, "notifications.read", now)
        stmt = select(Notification).where(Notification.record_id == call.record_id)
        if unread:
            stmt = stmt.where(Notification.read_at.is_(None))
        if cursor:
            (last_id,) = decode_cursor(cursor, "seq")
            stmt = stmt.where(Notification.id < last_id)
        rows = s.scalars(stmt.order_by(Notification.id.desc()).limit(limit + 1)).all()
        nxt = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
        return NotificationPage(
            items=[
                NotificationOut(
                    id=n.id,
                    kind=n.kind,
                    at=n.at,
                    emergency=n.emergency,
                    read=n.read_at is not None,
                    message=crypto.open_message(s, n.record_id, n.id, n.message_sealed),
                )
                for n in rows[:limit]
            ],
            next_cursor=nxt,
        )


@router.post("/record/notifications/read", status_code=204)
def mark_notifications_read(request: Request) -> Response:
    """Accepts an Idempotency-Key."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "notifications.ack")
        keyed = _keyed(s, request, call, now)
        if keyed.replay is not None:
            return keyed.replay
        for n in s.scalars(
            select(Notification).where(
                Notification.record_id == call.record_id, Notification.read_at.is_(None)
            )
        ):
            n.read_at = now
        _trace(s, call, "notifications.ack", now)
        return keyed.store(Response(status_code=204))
