"""Account recovery, without a session: a forgotten password (reset) and a lost authenticator
(re-enrolment).

Reset: the INS, then a code sent to the registered phone, then one sent to the registered email;
the authenticator's code may stand in for one of the two (``policy.reset_may_set_password``);
then a new password. Every session ends, every remembered device is forgotten, the login lock
ends, both contacts are told and the trace says so. An INS without a record gets the same
answers (a flow, "a code was sent if…") and never succeeds: nothing here tells whether an INS
has a record.

Re-enrolment: the INS and the password (counted by the login throttle, as a login is), then a
code sent by email or SMS; the old authenticator secret is replaced by a new one, given once.

Flows live in the database (``recovery_flows``), never in a process's memory."""

from __future__ import annotations

from datetime import datetime
from typing import NoReturn

from fastapi import APIRouter, Request
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dmptui.host import auth, crypto, ledger, lifecycle, lockout, notifications, policy
from dmptui.host.context import ApiError, Refused
from dmptui.host.db import KnownDevice, LoginChallenge, Record, RecoveryFlow
from dmptui.host.routes import auth as auth_routes
from dmptui.host.routes.common import host_of
from dmptui.identifiers import IdentifierError, parse_ins
from dmptui.schema import (
    RecoveryCode,
    ReenrolDone,
    ReenrolStart,
    ReenrolStarted,
    ResetDone,
    ResetPassword,
    ResetProgress,
    ResetStart,
    ResetStarted,
    TotpEnrolment,
)

router = APIRouter(prefix="/v1/auth", tags=["patient: account recovery"])


def _ins(raw: str) -> str:
    try:
        return parse_ins(raw).value
    except IdentifierError as e:
        raise ApiError(422, "invalid_input", field="ins", reason=e.code, message=e.expected) from e


def _record(s: Session, ins: str) -> Record | None:
    """The INS's record, if it has one that can still be used (an erased one is none)."""
    record = s.scalar(select(Record).where(Record.ins == ins))
    return record if record is not None and record.status != "erased" else None


def _check_starts(s: Session, ins: str, now: datetime) -> None:
    """The per-INS limit on starts, counted alike for an INS with or without a record."""
    since = now - policy.RECOVERY_WINDOW
    recent = s.scalars(
        select(RecoveryFlow.created_at)
        .where(RecoveryFlow.ins == ins, RecoveryFlow.created_at > since)
        .order_by(RecoveryFlow.created_at)
    ).all()
    if not policy.recovery_may_start(len(recent)):
        seconds = int((recent[0] + policy.RECOVERY_WINDOW - now).total_seconds()) + 1
        raise ApiError(
            429,
            "recovery_limited",
            headers={"Retry-After": str(seconds)},
            message=f"Too many recovery attempts for this INS. Try again in "
            f"{seconds // 60 + 1} minutes.",
        )


def _new_flow(s: Session, kind: str, ins: str, record: Record | None, now: datetime) -> str:
    token = auth.new_token()
    s.add(
        RecoveryFlow(
            id=auth.digest(token),
            kind=kind,
            ins=ins,
            record_id=record.id if record is not None else None,
            created_at=now,
            expires_at=now + policy.RECOVERY_TTL,
            proven="",
            codes_sent=0,
            attempts=0,
        )
    )
    return token


def _flow(s: Session, raw: str, kind: str, now: datetime) -> RecoveryFlow:
    flow = s.get(RecoveryFlow, auth.digest(raw), with_for_update=True)
    if (
        flow is None
        or flow.kind != kind
        or flow.used_at is not None
        or flow.expires_at <= now
        or flow.attempts >= auth.MAX_CODE_ATTEMPTS
    ):
        raise ApiError(
            401,
            "flow_expired",
            field="flow",
            message="This attempt has expired or is over. Start again from the login screen.",
        )
    return flow


def _proven(flow: RecoveryFlow) -> frozenset[str]:
    return frozenset(p for p in flow.proven.split(",") if p)


def _send(
    s: Session, flow: RecoveryFlow, record: Record | None, channel: str, now: datetime
) -> None:
    """A code for ``channel`` awaited by the flow, and sent if the record has that contact. An
    INS without a record gets the same work done and nothing sent."""
    code = auth.new_code()
    flow.code_channel = channel
    flow.code_hash = auth.digest(code)
    flow.code_expires_at = now + auth.CODE_TTL
    destination = None
    if record is not None:
        destination = record.phone if channel == "sms" else record.email
    if not destination or record is None:
        flow.code_hash = None  # nobody received it: it can never be typed
        return
    flow.codes_sent += 1
    notifications.one_time_code(s, channel, destination, code, record.id, now)


def _sent_code_ok(flow: RecoveryFlow, channel: str, code: str, now: datetime) -> bool:
    if (
        flow.code_channel == channel
        and flow.code_hash
        and flow.code_expires_at is not None
        and flow.code_expires_at > now
        and auth.same(flow.code_hash, auth.digest(code))
    ):
        flow.code_hash = None  # one use
        return True
    return False


