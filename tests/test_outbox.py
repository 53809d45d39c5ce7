"""The outbox against real parts: a SQLite file, a file on disk, an SMTP server and an HTTP SMS
gateway on loopback."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from dmptui.host import crypto, outbox, outbox_file
from dmptui.host.db import OutboxMessage, make_engine, migrate, sessionmaker_for

NOW = datetime(2025, 3, 14, 9, 30, tzinfo=UTC)
KEYRING = crypto.Keyring(crypto.MasterKey(crypto.new_data_key()))
SUBJECT = "Code DMP : accès à votre dossier médical — été"
BODY = "Votre code DMP : 493027 (valable 10 min). Ne le donnez à personne.\nÇa marche, œuvre.\n"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{tmp_path / 'host.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    yield sessionmaker_for(engine, KEYRING)
    engine.dispose()


def add(
    sm: sessionmaker[Session],
    *,
    channel: str = "email",
    recipient: str = "patiente@example.fr",
    subject: str = SUBJECT,
    body: str = BODY,
    now: datetime = NOW,
) -> int:
    with sm.begin() as s:
        m = outbox.enqueue(
            s,
            channel=channel,
            recipient=recipient,
            subject=subject,
            body=body,
            record_id=None,
            now=now,
        )
        s.flush()
        return m.id


def row(sm: sessionmaker[Session], message_id: int) -> OutboxMessage:
    with sm() as s:
        m = s.get(OutboxMessage, message_id)
        assert m is not None
        return m


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# --- enqueue -------------------------------------------------------------------------------


def test_enqueue_is_committed_with_the_callers_transaction(db: sessionmaker[Session]) -> None:
    with db() as s:
        s.begin()
        outbox.enqueue(
            s, channel="sms", recipient="+33612345678", subject="DMP", body=BODY,
            record_id=None, now=NOW,
        )  # fmt: skip
        s.rollback()
    with db() as s:
        assert s.scalars(select(OutboxMessage)).all() == []

    message_id = add(db, channel="sms", recipient="+33612345678")
    m = row(db, message_id)
    assert (m.channel, m.attempts, m.sent_at, m.last_error) == ("sms", 0, None, None)
    assert m.created_at == NOW


@pytest.mark.parametrize(
    "kwargs",
    [
        {"channel": "fax"},
        {"recipient": ""},
        {"recipient": "a@example.fr\nBcc: b@example.fr"},
        {"subject": "x\r\nBcc: b@example.fr"},
        {"subject": "x" * 201},
        {"now": datetime(2025, 1, 1)},  # naive
    ],
)
def test_enqueue_refuses_bad_input(db: sessionmaker[Session], kwargs: dict[str, Any]) -> None:
    args: dict[str, Any] = {
        "channel": "email", "recipient": "a@example.fr", "subject": "s", "body": "b",
        "record_id": None, "now": NOW,
    }  # fmt: skip
    args.update(kwargs)
    with db() as s, pytest.raises(ValueError):
        outbox.enqueue(s, **args)


# --- (1) file transport --------------------------------------------------------------------


def test_bodies_are_sealed_at_rest(db: sessionmaker[Session]) -> None:
    message_id = add(db)
    m = row(db, message_id)
    assert m.body_sealed is not None and b"493027" not in m.body_sealed
    assert KEYRING.open_outbox(str(message_id), m.body_sealed) == BODY
    with pytest.raises(crypto.DecryptionError):  # bound to its row
        KEYRING.open_outbox(str(message_id + 1), m.body_sealed)


def sent_messages(path: Path) -> list[dict[str, Any]]:
    """The file outbox, opened with the host's reader (its lines are sealed)."""
    return outbox_file.read_messages(path, KEYRING)


