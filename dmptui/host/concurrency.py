"""Races and retries: conditional changes (``ETag`` / ``If-Match``) and idempotent retries
(``Idempotency-Key``), both kept in the database, so several host processes on one database
agree.

ETags. Each mutable resource of a record has a version counter in its row (``records.*_version``,
``documents.version``), bumped by exactly one committed change. The ETag is strong and opaque:
``"<kind>-<version>"`` (``"doc-<id>-<version>"`` for a document's masking state). A counter rather
than a hash of the stored state: writing back the same state (allow, refuse, allow) must still
make every earlier ETag stale, or two patients' sessions could both "win" one round. The check
runs under the record's row lock (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite transactions
begin IMMEDIATE), so check-then-bump is atomic across processes.

Idempotency keys. A change sent with ``Idempotency-Key`` stores its answer (status, body, ETag)
in ``idempotency_keys`` in the change's own transaction: the change and its stored answer commit
or vanish together. A retry with the same key and the same request (same fingerprint) gets the
stored answer again, applied once; the same key with another request is refused (422). Keys are
scoped to the caller (the patient's session, the practitioner's credential) and kept 24 hours.
Concurrent duplicates: the second waits for the first (the same session row and the unique key
serialise them) and then gets its stored answer.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dmptui.host import crypto
from dmptui.host.context import ApiError, Refused
from dmptui.host.db import IdempotencyKey, Record

IDEMPOTENCY_HEADER = "Idempotency-Key"
REPLAYED_HEADER = "Idempotent-Replayed"
KEY_TTL = timedelta(hours=24)
MAX_KEY = 100

# kind of resource -> version column of ``records``
RECORD_VERSIONS = {
    "oppositions": "oppositions_version",
    "practitioners": "practitioners_version",
    "notes": "notes_version",
    "status": "status_version",
}

STALE_MESSAGE = (
    "This was changed elsewhere since you loaded it (another session or device). "
    "Nothing was changed here: load it again, check it, then make your change again."
)
MISSING_MESSAGE = (
    "A change needs the If-Match header with the ETag of the version you loaded (GET it first)."
)
MALFORMED_MESSAGE = (
    "If-Match must hold one ETag exactly as this host sent it, in double quotes (no list, no "
    "weak ETag). Nothing was changed: GET the resource, then send its ETag."
)


def etag(kind: str, version: int) -> str:
    return f'"{kind}-{version}"'


def document_etag(doc_id: str, version: int) -> str:
    return f'"doc-{doc_id}-{version}"'


def record_etag(record: Record, kind: str) -> str:
    return etag(kind, getattr(record, RECORD_VERSIONS[kind]))


def bump(record: Record, kind: str) -> str:
    """One more version of ``kind`` (the caller holds the record's row lock)."""
    column = RECORD_VERSIONS[kind]
    setattr(record, column, getattr(record, column) + 1)
    return record_etag(record, kind)


def lock_record(s: Session, record_id: int) -> Record:
    """Take the record's row lock and reload it: what was read before may have changed."""
    return s.execute(
        select(Record)
        .where(Record.id == record_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()


# One strong ETag, quoted, as this host sends them (and as the API contract declares the header).
ETAG_SYNTAX = re.compile(r'"[!#-~]+"')


def if_match(request: Request) -> str | None:
    """The ETag in If-Match; ``None`` when the header is absent, empty, or ``*`` (which asserts
    no version). ``""`` when it holds anything else than one strong ETag as this host sends
    them (a list, a weak ETag, a value without quotes): the change cannot say what it saw."""
    raw = request.headers.get("if-match")
    if raw is None:
        return None
    raw = raw.strip()
    if raw in ("", "*"):
        return None
    return raw if ETAG_SYNTAX.fullmatch(raw) else ""


def precondition(request: Request, current: str) -> str | None:
    """``None`` if the change may go ahead, else the refusal reason: ``precondition_required``
    (no If-Match), ``malformed`` (not one ETag as sent) or ``stale``."""
    tag = if_match(request)
    if tag is None:
        return "precondition_required"
    if tag == "":
        return "malformed"
    return None if tag == current else "stale"


def refusal(reason: str, current: str) -> Refused:
    if reason == "stale":
        return Refused(
            412,
            "stale",
            reason="stale",
            field="If-Match",
            message=STALE_MESSAGE,
            headers={"ETag": current},
        )
    message = MALFORMED_MESSAGE if reason == "malformed" else MISSING_MESSAGE
    return Refused(428, "precondition_required", reason=reason, field="If-Match", message=message)


def json_answer(model: BaseModel, *, tag: str | None = None, status: int = 200) -> Response:
    headers = {"ETag": tag} if tag else None
    return Response(
        model.model_dump_json(), status_code=status, media_type="application/json", headers=headers
    )


# --- idempotency keys ------------------------------------------------------------------------


def fingerprint(request: Request, body: BaseModel | None) -> str:
    h = hashlib.sha256()
    for part in (
        request.method,
        request.url.path,
        str(request.url.query),
        request.headers.get("if-match", ""),
        body.model_dump_json() if body is not None else "",
    ):
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


def _key_of(request: Request) -> str | None:
    raw = request.headers.get(IDEMPOTENCY_HEADER)
    if raw is None:
        return None
    key = raw.strip()
    if not key or len(key) > MAX_KEY or not key.isascii() or not key.isprintable():
        raise ApiError(
            422,
            "invalid_input",
            field=IDEMPOTENCY_HEADER,
            reason="bad_key",
            message=f"An Idempotency-Key is 1 to {MAX_KEY} printable ASCII characters "
            "(a UUID is best).",
        )
    return key


@dataclass
class Keyed:
    """The idempotency state of one request: a stored answer to replay, or a key to fill."""

    s: Session
    row: IdempotencyKey | None = None
    replay: Response | None = None

    def _keep(self, body: bytes) -> bytes:
        """The answer as stored: sealed (it may hold titles, notes, names)."""
        assert self.row is not None
        return crypto.keyring_of(self.s).seal_answer(self.row.scope, self.row.key, body)

    def store(self, response: Response) -> Response:
        if self.row is not None:
            self.row.status = response.status_code
            self.row.body = self._keep(bytes(response.body))
            self.row.headers = {
                k: v for k, v in response.headers.items() if k.lower() in ("etag", "content-type")
            }
        return response

    @contextmanager
    def refusals(self) -> Iterator[None]:
        """A refusal that commits (``Refused``) is the answer too: keep it for the retries."""
        try:
            yield
        except Refused as e:
            if self.row is not None:
                self.row.status = e.status
                self.row.body = self._keep(json.dumps(e.body()).encode())
                self.row.headers = {"content-type": "application/json", **(e.headers or {})}
            raise


def keyed(
    s: Session,
    request: Request,
    scope: str,
    now: datetime,
    body: BaseModel | None = None,
    *,
    record_id: int | None = None,
) -> Keyed:
    key = _key_of(request)
    if key is None:
        return Keyed(s)
    fp = fingerprint(request, body)

    def find() -> IdempotencyKey | None:
        return s.scalar(
            select(IdempotencyKey)
            .where(IdempotencyKey.scope == scope, IdempotencyKey.key == key)
            .execution_options(populate_existing=True)
        )

    row = find()
    if row is not None and row.expires_at <= now:
        s.delete(row)
        s.flush()
        row = None
    if row is None:
        fresh = IdempotencyKey(
            scope=scope,
            key=key,
            record_id=record_id,
            fingerprint=fp,
            status=None,
            body=None,
            headers={},
            created_at=now,
            expires_at=now + KEY_TTL,
        )
        try:
            with s.begin_nested():
                s.add(fresh)
        except IntegrityError:  # a concurrent duplicate committed first (PostgreSQL)
            row = find()
            if row is None:  # pragma: no cover - it was there a moment ago
                raise
        else:
            return Keyed(s, row=fresh)
    if row.fingerprint != fp:
        raise ApiError(
            422,
            "invalid_input",
            field=IDEMPOTENCY_HEADER,
            reason="key_reused",
            message="This Idempotency-Key was used for another request. Use a new key for a "
            "new request.",
        )
    if row.status is None:  # pragma: no cover - only a crash between insert and store
        raise ApiError(
            409,
            "in_progress",
            field=IDEMPOTENCY_HEADER,
            message="The first request with this key is still being processed; retry shortly.",
        )
    headers: dict[str, Any] = dict(row.headers or {})
    headers[REPLAYED_HEADER] = "true"
    media = headers.pop("content-type", None)
    stored = crypto.keyring_of(s).open_answer(row.scope, row.key, row.body) if row.body else b""
    return Keyed(
        s, replay=Response(stored, status_code=row.status, headers=headers, media_type=media)
    )


def purge_keys(s: Session, now: datetime) -> int:
    result = s.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)
