"""`dmptui doctor`: the report for support, against the real host over HTTP (and over HTTPS with
a certificate made here), real keyring backends, and the environment variations that turn
screen-reader mode on or colours off; in English and French, as text and as JSON; never an
escape sequence, never a secret."""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import keyring.backend
import keyring.backends.fail
import keyring.backends.null
import keyring.errors
import pytest
import uvicorn
from hostkit import LiveHost

from dmptui import i18n
from dmptui.entry import doctor
from dmptui.entry.doctor import screen_reader_reason

ROOT = Path(__file__).resolve().parents[1]


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A complete keyring backend that keeps passwords in a dict, and remembers what it was
    given (to check the report never shows it)."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.passwords: dict[tuple[str, str], str] = {}
        self.given: list[str] = []

    def get_password(self, service: str, username: str) -> str | None:
        return self.passwords.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.given.append(password)
        self.passwords[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.passwords[(service, username)]
        except KeyError:
            raise keyring.errors.PasswordDeleteError("not found") from None


class StickyKeyring(MemoryKeyring):
    """Keeps what it is given and will not delete it."""

    def delete_password(self, service: str, username: str) -> None:
        raise keyring.errors.PasswordDeleteError("read-only collection")


class HangingKeyring(MemoryKeyring):
    """A Secret Service waiting for an unlock prompt nobody will see."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def set_password(self, service: str, username: str, password: str) -> None:
        self.release.wait(10)
        super().set_password(service, username, password)


@pytest.fixture(autouse=True)
def clean_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A home of its own, no host, an English locale and a plain 256-colour terminal."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(tmp_path / "data"))
    for var in (
        "DMPTUI_HOST",
        "ACCESSIBLE",
        "NO_COLOR",
        "COLORTERM",
        "TEXTUAL_COLOR_SYSTEM",
        "SSL_CERT_FILE",
        "SSL_CERT_DIR",
        "LANGUAGE",
        "LC_ALL",
        "LC_MESSAGES",
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "http_proxy",
        "https_proxy",
        "all_proxy",
    ):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("LANG", "en_GB.UTF-8")
    monkeypatch.setenv("TERM", "xterm-256color")
    yield tmp_path
    i18n.set_language("en")


def report(
    capsys: pytest.CaptureFixture[str], *argv: str, backend: Any = None, **options: Any
) -> str:
    """Run the command as a patient would in a 120×40 terminal; its printed output."""
    options.setdefault("stdout_isatty", True)
    options.setdefault("stdin_isatty", True)
    options.setdefault("size", (120, 40))
    backend = backend if backend is not None else MemoryKeyring()
    status = doctor.main(list(argv), keyring_backend=backend, **options)
    out = capsys.readouterr().out
    # The exit status says what the report says: 1 when it lists a problem, 0 when none.
    found = '"problems": [\n' in out or "Problems found:" in out or "Problèmes trouvés" in out
    assert status == (1 if found else 0), out
    return out


def line(text: str, start: str) -> str:
    found = [x for x in text.splitlines() if x.startswith(start)]
    assert found, f"no line starting {start!r} in:\n{text}"
    return found[0]


def problems(text: str) -> list[str]:
    return [x for x in text.splitlines() if x.startswith(("Problem:", "Problème :"))]


def terminal_problems(text: str) -> list[str]:
    """The problems, but for the missing host (these tests run without one)."""
    return [x for x in problems(text) if "no record host is set" not in x]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the host ------------------------------------------------------------------------------


def test_a_host_that_answers(host: LiveHost, capsys: pytest.CaptureFixture[str]) -> None:
    text = report(capsys, "--host", host.url)
    assert text.splitlines()[1] == "dmptui version 0.1.0"
    assert line(text, "Language:") == "Language: English (from LANG=en_GB.UTF-8)"
    assert line(text, "Host:") == f"Host: {host.url} (from --host)"
    answers = line(text, "Host answers:")
    assert answers.startswith("Host answers: yes, in ") and "(host version 0.1.0)" in answers
    assert line(text, "Clock:") == "Clock: same time as the host"
    # Loopback over http (the demo) is not a problem; a remote http:// address would be.
    assert line(text, "Certificate:") == "Certificate: none (the address starts with http://)"
    assert text.splitlines()[-1] == "No problem found."


def test_the_host_from_the_environment_and_the_config_file(
    host: LiveHost,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    clean_env: Path,
) -> None:
    config = clean_env / "config" / "dmptui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text(f'host = "{host.url}"\nlang = "fr"\n', "utf-8")
    text = report(capsys)
    assert line(text, "Hébergeur :") == (
        f"Hébergeur : {host.url} (d'après le fichier de configuration)"
    )
    assert line(text, "Langue :") == "Langue : français (d'après le fichier de configuration)"
    assert line(text, "Fichier de configuration :").endswith("config.toml (existe)")
    monkeypatch.setenv("DMPTUI_HOST", host.url)
    text = report(capsys, "--lang", "en")
    assert line(text, "Host:") == f"Host: {host.url} (from DMPTUI_HOST)"
    assert line(text, "Language:") == "Language: English (from --lang)"


def test_a_closed_port_is_a_problem_with_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    url = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    text = report(capsys, "--host", url)
    assert time.monotonic() - started < 5
    assert line(text, "Host answers:") == "Host answers: no (connection refused)"
    assert problems(text) == [
        "Problem: the host's computer answers, but nothing accepts connections at this port. "
        "What to do: the host may be stopped or the port wrong: check the address with your "
        "support."
    ]
    assert line(text, "Problems found:") == "Problems found: 1"


def test_a_name_that_does_not_resolve_is_not_a_refused_port(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # .invalid never resolves (RFC 2606): no network needed to get the resolver's refusal.
    text = report(capsys, "--host", "https://no-such-host.invalid")
    assert line(text, "Host answers:") == "Host answers: no (the name cannot be found)"
    assert problems(text)[0] == (
        "Problem: the host's name (no-such-host.invalid) cannot be found. What to do: check the "
        "address for a typing mistake with your support, then your internet connection."
    )
    facts = json.loads(report(capsys, "--json", "--host", "https://no-such-host.invalid"))
    assert facts["host"]["check"]["error"] == "dns"


def test_the_trace_checks_file_and_the_pinned_key(
    host: LiveHost, capsys: pytest.CaptureFixture[str], clean_env: Path
) -> None:
    """Where the app keeps the trace's last check, and whether this host's key is pinned: none
    before a visit to the trace; the key's id after one (a real check against the real host)."""
    import asyncio

    from dmptui.client import Client
    from dmptui.trace_check import STORE_FILE, CheckpointStore, TraceChecker

    data = Path(os.environ["DMPTUI_DATA_DIR"])
    text = report(capsys, "--host", host.url)
    assert line(text, "Trace checks:") == (
        f"Trace checks: {data / STORE_FILE} (none yet: made at the first visit to the trace)"
    )
    assert line(text, "Host key pinned on this device:") == (
        "Host key pinned on this device: none yet (pinned at the first visit to the trace)"
    )

    tokens = host.login().tokens

    async def visit() -> str:
        async with Client(host.url) as client:
            client.access_token = tokens["access_token"]
            client.refresh_token = tokens["refresh_token"]
            page = await client.trace(limit=50)
            seal = await TraceChecker(client, CheckpointStore.in_dir(data)).check(
                page.items, complete=True
            )
            assert seal.verified, seal
            return (await client.ledger_key()).key_id

    key_id = asyncio.run(visit())
    text = report(capsys, "--host", host.url)
    assert line(text, "Trace checks:") == f"Trace checks: {data / STORE_FILE} (1 host)"
    assert line(text, "Host key pinned on this device:") == (
        f"Host key pinned on this device: {key_id}"
    )
    (data / STORE_FILE).write_text("{not json", "utf-8")
    text = report(capsys, "--host", host.url)
    assert line(text, "Trace checks:") == f"Trace checks: {data / STORE_FILE} (cannot be read)"
    assert "the trace's last check cannot be read" in problems(text)[0]


def test_no_host_a_bad_address_and_a_remote_http_address(
    capsys: pytest.CaptureFixture[str],
) -> None:
    text = report(capsys)
    assert line(text, "Host:") == "Host: none set (no --host, DMPTUI_HOST or config file)"
    assert "Host answers" not in text
    assert problems(text) == [
        "Problem: no record host is set. What to do: start dmptui with the address your support "
        "gives you (dmptui --host URL), or try the demo: dmptui demo."
    ]
    text = report(capsys, "--host", "dmp.example")
    assert line(text, "Host answers:") == "Host answers: no (not a web address)"
    assert "check the address with your support." in problems(text)[0]
    # An http:// address off this machine: nothing would be encrypted (and nothing listens at
    # this documentation address's closed port, so it does not answer either).
    report_json = json.loads(
        report(capsys, "--json", "--host", f"http://192.0.2.1:{closed_port()}", timeout=0.5)
    )
    codes = [p["code"] for p in report_json["problems"]]
    assert codes[0] == "not_encrypted" and codes[1] in ("unreachable", "refused", "timeout")


def test_something_that_is_not_a_record_host(
    host: LiveHost, capsys: pytest.CaptureFixture[str]
) -> None:
    # The real host, but the address points under a path that does not exist.
    text = report(capsys, "--host", host.url + "/not-here")
    assert line(text, "Host answers:") == "Host answers: no (HTTP 404, not a record host)"
    assert problems(text)[0].startswith(
        "Problem: something answers at this address, but it is not a record host (HTTP 404)."
    )


# --- TLS -----------------------------------------------------------------------------------


def make_certificates(folder: Path, days: int) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it, valid for ``days`` days."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    now = datetime.now(UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dmptui tests"),
            x509.NameAttribute(NameOID.COMMON_NAME, "dmptui test CA"),
        ]
    )
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    ca_file, cert_file, key_file = folder / "ca.pem", folder / "cert.pem", folder / "key.pem"
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return ca_file, cert_file, key_file


