"""Driving the TUI in tests: the real app (Pilot) against the real host (``host`` fixture)."""

from __future__ import annotations

from typing import Any

from hostkit import LiveHost
from textual.pilot import Pilot

from dmptui import i18n
from screens.app import AppConfig, DmpApp


def make_app(host: LiveHost, lang: str = "en", **config: Any) -> DmpApp:
    i18n.set_language(lang)
    config.setdefault("data_dir", host.data_dir.parent / "app")  # the app's, per test
    return DmpApp(AppConfig(host_url=host.url, lang=lang, ins=host.ins, **config))


async def wait_for(pilot: Pilot, predicate: Any, timeout: float = 10.0) -> None:
    """Let workers finish: pause until ``predicate()`` is true (fails after ``timeout``)."""
    import time

    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


def status(app: DmpApp) -> str:
    from screens.base import StatusLine

    return str(app.screen.query_one(StatusLine).render())


async def login(pilot: Pilot, host: LiveHost) -> None:
    """Log in through the login screen with the keyboard: password, Enter, code, Enter."""
    app = pilot.app
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "LoginScreen")
    app.screen.query_one("#password").focus()
    await pilot.press(*host.password)
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen.query_one("#code-step").display)
    await pilot.press(*host.code())
    await pilot.press("enter")
    await wait_for(pilot, lambda: app.screen.__class__.__name__ == "HomeScreen")
    await wait_for(pilot, lambda: "up to date" in status(app) or "à jour" in status(app))


async def goto(pilot: Pilot, key: str) -> None:
    from dmptui import catalogue

    await pilot.press(catalogue.digit(catalogue.BY_KEY[key]))
    await wait_for(pilot, lambda: getattr(pilot.app.screen, "SCREEN_KEY", "") == key)


async def settled(pilot: Pilot) -> None:
    """Wait until the screen's status line no longer says it is waiting."""
    await wait_for(
        pilot, lambda: not pilot.app.screen.query_one("#status").has_class("status-wait")
    )
