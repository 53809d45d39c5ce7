"""The loop of screen-reader mode: one ``Client``, the login, then one screen at a time.

Every call to the host goes through ``Reader.call``: it says what it is doing in words, explains a
failure with ``explain(error)``, logs in again when the session has ended and asks for a fresh code
when the host wants one — then does the call again, so the patient continues where they were."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from dmptui import catalogue
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
    demo: bool = False  # start the embedded demo host first
    outbox: Path | None = None  # the demo phone: the demo host's file outbox
    transport: Any = None  # an httpx transport (tests)
    idle_timeout: float = 900.0  # lock after 15 minutes without an answer
    page_size: int = 20
    device_id: str = ""  # a stable random id for this install (not a secret)
    data_dir: Path | None = None  # checked trace checkpoints (default: DMPTUI_DATA_DIR, XDG)
    timeout: float = 10.0  # seconds the client waits for the host's answer


class Reader:
    """State shared by the screens: the console, the client, where the patient is."""

    def __init__(self, config: ReaderConfig, console: Console, client: Client) -> None:
        self.config = config
        self.io = console
        self.client = client
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
        from dmptui.explain import explain

        while True:
            self.say("wait", waiting)
            try:
                return await make()
            except SessionExpired as error:
                if not relogin:
                    self.say("error", explain(error))
                    raise Failed(error) from None
                self.say("warning", explain(error))
                await screens.login(self, resume=True)
                self.enter(self.screen)  # back where the patient was, to redo the call
            except StepUpRequired as error:
                if not relogin:
                    self.say("error", explain(error))
                    raise Failed(error) from None
                if not await screens.step_up(self):
                    self.say("info", _("Nothing was changed."))
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
                self.say(
                    "error",
                    _(
                        "Something went wrong in the app ({name}). Nothing was "
                        "changed. Try again; if it happens again, contact support."
                    ).format(name=type(error).__name__),
                )
                raise Failed(error) from None

    # --- the loop ----------------------------------------------------------------------------

    async def logout(self) -> None:
        try:
            await self.client.logout()
        except Exception:  # noqa: S110 - ending the session here is what matters
            pass

    async def main(self) -> int:
        try:
            await screens.login(self)
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
                    self.say("done", _("You are logged out."))
                    await screens.login(self)
                    self.screen = "home"
                except SessionEnded:
                    await screens.login(self)
                    self.screen = "home"
                except IdleLocked:
                    await self.logout()
                    self.say(
                        "warning",
                        _("Locked after 15 minutes without activity. Log in again to continue."),
                    )
                    await screens.login(self, resume=True)
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


def run(config: ReaderConfig, console: Console | None = None) -> int:
    """Screen-reader mode, from its first line to the end."""
    import sys

    console = console or Console()
    if hasattr(console.stdout, "reconfigure"):
        try:
            console.stdout.reconfigure(errors="replace")
        except (ValueError, OSError):
            pass
    console.emit("info", detect.first_line(config.reason))
    try:
        if config.demo:
            return _run_demo(config, console)
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


def _run_demo(config: ReaderConfig, console: Console) -> int:
    from dmptui.demo import running_demo

    console.emit("wait", _("Starting the demo record host on this computer…"))
    with running_demo() as demo:
        patient = demo.creds["patient"]
        console.emit("done", _("the demo record host is ready."))
        console.emit(
            "info",
            _(
                "This is a demo. The INS is {ins} and the password is {password}. For the "
                "code, choose 2 (SMS): the messages the demo host sends are written here, "
                "each on a line that starts with “Demo phone:”."
            ).format(ins=patient["ins"], password=patient["password"]),
        )
        ready = replace(config, host_url=demo.url, ins=patient["ins"], outbox=demo.outbox)
        return asyncio.run(_main(ready, console))