@contextmanager
def serve_tls(app: Any, cert_file: Path, key_file: Path) -> Iterator[str]:
    """The same host app, served a second time, over TLS."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        app,
        log_level="warning",
        lifespan="off",
        ssl_certfile=str(cert_file),
        ssl_keyfile=str(key_file),
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "the TLS host did not start"
        time.sleep(0.01)
    try:
        yield f"https://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def test_https_certificate_trusted_or_not(
    host: LiveHost,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ca_file, cert_file, key_file = make_certificates(tmp_path, days=10)
    with serve_tls(host.app, cert_file, key_file) as url:
        # Not trusted by this computer (the app's trust: certifi): the host is not used.
        text = report(capsys, "--host", url)
        assert line(text, "Host answers:") == "Host answers: no (the secure connection failed)"
        assert line(text, "Certificate:") == "Certificate: CN=127.0.0.1"
        assert line(text, "Certificate issued by:") == (
            "Certificate issued by: CN=dmptui test CA, O=dmptui tests"
        )
        assert line(text, "Certificate verifies:") == (
            "Certificate verifies: no (unable to get local issuer certificate; "
            "trusted certificates: certifi)"
        )
        assert any(
            p.startswith("Problem: this computer does not trust the host's certificate (")
            and p.endswith("What to do: do not log in; check the address with your support.")
            for p in problems(text)
        ), text

        # Trusted through SSL_CERT_FILE, as the app's httpx would: it answers, and the
        # certificate's near end is a problem for the support, not for the patient.
        monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
        text = report(capsys, "--host", url)
        assert line(text, "Host answers:").startswith("Host answers: yes, in ")
        expiry = i18n.format_date(datetime.now(UTC) + timedelta(days=10))
        assert line(text, "Certificate expires on:") == f"Certificate expires on: {expiry}"
        assert line(text, "Certificate verifies:") == (
            f"Certificate verifies: yes (trusted certificates: SSL_CERT_FILE={ca_file})"
        )
        assert problems(text) == [
            f"Problem: the host's certificate expires on {expiry}. What to do: nothing to do on "
            "your side; tell your support so that it is renewed."
        ]
        facts = json.loads(report(capsys, "--host", url, "--json"))
        tls = facts["host"]["check"]["tls"]
        assert tls["verifies"] is True and tls["subject"] == "CN=127.0.0.1"
        assert datetime.fromisoformat(tls["expires"]) > datetime.now(UTC)


def test_certificate_read_without_cryptography(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where ``cryptography`` is not installed (it comes with keyring on Linux only), the
    standard library reads the certificate: the same words."""
    import ssl

    _, cert_file, _ = make_certificates(tmp_path, days=30)
    der = ssl.PEM_cert_to_DER_cert(cert_file.read_text("ascii"))
    with_cryptography = doctor._describe_certificate(der, None)
    monkeypatch.setitem(sys.modules, "cryptography", None)
    without = doctor._describe_certificate(der, None)
    assert with_cryptography is not None and without is not None
    assert (
        without[:2]
        == with_cryptography[:2]
        == ("CN=127.0.0.1", "CN=dmptui test CA, O=dmptui tests")
    )
    assert abs((without[2] - with_cryptography[2]).total_seconds()) < 1