def test_file_transport_writes_private_sealed_json_lines_and_marks_sent(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    first = add(db)
    second = add(db, channel="sms", recipient="+33612345678", now=NOW + timedelta(seconds=1))
    directory = tmp_path / "data" / "outbox"
    transport = outbox.FileTransport(directory)

    assert outbox.deliver_pending(db, transport, now=NOW + timedelta(minutes=1)) == 2

    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    path = directory / "outbox.jsonl"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    lines = sent_messages(path)
    assert lines == [
        {
            "id": first, "record_id": None, "channel": "email",
            "recipient": "patiente@example.fr", "subject": SUBJECT, "body": BODY,
            "created_at": NOW.isoformat(),
        },
        {
            "id": second, "record_id": None, "channel": "sms", "recipient": "+33612345678",
            "subject": SUBJECT, "body": BODY,
            "created_at": (NOW + timedelta(seconds=1)).isoformat(),
        },
    ]  # fmt: skip
    # On disk, nothing readable: neither the code, nor the text, nor the recipients.
    raw = path.read_bytes()
    for plain in ("493027", "Ne le donnez", "patiente@example.fr", "+33612345678", "Code DMP"):
        assert plain.encode() not in raw, plain
    assert [set(json.loads(x)) for x in raw.decode().splitlines()] == [
        {"id", "record_id", "sealed"}
    ] * 2
    # Another master key opens none of it; a line moved to another id does not open either.
    assert (
        outbox_file.read_messages(path, crypto.Keyring(crypto.MasterKey(crypto.new_data_key())))
        == []
    )
    moved = json.loads(raw.decode().splitlines()[0]) | {"id": second}
    assert outbox_file.open_line(KEYRING, json.dumps(moved)) is None
    for message_id in (first, second):
        m = row(db, message_id)
        assert m.sent_at is not None and m.sent_at >= NOW + timedelta(minutes=1)
        assert m.attempts == 1 and m.last_error is None
        assert m.body_sealed is None  # blanked once delivered

    assert outbox.deliver_pending(db, transport, now=NOW + timedelta(minutes=2)) == 0
    assert len(path.read_text("utf-8").splitlines()) == 2

    # Later messages are appended to the same file.
    add(db, body="encore")
    assert outbox.deliver_pending(db, transport, now=NOW + timedelta(minutes=3)) == 1
    assert sent_messages(path)[-1]["body"] == "encore"


# --- (2) SMTP ------------------------------------------------------------------------------


class Collect:
    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 OK"


class Accounts:
    def __init__(self, login: bytes, password: bytes) -> None:
        self.login, self.password = login, password

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any):
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            self.login,
            self.password,
        )
        return AuthResult(success=ok, handled=False)  # handled=False: server answers 535


@pytest.fixture
def smtp_server() -> Iterator[tuple[Collect, int]]:
    handler = Collect()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()


def test_smtp_delivers_utf8_french_mail(
    db: sessionmaker[Session], smtp_server: tuple[Collect, int]
) -> None:
    handler, port = smtp_server
    message_id = add(db)
    transport = outbox.SmtpTransport(
        "127.0.0.1", port, "Mon DMP <dmp@hebergeur.example>", timeout=5
    )

    assert outbox.deliver_pending(db, transport, now=NOW) == 1

    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.mail_from == "dmp@hebergeur.example"
    assert envelope.rcpt_tos == ["patiente@example.fr"]
    parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
    assert parsed["Subject"] == SUBJECT
    assert parsed["To"] == "patiente@example.fr"
    assert parsed["From"] == "Mon DMP <dmp@hebergeur.example>"
    assert parsed["Message-ID"].startswith(f"<dmptui.outbox.{message_id}.")
    assert parsed["Message-ID"].endswith("@hebergeur.example>")
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().replace("\r\n", "\n") == BODY
    assert row(db, message_id).sent_at is not None


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_login(db: sessionmaker[Session]) -> None:
    handler = Collect()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        authenticator=Accounts(b"hebergeur", b"mot-de-passe"),
        auth_require_tls=False,  # loopback only, no certificate in the test
        auth_required=True,
    )
    controller.start()
    try:
        message_id = add(db)
        wrong = outbox.SmtpTransport(
            "127.0.0.1", port, "dmp@localhost", username="hebergeur", password="faux", timeout=5
        )
        assert outbox.deliver_pending(db, wrong, now=NOW) == 0
        assert handler.envelopes == []
        last_error = row(db, message_id).last_error
        assert last_error is not None and last_error.startswith("SMTPAuthenticationError: ")
        assert "faux" not in last_error
        right = outbox.SmtpTransport(
            "127.0.0.1", port, "dmp@localhost", username="hebergeur",
            password="mot-de-passe", timeout=5,
        )  # fmt: skip
        assert outbox.deliver_pending(db, right, now=NOW) == 1
        assert len(handler.envelopes) == 1
    finally:
        controller.stop()


