"""Patient login: INS + password, then a one-time code (authenticator app, or a code sent by SMS
or email through the outbox); refresh, logout, and step-up for sensitive actions."""

from __future__ import annotations

import math
from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from dmptui.host import activation, auth, crypto, ledger, lockout, notifications, policy
from dmptui.host.context import ApiError, Refused
from dmptui.host.db import (
    AuthSession,
    KnownDevice,
    LoginChallenge,
    LoginThrottle,
    Record,
    SpentRefreshToken,
)
from dmptui.host.routes.common import (
    bearer,
    host_of,
    patient_present,
    seen_from,
    session_alive,
)
from dmptui.identifiers import IdentifierError, parse_ins
from dmptui.schema import (
    DEVICE_HEADER,
    ActivateRequest,
    Channel,
    ErrorBody,
    LoginRequest,
    OtpRequest,
    OtpSent,
    RecordStatus,
    RefreshRequest,
    StepUpDone,
    StepUpOtpRequest,
    StepUpRequest,
    Tokens,
    TotpEnrolment,
    VerifyRequest,
)
from dmptui.schema import (
    LoginChallenge as LoginChallengeOut,
)

router = APIRouter(prefix="/v1/auth", tags=["patient: authentication"])

INVALID = ApiError(
    401,
    "invalid_credentials",
    message="The INS or the password is wrong. Check both and try again.",
)
WRONG_CODE = ApiError(
    401,
    "invalid_code",
    field="code",
    message="This code is wrong, expired or already used. Type a new code.",
)


def _device(request: Request) -> str:
    raw = request.headers.get(DEVICE_HEADER) or request.headers.get("user-agent", "")
    return auth.digest(raw)[:32]


def _own_device(request: Request) -> str | None:
    """The device as ``_device`` names it, when the request carries the app's own random device
    id (``X-Device-Id``, long enough to be one); None otherwise (a user agent is no id: anyone
    can send the same). Only such a device, once it has logged in to a record, is counted apart."""
    raw = request.headers.get(DEVICE_HEADER, "")
    if len(raw.strip()) < policy.KNOWN_DEVICE_ID_MIN:
        return None
    return auth.digest(raw)[:32]


def _minutes(until: datetime, now: datetime) -> tuple[int, int]:
    seconds = max(1, math.ceil((until - now).total_seconds()))
    return seconds, max(1, math.ceil(seconds / 60))


def _locked(until: datetime, now: datetime, step_up: bool = False) -> Refused:
    """The refusal during a pause: the attempt is neither checked nor counted."""
    seconds, minutes = _minutes(until, now)
    what = "confirming with a code" if step_up else "logging in"
    return Refused(
        429,
        "locked",
        reason="step_up" if step_up else None,
        headers={"Retry-After": str(seconds)},
        locked_until=until,
        message=f"Too many failed attempts: {what} is paused until {until:%H:%M} UTC "
        f"(in {minutes} min). Try again then.",
    )


def _check_locked(row: LoginThrottle, now: datetime, step_up: bool = False) -> None:
    until = policy.paused_until(lockout.tries(row), now)
    if until is not None:
        raise _locked(until, now, step_up)


def _failed(row: LoginThrottle, now: datetime, error: ApiError, step_up: bool = False) -> Refused:
    """Count the failure, and the refusal that says it: the tries left from the third failure
    in a row, and when the pause ends if this failure started one."""
    verdict = lockout.fail(row, now)
    message = error.message
    headers = None
    if verdict.paused_until is not None:
        seconds, minutes = _minutes(verdict.paused_until, now)
        what = "confirming with a code" if step_up else "logging in"
        message += (
            f" Too many failed attempts: {what} is paused until "
            f"{verdict.paused_until:%H:%M} UTC (in {minutes} min)."
        )
        headers = {"Retry-After": str(seconds)}
    elif verdict.tries_left is not None:
        message += f" Tries left before a pause: {verdict.tries_left}."
    return Refused(
        error.status,
        error.error,
        reason="step_up" if step_up else error.reason,
        field=error.field,
        message=message,
        headers=headers,
        tries_left=verdict.tries_left,
        locked_until=verdict.paused_until,
    )