# --- the keyring ---------------------------------------------------------------------------


def test_a_keyring_that_stores(capsys: pytest.CaptureFixture[str]) -> None:
    backend = MemoryKeyring()
    text = report(capsys, backend=backend)
    assert line(text, "Keyring:") == (
        "Keyring: test_doctor.MemoryKeyring (priority 1) — stores: yes "
        "(written, read back and deleted)"
    )
    assert backend.passwords == {}  # the check leaves nothing behind
    (value,) = backend.given
    assert value not in text and value[-8:] not in text


def test_keyrings_that_do_not_store(capsys: pytest.CaptureFixture[str]) -> None:
    text = report(capsys, backend=keyring.backends.null.Keyring())
    assert line(text, "Keyring:") == (
        "Keyring: keyring.backends.null.Keyring (priority -1) — stores: no "
        "(the keyring accepted the test value but did not keep it)"
    )
    assert (
        "What to do: you can still use dmptui; you will not be remembered on this device."
        in problems(text)[-1]
    )
    text = report(capsys, backend=keyring.backends.fail.Keyring())
    assert line(text, "Keyring:").endswith("stores: no (no keyring is available on this computer)")
    backend = StickyKeyring()
    text = report(capsys, backend=backend)
    assert line(text, "Keyring:").endswith("stores: yes (written and read back, but not deleted)")
    assert "logging out might not forget you on this device" in problems(text)[-1]
    hanging = HangingKeyring()
    try:
        started = time.monotonic()
        text = report(capsys, backend=hanging, timeout=0.5)
        assert time.monotonic() - started < 3
    finally:
        hanging.release.set()
    assert line(text, "Keyring:").endswith(
        "stores: no (the keyring did not answer within 5 seconds; it may be locked and waiting "
        "for a password)"
    )


