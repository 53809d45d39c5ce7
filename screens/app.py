"""The patient's TUI: one Textual app over the catalogue of screens, talking to the host through
``dmptui.client`` only."""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from textual import events, work
from textual.app import App
from textual.binding import Binding, BindingType
from textual.geometry import Offset
from textual.message import Message
from textual.screen import Screen
from textual.widget import Widget

from dmptui import catalogue
from dmptui.actions import login as login_words
from dmptui.i18n import N_, _
from dmptui.session import LAST_ACCOUNT, IdleLock
from screens import themes
from screens.keys import key_name
from screens.widgets.message_log import MessageLog
from screens.widgets.too_small import MIN_HEIGHT, MIN_WIDTH

AnimationLevel = Literal["none", "basic", "full"]  # Textual's ``App.animation_level``
if TYPE_CHECKING:  # dmptui.client loads after the login screen is painted (``warm_up``)
    from dmptui.client import Client
    from dmptui.demo import DemoLink
    from dmptui.state import RecordState


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
    "account": "screens.account:AccountScreen",
}


@dataclass
class AppConfig:
    host_url: str
    lang: str = "fr"
    ins: str = ""  # pre-filled (the demo fills it)
    demo: DemoLink | None = None  # ``dmptui demo``: its host's state, its phone (F9)
    transport: Any = None  # an httpx transport (tests)
    token_store: Any = None  # dmptui.session.TokenStore, for "remember me"
    idle_timeout: float = 900.0  # lock after 15 minutes without a key press
    device_id: str = ""  # a stable random id for this install (not a secret)
    theme: str = ""  # "dark", "light" or "high-contrast" (``dmptui.settings``)
    data_dir: Path | None = None  # checked trace checkpoints (default: DMPTUI_DATA_DIR, XDG)
    timeout: float = 10.0  # seconds the client waits for the host's answer
    # The config file's [keymap]: binding id -> keys, checked by ``dmptui.settings``.
    keymap: dict[str, str] = field(default_factory=dict)


@dataclass
class LogLine:
    at: datetime
    kind: str
    text: str


@dataclass
class AppState:
    messages: list[LogLine] = field(default_factory=list)
    epoch: int = 0  # changes when the messages are emptied (log out)


def animation_level(env: Mapping[str, str] | None = None) -> AnimationLevel:
    """No animation, unless ``TEXTUAL_ANIMATIONS`` asks for one outside the accessible profile
    (``ACCESSIBLE=1``): moving things are hard to follow and write to the terminal."""
    env = os.environ if env is None else env
    wanted = env.get("TEXTUAL_ANIMATIONS", "").strip().lower()
    if env.get("ACCESSIBLE", "").strip() not in ("", "0"):
        return "none"
    if wanted == "basic":
        return "basic"
    return "full" if wanted == "full" else "none"


