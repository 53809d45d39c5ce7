"""A pytest plugin: no password, one-time code or token may appear in anything the test run
writes — captured stdout and stderr, captured log records, failure reports — nor in any log file
the tests leave behind. It fails the run (exit status 1) and names where, when one does.

What counts as a secret, learnt while the run goes (the host runs in the test process):

- passwords: the demo password, and every password the host accepted (``auth.verify_password``
  returned True);
- one-time codes: every code the host sent (``auth.new_code``) and every authenticator code it
  accepted (``auth.verify_totp`` returned a step); a code is matched as a number of its own
  (not inside a longer number, a date, a duration or an identifier);
- tokens: every token the host issued (``auth.new_token``: access and refresh tokens, login
  challenges, practitioner credentials).

The rule for one-time codes sent by design: the demo host writes each sent code into its demo
outbox (``outbox.jsonl``, sealed on disk since issue 16: a code there could only be a leak of an
older format), and the demo phone (in the TUI, and the reader's "Demo phone:" lines) shows it,
opened, because that outbox stands for the patient's real phone. So a code is not a leak in
the demo outbox file, nor on a line that is a demo-phone or outbox message (``DEMO_MARKERS``).
Anywhere else — a log record, a traceback, a stray print — it is. Passwords and tokens have no
such exemption: nothing sends them anywhere by design. TOTP enrolment secrets are not scanned:
the first login shows the secret to the patient by design (that is how the authenticator app
gets it).

What is scanned:

- each test's report sections (captured stdout, stderr, log) and its failure text, in every
  phase, through ``pytest_runtest_logreport``;
- log records at DEBUG from the ``dmptui``, ``httpx``, ``httpcore`` and ``uvicorn`` loggers
  (their levels are lowered for the run; a handler of this plugin writes them to a file);
- at the end, every ``*.log``, ``*.jsonl`` and ``*.txt`` file under the run's base temporary
  directory (host logs, outboxes, saved files).

``find_leaks`` is the checker; ``tests/test_secret_leaks.py`` feeds it leaking lines, so that
this plugin is shown able to fail.
"""

from __future__ import annotations

import logging
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

DEMO_PASSWORD = "Tilleul-Brume-2026"
# A line holding one of these is a demo outbox / demo phone message: codes there are by design.
DEMO_MARKERS = (
    "Demo phone:",
    "Téléphone de démonstration",
    '"channel": "sms"',
    '"channel": "email"',
)
LOGGERS = ("dmptui", "httpx", "httpcore", "uvicorn")
FILE_PATTERNS = ("*.log", "*.jsonl", "*.txt")
WORKER_KEY = "secretscan_leaks"


@dataclass
class Secrets:
    passwords: set[str] = field(default_factory=lambda: {DEMO_PASSWORD})
    codes: set[str] = field(default_factory=set)
    tokens: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, kind: str, value: str | None) -> None:
        if value:
            with self.lock:
                getattr(self, kind).add(value)


@dataclass(frozen=True)
class Leak:
    where: str
    kind: str
    line: str

    def __str__(self) -> str:
        return f"{self.where}: a {self.kind} in: {self.line[:200]!r}"


def find_leaks(text: str, secrets: Secrets, where: str, *, demo_outbox: bool = False) -> list[Leak]:
    """The secrets in ``text``, line by line. ``demo_outbox``: the whole text is the demo
    outbox, where codes are by design."""
    leaks: list[Leak] = []
    with secrets.lock:
        passwords, codes, tokens = set(secrets.passwords), set(secrets.codes), set(secrets.tokens)
    code_re = (
        re.compile(
            r"(?<![\w.,:/+-])(" + "|".join(map(re.escape, sorted(codes))) + r")(?![\w.,:/+-])"
        )
        if codes
        else None
    )
    for line in text.splitlines():
        for p in passwords:
            if p in line:
                leaks.append(Leak(where, "password", line.replace(p, "<password>")))
        for t in tokens:
            if t in line:
                leaks.append(Leak(where, "token", line.replace(t, "<token>")))
        if code_re is None or demo_outbox or any(m in line for m in DEMO_MARKERS):
            continue
        if found := code_re.search(line):
            leaks.append(Leak(where, "one-time code", line.replace(found.group(1), "<code>")))
    return leaks