ERASED = ApiError(
    410,
    "account_erased",
    message="This record was erased, and its account with it: logging in is no longer "
    "possible, and nothing of the record can be recovered. To open a new record, contact "
    "your health insurance fund.",
)


@router.post("/login", response_model=LoginChallengeOut)
def login(body: LoginRequest, request: Request) -> LoginChallengeOut:
    host = host_of(request)
    try:
        ins = parse_ins(body.ins).value
    except IdentifierError as e:
        raise ApiError(422, "invalid_input", field="ins", reason=e.code, message=e.expected) from e
    with host.tx() as s:
        now = host.now()
        record = s.scalar(select(Record).where(Record.ins == ins))
        # Counted apart only for a device that logged in to this record before: a stranger's
        # device never has, so for a stranger every INS, with a record or not, shares one counter.
        # The same look-up whether or not the INS has a record (no answer, nor its time, tells).
        own = _own_device(request)
        known = (
            own is not None
            and s.get(KnownDevice, (record.id if record else 0, own)) is not None
            and record is not None
        )
        row = lockout.counter(s, ins, policy.throttle_scope(False, own, known), now)
        _check_locked(row, now)
        ok = auth.verify_password(record.password_hash if record else None, body.password)
        if not ok or record is None:
            failed = _failed(row, now, INVALID)
            if record is not None and record.status != "erased":
                ledger.append(
                    s,
                    record.id,
                    ledger.Actor.of_patient(record),
                    "login",
                    now=now,
                    allowed=False,
                    reason="bad_password",
                )
            raise failed
        if record.status == RecordStatus.ERASED:
            # Only whoever knows the password learns it: everyone else got INVALID above. The
            # erased row keeps the password's hash for this answer alone (lifecycle.erase).
            raise Refused(ERASED.status, ERASED.error, message=ERASED.message)
        challenge = auth.new_token()
        s.add(
            LoginChallenge(
                id=auth.digest(challenge),
                record_id=record.id,
                purpose="login",
                created_at=now,
                expires_at=now + auth.CHALLENGE_TTL,
                device=_device(request),
                codes_sent=0,
                attempts=0,
            )
        )
        channels = ["totp"] + [c for c, v in (("sms", record.phone), ("email", record.email)) if v]
        # The password alone never gives the authenticator's secret: a record not yet activated
        # asks for the activation code (POST /activate), which gives it.
        return LoginChallengeOut(
            challenge=challenge,
            channels=channels,
            enrolment=None,
            activation_required=record.activated_at is None,
        )


ALREADY_ACTIVATED = ApiError(
    409,
    "already_activated",
    field="activation_code",
    message="This record is already activated: type a code of your authenticator app. If you "
    "lost it, contact the support desk.",
)
WRONG_ACTIVATION_CODE = ApiError(
    401,
    "invalid_activation_code",
    field="activation_code",
    message="This activation code is wrong, expired or already used. Check the letter; if it "
    "is older than 30 days, ask for a new one.",
)


def _not_activated() -> ApiError:
    return ApiError(
        403,
        "activation_required",
        field="activation_code",
        message="This record is not activated yet: give the activation code of your letter "
        "(POST /v1/auth/activate) before any code.",
    )


def _challenge(s: Session, raw: str, now: datetime, purpose: str) -> LoginChallenge:
    # Locked: two processes given the same challenge and code accept it once.
    ch = s.get(LoginChallenge, auth.digest(raw), with_for_update=True)
    if ch is None or ch.purpose != purpose or ch.used_at is not None or ch.expires_at <= now:
        raise ApiError(
            401,
            "challenge_expired",
            field="challenge",
            message="This login attempt has expired. Start again with your INS and password.",
        )
    return ch


