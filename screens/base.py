"""What every screen of the record shares: the screen-id row, a status line in words, the
message log (at the bottom, above the keys), catalogue bindings, and the worker pattern (I/O in
workers, results as Messages).

Workers call the client and post ``CallDone`` / ``CallFailed``; handlers update widgets."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from dmptui import catalogue, loading
from dmptui.explain import app_failure, error_kind, explain
from dmptui.i18n import _
from screens.keys import KeyWords
from screens.widgets.footer import KeyBar
from screens.widgets.message_log import MessageLog
from screens.widgets.text import LINE_LIMIT, plain
from screens.widgets.too_small import TooSmall

if TYPE_CHECKING:
    from textual import getters

    from dmptui.actions import Outcome, Plan
    from dmptui.client import Client
    from dmptui.state import RecordState
    from screens.app import DmpApp


def catalogue_bindings(screen_key: str) -> list[BindingType]:
    """The catalogue's actions for this screen, for a class's ``BINDINGS``: the description is
    the English label, translated where it is shown (``screens.keys.KeyWords``); the id is the
    catalogue's, so a keymap (``App.set_keymap``) can move the key."""
    return [
        Binding(action.key, "act_" + action.id.split(".", 1)[1], action.label, id=action.id)
        for action in catalogue.actions_for(screen_key)
    ]


class StatusLine(Static):
    """One line that says, in words, what the screen is doing or what just happened."""

    def say(self, kind: str, text: str) -> None:
        labels = {
            "wait": _("Please wait:"),
            **{k: _(label) for k, label in loading.KIND_LABELS.items()},
            "info": "",
        }
        self.set_classes(f"status-{kind}")
        # A list says "Loading…" then "n loaded" for every page: not a layout each time.
        update_text(self, plain(f"{labels[kind]} {text}".strip(), limit=LINE_LIMIT))


def update_text(widget: Static, content: Text) -> None:
    """``widget.update(content)``, laying the screen out again only when the number of lines
    the text takes changes (a layout of a whole screen costs tens of milliseconds)."""
    width, height = widget.content_region.width, widget.content_region.height
    same = width > 0 and height == len(content.wrap(widget.app.console, width))
    widget.update(content, layout=not same)


class Calls(KeyWords):
    """Run client calls in workers and explain failures; for any screen with a StatusLine."""

    if TYPE_CHECKING:
        app = getters.app(DmpApp)

    class CallDone(Message):
        def __init__(self, result: Any, on_done: Callable[[Any], object]) -> None:
            super().__init__()
            self.result = result
            self.on_done = on_done

    class CallFailed(Message):
        def __init__(
            self,
            error: Exception,
            retry: Callable[[], None] | None,
            failed: Callable[[Exception], None] | None = None,
        ) -> None:
            super().__init__()
            self.error = error
            self.retry = retry
            self.failed = failed  # after the host refused: what the caller does then

    # --- calls (shared) ---------------------------------------------------------------------------

    @property
    def client(self) -> Client:
        return self.app.client

    def say(self, kind: str, text: str) -> None:
        self.query_one(StatusLine).say(kind, text)
        if kind in ("done", "error", "warning"):
            self.app.log_message(kind, text)
        self.app.place_cursor()  # what was loaded moved the rows

    @property
    def record_state(self) -> RecordState:
        """The app's one copy of the record (``DmpApp.record``)."""
        return self.app.record

    def perform(self, plan: Plan, then: Callable[[Outcome], None] | None = None) -> None:
        """Render an action's plan (``dmptui.actions``): its problem, its question, the code,
        the call, its outcome in words. ``then(outcome)`` updates what the screen holds of its
        own (a row of a list) before the outcome is said."""
        from screens.perform import perform

        perform(self, plan, then)

    def call(
        self,
        waiting: str,
        make: Callable[[], Awaitable[Any]],
        on_done: Callable[[Any], object],
        *,
        group: str = "call",
        failed: Callable[[Exception], None] | None = None,
    ) -> None:
        """Run ``make()`` in a worker, saying ``waiting`` meanwhile; ``on_done(result)`` runs on
        the UI side. Failures are explained in words, and an expired session or a needed code
        is handled, then the call is retried. When the host refused the call, ``failed(error)``
        runs once it is explained."""
        self.say("wait", waiting)

        def retry() -> None:
            self.call(waiting, make, on_done, group=group, failed=failed)

        self._run(make, on_done, retry, group, failed)

    @work(group="calls")
    async def _run(
        self,
        make: Callable[[], Awaitable[Any]],
        on_done: Callable[[Any], object],
        retry: Callable[[], None],
        group: str,
        failed: Callable[[Exception], None] | None = None,
    ) -> None:
        try:
            result = await make()
        except Exception as error:  # typed HostErrors, explained; nothing else is expected
            self.post_message(self.CallFailed(error, retry, failed))
            return
        self.post_message(self.CallDone(result, on_done))

    _stale_note: str | None = None

    def on_calls_call_done(self, message: Calls.CallDone) -> None:
        message.on_done(message.result)
        note, self._stale_note = self._stale_note, None
        if note:  # after the reload's own words, so it is what the status line ends on
            self.say("warning", note)

    def on_stale(self, error: Exception) -> None:
        """The data changed elsewhere since it was loaded (HTTP 412), so nothing was changed:
        reload the screen, then say so. A screen with something to keep overrides this."""
        reload = getattr(self, "reload", None)
        if reload is None:
            self.say("warning", explain(error))
            return
        self._stale_note = explain(error)
        reload()

    def on_calls_call_failed(self, message: Calls.CallFailed) -> None:
        self._stale_note = None
        kind = error_kind(message.error)
        if kind == "stale":
            self.on_stale(message.error)
            return
        if kind == "session_expired":
            self.say("warning", explain(message.error))
            self.app.relogin(message.retry)
            return
        if kind == "step_up_required":
            self.app.ask_code(message.retry)
            return
        if kind is None:
            # Not a host error: a bug. Say so plainly; never show a traceback.
            self.say("error", app_failure(message.error))
            return
        self.say("error", explain(message.error))
        status = getattr(message.error, "status", None)
        if message.failed is not None and status is not None and 400 <= status < 500:
            if status != 429:  # the host answered, and what it holds may have changed
                message.failed(message.error)


