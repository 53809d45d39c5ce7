"""The demo phone: shows the SMS and emails the demo host sends (its file outbox, opened by the
function the entry point gives), so a newcomer can log in with nothing else. Clearly marked as
a demo."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static

from dmptui.actions.login import DEMO_EMAIL
from dmptui.i18n import _
from screens.widgets.text import plain

LAST = 6  # messages shown


class DemoPhone(VerticalScroll):
    class Inbox(Message):
        def __init__(self, messages: list[dict]) -> None:
            super().__init__()
            self.messages = messages

    def __init__(self, read: Callable[[], list[dict[str, Any]]], password: str = "") -> None:
        super().__init__(id="demo-phone")
        self.read = read
        self.password = password
        self._seen: list[dict] = []

    def compose(self) -> ComposeResult:
        yield Label(
            _("DEMO PHONE — messages the demo host sent (not a real phone)"), id="demo-title"
        )
        if self.password:
            yield Static(
                plain(
                    _(
                        "Demo account: the INS is filled in; the password is {password}. "
                        "For the code, press F2 (SMS): it appears below."
                    ).format(password=self.password)
                ),
                id="demo-hint",
            )
        yield Static(_("No message yet."), id="demo-messages")

    def on_mount(self) -> None:
        self.set_interval(1.0, self.poll)

    @work(thread=True, exclusive=True)
    def poll(self) -> None:
        self.post_message(self.Inbox(self.read()[-LAST:]))

    def on_demo_phone_inbox(self, message: Inbox) -> None:
        if message.messages == self._seen:
            return
        self._seen = message.messages
        parts = []
        for m in reversed(message.messages):
            kind = "SMS" if m.get("channel") == "sms" else _(DEMO_EMAIL)
            parts.append(f"[{kind}] {m.get('recipient', '')}\n{m.get('body', '').strip()}")
        self.query_one("#demo-messages", Static).update(plain("\n\n".join(parts)))
