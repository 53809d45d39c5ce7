"""Activating a record in both front ends, against the real host over HTTP: a pharmacist opens
the record, the patient logs in with the provisional password, is asked for the letter's
activation code (never given the secret before it), then sees the secret and logs in."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import activationkit
import pyotp
from activationkit import NEW_INS
from hostkit import LiveHost
from test_reader import environment, open_reader, sessions  # noqa: F401 - the fixture
from tuikit import status, wait_for

from dmptui.identifiers import spelled_groups

_opened = activationkit.opened
_secret = activationkit.secret_of
make_app = activationkit.make_app


def _wrong(code: str) -> str:
    return "AAAA-BBBB-CCCC" if code != "AAAA-BBBB-CCCC" else "CCCC-BBBB-AAAA"


def test_the_tui_asks_for_the_activation_code_then_shows_the_secret(host: LiveHost) -> None:
    password, code = _opened(host)

    async def go() -> None:
        app = make_app(host, "en", ins=NEW_INS)
        async with app.run_test(size=(140, 60)) as pilot:
            login = app.screen
            await wait_for(pilot, lambda: app.focused is login.query_one("#password"))
            await pilot.press(*password, "enter")
            await wait_for(pilot, lambda: login.query_one("#code-step").display)
            # Not activated: the activation code's field, not the one-time code's; no secret.
            field = login.query_one("#activation-code")
            await wait_for(pilot, lambda: app.focused is field)
            assert not login.query_one("#code").display
            assert "not activated yet" in status(app)
            assert str(login.query_one("#enrolment").render()) == ""
            assert _secret(host) is None
            # A malformed code is refused before anything is sent; a wrong one by the host.
            await pilot.press(*"ABC", "enter")
            assert "12 letters and digits" in status(app)
            assert field.value == "ABC"  # kept, to be corrected
            field.value = ""
            await pilot.press(*_wrong(code), "enter")
            await wait_for(pilot, lambda: "wrong, expired or already used" in status(app))
            assert login.query_one("#activation-code").display
            # The right code: the secret as text and its QR code; the one-time code's field.
            assert app.focused is field and field.value == ""
            await pilot.press(*code.lower(), "enter")
            await wait_for(pilot, lambda: login.query_one("#code").display)
            secret = _secret(host)
            assert secret is not None
            assert secret in str(login.query_one("#enrolment").render())
            qr = login.query_one("#qr")
            assert qr.display and ("▀" in str(qr.render()) or "█" in str(qr.render()))
            assert not login.query_one("#activation-code").display
            await wait_for(pilot, lambda: app.focused is login.query_one("#code"))
            host.clock.advance(seconds=30)
            await pilot.press(*pyotp.TOTP(secret).at(host.clock()), "enter")
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HomeScreen")

    asyncio.run(go())
    trace = host.sql(
        "SELECT action, outcome FROM trace_entries t JOIN records r ON r.id = t.record_id "
        "WHERE r.ins = :i ORDER BY seq",
        {"i": NEW_INS},
    )
    assert trace[:3] == [
        ("record.open", "allowed"),
        ("activation", "denied"),
        ("activation", "allowed"),
    ]


def test_the_tui_in_french_says_the_activation_step(host: LiveHost) -> None:
    password, _code = _opened(host)

    async def go() -> None:
        app = make_app(host, "fr", ins=NEW_INS)
        async with app.run_test(size=(120, 40)) as pilot:
            login = app.screen
            await wait_for(pilot, lambda: app.focused is login.query_one("#password"))
            await pilot.press(*password, "enter")
            await wait_for(pilot, lambda: login.query_one("#code-step").display)
            assert "pas encore activé" in status(app)
            await pilot.press(*"ABC", "enter")
            assert "12 lettres et chiffres" in status(app)

    asyncio.run(go())


def test_the_reader_asks_for_the_activation_code_then_spells_the_secret(
    host: LiveHost,
    tmp_path: Path,
    sessions: Any,  # noqa: F811 - the fixture
) -> None:
    password, code = _opened(host)
    s = open_reader(sessions, host, tmp_path)
    s.answer(NEW_INS, "INS (national health identifier, 15 characters):")
    s.secret(password, "Password (not shown as you type):")
    question = "Activation code from your letter, 12 letters and digits (Enter alone starts again):"
    s.prompt(question)
    assert _secret(host) is None
    s.send("ABC")
    s.match(r"Error: The activation code has 12 letters and digits.*")
    s.answer(_wrong(code), question)
    s.match(r"Error: This activation code is wrong, expired or already used.*")
    s.answer(code, question)
    s.match(r"Done: Your record is activated\..*")
    secret = _secret(host)
    assert secret is not None
    s.line(spelled_groups(secret))
    s.answer("1", "Your choice:")
    host.clock.advance(seconds=30)
    s.secret(
        pyotp.TOTP(secret).at(host.clock()),
        "One-time code, 6 digits (not shown as you type; Enter alone goes back):",
    )
    s.line("Done: you are logged in.")
    assert password not in s.output
