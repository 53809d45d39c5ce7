"""The secret scan (``tests/secretscan.py``) can fail: its checker finds leaking lines, it
learns the secrets the real host issues, and a pytest run that prints one exits with 1."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import secretscan
from hostkit import LiveHost
from secretscan import DEMO_PASSWORD, Secrets, find_leaks

ROOT = Path(__file__).resolve().parents[1]


def secrets() -> Secrets:
    s = Secrets()
    s.add("tokens", "tok_QWERTY123456abcdef")
    s.add("codes", "482913")
    s.add("passwords", "another-Pass-9")
    return s


def test_the_checker_finds_each_kind_of_secret() -> None:
    s = secrets()
    leaks = find_leaks(
        "\n".join(
            [
                f"INFO login ok for 284057512345672 with {DEMO_PASSWORD}",
                "httpx GET http://h/v1/record?token=tok_QWERTY123456abcdef 200",
                "Traceback: ValueError: bad code 482913",
                "password another-Pass-9 refused",
            ]
        ),
        s,
        "sample",
    )
    assert [leak.kind for leak in leaks] == ["password", "token", "one-time code", "password"]
    # The report never repeats the secret itself.
    assert all(DEMO_PASSWORD not in str(leak) for leak in leaks)
    assert all("482913" not in str(leak) for leak in leaks)


def test_codes_are_whole_numbers_and_exempt_in_the_demo_outbox() -> None:
    s = secrets()
    clean = [
        "RPPS 10004829131, INS 1482913000000",  # inside a longer number
        "took 0.482913 s",  # inside a duration
        "Demo phone: SMS to 06 •• •• •• 42: your code is 482913",  # the demo phone, by design
        '{"channel": "sms", "body": "Code : 482913"}',  # an outbox line, by design
    ]
    assert find_leaks("\n".join(clean), s, "sample") == []
    assert find_leaks("code 482913\n", s, "outbox.jsonl", demo_outbox=True) == []
    # Tokens and passwords have no exemption, even in the demo outbox.
    assert find_leaks("tok_QWERTY123456abcdef", s, "outbox.jsonl", demo_outbox=True)
    assert find_leaks(f"Demo phone: {DEMO_PASSWORD}", s, "sample")


def test_the_scan_learns_what_the_real_host_issues(host: LiveHost) -> None:
    scan = secretscan._scan
    assert scan is not None, "the plugin is not active"
    with host.login() as client:
        access = client.tokens["access_token"]  # type: ignore[attr-defined]
        refresh = client.tokens["refresh_token"]  # type: ignore[attr-defined]
    assert {access, refresh} <= scan.secrets.tokens
    assert host.password in scan.secrets.passwords
    r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
    challenge = r.json()["challenge"]
    assert challenge in scan.secrets.tokens
    r = host.http.post("/v1/auth/otp", json={"challenge": challenge, "channel": "sms"})
    assert r.status_code == 200, r.text
    assert scan.secrets.codes  # the code sent by SMS (to the demo outbox) is known


# Also under pytest-xdist (the README's command runs the suite with it): each worker learns
# and scans on its own, and the controller fails the run with what they found.
@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["alone", "xdist"])
def test_a_run_that_prints_a_secret_fails(tmp_path: Path, workers: list[str]) -> None:
    (tmp_path / "conftest.py").write_text(
        "from secretscan import pytest_configure, pytest_sessionfinish  # noqa\n"
    )
    (tmp_path / "test_leak.py").write_text(
        textwrap.dedent(
            f"""
            import logging

            def test_clean():
                print("nothing to see")

            def test_prints_the_password():
                print("logging in with {DEMO_PASSWORD}")

            def test_logs_it():
                logging.getLogger("dmptui.client").debug("password={DEMO_PASSWORD}")
            """
        )
    )
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *workers, str(tmp_path)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PYTHONPATH": f"{ROOT / 'tests'}:{ROOT}", "PATH": "/usr/bin:/bin"},
        timeout=120,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "3 passed" in done.stdout
    assert "SECRET LEAK" in done.stdout
    assert "test_prints_the_password [Captured stdout call]" in done.stdout
    assert "test_logs_it [log records, call]" in done.stdout
    assert "test_clean" not in done.stdout.split("secrets found")[1]
    assert DEMO_PASSWORD not in done.stdout  # the report itself does not repeat it


def test_a_failing_test_report_does_not_show_the_host_s_credentials(host: LiveHost) -> None:
    """pytest prints a failing test's fixture values: the LiveHost repr must not hold the
    demo password, the TOTP secret nor a practitioner's credential."""
    shown = repr(host)
    assert host.password not in shown
    assert host.creds["patient"]["totp_secret"] not in shown
    assert all(p["credential"] not in shown for p in host.creds["practitioners"])


def test_an_outbox_error_does_not_keep_the_code() -> None:
    from dmptui.host.outbox import _describe

    body = "Votre code DMP : 482913 (valable 10 min).\nYour DMP code: 482913 (valid 10 min).\n"
    for error in (
        OSError("554 5.7.1 message refused: 482913"),
        OSError(f"554 refused: {body}"),
        OSError("gateway said: Your DMP code: 482913 (valid"),
    ):
        text = _describe(error, body)
        assert "482913" not in text, text


def test_a_crash_does_not_print_local_variables(
    host: LiveHost, capsys: pytest.CaptureFixture[str]
) -> None:
    """Textual prints a crash's traceback with each frame's locals; the app's handler does not
    (a password, a token or a request body would be among them)."""
    import asyncio

    from tuikit import make_app

    app = make_app(host, "en")

    async def go() -> None:
        async with app.run_test() as pilot:
            await pilot.pause()

            def crash() -> None:
                password = host.password  # noqa: F841 - the local a traceback would show
                raise RuntimeError("a bug")

            app.call_later(crash)
            await pilot.pause(0.2)

    try:
        asyncio.run(go())
    except RuntimeError as e:
        assert str(e) == "a bug"
    text = capsys.readouterr().err  # where Textual prints the exit renderables
    assert "RuntimeError" in text and "a bug" in text  # the traceback is there…
    assert host.password not in text  # …without the locals


def test_a_database_error_does_not_carry_the_values(host: LiveHost) -> None:
    """A failed statement's message goes into the server's log with its traceback: it must
    not hold the statement's parameters."""
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    with pytest.raises(DBAPIError) as caught, host.app.state.host.engine.connect() as conn:
        conn.execute(text("SELECT :p FROM no_such_table"), {"p": DEMO_PASSWORD})
    assert DEMO_PASSWORD not in str(caught.value)
    assert "hidden due to hide_parameters" in str(caught.value)
