"""Activation codes: the first enrolment of the second factor needs one, with the password.

A record opened by a practitioner (POST /v1/ps/records) has a provisional password, handed to
the patient by the practitioner, and no session can start with it alone: the login answers
``activation_required``, and POST /v1/auth/activate takes the login's challenge and the
activation code, which reaches the patient by letter (outbox channel ``letter``). Two channels,
so neither the practitioner nor whoever opens the letter can enrol an authenticator alone.

A code is 12 characters from an alphabet without look-alikes, shown as ``ABCD-EFGH-JKLM``
(60 bits); it is stored as its SHA-256 digest, expires after ``TTL``, is used once, and dies
after ``MAX_TRIES`` wrong tries (the login throttle counts the failures too). Issuing a code
replaces the record's unused ones.

For the support desk (resending a code): ``issue(s, record, now)``, in the caller's transaction,
returns the code and puts the letter in the outbox; the caller writes the trace entry and the
notification, as its own actor. A code only activates a record not yet activated
(``record.activated_at is None``; POST /activate answers 409 ``already_activated`` otherwise):
to let a patient who lost their authenticator enrol a new one, the caller also sets
``record.activated_at = None``: from then on no login ends before the new code is given (the
old authenticator is refused at once), and ``activate`` draws a new secret.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from dmptui.host import auth, crypto, notifications, outbox
from dmptui.host.db import ActivationCode, Record

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no I, O, 0, 1
GROUPS = 3
GROUP = 4
LENGTH = GROUPS * GROUP
TTL = timedelta(days=30)  # a letter takes days; the patient may not open it at once
MAX_TRIES = 5
PASSWORD_GROUPS = 4  # the provisional password: 4 groups of 4, 80 bits


def _random(n: int) -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(n))


def _grouped(raw: str) -> str:
    return "-".join(raw[i : i + GROUP] for i in range(0, len(raw), GROUP))


def normalise(code: str) -> str | None:
    """The code as stored (upper case, no spaces nor dashes), or None if it cannot be one."""
    compact = "".join(code.split()).replace("-", "").upper()
    if len(compact) != LENGTH or any(c not in ALPHABET for c in compact):
        return None
    return compact


def provisional_password() -> str:
    """The password a practitioner hands over when opening a record; meets
    ``auth.password_problem`` (16 characters, random)."""
    return _grouped(_random(PASSWORD_GROUPS * GROUP))


def issue(s: Session, record: Record, now: datetime) -> str:
    """A new activation code for ``record``, valid ``TTL``: its digest is stored (the record's
    unused codes are dropped), the letter is put in the outbox, and the code is returned
    (``ABCD-EFGH-JKLM``). Writes neither trace nor notification: the caller does."""
    s.execute(
        delete(ActivationCode).where(
            ActivationCode.record_id == record.id, ActivationCode.used_at.is_(None)
        )
    )
    raw = _random(LENGTH)
    expires = now + TTL
    s.add(
        ActivationCode(
            record_id=record.id,
            code_hash=auth.digest(raw),
            created_at=now,
            expires_at=expires,
            tries=0,
        )
    )
    code = _grouped(raw)
    _letter(s, record, code, expires, now)
    return code


def _letter(s: Session, record: Record, code: str, expires: datetime, now: datetime) -> None:
    fr_day, en_day = notifications.day(expires, "fr"), notifications.day(expires, "en")
    outbox.enqueue(
        s,
        channel="letter",
        recipient=record.display_name or record.ins,
        subject="Activation de votre DMP / Activating your DMP",
        body=(
            f"Bonjour {record.display_name},\n\n"
            "Votre dossier médical partagé (DMP) a été ouvert. Pour l'activer, ouvrez "
            "l'application, connectez-vous avec votre INS et le mot de passe provisoire que "
            "votre professionnel de santé vous a remis, puis tapez ce code d'activation :\n\n"
            f"    {code}\n\n"
            f"Il sert une seule fois, jusqu'au {fr_day}. Ne le donnez à personne. Ensuite, "
            "changez votre mot de passe. Si vous n'avez rien demandé, contactez le support.\n\n"
            f"Hello {record.display_name},\n\n"
            "Your shared medical record (DMP) has been opened. To activate it, open the app, "
            "log in with your INS and the provisional password your practitioner gave you, "
            "then type this activation code:\n\n"
            f"    {code}\n\n"
            f"It works once, until {en_day}. Never share it. Then change your password. If you "
            "asked for nothing, contact support.\n"
        ),
        record_id=record.id,
        now=now,
    )


def redeem(s: Session, record: Record, code: str, now: datetime) -> bool:
    """True, and the code is spent, if ``code`` is the record's live code (not used, not
    expired, fewer than ``MAX_TRIES`` wrong tries); a wrong code counts a try."""
    live = s.scalar(
        select(ActivationCode)
        .where(
            ActivationCode.record_id == record.id,
            ActivationCode.used_at.is_(None),
            ActivationCode.expires_at > now,
            ActivationCode.tries < MAX_TRIES,
        )
        .order_by(ActivationCode.id.desc())
        .limit(1)
        .with_for_update()
    )
    if live is None:
        return False
    compact = normalise(code)
    if compact is not None and auth.same(live.code_hash, auth.digest(compact)):
        live.used_at = now
        return True
    live.tries += 1
    return False


def activate(s: Session, record: Record, now: datetime) -> str:
    """The record activated: a new authenticator secret (any earlier one is void), returned
    to be shown once."""
    secret = auth.new_totp_secret()
    record.totp_secret_sealed = crypto.seal_totp(s, record.id, secret, now)
    record.totp_last_step = 0
    record.totp_enrolled = False
    record.activated_at = now
    return secret
