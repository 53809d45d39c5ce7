"""The outbox: every email, SMS and one-time code leaves the host through the `outbox` table.

A request adds a row with `enqueue` inside its own transaction (so a message exists if and only
if the change that caused it was committed); `deliver_pending` later hands the rows to a transport
and marks them sent. Several host processes may run `deliver_pending` at once: each row is
claimed with an atomic conditional UPDATE in its own short transaction before it is sent, and no
transaction is held open while a transport talks to the network.

While a row is being sent its `last_error` holds a lease marker ("in flight until <UTC time>"),
so another process leaves it alone; if the sender dies, the row is retried once the lease has
expired. A row is therefore sent at least once, and twice only if a send outlives its lease.

Bodies can hold one-time codes: they are stored sealed under the host's outbox key (derived
from the master key, see crypto.py), blanked once delivered, never logged and never stored in
`last_error`; recipients (personal data) are not logged either, only message ids and channels.
"""

from __future__ import annotations

import logging
import re
import smtplib
import ssl
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from pathlib import Path
from typing import Any, Protocol

import httpx
from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from dmptui import settings
from dmptui.host import crypto, outbox_file
from dmptui.host.db import OutboxMessage

log = logging.getLogger(__name__)

# "letter": a letter by post (the activation code, activation.py). No postal transport here:
# letters go to the file outbox, for whoever prints and posts them (and the demo phone).
CHANNELS = ("email", "sms", "letter")
MAX_ERROR_CHARS = 300
MAX_SUBJECT_CHARS = 200
MAX_RECIPIENT_CHARS = 254
DEFAULT_LEASE = timedelta(minutes=5)

_LEASE_PREFIX = "in flight until "
_LEASE_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"  # fixed width, so strings sort like times
_LEASE_CHARS = len(_LEASE_PREFIX) + len("2000-01-01T00:00:00.000000Z")


class Transport(Protocol):
    def send(self, message: OutboxMessage) -> None:
        """Deliver one message; raise on failure."""


# --- enqueue -------------------------------------------------------------------------------