def _totp_ok(s: Session, record: Record, code: str, now: datetime) -> bool:
    if not record.totp_enrolled:
        return False  # a secret never confirmed is only as strong as the password
    secret = crypto.open_totp(s, record.id, record.totp_secret_sealed)
    if not secret:
        return False
    step = auth.verify_totp(secret, code, record.totp_last_step, now)
    if step is None:
        return False
    record.totp_last_step = step
    return True


def _left(flow: RecoveryFlow, now: datetime) -> int:
    return max(int((flow.expires_at - now).total_seconds()), 0)


def _bad_code(
    s: Session, flow: RecoveryFlow, record: Record | None, action: str, now: datetime
) -> NoReturn:
    flow.attempts += 1
    if record is not None:
        ledger.append(
            s,
            record.id,
            ledger.Actor.of_patient(record),
            action,
            now=now,
            allowed=False,
            reason="bad_code",
        )
    raise Refused(
        401,
        "invalid_code",
        field="code",
        message="This code is wrong, expired or already used. Type the code you received.",
    )


# --- forgotten password --------------------------------------------------------------------


@router.post("/reset/start", response_model=ResetStarted)
def reset_start(body: ResetStart, request: Request) -> ResetStarted:
    """Start a password reset. The answer is the same whether the INS has a record or not: a
    code was sent to the registered phone if it has one."""
    host = host_of(request)
    ins = _ins(body.ins)
    with host.tx() as s:
        now = host.now()
        _check_starts(s, ins, now)
        record = _record(s, ins)
        token = _new_flow(s, "reset", ins, record, now)
        flow = s.get(RecoveryFlow, auth.digest(token))
        assert flow is not None
        _send(s, flow, record, policy.reset_next(frozenset()), now)
        if record is not None:
            ledger.append(
                s,
                record.id,
                ledger.Actor.of_patient(record),
                "password.reset.start",
                now=now,
                allowed=True,
            )
        return ResetStarted(
            flow=token, next=policy.reset_next(frozenset()), expires_in=_left(flow, now)
        )


@router.post("/reset/verify", response_model=ResetProgress)
def reset_verify(body: RecoveryCode, request: Request) -> ResetProgress:
    """The code awaited (sent by SMS, then by email), or the authenticator's code in place of
    one of them. Once enough is proven, the answer's ``next`` is ``password``."""
    host = host_of(request)
    code = auth_routes._check_code_format(body.code)
    with host.tx() as s:
        now = host.now()
        flow = _flow(s, body.flow, "reset", now)
        record = (
            s.get(Record, flow.record_id, with_for_update=True, populate_existing=True)
            if flow.record_id is not None
            else None
        )
        proven = _proven(flow)
        awaited = policy.reset_next(proven)
        factor: str | None = None
        if record is not None and awaited != "password":
            if _sent_code_ok(flow, awaited, code, now):
                factor = awaited
            elif policy.reset_takes_totp(proven) and _totp_ok(s, record, code, now):
                factor = "totp"
        if factor is None:
            _bad_code(s, flow, record, "password.reset", now)
        assert record is not None and factor is not None
        proven = proven | {factor}
        flow.proven = ",".join(sorted(proven))
        after = policy.reset_next(proven)
        if after in ("sms", "email"):
            _send(s, flow, record, after, now)
        else:
            flow.code_hash = None
        return ResetProgress(proven=sorted(proven), next=after, expires_in=_left(flow, now))


