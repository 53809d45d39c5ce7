"""The patient's account: their live sessions and remembered devices (list, end one, forget
one, log out everywhere) and the change of password. Each handler is one transaction:
authenticate, read or write, append one trace entry; the password change and the logout
everywhere also notify the patient (in the app, and by email / SMS through the outbox).

Sessions and devices are named by opaque ids (``public_id``): never a token, nor a digest."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from dmptui.host import auth, ledger, lifecycle, lockout, notifications, policy
from dmptui.host.context import ApiError, Refused
from dmptui.host.db import AuthSession, KnownDevice, LoginChallenge, Record
from dmptui.host.routes.auth import _check_locked, _failed
from dmptui.host.routes.common import (
    PatientCall,
    host_of,
    json_response,
    patient_call,
    patient_keyed,
    patient_present,
    session_alive,
)
from dmptui.schema import (
    AccountDone,
    DeviceOut,
    PasswordChange,
    SessionOut,
    SessionsOut,
)

router = APIRouter(
    prefix="/v1/auth",
    tags=["patient: account"],
    dependencies=[Depends(patient_present)],
)


def _trace(
    s: Session,
    call: PatientCall,
    action: str,
    now: datetime,
    *,
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
        size_seen=call.trace_size,
    )


def _own_session(s: Session, call: PatientCall) -> AuthSession:
    sess = s.get(AuthSession, call.session.id)
    assert sess is not None  # just authenticated by it
    return sess


def _not_found(what: str) -> Refused:
    return Refused(
        404,
        "not_found",
        reason=f"no_such_{what}",
        field="session_id" if what == "session" else "device_id",
        message=f"No such {what} on your account (it may have ended already). Reload the list.",
    )


@router.get("/sessions", response_model=SessionsOut)
def sessions(request: Request) -> SessionsOut:
    """The caller's live sessions (newest first) and remembered devices: when first and last
    seen, the app and the address the host saw, and which is the caller's own ("this device")."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "sessions.read")
        mine = _own_session(s, call)
        live = [
            sess
            for sess in s.scalars(
                select(AuthSession)
                .where(AuthSession.record_id == call.record_id, AuthSession.revoked_at.is_(None))
                .order_by(AuthSession.created_at.desc(), AuthSession.id.desc())
            )
            if session_alive(sess, now)
        ]
        devices = s.scalars(
            select(KnownDevice)
            .where(KnownDevice.record_id == call.record_id)
            .order_by(KnownDevice.first_seen.desc())
        ).all()
        out = SessionsOut(
            sessions=[
                SessionOut(
                    id=sess.public_id,
                    first_seen=sess.created_at,
                    last_seen=sess.last_seen_at,
                    app=sess.app,
                    address=sess.address,
                    current=sess.id == mine.id,
                )
                for sess in live
            ],
            devices=[
                DeviceOut(
                    id=d.public_id,
                    first_seen=d.first_seen,
                    last_seen=d.last_seen,
                    app=d.app,
                    address=d.address,
                    current=d.device == mine.device,
                )
                for d in devices
            ],
        )
        _trace(s, call, "sessions.read", now)
        return out


@router.delete("/sessions/{session_id}", response_model=AccountDone)
def end_session(session_id: str, request: Request) -> Response:
    """End one of the caller's sessions (its tokens are refused from now on). Ending the
    caller's own session is logging out (``current_ended``)."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "session.revoke")
        keyed = patient_keyed(s, request, call, now)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            sess = s.scalar(
                select(AuthSession)
                .where(AuthSession.record_id == call.record_id, AuthSession.public_id == session_id)
                .with_for_update()
            )
            if sess is None or not session_alive(sess, now):
                _trace(s, call, "session.revoke", now, allowed=False, reason="no_such_session")
                raise _not_found("session")
            sess.revoked_at = now
            current = sess.id == call.session.id
            _trace(s, call, "session.revoke", now)
            done = AccountDone(
                message={
                    "fr": "Cette session est terminée : l'appareil qui l'utilisait doit se "
                    "reconnecter avec le mot de passe et un code.",
                    "en": "That session has ended: the device that used it must log in again "
                    "with the password and a code.",
                },
                sessions_ended=1,
                current_ended=current,
            )
            return keyed.store(json_response(done))


@router.delete("/devices/{device_id}", response_model=AccountDone)
def forget_device(device_id: str, request: Request) -> Response:
    """Forget one remembered device: the next login from it is announced as a new device. Its
    sessions go on until they end (end them one by one, or log out everywhere)."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "device.forget")
        keyed = patient_keyed(s, request, call, now)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            if not lifecycle.forget_device(s, call.record_id, device_id):
                _trace(s, call, "device.forget", now, allowed=False, reason="no_such_device")
                raise _not_found("device")
            _trace(s, call, "device.forget", now)
            done = AccountDone(
                message={
                    "fr": "Cet appareil est oublié : sa prochaine connexion vous sera signalée "
                    "comme celle d'un nouvel appareil.",
                    "en": "That device is forgotten: its next login will be announced to you "
                    "as a new device.",
                }
            )
            return keyed.store(json_response(done))


