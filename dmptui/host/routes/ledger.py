"""The patient's trace as a verifiable log: the host's public key, signed checkpoints, inclusion
and consistency proofs (see ``dmptui.host.ledger``).

None of these reads health data (hashes and sizes only), so none is traced: the checkpoint taken
right after a trace page covers that page's own ``trace.read`` entry, and checking does not grow
the trace it checks. They are not activity either (the app checks in the background): they do not
extend the session's idle time, and an accepted one writes nothing. So they run on a read-only
connection (``db.reading``: no write lock on SQLite, no BEGIN/COMMIT on PostgreSQL) after a
lean session check (``_reader``); anything but a plain yes (no or ended session, closed or
erased record) goes through ``patient_call`` in a write transaction as usual, which answers it
and traces a refusal.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter
from sqlalchemy import Connection

from dmptui.host import auth, ledger, policy
from dmptui.host.context import ApiError
from dmptui.host.db import reading
from dmptui.host.routes.common import (
    CALLER,
    bearer,
    host_of,
    json_response,
    patient_call,
    session_alive,
)
from dmptui.schema import (
    MAX_PROOF_SEQS,
    CheckpointOut,
    ConsistencyProofOut,
    InclusionProofOut,
    LedgerKeyLinkOut,
    LedgerKeyOut,
    RecordStatus,
)

router = APIRouter(prefix="/v1", tags=["trace log"])
log = logging.getLogger(__name__)

# Answers are serialised once from the models built here (``json_response``): the routes'
# ``response_model`` documents them without a second validation on every call.
_PROOFS = TypeAdapter(list[InclusionProofOut])


def _bad(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_input", field=field, message=message)


@dataclass(frozen=True)
class _Caller:
    record_id: int
    ins: str
    trace_size: int


_ACTION = "trace.read"


@contextmanager
def _reader(request: Request) -> Iterator[tuple[Connection, _Caller]]:
    """The patient's record and a connection to read its trace's hashes. A live session on a
    record that allows the action (the same rules as ``patient_call``: ``session_alive``,
    ``policy``) reads on a read-only connection; anything else is handed to ``patient_call`` in
    the usual write transaction, which refuses it (401, 403 traced, 410) or, if things changed
    in between, lets it through."""
    host = host_of(request)
    now = host.now()
    token = bearer(request)
    with reading(host.engine) as conn:
        row = conn.execute(CALLER, {"digest": auth.digest(token)}).first()
        if (
            row is not None
            and session_alive(row, now)
            and policy.patient_may(RecordStatus(row.status), _ACTION)
            and not policy.needs_step_up(_ACTION)
        ):
            yield conn, _Caller(row.record_id, row.ins, row.trace_size)
            return
    with host.tx() as s:
        call = patient_call(s, request, _ACTION, touch=False)
        yield s.connection(), _Caller(call.record_id, call.ins, call.trace_size)


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


@router.get("/ledger/key", response_model=LedgerKeyOut)
def ledger_key(request: Request) -> LedgerKeyOut:
    """The newest signing key and the endorsements of every rotation, from the database."""
    (key_id, public), links = ledger.history(host_of(request))
    chain = [
        LedgerKeyLinkOut(
            previous_key_id=link.previous_key_id,
            previous_public_key=_b64(link.previous_public),
            key_id=link.key_id,
            public_key=_b64(link.public),
            signed_at=link.signed_at,
            signature=_b64(link.signature),
        )
        for link in links
    ]
    return LedgerKeyOut(key_id=key_id, public_key=_b64(public), chain=chain)


def signing_key_or_503(host: Any) -> ledger.LedgerKey:
    try:
        return ledger.signing_key(host)  # the newest key, re-read after a rotation
    except ledger.StaleLedgerKey as e:
        log.error("%s", e)
        raise ApiError(
            503,
            "ledger_key_replaced",
            message="This host process holds a replaced signing key; it must be restarted "
            "with the new one. Try again later.",
        ) from e


@router.get("/record/trace/checkpoint", response_model=CheckpointOut)
def checkpoint(request: Request) -> Response:
    host = host_of(request)
    key = signing_key_or_503(host)  # before reading: it may write (a key the history lacks)
    with _reader(request) as (conn, caller):
        size = caller.trace_size
        root_hex = ledger.root(conn, caller.record_id, size).hex()
        signed_at = host.now()
        message = ledger.checkpoint_message(caller.ins, size, root_hex, signed_at)
        return json_response(
            CheckpointOut(
                ins=caller.ins,
                tree_size=size,
                root_hash=root_hex,
                signed_at=signed_at,
                key_id=key.key_id,
                signature=base64.b64encode(key.sign(message)).decode(),
            )
        )


@router.get("/record/trace/proof/inclusion", response_model=list[InclusionProofOut])
def inclusion(
    request: Request,
    size: int = Query(..., ge=1),
    seq: list[int] = Query(..., description=f"up to {MAX_PROOF_SEQS} entries"),
) -> Response:
    if len(seq) > MAX_PROOF_SEQS:
        raise _bad("seq", f"Ask for at most {MAX_PROOF_SEQS} entries at a time.")
    with _reader(request) as (conn, caller):
        if size > caller.trace_size:
            raise _bad("size", "The trace is not that long.")
        if any(not 1 <= q <= size for q in seq):
            raise _bad("seq", "Each entry must be between 1 and size.")
        proofs = ledger.inclusion(conn, caller.record_id, size, seq)
        items = [
            InclusionProofOut(
                seq=q, leaf_index=q - 1, leaf_hash=leaf.hex(), path=[h.hex() for h in path]
            )
            for q, leaf, path in proofs
        ]
        return Response(_PROOFS.dump_json(items), media_type="application/json")


@router.get("/record/trace/proof/consistency", response_model=ConsistencyProofOut)
def consistency(
    request: Request, first: int = Query(..., ge=1), second: int = Query(..., ge=1)
) -> Response:
    if first > second:
        raise _bad("first", "first must not be larger than second.")
    with _reader(request) as (conn, caller):
        if second > caller.trace_size:
            raise _bad("second", "The trace is not that long.")
        try:
            path = ledger.consistency(conn, caller.record_id, first, second)
        except ledger.LedgerDamaged:
            path = []  # what the host cannot prove, the app reports as not proven
        out = ConsistencyProofOut(first=first, second=second, path=[h.hex() for h in path])
        return json_response(out)