class DmpApp(App[None], inherit_bindings=False):
    CSS_PATH = "dmptui.tcss"
    TITLE = "dmptui"
    ENABLE_COMMAND_PALETTE = False
    # Not Textual's App bindings (``inherit_bindings=False``): its Ctrl+Q quits at once, ours
    # first asks about unsaved work; its Ctrl+C has no description, ours says how to quit.
    # Descriptions are the English words, put into the patient's language where they are shown
    # (``screens.keys.worded``); a keymap (``App.set_keymap``) can move them by id.
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+c", "help_quit", N_("How to quit"), show=False, system=True),
        *(
            Binding(key, method, label, id=bid, show=key != "escape", priority=key != "escape")
            for key, method, label, bid in (
                ("f1", "help", catalogue.ACTION_BY_ID["app.help"].label, "app.help"),
                ("escape", "back", catalogue.ACTION_BY_ID["app.back"].label, "app.back"),
                *(
                    (a.key, method, a.label, a.id)
                    for a, method in zip(
                        catalogue.TUI_ACTIONS, ("read_screen", "next_theme"), strict=True
                    )
                ),
                ("ctrl+l", "ask_logout", catalogue.ACTION_BY_ID["app.logout"].label, "app.logout"),
                ("ctrl+q", "ask_quit", catalogue.ACTION_BY_ID["app.quit"].label, "app.quit"),
                (
                    catalogue.ACTION_BY_ID["app.demo_phone"].key,
                    "demo_phone",
                    catalogue.ACTION_BY_ID["app.demo_phone"].label,
                    "app.demo_phone",
                ),
            )
        ),
        *(
            Binding(
                catalogue.digit(spec),
                f"goto('{spec.key}')",
                spec.title,
                id=catalogue.goto_id(spec),
                show=False,
            )
            for spec in catalogue.SCREENS
        ),
    ]

    # Size classes on every screen, for the layout in dmptui.tcss (message log, panels, the QR
    # code beside the code field); "-w-tiny" / "-h-tiny": below the smallest size that works.
    HORIZONTAL_BREAKPOINTS = [  # noqa: RUF012 - Textual declares them as plain lists
        (0, "-w-tiny"),
        (MIN_WIDTH, "-w-small"),
        (100, "-w-wide"),
    ]
    VERTICAL_BREAKPOINTS = [  # noqa: RUF012
        (0, "-h-tiny"),
        (MIN_HEIGHT, "-h-small"),
        (30, "-h-medium"),
        (40, "-h-tall"),
    ]

    def __init__(self, config: AppConfig) -> None:
        super().__init__()
        self.config = config
        self.state = AppState()
        self._client: Client | None = None  # made on first use: see ``client``
        self._record: RecordState | None = None  # made on first use: see ``record``
        self.idle = IdleLock(config.idle_timeout)
        self.animation_level = animation_level()
        self._focus_shown: Widget | None = None  # the widget that carries the focus marker
        self._keys_ready = False  # until the login screen has its focus: see ``_typed``
        self._held: list[events.Key | events.Paste] = []
        self._os_title = ""
        for theme in themes.THEMES.values():  # only these are offered (Ctrl+T goes through them)
            self.register_theme(theme)
        self.theme = themes.choose(config.theme)
        if config.keymap:
            self.set_keymap(config.keymap)  # the bindings keep their ids; only keys move

    def get_key_display(self, binding: Binding) -> str:
        """Keys of the catalogue and of the app (they have an id) as printed on a keyboard, in
        the patient's language ("Esc" is "Échap"); Textual's way for the others."""
        return key_name(binding.key) if binding.id else super().get_key_display(binding)

    def _fatal_error(self) -> None:
        """An unhandled exception (a bug): Textual's own handler prints the traceback with every
        frame's local variables — the password just typed, a token, a request body — on the
        terminal when the app ends. The same traceback, without the local variables, through
        the public ``App.panic``. Textual has no public hook for an unhandled exception (its
        ``_handle_exception`` calls this method; an exception raised in any handler, timer or
        callback ends there), so this one private name is overridden;
        ``tests/test_secret_leaks.py`` fails if Textual stops calling it."""
        import rich
        from rich.traceback import Traceback

        self.bell()
        self.panic(Traceback(show_locals=False, width=None, suppress=[rich]))

    @property
    def client(self) -> Client:
        """The host client (``dmptui.client.Client``), made on first use. Its imports (httpx,
        pydantic, the API schema) and the ``httpx.AsyncClient`` are not needed to paint the
        login screen: they load in a thread once it is painted (``warm_up``)."""
        if self._client is None:
            from dmptui.client import Client

            config = self.config
            self._client = Client(
                config.host_url,
                transport=config.transport,
                device_id=config.device_id or None,
                timeout=config.timeout,
            )
        return self._client

    @client.setter
    def client(self, value: Client) -> None:
        self._client = value

    @property
    def record(self) -> RecordState:
        """The client's one copy of the record (``dmptui.state``), read by every screen. Made on
        first use, like the client (it needs the schema); each change posts ``RecordChanged``,
        and the screens showing it redraw (``RecordScreen.show_record``)."""
        if self._record is None:
            from dmptui.state import RecordState

            self._record = RecordState()
            self._record.subscribe(self._record_changed)
        return self._record

    def _record_changed(self, _state: RecordState) -> None:
        self.post_message(self.RecordChanged())  # no widget is touched here: a message

    class RecordChanged(Message):
        """The record state changed: the screens showing it redraw."""

    def on_dmp_app_record_changed(self, _message: RecordChanged) -> None:
        from screens.base import RecordScreen

        for screen in self.screen_stack:
            if isinstance(screen, RecordScreen) and screen.is_mounted:
                screen.show_record()

    def session_ended(self, notice: str) -> None:
        """The record was closed or erased: every session is revoked (the client dropped its
        tokens, the state is empty). Back to the login screen, saying why."""
        from screens.login import LoginScreen

        self.record.clear()
        while len(self.screen_stack) > 1:
            self.pop_screen()
        self.push_screen(LoginScreen(notice=notice))

    def warm_up(self) -> None:
        """Once the login screen is painted: import what the first call needs, off the UI
        thread (the client itself is made on first use)."""
        import gc
        import threading

        gc.enable()  # off since launch (``dmptui.entry.cli._run_tui``), so as to paint sooner
        if self.config.demo is not None:
            self.config.demo.go()  # the demo host prepares its record now (``dmptui demo``)
        if self._client is not None or getattr(self, "_warming", False):
            return
        self._warming = True

        def load() -> None:
            import dmptui.client  # httpx, pydantic, the schema
            import dmptui.words  # noqa: F401 - what the screens after login need

        threading.Thread(target=load, name="dmptui-warm-up", daemon=True).start()

    def on_mount(self) -> None:
        from screens.login import LoginScreen

        self.set_interval(15, self._check_idle)
        self.screen_change_signal.subscribe(self, self._screen_changed)
        self._write_terminal("\x1b[22;0t")  # keep the terminal's own title, to put it back
        self.push_screen(LoginScreen())
        self.set_timer(5, self.keys_ready)  # should the login screen never say it is ready

    async def on_unmount(self) -> None:
        if self._os_title:
            self._write_terminal("\x1b[23;0t")  # the terminal's own title again
        if self._client is not None:
            await self._client.aclose()

    # --- navigation ----------------------------------------------------------------------

    def screen_class(self, key: str) -> type:
        module, _sep, name = SCREEN_CLASSES[key].partition(":")
        return getattr(importlib.import_module(module), name)

    def action_goto(self, key: str) -> None:
        if not self.client.logged_in:
            return
        if isinstance(self.screen, self.screen_class(key)):
            return
        # One screen of the record at a time above home: Esc goes back to home.
        while len(self.screen_stack) > 2:
            self.pop_screen()
        if key != "home":
            self.push_screen(self.screen_class(key)())

    async def action_back(self) -> None:
        self.go_back()

    def go_back(self) -> None:
        """Back to the screen below, never below home (nor the login screen)."""
        if len(self.screen_stack) > 2:
            self.pop_screen()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """The demo phone's key is there (and in the footer) in the demo only."""
        if action == "demo_phone":
            return self.config.demo is not None
        return super().check_action(action, parameters)

    def action_demo_phone(self) -> None:
        """F9 in the demo: the demo phone over any screen; F9 or Esc again closes it."""
        from screens.widgets.demo_phone import DemoPhoneScreen

        if self.config.demo is None:
            return
        if isinstance(self.screen, DemoPhoneScreen):
            self.screen.dismiss()
        else:
            self.push_screen(DemoPhoneScreen(self.config.demo))

    def action_help(self) -> None:
        from screens.help import HelpScreen

        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(getattr(self.screen, "SCREEN_KEY", "home")))

    def logged_in(self) -> None:
        """Called by the login screen: the first screen after login is home."""
        self.pop_screen()
        self.push_screen(self.screen_class("home")())

    def _before_leaving(self, go: Callable[[], object]) -> None:
        """Unsaved work on the current screen is asked about first (the idle lock does not ask:
        it logs out whatever is on the screen)."""
        check = getattr(self.screen, "before_leaving", None)
        if check is None:
            go()
        else:
            check(go)

    def action_ask_logout(self) -> None:
        self._before_leaving(lambda: self.run_worker(self.action_logout()))

    def action_ask_quit(self) -> None:
        self._before_leaving(self.exit)

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
        self.record.clear()  # nothing of the record stays in memory
        # What this session said (titles, names) is not left for the next person to read.
        self.state.messages = []
        self.state.epoch += 1
        words = notice or _(login_words.LOGGED_OUT)
        self.log_message("warning" if notice else "done", words)
        self.push_screen(LoginScreen(notice=words))

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
            self.log_message("done", _(login_words.REMEMBERED))
            return
        # the toast goes away; the message log keeps it
        self.notify(_(login_words.NOT_REMEMBERED), severity="warning")

    # --- idle lock -----------------------------------------------------------------------

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, events.Key | events.MouseDown):
            self.idle.touch()
        if isinstance(event, events.Key | events.Paste) and not event.is_forwarded:
            await self._typed(event)
            return
        await super().on_event(event)

    # --- keys typed in a burst (a password manager's auto-type, a paste) -------------------------

    async def _typed(self, event: events.Key | events.Paste) -> None:
        """Route keys in the order they were typed, to the field that has the focus when each
        comes, even when they come all at once.

        Textual routes a key to the focused widget as soon as it reads it, but a Tab takes
        effect only later, once it has gone through the focused field and come back up as a
        binding: the keys typed after the Tab were already routed to the field before it ("INS,
        Tab, password, Enter" put the password in the INS field). And a key read before the
        login screen has set its focus went to no field at all. So: keys wait until the login
        screen is ready (``keys_ready``), and a Tab out of a field that has no use for it moves
        the focus at once, before the next key is routed."""
        if not self._keys_ready:
            self._held.append(event)
            return
        await self._flush_keys()
        await self._route(event)

    async def _route(self, event: events.Key | events.Paste) -> None:
        from textual.widgets import Button, Checkbox, Input

        focused = self.focused
        if (
            isinstance(event, events.Key)
            and event.key in ("tab", "shift+tab")
            and isinstance(focused, Input | Button | Checkbox)
            and not focused.screen.maximized
        ):
            self.idle.touch()
            if event.key == "tab":
                focused.screen.focus_next()
            else:
                focused.screen.focus_previous()
            return
        await super().on_event(event)

    async def _flush_keys(self) -> None:
        while self._held:
            await self._route(self._held.pop(0))

    def keys_ready(self) -> None:
        """The screen that takes the first keys has its focus: the keys held until now go to
        it, in order (called by the login screen once it is mounted)."""
        if self._keys_ready:
            return
        self._keys_ready = True
        self.call_later(self._flush_keys)

    async def _check_idle(self) -> None:
        if self.client.logged_in and self.idle.expired():
            self.idle.touch()
            await self.action_logout(notice=_(login_words.IDLE_LOCKED))

    def log_message(self, kind: str, text: str) -> None:
        self.log_lines(kind, [text])

    def log_lines(self, kind: str, lines: list[str]) -> int | None:
        """Add lines to the message log of every screen; returns where they start in the log
        that is on view (None when there is none)."""
        from datetime import UTC

        now = datetime.now(UTC)
        self.state.messages.extend(LogLine(now, kind, line) for line in lines)
        on_view = self.message_log()
        start = None
        for screen in self.screen_stack:
            for log in screen.query(MessageLog):
                first = log.sync()
                if log is on_view:
                    start = first
        return start

    def message_log(self) -> MessageLog | None:
        """The message log on view: the current screen's, or under a dialog, the one of the
        screen beneath it (a dialog leaves the bottom of that screen visible)."""
        for screen in reversed(self.screen_stack):
            found = screen.query(MessageLog)
            if found:
                return found.first()
        return None

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = False,
    ) -> None:
        """A toast, and the same words in the message log: a toast alone goes away by itself.
        Not markup by default: messages can carry data."""
        kind = {"warning": "warning", "error": "error"}.get(str(severity), "info")
        self.log_message(kind, f"{title}: {message}" if title else message)
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=markup)

    def action_help_quit(self) -> None:
        self.notify(_("To quit dmptui, press Ctrl+Q."))

    # --- reading the screen out -------------------------------------------------------------

    def action_read_screen(self) -> None:
        """Ctrl+R: the current screen, as lines of text, into the message log."""
        from screens.widgets.readout import read_screen

        log = self.message_log()
        if log is not None:
            log.auto_scroll = False  # show the read-out from its first line ("Screen: …")
        start = self.log_lines("read", read_screen(self))
        if log is None or start is None:
            return

        def show() -> None:
            log.scroll_to(y=start, animate=False, immediate=True)
            log.auto_scroll = True

        self.call_after_refresh(show)

    # --- colours -----------------------------------------------------------------------------

    def action_next_theme(self) -> None:
        self.theme = themes.following(self.theme)
        self.log_message(
            "done",
            _("Colours: {theme}. Ctrl+T changes them again.").format(
                theme=_(themes.WORDS[self.theme])
            ),
        )

    # --- the screen in the terminal title, the cursor on the focus ---------------------------

    def _write_terminal(self, sequence: str) -> None:
        # Textual 8.2 has no public way to write to the terminal nor to set its title (App.title
        # is drawn inside the app): its own copy_to_clipboard writes through _driver the same way.
        driver = self._driver
        if driver is None or self.is_headless or getattr(driver, "is_web", False):
            return
        driver.write(sequence)
        driver.flush()

    def _screen_changed(self, screen: Screen[Any]) -> None:
        key = getattr(screen, "SCREEN_KEY", "")
        if key in catalogue.BY_KEY:
            from screens.widgets.text import visible

            title = "dmptui — " + catalogue.screen_label(catalogue.BY_KEY[key])
            if title != self._os_title:
                self._os_title = title
                safe = visible(title).replace("\x07", "").replace("\x1b", "")
                self._write_terminal(f"\x1b]2;{safe}\x07")
        self._show_focus(self.focused)

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self._show_focus(event.widget)

    def on_descendant_blur(self, event: events.DescendantBlur) -> None:
        # Focus may have gone nowhere (the widget was hidden): look once things have settled.
        self.call_after_refresh(lambda: self._show_focus(self.focused))

    def _show_focus(self, widget: Widget | None) -> None:
        """Marker on the focused widget only; the terminal cursor on it."""
        from screens.widgets import focus

        previous = self._focus_shown
        if previous is not None and previous is not widget:
            focus.unmark(previous)
        self._focus_shown = widget
        if widget is None:
            self.cursor_position = Offset(0, 0)
            return
        if getattr(widget, "cursor_blink", False):
            widget.cursor_blink = False  # type: ignore[attr-defined]  # a blink writes twice a second
        focus.mark(widget)
        self._follow(widget)

    def place_cursor(self) -> None:
        """Put the terminal cursor back on the focused widget: after a list is filled, its
        current row may have moved."""
        if self.focused is not None:
            self._follow(self.focused)

    def _follow(self, widget: Widget) -> None:
        """The cursor on ``widget`` for the next frame, and checked again once it is drawn (the
        layout may have moved it)."""
        from screens.widgets.focus import cursor_spot

        if widget.region.area:
            self.cursor_position = cursor_spot(widget)
        self.call_after_refresh(self._place_cursor, widget)

    def _place_cursor(self, widget: Widget) -> None:
        from textual.geometry import Region

        from screens.widgets.focus import cursor_spot

        if widget is not self.focused or not widget.is_attached:
            return
        spot = cursor_spot(widget)
        if spot != self.cursor_position:
            self.cursor_position = spot
            widget.refresh(Region(0, 0, 1, 1))  # a frame, however small, moves the cursor

    def on_data_table_row_highlighted(self, event: Any) -> None:
        self._follow(event.data_table)

    def on_paged_list_highlighted(self, event: Any) -> None:
        self._follow(event.paged_list)

    def on_option_list_option_highlighted(self, event: Any) -> None:
        self._follow(event.option_list)

    def on_text_area_selection_changed(self, event: Any) -> None:
        self._follow(event.text_area)
