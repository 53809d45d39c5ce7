"""Shared by the routes: who is calling (inside the request's transaction), facts for policy.py,
cursors, and the conversions from rows to the API's models."""

from __future__ import annotations

import base64
import functools
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Request, Response
from pydantic import BeforeValidator
from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from dmptui.host import auth, concurrency, ledger, policy
from dmptui.host.context import ApiError, Host, Refused
from dmptui.host.db import (
    Authorisation,
    AuthSession,
    Block,
    Document,
    Practitioner,
    Record,
    SupportAgent,
    table,
)
from dmptui.identifiers import IdentifierError, parse_ins, parse_rpps
from dmptui.schema import (
    PRACTITIONER_HEADER,
    SUPPORT_HEADER,
    DocumentOut,
    PractitionerOut,
    RecordStatus,
)


def host_of(request: Request) -> Host:
    return request.app.state.host


# --- identifiers in paths ------------------------------------------------------------------


def ins_param(raw: str) -> str:
    try:
        return parse_ins(raw).value
    except IdentifierError as e:
        raise ApiError(422, "invalid_input", field="ins", reason=e.code, message=e.expected) from e


def rpps_param(raw: str) -> str:
    try:
        return parse_rpps(raw)
    except IdentifierError as e:
        raise ApiError(422, "invalid_input", field="rpps", reason=e.code, message=e.expected) from e


# --- callers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionRef:
    """What the patient routes need of the caller's session row (no ORM object is loaded)."""

    id: int
    created_at: datetime
    fresh_until: datetime | None


@dataclass
class PatientCall:
    """The authenticated patient. The record's identity, status and trace size come from the
    one query that checks the session; the ORM ``record`` is loaded only by routes that ask
    for it (``call.record``: one more read, in the same transaction)."""

    s: Session
    record_id: int
    ins: str
    status: str
    trace_size: int  # read by the session check; moved by this request's own entries (_trace)
    session: SessionRef
    actor: ledger.Actor

    @functools.cached_property
    def record(self) -> Record:
        loaded = self.s.get(Record, self.record_id)
        assert loaded is not None  # its session row was just read, under the lock
        return loaded


