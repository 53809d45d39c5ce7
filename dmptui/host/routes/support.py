"""The support desk's API. The ``X-Support-Credential`` header names a support agent
(``dmptui host support add``). A support agent helps a patient with their account, never with
their health data (``policy.support_may``): they look up an account's state by INS (open, not
activated, closed or erased; locked and until when; the contact channels masked; the last
login), end a login lock, and send a new activation code to an account not activated yet.
Nothing here reads a document, a note, a practitioner or the
trace's entries.

Every call on a record that still exists, allowed or refused, is an entry of the patient's trace
(actor ``support``, the agent's name) and, when allowed, a notification to the patient: the
patient sees who of the support desk looked at their account and what they did."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dmptui.host import activation, concurrency, ledger, lockout, notifications, policy
from dmptui.host.context import ApiError, Refused
from dmptui.host.db import Record, SupportAgent, TraceEntry
from dmptui.host.routes.common import (
    host_of,
    ins_param,
    json_response,
    support_call,
    support_present,
)
from dmptui.schema import (
    AccountState,
    ErrorBody,
    RecordStatus,
    SupportAccountOut,
    SupportActivationOut,
    SupportUnlockOut,
)

router = APIRouter(prefix="/v1/support", tags=["support"], dependencies=[Depends(support_present)])

NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {
        "model": ErrorBody,
        "description": "No account for this INS (error `not_found`, field `ins`).",
    },
}
REFUSALS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    409: {
        "model": ErrorBody,
        "description": "Nothing to do (error `conflict`): reason `not_locked` (the login is not "
        "locked), `already_activated`.",
    },
    410: {
        "model": ErrorBody,
        "description": "The record is erased (error `forbidden`, reason `record_erased`).",
    },
}
_MESSAGES = {
    "not_locked": "This account's login is not locked: the patient can log in now. If they "
    "cannot, check the INS, then their password (a reset is theirs to do).",
    "already_activated": "This account is already activated: the patient logs in with their "
    "password.",
    "record_erased": "This record was erased by its patient: there is no account any more.",
}


def _account(
    s: Session, request: Request, ins: str, *, change: bool = False
) -> tuple[SupportAgent, Record, AccountState, datetime]:
    """Authenticate the agent and find the account (404 on ``ins`` when there is none).
    ``change``: the record's row is locked, so two agents acting at once on one account are
    decided one after the other (one unlock, the other told ``not_locked``)."""
    host = host_of(request)
    now = host.now()
    agent = support_call(s, request)
    query = select(Record).where(Record.ins == ins)
    if change:
        query = query.with_for_update().execution_options(populate_existing=True)
    record = s.scalar(query)
    if record is None:
        raise ApiError(
            404,
            "not_found",
            field="ins",
            message="No account for this INS. Check the 15 characters with the patient (carte "
            "Vitale).",
        )
    state = policy.account_state(RecordStatus(record.status), record.activated_at is not None)
    return agent, record, state, now


def _last_login(s: Session, record_id: int) -> datetime | None:
    """When the patient last logged in (a session given): the time only, from the trace."""
    at: datetime | None = s.scalar(
        select(func.max(TraceEntry.at)).where(
            TraceEntry.record_id == record_id,
            TraceEntry.action == "login",
            TraceEntry.outcome == "allowed",
        )
    )
    return at


def _trace(
    s: Session,
    record: Record,
    agent: SupportAgent,
    state: AccountState,
    action: str,
    now: datetime,
    refused: policy.Decision | None = None,
) -> None:
    if not policy.support_traced(state):
        return
    ledger.append(
        s,
        record.id,
        ledger.Actor.of_support(agent),
        action,
        now=now,
        allowed=refused is None,
        reason=refused.reason if refused is not None else None,
    )


def _refuse(decision: policy.Decision) -> Refused:
    status, error = (410, "forbidden") if decision.reason == "record_erased" else (409, "conflict")
    return Refused(status, error, reason=decision.reason, message=_MESSAGES[decision.reason])


@router.get("/accounts/{ins}", response_model=SupportAccountOut, responses=NOT_FOUND)
def lookup(ins: str, request: Request) -> Response:
    """An account's state: open, not activated, closed or erased; its login locked or not, and
    until when; its phone and email masked; when its patient last logged in. Traced, and the
    patient told."""
    ins = ins_param(ins)
    with host_of(request).tx() as s:
        agent, record, state, now = _account(s, request, ins)
        until = lockout.locked_until(s, ins, now)
        out = SupportAccountOut(ins=ins, status=state, locked=until is not None, locked_until=until)
        if policy.support_sees_channels(state):
            out.phone = policy.masked_phone(record.phone) if record.phone else None
            out.email = policy.masked_email(record.email) if record.email else None
            out.last_login = _last_login(s, record.id)
        _trace(s, record, agent, state, policy.SUPPORT_LOOKUP, now)
        if policy.support_traced(state):
            notifications.support(s, record, "support_lookup", now)
        return json_response(out)


def _support_change(
    request: Request,
    ins: str,
    action: str,
    notice: str,
    do: Callable[[Session, Record, datetime], BaseModel],
) -> Response:
    """One of the desk's two changes: the rule (``policy.support_may``) first, then ``do``;
    traced either way, the patient told (``notice``) when done; a retry answered once."""
    with host_of(request).tx() as s:
        agent, record, state, now = _account(s, request, ins, change=True)
        keyed = concurrency.keyed(s, request, f"support:{agent.id}", now, record_id=record.id)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            locked = lockout.locked_until(s, ins, now) is not None
            decision = policy.support_may(action, state, locked)
            if not decision:
                _trace(s, record, agent, state, action, now, decision)
                raise _refuse(decision)
            out = do(s, record, now)
            _trace(s, record, agent, state, action, now)
            notifications.support(s, record, notice, now)
            return keyed.store(json_response(out))


@router.post("/accounts/{ins}/unlock", response_model=SupportUnlockOut, responses=REFUSALS)
def unlock(ins: str, request: Request) -> Response:
    """End the login lock of an account: the patient can log in again at once. Refused (409
    ``not_locked``) when it is not locked; traced either way, the patient told when done."""
    ins = ins_param(ins)

    def do(s: Session, _record: Record, now: datetime) -> BaseModel:
        lockout.end_lock(s, ins, now)
        return SupportUnlockOut(ins=ins, unlocked=True)

    return _support_change(request, ins, policy.SUPPORT_UNLOCK, "support_unlock", do)


@router.post("/accounts/{ins}/activation", response_model=SupportActivationOut, responses=REFUSALS)
def resend_activation(ins: str, request: Request) -> Response:
    """Send a new activation code to an account not activated yet: by letter to the patient
    (``activation.issue``; the code is never shown to the desk), the unused ones void. Refused
    (409 ``already_activated``) on an activated account; traced either way, the patient told
    when done."""
    ins = ins_param(ins)

    def do(s: Session, record: Record, now: datetime) -> BaseModel:
        activation.issue(s, record, now)
        return SupportActivationOut(ins=ins, sent=True)

    return _support_change(request, ins, policy.SUPPORT_ACTIVATION, "support_activation", do)