def _send_code(
    s: Session, record: Record, ch: LoginChallenge, channel: Channel, now: datetime
) -> OtpSent:
    destination = record.phone if channel == "sms" else record.email
    if not destination:
        raise ApiError(
            422,
            "invalid_input",
            field="channel",
            message=f"No {channel} contact is registered for this record.",
        )
    if ch.codes_sent >= auth.MAX_CODES_SENT:
        raise ApiError(
            429,
            "too_many_codes",
            field="channel",
            message="Too many codes were sent. Start again in a few minutes.",
        )
    code = auth.new_code()
    ch.code_hash = auth.digest(code)
    ch.code_expires_at = now + auth.CODE_TTL
    ch.codes_sent += 1
    notifications.one_time_code(s, channel, destination, code, record.id, now)
    return OtpSent(
        channel=channel,
        destination=auth.mask_destination(channel, destination),
        expires_in=int(auth.CODE_TTL.total_seconds()),
    )


@router.post("/otp", response_model=OtpSent)
def send_otp(body: OtpRequest, request: Request) -> OtpSent:
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        ch = _challenge(s, body.challenge, now, "login")
        record = s.get(Record, ch.record_id)
        assert record is not None
        if record.activated_at is None:
            raise _not_activated()
        return _send_code(s, record, ch, body.channel, now)


def _check_code_format(code: str) -> str:
    code = code.strip().replace(" ", "")
    if len(code) != auth.CODE_DIGITS or not code.isdigit():
        raise ApiError(
            422,
            "invalid_input",
            field="code",
            reason="code_format",
            message=f"The code has {auth.CODE_DIGITS} digits.",
        )
    return code


def _code_ok(
    s: Session, record: Record, ch: LoginChallenge | None, code: str, now: datetime
) -> bool:
    """A code sent for this challenge, or a fresh TOTP step (a used step is refused)."""
    if ch is not None and ch.code_hash and ch.code_expires_at and ch.code_expires_at > now:
        if auth.same(ch.code_hash, auth.digest(code)):
            ch.code_hash = None  # one use
            return True
    secret = crypto.open_totp(s, record.id, record.totp_secret_sealed)
    if secret:
        step = auth.verify_totp(secret, code, record.totp_last_step, now)
        if step is not None:
            record.totp_last_step = step
            return True
    return False


def _issue(
    s: Session, record: Record, device: str, now: datetime, fresh: bool, request: Request
) -> Tokens:
    access, refresh = auth.new_token(), auth.new_token()
    app, address = seen_from(request)
    s.add(
        AuthSession(
            record_id=record.id,
            access_hash=auth.digest(access),
            refresh_hash=auth.digest(refresh),
            created_at=now,
            last_seen_at=now,
            device=device,
            fresh_until=now + auth.FRESH_FOR if fresh else None,
            app=app,
            address=address,
        )
    )
    return Tokens(
        access_token=access, refresh_token=refresh, expires_in=int(auth.ACCESS_IDLE.total_seconds())
    )