def bearer(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise ApiError(
            401,
            "unauthenticated",
            message="Log in to get a bearer token.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return token.strip()


async def patient_present(request: Request) -> None:
    """Dependency: a patient route without a bearer token is refused (401) before its input is
    read, so a missing credential is never answered with an input error."""
    bearer(request)


async def practitioner_present(request: Request) -> None:
    """Dependency: the same for practitioner routes and the CPS credential header."""
    if not request.headers.get(PRACTITIONER_HEADER, ""):
        raise ApiError(
            401,
            "unauthenticated",
            field=PRACTITIONER_HEADER,
            message="A practitioner credential (CPS card) is required.",
        )


async def support_present(request: Request) -> None:
    """Dependency: the same for support routes and the support desk's credential header."""
    if not request.headers.get(SUPPORT_HEADER, ""):
        raise ApiError(
            401,
            "unauthenticated",
            field=SUPPORT_HEADER,
            message="A support desk credential is required.",
        )


async def known_query(request: Request) -> None:
    """Dependency (whole app): a query parameter the operation does not declare is refused, as
    unknown body fields are: a mistyped filter must not silently answer unfiltered."""
    if not request.query_params:
        return
    route = request.scope.get("route")
    declared = getattr(route, "_declared_query", None)
    if declared is None:
        dependant = getattr(route, "dependant", None)
        if dependant is None:
            return
        names: set[str] = set()
        todo = [dependant]
        while todo:
            d = todo.pop()
            names |= {p.alias for p in d.query_params}
            todo.extend(d.dependencies)
        declared = frozenset(names)
        route._declared_query = declared  # type: ignore[union-attr]  # worked out once a route
    for name in request.query_params:
        if name not in declared:
            raise ApiError(
                422,
                "invalid_input",
                field=name[:40] or "query",
                reason="extra_forbidden",
                message=f"Unknown query parameter `{name[:40]}`.",
            )


# C0 and C1 control characters and DEL: no path segment or query parameter of the API has a
# use for them, and a NUL is refused by PostgreSQL's text type (a 500 if it reached a query).
_CONTROL_IN_PARAM = re.compile(r"[\x00-\x1f\x7f-\x9f]")


async def plain_params(request: Request) -> None:
    """Dependency (whole app): a path segment or query parameter holding a control character
    is refused with 422 naming it, before anything reads it."""
    for name, value in [*request.path_params.items(), *request.query_params.multi_items()]:
        if isinstance(value, str) and _CONTROL_IN_PARAM.search(value):
            raise ApiError(
                422,
                "invalid_input",
                field=name[:40] or "query",
                reason="value_error",
                message=f"Control characters are not allowed in `{name[:40]}`: remove them and try "
                "again.",
            )


def iso_datetime(value: object) -> object:
    """Before-validator for datetimes in queries: ISO 8601 text only (pydantic would also take a
    bare number as a Unix time, which the contract does not offer)."""
    if isinstance(value, str) and not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-03-02T09:30:00Z")
    return value


IsoDatetime = Annotated[datetime, BeforeValidator(iso_datetime)]


_UNPRINTABLE = re.compile(r"[^\x20-\x7e]")


def seen_from(request: Request) -> tuple[str | None, str | None]:
    """The app and the network address of a request, as the patient's sessions screen shows
    them: the User-Agent (printable ASCII only, at most 120 characters: the client names
    itself, and it is data) and the client's address as the server saw it. Behind a reverse
    proxy, uvicorn's ``--proxy-headers`` and ``--forwarded-allow-ips`` (``FORWARDED_ALLOW_IPS``)
    make it the address the trusted proxy forwarded; from anyone else, a forwarded header is
    ignored."""
    agent = _UNPRINTABLE.sub("", request.headers.get("user-agent", "")).strip()[:120]
    address = request.client.host[:64] if request.client else None
    return agent or None, address


def session_alive(sess: Any, now: datetime) -> bool:
    """``sess``: an ``AuthSession``, or a row with the same columns."""
    return (
        sess is not None
        and sess.revoked_at is None
        and now - sess.last_seen_at <= auth.ACCESS_IDLE
        and now - sess.created_at <= auth.SESSION_ABSOLUTE
    )


# Activity is written at most once per TOUCH_EVERY: a burst of reads (a patient paging through
# the documents) does not rewrite the session row on every request. ``last_seen_at`` is then up
# to TOUCH_EVERY older than the last request, so a session idles out at most that much early
# (between ACCESS_IDLE - TOUCH_EVERY and ACCESS_IDLE after its last request), never late.
TOUCH_EVERY = timedelta(seconds=5)

_SESSIONS = table(AuthSession)
_RECORDS = table(Record)
# Built once: the statements of the patient hot path are compiled (and their cache keys made)
# on first use only.
# The session check's one statement (patient_call; the trace's read-only proof path too).
CALLER = (
    select(
        _SESSIONS.c.id,
        _SESSIONS.c.created_at,
        _SESSIONS.c.last_seen_at,
        _SESSIONS.c.fresh_until,
        _SESSIONS.c.revoked_at,
        _RECORDS.c.id.label("record_id"),
        _RECORDS.c.ins,
        _RECORDS.c.status,
        _RECORDS.c.display_name,
        _RECORDS.c.trace_size,
    )
    .select_from(_SESSIONS.join(_RECORDS, _RECORDS.c.id == _SESSIONS.c.record_id))
    .where(_SESSIONS.c.access_hash == bindparam("digest"))
)
_TOUCH = (
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("sid"))
    .values(last_seen_at=bindparam("now", type_=_SESSIONS.c.last_seen_at.type))
)


def patient_call(
    s: Session,
    request: Request,
    action: str,
    document_id: str | None = None,
    *,
    touch: bool = True,
) -> PatientCall:
    """Authenticate the patient and check the action against the record's status and the
    step-up rule. A refusal on a known record is traced (and kept) before it is raised.
    ``touch=False``: a background call (the app checking the trace's proofs) that does not
    count as activity, so it neither keeps the session alive nor writes.

    One Core query (session joined with its record, by the token's digest) on the session's
    connection, and the session's activity written only when ``TOUCH_EVERY`` has passed."""
    now = host_of(request).now()
    token = bearer(request)
    conn = s.connection()
    row = conn.execute(CALLER, {"digest": auth.digest(token)}).first()
    if row is None or not session_alive(row, now):
        raise ApiError(
            401,
            "session_expired",
            message="Your session has ended; log in again.",
            headers={"WWW-Authenticate": "Bearer"},
        )
    if touch and now - row.last_seen_at >= TOUCH_EVERY:
        conn.execute(_TOUCH, {"sid": row.id, "now": now})
    actor = ledger.Actor.of_patient(row)
    call = PatientCall(
        s,
        row.record_id,
        row.ins,
        row.status,
        row.trace_size,
        SessionRef(row.id, row.created_at, row.fresh_until),
        actor,
    )
    decision = policy.patient_may(RecordStatus(row.status), action)
    if not decision:
        if row.status != RecordStatus.ERASED:
            ledger.append(
                s,
                row.record_id,
                actor,
                action,
                now=now,
                allowed=False,
                reason=decision.reason,
                document_id=document_id,
            )
        raise Refused(
            403 if row.status != RecordStatus.ERASED else 410,
            "forbidden",
            reason=decision.reason,
        )
    if policy.needs_step_up(action) and not (row.fresh_until and row.fresh_until > now):
        ledger.append(
            s,
            row.record_id,
            actor,
            action,
            now=now,
            allowed=False,
            reason="step_up_required",
            document_id=document_id,
        )
        raise Refused(
            401,
            "step_up_required",
            message="Confirm with a fresh one-time code (POST /v1/auth/step-up).",
        )
    return call


def practitioner_call(s: Session, request: Request) -> Practitioner:
    credential = request.headers.get(PRACTITIONER_HEADER, "")
    if not credential:
        raise ApiError(
            401,
            "unauthenticated",
            field=PRACTITIONER_HEADER,
            message="A practitioner credential (CPS card) is required.",
        )
    who = s.scalar(
        select(Practitioner).where(Practitioner.credential_hash == auth.digest(credential))
    )
    if who is None:
        raise ApiError(
            401,
            "unauthenticated",
            field=PRACTITIONER_HEADER,
            message="This practitioner credential is not recognised.",
        )
    return who


def support_call(s: Session, request: Request) -> SupportAgent:
    """The support agent behind the ``X-Support-Credential`` header (401 if none or unknown)."""
    credential = request.headers.get(SUPPORT_HEADER, "")
    if not credential:
        raise ApiError(
            401,
            "unauthenticated",
            field=SUPPORT_HEADER,
            message="A support desk credential is required.",
        )
    who = s.scalar(
        select(SupportAgent).where(SupportAgent.credential_hash == auth.digest(credential))
    )
    if who is None:
        raise ApiError(
            401,
            "unauthenticated",
            field=SUPPORT_HEADER,
            message="This support desk credential is not recognised.",
        )
    return who


# --- facts for policy.py -------------------------------------------------------------------


def record_facts(s: Session, record: Record) -> policy.RecordFacts:
    grants = s.execute(
        select(Authorisation.rpps, Authorisation.see_masked).where(
            Authorisation.record_id == record.id
        )
    ).all()
    blocked = s.scalars(select(Block.rpps).where(Block.record_id == record.id)).all()
    return policy.RecordFacts(
        status=RecordStatus(record.status),
        attending=record.attending_rpps,
        authorised=frozenset(r for r, _ in grants),
        see_masked=frozenset(r for r, full in grants if full),
        blocked=frozenset(blocked),
        refuses_break_glass=record.refuses_break_glass,
        refuses_regulation=record.refuses_regulation,
    )


def practitioner_facts(p: Practitioner) -> policy.PractitionerFacts:
    return policy.PractitionerFacts(p.rpps, p.profession, p.regulation)


def document_facts(d: Document) -> policy.DocumentFacts:
    return policy.DocumentFacts(d.type, d.author_rpps, d.deposited_at, frozenset(d.labels))


# --- cursors -------------------------------------------------------------------------------


def encode_cursor(*parts: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(parts).encode()).decode().rstrip("=")


# What a cursor's parts may be. A cursor comes back from the client: whatever it decodes to is
# input, checked here part by part, so a crafted one is refused (422 on `cursor`) before any of
# it reaches a query. The kinds: "seq" (a row number: an integer column, 32-bit on PostgreSQL,
# which refuses a larger value in a comparison with a 500), "moment" (an ISO 8601
# time with its zone, as this host writes them; given back as an aware UTC datetime) and "id"
# (a document id: letters, digits, "-", "_" or ".", at most 64).
_CURSOR_ID = re.compile(r"[0-9A-Za-z._-]{1,64}")
_SEQ_MAX = 2**31 - 1


def _cursor_part(kind: str, value: Any) -> Any:
    if kind == "seq":
        if type(value) is not int or not 0 <= value <= _SEQ_MAX:
            raise ValueError("seq")
        return value
    if kind == "moment":
        if not isinstance(value, str) or len(value) > 40:
            raise ValueError("moment")
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is None:
            raise ValueError("naive")
        return moment.astimezone(UTC)
    if kind == "id":
        if not isinstance(value, str) or not _CURSOR_ID.fullmatch(value):
            raise ValueError("id")
        return value
    raise AssertionError(kind)


def decode_cursor(cursor: str, *kinds: str) -> list[Any]:
    """The parts of a cursor this host gave, checked against ``kinds`` (see above); anything
    else is refused with 422 on ``cursor``."""
    try:
        if len(cursor) > 512:
            raise ValueError("long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError("arity")
        return [_cursor_part(kind, part) for kind, part in zip(kinds, parts, strict=True)]
    except (ValueError, TypeError, OverflowError, RecursionError) as e:
        raise ApiError(
            422,
            "invalid_input",
            field="cursor",
            reason="value_error",
            message="This cursor was not given by this host: start again from the first page.",
        ) from e


def patient_keyed(
    s: Session, request: Request, call: PatientCall, now: datetime, body: Any = None
) -> concurrency.Keyed:
    """The request's Idempotency-Key, scoped to the patient's session (``concurrency.keyed``)."""
    sess = call.session
    scope = f"session:{sess.id}:{int(sess.created_at.timestamp())}"  # ids may be reused
    return concurrency.keyed(s, request, scope, now, body, record_id=call.record_id)


def json_response(model: Any) -> Response:
    """Serialise a response model once (the route's ``response_model`` still documents it)."""
    return Response(model.model_dump_json(), media_type="application/json")


# --- times as the driver gives them (lean reads that skip the ORM's types) -------------------
#
# ``UTCDateTime`` columns hold naive UTC: SQLite gives them as text, always
# ``YYYY-MM-DD HH:MM:SS.ffffff``; PostgreSQL (psycopg) as naive datetimes.


def utc_moment(raw: str | datetime) -> datetime:
    """An aware UTC datetime, as ``UTCDateTime`` reads it."""
    moment = datetime.fromisoformat(raw) if isinstance(raw, str) else raw
    if moment.tzinfo is not None:
        return moment.astimezone(UTC)
    return moment.replace(tzinfo=UTC)


def utc_moment_json(raw: str | datetime) -> str:
    """The JSON text pydantic writes for that aware UTC datetime: ISO 8601, ``Z``, the
    microseconds only when they are not zero."""
    if isinstance(raw, str):
        if len(raw) == 26 and raw[10] == " " and raw[19] == ".":
            if raw.endswith(".000000"):
                return f"{raw[:10]}T{raw[11:19]}Z"
            return f"{raw[:10]}T{raw[11:]}Z"
        moment = datetime.fromisoformat(raw)
    elif raw.tzinfo is None:
        return raw.isoformat() + "Z"
    else:
        moment = raw
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.replace(tzinfo=None).isoformat() + "Z"


def utc_day_json(raw: str | datetime | None) -> str | None:
    """The JSON text of ``DocumentOut.care_date``: the UTC day of the stored moment."""
    if raw is None:
        return None
    if isinstance(raw, str):
        if len(raw) >= 10 and raw[4] == "-" and raw[7] == "-":
            return raw[:10]
    elif raw.tzinfo is None:
        return raw.date().isoformat()
    return utc_moment(raw).date().isoformat()


# --- rows to models ------------------------------------------------------------------------


def practitioner_out(p: Practitioner) -> PractitionerOut:
    return PractitionerOut(rpps=p.rpps, name=p.name, profession=p.profession, facility=p.facility)


def document_out(
    d: Document,
    title: str,
    author: Practitioner,
    labels: frozenset[str] | list[str],
    warning: str | None = None,
) -> DocumentOut:
    return DocumentOut(
        id=d.id,
        type=d.type,
        title=title,
        author=practitioner_out(author),
        facility=d.facility,
        care_date=d.care_date.date() if d.care_date else None,
        deposited_at=d.deposited_at,
        content_type=d.content_type,
        size=d.size,
        labels=sorted(labels),
        warning=warning,
    )


def practitioners_by_rpps(s: Session, rpps: set[str]) -> dict[str, Practitioner]:
    if not rpps:
        return {}
    return {p.rpps: p for p in s.scalars(select(Practitioner).where(Practitioner.rpps.in_(rpps)))}