class _Collect(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = f"{record.name} {record.levelname} {record.getMessage()}"
            if record.exc_info:
                text += "\n" + logging.Formatter().formatException(record.exc_info)
        except Exception:
            return
        self.sink.append(text)


class SecretScan:
    def __init__(self) -> None:
        self.secrets = Secrets()
        self.leaks: list[Leak] = []
        self.records: list[str] = []
        self.handler = _Collect(self.records)
        self._levels: dict[str, int] = {}
        self._undo: list[tuple[Any, str, Any]] = []
        self.found_elsewhere: list[str] = []  # the leaks pytest-xdist's workers found

    # --- learning the secrets ------------------------------------------------------------------

    def _wrap(self, module: Any, name: str, record: Any) -> None:
        original = getattr(module, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            result = original(*args, **kwargs)
            record(args, result)
            return result

        wrapper.__wrapped__ = original  # type: ignore[attr-defined]
        setattr(module, name, wrapper)
        self._undo.append((module, name, original))

    def start(self) -> None:
        from dmptui.host import auth

        s = self.secrets
        self._wrap(auth, "new_token", lambda a, r: s.add("tokens", r))
        self._wrap(auth, "new_code", lambda a, r: s.add("codes", r))
        self._wrap(auth, "verify_password", lambda a, r: r and s.add("passwords", a[1]))
        self._wrap(auth, "verify_totp", lambda a, r: r is not None and s.add("codes", a[1]))
        root = logging.getLogger()
        root.addHandler(self.handler)
        for name in LOGGERS:
            logger = logging.getLogger(name)
            self._levels[name] = logger.level
            logger.setLevel(logging.DEBUG)

    def stop(self) -> None:
        for module, name, original in reversed(self._undo):
            setattr(module, name, original)
        logging.getLogger().removeHandler(self.handler)
        for name, level in self._levels.items():
            logging.getLogger(name).setLevel(level)

    # --- scanning ------------------------------------------------------------------------------

    def scan(self, text: str, where: str, demo_outbox: bool = False) -> None:
        self.leaks.extend(find_leaks(text, self.secrets, where, demo_outbox=demo_outbox))

    @pytest.hookimpl(trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        for title, content in report.sections:
            self.scan(content, f"{report.nodeid} [{title}]")
        if report.failed:
            self.scan(report.longreprtext, f"{report.nodeid} [failure report, {report.when}]")
        if self.records:
            records, self.records[:] = list(self.records), []
            self.scan("\n".join(records), f"{report.nodeid} [log records, {report.when}]")

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Under pytest-xdist, each worker runs the host and learns its own secrets: it scans
        its own reports, logs and files, and hands what it found to the controller here."""
        self.found_elsewhere.extend(getattr(node, "workeroutput", {}).get(WORKER_KEY, []))

    def scan_files(self, base: Path) -> None:
        for pattern in FILE_PATTERNS:
            for path in base.rglob(pattern):
                try:
                    text = path.read_text("utf-8", errors="replace")
                except OSError:
                    continue
                self.scan(text, str(path), demo_outbox=path.name == "outbox.jsonl")


_scan: SecretScan | None = None


def pytest_configure(config: pytest.Config) -> None:
    global _scan
    if getattr(config.option, "collectonly", False):
        return
    _scan = SecretScan()
    _scan.start()
    config.pluginmanager.register(_scan, "secretscan-instance")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _scan is None:
        return
    try:
        base = session.config._tmp_path_factory.getbasetemp()  # type: ignore[attr-defined]
    except (AttributeError, OSError, ValueError):
        base = None
    if base is not None:
        _scan.scan_files(Path(base))
    if _scan.records:
        _scan.scan("\n".join(_scan.records), "log records after the last test")
    _scan.stop()
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # a pytest-xdist worker: the controller reports
        workeroutput[WORKER_KEY] = [str(leak) for leak in _scan.leaks]
    # Once each: the controller also scans the reports and files its workers scanned.
    found = list(dict.fromkeys([str(leak) for leak in _scan.leaks] + _scan.found_elsewhere))
    if found:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        lines = [f"SECRET LEAK: {leak}" for leak in found[:50]]
        if reporter is not None:
            reporter.write_sep("=", "secrets found in the test run's output", red=True)
            for line in lines:
                reporter.write_line(line)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