def test_smtp_refuses_sms(db: sessionmaker[Session], smtp_server: tuple[Collect, int]) -> None:
    handler, port = smtp_server
    message_id = add(db, channel="sms", recipient="+33612345678")
    transport = outbox.SmtpTransport("127.0.0.1", port, "dmp@localhost", timeout=5)
    assert outbox.deliver_pending(db, transport, now=NOW) == 0
    assert handler.envelopes == []
    m = row(db, message_id)
    assert m.sent_at is None and m.last_error is not None
    assert m.last_error.startswith("ValueError: ")


# --- (3) failures --------------------------------------------------------------------------


def test_smtp_closed_port_records_the_error_not_the_body(db: sessionmaker[Session]) -> None:
    message_id = add(db)
    transport = outbox.SmtpTransport("127.0.0.1", free_port(), "dmp@localhost", timeout=5)

    assert outbox.deliver_pending(db, transport, now=NOW) == 0
    m = row(db, message_id)
    assert m.sent_at is None
    assert m.attempts == 1
    assert m.last_error is not None
    assert m.last_error.startswith("ConnectionRefusedError: ")
    assert len(m.last_error) <= 300
    assert "493027" not in m.last_error and BODY not in m.last_error

    # Retried on the next run, until max_attempts.
    assert outbox.deliver_pending(db, transport, now=NOW, max_attempts=3) == 0
    assert outbox.deliver_pending(db, transport, now=NOW, max_attempts=3) == 0
    assert row(db, message_id).attempts == 3
    assert outbox.deliver_pending(db, transport, now=NOW, max_attempts=3) == 0
    assert row(db, message_id).attempts == 3  # given up: not even tried


class Echo:
    """A transport that fails with the whole message, body included, in its error."""

    def send(self, message: OutboxMessage) -> None:
        raise RuntimeError(f"refused {message.body} " + "x" * 400)


def test_error_text_is_short_and_never_holds_the_body(db: sessionmaker[Session]) -> None:
    message_id = add(db)
    assert outbox.deliver_pending(db, Echo(), now=NOW) == 0
    last_error = row(db, message_id).last_error
    assert last_error is not None
    assert last_error.startswith("RuntimeError: refused [body]")
    assert len(last_error) == 300
    for line in BODY.splitlines():
        assert line not in last_error
    assert "493027" not in last_error