@router.post("/logout-everywhere", response_model=AccountDone)
def logout_everywhere(request: Request) -> Response:
    """End every session of the record, the caller's included; the patient is notified."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "logout.everywhere")
        keyed = patient_keyed(s, request, call, now)
        if keyed.replay is not None:
            return keyed.replay
        _trace(s, call, "logout.everywhere", now)
        ended = lifecycle.revoke_sessions(s, call.record_id, now)
        notifications.logged_out_everywhere(s, call.record, now, ended)
        done = AccountDone(
            message={
                "fr": f"Toutes vos sessions sont terminées ({ended}), celle-ci comprise. "
                "Reconnectez-vous pour continuer.",
                "en": f"All your sessions have ended ({ended}), this one included. Log in "
                "again to continue.",
            },
            sessions_ended=ended,
            current_ended=True,
        )
        return keyed.store(json_response(done))


WRONG_CURRENT = ApiError(
    401,
    "invalid_credentials",
    field="current_password",
    message="The current password is wrong. Type it again.",
)
_WEAK = {
    "password_too_short": f"The new password is too short: use at least {auth.MIN_PASSWORD} "
    "characters (a few words together are easy to remember).",
    "password_too_common": "The new password is too common or too simple: anyone could guess "
    "it. Choose another one, a few unrelated words for example.",
    "password_from_ins": "The new password is built from your INS: choose one that has nothing "
    "to do with it.",
    "password_unchanged": "The new password is the same as the current one: choose a different "
    "one.",
}


@router.post("/password", response_model=AccountDone)
def change_password(body: PasswordChange, request: Request) -> Response:
    """Change the password: a fresh code (step-up) and the current password are needed. A wrong
    current password counts as a failed confirmation on the step-up's counter (the same pause).
    The new password follows the rules of every password (``auth.password_problem``) and
    differs from the old one. Every other session ends; this one stays; the patient is notified
    by email and SMS; pending logins started with the old password are cancelled."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        call = patient_call(s, request, "password.change")
        keyed = patient_keyed(s, request, call, now, body)
        if keyed.replay is not None:
            return keyed.replay
        with keyed.refusals():
            # Lock order as everywhere: session (touched above), throttle, record. The counter is
            # the step-up's: a logged-in session guessing the password pauses its own confirmations
            # (and this change), never the patient's logins from their devices.
            row = lockout.counter(s, call.ins, policy.STEP_UP, now)
            record = s.get(Record, call.record_id, with_for_update=True, populate_existing=True)
            assert record is not None
            _check_locked(row, now, step_up=True)
            if not auth.verify_password(record.password_hash, body.current_password):
                failed = _failed(row, now, WRONG_CURRENT, step_up=True)
                failed.reason = "bad_password"
                _trace(s, call, "password.change", now, allowed=False, reason="bad_password")
                raise failed
            lockout.succeed(row)
            problem = auth.password_problem(body.new_password, call.ins)
            if problem is None and auth.verify_password(record.password_hash, body.new_password):
                problem = "password_unchanged"
            if problem is not None:
                _trace(s, call, "password.change", now, allowed=False, reason=problem)
                raise Refused(
                    422,
                    "invalid_input",
                    reason=problem,
                    field="new_password",
                    message=_WEAK[problem],
                )
            record.password_hash = auth.hash_password(body.new_password)
            ended = lifecycle.revoke_sessions(s, call.record_id, now, keep=call.session.id)
            s.execute(
                update(LoginChallenge)
                .where(
                    LoginChallenge.record_id == call.record_id,
                    LoginChallenge.purpose == "login",
                    LoginChallenge.used_at.is_(None),
                )
                .values(used_at=now)
            )
            _trace(s, call, "password.change", now)
            notifications.password_changed(s, record, now, ended)
            done = AccountDone(
                message={
                    "fr": f"Votre mot de passe est changé. Vos autres sessions sont terminées "
                    f"({ended}) ; celle-ci continue. Un message vous le confirme par email et "
                    "SMS.",
                    "en": f"Your password is changed. Your other sessions have ended ({ended}); "
                    "this one goes on. A message confirms it by email and SMS.",
                },
                sessions_ended=ended,
            )
            return keyed.store(json_response(done))