# --- terminal and screen-reader mode ------------------------------------------------------


def test_screen_reader_detection_rules() -> None:
    tty = {"TERM": "xterm-256color"}
    assert screen_reader_reason(tty, {}, True) is None
    assert screen_reader_reason(tty, {}, True, flag=True) == "the --screen-reader option"
    for value in ("1", "true", "YES", "on", "please"):
        assert screen_reader_reason({**tty, "ACCESSIBLE": value}, {}, True) == "ACCESSIBLE is set"
    for value in ("0", "", " no ", "false", "OFF"):
        assert screen_reader_reason({**tty, "ACCESSIBLE": value}, {}, True) is None
    assert (
        screen_reader_reason(tty, {"screen_reader": True}, True)
        == "screen_reader = true in the config file"
    )
    assert screen_reader_reason(tty, {"screen_reader": "true"}, True) is None
    assert screen_reader_reason(tty, {"screen_reader": False}, True) is None
    assert screen_reader_reason({"TERM": "dumb"}, {}, True) == "TERM=dumb"
    assert screen_reader_reason(tty, {}, False) == "the output is not a terminal"
    # The first rule that applies is the one named.
    assert screen_reader_reason({"TERM": "dumb", "ACCESSIBLE": "1"}, {}, False) == (
        "ACCESSIBLE is set"
    )