def test_oldest_first_limit_and_already_sent_skipped(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    ids = [add(db, body=f"m{i}", now=NOW - timedelta(minutes=i)) for i in range(3)]
    transport = outbox.FileTransport(tmp_path / "o")
    assert outbox.deliver_pending(db, transport, now=NOW, limit=2) == 2
    sent = [m["id"] for m in sent_messages(tmp_path / "o" / "outbox.jsonl")]
    assert sent == [ids[2], ids[1]]
    assert row(db, ids[0]).sent_at is None
    assert outbox.deliver_pending(db, transport, now=NOW) == 1


# --- several processes ---------------------------------------------------------------------


class OtherProcess:
    """While sending its first message, lets a second host (its own engine on the same file)
    run a delivery: this fails if a transaction (SQLite write lock) is held during a send."""

    def __init__(self, url: str, log: list[tuple[str, int]]) -> None:
        self.url, self.log, self.done = url, log, False

    def send(self, message: OutboxMessage) -> None:
        self.log.append(("first", message.id))
        if not self.done:
            self.done = True
            engine = make_engine(self.url)
            try:
                other = Recorder("second", self.log)
                sent = outbox.deliver_pending(sessionmaker_for(engine, KEYRING), other, now=NOW)
                assert sent == 2  # not the one in flight here
            finally:
                engine.dispose()


class Recorder:
    def __init__(self, name: str, log: list[tuple[str, int]]) -> None:
        self.name, self.log = name, log

    def send(self, message: OutboxMessage) -> None:
        self.log.append((self.name, message.id))


def test_two_hosts_send_each_message_once(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'host.sqlite3'}"
    migrate(url)
    engine = make_engine(url)
    try:
        sm = sessionmaker_for(engine, KEYRING)
        ids = [add(sm, body=f"m{i}", now=NOW + timedelta(seconds=i)) for i in range(3)]
        log: list[tuple[str, int]] = []
        # The first host listed all three before the second ran; it must skip the two the
        # second one claimed and sent, by the conditional UPDATE.
        assert outbox.deliver_pending(sm, OtherProcess(url, log), now=NOW) == 1
        assert sorted(m for _, m in log) == ids
        assert log[0] == ("first", ids[0])
        assert sorted(log[1:]) == [("second", ids[1]), ("second", ids[2])]
        for message_id in ids:
            m = row(sm, message_id)
            assert m.sent_at is not None and m.attempts == 1 and m.last_error is None
    finally:
        engine.dispose()


def test_a_live_lease_is_left_alone_and_an_expired_one_retried(
    db: sessionmaker[Session], tmp_path: Path
) -> None:
    message_id = add(db)
    # Another host claimed it at NOW and died while sending.
    with db.begin() as s:
        s.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(attempts=1, last_error=outbox._lease_marker(NOW + outbox.DEFAULT_LEASE))
        )
    transport = outbox.FileTransport(tmp_path / "o")
    assert outbox.deliver_pending(db, transport, now=NOW + timedelta(minutes=1)) == 0
    assert row(db, message_id).attempts == 1
    later = NOW + outbox.DEFAULT_LEASE + timedelta(seconds=1)
    assert outbox.deliver_pending(db, transport, now=later) == 1
    m = row(db, message_id)
    assert m.attempts == 2 and m.sent_at is not None and m.last_error is None


# --- (4) SMS gateway -----------------------------------------------------------------------