def enqueue(
    session: Session,
    *,
    channel: str,
    recipient: str,
    subject: str,
    body: str,
    record_id: int | None,
    now: datetime,
) -> OutboxMessage:
    """Add a message to the session; the caller's transaction commits it with the rest."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown outbox channel {channel!r}")
    if not recipient or len(recipient) > MAX_RECIPIENT_CHARS or _has_line_break(recipient):
        raise ValueError("invalid outbox recipient")
    if len(subject) > MAX_SUBJECT_CHARS or _has_line_break(subject):
        raise ValueError("invalid outbox subject")
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the outbox")
    keyring = crypto.keyring_of(session)
    message = OutboxMessage(
        record_id=record_id,
        channel=channel,
        recipient=recipient,
        subject=subject,
        body_sealed=b"",
        created_at=now,
        sent_at=None,
        attempts=0,
        last_error=None,
    )
    session.add(message)
    session.flush()  # the row's id goes into the associated data
    message.body_sealed = keyring.seal_outbox(str(message.id), body)
    message.body = body
    return message


def _has_line_break(value: str) -> bool:
    return "\r" in value or "\n" in value


# --- transports ----------------------------------------------------------------------------


class FileTransport:
    """Appends one sealed JSON line per message to `directory/outbox.jsonl` (``outbox_file``:
    owner-only permissions, nothing readable without the master key; read it with
    ``outbox_file.read_messages``).

    The default when no SMTP server or SMS gateway is configured: an operator (``dmptui host
    outbox``), the demo phone or a test reads the file. Each line is written with a single
    locked append and fsynced; an erased record's lines are taken out (``erase_record``).
    """

    FILENAME = outbox_file.FILENAME

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    @property
    def path(self) -> Path:
        return self.directory / self.FILENAME

    def send(self, message: OutboxMessage) -> None:
        line = message.file_line
        if line is None:  # never the plaintext: the outbox seals the line when it sends
            raise ValueError("an outbox message reaches the file sealed (outbox.seal_for_file)")
        outbox_file.append(self.path, line)

    def erase_record(self, record_id: int) -> None:
        outbox_file.erase_records(self.path, [record_id])


def seal_for_file(keyring: crypto.Keyring, message: OutboxMessage) -> None:
    """Set ``message.file_line``: the message as the file outbox keeps it, sealed."""
    message.file_line = outbox_file.seal_line(
        keyring,
        message.id,
        message.record_id,
        {
            "channel": message.channel,
            "recipient": message.recipient,
            "subject": message.subject,
            "body": message.body,
            "created_at": message.created_at.isoformat(),
        },
    )


class SmtpTransport:
    """Email through an SMTP server (plain, or upgraded with STARTTLS), UTF-8 subject and body."""

    def __init__(
        self,
        host: str,
        port: int,
        sender: str,
        *,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = False,
        timeout: float = 10,
    ) -> None:
        self.host = host
        self.port = port
        self.sender = sender
        self.username = username
        self.password = password
        self.starttls = starttls
        self.timeout = timeout

    def __repr__(self) -> str:  # no password
        return f"SmtpTransport({self.host!r}, {self.port}, {self.sender!r})"

    def build(self, message: OutboxMessage) -> EmailMessage:
        if message.channel != "email":
            raise ValueError(f"SMTP cannot send a {message.channel!r} message")
        email = EmailMessage()
        email["From"] = self.sender
        email["To"] = message.recipient
        email["Subject"] = message.subject
        email["Date"] = format_datetime(datetime.now(UTC))
        # Stable per row, so a message sent twice (expired lease) can be recognised as one.
        domain = parseaddr(self.sender)[1].rpartition("@")[2] or "localhost"
        stamp = int(message.created_at.timestamp())
        email["Message-ID"] = f"<dmptui.outbox.{message.id}.{stamp}@{domain}>"
        # quoted-printable: 7-bit safe, whatever the server says about 8BITMIME.
        email.set_content(message.body, charset="utf-8", cte="quoted-printable")
        return email

    def send(self, message: OutboxMessage) -> None:
        email = self.build(message)
        with smtplib.SMTP(self.host, self.port, timeout=self.timeout) as smtp:
            smtp.ehlo()
            if self.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if self.username:
                smtp.login(self.username, self.password or "")
            envelope_from = parseaddr(self.sender)[1] or self.sender
            smtp.send_message(email, from_addr=envelope_from, to_addrs=[message.recipient])


class SmsGatewayError(RuntimeError):
    pass


class SmsGatewayTransport:
    """SMS through an HTTP gateway: POST {"to": ..., "text": ...} as JSON, 2xx means accepted."""

    def __init__(self, url: str, *, token: str | None = None, timeout: float = 10) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def __repr__(self) -> str:  # no token
        return "SmsGatewayTransport(...)"

    def send(self, message: OutboxMessage) -> None:
        if message.channel != "sms":
            raise ValueError(f"the SMS gateway cannot send a {message.channel!r} message")
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        response = httpx.post(
            self.url,
            json={"to": message.recipient, "text": message.body},
            headers=headers,
            timeout=self.timeout,
            follow_redirects=False,
        )
        if not 200 <= response.status_code < 300:
            # Neither the URL (it may carry a key) nor the answer's body (it may echo the text).
            raise SmsGatewayError(f"SMS gateway answered HTTP {response.status_code}")


class Router:
    """Dispatches each message to the transport of its channel. Letters go to ``letter``, by
    default the SMS transport when it keeps files (the file outbox), else a file outbox must be
    given: a letter never goes out by SMS or email."""

    def __init__(self, email: Transport, sms: Transport, letter: Transport | None = None) -> None:
        self.email = email
        self.sms = sms
        if letter is None:
            letter = next((t for t in (sms, email) if isinstance(t, FileTransport)), None)
        self.letter = letter

    def send(self, message: OutboxMessage) -> None:
        if message.channel == "email":
            self.email.send(message)
        elif message.channel == "sms":
            self.sms.send(message)
        elif message.channel == "letter":
            if self.letter is None:
                raise ValueError("no transport for letters (give Router a FileTransport)")
            self.letter.send(message)
        else:
            raise ValueError(f"unknown outbox channel {message.channel!r}")

    def erase_record(self, record_id: int) -> None:
        """Take an erased record's messages out of the transports that keep them (files)."""
        kept = (self.email, self.sms, self.letter)
        for transport in {id(t): t for t in kept if t is not None}.values():
            erase = getattr(transport, "erase_record", None)
            if erase is not None:
                erase(record_id)


def transport_from_env(data_dir: Path, env: Mapping[str, str] | None = None) -> Router:
    """SMTP if DMPTUI_SMTP_HOST is set, the SMS gateway if DMPTUI_SMS_GATEWAY_URL is set, and
    `FileTransport(data_dir / "outbox")` for whatever is not configured."""

    def get(name: str) -> Any:
        return settings.env_value(name, env)

    fallback = FileTransport(Path(data_dir) / "outbox")

    email: Transport = fallback
    host = get("smtp_host")
    if host:
        email = SmtpTransport(
            host,
            get("smtp_port") or 25,
            get("smtp_from") or "dmp@localhost",
            username=get("smtp_user"),
            password=get("smtp_password"),
            starttls=bool(get("smtp_starttls")),
        )

    sms: Transport = fallback
    url = get("sms_gateway_url")
    if url:
        sms = SmsGatewayTransport(url, token=get("sms_gateway_token"))

    return Router(email=email, sms=sms, letter=fallback)


# --- delivery ------------------------------------------------------------------------------