@router.post("/verify", response_model=Tokens)
def verify(body: VerifyRequest, request: Request) -> Tokens:
    host = host_of(request)
    code = _check_code_format(body.code)
    with host.tx() as s:
        now = host.now()
        ch = _challenge(s, body.challenge, now, "login")
        # Locks in one order everywhere (challenge, throttle, record), so processes never
        # deadlock; the record's lock guards the TOTP step used (a code is accepted once).
        ins = s.scalar(select(Record.ins).where(Record.id == ch.record_id))
        assert ins is not None
        own = _own_device(request)
        own_known = own == ch.device and s.get(KnownDevice, (ch.record_id, own)) is not None
        row = lockout.counter(s, ins, policy.throttle_scope(False, own, own_known), now)
        record = s.get(Record, ch.record_id, with_for_update=True, populate_existing=True)
        assert record is not None
        _check_locked(row, now)
        if record.activated_at is None:
            raise _not_activated()
        actor = ledger.Actor.of_patient(record)
        if ch.attempts >= auth.MAX_CODE_ATTEMPTS:
            ch.used_at = now
            raise Refused(
                401,
                "challenge_expired",
                field="challenge",
                message="Too many wrong codes. Start again with your INS and password.",
            )
        if not _code_ok(s, record, ch, code, now):
            ch.attempts += 1
            failed = _failed(row, now, WRONG_CODE)
            ledger.append(s, record.id, actor, "login", now=now, allowed=False, reason="bad_code")
            raise failed
        ch.used_at = now
        record.totp_enrolled = record.totp_enrolled or record.totp_secret_sealed is not None
        lockout.succeed(row)
        app, address = seen_from(request)
        known = s.get(KnownDevice, (record.id, ch.device))
        if known is None:
            first_device = (
                s.scalar(select(KnownDevice).where(KnownDevice.record_id == record.id)) is None
            )
            known = KnownDevice(record_id=record.id, device=ch.device, first_seen=now)
            s.add(known)
            if not first_device:
                notifications.new_device(s, record, now)
        known.last_seen, known.app, known.address = now, app, address
        ledger.append(s, record.id, actor, "login", now=now, allowed=True)
        return _issue(s, record, ch.device, now, fresh=True, request=request)


@router.post(
    "/activate",
    response_model=TotpEnrolment,
    responses={
        401: {
            "model": ErrorBody,
            "description": "`invalid_activation_code`: wrong, expired, already used, or dead "
            "after too many tries (each failure counts on the login throttle); "
            "`challenge_expired`: log in again with the password.",
        },
        409: {"model": ErrorBody, "description": "`already_activated`: the record is."},
    },
)
def activate(body: ActivateRequest, request: Request) -> TotpEnrolment:
    """The first enrolment of the authenticator: the challenge of a login with the password
    (which answered ``activation_required``) and the activation code of the letter. Answers
    the secret and its otpauth URI, once; the login goes on with POST /verify on the same
    challenge and a code of the authenticator."""
    host = host_of(request)
    if activation.normalise(body.activation_code) is None:
        raise ApiError(
            422,
            "invalid_input",
            field="activation_code",
            reason="code_format",
            message=f"The activation code has {activation.LENGTH} letters and digits, as in "
            "ABCD-EFGH-JKLM.",
        )
    with host.tx() as s:
        now = host.now()
        ch = _challenge(s, body.challenge, now, "login")
        # The lock order of verify(): challenge, throttle, record; the same counter as a
        # login's (a stranger's device shares the INS's one).
        ins = s.scalar(select(Record.ins).where(Record.id == ch.record_id))
        assert ins is not None
        own = _own_device(request)
        own_known = own == ch.device and s.get(KnownDevice, (ch.record_id, own)) is not None
        row = lockout.counter(s, ins, policy.throttle_scope(False, own, own_known), now)
        record = s.get(Record, ch.record_id, with_for_update=True, populate_existing=True)
        assert record is not None
        _check_locked(row, now)
        actor = ledger.Actor.of_patient(record)
        if record.activated_at is not None:
            failed = _failed(row, now, ALREADY_ACTIVATED)
            ledger.append(
                s,
                record.id,
                actor,
                "activation",
                now=now,
                allowed=False,
                reason="already_activated",
            )
            raise failed
        if ch.attempts >= auth.MAX_CODE_ATTEMPTS:
            ch.used_at = now
            raise Refused(
                401,
                "challenge_expired",
                field="challenge",
                message="Too many wrong codes. Start again with your INS and password.",
            )
        if not activation.redeem(s, record, body.activation_code, now):
            ch.attempts += 1
            failed = _failed(row, now, WRONG_ACTIVATION_CODE)
            ledger.append(
                s, record.id, actor, "activation", now=now, allowed=False, reason="bad_code"
            )
            raise failed
        secret = activation.activate(s, record, now)
        ledger.append(s, record.id, actor, "activation", now=now, allowed=True)
        return TotpEnrolment(secret=secret, uri=auth.totp_uri(secret, record.ins))


