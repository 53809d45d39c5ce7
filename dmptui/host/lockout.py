"""The login lock of an account: ended by a successful password reset and by the support desk.
(The counting itself is in ``routes/auth.py``; the rule for it belongs in ``policy.py``.)"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from dmptui.host.db import LoginThrottle


def end_lock(s: Session, ins: str, now: datetime) -> bool:
    """End the lock on ``ins`` and forget its failures; True if it was locked at ``now``."""
    row = s.get(LoginThrottle, ins, with_for_update=True, populate_existing=True)
    if row is None:
        return False
    was_locked = row.locked_until is not None and row.locked_until > now
    row.locked_until = None
    row.failures = 0
    row.window_start = now
    return was_locked


def locked_until(s: Session, ins: str, now: datetime) -> datetime | None:
    """When the login lock on ``ins`` ends, or None if it is not locked at ``now`` (for the
    support desk's account view)."""
    row = s.get(LoginThrottle, ins)
    if row is None or row.locked_until is None or row.locked_until <= now:
        return None
    return row.locked_until
