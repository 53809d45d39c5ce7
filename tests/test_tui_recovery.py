"""Screen 0 — Log in: a forgotten password (F5) and a lost phone (F6), driven by keys against the
real host; then a login with what the recovery gave."""

from __future__ import annotations

import asyncio

import pyotp
from hostkit import LiveHost
from tuikit import make_app, status, wait_for

NEW_PASSWORD = "Glycine-Orage-2027"


def _sent(host: LiveHost, channel: str) -> str:
    return host.outbox_body(channel).split(":")[1].split()[0]


async def _type(pilot, text: str) -> None:
    await pilot.press(*text)
    await pilot.press("enter")


def _shows(app, words: str) -> bool:
    return words in status(app)


def test_forgot_password_then_log_in_with_the_new_one(host: LiveHost) -> None:
    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 50)) as pilot:
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            await pilot.press("f5")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RecoveryScreen")
            assert "two of these three" in status(app)
            await _type(pilot, host.ins)
            await wait_for(pilot, lambda: _shows(app, "a code was sent to it by SMS"))
            await _type(pilot, _sent(host, "sms"))
            await wait_for(pilot, lambda: _shows(app, "second code was sent to your email"))
            await _type(pilot, _sent(host, "email"))
            await wait_for(pilot, lambda: _shows(app, "choose a new password"))
            assert app.screen.query_one("#field").password  # not shown as typed
            await _type(pilot, "trop-court")
            await _type(pilot, "trop-court")
            await wait_for(pilot, lambda: _shows(app, "too short"))
            await _type(pilot, NEW_PASSWORD)
            await _type(pilot, NEW_PASSWORD)
            await wait_for(pilot, lambda: _shows(app, "Your password was changed"))
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert "Log in with your new password" in status(app)
            app.screen.query_one("#password").focus()
            await _type(pilot, NEW_PASSWORD)
            await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
            await _type(pilot, host.code())
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HomeScreen")
        assert host.sql("SELECT count(*) FROM trace_entries WHERE action = 'password.reset'") == [
            (1,)
        ]

    asyncio.run(go())


def test_lost_phone_shows_the_new_authenticator_as_at_first_login(host: LiveHost) -> None:
    async def go() -> None:
        app = make_app(host, "en")
        async with app.run_test(size=(120, 60)) as pilot:
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            await pilot.press("f6")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "RecoveryScreen")
            await _type(pilot, host.ins)
            await _type(pilot, host.password)
            await wait_for(pilot, lambda: app.screen.query_one("#choices").display)
            await pilot.click("#choice-0")  # by email
            await wait_for(pilot, lambda: _shows(app, "A code was sent to"))
            await _type(pilot, _sent(host, "email"))
            await wait_for(pilot, lambda: _shows(app, "new authenticator is ready"))
            text = str(app.screen.query_one("#enrolment").render())
            new_secret = text.rsplit(":", 1)[1].strip().replace("\n", "")  # as a person reads it
            assert new_secret and new_secret != host.creds["patient"]["totp_secret"]
            assert "█" in str(app.screen.query_one("#qr").render()) or "▀" in str(
                app.screen.query_one("#qr").render()
            )
            await pilot.press("enter")  # the enrolment read: done
            await pilot.press("escape")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            app.screen.query_one("#password").focus()
            await _type(pilot, host.password)
            await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
            host.clock.advance(seconds=30)
            await _type(pilot, pyotp.TOTP(new_secret).at(host.clock()))
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HomeScreen")

    asyncio.run(go())