def deliver_pending(
    sessionmaker: sessionmaker[Session],
    transport: Transport,
    *,
    now: datetime,
    limit: int = 100,
    max_attempts: int = 8,
    lease: timedelta = DEFAULT_LEASE,
) -> int:
    """Send unsent messages, oldest first; return how many were sent.

    Each row is claimed (attempts + 1, lease marker in last_error) with a conditional UPDATE in
    its own transaction, sent with no transaction open, then marked sent (or its error stored)
    in another short transaction. Rows that reached `max_attempts` are left alone. `now` is the
    time at the start; it is advanced by the real time spent, for sent_at and the leases.
    """
    if now.tzinfo is None:
        raise ValueError("naive datetime given to the outbox")
    started = time.monotonic()

    def clock() -> datetime:
        return now + timedelta(seconds=time.monotonic() - started)

    with sessionmaker.begin() as s:
        candidates = s.execute(
            select(OutboxMessage.id, OutboxMessage.attempts)
            .where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.attempts < max_attempts,
                _not_leased(now),
            )
            .order_by(OutboxMessage.created_at, OutboxMessage.id)
            .limit(limit)
        ).all()

    sent = 0
    for message_id, seen in candidates:
        message = _claim(sessionmaker, message_id, seen, until=clock() + lease)
        if message is None:
            continue  # another process got there first
        try:
            transport.send(message)
        except Exception as exc:
            error = _describe(exc, message.body)
            log.warning(
                "outbox message %s (%s) not sent, attempt %s: %s",
                message_id,
                message.channel,
                seen + 1,
                type(exc).__name__,
            )
            with sessionmaker.begin() as s:
                s.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id == message_id,
                        OutboxMessage.sent_at.is_(None),
                        OutboxMessage.attempts == seen + 1,  # still our claim
                    )
                    .values(last_error=error)
                    .execution_options(synchronize_session=False)
                )
            continue
        with sessionmaker.begin() as s:
            marked = s.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.sent_at.is_(None))
                .values(sent_at=clock(), last_error=None, body_sealed=None)  # blanked once sent
                .execution_options(synchronize_session=False)
            )
            # An UPDATE's CursorResult has a rowcount (Session.execute is typed for any statement).
            unmarked = not marked.rowcount  # type: ignore[attr-defined]
            gone = unmarked and s.get(OutboxMessage, message_id) is None
        if gone and message.record_id is not None:
            # The record was erased while its message was on its way: what a transport keeps
            # (the file outbox) goes too, as the erasure took the rest.
            erase = getattr(transport, "erase_record", None)
            if erase is not None:
                erase(message.record_id)
        sent += 1
        log.info("outbox message %s (%s) sent", message_id, message.channel)
    return sent


def _lease_marker(until: datetime) -> str:
    return _LEASE_PREFIX + until.astimezone(UTC).strftime(_LEASE_TIME_FORMAT)


def _not_leased(now: datetime) -> ColumnElement[bool]:
    """No live lease: no marker, or a marker whose time has passed (same-width strings compare
    like the times they hold)."""
    last_error = OutboxMessage.last_error
    return or_(
        last_error.is_(None),
        ~last_error.startswith(_LEASE_PREFIX, autoescape=True),
        func.substr(last_error, 1, _LEASE_CHARS) < _lease_marker(now),
    )


def _claim(
    sessionmaker: sessionmaker[Session], message_id: int, seen: int, *, until: datetime
) -> OutboxMessage | None:
    with sessionmaker.begin() as s:
        result = s.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.id == message_id,
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.attempts == seen,
            )
            .values(attempts=OutboxMessage.attempts + 1, last_error=_lease_marker(until))
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]  # an UPDATE's CursorResult
            return None
        message = s.get(OutboxMessage, message_id)
        if message is None:  # pragma: no cover - deleted under us (record erased)
            return None
        s.expunge(message)  # keeps its loaded attributes once the session is gone
        keyring = crypto.keyring_of(s)
        if message.body_sealed is not None:
            message.body = keyring.open_outbox(str(message.id), message.body_sealed)
        seal_for_file(keyring, message)
        return message


def _describe(exc: BaseException, body: str) -> str:
    """Type and message, at most 300 characters, with nothing of the body in it: neither the
    body, nor one of its lines, nor one of its numbers (a gateway that quotes only the code of a
    code message, "rejected: 482913", must not put the code in ``last_error``)."""
    text = f"{type(exc).__name__}: {exc}"
    if body:
        text = text.replace(body, "[body]")
        for line in body.splitlines():
            line = line.strip()
            if len(line) >= 8:
                text = text.replace(line, "[body]")
        for number in sorted(set(re.findall(r"\d{4,}", body)), key=len, reverse=True):
            text = text.replace(number, "[number]")
    return text[:MAX_ERROR_CHARS]
