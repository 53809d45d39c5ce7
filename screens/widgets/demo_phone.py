"""The demo phone: shows the SMS and emails the demo host sends (its file outbox), so a
newcomer can log in with nothing else. Clearly marked as a demo."""

from __future__ import annotations

import json
from pathlib import Path

from textual import work
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.message import Message
from textual.widgets import Label, Static

from dmptui.actions.login import DEMO_EMAIL
from dmptui.i18n import _
from screens.widgets.text import plain


def read_outbox(path: Path, last: int = 6) -> list[dict]:
    try:
        lines = path.read_text("utf-8").splitlines()
    except FileNotFoundError:
        return []
    out = []
    for line in lines[-last:]:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue
    return out


class DemoPhone(VerticalScroll):
    class Inbox(Message):
        def __init__(self, messages: list[dict]) -> None:
            super().__init__()
            self.messages = messages

    def __init__(self, outbox: Path, password: str = "") -> None:
        super().__init__(id="demo-phone")
        self.outbox = outbox
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
        self.post_message(self.Inbox(read_outbox(self.outbox)))

    def on_demo_phone_inbox(self, message: Inbox) -> None:
        if message.messages == self._seen:
            return
        self._seen = message.messages
        parts = []
        for m in reversed(message.messages):
            kind = "SMS" if m.get("channel") == "sms" else _(DEMO_EMAIL)
            parts.append(f"[{kind}] {m.get('recipient', '')}\n{m.get('body', '').strip()}")
        self.query_one("#demo-messages", Static).update(plain("\n\n".join(parts)))
