"""Test kit: a record opened by the pharmacist and not yet activated, and the TUI's way from the
password to the enrolment (the letter's activation code typed), for the tests of first login."""

from __future__ import annotations

import re

from hostkit import LiveHost
from textual.pilot import Pilot
from tuikit import wait_for

from dmptui import i18n
from screens.app import AppConfig, DmpApp

NEW_INS = "299120612345651"  # a valid test NIR, not in the demo
CODE = re.compile(r"\b([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})\b")


def opened(host: LiveHost, ins: str = NEW_INS) -> tuple[str, str]:
    """The pharmacist opens a record over HTTP: (provisional password, the letter's code)."""
    with host.ps("pharmacist") as ps:
        r = ps.post(
            "/v1/ps/records",
            json={"ins": ins, "name": "Léa Dubois", "phone": "06 11 22 33 44"},
        )
    assert r.status_code == 201, r.text
    found = CODE.search(host.outbox_body("letter", unsent=True))
    assert found, "no activation code in the letter"
    return r.json()["password"], found.group(1)


def secret_of(host: LiveHost, ins: str = NEW_INS) -> str | None:
    """The record's authenticator secret as the host keeps it (None before activation)."""
    from sqlalchemy import select

    from dmptui.host import crypto
    from dmptui.host.db import Record

    with host.app.state.host.tx() as s:
        record = s.scalar(select(Record).where(Record.ins == ins))
        assert record is not None
        return crypto.open_totp(s, record.id, record.totp_secret_sealed)


def make_app(host: LiveHost, lang: str, ins: str = NEW_INS) -> DmpApp:
    i18n.set_language(lang)
    return DmpApp(
        AppConfig(host_url=host.url, lang=lang, ins=ins, data_dir=host.data_dir.parent / "app")
    )


async def to_enrolment(pilot: Pilot, password: str, code: str) -> None:
    """From the login screen: the password, then the activation code; returns once the
    enrolment (the secret, the QR code) and the one-time code's field are shown."""
    app = pilot.app
    login = app.screen
    await wait_for(pilot, lambda: app.focused is login.query_one("#password"))
    await pilot.press(*password, "enter")
    await wait_for(pilot, lambda: app.focused is login.query_one("#activation-code"))
    await pilot.press(*code, "enter")
    await wait_for(pilot, lambda: app.focused is login.query_one("#code"))
