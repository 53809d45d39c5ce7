"""The loop of screen-reader mode: one ``Client``, the login, then one screen at a time.

Every call to the host goes through ``Reader.call``: it says what it is doing in words, explains a
failure with ``explain(error)``, logs in again when the session has ended and asks for a fresh code
when the host wants one — then does the call again, so the patient continues where they were."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dmptui import catalogue
from dmptui.actions import login as login_words
from dmptui.actions.base import nothing_changed
from dmptui.i18n import _, spoken_datetime
from dmptui.reader import detect, screens
from dmptui.reader.flow import (
    Abort,
    Back,
    Failed,
    IdleLocked,
    Logout,
    Navigate,
    Quit,
    SessionEnded,
)
from dmptui.reader.io import Console, EndOfInput
from dmptui.reader.login import login, step_up
from dmptui.reader.menus import jump_target, where_line
from dmptui.state import RecordState

if TYPE_CHECKING:
    from dmptui.client import Client
    from dmptui.demo import DemoLink

T = TypeVar("T")

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130
# A call says its waiting words ("Loading your documents…", "Checking the code…") only when the
# host takes longer than this: otherwise what it loaded, or "Done: …", follows at once, and the
# waiting words would be one more line to hear.
QUIET = 1.0

# The catalogue's actions of every screen, as typed on any menu's question.
COMMANDS = {
    "h": "app.help",
    "?": "app.help",
    "0": "app.back",
    "b": "app.back",
    "l": "app.logout",
    "q": "app.quit",
    "d": "app.demo_phone",
}


@dataclass
class ReaderConfig:
    host_url: str | None
    lang: str = "en"
    reason: str = detect.FLAG  # why the mode is on (``detect``): said on the first line
    ins: str = ""  # pre-filled (the demo, or ``ins`` in the config file)
    demo: DemoLink | None = None  # ``dmptui demo``: its host's state and its phone
    transport: Any = None  # an httpx transport (tests)
    idle_timeout: float = 900.0  # lock after 15 minutes without an answer
    page_size: int = 10  # entries read at a time: ten sentences are as many as an ear holds
    device_id: str = ""  # a stable random id for this install (not a secret)
    token_store: Any = None  # dmptui.session.TokenStore, for "remember me on this device"
    data_dir: Path | None = None  # checked trace checkpoints (default: DMPTUI_DATA_DIR, XDG)
    timeout: float = 10.0  # seconds the client waits for the host's answer


class Reader:
    """State shared by the screens: the console, the client, the record as the client knows
    it (``state``: the one copy, read by every screen, changed by every action), where the
    patient is."""

    def __init__(self, config: ReaderConfig, console: Console, client: Client) -> None:
        self.config = config
        self.io = console
        self.client = client
        self.state = RecordState()
        self.screen = "home"
        self.ins = config.ins
        self.last_input = time.monotonic()
        self.remember = False  # "remember me on this device", as chosen at the login
        self.tried_remembered = False  # a remembered session is tried at the first login only
        self.summary = True  # home reads the record's summary (after a login, or when asked)
        # ``m`` asked for the main menu: it is its own heading ("Main menu: …"), so home does
        # not say "Screen: 1 — Home" before it (w still says where you are).
        self.menu_asked = False
        self.zone_said = False  # "Paris time" was said on this screen

    # --- out ---------------------------------------------------------------------------------

    def say(self, kind: str, text: str) -> None:
        self.io.emit(kind, text)

    def enter(self, key: str, *, say: bool = True) -> None:
        """Say which screen this is: ``Screen: 2 — Documents`` (unless ``say`` is false: the
        screen's first line names it already)."""
        self.screen = key if key != "login" else self.screen
        self.zone_said = False
        if say:
            self.say("screen", catalogue.screen_label(catalogue.BY_KEY[key]))

    def zone_once(self) -> str:
        """ " (Paris time)" the first time a screen says a time, then nothing: one zone, said
        once per screen (a list's heading says it for its entries)."""
        if self.zone_said:
            return ""
        self.zone_said = True
        return " " + _("(Paris time)")

    def when(self, moment: datetime) -> str:
        """A time standing alone, as said: '7 December 2026 at 4:53 am (Paris time)' (the zone
        once per screen)."""
        return spoken_datetime(moment) + self.zone_once()

    # --- in ----------------------------------------------------------------------------------

    async def ask(self, question: str, *, secret: bool = False) -> str:
        """One line, as typed (free text: no command is taken from it)."""
        read = self.io.ask_secret if secret else self.io.ask
        answer = await read(question)
        now = time.monotonic()
        idle, self.last_input = now - self.last_input, now
        if self.client.logged_in and idle > self.config.idle_timeout:
            raise IdleLocked
        return answer

    async def ask_text(self, question: str) -> str:
        """Free text where a single letter is never an answer (a search of at least 2
        letters, a line's number, a confirmation word): ``q`` alone quits, ``h`` (or ``?``)
        alone says the help and asks again; anything else is taken as typed."""
        while True:
            answer = await self.ask(question)
            word = answer.strip().lower()
            if word == "q":
                raise Quit
            if word in ("h", "?"):
                await screens.HANDLERS["app.help"](self)
                continue
            return answer

    async def ask_choice(self, question: str | None = None) -> str:
        """A menu's answer. The same commands everywhere: h help, w where you are, m main
        menu, g and a screen's number that screen, 0 or b back, l log out, q quit. Enter
        alone answers "" (the caller reads its menu again)."""
        while True:
            answer = (await self.ask(question or _("Your choice:"))).strip().lower().rstrip(".")
            if answer == "m":
                self.summary = False  # the menu, not the summary (1 reads the summary)
                self.menu_asked = True
                raise Navigate("home")
            if answer == "w":
                self.say("info", where_line(self.screen))
                continue
            target = jump_target(answer)
            if target:
                raise Navigate(target)
            if target == "":
                self.say(
                    "error",
                    _(
                        "“{answer}” is not a screen. Type g and a screen's number, from 1 to 10 "
                        "(g3: practitioners); m: main menu."
                    ).format(answer=answer),
                )
                continue
            if answer in COMMANDS:
                await screens.HANDLERS[COMMANDS[answer]](self)  # raises, but for help
                continue
            return answer

    def wrong_choice(self, answer: str, expected: str) -> None:
        self.say(
            "error",
            _(
                "there is no choice “{answer}” here. {expected} Enter alone reads the "
                "menu again; h: help."
            ).format(answer=answer, expected=expected),
        )

    # --- calls -------------------------------------------------------------------------------

    async def call(
        self,
        waiting: str,
        make: Callable[[], Awaitable[T]],
        *,
        relogin: bool = True,
    ) -> T:
        """``make()``, saying ``waiting`` when the host is slow (``QUIET``). A failure is
        explained and raises ``Failed``; an ended session logs in again, a needed code is asked
        for, then the call is redone."""
        from dmptui.client import HostError, SessionExpired, Stale, StepUpRequired
        from dmptui.explain import app_failure, explain

        while True:
            try:
                return await self._quiet(waiting, make)
            except SessionExpired as error:
                if not relogin:
                    self.say("error", explain(error))
                    raise Failed(error) from None
                self.say("warning", explain(error))
                await login(self, resume=True)
                self.enter(self.screen)  # back where the patient was, to redo the call
            except StepUpRequired as error:
                if not relogin:
                    self.say("error", explain(error))
                    raise Failed(error) from None
                if not await step_up(self):
                    self.say("info", nothing_changed())
                    raise Abort from None
            except Stale as error:
                # Changed elsewhere since it was shown: nothing was changed. Say so, then show
                # the screen again from fresh data (the screen's own loading), to check and redo.
                self.say("warning", explain(error))
                raise Navigate(self.screen) from None
            except HostError as error:
                self.say("error", explain(error))
                raise Failed(error) from None
            except (OSError, ValueError) as error:  # a file, a bad answer: never a traceback
                self.say("error", app_failure(error))
                raise Failed(error) from None

    async def _quiet(self, waiting: str, make: Callable[[], Awaitable[T]]) -> T:
        task = asyncio.ensure_future(make())
        done, _pending = await asyncio.wait({task}, timeout=QUIET)
        if not done:
            self.say("wait", waiting)
        return await task

    # --- the loop ----------------------------------------------------------------------------

    async def logout(self) -> None:
        self.state.clear()
        self.remember = False  # ending the session forgets a remembered one too
        try:
            await self.client.logout()
        except Exception:  # noqa: S110 - ending the session here is what matters
            pass

    async def leave(self) -> None:
        """Quitting ends the session, but a remembered one (as the TUI's quit leaves it): it
        opens again at the next start, without the password."""
        if not self.client.logged_in:
            return
        if self.remember:
            self.say(
                "info",
                _(
                    "Your session stays remembered on this device. To end it, log out (l) "
                    "before quitting."
                ),
            )
            return
        await self.logout()

    async def main(self) -> int:
        try:
            await login(self)
            self.screen = "home"
            while True:
                try:
                    await screens.SCREENS[self.screen](self)
                except Navigate as go:
                    self.screen = go.key
                except (Back, Abort):
                    self.screen = "home"
                except Logout:
                    await self.logout()
                    self.say("done", _(login_words.LOGGED_OUT))
                    await login(self)
                    self.screen = "home"
                except SessionEnded:
                    self.state.clear()
                    await login(self)
                    self.screen = "home"
                except IdleLocked:
                    await self.logout()
                    self.say("warning", _(login_words.IDLE_LOCKED))
                    await login(self, resume=True)
        except Quit:
            await self.leave()
            self.say("done", _("you left dmptui. Goodbye."))
            return EXIT_OK
        except EndOfInput:
            self.io.restore()
            await self.leave()
            self.say("info", _("End of input: dmptui stops."))
            return EXIT_OK
        finally:
            await self.client.aclose()


async def _main(config: ReaderConfig, console: Console) -> int:
    from dmptui.client import Client

    assert config.host_url is not None
    client = Client(
        config.host_url,
        transport=config.transport,
        device_id=config.device_id or None,
        timeout=config.timeout,
    )
    return await Reader(config, console, client).main()


def run(
    config: ReaderConfig,
    console: Console | None = None,
    *,
    start_host: Callable[[ReaderConfig, Console], AbstractContextManager[ReaderConfig]]
    | None = None,
) -> int:
    """Screen-reader mode, from its first line to the end. ``start_host`` (the entry point's, for
    ``dmptui demo``) starts a host after the first line, says so, and gives the config to use
    with it (its address, the INS, the demo phone); the host stops when the mode ends."""
    import sys

    console = console or Console()
    if hasattr(console.stdout, "reconfigure"):
        try:
            console.stdout.reconfigure(errors="replace")
        except (ValueError, OSError):
            pass
    console.emit("info", detect.first_line(config.reason))
    try:
        if start_host is not None:
            with start_host(config, console) as ready:
                return asyncio.run(_main(ready, console))
        if not config.host_url:
            console.emit(
                "error",
                _(
                    "no record host is set. Try “dmptui demo --screen-reader”, or give "
                    "--host URL (or DMPTUI_HOST, or host in the config file)."
                ),
            )
            return EXIT_USAGE
        return asyncio.run(_main(config, console))
    except KeyboardInterrupt:
        console.restore()
        console.emit("info", _("Stopped (Ctrl+C)."))
        sys.stdout.flush()
        return EXIT_INTERRUPTED
