"""The login throttle's rows: one counter per INS and scope (the devices that never logged in to
the record, each known device, the step-up), read and written here; the rule (how many tries,
how long a pause, who is counted apart) is ``policy.py``'s. Used by the login and step-up routes,
and by a successful password reset and the support desk (``end_lock``, ``locked_until``)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from dmptui.host import policy
from dmptui.host.db import LoginThrottle


def counter(s: Session, ins: str, scope: str, now: datetime) -> LoginThrottle:
    """The counter's row, created if missing and locked for this transaction: host processes on
    one PostgreSQL database count every failure (no lost update, no duplicate-key error when two
    first attempts race). On SQLite the transaction already holds the write lock. Failures
    forgotten by the rule (a quiet day) are cleared here."""
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    s.execute(
        insert(LoginThrottle)
        .values(ins=ins, scope=scope, failures=0, last_failure_at=now)
        .on_conflict_do_nothing(index_elements=["ins", "scope"])
    )
    row = s.get(LoginThrottle, (ins, scope), with_for_update=True, populate_existing=True)
    assert row is not None
    _store(row, policy.current_tries(tries(row), now))
    return row


def tries(row: LoginThrottle) -> policy.Tries:
    return policy.Tries(row.failures, row.last_failure_at, row.locked_until)


def _store(row: LoginThrottle, t: policy.Tries) -> None:
    row.failures = t.failures
    row.locked_until = t.paused_until
    if t.last_failure is not None:
        row.last_failure_at = t.last_failure


def fail(row: LoginThrottle, now: datetime) -> policy.TryVerdict:
    """Count one failure on the counter (policy.after_failure) and say what it led to."""
    verdict = policy.after_failure(tries(row), now)
    _store(row, verdict.tries)
    return verdict


def succeed(row: LoginThrottle) -> None:
    """A success on this counter: its failures are forgotten (the others' are not)."""
    row.failures = 0
    row.locked_until = None


def end_lock(s: Session, ins: str, now: datetime) -> bool:
    """End every pause on ``ins`` (the devices that never logged in, each known device, the
    step-up) and forget their failures; True if any was running at ``now``."""
    rows = s.scalars(
        select(LoginThrottle)
        .where(LoginThrottle.ins == ins)
        .order_by(LoginThrottle.scope)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    was_locked = any(r.locked_until is not None and r.locked_until > now for r in rows)
    for row in rows:
        row.failures = 0
        row.locked_until = None
        row.last_failure_at = now
    return was_locked


def locked_until(s: Session, ins: str, now: datetime) -> datetime | None:
    """When the last running login pause on ``ins`` ends (from the devices that never logged in,
    or from one of the known devices), or None if logging in is paused nowhere at ``now`` (for
    the support desk's account view). A step-up pause is not a login lock: not counted here."""
    ends = s.scalars(
        select(LoginThrottle.locked_until).where(
            LoginThrottle.ins == ins,
            LoginThrottle.scope != policy.STEP_UP,
            LoginThrottle.locked_until > now,
        )
    ).all()
    return max((e for e in ends if e is not None), default=None)
