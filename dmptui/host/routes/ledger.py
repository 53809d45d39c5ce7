"""The patient's trace as a verifiable log: the host's public key, signed checkpoints, inclusion
and consistency proofs (see ``dmptui.host.ledger``).

None of these reads health data (hashes and sizes only), so none is traced: the checkpoint taken
right after a trace page covers that page's own ``trace.read`` entry, and checking does not grow
the trace it checks. They are not activity either (the app checks in the background): they do not
extend the session's idle time, and an accepted one writes nothing. A refusal (closed or erased
record) is traced by ``patient_call`` as usual.
"""

from __future__ import annotations

import base64

from fastapi import APIRouter, Query, Request, Response
from pydantic import TypeAdapter

from dmptui.host import ledger
from dmptui.host.context import ApiError
from dmptui.host.routes.common import host_of, json_response, patient_call
from dmptui.schema import (
    MAX_PROOF_SEQS,
    CheckpointOut,
    ConsistencyProofOut,
    InclusionProofOut,
    LedgerKeyOut,
)

router = APIRouter(prefix="/v1", tags=["trace log"])

# Answers are serialised once from the models built here (``json_response``): the routes'
# ``response_model`` documents them without a second validation on every call.
_PROOFS = TypeAdapter(list[InclusionProofOut])


def _bad(field: str, message: str) -> ApiError:
    return ApiError(422, "invalid_input", field=field, message=message)


@router.get("/ledger/key", response_model=LedgerKeyOut)
def ledger_key(request: Request) -> LedgerKeyOut:
    key = host_of(request).ledger_key
    return LedgerKeyOut(key_id=key.key_id, public_key=base64.b64encode(key.public_raw).decode())


@router.get("/record/trace/checkpoint", response_model=CheckpointOut)
def checkpoint(request: Request) -> Response:
    host = host_of(request)
    with host.tx() as s:
        call = patient_call(s, request, "trace.read", touch=False)
        size = call.trace_size
        root_hex = ledger.root(s.connection(), call.record_id, size).hex()
        signed_at = host.now()
        key = host.ledger_key
        message = ledger.checkpoint_message(call.ins, size, root_hex, signed_at)
        return json_response(
            CheckpointOut(
                ins=call.ins,
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
    host = host_of(request)
    with host.tx() as s:
        call = patient_call(s, request, "trace.read", touch=False)
        if size > call.trace_size:
            raise _bad("size", "The trace is not that long.")
        if any(not 1 <= q <= size for q in seq):
            raise _bad("seq", "Each entry must be between 1 and size.")
        proofs = ledger.inclusion(s.connection(), call.record_id, size, seq)
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
    host = host_of(request)
    with host.tx() as s:
        call = patient_call(s, request, "trace.read", touch=False)
        if second > call.trace_size:
            raise _bad("second", "The trace is not that long.")
        try:
            path = ledger.consistency(s.connection(), call.record_id, first, second)
        except ledger.LedgerDamaged:
            path = []  # what the host cannot prove, the app reports as not proven
        out = ConsistencyProofOut(first=first, second=second, path=[h.hex() for h in path])
        return json_response(out)
