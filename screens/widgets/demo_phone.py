"""The demo phone: every SMS and email the demo host sent (its outbox, read through the demo
link: ``dmptui.entry.demo``), newest first, so a newcomer can log in and confirm actions with
nothing else. Clearly marked as a demo. Beside the login form, and over any screen with F9
(``DemoPhoneScreen``). What the host wrote is shown as text, never as markup."""

from __future__ import annotations

from typing import Any, ClassVar

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Label, Static

from dmptui import catalogue
from dmptui.demo import PHONE_EMPTY, PHONE_TITLE, DemoLink, message_body, message_heading
from dmptui.i18n import _
from screens.first_show import FirstShow
from screens.keys import key_name
from screens.widgets.text import plain


def phone_text(messages: list[dict[str, Any]]) -> str:
    """The messages, newest first, each as its heading and its body."""
    return "\n\n".join(f"{message_heading(m)}\n{message_body(m)}" for m in reversed(messages))


class DemoPhone(VerticalScroll):
    class Inbox(Message):
        def __init__(self, messages: list[dict[str, Any]]) -> None:
            super().__init__()
            self.messages = messages

    def __init__(self, demo: DemoLink, hint: bool = True, id: str = "demo-phone") -> None:
        super().__init__(id=id)
        self.demo = demo
        self.hint = hint
        self._seen: list[dict[str, Any]] | None = None
        self.text = _(PHONE_EMPTY)  # the messages as shown (reading the screen out, tests)

    def compose(self) -> ComposeResult:
        yield Label(_(PHONE_TITLE), id="demo-title")
        if self.hint:
            yield Static(
                plain(
                    _(
                        "Demo account: the INS is filled in; the password is {password}. "
                        "For the code, press F2 (SMS): it appears below."
                    ).format(password=self.demo.password)
                ),
                id="demo-hint",
            )
        yield Static(plain(self.text), id="demo-messages")

    def on_mount(self) -> None:
        # The first look once the screen is painted (the demo host starts then: nothing to read
        # before), then every second.
        self.call_after_refresh(self.poll)
        self.set_interval(1.0, self.poll)

    @work(thread=True, exclusive=True, group="demo-phone")
    def poll(self) -> None:
        self.post_message(self.Inbox(self.demo.messages()))

    def on_demo_phone_inbox(self, message: Inbox) -> None:
        message.stop()
        if message.messages == self._seen:
            return
        self._seen = message.messages
        if message.messages:
            self.text = phone_text(message.messages)
            self.query_one("#demo-messages", Static).update(plain(self.text))


class DemoPhoneScreen(FirstShow, ModalScreen[None]):
    """F9 in the demo: the phone over whatever screen is open; F9 or Esc closes it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", catalogue.ACTION_BY_ID["app.back"].label, show=False),
    ]

    def __init__(self, demo: DemoLink) -> None:
        super().__init__(id="demo-phone-screen")
        self.demo = demo

    def compose(self) -> ComposeResult:
        key = key_name(catalogue.ACTION_BY_ID["app.demo_phone"].key)
        yield DemoPhone(self.demo, hint=False, id="demo-phone-full")
        yield Static(
            plain(
                _("{key} or {esc}: close the demo phone.").format(key=key, esc=key_name("escape"))
            ),
            id="demo-phone-close",
        )

    def action_close(self) -> None:
        self.dismiss()
