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
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dmptui import catalogue
from dmptui.actions import login as login_words
from dmptui.actions.base import nothing_changed
from dmptui.i18n import _
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
from dmptui.state import RecordState

if TYPE_CHECKING:
    from dmptui.client import Client

T = TypeVar("T")

EXIT_OK, EXIT_USAGE, EXIT_INTERRUPTED = 0, 2, 130

# The catalogue's actions of every screen, as typed on any menu's question.
COMMANDS = {
    "h": "app.help",
    "?": "app.help",
    "0": "app.back",
    "b": "app.back",
    "l": "app.logout",
    "q": "app.quit",
}


@dataclass
class ReaderConfig:
    host_url: str | None
    lang: str = "en"
    reason: str = detect.FLAG  # why the mode is on (``detect``): said on the first line
    ins: str = ""  # pre-filled (the demo, or ``ins`` in the config file)
    # The demo phone: the demo host's file outbox, opened (``outbox_file.reader``, given by the
    # entry point: the front end never reads the host's files itself).
    demo_phone: Callable[[], list[dict[str, Any]]] | None = None
    transport: Any = None  # an httpx transport (tests)
    idle_timeout: float = 900.0  # lock after 15 minutes without an answer
    page_size: int = 20
    device_id: str = ""  # a stable random id for this install (not a secret)
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
        self.outbox_seen = 0

    # --- out ---------------------------------------------------------------------------------

    def say(self, kind: str, text: str) -> None:
        self.io.emit(kind, text)

    def enter(self, key: str) -> None:
        """Say which screen this is: ``Screen: 2 — Documents``."""
        self.screen = key if key != "login" else self.screen
        self.say("screen", catalogue.screen_label(catalogue.BY_KEY[key]))

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

    async def ask_choice(self, question: str | None = None) -> str:
        """A menu's answer. The same commands everywhere: h help, m main menu, 0 or b back,
        l log out, q quit. Enter alone answers "" (the caller reads its menu again)."""
        while True:
            answer = (await self.ask(question or _("Your choice:"))).strip().lower().rstrip(".")
            if answer == "m":
                raise Navigate("home")
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
        self, waiting: str, make: Callable[[], Awaitable[T]], *, relogin: bool = True
    ) -> T:
        """``make()``, saying ``waiting`` first. A failure is explained and raises ``Failed``;
        an ended session logs in again, a needed code is asked for, then the call is redone."""
        from dmptui.client import HostError, SessionExpired, Stale, StepUpRequired
        from dmptui.explain import app_failure, explain

        while True:
            self.say("wait", waiting)
            try:
                return await make()
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

    # --- the loop ----------------------------------------------------------------------------

    async def logout(self) -> None:
        self.state.clear()
        try:
            await self.client.logout()
        except Exception:  # noqa: S110 - ending the session here is what matters
            pass

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
            if self.client.logged_in:
                await self.logout()
            self.say("done", _("you left dmptui. Goodbye."))
            return EXIT_OK
        except EndOfInput:
            self.io.restore()
            if self.client.logged_in:
                await self.logout()
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
    with it (its address, the INS, the demo phone's outbox); the host stops when the mode ends."""
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
