"""The patient's TUI: one Textual app over the catalogue of screens, talking to the host through
``dmptui.client`` only."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from textual import events, work
from textual.app import App
from textual.binding import Binding
from textual.message import Message

from dmptui import catalogue
from dmptui.i18n import _
from dmptui.session import IdleLock

LAST_ACCOUNT = "last-account"  # keyring entry: the INS last remembered on this device

SCREEN_CLASSES = {
    "home": "screens.home:HomeScreen",
    "documents": "screens.documents:DocumentsScreen",
    "practitioners": "screens.practitioners:PractitionersScreen",
    "trace": "screens.trace:TraceScreen",
    "emergency": "screens.emergency:EmergencyScreen",
    "record": "screens.record:RecordLifeScreen",
    "notes": "screens.notes:NotesScreen",
    "notifications": "screens.notifications:NotificationsScreen",
    "help": "screens.help:HelpScreen",
}


@dataclass
class AppConfig:
    host_url: str
    lang: str = "fr"
    ins: str = ""  # pre-filled (the demo fills it)
    demo_outbox: Path | None = None  # the demo phone reads this file
    demo_password: str = ""  # shown on the demo phone, so a newcomer needs nothing else
    transport: Any = None  # an httpx transport (tests)
    token_store: Any = None  # dmptui.session.TokenStore, for "remember me"
    idle_timeout: float = 900.0  # lock after 15 minutes without a key press
    device_id: str = ""  # a stable random id for this install (not a secret)


@dataclass
class LogLine:
    at: datetime
    kind: str
    text: str


@dataclass
class AppState:
    messages: list[LogLine] = field(default_factory=list)


class DmpApp(App[None]):
    CSS_PATH = "dmptui.tcss"
    TITLE = "dmptui"
    ENABLE_COMMAND_PALETTE = False

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        from dmptui.client import Client

        self.config = config
        self.state = AppState()
        self.client = Client(
            config.host_url, transport=config.transport, device_id=config.device_id or None
        )
        self.idle = IdleLock(config.idle_timeout)
        for key, method, label, bid in (
            ("f1", "help", _("Help"), "app.help"),
            ("escape", "back", _("Back"), "app.back"),
            ("ctrl+l", "logout", _("Log out"), "app.logout"),
            ("ctrl+q", "quit", _("Quit"), "app.quit"),
        ):
            self._bindings.key_to_bindings.setdefault(key, []).append(
                Binding(key, method, label, id=bid, show=key != "escape", priority=key != "escape")
            )
        for spec in catalogue.SCREENS:
            self._bindings.key_to_bindings.setdefault(str(spec.number), []).append(
                Binding(
                    str(spec.number),
                    f"goto('{spec.key}')",
                    _(spec.title),
                    id=f"app.goto.{spec.key}",
                    show=False,
                )
            )

    def on_mount(self) -> None:
        from screens.login import LoginScreen

        self.set_interval(15, self._check_idle)
        self.push_screen(LoginScreen())

    async def on_unmount(self) -> None:
        await self.client.aclose()

    # --- navigation ----------------------------------------------------------------------

    def screen_class(self, key: str) -> type:
        module, _sep, name = SCREEN_CLASSES[key].partition(":")
        return getattr(importlib.import_module(module), name)

    def action_goto(self, key: str) -> None:
        if not self.client.logged_in:
            return
        current = getattr(self.screen, "SCREEN_KEY", "")
        if current == key:
            return
        # One screen of the record at a time above home: Esc goes back to home.
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if key != "home":
            self.push_screen(self.screen_class(key)())

    def action_back(self) -> None:
        if len(self.screen_stack) > 2:
            self.pop_screen()

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(getattr(self.screen, "SCREEN_KEY", "home")))

    def logged_in(self) -> None:
        """Called by the login screen: the first screen after login is home."""
        self.pop_screen()
        self.push_screen(self.screen_class("home")())

    async def action_logout(self, notice: str | None = None) -> None:
        if not self.client.logged_in:
            return
        try:
            await self.client.logout()
        except Exception:  # noqa: S110 - logging out locally is what matters
            pass
        from screens.login import LoginScreen

        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(LoginScreen(notice=notice or _("You are logged out.")))

    def relogin(self, then: Callable[[], None] | None) -> None:
        """The session ended: log in again, then come back here and redo the call."""
        from screens.login import LoginScreen

        def back(ok: bool | None) -> None:
            if ok and then is not None:
                then()

        self.push_screen(LoginScreen(resume=True), back)

    def ask_code(self, then: Callable[[], None] | None) -> None:
        from screens.confirm import CodeScreen

        def back(ok: bool | None) -> None:
            if ok and then is not None:
                then()

        self.push_screen(CodeScreen(), back)

    def remember(self, wanted: bool, ins: str) -> None:
        """ "Remember me": the refresh token goes to the OS keyring, never to a plain file, and
        stays current as the host rotates it. Without a usable keyring, say so once and keep
        the session in memory only. The keyring is called off the event loop."""
        store = self.config.token_store
        token = self.client.refresh_token
        if not wanted or store is None or not token:
            return
        self._save_token(store, ins, token)

    @work(thread=True, group="keyring")
    def _save_token(self, store: Any, ins: str, token: str) -> None:
        from dmptui.session import keep_in_sync

        result = store.save(ins, token)
        if result.stored:
            store.save(LAST_ACCOUNT, ins)
            keep_in_sync(self.client, store, ins)
        self.post_message(self.Remembered(result.stored))

    class Remembered(Message):
        def __init__(self, stored: bool) -> None:
            super().__init__()
            self.stored = stored

    def on_dmp_app_remembered(self, message: Remembered) -> None:
        if message.stored:
            self.log_message("done", _("You will be remembered on this device."))
            return
        self.log_message(
            "warning",
            _(
                "This device has no usable keyring, so you will not "
                "be remembered: your session stays in memory only "
                "and ends when you quit."
            ),
        )
        self.notify(
            _("You will not be remembered on this device (no keyring)."), severity="warning"
        )

    # --- idle lock -----------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.idle.touch()
        await super().on_event(event)

    async def _check_idle(self) -> None:
        if self.client.logged_in and self.idle.expired():
            self.idle.touch()
            await self.action_logout(
                notice=_("Locked after 15 minutes without activity. Log in again to continue.")
            )

    def log_message(self, kind: str, text: str) -> None:
        from datetime import UTC

        self.state.messages.append(LogLine(datetime.now(UTC), kind, text))
