"""``dmptui doctor``: the report a support agent asks for first, in plain text a patient can read
aloud or paste (``--json`` for the same facts as JSON).

It says which version and language run, which record host would be used and whether it answers
(with its TLS certificate and the clock difference), whether the keyring really keeps a value
(written, read back, deleted: a throwaway account, a random value that is never printed), the
terminal's size, colours and ``TERM``, whether screen-reader mode would turn on and why, and where
the config file and the data live. Each problem comes with what to do.

Never a secret (no token, password, code, keyring value, or user name and password inside the
host address), never health data (it does not log in). Nothing here draws: no escape sequence,
whatever the environment holds (control characters in it are shown as ``<U+001B>``).

Only the standard library and ``dmptui.i18n`` are imported at load time, so ``dmptui.entry.cli``
can build its parser with :func:`add_arguments` and ``dmptui --help`` stays instant.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dmptui import __version__, i18n, settings
from dmptui.i18n import N_, _, ngettext

TIMEOUT = 5.0  # seconds, for the host and for the keyring
HEALTH_PATH = "/v1/health"  # schema.API_PREFIX + "/health" (not imported: pydantic is slow)
KEYRING_ACCOUNT = "dmptui-doctor-check"
MIN_COLUMNS, MIN_LINES = 80, 24
CERT_SOON_DAYS = 14
CLOCK_TOLERANCE = 30  # seconds; one-time codes change every 30 s
USAGE = "dmptui doctor [--host URL] [--lang fr|en] [--json]"
HELP = "a plain-text report for support: no secret, no health data"
EPILOG = "exit status: 0 no problem found, 1 problems found (listed in the report), 2 bad usage"

# --- screen-reader mode: when it turns on, and why ---------------------------------------------

SR_FLAG = N_("the --screen-reader option")
SR_ACCESSIBLE = N_("ACCESSIBLE is set")
SR_CONFIG = N_("screen_reader = true in the config file")
SR_DUMB = N_("TERM=dumb")
SR_NOT_A_TERMINAL = N_("the output is not a terminal")
_FALSE_WORDS = frozenset({"", "0", "false", "no", "off"})


def screen_reader_reason(
    env: Mapping[str, str],
    config: Mapping[str, Any],
    stdout_isatty: bool,
    *,
    flag: bool = False,
) -> str | None:
    """Why screen-reader mode turns on, or None when it stays off. Pure: the caller gives the
    environment, the parsed config file, whether stdout is a terminal and the ``--screen-reader``
    flag. The first rule that applies wins: the flag; ``ACCESSIBLE`` set to anything but
    0/false/no/off; the config file's ``screen_reader = true`` (a TOML boolean); ``TERM=dumb``;
    stdout not a terminal. The same rules as ``dmptui.reader.detect.reason`` (a test holds them
    equal).

    The reason is an English msgid (one of the ``SR_*`` constants): show it as ``_(reason)``."""
    if flag:
        return SR_FLAG
    if env.get("ACCESSIBLE", "").strip().lower() not in _FALSE_WORDS:
        return SR_ACCESSIBLE
    if config.get("screen_reader") is True:
        return SR_CONFIG
    if env.get("TERM", "").strip() == "dumb":
        return SR_DUMB
    if not stdout_isatty:
        return SR_NOT_A_TERMINAL
    return None


# --- plain facts -----------------------------------------------------------------------------

# C0/C1 controls (tab and newline too: a fact is one line), DEL, bidirectional overrides and
# isolates, zero-width characters: the same set as the TUI's ``visible()``.
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")


def visible(value: object, limit: int = 200) -> str:
    """One line of text with control and invisible characters shown as ``<U+001B>``."""
    text = _INVISIBLE.sub(lambda m: f"<U+{ord(m.group()):04X}>", str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def display_url(url: str) -> str:
    """The address without what could be a secret: no user name or password, query or
    fragment."""
    import httpx

    try:
        u = httpx.URL(url)
    except (httpx.InvalidURL, TypeError):
        return visible(url.split("@")[-1].split("?")[0].split("#")[0])
    if not u.scheme or not u.host:
        return visible(url.split("@")[-1].split("?")[0].split("#")[0])
    netloc = u.host if ":" not in u.host else f"[{u.host}]"
    if u.port is not None:
        netloc += f":{u.port}"
    return visible(f"{u.scheme}://{netloc}{u.path if u.path != '/' else ''}")


def config_path() -> Path:
    return settings.config_path()


def data_path(env: Mapping[str, str]) -> Path:
    from platformdirs import user_data_dir

    raw = env.get(settings.BY_NAME["data_dir"].env)  # as given: the report shows it
    return Path(raw) if raw and raw.strip() else Path(user_data_dir("dmptui"))


def read_config(path: Path) -> tuple[dict[str, Any], str | None, bool]:
    """(values, error, exists): the config file as the app reads it; an invalid file counts
    as empty, as in the app."""
    import tomllib

    try:
        return tomllib.loads(path.read_text("utf-8")), None, True
    except FileNotFoundError:
        return {}, None, False
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        return {}, visible(e), True
    except OSError as e:
        return {}, visible(e.strerror or type(e).__name__), True


def language_source(
    lang_arg: str | None, config: Mapping[str, Any], env: Mapping[str, str]
) -> dict[str, Any]:
    """Which language the app would use and where it comes from (same order as the app:
    --lang, the config file's ``lang``, the locale variables)."""
    if lang_arg:
        return {"code": lang_arg, "source": "--lang", "value": lang_arg}
    if config.get("lang"):
        return {"code": str(config["lang"]), "source": "config", "value": str(config["lang"])}
    for var in ("LANGUAGE", "LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(var):
            return {
                "code": i18n.detect_language({var: env[var]}),
                "source": var,
                "value": visible(env[var], 60),
            }
    return {"code": "en", "source": None, "value": None}


def colour_support(env: Mapping[str, str]) -> tuple[str, str | None]:
    """(colours, why) as the full-screen app would see them (Textual over Rich):
    "none", "16", "256" or "truecolor"."""
    if "NO_COLOR" in env:
        return "none", "NO_COLOR"
    forced = env.get("TEXTUAL_COLOR_SYSTEM", "auto").strip().lower()
    if forced and forced != "auto":
        names = {"standard": "16", "256": "256", "truecolor": "truecolor", "windows": "16"}
        return names.get(forced, "truecolor"), "TEXTUAL_COLOR_SYSTEM"
    term = env.get("TERM", "").strip().lower()
    if term in ("dumb", "unknown"):
        return "none", "TERM"
    if env.get("COLORTERM", "").strip().lower() in ("truecolor", "24bit"):
        return "truecolor", "COLORTERM"
    suffix = term.rpartition("-")[2]
    return {"256color": "256", "16color": "16"}.get(suffix, "16"), None


def terminal_size() -> tuple[int, int] | None:
    for stream in (sys.stdout, sys.stderr, sys.stdin):
        try:
            size = os.get_terminal_size(stream.fileno())
        except (AttributeError, OSError, ValueError):
            continue
        return size.columns, size.lines
    return None


def _isatty(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


# --- the host --------------------------------------------------------------------------------


def _is_loopback(host: str) -> bool:
    import ipaddress

    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _ssl_error(error: BaseException) -> BaseException | None:
    import ssl

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, ssl.SSLError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _connect_failure(error: BaseException) -> str:
    """What a failed connection met, from the exceptions it was raised from: "dns", "refused"
    or "unreachable"."""
    import socket

    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, socket.gaierror):
            return "dns"
        if isinstance(current, ConnectionRefusedError):
            return "refused"
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    text = str(error).lower()
    if "name or service not known" in text or "nodename nor servname" in text:
        return "dns"
    if "connection refused" in text:
        return "refused"
    return "unreachable"


def check_host(url: str, timeout: float = TIMEOUT) -> dict[str, Any]:
    """GET /v1/health the way the app connects (same TLS trust, no redirects), then, for https,
    the certificate. ``error``: None, "bad_url", "dns" (the name does not resolve), "refused"
    (nothing listens at that port), "unreachable" (any other network failure), "timeout", "tls"
    or "not_a_host"."""
    import httpx

    out: dict[str, Any] = {
        "answers": False,
        "error": None,
        "status_code": None,
        "latency_ms": None,
        "host_version": None,
        "clock_offset_s": None,
        "encrypted": None,
        "loopback": None,
        "detail": None,
        "tls": None,
        "name": None,
    }
    from dmptui.client import host_url

    try:
        u = host_url(url)  # without the user info, query or fragment it may carry
    except (httpx.InvalidURL, TypeError, ValueError):
        out["error"] = "bad_url"
        return out
    out["name"] = visible(u.host, 120)
    out["encrypted"] = u.scheme == "https"
    out["loopback"] = _is_loopback(u.host)
    headers = {"User-Agent": f"dmptui/{__version__} doctor", "Accept": "application/json"}
    started = time.perf_counter()
    try:
        with httpx.Client(
            base_url=u, timeout=httpx.Timeout(timeout), headers=headers, follow_redirects=False
        ) as client:
            response = client.get(HEALTH_PATH)
    except httpx.TimeoutException:
        out["error"] = "timeout"
    except httpx.TransportError as e:
        tls_error = _ssl_error(e)
        out["error"] = "tls" if tls_error is not None else _connect_failure(e)
        out["detail"] = visible(type(tls_error or e).__name__)
    else:
        out["latency_ms"] = round((time.perf_counter() - started) * 1000)
        out["status_code"] = response.status_code
        out["clock_offset_s"] = _clock_offset(response.headers.get("date"))
        try:
            body = response.json()
        except ValueError:
            body = None
        if response.status_code == 200 and isinstance(body, dict) and body.get("status") == "ok":
            out["answers"] = True
            out["host_version"] = visible(body.get("version") or "?", 40)
        else:
            out["error"] = "not_a_host"
    if u.scheme == "https" and out["error"] in (None, "tls", "not_a_host"):
        out["tls"] = check_certificate(u.host, u.port or 443, timeout)
    return out


def _clock_offset(date_header: str | None) -> int | None:
    """This computer's clock minus the host's, in seconds (HTTP dates are to the second)."""
    from email.utils import parsedate_to_datetime

    if not date_header:
        return None
    try:
        theirs = parsedate_to_datetime(date_header)
    except (TypeError, ValueError, IndexError):
        return None
    if theirs.tzinfo is None:
        theirs = theirs.replace(tzinfo=UTC)
    return round((datetime.now(UTC) - theirs).total_seconds())


def _trust_source() -> str:
    # httpx's own rule (create_ssl_context with trust_env): SSL_CERT_FILE, SSL_CERT_DIR, certifi.
    for var in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
        if os.environ.get(var):
            return f"{var}={visible(os.environ[var], 120)}"
    return "certifi"


def check_certificate(host: str, port: int, timeout: float = TIMEOUT) -> dict[str, Any]:
    """The host's certificate: verified with the trust the app uses (httpx's), and read with
    verification off when it does not verify, to say what it is."""
    import socket
    import ssl

    import httpx

    out: dict[str, Any] = {
        "verifies": None,
        "verify_error": None,
        "subject": None,
        "issuer": None,
        "expires": None,
        "error": None,
        "trust": _trust_source(),
    }
    der: bytes | None = None
    decoded: dict[str, Any] | None = None
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            context = httpx.create_ssl_context()
            with context.wrap_socket(sock, server_hostname=host) as tls:
                der = tls.getpeercert(binary_form=True)
                decoded = tls.getpeercert()
        out["verifies"] = True
    except ssl.SSLCertVerificationError as e:
        out["verifies"] = False
        out["verify_error"] = visible(e.verify_message or e.reason or e, 120)
        try:
            loose = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
            loose.check_hostname = False
            loose.verify_mode = ssl.CERT_NONE
            with socket.create_connection((host, port), timeout=timeout) as sock:
                with loose.wrap_socket(sock, server_hostname=host) as tls:
                    der = tls.getpeercert(binary_form=True)
        except (OSError, ssl.SSLError) as e2:
            out["error"] = visible(type(e2).__name__)
    except (OSError, ssl.SSLError) as e:
        out["error"] = visible(getattr(e, "reason", None) or type(e).__name__)
    if der is not None:
        described = _describe_certificate(der, decoded)
        if described is not None:
            subject, issuer, expires = described
            out["subject"] = visible(subject, 160)
            out["issuer"] = visible(issuer, 160)
            out["expires"] = expires.isoformat()
    return out


_SHORT = {
    "commonName": "CN",
    "organizationName": "O",
    "organizationalUnitName": "OU",
    "countryName": "C",
    "localityName": "L",
    "stateOrProvinceName": "ST",
}


def _describe_certificate(
    der: bytes, decoded: dict[str, Any] | None
) -> tuple[str, str, datetime] | None:
    """(subject, issuer, expiry): with ``cryptography`` when installed, else from the standard
    library's decoding."""
    try:
        from cryptography import x509
    except ImportError:
        pass
    else:

        def name(value: x509.Name) -> str:
            return ", ".join(rdn.rfc4514_string() for rdn in reversed(value.rdns))

        try:
            cert = x509.load_der_x509_certificate(der)
            return name(cert.subject), name(cert.issuer), cert.not_valid_after_utc
        except ValueError:
            return None
    if not decoded:
        decoded = _decode_with_ssl(der)
    if not decoded:
        return None
    import ssl

    def names(rdns: Any) -> str:
        parts = [f"{_SHORT.get(k, k)}={v}" for rdn in reversed(rdns) for k, v in rdn]
        return ", ".join(parts)

    try:
        expires = datetime.fromtimestamp(ssl.cert_time_to_seconds(decoded["notAfter"]), UTC)
        return names(decoded.get("subject", ())), names(decoded.get("issuer", ())), expires
    except (KeyError, ValueError):
        return None


def _decode_with_ssl(der: bytes) -> dict[str, Any] | None:
    import ssl
    import tempfile

    decode = getattr(getattr(ssl, "_ssl", None), "_test_decode_cert", None)
    if decode is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "cert.pem"
        path.write_text(ssl.DER_cert_to_PEM_cert(der), "ascii")
        try:
            return decode(str(path))
        except (OSError, ValueError, ssl.SSLError):
            return None


# --- the keyring -----------------------------------------------------------------------------


def check_keyring(backend: Any = None, timeout: float = TIMEOUT) -> dict[str, Any]:
    """Write a random, non-secret value under a throwaway account, read it back, delete it,
    and check it is gone. The value is never shown."""
    import secrets

    from dmptui.session import TokenStore

    store = TokenStore(backend=backend, timeout=timeout)
    backend_text = store.describe_backend()
    value = f"doctor-check-{secrets.token_hex(8)}"
    result = store.save(KEYRING_ACCOUNT, value)
    store.delete(KEYRING_ACCOUNT)
    delete_reason = store.last_reason
    deleted: bool | None = None
    if result.stored:
        left = store.load(KEYRING_ACCOUNT)
        deleted = delete_reason is None and left is None and store.last_reason is None
    return {
        "backend": visible(backend_text),
        "stores": result.stored,
        "reason": result.reason,
        "deleted": deleted,
    }


KEYRING_REASONS = {
    "no_keyring": N_("no keyring is available on this computer"),
    "keyring_discards": N_("the keyring accepted the test value but did not keep it"),
    "keyring_timeout": N_(
        "the keyring did not answer within 5 seconds; it may be locked and waiting for a password"
    ),
    "keyring_error": N_("the keyring refused to store the test value"),
}


# --- the report ------------------------------------------------------------------------------


class Msgid(str):
    """A parameter of a problem that is itself an English msgid, translated when shown."""

    __slots__ = ()


class Problem:
    """What went wrong and what to do: English msgids (with {placeholders} filled from
    ``params``), translated when shown. ``code`` is stable, for ``--json``."""

    __slots__ = ("code", "params", "problem", "todo")

    def __init__(
        self, code: str, problem: str, todo: str, params: dict[str, Any] | None = None
    ) -> None:
        self.code, self.problem, self.todo = code, problem, todo
        self.params = params or {}

    def __repr__(self) -> str:
        return f"Problem({self.code!r})"

    def texts(self) -> tuple[str, str]:
        """(what happened, what to do) in the current language."""
        params = {k: self._shown(v) for k, v in self.params.items()}
        return _(self.problem).format(**params), _(self.todo).format(**params)

    @staticmethod
    def _shown(value: Any) -> Any:
        if isinstance(value, datetime):
            return i18n.format_date(value)
        if isinstance(value, Msgid):
            return _(value)
        return value


class Report:
    __slots__ = ("facts", "problems")

    def __init__(self, facts: dict[str, Any], problems: list[Problem]) -> None:
        self.facts, self.problems = facts, problems


TODO_ADDRESS = N_("check the address with your support.")
TODO_SCREEN_READER_OR_WINDOW = N_(
    "make the window bigger (at least 80 columns and 24 lines), or use screen-reader mode: "
    "dmptui --screen-reader."
)


def _host_problems(host: dict[str, Any]) -> list[Problem]:
    if host["url"] is None:
        return [
            Problem(
                "no_host",
                N_("no record host is set."),
                N_(
                    "start dmptui with the address your support gives you (dmptui --host URL), "
                    "or try the demo: dmptui demo."
                ),
            )
        ]
    check = host["check"]
    problems: list[Problem] = []
    error = check["error"]
    tls = check.get("tls") or {}
    if error == "bad_url":
        problems.append(
            Problem(
                "bad_url",
                N_(
                    "the host address is not a web address: it must start with https:// "
                    "(or http:// for a host on this computer) followed by a name."
                ),
                TODO_ADDRESS,
            )
        )
        return problems
    if not check.get("encrypted") and not check.get("loopback"):
        problems.append(
            Problem(
                "not_encrypted",
                N_("the host address starts with http://, so your data would not be encrypted."),
                N_("ask your support for the address that starts with https://."),
            )
        )
    if error == "dns":
        problems.append(
            Problem(
                "dns",
                N_("the host's name ({name}) cannot be found."),
                N_(
                    "check the address for a typing mistake with your support, then your "
                    "internet connection."
                ),
                {"name": check.get("name") or "?"},
            )
        )
    elif error == "refused":
        problems.append(
            Problem(
                "refused",
                N_("the host's computer answers, but nothing accepts connections at this port."),
                N_(
                    "the host may be stopped or the port wrong: check the address with your "
                    "support."
                ),
            )
        )
    elif error == "unreachable":
        problems.append(
            Problem(
                "unreachable",
                N_("the host does not answer."),
                N_("check the address with your support, or your internet connection."),
            )
        )
    elif error == "timeout":
        problems.append(
            Problem(
                "timeout",
                N_("the host did not answer within 5 seconds."),
                N_(
                    "check your internet connection and try again in a moment; if it keeps "
                    "happening, tell your support."
                ),
            )
        )
    elif error == "not_a_host":
        problems.append(
            Problem(
                "not_a_host",
                N_(
                    "something answers at this address, but it is not a record host "
                    "(HTTP {status})."
                ),
                TODO_ADDRESS,
                {"status": check["status_code"]},
            )
        )
    if tls.get("verifies") is False:
        reason = tls.get("verify_error") or ""
        if "expired" in reason.lower():
            problems.append(
                Problem(
                    "certificate_expired",
                    N_("the host's certificate has expired, or this computer's date is wrong."),
                    N_(
                        "check your computer's date and time; if they are right, do not log in "
                        "and tell your support."
                    ),
                )
            )
        else:
            problems.append(
                Problem(
                    "certificate_untrusted",
                    N_("this computer does not trust the host's certificate ({reason})."),
                    N_("do not log in; check the address with your support."),
                    {"reason": reason},
                )
            )
    elif error == "tls":
        problems.append(
            Problem(
                "tls_failed",
                N_("no secure connection could be made with the host ({reason})."),
                TODO_ADDRESS,
                {"reason": tls.get("error") or check.get("detail") or "TLS"},
            )
        )
    if tls.get("verifies") and tls.get("expires"):
        expires = datetime.fromisoformat(tls["expires"])
        if (expires - datetime.now(UTC)).days < CERT_SOON_DAYS:
            problems.append(
                Problem(
                    "certificate_expires_soon",
                    N_("the host's certificate expires on {date}."),
                    N_("nothing to do on your side; tell your support so that it is renewed."),
                    {"date": expires},
                )
            )
    offset = check.get("clock_offset_s")
    if offset is not None and abs(offset) > CLOCK_TOLERANCE:
        problems.append(
            Problem(
                "clock",
                N_(
                    "this computer's clock is {seconds} seconds away from the host's, so "
                    "one-time codes may be refused."
                ),
                N_("set this computer's date and time to update automatically."),
                {"seconds": abs(offset)},
            )
        )
    return problems


def collect(
    *,
    host_arg: str | None = None,
    lang_arg: str | None = None,
    env: Mapping[str, str] | None = None,
    keyring_backend: Any = None,
    stdout_isatty: bool | None = None,
    stdin_isatty: bool | None = None,
    size: tuple[int, int] | Callable[[], tuple[int, int] | None] | None = terminal_size,
    timeout: float = TIMEOUT,
) -> Report:
    """Every fact, and the problems found. The host check and the keyring check run side by
    side, so a hung keyring and a silent host cost one timeout, not two."""
    import platform
    from concurrent.futures import ThreadPoolExecutor

    env = dict(os.environ) if env is None else dict(env)
    out_tty = _isatty(sys.stdout) if stdout_isatty is None else stdout_isatty
    in_tty = _isatty(sys.stdin) if stdin_isatty is None else stdin_isatty
    problems: list[Problem] = []

    cfg_path = config_path()
    config, config_error, config_exists = read_config(cfg_path)

    url, source = host_arg, "--host" if host_arg else None
    host_var = settings.BY_NAME["host"].env
    if not url and env.get(host_var, "").strip():
        url, source = env[host_var], host_var  # as given, checked or not: the report says
    if not url and config.get("host"):
        url, source = str(config["host"]), "config"

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="dmptui-doctor") as pool:
        host_job = pool.submit(check_host, url, timeout) if url else None
        keyring_job = pool.submit(check_keyring, keyring_backend, timeout)
        check = host_job.result() if host_job else None
        keyring_facts = keyring_job.result()

    host = {"url": display_url(url) if url else None, "source": source, "check": check}
    problems += _host_problems(host)

    if not keyring_facts["stores"]:
        problems.append(
            Problem(
                "keyring",
                N_("this computer's keyring does not keep your login ({reason})."),
                N_("you can still use dmptui; you will not be remembered on this device."),
                {"reason": Msgid(KEYRING_REASONS.get(keyring_facts["reason"] or "", "?"))},
            )
        )
    elif keyring_facts["deleted"] is False:
        problems.append(
            Problem(
                "keyring_delete",
                N_(
                    "the keyring kept the test value but could not delete it, so logging out "
                    "might not forget you on this device."
                ),
                N_('do not choose "remember me" on this device, and tell your support.'),
            )
        )

    language = language_source(lang_arg, config, env)
    if language["code"] not in i18n.LANGUAGES:
        problems.append(
            Problem(
                "config_lang",
                N_('the config file says lang = "{value}", but only "fr" and "en" exist.'),
                N_('write lang = "fr" or lang = "en" in the config file.'),
                {"value": visible(language["value"], 20)},
            )
        )
        language = {**language, "code": "en"}

    reason = screen_reader_reason(env, config, out_tty)
    # The report's own output may be piped (to paste it); started straight in this terminal,
    # the app would see a terminal. The full-screen display's problems count only when it is
    # the one that would run.
    in_terminal = reason
    if reason == SR_NOT_A_TERMINAL and in_tty:
        in_terminal = screen_reader_reason(env, config, True)
    screen_reader = {"on": reason is not None, "reason": reason, "in_this_terminal": in_terminal}
    measured = size() if callable(size) else size
    term = env.get("TERM")
    colours, colours_why = colour_support(env)
    terminal = {
        "is_terminal": out_tty,
        "columns": measured[0] if measured else None,
        "lines": measured[1] if measured else None,
        "term": visible(term, 60) if term is not None else None,
        "colorterm": visible(env["COLORTERM"], 30) if env.get("COLORTERM") else None,
        "colours": colours,
        "colours_reason": colours_why,
        "no_color": "NO_COLOR" in env,
    }
    if in_terminal is None:
        if not term or term.strip().lower() == "unknown":
            problems.append(
                Problem(
                    "term",
                    N_(
                        "the terminal type is not set or not known (TERM={term}), so the "
                        "full-screen display may not work."
                    ),
                    N_(
                        "start dmptui from a terminal window, or use screen-reader mode: "
                        "dmptui --screen-reader."
                    ),
                    {"term": visible(term or "", 60)},
                )
            )
        if measured and (measured[0] < MIN_COLUMNS or measured[1] < MIN_LINES):
            problems.append(
                Problem(
                    "terminal_small",
                    N_("the terminal is small ({columns}×{lines}), so some screens will be cut."),
                    TODO_SCREEN_READER_OR_WINDOW,
                    {"columns": measured[0], "lines": measured[1]},
                )
            )

    try:  # what dmptui itself would say of its settings (the file's own problems: below)
        settings.load({"lang": lang_arg}, env=env, path=cfg_path)
    except settings.SettingsError as e:
        if e.setting not in (settings.CONFIG_NAME, "lang", "screen_reader", "host"):
            french, english = str(e).splitlines()
            problems.append(
                Problem(
                    "setting_invalid",
                    N_("a setting is wrong, so dmptui will not start: {error}"),
                    N_("correct it or remove it; docs/settings.md says what each one allows."),
                    {"error": visible(french if language["code"] == "fr" else english, 400)},
                )
            )
    if config_error is not None:
        problems.append(
            Problem(
                "config_invalid",
                N_("the config file cannot be read ({error}), so dmptui will not start."),
                N_("correct it, or delete it to start again from the defaults."),
                {"error": config_error},
            )
        )
    elif "screen_reader" in config and not isinstance(config["screen_reader"], bool):
        problems.append(
            Problem(
                "config_screen_reader",
                N_(
                    "in the config file, screen_reader is neither true nor false, so dmptui will "
                    "not start."
                ),
                N_("write screen_reader = true (without quotes) in the config file."),
            )
        )

    data = data_path(env)
    data_facts = {
        "path": visible(data, 400),
        "exists": data.is_dir(),
        "writable": data.is_dir() and os.access(data, os.W_OK | os.X_OK),
    }
    if data_facts["exists"] and not data_facts["writable"]:
        problems.append(
            Problem(
                "data_dir",
                N_("the data directory cannot be written to."),
                N_("tell your support; the data directory can be moved with DMPTUI_DATA_DIR."),
            )
        )

    trace = trace_facts(data, check, url)
    if trace["unreadable"]:
        problems.append(
            Problem(
                "trace_file",
                N_("the file where the app keeps the trace's last check cannot be read."),
                N_(
                    "tell your support; moving the file away makes the app start its checks "
                    "again from the host's word."
                ),
            )
        )

    facts = {
        "version": __version__,
        "system": visible(f"{platform.system()} {platform.release()} ({platform.machine()})"),
        "python": platform.python_version(),
        "language": language,
        "host": host,
        "keyring": keyring_facts,
        "terminal": terminal,
        "screen_reader": screen_reader,
        "config_file": {
            "path": visible(cfg_path, 400),
            "exists": config_exists,
            "valid": config_error is None,
        },
        "data_dir": data_facts,
        "trace": trace,
        "host_extra": _host_extra(),
    }
    return Report(facts, problems)


def trace_facts(data: Path, check: dict[str, Any] | None, url: str | None) -> dict[str, Any]:
    """Where the app keeps the trace's last verified checkpoints and pinned keys
    (``dmptui/trace_check.py``), and whether a key is pinned for this host. Read as plain JSON:
    the key's id only, never a record's INS."""
    import json

    from dmptui.trace_check import STORE_FILE

    path = data / STORE_FILE
    out: dict[str, Any] = {
        "path": visible(path, 400),
        "exists": path.is_file(),
        "unreadable": False,
        "hosts": 0,
        "pinned": None,
    }
    if not out["exists"]:
        return out
    try:
        hosts = json.loads(path.read_text("utf-8"))["hosts"]
        assert isinstance(hosts, dict)
    except (OSError, ValueError, KeyError, TypeError, AssertionError):
        out["unreadable"] = True
        return out
    out["hosts"] = len(hosts)
    if url and check is not None and check.get("error") != "bad_url":
        from dmptui.client import host_url

        key = (hosts.get(str(host_url(url))) or {}).get("key") or {}
        if isinstance(key, dict) and key.get("key_id"):
            out["pinned"] = visible(key["key_id"], 80)
    return out


def _host_extra() -> dict[str, Any]:
    """Whether the record host (``dmptui demo``, ``dmptui host …``) is installed: the extra
    ``dmptui[host]``; the app alone does not need it."""
    from dmptui.entry.extras import HOST_EXTRA, missing_host_modules

    missing = missing_host_modules()
    return {"installed": not missing, "missing": missing, "extra": HOST_EXTRA}


# --- writing it out --------------------------------------------------------------------------
# Whole sentences as msgids (not "yes", "on", "French" alone), so that no short word gets a
# translation here that another part of the app would want different.

LANGUAGE_LINES = {
    "fr": N_("Language: French ({source})"),
    "en": N_("Language: English ({source})"),
}
HOST_ERRORS = {
    "unreachable": N_("no connection"),
    "dns": N_("the name cannot be found"),
    "refused": N_("connection refused"),
    "timeout": N_("no answer within 5 seconds"),
    "tls": N_("the secure connection failed"),
    "not_a_host": N_("HTTP {status}, not a record host"),
    "bad_url": N_("not a web address"),
}


def _source(source: str | None, value: str | None = None) -> str:
    if source is None:
        return _("no locale set")
    if source == "config":
        return _("from the config file")
    return _("from {variable}").format(variable=f"{source}={value}" if value else source)


def render(report: Report) -> str:
    """The report in the current language: one fact per line, then the problems."""
    f = report.facts
    lines = [
        _("dmptui doctor: a report for support. It holds no password, no code and no health data."),
        _("dmptui version {version}").format(version=f["version"]),
        _("System: {system}, Python {python}").format(system=f["system"], python=f["python"]),
    ]
    lang = f["language"]
    value = lang["value"] if lang["source"] not in (None, "config", "--lang") else None
    lines.append(
        _(LANGUAGE_LINES.get(lang["code"], LANGUAGE_LINES["en"])).format(
            source=_source(lang["source"], value)
        )
    )

    host = f["host"]
    if host["url"] is None:
        lines.append(_("Host: none set (no --host, DMPTUI_HOST or config file)"))
    else:
        lines.append(
            _("Host: {url} ({source})").format(url=host["url"], source=_source(host["source"]))
        )
        lines += _host_lines(host["check"])

    k = f["keyring"]
    if k["stores"] and k["deleted"]:
        lines.append(
            _("Keyring: {backend} — stores: yes (written, read back and deleted)").format(
                backend=k["backend"]
            )
        )
    elif k["stores"]:
        lines.append(
            _("Keyring: {backend} — stores: yes (written and read back, but not deleted)").format(
                backend=k["backend"]
            )
        )
    else:
        lines.append(
            _("Keyring: {backend} — stores: no ({reason})").format(
                backend=k["backend"], reason=_(KEYRING_REASONS.get(k["reason"] or "", "?"))
            )
        )

    t = f["terminal"]
    term = f"TERM={t['term']}" if t["term"] is not None else _("TERM not set")
    colours = _("none") if t["colours"] == "none" else t["colours"]
    if t["colours_reason"] == "NO_COLOR":
        colours += " " + _("(NO_COLOR set)")
    elif t["colours_reason"] == "TERM":
        colours += f" (TERM={t['term']})"
    elif t["colours_reason"] in ("COLORTERM", "TEXTUAL_COLOR_SYSTEM"):
        colours += f" ({t['colours_reason']})"
    if t["columns"] is not None:
        lines.append(
            _("Terminal: {columns}×{lines}, {term}, colours: {colours}").format(
                columns=t["columns"], lines=t["lines"], term=term, colours=colours
            )
        )
    else:
        lines.append(
            _("Terminal: size unknown (not a terminal), {term}, colours: {colours}").format(
                term=term, colours=colours
            )
        )

    sr = f["screen_reader"]
    if sr["reason"] is not None:
        lines.append(
            _("Screen-reader mode: would turn on ({reason})").format(reason=_(sr["reason"]))
        )
        if sr["in_this_terminal"] is None:
            lines.append(
                _(
                    "This report goes to a file or another program; started directly in this "
                    "terminal, dmptui would have screen-reader mode off."
                )
            )
    else:
        lines.append(
            _("Screen-reader mode: off (turn it on with dmptui --screen-reader, or ACCESSIBLE=1)")
        )

    c = f["config_file"]
    if not c["exists"]:
        lines.append(_("Config file: {path} (missing)").format(path=c["path"]))
    elif not c["valid"]:
        lines.append(_("Config file: {path} (cannot be read)").format(path=c["path"]))
    else:
        lines.append(_("Config file: {path} (exists)").format(path=c["path"]))
    d = f["data_dir"]
    if d["exists"]:
        lines.append(_("Data directory: {path} (exists)").format(path=d["path"]))
    else:
        lines.append(_("Data directory: {path} (not created yet)").format(path=d["path"]))
    tr = f["trace"]
    if not tr["exists"]:
        lines.append(
            _("Trace checks: {path} (none yet: made at the first visit to the trace)").format(
                path=tr["path"]
            )
        )
    elif tr["unreadable"]:
        lines.append(_("Trace checks: {path} (cannot be read)").format(path=tr["path"]))
    else:
        lines.append(
            ngettext(
                "Trace checks: {path} ({count} host)",
                "Trace checks: {path} ({count} hosts)",
                tr["hosts"],
            ).format(path=tr["path"], count=tr["hosts"])
        )
    if host["url"] is not None:
        if tr["pinned"]:
            lines.append(_("Host key pinned on this device: {key_id}").format(key_id=tr["pinned"]))
        else:
            lines.append(
                _(
                    "Host key pinned on this device: none yet (pinned at the first visit to "
                    "the trace)"
                )
            )
    x = f["host_extra"]
    if x["installed"]:
        lines.append(_("Record host (dmptui demo, dmptui host): installed"))
    else:
        lines.append(
            _(
                "Record host (dmptui demo, dmptui host): not installed ({missing} missing). "
                "The app alone is enough with a host of your own (dmptui --host URL); for the "
                "demo, install the extra: pip install '{extra}'."
            ).format(missing=", ".join(x["missing"]), extra=x["extra"])
        )

    if not report.problems:
        lines.append(_("No problem found."))
    else:
        lines.append(_("Problems found: {count}").format(count=len(report.problems)))
        for p in report.problems:
            problem, todo = p.texts()
            lines.append(
                _("Problem: {problem} What to do: {todo}").format(problem=problem, todo=todo)
            )
    return "\n".join(lines)


def _host_lines(check: dict[str, Any]) -> list[str]:
    lines: list[str] = []
    if check["answers"]:
        lines.append(
            _("Host answers: yes, in {ms} ms (host version {version})").format(
                ms=check["latency_ms"], version=check["host_version"]
            )
        )
    else:
        reason = _(HOST_ERRORS.get(check["error"], "?")).format(status=check["status_code"])
        lines.append(_("Host answers: no ({reason})").format(reason=reason))
    offset = check.get("clock_offset_s")
    if offset is not None:
        if abs(offset) <= 2:
            lines.append(_("Clock: same time as the host"))
        elif offset > 0:
            lines.append(_("Clock: {seconds} seconds ahead of the host").format(seconds=offset))
        else:
            lines.append(_("Clock: {seconds} seconds behind the host").format(seconds=-offset))
    if check["error"] == "bad_url":
        return lines
    tls = check.get("tls")
    if not check.get("encrypted"):
        lines.append(_("Certificate: none (the address starts with http://)"))
    elif tls is None:
        lines.append(_("Certificate: not checked (the host does not answer)"))
    elif tls["subject"] is None:
        lines.append(
            _("Certificate: could not be read ({reason})").format(reason=tls["error"] or "?")
        )
    else:
        lines.append(_("Certificate: {subject}").format(subject=tls["subject"]))
        lines.append(_("Certificate issued by: {issuer}").format(issuer=tls["issuer"]))
        lines.append(_("Certificate expires on: {date}").format(date=_date(tls["expires"])))
        if tls["verifies"]:
            lines.append(
                _("Certificate verifies: yes (trusted certificates: {trust})").format(
                    trust=tls["trust"]
                )
            )
        else:
            lines.append(
                _("Certificate verifies: no ({reason}; trusted certificates: {trust})").format(
                    reason=tls["verify_error"], trust=tls["trust"]
                )
            )
    return lines


def _date(iso: str) -> str:
    return i18n.format_date(datetime.fromisoformat(iso))


def as_json(report: Report) -> str:
    problems = []
    for p in report.problems:
        problem, todo = p.texts()
        problems.append({"code": p.code, "problem": problem, "what_to_do": todo})
    return json.dumps(
        {**report.facts, "problems": problems}, ensure_ascii=False, indent=2, default=str
    )


# --- the command -----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``dmptui doctor`` (also for cli.py's subparser). --host and --lang default
    to "not given", so ``dmptui --host URL doctor`` works as well."""
    parser.add_argument("--host", default=argparse.SUPPRESS, help="the record host's URL to check")
    parser.add_argument(
        "--lang", choices=["fr", "en"], default=argparse.SUPPRESS, help="language of the report"
    )
    parser.add_argument("--json", action="store_true", help="print the same facts as JSON")


def run(args: argparse.Namespace, **options: Any) -> int:
    """Collect, print; return 0 when no problem was found, 1 when the report lists one (a
    script or a support tool can tell the two apart without reading the text)."""
    host_arg = getattr(args, "host", None)
    lang_arg = getattr(args, "lang", None)
    report = collect(host_arg=host_arg, lang_arg=lang_arg, **options)
    previous = i18n.language()
    i18n.set_language(report.facts["language"]["code"])
    try:
        text = as_json(report) if getattr(args, "json", False) else render(report)
    finally:
        i18n.set_language(previous)
    print(text, flush=True)
    return 1 if report.problems else 0


def main(argv: list[str] | None = None, **options: Any) -> int:
    parser = argparse.ArgumentParser(
        prog="dmptui doctor", description=HELP, usage=USAGE, epilog=EPILOG
    )
    add_arguments(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    return run(args, **options)


if __name__ == "__main__":
    sys.exit(main())
