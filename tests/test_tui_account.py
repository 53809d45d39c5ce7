"""Screen 10 (My devices and sessions), driven by keys against the real host: the sessions and
devices are listed with this device marked; a session is ended after a confirmation; the
password is changed with the current password and a fresh code, and the other sessions end."""

from __future__ import annotations

import asyncio

from hostkit import LiveHost
from textual.pilot import Pilot
from textual.widgets import OptionList
from tuikit import goto, login, make_app, settled, status, wait_for

NEW_PASSWORD = "Ombre-Marée-Genêt-77"


def option_texts(app, list_id: str) -> list[str]:
    widget = app.screen.query_one(list_id, OptionList)
    return [str(widget.get_option_at_index(i).prompt) for i in range(widget.option_count)]


async def modal(pilot: Pilot, name: str) -> None:
    await wait_for(pilot, lambda: pilot.app.screen.__class__.__name__ == name)


async def confirm(pilot: Pilot) -> None:
    """On a ConfirmScreen the focus starts on Cancel: back to the confirm button, press it."""
    await modal(pilot, "ConfirmScreen")
    await pilot.press("shift+tab", "enter")


def test_the_screen_lists_sessions_and_ends_another_one(host: LiveHost) -> None:
    other = host.login(**{"X-Device-Id": "other-laptop"})

    async def run() -> None:
        app = make_app(host, "en", device_id="this-terminal")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "account")
            await settled(pilot)
            assert "Your devices and sessions are up to date." in status(app)
            sessions = option_texts(app, "#sessions")
            assert len(sessions) == 2
            assert sessions[0].startswith("This device — Session opened")
            assert "dmptui/" in sessions[0] and "127.0.0.1" in sessions[0]
            assert not sessions[1].startswith("This device")
            devices = option_texts(app, "#devices")
            assert len(devices) == 2 and sum(d.startswith("This device") for d in devices) == 1
            # End the other session: chosen in the list, confirmed.
            app.screen.query_one("#sessions", OptionList).focus()
            await pilot.press("down")
            await pilot.press("e")
            await modal(pilot, "ConfirmScreen")
            await confirm(pilot)
            await wait_for(pilot, lambda: "That session has ended" in status(app))
            await wait_for(pilot, lambda: len(option_texts(app, "#sessions")) == 1)
            assert option_texts(app, "#sessions")[0].startswith("This device")
        assert other.get("/v1/record").status_code == 401

    asyncio.run(run())


def test_change_password_from_the_screen(host: LiveHost) -> None:
    other = host.login(**{"X-Device-Id": "other-laptop"})

    async def run() -> None:
        app = make_app(host, "en", device_id="this-terminal")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "account")
            await settled(pilot)
            # Two different new passwords: said, nothing sent.
            await pilot.press("p")
            await modal(pilot, "PasswordScreen")
            await pilot.press(*host.password, "enter", *NEW_PASSWORD, "enter", "x", "enter")
            await wait_for(pilot, lambda: "two new passwords are not the same" in status(app))
            # Then right: the consequence, a fresh code, done.
            await pilot.press("p")
            await modal(pilot, "PasswordScreen")
            await pilot.press(*host.password, "enter", *NEW_PASSWORD, "enter")
            await pilot.press(*NEW_PASSWORD, "enter")
            await confirm(pilot)
            await modal(pilot, "CodeScreen")
            await pilot.press(*host.code(), "enter")
            await wait_for(pilot, lambda: "Your password is changed" in status(app))
            await wait_for(pilot, lambda: len(option_texts(app, "#sessions")) == 1)
            assert app.client.logged_in
        assert other.get("/v1/record").status_code == 401
        r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": host.password})
        assert r.status_code == 401
        r = host.http.post("/v1/auth/login", json={"ins": host.ins, "password": NEW_PASSWORD})
        assert r.status_code == 200

    asyncio.run(run())


def test_the_home_menu_leads_to_the_screen(host: LiveHost) -> None:
    async def run() -> None:
        app = make_app(host, "fr")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            menu = app.screen.query_one("#menu", OptionList)
            labels = [str(menu.get_option_at_index(i).prompt) for i in range(menu.option_count)]
            assert "10 — Mes appareils et sessions" in labels
            menu.focus()
            menu.highlighted = labels.index("10 — Mes appareils et sessions")
            await pilot.press("enter")
            await wait_for(pilot, lambda: getattr(app.screen, "SCREEN_KEY", "") == "account")
            await settled(pilot)
            assert option_texts(app, "#sessions")[0].startswith("Cet appareil — Session ouverte")

    asyncio.run(run())


def test_log_out_everywhere_goes_back_to_the_login_screen(host: LiveHost) -> None:
    other = host.login(**{"X-Device-Id": "other-laptop"})

    async def run() -> None:
        app = make_app(host, "en", device_id="this-terminal")
        async with app.run_test(size=(120, 40)) as pilot:
            await login(pilot, host)
            await goto(pilot, "account")
            await settled(pilot)
            await pilot.press("a")
            await modal(pilot, "ConfirmScreen")
            await confirm(pilot)
            await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
            assert not app.client.logged_in
            assert any("All your sessions have ended" in m.text for m in app.state.messages)
        assert other.get("/v1/record").status_code == 401
        assert host.sql("SELECT count(*) FROM sessions WHERE revoked_at IS NULL") == [(0,)]

    asyncio.run(run())
