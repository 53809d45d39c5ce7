"""Small terminals and fast typing: every screen's key facts at 80×24, columns chosen by width,
the "enlarge the terminal" line below the smallest size, and keys typed in one burst (a password
manager's auto-type) landing in the right fields. The real app against the real host."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from hostkit import LiveHost
from textual import events
from textual.pilot import Pilot
from tuikit import wait_for

import screens.app
from dmptui import i18n
from screens.app import AppConfig, DmpApp


def run(coro: Any) -> None:
    asyncio.run(coro)


def bare_app(host: LiveHost, cls: type[DmpApp] = DmpApp) -> DmpApp:
    """The app with nothing pre-filled: the person types the INS too."""
    i18n.set_language("en")
    return cls(AppConfig(host_url=host.url, lang="en", data_dir=host.data_dir.parent / "app"))


def burst(host: LiveHost) -> list[events.Key]:
    """INS, Tab, password, Enter, as key events (what an auto-type sends)."""
    keys = [events.Key(ch, ch) for ch in host.ins]
    keys.append(events.Key("tab", None))
    keys += [events.Key(ch, ch) for ch in host.password]
    keys.append(events.Key("enter", "\r"))
    return keys


async def password_accepted(pilot: Pilot) -> None:
    """The host accepted INS and password: the code step is on view; nothing said was an
    error (a password typed into the INS field makes an INS error)."""
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
    assert not app.screen.query_one("#status").has_class("status-error")
    assert app.focused is app.screen.query_one("#code")


def test_auto_type_burst_posted_at_once_lands_in_the_right_fields(host: LiveHost) -> None:
    async def go() -> None:
        app = bare_app(host)
        async with app.run_test(size=(80, 24)) as pilot:
            for key in burst(host):  # all queued before the first is handled
                app.post_message(key)
            await password_accepted(pilot)

    run(go())


def test_auto_type_burst_while_the_login_screen_is_still_mounting(host: LiveHost) -> None:
    class Early(DmpApp):
        CSS_PATH = Path(screens.app.__file__).with_name("dmptui.tcss")

        def on_mount(self) -> None:
            super().on_mount()  # pushes the login screen; it is not mounted yet
            for key in burst(host):
                self.post_message(key)

    async def go() -> None:
        app = bare_app(host, Early)
        async with app.run_test(size=(80, 24)) as pilot:
            await password_accepted(pilot)

    run(go())


def test_auto_type_with_pilot_press_and_no_pauses(host: LiveHost) -> None:
    async def go() -> None:
        app = bare_app(host)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press(*host.ins, "tab", *host.password, "enter")
            await password_accepted(pilot)

    run(go())