def test_screen_reader_rules_are_the_apps() -> None:
    """The report says what the app would do: the same answer as the rules the app runs, over
    every combination of the inputs."""
    import io
    import itertools

    from dmptui.reader import detect

    words = {
        detect.FLAG: "the --screen-reader option",
        detect.ENV: "ACCESSIBLE is set",
        detect.CONFIG: "screen_reader = true in the config file",
        detect.TERM_DUMB: "TERM=dumb",
        detect.NOT_A_TTY: "the output is not a terminal",
    }

    class Stream(io.StringIO):
        def __init__(self, tty: bool) -> None:
            super().__init__()
            self.tty = tty

        def isatty(self) -> bool:
            return self.tty

    for flag, accessible, config, term, tty in itertools.product(
        (False, True),
        (None, "", "1", "0", "no", "yes", "Off"),
        ({}, {"screen_reader": True}, {"screen_reader": False}, {"screen_reader": "true"}),
        (None, "dumb", "xterm-256color", "DUMB"),
        (False, True),
    ):
        env = {k: v for k, v in (("ACCESSIBLE", accessible), ("TERM", term)) if v is not None}
        theirs = detect.reason(flag, config, env, Stream(tty))
        ours = screen_reader_reason(env, config, tty, flag=flag)
        assert ours == (words[theirs] if theirs else None), (flag, env, config, tty)


