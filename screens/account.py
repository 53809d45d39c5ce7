"""Screen 10 — My devices and sessions: the sessions open on the account and the devices it
remembers (first and last seen, the app, the address the host saw, "this device"); end one,
forget one, log out everywhere, change the password. The words are ``dmptui.actions.account``'s;
the app's name and the address are data, shown as text."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from textual import events
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from dmptui.actions import account as actions
from dmptui.actions.base import CANCEL, CONTINUE
from dmptui.i18n import _
from screens.base import RecordScreen, StatusLine, catalogue_bindings
from screens.keys import KeyWords
from screens.widgets.text import plain

if TYPE_CHECKING:
    from dmptui.actions import Outcome


class AccountScreen(RecordScreen):
    SCREEN_KEY = "account"
    BINDINGS: ClassVar[list[BindingType]] = catalogue_bindings("account")
    REFRESH_ON_SHOW = True

    def __init__(self) -> None:
        super().__init__()
        self.listing: Any = None  # the host's last SessionsOut

    def compose_body(self) -> ComposeResult:
        with VerticalScroll(id="account"):
            yield Static(plain(_(actions.INTRO)), id="account-intro")
            yield Label(plain(_(actions.SESSIONS_HEADING)), id="sessions-heading")
            yield OptionList(id="sessions")
            yield Label(plain(_(actions.DEVICES_HEADING)), id="devices-heading")
            yield OptionList(id="devices")

    def reload(self, quiet: bool = False) -> None:
        """Load the sessions and devices; ``quiet``: after an action, whose outcome stays what
        the status line says."""
        client = self.client
        self.call(_(actions.LOADING), client.account_sessions, lambda got: self._loaded(got, quiet))

    def _loaded(self, listing: Any, quiet: bool = False) -> None:
        self.listing = listing
        for list_id, items, line in (
            ("#sessions", listing.sessions, actions.session_line),
            ("#devices", listing.devices, actions.device_line),
        ):
            widget = self.query_one(list_id, OptionList)
            highlighted = widget.highlighted
            widget.clear_options()
            widget.add_options([Option(plain(line(item)), id=item.id) for item in items])
            if items:
                widget.highlighted = min(highlighted or 0, len(items) - 1)
        if not listing.devices:
            self.query_one("#devices", OptionList).add_option(
                Option(plain(_(actions.NO_DEVICES)), disabled=True)
            )
        if not quiet:
            self.say("done", _(actions.LOADED))

    def _selected(self, list_id: str, items: list[Any]) -> Any | None:
        widget = self.query_one(list_id, OptionList)
        if widget.highlighted is None or widget.highlighted >= widget.option_count:
            return None
        option_id = widget.get_option_at_index(widget.highlighted).id
        return next((item for item in items if item.id == option_id), None)

    def _after(self, outcome: Outcome) -> None:
        if not outcome.ends_session:
            self.reload(quiet=True)

    def action_act_end_session(self) -> None:
        items = self.listing.sessions if self.listing else []
        item = self._selected("#sessions", items)
        self.perform(actions.end_session(self.record_state, item), self._after)

    def action_act_forget_device(self) -> None:
        items = self.listing.devices if self.listing else []
        item = self._selected("#devices", items)
        self.perform(actions.forget_device(self.record_state, item), self._after)

    def action_act_everywhere(self) -> None:
        self.perform(actions.everywhere(self.record_state))

    def action_act_password(self) -> None:
        def typed(passwords: tuple[str, str, str] | None) -> None:
            if passwords is None:
                self.say("info", _(actions.PASSWORD_UNCHANGED))
                return
            self.perform(actions.change_password(self.record_state, *passwords), self._after)

        self.app.push_screen(PasswordScreen(), typed)


class PasswordScreen(KeyWords, ModalScreen[tuple[str, str, str] | None]):
    """The current password and the new one twice; dismisses the three (None: cancelled). The
    action (``actions.change_password``) checks them and asks the rest."""

    AUTO_FOCUS = "#current-password"

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Label(plain(_(actions.PASSWORD_HEADING)), id="dialog-title")
            yield Static(plain(_(actions.PASSWORD_INTRO)), id="consequence")
            for field_id, label in (
                ("current-password", actions.CURRENT_PASSWORD),
                ("new-password", actions.NEW_PASSWORD),
                ("repeat-password", actions.REPEAT_PASSWORD),
            ):
                yield Label(plain(_(label)), id=f"{field_id}-label")
                yield Input(id=field_id, password=True, max_length=1024)
            yield StatusLine(id="password-status")
            with Horizontal(id="dialog-buttons"):
                yield Button(_(CONTINUE), id="confirm", variant="primary")
                yield Button(_(CANCEL), id="cancel")

    def on_mount(self) -> None:
        self.query_one(StatusLine).say("info", _("Press Esc to cancel: nothing is changed."))

    def _values(self) -> tuple[str, str, str]:
        return (
            self.query_one("#current-password", Input).value,
            self.query_one("#new-password", Input).value,
            self.query_one("#repeat-password", Input).value,
        )

    def on_input_submitted(self, event: Input.Submitted) -> None:
        order = ["current-password", "new-password", "repeat-password"]
        at = order.index(event.input.id or order[0])
        if at + 1 < len(order):
            self.query_one(f"#{order[at + 1]}", Input).focus()
        else:
            self.dismiss(self._values())

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(self._values() if event.button.id == "confirm" else None)

    def key_escape(self, event: events.Key) -> None:
        event.stop()  # once the dialog is gone, this Esc must not also mean "Back" below
        self.dismiss(None)