@router.post("/reset/password", response_model=ResetDone)
def reset_password(body: ResetPassword, request: Request) -> ResetDone:
    """The new password, once the factors suffice. Every session ends, every remembered device
    is forgotten, the login lock ends, both contacts are told."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        flow = _flow(s, body.flow, "reset", now)
        decision = policy.reset_may_set_password(_proven(flow))
        if not decision or flow.record_id is None:
            raise ApiError(
                403,
                "forbidden",
                reason=decision.reason if not decision else "factors_missing",
                message="Confirm the codes sent to you before choosing a new password.",
            )
        ins = s.scalar(select(Record.ins).where(Record.id == flow.record_id))
        assert ins is not None
        problem = auth.password_problem(body.password, ins)
        if problem is not None:
            raise ApiError(
                422,
                "invalid_input",
                field="password",
                reason=problem,
                message="This password is too weak: use at least 12 characters, not a common "
                "password, nothing taken from your INS.",
            )
        # Lock order as elsewhere: sessions, challenges, throttle, record.
        ended = lifecycle.revoke_sessions(s, flow.record_id, now)
        s.execute(
            update(LoginChallenge)
            .where(LoginChallenge.record_id == flow.record_id, LoginChallenge.used_at.is_(None))
            .values(used_at=now)
        )
        lockout.end_lock(s, ins, now)
        record = s.get(Record, flow.record_id, with_for_update=True, populate_existing=True)
        assert record is not None
        record.password_hash = auth.hash_password(body.password)
        forgotten = lifecycle.forget_devices(s, record.id)
        flow.used_at = now
        flow.code_hash = None
        _end_other_flows(s, record.id, now)
        ledger.append(
            s, record.id, ledger.Actor.of_patient(record), "password.reset", now=now, allowed=True
        )
        notifications.password_reset(s, record, now)
        return ResetDone(sessions_ended=ended, devices_forgotten=forgotten)


def _end_other_flows(s: Session, record_id: int, now: datetime) -> None:
    s.execute(
        update(RecoveryFlow)
        .where(RecoveryFlow.record_id == record_id, RecoveryFlow.used_at.is_(None))
        .values(used_at=now)
    )


# --- lost authenticator --------------------------------------------------------------------


@router.post("/reenrol/start", response_model=ReenrolStarted)
def reenrol_start(body: ReenrolStart, request: Request) -> ReenrolStarted:
    """A new authenticator: the INS and password (a wrong one counts as a failed login), then a
    code sent by email or SMS (POST /v1/auth/reenrol/verify)."""
    host = host_of(request)
    ins = _ins(body.ins)
    with host.tx() as s:
        now = host.now()
        record = _record(s, ins)
        # The login's throttle, counted as a login is (policy.throttle_scope): a wrong password
        # here is a wrong password, and a pause on logging in holds here too.
        own = auth_routes._own_device(request)
        known = (
            own is not None
            and record is not None
            and s.get(KnownDevice, (record.id, own)) is not None
        )
        row = lockout.counter(s, ins, policy.throttle_scope(False, own, known), now)
        auth_routes._check_locked(row, now)
        _check_starts(s, ins, now)
        ok = auth.verify_password(record.password_hash if record else None, body.password)
        if not ok or record is None:
            failed = auth_routes._failed(row, now, auth_routes.INVALID)
            if record is not None:
                ledger.append(
                    s,
                    record.id,
                    ledger.Actor.of_patient(record),
                    "authenticator.reenrol",
                    now=now,
                    allowed=False,
                    reason="bad_password",
                )
            raise failed
        if record.activated_at is None:
            # Never activated: the first secret comes with the letter's code only (activation.py),
            # not with the password and a code sent to contacts a practitioner typed in.
            raise auth_routes._not_activated()
        lockout.succeed(row)
        channel = body.channel.value
        destination = record.phone if channel == "sms" else record.email
        if not destination:
            raise ApiError(
                422,
                "invalid_input",
                field="channel",
                message=f"No {channel} contact is registered for this record.",
            )
        token = _new_flow(s, "reenrol", ins, record, now)
        flow = s.get(RecoveryFlow, auth.digest(token))
        assert flow is not None
        flow.proven = "password"
        _send(s, flow, record, channel, now)
        ledger.append(
            s,
            record.id,
            ledger.Actor.of_patient(record),
            "authenticator.reenrol.start",
            now=now,
            allowed=True,
        )
        return ReenrolStarted(
            flow=token,
            channel=body.channel,
            destination=auth.mask_destination(channel, destination),
            expires_in=_left(flow, now),
        )


@router.post("/reenrol/verify", response_model=ReenrolDone)
def reenrol_verify(body: RecoveryCode, request: Request) -> ReenrolDone:
    """The code sent: the old authenticator secret is revoked, a new one is issued (given here,
    once), every session ends, both contacts are told."""
    host = host_of(request)
    code = auth_routes._check_code_format(body.code)
    with host.tx() as s:
        now = host.now()
        flow = _flow(s, body.flow, "reenrol", now)
        assert flow.record_id is not None
        channel = flow.code_channel or ""
        ok = _sent_code_ok(flow, channel, code, now)
        if not ok:
            record = s.get(Record, flow.record_id)
            _bad_code(s, flow, record, "authenticator.reenrol", now)
        proven = _proven(flow) | {channel}
        decision = policy.reenrol_may_issue("password" in proven, proven)
        if not decision:
            raise ApiError(403, "forbidden", reason=decision.reason, message="Start again.")
        ended = lifecycle.revoke_sessions(s, flow.record_id, now)
        record = s.get(Record, flow.record_id, with_for_update=True, populate_existing=True)
        assert record is not None
        secret = auth.new_totp_secret()
        record.totp_secret_sealed = crypto.seal_totp(s, record.id, secret, now)
        record.totp_last_step = 0
        # Shown once, here: a login does not hand it out again to whoever has the password.
        record.totp_enrolled = True
        flow.used_at = now
        flow.proven = ",".join(sorted(proven))
        ledger.append(
            s,
            record.id,
            ledger.Actor.of_patient(record),
            "authenticator.reenrol",
            now=now,
            allowed=True,
        )
        notifications.authenticator_reenrolled(s, record, now)
        return ReenrolDone(
            enrolment=TotpEnrolment(secret=secret, uri=auth.totp_uri(secret, record.ins)),
            sessions_ended=ended,
        )
