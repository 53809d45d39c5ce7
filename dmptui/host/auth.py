"""Patient authentication primitives: argon2id passwords, TOTP with replay refusal, sent codes,
and opaque tokens. No HTTP here; the auth routes compose these (the throttle: ``lockout.py``,
its rule in ``policy.py``)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from functools import cache
from importlib import resources

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

MIN_PASSWORD = 12
TOTP_PERIOD = 30
TOTP_DRIFT_STEPS = 1
CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
CHALLENGE_TTL = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5
MAX_CODES_SENT = 3
ACCESS_IDLE = timedelta(minutes=15)
SESSION_ABSOLUTE = timedelta(hours=12)
FRESH_FOR = timedelta(minutes=5)

# argon2id, m = 19 MiB, t = 2, p = 1 (OWASP's minimum for argon2id).
_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
_DUMMY_HASH = _hasher.hash("not a password: equalises timing for unknown accounts")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """Constant work whether or not the account exists (unknown INS looks like a wrong password)."""
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and stored is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


@cache
def _common_passwords() -> frozenset[str]:
    text = resources.files("dmptui.host").joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip())


def password_problem(password: str, ins: str) -> str | None:
    """Why a new password is refused (a stable code), or None if it is acceptable."""
    if len(password) < MIN_PASSWORD:
        return "password_too_short"
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) <= 3:
        return "password_too_common"
    digits = "".join(ch for ch in password if ch.isdigit())
    compact = ins.upper()
    # Built from the INS: contains 6+ consecutive characters of it, or its digits are mostly it.
    for i in range(len(compact) - 5):
        if compact[i : i + 6] in password.upper():
            return "password_from_ins"
    if len(digits) >= 6 and digits in compact:
        return "password_from_ins"
    return None


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, ins: str, issuer: str = "DMP") -> str:
    return pyotp.TOTP(secret, interval=TOTP_PERIOD).provisioning_uri(
        name=f"{ins[:1]}…{ins[-4:]}", issuer_name=issuer
    )


def verify_totp(secret: str, code: str, last_step: int, now: datetime) -> int | None:
    """The accepted time step, or None. One step of drift either way; a step at or before
    ``last_step`` is refused (the code was already used), which pyotp does not do by itself."""
    totp = pyotp.TOTP(secret, interval=TOTP_PERIOD)
    current = int(now.timestamp()) // TOTP_PERIOD
    for step in range(current - TOTP_DRIFT_STEPS, current + TOTP_DRIFT_STEPS + 1):
        if step <= last_step:
            continue
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def new_token() -> str:
    """128 random bits, URL-safe."""
    return secrets.token_urlsafe(16)


def digest(secret: str) -> str:
    """Tokens, challenges, codes and credentials are stored as SHA-256 digests only."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same(a: str | None, b: str) -> bool:
    return a is not None and hmac.compare_digest(a, b)


def mask_destination(channel: str, value: str) -> str:
    if channel == "email":
        name, _, domain = value.partition("@")
        return f"{name[:1]}•••@{domain}"
    digits = "".join(ch for ch in value if ch.isdigit())
    return f"•• •• •• {digits[-2:]}"