def test_screen_reader_line(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = report(capsys)
    assert line(text, "Screen-reader mode:") == (
        "Screen-reader mode: off (turn it on with dmptui --screen-reader, or ACCESSIBLE=1)"
    )
    monkeypatch.setenv("TERM", "dumb")
    text = report(capsys)
    assert line(text, "Screen-reader mode:") == "Screen-reader mode: would turn on (TERM=dumb)"
    assert line(text, "Terminal:") == "Terminal: 120×40, TERM=dumb, colours: none (TERM=dumb)"
    assert not terminal_problems(text)  # a dumb terminal is a choice, not a problem
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setenv("ACCESSIBLE", "1")
    text = report(capsys)
    assert (
        line(text, "Screen-reader mode:") == "Screen-reader mode: would turn on (ACCESSIBLE is set)"
    )
    # The report piped to a file to be pasted: the app, started in this terminal, would see one.
    monkeypatch.delenv("ACCESSIBLE")
    text = report(capsys, stdout_isatty=False, size=None)
    assert line(text, "Screen-reader mode:") == (
        "Screen-reader mode: would turn on (the output is not a terminal)"
    )
    assert (
        "This report goes to a file or another program; started directly in this terminal, "
        "dmptui would have screen-reader mode off." in text
    )
    assert line(text, "Terminal:").startswith("Terminal: size unknown (not a terminal)")
    # ... and the full-screen display's problems still count for that terminal.
    text = report(capsys, stdout_isatty=False, size=(60, 20))
    assert [p[:45] for p in terminal_problems(text)] == [
        "Problem: the terminal is small (60×20), so so"
    ]
    # Neither end a terminal (a script): screen-reader mode, and nothing to say about size.
    assert not terminal_problems(
        report(capsys, stdout_isatty=False, stdin_isatty=False, size=(60, 20))
    )


def test_colours_and_terminal_problems(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text = report(capsys)
    assert line(text, "Terminal:") == "Terminal: 120×40, TERM=xterm-256color, colours: 256"
    monkeypatch.setenv("COLORTERM", "truecolor")
    assert line(report(capsys), "Terminal:").endswith("colours: truecolor (COLORTERM)")
    monkeypatch.setenv("NO_COLOR", "")  # present, even empty: Textual drops colour
    assert line(report(capsys), "Terminal:").endswith("colours: none (NO_COLOR set)")
    assert doctor.colour_support({"TERM": "xterm"}) == ("16", None)
    assert doctor.colour_support({"TERM": "unknown"}) == ("none", "TERM")

    monkeypatch.delenv("NO_COLOR")
    monkeypatch.delenv("COLORTERM")
    monkeypatch.delenv("TERM")
    text = report(capsys, size=(60, 20))
    assert line(text, "Terminal:") == "Terminal: 60×20, TERM not set, colours: 16"
    assert terminal_problems(text) == [
        "Problem: the terminal type is not set or not known (TERM=), so the full-screen display "
        "may not work. What to do: start dmptui from a terminal window, or use screen-reader "
        "mode: dmptui --screen-reader.",
        "Problem: the terminal is small (60×20), so some screens will be cut. What to do: make "
        "the window bigger (at least 80 columns and 24 lines), or use screen-reader mode: "
        "dmptui --screen-reader.",
    ]
    # In screen-reader mode, neither matters.
    monkeypatch.setenv("ACCESSIBLE", "1")
    assert not terminal_problems(report(capsys, size=(60, 20)))


# --- config, language, JSON, and what is never shown --------------------------------------


def test_config_file_problems(capsys: pytest.CaptureFixture[str], clean_env: Path) -> None:
    config = clean_env / "config" / "dmptui" / "config.toml"
    text = report(capsys)
    assert line(text, "Config file:") == f"Config file: {config} (missing)"
    assert line(text, "Data directory:") == (
        f"Data directory: {clean_env / 'data'} (not created yet)"
    )
    config.parent.mkdir(parents=True)
    config.write_text("host = \n", "utf-8")
    text = report(capsys)
    assert line(text, "Config file:") == f"Config file: {config} (cannot be read)"
    assert problems(text)[-1].startswith("Problem: the config file cannot be read (")
    config.write_text('lang = "de"\nscreen_reader = true\n', "utf-8")
    text = report(capsys)
    assert line(text, "Screen-reader mode:") == (
        "Screen-reader mode: would turn on (screen_reader = true in the config file)"
    )
    assert line(text, "Language:") == "Language: English (from the config file)"
    assert (
        'Problem: the config file says lang = "de", but only "fr" and "en" exist. What to do: '
        'write lang = "fr" or lang = "en" in the config file.'
    ) in problems(text)


def test_a_setting_dmptui_would_refuse_is_a_problem(
    capsys: pytest.CaptureFixture[str], clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What ``dmptui`` would stop on (``dmptui.settings``) is said, with its source."""
    config = clean_env / "config" / "dmptui" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[keymap]\n"app.quit" = "ctrl+q,ctrl+l"\n', "utf-8")
    assert problems(report(capsys))[-1] == (
        "Problem: a setting is wrong, so dmptui will not start: Invalid setting "
        f'"keymap.app.quit" (the file {config}, key keymap.app.quit): "ctrl+q,ctrl+l" — two '
        'actions on one key. Allowed: a key free on that screen ("ctrl+l" is already '
        "app.logout's). Correct it or remove it (docs/settings.md). What to do: correct it or "
        "remove it; docs/settings.md says what each one allows."
    )
    config.unlink()
    monkeypatch.setenv("DMPTUI_THEME", "bleu")
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    assert problems(report(capsys))[-1].startswith(
        "Problème : un réglage est faux, donc dmptui ne démarrera pas : Réglage « theme » "
        "invalide (la variable d'environnement DMPTUI_THEME) : « bleu »."
    )


def test_french(
    host: LiveHost, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    url = f"http://127.0.0.1:{closed_port()}"
    text = report(capsys, "--host", url, backend=keyring.backends.null.Keyring())
    lines = text.splitlines()
    assert lines[0].startswith("dmptui doctor : un rapport pour l'assistance.")
    assert line(text, "Langue :") == "Langue : français (d'après LANG=fr_FR.UTF-8)"
    assert line(text, "L'hébergeur répond :") == "L'hébergeur répond : non (connexion refusée)"
    assert line(text, "Terminal :") == ("Terminal : 120×40, TERM=xterm-256color, couleurs : 256")
    assert problems(text) == [
        "Problème : l'ordinateur de l'hébergeur répond, mais rien n'accepte de connexion sur "
        "ce port. Que faire : l'hébergeur est peut-être arrêté, ou le port est faux : "
        "vérifiez l'adresse avec votre assistance.",
        "Problème : le trousseau de cet ordinateur ne garde pas votre connexion (le trousseau a "
        "accepté la valeur d'essai mais ne l'a pas gardée). Que faire : vous pouvez quand même "
        "utiliser dmptui ; cet appareil ne gardera pas votre session.",
    ]
    # --lang wins over the locale; the app's language is left as it was.
    assert i18n.language() == "en"
    text = report(capsys, "--lang", "en", "--host", host.url)
    assert line(text, "Language:") == "Language: English (from --lang)"


def test_json_has_the_same_facts(host: LiveHost, capsys: pytest.CaptureFixture[str]) -> None:
    facts = json.loads(report(capsys, "--host", host.url, "--json", "--lang", "fr"))
    assert set(facts) == {
        "version",
        "system",
        "python",
        "language",
        "host",
        "keyring",
        "terminal",
        "screen_reader",
        "config_file",
        "data_dir",
        "trace",
        "host_extra",
        "problems",
    }
    # The tests run with the host installed (the dev group pulls dmptui[host]).
    assert facts["host_extra"] == {"installed": True, "missing": [], "extra": "dmptui[host]"}
    assert facts["version"] == "0.1.0"
    assert facts["language"] == {"code": "fr", "source": "--lang", "value": "fr"}
    assert facts["host"]["url"] == host.url and facts["host"]["source"] == "--host"
    check = facts["host"]["check"]
    assert check["answers"] is True and check["status_code"] == 200 and check["error"] is None
    assert isinstance(check["latency_ms"], int) and check["host_version"] == "0.1.0"
    assert facts["keyring"] == {
        "backend": "test_doctor.MemoryKeyring (priority 1)",
        "stores": True,
        "reason": None,
        "deleted": True,
    }
    assert facts["terminal"]["columns"] == 120 and facts["terminal"]["colours"] == "256"
    assert facts["screen_reader"]["on"] is False and facts["screen_reader"]["reason"] is None
    assert facts["problems"] == []
    closed = json.loads(report(capsys, "--host", f"http://127.0.0.1:{closed_port()}", "--json"))
    assert closed["problems"] == [
        {
            "code": "refused",
            "problem": (
                "the host's computer answers, but nothing accepts connections at this port."
            ),
            "what_to_do": (
                "the host may be stopped or the port wrong: check the address with your support."
            ),
        }
    ]


def test_never_an_escape_sequence_or_a_secret(
    host: LiveHost, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Escape sequences where the environment can hold them; the demo password and a token in
    # the host address.
    monkeypatch.setenv("TERM", "xterm\x1b[2J\x1b]0;owned\x07")
    monkeypatch.setenv("LANG", "en_GB\x1b[31m.UTF-8")
    monkeypatch.setenv("DMPTUI_DATA_DIR", str(Path(os.environ["HOME"]) / "da\x1bta"))
    with_password = host.url.replace("http://", f"http://patient:{host.password}@")
    # A query string in the address is no host address (the app would not find /v1 either),
    # but it must not be shown.
    with_token = with_password + "/?token=s3cr3t-t0k3n#frag"
    backend = MemoryKeyring()
    for args in (
        ("--host", with_password),
        ("--host", with_token),
        ("--host", with_password, "--json"),
    ):
        text = report(capsys, *args, backend=backend)
        assert "\x1b" not in text and "\x07" not in text
        assert host.password not in text
        assert "s3cr3t-t0k3n" not in text and "patient" not in text
        assert host.creds["patient"]["totp_secret"] not in text
        for value in backend.given:
            assert value not in text
        assert "<U+001B>" in text  # shown, not obeyed
    text = report(capsys, "--host", with_password)
    assert line(text, "Host:") == f"Host: {host.url} (from --host)"
    assert line(text, "Host answers:").startswith("Host answers: yes")
    assert line(text, "Terminal:") == (
        "Terminal: 120×40, TERM=xterm<U+001B>[2J<U+001B>]0;owned<U+0007>, colours: 16"
    )


# --- the command itself --------------------------------------------------------------------


def test_the_command_runs_on_its_own_and_loads_light(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring",
        "LANG": "en_GB.UTF-8",
    }
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dmptui.entry.doctor",
            "--host",
            f"http://127.0.0.1:{closed_port()}",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    # Exit status 1: it found a problem (nothing listens at that port).
    assert done.returncode == 1, done.stderr
    assert "Problem: the host's computer answers, but nothing accepts" in done.stdout
    # Run with its output captured: not a terminal.
    assert "Screen-reader mode: would turn on (the output is not a terminal)" in done.stdout
    assert "keyring.backends.null.Keyring" in done.stdout
    assert "\x1b" not in done.stdout
    # cli.py may import the module to build its parser: nothing heavy comes with it.
    code = (
        "import sys, dmptui.entry.doctor; "
        "print(sorted(m for m in ('httpx', 'keyring', 'textual', 'pydantic', 'babel') "
        "if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
    assert doctor.main(["--lang", "de"]) == 2
    assert doctor.main(["--help"]) == 0


def test_health_path_is_the_api_one() -> None:
    from dmptui.schema import API_PREFIX

    assert doctor.HEALTH_PATH == API_PREFIX + "/health"