class Gateway(BaseHTTPRequestHandler):
    received: list[tuple[str, dict[str, str], Any]]

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        payload = json.loads(self.rfile.read(length))
        self.received.append((self.path, dict(self.headers), payload))
        status = 503 if self.path == "/down" else 202
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps({"echo": payload}).encode())

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def gateway() -> Iterator[tuple[str, list[tuple[str, dict[str, str], Any]]]]:
    received: list[tuple[str, dict[str, str], Any]] = []
    handler = type("H", (Gateway,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", received
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_sms_gateway_receives_json(
    db: sessionmaker[Session], gateway: tuple[str, list[Any]]
) -> None:
    base, received = gateway
    message_id = add(db, channel="sms", recipient="+33612345678", subject="DMP")
    transport = outbox.SmsGatewayTransport(f"{base}/sms", token="jeton-secret", timeout=5)

    assert outbox.deliver_pending(db, transport, now=NOW) == 1

    assert len(received) == 1
    path, headers, payload = received[0]
    assert path == "/sms"
    assert payload == {"to": "+33612345678", "text": BODY}
    assert headers["Authorization"] == "Bearer jeton-secret"
    assert headers["Content-Type"] == "application/json"
    assert row(db, message_id).sent_at is not None


def test_sms_gateway_error_status_is_a_failure(
    db: sessionmaker[Session], gateway: tuple[str, list[Any]]
) -> None:
    base, received = gateway
    message_id = add(db, channel="sms", recipient="+33612345678", subject="DMP")
    transport = outbox.SmsGatewayTransport(f"{base}/down", timeout=5)

    assert outbox.deliver_pending(db, transport, now=NOW) == 0

    assert len(received) == 1
    assert "Authorization" not in received[0][1]
    m = row(db, message_id)
    assert m.sent_at is None and m.attempts == 1
    assert m.last_error == "SmsGatewayError: SMS gateway answered HTTP 503"


def test_router_dispatches_by_channel(
    db: sessionmaker[Session],
    smtp_server: tuple[Collect, int],
    gateway: tuple[str, list[Any]],
) -> None:
    handler, port = smtp_server
    base, received = gateway
    add(db)
    add(db, channel="sms", recipient="+33612345678", subject="DMP")
    router = outbox.Router(
        email=outbox.SmtpTransport("127.0.0.1", port, "dmp@localhost", timeout=5),
        sms=outbox.SmsGatewayTransport(f"{base}/sms", timeout=5),
    )
    assert outbox.deliver_pending(db, router, now=NOW) == 2
    assert [e.rcpt_tos for e in handler.envelopes] == [["patiente@example.fr"]]
    assert [p["to"] for _, _, p in received] == ["+33612345678"]


# --- (5) configuration ---------------------------------------------------------------------

ENV = [
    "DMPTUI_SMTP_HOST", "DMPTUI_SMTP_PORT", "DMPTUI_SMTP_FROM", "DMPTUI_SMTP_USER",
    "DMPTUI_SMTP_PASSWORD", "DMPTUI_SMTP_STARTTLS", "DMPTUI_SMS_GATEWAY_URL",
    "DMPTUI_SMS_GATEWAY_TOKEN",
]  # fmt: skip


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in ENV:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_transport_from_env_defaults_to_files(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    router = outbox.transport_from_env(tmp_path)
    assert isinstance(router.email, outbox.FileTransport)
    assert isinstance(router.sms, outbox.FileTransport)
    assert router.email.directory == tmp_path / "outbox"
    assert router.sms.directory == tmp_path / "outbox"


def test_transport_from_env_smtp_and_sms(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("DMPTUI_SMTP_HOST", "smtp.hebergeur.example")
    router = outbox.transport_from_env(tmp_path)
    assert isinstance(router.email, outbox.SmtpTransport)
    assert (router.email.host, router.email.port, router.email.sender) == (
        "smtp.hebergeur.example",
        25,
        "dmp@localhost",
    )
    assert router.email.starttls is False and router.email.username is None
    assert isinstance(router.sms, outbox.FileTransport)

    clean_env.setenv("DMPTUI_SMTP_PORT", "587")
    clean_env.setenv("DMPTUI_SMTP_FROM", "dmp@hebergeur.example")
    clean_env.setenv("DMPTUI_SMTP_USER", "u")
    clean_env.setenv("DMPTUI_SMTP_PASSWORD", "s3cr3t-pw")
    clean_env.setenv("DMPTUI_SMTP_STARTTLS", "1")
    clean_env.setenv("DMPTUI_SMS_GATEWAY_URL", "https://sms.example/send")
    clean_env.setenv("DMPTUI_SMS_GATEWAY_TOKEN", "t")
    router = outbox.transport_from_env(tmp_path)
    assert isinstance(router.email, outbox.SmtpTransport)
    assert (router.email.port, router.email.sender) == (587, "dmp@hebergeur.example")
    assert (router.email.username, router.email.password, router.email.starttls) == (
        "u",
        "s3cr3t-pw",
        True,
    )
    assert "s3cr3t-pw" not in repr(router.email)
    assert isinstance(router.sms, outbox.SmsGatewayTransport)
    assert (router.sms.url, router.sms.token) == ("https://sms.example/send", "t")

    clean_env.setenv("DMPTUI_SMTP_PORT", "vingt-cinq")
    with pytest.raises(ValueError, match="DMPTUI_SMTP_PORT"):
        outbox.transport_from_env(tmp_path)


def test_transport_from_env_file_fallback_delivers(
    clean_env: pytest.MonkeyPatch, db: sessionmaker[Session], tmp_path: Path
) -> None:
    add(db)
    add(db, channel="sms", recipient="+33612345678", subject="DMP")
    router = outbox.transport_from_env(tmp_path / "data")
    assert outbox.deliver_pending(db, router, now=NOW) == 2
    lines = sent_messages(tmp_path / "data" / "outbox" / "outbox.jsonl")
    assert [x["channel"] for x in lines] == ["email", "sms"]