class RecordScreen(Calls, Screen[None]):
    """Base of the screens after login."""

    SCREEN_KEY: ClassVar[str] = ""
    # A screen that shows the record state loads it again each time it is shown (changes
    # made from another session, or by a practitioner, show); the others load once.
    REFRESH_ON_SHOW: ClassVar[bool] = False

    def __init__(self) -> None:
        super().__init__()
        self._left = True  # shown for the first time, or again after another screen

    @property
    def spec(self) -> catalogue.ScreenSpec:
        return catalogue.BY_KEY[self.SCREEN_KEY]

    def compose(self) -> ComposeResult:
        yield Static(plain(catalogue.screen_label(self.spec)), id="screen-id")
        yield StatusLine(id="status")
        yield from self.compose_body()
        yield MessageLog()
        yield KeyBar()
        yield TooSmall()

    def compose_body(self) -> ComposeResult:
        yield from ()

    def before_leaving(self, go: Callable[[], None]) -> None:
        """Called before logging out or quitting: a screen with unsaved work asks first."""
        go()

    def on_mount(self) -> None:
        self.app.title = f"dmptui — {catalogue.screen_label(self.spec)}"
        if self.REFRESH_ON_SHOW:
            self.show_record()  # what the state holds now; the refresh follows (resume)
        else:
            self.reload()

    def on_screen_suspend(self) -> None:
        # Under a dialog the screen stays in view: it is not "shown again" when it closes. Nor
        # after logging in again to go on where it was (the call is retried then).
        above = self.app.screen
        self._left = not (isinstance(above, ModalScreen) or getattr(above, "resume", False))

    def on_screen_resume(self) -> None:
        self.app.title = f"dmptui — {catalogue.screen_label(self.spec)}"
        # Not when the screen was only passed through (logging out pops every screen).
        if self.REFRESH_ON_SHOW and self._left and self.app.screen is self:
            if self.client.logged_in:
                self._left = False
                self.reload()

    def reload(self) -> None:
        """Fetch what the screen shows. Subclasses start their calls here."""

    def show_record(self) -> None:
        """Draw what the screen shows of the record state (``record_state``): called when it
        changes, whoever changed it. Never I/O."""

    def refresh_state(self, parts: frozenset[str], then: tuple[str, str]) -> None:
        """After the host refused an action: load the parts of the record state it would have
        changed (what the screen shows may be out of date), then say ``then`` again."""
        from dmptui.state import PRACTITIONERS, RECORD, UNREAD

        wanted = parts & {RECORD, PRACTITIONERS, UNREAD}
        if not wanted:
            return
        state, client = self.record_state, self.client
        self.call(
            _(loading.LOADING_RECORD),
            lambda: state.refresh(client, frozenset(wanted)),
            lambda _none: self.say(*then),
        )
