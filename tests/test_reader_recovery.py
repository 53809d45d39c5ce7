"""Screen-reader mode: a forgotten password (f at the password question) and a lost phone (p),
in process against the real host over real HTTP; then a login with what the recovery gave."""

from __future__ import annotations

import re

import pyotp
from hostkit import LiveHost
from test_reader_nav import CODE, PASSWORD, Run, drive, flat

NEW_PASSWORD = "Glycine-Orage-2027"


def _sent(host: LiveHost, channel: str) -> str:
    return host.outbox_body(channel).split(":")[1].split()[0]


def test_forgot_password_then_log_in_with_the_new_one(host: LiveHost) -> None:
    async def script(run: Run) -> None:
        await run.answer("", "Press Enter to keep")
        await run.answer("Pas-le-bon-mot-2026", PASSWORD)
        came = await run.until("Press Enter to keep")
        # A wrong password: the way out is said.
        assert "type f alone for “Forgot password”" in flat(came)
        run.type("")
        await run.answer("f", PASSWORD)
        # The INS typed at the login's question is not asked again.
        came = await run.until("a code was sent to it by SMS.")
        assert "you will need two of these three" in flat(came)
        assert "INS (national health identifier" not in flat(came)
        await run.answer(_sent(host, "sms"), "Code received by SMS (6 digits):")
        await run.until("A second code was sent to your email address.")
        await run.answer(_sent(host, "email"), "Code received by email (6 digits):")
        await run.answer("trop-court", "New password:")
        await run.answer("trop-court", "New password again:")
        await run.until("too short")
        await run.answer(NEW_PASSWORD, "New password:")
        await run.answer(NEW_PASSWORD, "New password again:")
        await run.until("Your password was changed.")
        await run.answer("", "Press Enter to keep")
        await run.answer(NEW_PASSWORD, PASSWORD)
        await run.answer("1")
        await run.answer(host.code(), CODE)
        await run.until("Done: you are logged in.")
        await run.quit()

    run = drive(host, script)
    assert NEW_PASSWORD not in run.text and "Traceback" not in run.text
    assert host.sql("SELECT count(*) FROM trace_entries WHERE action = 'password.reset'") == [(1,)]


def test_lost_phone_gives_a_new_authenticator(host: LiveHost) -> None:
    async def script(run: Run) -> None:
        await run.answer("", "Press Enter to keep")
        await run.answer("p", PASSWORD)
        await run.answer(host.password, "Password:")  # the INS is the login's
        menu = await run.answer("1")  # by email
        assert "Where should the code be sent?" in menu and "By SMS" in menu
        await run.until("A code was sent to")
        await run.answer(_sent(host, "email"), "Code received (6 digits):")
        came = await run.until("Then log in with your password and the new code.")
        assert "new authenticator is ready" in flat(came)
        spoken = came.split("without the commas and semicolons:", 1)[1]
        secret = re.sub(r"[^A-Z2-7]", "", spoken.split("Then log in")[0].upper())
        assert len(secret) >= 16 and secret != host.creds["patient"]["totp_secret"]
        await run.answer("", "Press Enter to keep")
        await run.answer(host.password, PASSWORD)
        await run.answer("1")
        run.host.clock.advance(seconds=30)
        await run.answer(pyotp.TOTP(secret).at(run.host.clock()), CODE)
        await run.until("Done: you are logged in.")
        await run.quit()

    run = drive(host, script)
    assert host.password not in run.text