def _ended(reason: str | None = None) -> ApiError:
    return ApiError(
        401,
        "session_expired",
        reason=reason,
        field="refresh_token",
        message="Your session has ended; log in again.",
    )


@router.post(
    "/refresh",
    response_model=Tokens,
    responses={
        401: {
            "model": ErrorBody,
            "description": "The session has ended (error `session_expired`); log in again. "
            "Reason `idle`: 15 minutes without a request, the session is ended for good. "
            "Reason `refresh_reused`: a refresh token already exchanged was shown again; the "
            "whole session is ended, newer tokens included.",
        }
    },
)
def refresh(body: RefreshRequest, request: Request) -> Tokens:
    """New tokens for the refresh token; both are rotated, and the one given up is spent.

    The refresh rule: a refresh token lives exactly as long as its session, and no longer. It is
    refused (401 ``session_expired``) once the session has ended: logged out, revoked (record
    closed or erased), past its absolute limit (12 h), or idle for more than the access
    token's idle limit (15 min without a request; reason ``idle``; the session is then ended
    for good, so "remember me" does not outlive the idle limit either).

    Reuse detection (OAuth 2.0 Security BCP, refresh token rotation): a refresh token already
    exchanged, shown again, is refused (reason ``refresh_reused``) and ends the whole session,
    so whoever holds the newer tokens is logged out too; the patient's trace says so."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        presented = auth.digest(body.refresh_token)
        sess = s.scalar(
            select(AuthSession)
            .where(AuthSession.refresh_hash == presented)
            .with_for_update()  # a refresh token is exchanged once, whichever process gets it
        )
        if sess is None:
            _reused(s, presented, now)
            raise _ended()
        if sess.revoked_at is not None or now - sess.created_at > auth.SESSION_ABSOLUTE:
            raise _ended()
        if now - sess.last_seen_at > auth.ACCESS_IDLE:
            sess.revoked_at = now  # idle: the session ends here, not just this refresh
            e = _ended("idle")
            raise Refused(e.status, e.error, reason=e.reason, field=e.field, message=e.message)
        s.add(
            SpentRefreshToken(
                token_hash=sess.refresh_hash,
                session_id=sess.id,
                record_id=sess.record_id,
                spent_at=now,
            )
        )
        access, new_refresh = auth.new_token(), auth.new_token()
        sess.access_hash = auth.digest(access)
        sess.refresh_hash = auth.digest(new_refresh)
        sess.last_seen_at = now
        sess.app, sess.address = seen_from(request)
        known = s.get(KnownDevice, (sess.record_id, sess.device))
        if known is not None:  # still remembered (not forgotten since)
            known.last_seen, known.app, known.address = now, sess.app, sess.address
        left = auth.SESSION_ABSOLUTE - (now - sess.created_at)
        return Tokens(
            access_token=access,
            refresh_token=new_refresh,
            expires_in=int(min(auth.ACCESS_IDLE, left).total_seconds()),
        )


def _reused(s: Session, presented: str, now: datetime) -> None:
    """A spent refresh token shown again: end its session (if it still lives) and trace it."""
    spent = s.get(SpentRefreshToken, presented)
    if spent is None:
        return
    sess = s.get(AuthSession, spent.session_id, with_for_update=True, populate_existing=True)
    if sess is None or sess.record_id != spent.record_id:
        return
    ended_now = sess.revoked_at is None
    if ended_now:
        sess.revoked_at = now
        record = s.get(Record, sess.record_id)
        assert record is not None
        ledger.append(
            s,
            record.id,
            ledger.Actor.of_patient(record),
            "session.reuse",
            now=now,
            allowed=False,
            reason="refresh_reused",
        )
    e = _ended("refresh_reused")
    raise Refused(e.status, e.error, reason=e.reason, field=e.field, message=e.message)


@router.post("/logout", status_code=204, dependencies=[Depends(patient_present)])
def logout(request: Request) -> Response:
    host = host_of(request)
    token = bearer(request)
    with host.tx() as s:
        now = host.now()
        sess = s.scalar(select(AuthSession).where(AuthSession.access_hash == auth.digest(token)))
        if sess is None or not session_alive(sess, now):
            raise ApiError(
                401,
                "session_expired",
                message="This session had already ended.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if sess.revoked_at is None:
            sess.revoked_at = now
            record = s.get(Record, sess.record_id)
            assert record is not None
            ledger.append(
                s, record.id, ledger.Actor.of_patient(record), "logout", now=now, allowed=True
            )
    return Response(status_code=204)


def _live_session(s: Session, request: Request, now: datetime) -> tuple[AuthSession, Record]:
    # Locked first, as every patient request's session touch does: the lock order is session,
    # challenge, throttle, record, so concurrent requests on one session cannot deadlock.
    sess = s.scalar(
        select(AuthSession)
        .where(AuthSession.access_hash == auth.digest(bearer(request)))
        .with_for_update()
    )
    if not session_alive(sess, now):
        raise ApiError(401, "session_expired", message="Your session has ended; log in again.")
    assert sess is not None
    record = s.get(Record, sess.record_id)
    assert record is not None
    return sess, record


@router.post("/step-up/otp", response_model=OtpSent, dependencies=[Depends(patient_present)])
def step_up_send(body: StepUpOtpRequest, request: Request) -> OtpSent:
    """Send a one-time code by SMS or email, to be given to POST /v1/auth/step-up."""
    host = host_of(request)
    with host.tx() as s:
        now = host.now()
        sess, record = _live_session(s, request, now)
        ch = s.scalar(
            select(LoginChallenge).where(
                LoginChallenge.session_id == sess.id,
                LoginChallenge.purpose == "step-up",
                LoginChallenge.used_at.is_(None),
                LoginChallenge.expires_at > now,
            )
        )
        if ch is None:
            ch = LoginChallenge(
                id=auth.digest(auth.new_token()),
                record_id=record.id,
                purpose="step-up",
                session_id=sess.id,
                created_at=now,
                expires_at=now + auth.CHALLENGE_TTL,
                device=sess.device,
                codes_sent=0,
                attempts=0,
            )
            s.add(ch)
        return _send_code(s, record, ch, body.channel, now)


@router.post("/step-up", response_model=StepUpDone, dependencies=[Depends(patient_present)])
def step_up(body: StepUpRequest, request: Request) -> StepUpDone:
    host = host_of(request)
    code = _check_code_format(body.code)
    with host.tx() as s:
        now = host.now()
        sess, record = _live_session(s, request, now)
        ch = s.scalar(
            select(LoginChallenge)
            .where(
                LoginChallenge.session_id == sess.id,
                LoginChallenge.purpose == "step-up",
                LoginChallenge.used_at.is_(None),
                LoginChallenge.expires_at > now,
            )
            .with_for_update()
        )
        # Its own counter: a login pause (a stranger's failures on the INS) never refuses the
        # patient's step-up, and wrong codes here never pause logging in.
        row = lockout.counter(s, record.ins, policy.STEP_UP, now)
        s.refresh(record, with_for_update=True)  # the TOTP step used, see verify()
        _check_locked(row, now, step_up=True)
        if not _code_ok(s, record, ch, code, now):
            failed = _failed(row, now, WRONG_CODE, step_up=True)
            if ch is not None:
                ch.attempts += 1
            raise failed
        lockout.succeed(row)
        if ch is not None:
            ch.used_at = now
        sess.fresh_until = now + auth.FRESH_FOR
        sess.last_seen_at = now
        return StepUpDone(fresh_for=int(auth.FRESH_FOR.total_seconds()))
